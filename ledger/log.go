package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Storage is what a Log reads from a store: the leaves and stored hashes written with the records,
// and the checkpoints it signed.
type Storage interface {
	LogSize(ctx context.Context) (int64, error)
	ReadLogHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error)
	ReadLogLeaves(ctx context.Context, from int64, n int) ([][]byte, error)
	ReadLogLeavesAt(ctx context.Context, indexes []int64) ([][]byte, error)
	// LatestCheckpoint returns the signed note of the largest checkpoint stored, or nil.
	LatestCheckpoint(ctx context.Context) ([]byte, error)
	SaveCheckpoint(ctx context.Context, t tlog.Tree, note []byte) error
}

// RecordLeaves re-derives, from the stored records themselves, the leaf each record should have at
// its log index, calling fn in any order; fn's error stops the walk.
type RecordLeaves func(ctx context.Context, fn func(index int64, leaf []byte) error) error

// Log serves a store's Merkle log: signed checkpoints, entries and proofs, and the start-up check.
type Log struct {
	st       Storage
	signer   note.Signer
	vkey     string
	origin   string
	mu       sync.Mutex // orders checkpoint signing and saving
	lastSize int64
}

// NewLog returns a Log over st that signs with signer; vkey is the signer's verifier key text and
// origin the checkpoint origin line (the key's name).
func NewLog(st Storage, signer note.Signer, vkey string) *Log {
	return &Log{st: st, signer: signer, vkey: vkey, origin: signer.Name(), lastSize: -1}
}

// VerifierKey returns the verifier key text, for auditors.
func (l *Log) VerifierKey() string { return l.vkey }

// Origin returns the checkpoint origin line.
func (l *Log) Origin() string { return l.origin }

type ctxReader struct {
	ctx context.Context
	st  Storage
}

func (r ctxReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	return r.st.ReadLogHashes(r.ctx, indexes)
}

// Reader returns a tlog.HashReader over the store's stored hashes.
func (l *Log) Reader(ctx context.Context) tlog.HashReader { return ctxReader{ctx, l.st} }

// Checkpoint signs a checkpoint of the log as it stands, stores it if the log has grown since the last
// one, and returns the signed note and the tree.
func (l *Log) Checkpoint(ctx context.Context) ([]byte, tlog.Tree, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	size, err := l.st.LogSize(ctx)
	if err != nil {
		return nil, tlog.Tree{}, err
	}
	t, err := TreeAt(l.Reader(ctx), size)
	if err != nil {
		return nil, tlog.Tree{}, err
	}
	msg, err := SignCheckpoint(l.signer, l.origin, t)
	if err != nil {
		return nil, tlog.Tree{}, err
	}
	if size > l.lastSize {
		if err := l.st.SaveCheckpoint(ctx, t, msg); err != nil {
			return nil, tlog.Tree{}, err
		}
		l.lastSize = size
	}
	return msg, t, nil
}

// Size returns the number of leaves.
func (l *Log) Size(ctx context.Context) (int64, error) { return l.st.LogSize(ctx) }

// Entry returns the leaf at index, or ErrOutOfRange.
func (l *Log) Entry(ctx context.Context, index int64) ([]byte, error) {
	size, err := l.st.LogSize(ctx)
	if err != nil {
		return nil, err
	}
	if index < 0 || index >= size {
		return nil, fmt.Errorf("%w: entry %d of a log of %d", ErrOutOfRange, index, size)
	}
	leaves, err := l.st.ReadLogLeaves(ctx, index, 1)
	if err != nil {
		return nil, err
	}
	if len(leaves) != 1 {
		return nil, fmt.Errorf("leaf %d is missing", index)
	}
	return leaves[0], nil
}

// Inclusion proves that the leaf at index is in the tree of the given size (at most the log's size).
func (l *Log) Inclusion(ctx context.Context, index, size int64) (tlog.RecordProof, error) {
	if err := l.within(ctx, size); err != nil {
		return nil, err
	}
	return ProveInclusion(l.Reader(ctx), size, index)
}

// Consistency proves that the tree of size from is a prefix of the tree of size to.
func (l *Log) Consistency(ctx context.Context, from, to int64) (tlog.TreeProof, error) {
	if err := l.within(ctx, to); err != nil {
		return nil, err
	}
	return ProveConsistency(l.Reader(ctx), from, to)
}

func (l *Log) within(ctx context.Context, size int64) error {
	n, err := l.st.LogSize(ctx)
	if err != nil {
		return err
	}
	if size < 1 || size > n {
		return fmt.Errorf("%w: tree size %d of a log of %d", ErrOutOfRange, size, n)
	}
	return nil
}

// SelfCheck is the start-up check. It verifies the last stored checkpoint's signature, recomputes
// every stored hash from the stored leaves and the root at the checkpoint's size (Audit), and
// re-derives every record's leaf from the record and compares it with the stored leaf, so that an
// altered record, leaf or hash, a truncated log or a rewritten history is found. It returns the
// verified tree of the whole log.
func (l *Log) SelfCheck(ctx context.Context, records RecordLeaves) (tlog.Tree, error) {
	var cp tlog.Tree
	msg, err := l.st.LatestCheckpoint(ctx)
	if err != nil {
		return tlog.Tree{}, err
	}
	if msg != nil {
		origin, t, err := OpenCheckpoint(msg, l.vkey)
		if err != nil {
			return tlog.Tree{}, fmt.Errorf("the last stored checkpoint does not verify with this registry's key: %w", err)
		}
		if origin != l.origin {
			return tlog.Tree{}, fmt.Errorf("the last stored checkpoint is for origin %q, not %q", origin, l.origin)
		}
		cp = t
	}
	leaves := LeafReaderFunc(func(from int64, n int) ([][]byte, error) { return l.st.ReadLogLeaves(ctx, from, n) })
	tree, err := Audit(ctx, l.Reader(ctx), leaves, cp)
	if err != nil {
		return tlog.Tree{}, err
	}
	if err := l.checkRecords(ctx, records, tree.N); err != nil {
		return tlog.Tree{}, err
	}
	l.lastSize = cp.N
	return tree, nil
}

// checkRecords compares re-derived leaves with stored ones in pages, and checks that every leaf of the
// log belongs to exactly one record.
func (l *Log) checkRecords(ctx context.Context, records RecordLeaves, size int64) error {
	const page = 512
	var idx []int64
	var want [][]byte
	seen := int64(0)
	claimed := make([]uint64, (size+63)/64) // one bit per leaf: each must belong to exactly one record
	flush := func() error {
		if len(idx) == 0 {
			return nil
		}
		got, err := l.st.ReadLogLeavesAt(ctx, idx)
		if err != nil {
			return err
		}
		for i := range idx {
			if i >= len(got) || !bytes.Equal(got[i], want[i]) {
				return &AuditError{Leaf: idx[i], StoredIndex: -1,
					Reason: "the record logged at this index no longer matches its leaf: the record or the leaf was altered"}
			}
		}
		idx, want = idx[:0], want[:0]
		return nil
	}
	// Records at or beyond the audited size may have been committed since by another instance
	// sharing the database; they are checked at the next start. They must lie within the log as it
	// stands after the walk, or they name leaves that do not exist.
	newest := int64(-1)
	err := records(ctx, func(index int64, leaf []byte) error {
		if index < 0 {
			return &AuditError{Leaf: index, StoredIndex: -1, Reason: "a record names a negative log index"}
		}
		if index >= size {
			newest = max(newest, index)
			return nil
		}
		if claimed[index/64]&(1<<(index%64)) != 0 {
			return &AuditError{Leaf: index, StoredIndex: -1, Reason: "two records claim the same log index"}
		}
		claimed[index/64] |= 1 << (index % 64)
		seen++
		idx, want = append(idx, index), append(want, append([]byte(nil), leaf...))
		if len(idx) == page {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		var ae *AuditError
		if errors.As(err, &ae) {
			return err
		}
		return fmt.Errorf("re-deriving record leaves: %w", err)
	}
	if newest >= 0 {
		now, err := l.st.LogSize(ctx)
		if err != nil {
			return err
		}
		if newest >= now {
			return &AuditError{Leaf: newest, StoredIndex: -1, Reason: "a record names a log index beyond the log"}
		}
	}
	if seen != size {
		return &AuditError{Leaf: -1, StoredIndex: -1,
			Reason: fmt.Sprintf("the log holds %d leaves but the records account for %d: records were added or removed outside the registry", size, seen)}
	}
	return nil
}
