package ledger

import (
	"context"
	"fmt"
	"math/bits"
	"slices"

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

// An AuditError reports where a stored log disagrees with itself, with its records or with a
// checkpoint it signed. It is how the ledger says "tampered" as opposed to an I/O error: every check
// and [Log.VerifyLeaf] return one (possibly wrapped) for a mismatch and never for anything else.
type AuditError struct {
	Leaf        int64  // index of the first leaf concerned, or -1 for the log as a whole
	StoredIndex int64  // the stored hash that differs, or -1
	Reason      string // what is wrong
	Err         error  // what it wraps, if anything: [ErrRolledBack], or a store's own report
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

// Unwrap returns e.Err.
func (e *AuditError) Unwrap() error { return e.Err }

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
	w := treeWalk{end: -1}
	if cp.N > 0 {
		w.at = []int64{cp.N}
		w.root = func(n int64, h tlog.Hash) error {
			if h != cp.Hash {
				return &AuditError{Leaf: -1, StoredIndex: -1, Reason: fmt.Sprintf(
					"the leaves give root %v at size %d, the checkpoint says %v", h, cp.N, cp.Hash)}
			}
			return nil
		}
	}
	tree, err := w.run(ctx, r, leaves)
	if err != nil {
		return tlog.Tree{}, err
	}
	if tree.N < cp.N {
		return tlog.Tree{}, &AuditError{Leaf: tree.N, StoredIndex: -1, Reason: fmt.Sprintf(
			"log ends after %d leaves, the checkpoint covers %d (truncated)", tree.N, cp.N)}
	}
	return tree, nil
}

// A treeWalk recomputes the stored hashes of a run of leaves from the leaves and compares them
// with the stored ones, a page at a time, as [Audit] describes.
type treeWalk struct {
	// start is the first leaf to hash. The leaves before it are taken as they are: the right edge
	// of their tree (at most 64 hashes) is read from the stored hashes, and the caller checks the
	// root of that tree (ask for it in at).
	start int64
	// end is one past the last leaf to hash, or -1 to hash to the end of the log. A log that ends
	// before end is an *AuditError.
	end int64
	// at lists the sizes, from start to end, at which root is called with the recomputed root.
	at   []int64
	root func(n int64, h tlog.Hash) error
	// leaf, if set, is called with every leaf once its page's stored hashes have been compared,
	// before the next page is read.
	leaf func(index int64, leaf []byte) error
	// pace, if set, is called before each page is read with the number of leaves asked for; it
	// waits to keep a rate, or returns the context's error.
	pace func(ctx context.Context, n int) error
	// progress, if set, is called after each page with the number of leaves hashed so far.
	progress func(done int64)
}

// run walks the leaves and returns the tree of the leaves up to end (or the whole log).
func (w *treeWalk) run(ctx context.Context, r tlog.HashReader, leaves LeafReader) (tlog.Tree, error) {
	at := slices.Clone(w.at)
	slices.Sort(at)
	var (
		f        frontier
		n        = w.start // leaves hashed so far
		computed []tlog.Hash
		indexes  []int64
	)
	if err := f.load(r, w.start); err != nil {
		return tlog.Tree{}, err
	}
	// checkRoots calls root for every size in at that n has reached.
	checkRoots := func() error {
		for len(at) > 0 && at[0] <= n {
			if at[0] == n {
				h, err := tlog.TreeHash(n, &f)
				if err != nil {
					return fmt.Errorf("ledger: audit: root at %d: %w", n, err)
				}
				if err := w.root(n, h); err != nil {
					return err
				}
			}
			at = at[1:]
		}
		return nil
	}
	if err := checkRoots(); err != nil {
		return tlog.Tree{}, err
	}
	for w.end < 0 || n < w.end {
		if err := ctx.Err(); err != nil {
			return tlog.Tree{}, err
		}
		want := AuditPageSize
		if w.end >= 0 {
			want = int(min(int64(want), w.end-n))
		}
		if w.pace != nil {
			if err := w.pace(ctx, want); err != nil {
				return tlog.Tree{}, err
			}
		}
		page, err := leaves.ReadLeaves(n, want)
		if err != nil {
			return tlog.Tree{}, fmt.Errorf("ledger: audit: read leaves from %d: %w", n, err)
		}
		if len(page) > want {
			return tlog.Tree{}, fmt.Errorf("ledger: audit: read %d leaves, asked for %d", len(page), want)
		}

		first, pageStart := tlog.StoredHashCount(n), n
		computed = computed[:0]
		var rootErr error
		for _, leaf := range page {
			hashes, err := tlog.StoredHashes(n, leaf, &f)
			if err != nil {
				return tlog.Tree{}, fmt.Errorf("ledger: audit: leaf %d: %w", n, err)
			}
			f.add(n, hashes)
			computed = append(computed, hashes...)
			n++
			if rootErr == nil && len(at) > 0 && at[0] == n {
				rootErr = checkRoots()
			}
		}

		if err := compareStored(r, first, computed, &indexes); err != nil {
			return tlog.Tree{}, err
		}
		if rootErr != nil {
			return tlog.Tree{}, rootErr
		}
		if w.leaf != nil {
			for i, leaf := range page {
				if err := w.leaf(pageStart+int64(i), leaf); err != nil {
					return tlog.Tree{}, err
				}
			}
		}
		if w.progress != nil {
			w.progress(n)
		}
		if len(page) < want {
			if w.end >= 0 {
				return tlog.Tree{}, &AuditError{Leaf: n, StoredIndex: -1, Reason: fmt.Sprintf(
					"the log ends after %d leaves, it had %d when the check began (truncated)", n, w.end)}
			}
			break
		}
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

// load sets f to the right edge of the tree of the first n leaves, read from r: for each level l
// with n>>l > 0, node (n>>l)-1. Nothing is read for n == 0.
func (f *frontier) load(r tlog.HashReader, n int64) error {
	*f = frontier{}
	if n == 0 {
		return nil
	}
	depth := bits.Len64(uint64(n))
	idx := make([]int64, depth)
	for l := range depth {
		idx[l] = tlog.StoredHashIndex(l, n>>l-1)
	}
	hashes, err := r.ReadHashes(idx)
	if err != nil {
		return fmt.Errorf("ledger: audit: read the right edge of the tree of %d leaves: %w", n, err)
	}
	if len(hashes) != depth {
		return fmt.Errorf("ledger: audit: read %d stored hashes, asked for %d", len(hashes), depth)
	}
	for l := range depth {
		f.index[l], f.hash[l] = idx[l], hashes[l]
	}
	f.depth = depth
	return nil
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
