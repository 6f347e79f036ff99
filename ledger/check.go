package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"golang.org/x/mod/sumdb/tlog"
	"golang.org/x/time/rate"
)

// ErrRolledBack is wrapped by the *[AuditError] a check returns when the database does not hold a
// tree that the log signed: it has fewer leaves than a kept checkpoint (or the watermark) covers,
// or its tree at that size has another root.
var ErrRolledBack = errors.New("ledger: the database was rolled back or replaced")

// ErrNoRecord is wrapped by a [RecordLeafFunc]'s error when the database holds no record of the
// kind and id asked for.
var ErrNoRecord = errors.New("ledger: no such record")

// RecordLeafFunc re-derives, from the stored record that a leaf names (the leaf's "kind" and "id",
// see [ParseLeaf]), every leaf that record claims, by log index: one for most records, two for a
// revoked key (the kinds key_created and key_revoked name the same key). A record the database does
// not hold is an error wrapping [ErrNoRecord]. A record that contradicts itself (a sample whose text
// no longer has its content hash) may be reported as an *[AuditError]; any other error is taken as
// an I/O error. Leaves the record claims at indexes not yet in the log are ignored.
type RecordLeafFunc func(ctx context.Context, kind, id string) (map[int64][]byte, error)

// Phases of a check, as [Progress] reports them.
const (
	PhaseTree    = "tree"    // recomputing stored hashes from the leaves
	PhaseRecords = "records" // re-deriving records' leaves and comparing them with the stored ones
)

// Progress is what a check reports as it goes.
type Progress struct {
	Phase string // PhaseTree or PhaseRecords
	Done  int64  // leaves hashed (tree) or record leaves compared (records) so far in this phase
	Total int64  // leaves in the log when the check began
}

// FullCheckOptions tune [Log.FullCheck].
type FullCheckOptions struct {
	// Rate bounds the check to about this many leaves a second in each phase (so a pass over n
	// leaves takes at least 2n/Rate seconds); 0 means as fast as it can.
	Rate float64
	// Progress, if set, is called after every page of leaves (about a thousand) in each phase.
	Progress func(Progress)
}

// A SignedTree is a tree the log signed, and where it was found.
type SignedTree struct {
	Place string // "the checkpoint kept in the database", "the checkpoint kept in /data/log/checkpoint", …
	Tree  tlog.Tree
	from  int // index of the witness it came from; fromDatabase or fromWatermark
}

const (
	fromDatabase  = -1
	fromWatermark = -2
)

// A CheckResult says what a check verified.
type CheckResult struct {
	Tree      tlog.Tree    // the verified tree: the log's size and root when the check began
	Watermark Watermark    // the watermark the check started from (StartupCheck), or wrote (FullCheck); zero if none
	Full      bool         // every record was re-derived (FullCheck, or a StartupCheck with no watermark)
	Rehashed  int64        // leaves whose stored hashes were recomputed
	Rederived int64        // leaves compared with a leaf re-derived from their record
	Signed    []SignedTree // the signed trees the database was compared with
	Duration  time.Duration
	// WatermarkErr says why a full check that passed could not save its watermark (the check's
	// result stands; the next start-up check starts from the older watermark).
	WatermarkErr error
}

// StartupCheck is the check to run before serving. Its cost grows with what was logged since the
// last full check, not with the log:
//
//   - the latest checkpoint stored in the database, those kept by the witnesses and the watermark
//     must verify with the log's key, and the database must hold each tree they sign: a database
//     shorter than one of them, or with another root at its size, was rolled back or replaced;
//   - the tree below the watermark is trusted as the full check that wrote it verified it, once
//     the stored hashes are shown to give the watermark's root (O(log n) reads), and checkpoints
//     smaller than the watermark are checked against it by consistency proofs;
//   - every leaf after the watermark is re-hashed, its stored hashes compared, and the record it
//     names is re-derived with record, which must claim that leaf at that index, byte for byte.
//
// With no watermark kept (a first start, or after a full check found a fault), or with more than a
// quarter of the log after it (where the walk of every record is the cheaper way), StartupCheck is
// [Log.FullCheck] over records, which then moves the watermark. Records altered below the watermark are
// not found here: the background [Log.FullCheck] finds them, and [Log.VerifyLeaf] where they are
// used. Faults are *[AuditError]s and mark the Log unhealthy; on success the Log trusts the tree.
func (l *Log) StartupCheck(ctx context.Context, records RecordLeaves, record RecordLeafFunc) (CheckResult, error) {
	start := time.Now()
	wm, hasWM, err := l.loadWatermark(ctx)
	if err != nil {
		return CheckResult{}, err
	}
	if !hasWM || wm.Tree.N == 0 {
		return l.FullCheck(ctx, records, FullCheckOptions{})
	}
	size, err := l.st.LogSize(ctx)
	if err != nil {
		return CheckResult{}, err
	}
	if size-wm.Tree.N > size/4 {
		// Looking records up one by one costs a few times what the full check's walk costs per
		// record: past a quarter of the log, the full check is the cheaper way to the same result.
		return l.FullCheck(ctx, records, FullCheckOptions{})
	}
	trees, err := l.signedTrees(ctx)
	if err != nil {
		return CheckResult{}, err
	}
	wmTree := SignedTree{Place: "the watermark kept in " + l.watermark.String(), Tree: wm.Tree, from: fromWatermark}
	wmPlace := wmTree.Place
	all := append(slices.Clip(trees), wmTree)
	if err := l.fault(checkSizes(size, all)); err != nil {
		return CheckResult{}, err
	}

	// Checkpoints from before the watermark: their trees must be prefixes of the watermark's.
	var after []SignedTree
	for _, st := range trees {
		if st.Tree.N >= wm.Tree.N {
			after = append(after, st)
			continue
		}
		p, err := ProveConsistency(l.Reader(ctx), st.Tree.N, wm.Tree.N)
		if err != nil {
			return CheckResult{}, err
		}
		if err := CheckConsistency(p, st.Tree, wm.Tree); err != nil {
			return CheckResult{}, l.fault(&AuditError{Leaf: -1, StoredIndex: -1, Err: ErrRolledBack, Reason: fmt.Sprintf(
				"the stored hashes do not prove that the tree of %s (%d leaves) is a prefix of the tree of %s (%d leaves): the database was rolled back or replaced, or its hashes altered",
				st.Place, st.Tree.N, wmPlace, wm.Tree.N)})
		}
	}

	res := CheckResult{Watermark: wm, Signed: all}
	w := treeWalk{start: wm.Tree.N, end: size}
	w.at, w.root = rootChecks(append([]SignedTree{wmTree}, after...))
	w.leaf = func(index int64, leaf []byte) error {
		res.Rederived++
		return l.checkRecordOf(ctx, record, index, leaf)
	}
	tree, err := w.run(ctx, l.Reader(ctx), l.leafReader(ctx))
	if err != nil {
		return CheckResult{}, l.fault(err)
	}
	res.Tree, res.Rehashed = tree, size-wm.Tree.N
	if err := l.trust(ctx, tree); err != nil {
		return CheckResult{}, err
	}
	l.noteSigned(trees)
	res.Duration = time.Since(start)
	return res, nil
}

// checkRecordOf re-derives the record that the leaf at index names and requires it to claim index
// with exactly these bytes.
func (l *Log) checkRecordOf(ctx context.Context, record RecordLeafFunc, index int64, leaf []byte) error {
	r, err := ParseLeaf(leaf)
	if err != nil {
		return &AuditError{Leaf: index, StoredIndex: -1, Err: err, Reason: "the stored leaf is not a canonical leaf"}
	}
	claims, err := record(ctx, r.Kind, r.ID)
	var ae *AuditError
	switch {
	case errors.Is(err, ErrNoRecord):
		return &AuditError{Leaf: index, StoredIndex: -1, Err: err, Reason: fmt.Sprintf(
			"the leaf names %s %s, which the database does not hold: the record was deleted", r.Kind, r.ID)}
	case errors.As(err, &ae):
		return err
	case err != nil:
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("re-deriving %s %s (leaf %d): %w", r.Kind, r.ID, index, err)
	}
	got, ok := claims[index]
	switch {
	case !ok:
		return &AuditError{Leaf: index, StoredIndex: -1, Reason: fmt.Sprintf(
			"the leaf names %s %s, but that record does not claim this log index: the record or the leaf was altered", r.Kind, r.ID)}
	case !bytes.Equal(got, leaf):
		return &AuditError{Leaf: index, StoredIndex: -1, Reason: fmt.Sprintf(
			"%s %s no longer matches its leaf: the record or the leaf was altered", r.Kind, r.ID)}
	}
	return nil
}

// FullCheck checks everything the log can check: the signed trees as [Log.StartupCheck] does,
// every stored hash recomputed from the leaves ([Audit]), and every record's leaf re-derived with
// records and compared with the stored one, each leaf claimed by exactly one record. It checks the
// log as it was when it began; records logged since are left for the next check. On success the
// Log trusts the tree, and the watermark (if kept) moves up to it; a fault is an *[AuditError],
// marks the Log unhealthy and withdraws the watermark, so that the next start-up check is a full
// one again. It can be paced and followed (opts) and stops when ctx is done.
func (l *Log) FullCheck(ctx context.Context, records RecordLeaves, opts FullCheckOptions) (CheckResult, error) {
	start := time.Now()
	trees, err := l.signedTrees(ctx)
	if err != nil {
		return CheckResult{}, err
	}
	wm, hasWM, err := l.loadWatermark(ctx)
	if err != nil {
		return CheckResult{}, err
	}
	all := trees
	if hasWM && wm.Tree.N > 0 {
		all = append(all, SignedTree{Place: "the watermark kept in " + l.watermark.String(), Tree: wm.Tree, from: fromWatermark})
	}
	size, err := l.st.LogSize(ctx)
	if err != nil {
		return CheckResult{}, err
	}
	if err := checkSizes(size, all); err != nil {
		return CheckResult{}, l.failFull(ctx, err)
	}
	pace := pacer(opts.Rate)
	w := treeWalk{end: size, pace: pace}
	w.at, w.root = rootChecks(all)
	if opts.Progress != nil {
		w.progress = func(done int64) { opts.Progress(Progress{Phase: PhaseTree, Done: done, Total: size}) }
	}
	tree, err := w.run(ctx, l.Reader(ctx), l.leafReader(ctx))
	if err != nil {
		return CheckResult{}, l.failFull(ctx, err)
	}
	var progress func(int64)
	if opts.Progress != nil {
		progress = func(done int64) { opts.Progress(Progress{Phase: PhaseRecords, Done: done, Total: size}) }
	}
	if err := l.checkRecords(ctx, records, size, pace, progress); err != nil {
		return CheckResult{}, l.failFull(ctx, err)
	}
	if err := l.trust(ctx, tree); err != nil {
		return CheckResult{}, l.failFull(ctx, err)
	}
	l.noteSigned(trees)
	res := CheckResult{Tree: tree, Full: true, Rehashed: size, Rederived: size, Signed: all}
	res.Watermark, res.WatermarkErr = l.saveWatermark(ctx, tree)
	res.Duration = time.Since(start)
	return res, nil
}

// failFull marks the Log unhealthy if err is a fault, and then withdraws the watermark.
func (l *Log) failFull(ctx context.Context, err error) error {
	var ae *AuditError
	if !errors.As(err, &ae) {
		return err
	}
	l.fail(err)
	if l.watermark != nil {
		// A watermark of size 0 means "none": the next start checks everything, and refuses.
		if msg, serr := signWatermark(l.signer, l.origin, Watermark{Time: time.Now()}); serr == nil {
			_ = l.watermark.Save(ctx, msg) // best effort: the fault is what the caller must hear of
		}
	}
	return err
}

// fault marks the Log unhealthy if err is a fault, and returns err.
func (l *Log) fault(err error) error {
	var ae *AuditError
	if errors.As(err, &ae) {
		l.fail(err)
	}
	return err
}

// signedTrees returns the latest checkpoint stored in the database and those kept by the witnesses,
// each verified with the log's key and origin.
func (l *Log) signedTrees(ctx context.Context) ([]SignedTree, error) {
	var out []SignedTree
	msg, err := l.st.LatestCheckpoint(ctx)
	if err != nil {
		return nil, err
	}
	if msg != nil {
		t, err := l.openCheckpoint(msg)
		if err != nil {
			return nil, fmt.Errorf("the last stored checkpoint does not verify with this registry's key: %w", err)
		}
		out = append(out, SignedTree{Place: "the checkpoint kept in the database", Tree: t, from: fromDatabase})
	}
	for i, w := range l.witnesses {
		msg, err := w.store.Load(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading the checkpoint kept in %s: %w", w.store, err)
		}
		if msg == nil {
			continue
		}
		t, err := l.openCheckpoint(msg)
		if err != nil {
			return nil, fmt.Errorf("the checkpoint kept in %s does not verify with this registry's key: %w", w.store, err)
		}
		out = append(out, SignedTree{Place: "the checkpoint kept in " + w.store.String(), Tree: t, from: i})
	}
	return out, nil
}

func (l *Log) openCheckpoint(msg []byte) (tlog.Tree, error) {
	origin, t, err := OpenCheckpoint(msg, l.vkey)
	if err != nil {
		return tlog.Tree{}, err
	}
	if origin != l.origin {
		return tlog.Tree{}, fmt.Errorf("%w: checkpoint for origin %q, not %q", ErrCheckpointSignature, origin, l.origin)
	}
	return t, nil
}

// noteSigned records, after a successful check, the sizes the database and the witnesses hold, so
// that Checkpoint saves only what is new.
func (l *Log) noteSigned(trees []SignedTree) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, st := range trees {
		switch {
		case st.from == fromDatabase:
			l.lastSize = max(l.lastSize, st.Tree.N)
		case st.from >= 0:
			l.witnesses[st.from].saved = max(l.witnesses[st.from].saved, st.Tree.N)
		}
	}
}

// checkSizes fails if the log, of size leaves, is shorter than a signed tree.
func checkSizes(size int64, trees []SignedTree) error {
	for _, st := range trees {
		if st.Tree.N > size {
			return &AuditError{Leaf: size, StoredIndex: -1, Err: ErrRolledBack, Reason: fmt.Sprintf(
				"the database holds %d leaves but %s covers %d: the database was rolled back or replaced",
				size, st.Place, st.Tree.N)}
		}
	}
	return nil
}

// rootChecks returns the sizes and the root callback of a treeWalk that compares the recomputed
// roots with trees.
func rootChecks(trees []SignedTree) ([]int64, func(int64, tlog.Hash) error) {
	var at []int64
	for _, st := range trees {
		at = append(at, st.Tree.N)
	}
	return at, func(n int64, h tlog.Hash) error {
		for _, st := range trees {
			if st.Tree.N == n && st.Tree.Hash != h {
				return &AuditError{Leaf: -1, StoredIndex: -1, Err: ErrRolledBack, Reason: fmt.Sprintf(
					"the database's tree of %d leaves has root %v but %s says %v: the database was rolled back or replaced",
					n, h, st.Place, st.Tree.Hash)}
			}
		}
		return nil
	}
}

// loadWatermark returns the watermark kept, verified; a missing one is not an error.
func (l *Log) loadWatermark(ctx context.Context) (Watermark, bool, error) {
	if l.watermark == nil {
		return Watermark{}, false, nil
	}
	msg, err := l.watermark.Load(ctx)
	if err != nil {
		return Watermark{}, false, fmt.Errorf("reading the watermark kept in %s: %w", l.watermark, err)
	}
	if msg == nil {
		return Watermark{}, false, nil
	}
	wm, err := openWatermark(msg, l.vkey, l.origin)
	if err != nil {
		return Watermark{}, false, fmt.Errorf("the watermark kept in %s does not verify with this registry's key (remove it to make the next start a full check): %w", l.watermark, err)
	}
	return wm, true, nil
}

// saveWatermark moves the watermark up to t, unless it is already there or beyond (another full
// check, by another process on the same data directory, finished later on a larger log).
func (l *Log) saveWatermark(ctx context.Context, t tlog.Tree) (Watermark, error) {
	wm := Watermark{Tree: t, Time: time.Now().UTC().Truncate(time.Millisecond)}
	if l.watermark == nil {
		return Watermark{}, nil
	}
	if cur, ok, err := l.loadWatermark(ctx); err == nil && ok && cur.Tree.N > t.N {
		return cur, nil
	}
	msg, err := signWatermark(l.signer, l.origin, wm)
	if err == nil {
		err = l.watermark.Save(ctx, msg)
	}
	if err != nil {
		return Watermark{}, fmt.Errorf("the check passed but its watermark could not be saved: %w", err)
	}
	return wm, nil
}

// Watermark returns the watermark kept, verified, and whether there is one.
func (l *Log) Watermark(ctx context.Context) (Watermark, bool, error) { return l.loadWatermark(ctx) }

// leafReader reads the store's leaves for a treeWalk.
func (l *Log) leafReader(ctx context.Context) LeafReader {
	return LeafReaderFunc(func(from int64, n int) ([][]byte, error) { return l.st.ReadLogLeaves(ctx, from, n) })
}

// pacer returns a pace function keeping about perSecond leaves a second, or nil for no limit.
func pacer(perSecond float64) func(context.Context, int) error {
	if perSecond <= 0 || math.IsInf(perSecond, 1) || math.IsNaN(perSecond) {
		return nil
	}
	lim := rate.NewLimiter(rate.Limit(perSecond), AuditPageSize)
	return func(ctx context.Context, n int) error {
		if err := lim.WaitN(ctx, min(n, AuditPageSize)); err != nil {
			if ctx.Err() == nil {
				// The wait would outlast ctx's deadline: wait for it, so the error says why.
				<-ctx.Done()
			}
			return ctx.Err()
		}
		return nil
	}
}
