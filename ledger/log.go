package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

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

// Log serves a store's Merkle log: signed checkpoints, entries and proofs, and the checks that the
// store still holds what the log says ([Log.StartupCheck], [Log.FullCheck], [Log.VerifyLeaf]).
// It is safe for concurrent use.
//
// Once a check has verified the log, the Log trusts that tree and moves its trust forward only
// along consistency proofs: [Log.Checkpoint] signs, and [Log.VerifyLeaf] proves against, trees
// that provably extend it, so an edited stored hash cannot move trust to another history. A check
// or a proof that finds tampering marks the Log unhealthy for good ([Log.Healthy]): it signs no
// more checkpoints, and the server refuses writes.
type Log struct {
	st        Storage
	signer    note.Signer
	vkey      string
	origin    string
	witnesses []*witness
	watermark NoteStore
	onWitness func(place string, err error)

	mu       sync.Mutex // orders checkpoint signing and saving
	lastSize int64

	advanceMu sync.Mutex // serializes moves of the trusted tree (held across their reads)
	trustMu   sync.Mutex // guards trusted and verified (held briefly)
	trusted   tlog.Tree
	verified  bool

	failure atomic.Pointer[unhealthyError]
}

// witness is a NoteStore kept up to date with the latest checkpoint.
type witness struct {
	store      NoteStore
	saved      int64     // size of the checkpoint it holds, as far as this Log knows; -1 unknown
	retryAfter time.Time // after a failed save, when to try again
}

// witnessRetry is how long a Log waits before saving to a witness again after a failure, so a
// mirror that is down does not slow every checkpoint request.
const witnessRetry = 30 * time.Second

// An Option configures a [Log].
type Option func(*Log)

// WithWitnesses keeps a copy of every new checkpoint the Log signs in each of stores (for example
// a [NoteFile] at [CheckpointFile] in the data directory, and a mirror on another machine), and
// makes the checks compare the database with what they hold: a database whose log is shorter than
// a kept checkpoint, or whose tree at that size has another root, was rolled back or replaced, and
// the checks fail with an error wrapping [ErrRolledBack].
func WithWitnesses(stores ...NoteStore) Option {
	return func(l *Log) {
		for _, s := range stores {
			l.witnesses = append(l.witnesses, &witness{store: s, saved: -1})
		}
	}
}

// WithWatermark keeps the audit watermark in store (for example a [NoteFile] at [WatermarkFile]):
// [Log.FullCheck] writes it after every successful check, and [Log.StartupCheck] re-derives only
// the records logged after it. Without one, every start-up check is a full check.
func WithWatermark(store NoteStore) Option { return func(l *Log) { l.watermark = store } }

// WithWitnessErrors sets the function told when saving a checkpoint to a witness fails. Such a
// failure does not fail [Log.Checkpoint] (the checkpoint is signed and stored in the database);
// the Log tries that witness again with a later checkpoint, no sooner than 30 s later.
func WithWitnessErrors(fn func(place string, err error)) Option {
	return func(l *Log) { l.onWitness = fn }
}

// NewLog returns a Log over st that signs with signer; vkey is the signer's verifier key text and
// origin the checkpoint origin line (the key's name).
func NewLog(st Storage, signer note.Signer, vkey string, opts ...Option) *Log {
	l := &Log{st: st, signer: signer, vkey: vkey, origin: signer.Name(), lastSize: -1}
	for _, o := range opts {
		o(l)
	}
	return l
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
// one, saves it to the witnesses that do not hold it yet (see [WithWitnessErrors] for failures),
// and returns the signed note and the tree.
//
// Once a check has verified the log, Checkpoint signs only a tree that a consistency proof shows
// to extend the trusted one; otherwise it returns an *[AuditError] and marks the Log unhealthy.
// An unhealthy Log signs nothing: Checkpoint returns [Log.Healthy]'s error.
func (l *Log) Checkpoint(ctx context.Context) ([]byte, tlog.Tree, error) {
	if err := l.Healthy(); err != nil {
		return nil, tlog.Tree{}, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	size, err := l.st.LogSize(ctx)
	if err != nil {
		return nil, tlog.Tree{}, err
	}
	t, err := l.treeAt(ctx, size)
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
	l.saveWitnesses(ctx, t, msg)
	return msg, t, nil
}

// saveWitnesses saves msg, the checkpoint of t, to every witness that holds a smaller one and is not
// waiting after a failure. l.mu is held.
func (l *Log) saveWitnesses(ctx context.Context, t tlog.Tree, msg []byte) {
	now := time.Now()
	for _, w := range l.witnesses {
		if t.N <= w.saved || now.Before(w.retryAfter) {
			continue
		}
		if err := w.store.Save(ctx, msg); err != nil {
			w.retryAfter = now.Add(witnessRetry)
			if l.onWitness != nil {
				l.onWitness(w.store.String(), err)
			}
			continue
		}
		w.saved, w.retryAfter = t.N, time.Time{}
	}
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

// SelfCheck is the full check without a rate limit or progress: [Log.FullCheck] with no options,
// returning the verified tree of the log. It is what the start-up check was before the watermark.
func (l *Log) SelfCheck(ctx context.Context, records RecordLeaves) (tlog.Tree, error) {
	res, err := l.FullCheck(ctx, records, FullCheckOptions{})
	if err != nil {
		return tlog.Tree{}, err
	}
	return res.Tree, nil
}

// checkRecords compares re-derived leaves with stored ones in pages, and checks that every leaf of the
// first size leaves of the log belongs to exactly one record. pace and progress are as in treeWalk.
func (l *Log) checkRecords(ctx context.Context, records RecordLeaves, size int64,
	pace func(context.Context, int) error, progress func(done int64)) error {
	const page = 512
	var idx []int64
	var want [][]byte
	seen := int64(0)
	claimed := make([]uint64, (size+63)/64) // one bit per leaf: each must belong to exactly one record
	flush := func() error {
		if len(idx) == 0 {
			return nil
		}
		if pace != nil {
			if err := pace(ctx, len(idx)); err != nil {
				return err
			}
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
		if progress != nil {
			progress(seen)
		}
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
		if errors.As(err, &ae) || ctx.Err() != nil {
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
