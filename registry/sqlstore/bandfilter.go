package sqlstore

import (
	"context"
	"fmt"
	"math/bits"
	"sync"

	"github.com/pedigreeml/pedigree/registry/dedup"
)

// bandFilter is a Bloom filter of the keys in the near-duplicate index (sample_bands), in front of
// its probes: most band keys of a new text are in no stored model sample, and a key the filter has
// never seen is not looked up. It answers "maybe" for every key the index holds (no false
// negatives) and for about a quarter of a percent of the others (16 bits and 4 hashes a key).
//
// It holds the keys of the log's first through leaves. Each write of this process that starts at
// through moves it to the write's end and adds the write's keys; anything else — a write by another
// process on the same database, a filter grown past its size — leaves through behind the log's head,
// and the next probe rebuilds the filter from the index. So a store that may share its database
// with writers it does not see (PostgreSQL) has none (Dialect.SingleWriter).
type bandFilter struct {
	mu      sync.Mutex
	words   []uint64 // the bits; a power of two of them
	n       int      // keys added
	through int64    // the log size whose band keys it holds; -1 before it is built
}

const (
	filterBitsPerKey = 16
	filterHashes     = 4
	filterMinWords   = 1 << 10
)

func newBandFilter() *bandFilter { return &bandFilter{through: -1} }

// positions are a key's bit positions: band keys are already uniform 64-bit hashes, so two
// independent-enough hashes come from the key and its SplitMix64 mix (double hashing).
func (f *bandFilter) positions(key int64) [filterHashes]uint64 {
	h1 := uint64(key)
	h2 := dedup.Mix(h1) | 1
	mask := uint64(len(f.words))*64 - 1
	var p [filterHashes]uint64
	for i := range p {
		p[i] = (h1 + uint64(i)*h2) & mask
	}
	return p
}

func (f *bandFilter) has(key int64) bool {
	for _, p := range f.positions(key) {
		if f.words[p/64]&(1<<(p%64)) == 0 {
			return false
		}
	}
	return true
}

func (f *bandFilter) add(key int64) {
	for _, p := range f.positions(key) {
		f.words[p/64] |= 1 << (p % 64)
	}
	f.n++
}

// full reports whether the filter holds more keys than it was sized for.
func (f *bandFilter) full() bool { return f.n*filterBitsPerKey > len(f.words)*64 }

// reset sizes the filter for n keys, with room to grow, and empties it.
func (f *bandFilter) reset(n int) {
	words := max(filterMinWords, 1<<bits.Len(uint(2*n*filterBitsPerKey/64)))
	f.words, f.n = make([]uint64, words), 0
}

// maybe returns the keys the index may hold, rebuilding the filter first if the log has moved on
// without it.
func (f *bandFilter) maybe(ctx context.Context, s *Store, keys []int64) ([]int64, error) {
	head, err := s.LogSize(ctx)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.through != head || f.full() {
		if err := f.rebuild(ctx, s, head); err != nil {
			return nil, err
		}
	}
	out := keys[:0:0]
	for _, k := range keys {
		if f.has(k) {
			out = append(out, k)
		}
	}
	return out, nil
}

// rebuild reads every key of the index. head is the log size read before: a write that commits
// during the scan leaves the filter behind the head again, so the next probe rebuilds once more.
func (f *bandFilter) rebuild(ctx context.Context, s *Store, head int64) error {
	var n int
	if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM sample_bands").Scan(&n); err != nil {
		return fmt.Errorf("size the band filter: %w", err)
	}
	f.reset(n)
	rows, err := s.r.QueryContext(ctx, "SELECT band FROM sample_bands")
	if err != nil {
		return fmt.Errorf("build the band filter: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k int64
		if err := rows.Scan(&k); err != nil {
			return err
		}
		f.add(k)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	f.through = head
	return nil
}

// wrote records a committed write of this process, from log size start to end, with the band keys
// it indexed.
func (f *bandFilter) wrote(start, end int64, keys []int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.through != start || f.words == nil {
		return // another writer came first: the next probe rebuilds
	}
	for _, k := range keys {
		f.add(k)
	}
	f.through = end
}
