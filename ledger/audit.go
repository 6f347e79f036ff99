package ledger

import (
	"context"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// A LeafReader reads a log's leaves by index, a page at a time.
type LeafReader interface {
	// ReadLeaves returns the leaves at indexes from, from+1, …: n of them, or fewer only when the
	// log ends. Audit hashes each page before asking for the next, so the returned slices may be
	// reused afterwards.
	ReadLeaves(from int64, n int) ([][]byte, error)
}

// A LeafReaderFunc is a function implementing [LeafReader].
type LeafReaderFunc func(from int64, n int) ([][]byte, error)

// ReadLeaves calls f(from, n).
func (f LeafReaderFunc) ReadLeaves(from int64, n int) ([][]byte, error) { return f(from, n) }

// AuditPageSize is the number of leaves [Audit] asks for at a time; it reads the stored hashes
// of one page (about twice as many) in one call.
const AuditPageSize = 1024

// An AuditError reports where a stored log disagrees with itself or with its checkpoint.
type AuditError struct {
	Leaf        int64  // index of the first leaf concerned, or -1 for the log as a whole
	StoredIndex int64  // the stored hash that differs, or -1
	Reason      string // what is wrong
}

// Error implements the error interface.
func (e *AuditError) Error() string {
	switch {
	case e.StoredIndex >= 0:
		return fmt.Sprintf("ledger: audit: leaf %d: stored hash %d: %s", e.Leaf, e.StoredIndex, e.Reason)
	case e.Leaf >= 0:
		return fmt.Sprintf("ledger: audit: leaf %d: %s", e.Leaf, e.Reason)
	}
	return "ledger: audit: " + e.Reason
}

// Audit checks a stored log against its leaves and its last signed checkpoint cp. It reads every
// leaf through leaves, page by page, recomputes every stored hash from the leaves alone (keeping
// only the O(log n) hashes on the tree's right edge), and compares them, page by page, with the
// hashes r returns. It then checks that the recomputed tree at size cp.N has root cp.Hash.
// Memory stays bounded by one page whatever the log's size.
//
// The first problem found is returned as an *[AuditError] naming the leaf and stored index: a
// leaf whose stored record hash differs from its hash (a changed leaf or level-0 hash), an
// interior hash that differs, a log with fewer leaves than cp.N (truncated), or a root that
// differs from the checkpoint's (the log was rewritten consistently). Errors from r or leaves are
// wrapped as they are; a missing stored hash is the reader's error.
//
// cp.N == 0 means no checkpoint: only the stored hashes are checked. A log longer than cp.N is
// fine (leaves committed after the last checkpoint) and is checked in full. On success Audit
// returns the tree of the whole stored log, recomputed from its leaves.
func Audit(ctx context.Context, r tlog.HashReader, leaves LeafReader, cp tlog.Tree) (tlog.Tree, error) {
	if cp.N < 0 {
		return tlog.Tree{}, fmt.Errorf("%w: checkpoint size %d", ErrOutOfRange, cp.N)
	}
	var (
		f        frontier
		n        int64 // leaves hashed so far
		computed []tlog.Hash
		indexes  []int64
	)
	for {
		if err := ctx.Err(); err != nil {
			return tlog.Tree{}, err
		}
		page, err := leaves.ReadLeaves(n, AuditPageSize)
		if err != nil {
			return tlog.Tree{}, fmt.Errorf("ledger: audit: read leaves from %d: %w", n, err)
		}
		if len(page) > AuditPageSize {
			return tlog.Tree{}, fmt.Errorf("ledger: audit: read %d leaves, asked for %d", len(page), AuditPageSize)
		}

		first := tlog.StoredHashCount(n)
		computed = computed[:0]
		var cpRoot *tlog.Hash
		for _, leaf := range page {
			hashes, err := tlog.StoredHashes(n, leaf, &f)
			if err != nil {
				return tlog.Tree{}, fmt.Errorf("ledger: audit: leaf %d: %w", n, err)
			}
			f.add(n, hashes)
			computed = append(computed, hashes...)
			n++
			if n == cp.N {
				h, err := tlog.TreeHash(n, &f)
				if err != nil {
					return tlog.Tree{}, fmt.Errorf("ledger: audit: root at %d: %w", n, err)
				}
				cpRoot = &h
			}
		}

		if err := compareStored(r, first, computed, &indexes); err != nil {
			return tlog.Tree{}, err
		}
		if cpRoot != nil && *cpRoot != cp.Hash {
			return tlog.Tree{}, &AuditError{Leaf: -1, StoredIndex: -1, Reason: fmt.Sprintf(
				"the leaves give root %v at size %d, the checkpoint says %v", *cpRoot, cp.N, cp.Hash)}
		}
		if len(page) < AuditPageSize {
			break
		}
	}
	if n < cp.N {
		return tlog.Tree{}, &AuditError{Leaf: n, StoredIndex: -1, Reason: fmt.Sprintf(
			"log ends after %d leaves, the checkpoint covers %d (truncated)", n, cp.N)}
	}
	h, err := tlog.TreeHash(n, &f)
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("ledger: audit: root at %d: %w", n, err)
	}
	return tlog.Tree{N: n, Hash: h}, nil
}

// compareStored reads the stored hashes at first, first+1, … and compares them with computed.
func compareStored(r tlog.HashReader, first int64, computed []tlog.Hash, indexes *[]int64) error {
	if len(computed) == 0 {
		return nil
	}
	idx := (*indexes)[:0]
	for i := range computed {
		idx = append(idx, first+int64(i))
	}
	*indexes = idx
	stored, err := r.ReadHashes(idx)
	if err != nil {
		return fmt.Errorf("ledger: audit: read stored hashes %d to %d: %w", first, first+int64(len(idx))-1, err)
	}
	if len(stored) != len(idx) {
		return fmt.Errorf("ledger: audit: read %d stored hashes, asked for %d", len(stored), len(idx))
	}
	for i, h := range stored {
		if h == computed[i] {
			continue
		}
		x := first + int64(i)
		level, k := tlog.SplitStoredHashIndex(x)
		e := &AuditError{StoredIndex: x, Leaf: (k+1)<<level - 1}
		if level == 0 {
			e.Reason = "stored record hash differs from the hash of the stored leaf"
		} else {
			e.Reason = fmt.Sprintf("stored hash of level %d differs from the one recomputed from the leaves", level)
		}
		return e
	}
	return nil
}

// frontier is a tlog.HashReader over the right edge of a tree being rebuilt leaf by leaf: for
// each level, the last complete subtree's hash. That is all tlog.StoredHashes and tlog.TreeHash
// read: appending leaf n reads, for each level i below the number of trailing ones of n, node
// (n>>i)-1, and the root of n leaves reads node (n>>l)-1 for each set bit l of n; both are the
// latest complete node of their level.
type frontier struct {
	index [64]int64
	hash  [64]tlog.Hash
	depth int // levels in use
}

// add records the stored hashes written for leaf n: hashes[l] is node n>>l of level l.
func (f *frontier) add(n int64, hashes []tlog.Hash) {
	base := tlog.StoredHashIndex(0, n)
	for l, h := range hashes {
		f.index[l], f.hash[l] = base+int64(l), h
	}
	f.depth = max(f.depth, len(hashes))
}

// ReadHashes implements tlog.HashReader for the indexes on the right edge.
func (f *frontier) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
next:
	for i, x := range indexes {
		for l := range f.depth {
			if f.index[l] == x {
				out[i] = f.hash[l]
				continue next
			}
		}
		// Unreachable unless tlog changes which hashes it reads.
		return nil, fmt.Errorf("ledger: audit: stored hash %d is not on the right edge", x)
	}
	return out, nil
}
