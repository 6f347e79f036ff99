package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/mod/sumdb/tlog"
)

// ErrUnhealthy is wrapped by [Log.Healthy]'s error, and so by what an unhealthy Log refuses to do.
var ErrUnhealthy = errors.New("ledger: the log failed a check")

// ErrNotVerified is returned by [Log.VerifyLeaf] before any check has verified the log.
var ErrNotVerified = errors.New("ledger: the log has not been checked yet")

// unhealthyError is Healthy's error: ErrUnhealthy and the fault that caused it.
type unhealthyError struct{ cause error }

func (e *unhealthyError) Error() string {
	return "the tamper-evident log failed a check: " + e.cause.Error()
}
func (e *unhealthyError) Unwrap() []error { return []error{ErrUnhealthy, e.cause} }

// Healthy returns nil, or, once a check or a proof has found the stored log or its records
// tampered with, an error wrapping [ErrUnhealthy] and the first fault found (an *[AuditError]). It
// stays so until the process ends: the next start runs the start-up check again, and a full one if
// a full check found the fault. It is cheap (one atomic load), for readiness probes and a guard
// before every write.
func (l *Log) Healthy() error {
	if f := l.failure.Load(); f != nil {
		return f
	}
	return nil
}

// Fail marks the Log unhealthy with cause, unless it already is: for a fault that a caller found
// where a record is used, before any proof (a text that no longer has its content hash, a policy
// module that no longer has its logged hash).
func (l *Log) Fail(cause error) { l.fail(cause) }

// fail marks the Log unhealthy with cause, unless it already is.
func (l *Log) fail(cause error) {
	l.failure.CompareAndSwap(nil, &unhealthyError{cause: cause})
}

// Trusted returns the tree the Log trusts, and false before any check has verified the log.
func (l *Log) Trusted() (tlog.Tree, bool) {
	l.trustMu.Lock()
	defer l.trustMu.Unlock()
	return l.trusted, l.verified
}

// trust merges t, a tree a check has just verified, with the trusted tree: whichever is smaller
// must be a prefix of the other, as the stored hashes prove, and the larger one is trusted.
func (l *Log) trust(ctx context.Context, t tlog.Tree) error {
	l.advanceMu.Lock()
	defer l.advanceMu.Unlock()
	old, ok := l.Trusted()
	if !ok {
		l.setTrusted(t)
		return nil
	}
	small, large := old, t
	if t.N < old.N {
		small, large = t, old
	}
	if err := l.checkExtends(ctx, small, large); err != nil {
		return err
	}
	l.setTrusted(large)
	return nil
}

func (l *Log) setTrusted(t tlog.Tree) {
	l.trustMu.Lock()
	defer l.trustMu.Unlock()
	if !l.verified || t.N > l.trusted.N {
		l.trusted, l.verified = t, true
	}
}

// checkExtends proves from the stored hashes that large extends small; a proof that fails is a
// fault and marks the Log unhealthy.
func (l *Log) checkExtends(ctx context.Context, small, large tlog.Tree) error {
	if small.N == large.N {
		if small.Hash != large.Hash {
			return l.fault(&AuditError{Leaf: -1, StoredIndex: -1, Reason: fmt.Sprintf(
				"two verified trees of %d leaves have different roots (%v, %v): the stored hashes were altered", small.N, small.Hash, large.Hash)})
		}
		return nil
	}
	p, err := ProveConsistency(l.Reader(ctx), small.N, large.N)
	if err != nil {
		return err
	}
	if err := CheckConsistency(p, small, large); err != nil {
		return l.fault(&AuditError{Leaf: -1, StoredIndex: -1, Err: err, Reason: fmt.Sprintf(
			"the stored hashes do not prove that the tree of %d leaves extends the verified tree of %d: they were altered",
			large.N, small.N)})
	}
	return nil
}

// treeAt returns the tree of the first size leaves: once the log is verified, a tree that extends
// the trusted one (advancing trust to it); before, the tree as the stored hashes give it.
func (l *Log) treeAt(ctx context.Context, size int64) (tlog.Tree, error) {
	if _, ok := l.Trusted(); !ok {
		return TreeAt(l.Reader(ctx), size)
	}
	return l.advance(ctx, size)
}

// advance returns the tree of size leaves, after proving that it extends the trusted tree, and
// trusts it. A size below the trusted tree's is a fault: leaves were deleted while serving.
func (l *Log) advance(ctx context.Context, size int64) (tlog.Tree, error) {
	l.advanceMu.Lock()
	defer l.advanceMu.Unlock()
	old, _ := l.Trusted()
	switch {
	case size < old.N:
		return tlog.Tree{}, l.fault(&AuditError{Leaf: size, StoredIndex: -1, Err: ErrRolledBack, Reason: fmt.Sprintf(
			"the database holds %d leaves but the verified tree covers %d: the database was rolled back or replaced", size, old.N)})
	case size == old.N:
		return old, nil
	}
	t, err := TreeAt(l.Reader(ctx), size)
	if err != nil {
		return tlog.Tree{}, err
	}
	if err := l.checkExtends(ctx, old, t); err != nil {
		return tlog.Tree{}, err
	}
	l.setTrusted(t)
	return t, nil
}

// VerifyLeaf checks, where a record is used, that the log holds leaf at index: the stored leaf must
// equal leaf (the caller re-derives it from the record), and an inclusion proof from the stored
// hashes must put it in the tree the Log trusts. When index is beyond that tree, the Log first
// moves its trust to the log as it stands, along a consistency proof. It reads O(log n) hashes.
//
// A mismatch is an *[AuditError] (and marks the Log unhealthy): the record, its leaf or the
// stored hashes were altered. An index beyond the log wraps [ErrOutOfRange]; before any check
// has verified the log it returns [ErrNotVerified]; other errors are the store's.
func (l *Log) VerifyLeaf(ctx context.Context, index int64, leaf []byte) error {
	return l.VerifyLeaves(ctx, []int64{index}, [][]byte{leaf})
}

// VerifyLeaves is VerifyLeaf for many leaves: their stored leaves in one read, and the stored hashes
// that all their inclusion proofs need in one more (the proofs of nearby leaves share most of them),
// so that an export proves each record it streams for about two reads a chunk.
func (l *Log) VerifyLeaves(ctx context.Context, indexes []int64, leaves [][]byte) error {
	if len(indexes) != len(leaves) {
		return fmt.Errorf("ledger: %d indexes for %d leaves", len(indexes), len(leaves))
	}
	if len(indexes) == 0 {
		return nil
	}
	t, ok := l.Trusted()
	if !ok {
		return ErrNotVerified
	}
	last := slices.Max(indexes)
	if slices.Min(indexes) < 0 {
		return fmt.Errorf("%w: leaf %d", ErrOutOfRange, slices.Min(indexes))
	}
	if last >= t.N {
		size, err := l.st.LogSize(ctx)
		if err != nil {
			return err
		}
		if last >= size {
			return fmt.Errorf("%w: leaf %d of a log of %d", ErrOutOfRange, last, size)
		}
		if t, err = l.advance(ctx, size); err != nil {
			return err
		}
	}
	stored, err := l.st.ReadLogLeavesAt(ctx, indexes)
	if err != nil {
		return err
	}
	for i, index := range indexes {
		if len(stored) != len(indexes) || stored[i] == nil {
			return l.fault(&AuditError{Leaf: index, StoredIndex: -1, Reason: "the leaf is missing from the stored log"})
		}
		if !bytes.Equal(stored[i], leaves[i]) {
			return l.fault(&AuditError{Leaf: index, StoredIndex: -1,
				Reason: "the stored leaf differs from the one re-derived from its record: the record or the leaf was altered"})
		}
	}
	// Which stored hashes the proofs read, then those hashes in one read.
	want := &recordingReader{seen: map[int64]bool{}}
	for _, index := range indexes {
		if _, err := tlog.ProveRecord(t.N, index, want); err != nil {
			return err
		}
	}
	hashes, err := l.st.ReadLogHashes(ctx, want.indexes)
	if err != nil {
		return err
	}
	have := make(mapReader, len(hashes))
	for i, h := range hashes {
		have[want.indexes[i]] = h
	}
	for i, index := range indexes {
		p, err := ProveInclusion(have, t.N, index)
		if err != nil {
			return err
		}
		if err := CheckInclusion(p, t, index, leaves[i]); err != nil {
			return l.fault(&AuditError{Leaf: index, StoredIndex: -1, Err: err, Reason: fmt.Sprintf(
				"the leaf is not in the verified tree of %d leaves: the leaf and its stored hashes were altered", t.N)})
		}
	}
	return nil
}

// recordingReader answers zero hashes and notes which stored hashes were asked for.
type recordingReader struct {
	indexes []int64
	seen    map[int64]bool
}

func (r *recordingReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	for _, i := range indexes {
		if !r.seen[i] {
			r.seen[i] = true
			r.indexes = append(r.indexes, i)
		}
	}
	return make([]tlog.Hash, len(indexes)), nil
}

// mapReader reads stored hashes from a map filled beforehand.
type mapReader map[int64]tlog.Hash

func (m mapReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, index := range indexes {
		h, ok := m[index]
		if !ok {
			return nil, fmt.Errorf("ledger: stored hash %d was not read", index)
		}
		out[i] = h
	}
	return out, nil
}
