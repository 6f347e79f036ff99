package ledger

import (
	"fmt"
	"sync"

	"golang.org/x/mod/sumdb/tlog"
)

// MemoryHashes is a complete log held in memory: its leaves and stored hashes. It is the reference
// for what a store keeps, serves tests, and lets a verifier rebuild a log it downloaded. The zero
// value is an empty log, ready to use; it is safe for concurrent use.
type MemoryHashes struct {
	mu     sync.RWMutex
	leaves [][]byte
	hashes []tlog.Hash
}

var (
	_ tlog.HashReader = (*MemoryHashes)(nil)
	_ LeafReader      = (*MemoryHashes)(nil)
)

// Append adds a copy of leaf to the log and returns its index.
func (m *MemoryHashes) Append(leaf []byte) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := int64(len(m.leaves))
	hashes, err := tlog.StoredHashes(n, leaf, tlog.HashReaderFunc(m.readHashes))
	if err != nil {
		return 0, err
	}
	m.leaves = append(m.leaves, append([]byte(nil), leaf...))
	m.hashes = append(m.hashes, hashes...)
	return n, nil
}

// Commit adds leaves and the stored hashes an [Appender] computed for them, as a store does at the
// end of a transaction. It checks that the hashes continue the stored ones exactly and that their
// number matches the new size; it does not recompute them (see [Audit]).
func (m *MemoryHashes) Commit(leaves [][]byte, hashes []StoredHash) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	next := int64(len(m.hashes))
	if want := tlog.StoredHashCount(int64(len(m.leaves)+len(leaves))) - next; int64(len(hashes)) != want {
		return fmt.Errorf("ledger: commit of %d leaves with %d hashes, want %d", len(leaves), len(hashes), want)
	}
	for i, h := range hashes {
		if h.Index != next+int64(i) {
			return fmt.Errorf("ledger: commit: hash %d has index %d, want %d", i, h.Index, next+int64(i))
		}
	}
	for _, l := range leaves {
		m.leaves = append(m.leaves, append([]byte(nil), l...))
	}
	for _, h := range hashes {
		m.hashes = append(m.hashes, h.Hash)
	}
	return nil
}

// Size returns the number of leaves.
func (m *MemoryHashes) Size() int64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return int64(len(m.leaves))
}

// Leaf returns the leaf at index. The caller must not modify it.
func (m *MemoryHashes) Leaf(index int64) ([]byte, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if index < 0 || index >= int64(len(m.leaves)) {
		return nil, fmt.Errorf("%w: leaf %d of %d", ErrOutOfRange, index, len(m.leaves))
	}
	return m.leaves[index], nil
}

// ReadLeaves implements [LeafReader]: the leaves from index from on, at most n of them.
func (m *MemoryHashes) ReadLeaves(from int64, n int) ([][]byte, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if from < 0 || n < 0 {
		return nil, fmt.Errorf("%w: read %d leaves from %d", ErrOutOfRange, n, from)
	}
	end := min(int64(len(m.leaves)), from+int64(n))
	if from >= end {
		return nil, nil
	}
	return m.leaves[from:end:end], nil
}

// Tree returns the size and root hash of the whole log.
func (m *MemoryHashes) Tree() (tlog.Tree, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return TreeAt(tlog.HashReaderFunc(m.readHashes), int64(len(m.leaves)))
}

// ReadHashes implements [tlog.HashReader]. Indexes outside the stored hashes are an error.
func (m *MemoryHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.readHashes(indexes)
}

func (m *MemoryHashes) readHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(m.hashes)) {
			return nil, fmt.Errorf("ledger: no stored hash %d (have %d)", x, len(m.hashes))
		}
		out[i] = m.hashes[x]
	}
	return out, nil
}
