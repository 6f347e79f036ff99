package sqlstore

import "github.com/pedigreeml/pedigree/registry"

// BandFilterThrough is the log size whose band keys the store's band filter holds (-1 before it is
// built), for tests.
func (s *Store) BandFilterThrough() int64 {
	s.bands.mu.Lock()
	defer s.bands.mu.Unlock()
	return s.bands.through
}

// SetDrawBounds replaces the draws' key bounds, for tests that make them fail.
func (s *Store) SetDrawBounds(f func(*registry.DrawCounts, registry.DrawQuota) registry.DrawBounds) {
	s.drawBounds = f
}

// UnboundedDraws counts the selections drawn again without their bounds.
func (s *Store) UnboundedDraws() int64 { return s.unboundedDraws.Load() }

// MaxModelColumns is how many models a draw gives a column each, unless a test sets it.
const MaxModelColumns = maxModelColumns

// SetModelColumns sets how many models a draw gives a column each: 0 makes every draw count its
// strata by group and rank each stratum by a window.
func (s *Store) SetModelColumns(n int) { s.modelColumns = n }
