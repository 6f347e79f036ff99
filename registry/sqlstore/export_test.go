package sqlstore

// BandFilterThrough is the log size whose band keys the store's band filter holds (-1 before it is
// built), for tests.
func (s *Store) BandFilterThrough() int64 {
	s.bands.mu.Lock()
	defer s.bands.mu.Unlock()
	return s.bands.through
}
