package ledger

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// fakeStore is a store in memory: a MemoryHashes for the log, the checkpoints it was given, and one
// record per leaf (or two leaves for a "key"), which tests can alter, delete or roll back.
type fakeStore struct {
	mu      sync.Mutex
	mem     *MemoryHashes
	cps     map[int64][]byte
	records map[string]map[int64][]byte // "kind id" → the leaves the record claims
	calls   atomic.Int64                // RecordLeaf calls
	walks   atomic.Int64                // RecordLeaves calls
	asked   []int64                     // the leaf indexes RecordLeaf was asked about, in order
}

var _ Storage = (*fakeStore)(nil)

func newFakeStore() *fakeStore {
	return &fakeStore{mem: new(MemoryHashes), cps: map[int64][]byte{}, records: map[string]map[int64][]byte{}}
}

// add appends n records, each with one leaf.
func (s *fakeStore) add(tb testing.TB, n int) {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		i := int(s.mem.Size())
		leaf := testLeaf(tb, i)
		if _, err := s.mem.Append(leaf); err != nil {
			tb.Fatal(err)
		}
		r, _ := ParseLeaf(leaf)
		s.records[r.Kind+" "+r.ID] = map[int64][]byte{int64(i): leaf}
	}
}

// alter changes the record whose leaf is at index, so that it no longer re-derives that leaf.
func (s *fakeStore) alter(tb testing.TB, index int64) {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	leaf, err := s.mem.Leaf(index)
	if err != nil {
		tb.Fatal(err)
	}
	r, _ := ParseLeaf(leaf)
	r.Fields["origin"] = "human"
	changed, err := r.Bytes()
	if err != nil {
		tb.Fatal(err)
	}
	s.records[r.Kind+" "+r.ID][index] = changed
}

// remove deletes the record whose leaf is at index, and nothing else.
func (s *fakeStore) remove(tb testing.TB, index int64) {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	leaf, _ := s.mem.Leaf(index)
	r, _ := ParseLeaf(leaf)
	delete(s.records, r.Kind+" "+r.ID)
}

// rollBack deletes the newest leaves from size on, their hashes and records: what restoring an old
// backup, or an attacker deleting rows consistently, leaves.
func (s *fakeStore) rollBack(size int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mem.leaves = s.mem.leaves[:size]
	s.mem.hashes = s.mem.hashes[:tlog.StoredHashCount(size)]
	for k, claims := range s.records {
		for i := range claims {
			if i >= size {
				delete(s.records, k)
			}
		}
	}
	for n := range s.cps {
		if n > size {
			delete(s.cps, n)
		}
	}
}

func (s *fakeStore) dropCheckpoints() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.cps)
}

func (s *fakeStore) LogSize(ctx context.Context) (int64, error) { return s.mem.Size(), nil }
func (s *fakeStore) ReadLogHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error) {
	return s.mem.ReadHashes(indexes)
}
func (s *fakeStore) ReadLogLeaves(ctx context.Context, from int64, n int) ([][]byte, error) {
	return s.mem.ReadLeaves(from, n)
}
func (s *fakeStore) ReadLogLeavesAt(ctx context.Context, indexes []int64) ([][]byte, error) {
	out := make([][]byte, len(indexes))
	for i, x := range indexes {
		out[i], _ = s.mem.Leaf(x)
	}
	return out, nil
}
func (s *fakeStore) LatestCheckpoint(ctx context.Context) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var best int64 = -1
	for n := range s.cps {
		best = max(best, n)
	}
	return s.cps[best], nil
}
func (s *fakeStore) SaveCheckpoint(ctx context.Context, t tlog.Tree, msg []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.cps[t.N]; !ok {
		s.cps[t.N] = msg
	}
	return nil
}

// RecordLeaves is the store's walk of every record, for the full check.
func (s *fakeStore) RecordLeaves(ctx context.Context, fn func(int64, []byte) error) error {
	s.walks.Add(1)
	s.mu.Lock()
	keys := make([]string, 0, len(s.records))
	for k := range s.records {
		keys = append(keys, k)
	}
	s.mu.Unlock()
	slices.Sort(keys)
	for _, k := range keys {
		s.mu.Lock()
		claims := s.records[k]
		s.mu.Unlock()
		for i, leaf := range claims {
			if err := fn(i, leaf); err != nil {
				return err
			}
		}
	}
	return nil
}

// RecordLeaf is the store's look-up of one record, for the start-up check.
func (s *fakeStore) RecordLeaf(ctx context.Context, kind, id string) (map[int64][]byte, error) {
	s.calls.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	claims, ok := s.records[kind+" "+id]
	if !ok {
		return nil, fmt.Errorf("%s %s: %w", kind, id, ErrNoRecord)
	}
	for i := range claims {
		s.asked = append(s.asked, i)
	}
	return claims, nil
}

// testRegistry is a store, a data directory with the log key, and the files the Log keeps there.
type testRegistry struct {
	dir    string
	st     *fakeStore
	signer note.Signer
	vkey   string
}

func newTestRegistry(t *testing.T, n int) *testRegistry {
	t.Helper()
	dir := t.TempDir()
	signer, _, vkey, err := LoadOrCreateKey(dir, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	r := &testRegistry{dir: dir, st: newFakeStore(), signer: signer, vkey: vkey}
	r.st.add(t, n)
	return r
}

func (r *testRegistry) checkpointFile() *NoteFile {
	return &NoteFile{Path: filepath.Join(r.dir, CheckpointFile)}
}
func (r *testRegistry) watermarkFile() *NoteFile {
	return &NoteFile{Path: filepath.Join(r.dir, WatermarkFile)}
}

// log opens a Log as serve does: the data directory's checkpoint file as a witness, plus extra ones,
// and the watermark file.
func (r *testRegistry) log(extra ...NoteStore) *Log {
	return NewLog(r.st, r.signer, r.vkey, WithWitnesses(append([]NoteStore{r.checkpointFile()}, extra...)...),
		WithWatermark(r.watermarkFile()))
}

// startup runs a start-up check on a fresh Log, as a restart would.
func (r *testRegistry) startup(t *testing.T, extra ...NoteStore) (*Log, CheckResult, error) {
	t.Helper()
	l := r.log(extra...)
	res, err := l.StartupCheck(t.Context(), r.st.RecordLeaves, r.st.RecordLeaf)
	return l, res, err
}

// serve starts the registry (a start-up check) and signs a checkpoint, as serve does after it.
func (r *testRegistry) serve(t *testing.T, extra ...NoteStore) *Log {
	t.Helper()
	l, _, err := r.startup(t, extra...)
	if err != nil {
		t.Fatalf("start-up check: %v", err)
	}
	if _, _, err := l.Checkpoint(t.Context()); err != nil {
		t.Fatal(err)
	}
	return l
}

func wantFault(t *testing.T, err error, is error) *AuditError {
	t.Helper()
	var ae *AuditError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want an *AuditError", err)
	}
	if is != nil && !errors.Is(err, is) {
		t.Fatalf("err = %v, want one wrapping %v", err, is)
	}
	return ae
}

// signedBy signs tree t as a checkpoint with another key of the same name.
func signedByOtherKey(t *testing.T, tree tlog.Tree) []byte {
	t.Helper()
	skey, _, err := note.GenerateKey(nil, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := SignCheckpoint(s, testOrigin, tree)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// flipSignature changes one byte of a note's signature.
func flipSignature(msg []byte) []byte {
	out := slices.Clone(msg)
	i := len(out) - 10 // inside the last signature's base64, past the key hash
	if out[i] == 'A' {
		out[i] = 'B'
	} else {
		out[i] = 'A'
	}
	return out
}

func TestRollbackDetection(t *testing.T) {
	type check func(t *testing.T, r *testRegistry, extra ...NoteStore) error
	checks := map[string]check{
		"StartupCheck": func(t *testing.T, r *testRegistry, extra ...NoteStore) error {
			_, _, err := r.startup(t, extra...)
			return err
		},
		"FullCheck": func(t *testing.T, r *testRegistry, extra ...NoteStore) error {
			_, err := r.log(extra...).FullCheck(t.Context(), r.st.RecordLeaves, FullCheckOptions{})
			return err
		},
	}
	for _, tc := range []struct {
		name string
		// tamper runs on a registry of 300 records that served (and kept a checkpoint of) 300 leaves.
		tamper func(t *testing.T, r *testRegistry)
		fault  bool  // want an *AuditError
		is     error // which the error must wrap
		says   string
	}{
		{name: "Honest", tamper: func(t *testing.T, r *testRegistry) {}},
		{name: "GrownSinceTheCheckpoint", tamper: func(t *testing.T, r *testRegistry) { r.st.add(t, 50) }},
		{
			name: "NewestDeletedWithEveryCheckpointRow",
			tamper: func(t *testing.T, r *testRegistry) {
				r.st.rollBack(200)
				r.st.dropCheckpoints()
			},
			fault: true, is: ErrRolledBack,
			says: "the database holds 200 leaves but the checkpoint kept in ",
		},
		{
			name: "RolledBackThenRegrown",
			// An old backup restored, and as many new records written: same size, another history.
			tamper: func(t *testing.T, r *testRegistry) {
				r.st.rollBack(200)
				r.st.dropCheckpoints()
				for i := range 100 {
					leaf, _ := Leaf(KindModel, fmt.Sprint("m", i), nil, time.Unix(1_800_000_000, 0))
					r.st.mem.Append(leaf)
				}
			},
			fault: true, is: ErrRolledBack, says: "has root",
		},
		{
			name: "ReplacedWithAnotherRegistrysLog",
			tamper: func(t *testing.T, r *testRegistry) {
				r.st.mem = mustMemory(t, append(testLeaves(t, 299), []byte("another")))
				r.st.dropCheckpoints()
			},
			fault: true, is: ErrRolledBack, says: "has root",
		},
		{
			name: "ForgedWitnessSignature",
			tamper: func(t *testing.T, r *testRegistry) {
				msg, _ := r.checkpointFile().Load(t.Context())
				os.WriteFile(r.checkpointFile().Path, flipSignature(msg), 0o644)
			},
			is: ErrCheckpointSignature, says: "does not verify with this registry's key",
		},
		{
			name: "WitnessFromAnotherKey",
			tamper: func(t *testing.T, r *testRegistry) {
				tree, _ := r.st.mem.Tree()
				os.WriteFile(r.checkpointFile().Path, signedByOtherKey(t, tree), 0o644)
			},
			is: ErrCheckpointSignature, says: "does not verify with this registry's key",
		},
		{
			name: "WitnessNotANote",
			tamper: func(t *testing.T, r *testRegistry) {
				os.WriteFile(r.checkpointFile().Path, []byte("300\n"), 0o644)
			},
			is: ErrMalformedCheckpoint,
		},
		{
			name:   "MissingWitnessFile",
			tamper: func(t *testing.T, r *testRegistry) { os.Remove(r.checkpointFile().Path) },
		},
	} {
		for name, run := range checks {
			t.Run(tc.name+"/"+name, func(t *testing.T) {
				r := newTestRegistry(t, 300)
				l := r.serve(t) // no watermark yet: a full check
				if _, err := l.FullCheck(t.Context(), r.st.RecordLeaves, FullCheckOptions{}); err != nil {
					t.Fatal(err) // writes the watermark
				}
				if _, _, err := l.Checkpoint(t.Context()); err != nil {
					t.Fatal(err)
				}
				tc.tamper(t, r)
				err := run(t, r)
				switch {
				case tc.is == nil && !tc.fault:
					if err != nil {
						t.Fatalf("check after %s: %v", tc.name, err)
					}
					return
				case tc.fault:
					wantFault(t, err, tc.is)
				case !errors.Is(err, tc.is):
					t.Fatalf("check after %s = %v, want %v", tc.name, err, tc.is)
				}
				if !strings.Contains(err.Error(), tc.says) {
					t.Fatalf("error %q does not say %q", err, tc.says)
				}
			})
		}
	}
}

func TestFirstStartWritesWitness(t *testing.T) {
	r := newTestRegistry(t, 10)
	if msg, err := r.checkpointFile().Load(t.Context()); err != nil || msg != nil {
		t.Fatalf("checkpoint file before the first start: %q, %v", msg, err)
	}
	l := r.serve(t)
	msg, err := r.checkpointFile().Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	_, tree, err := OpenCheckpoint(msg, r.vkey)
	if err != nil || tree.N != 10 {
		t.Fatalf("kept checkpoint of %d leaves (%v), want 10", tree.N, err)
	}
	// Every new checkpoint replaces it; one of the same size is not written again.
	r.st.add(t, 5)
	if _, _, err := l.Checkpoint(t.Context()); err != nil {
		t.Fatal(err)
	}
	msg, _ = r.checkpointFile().Load(t.Context())
	if _, tree, _ = OpenCheckpoint(msg, r.vkey); tree.N != 15 {
		t.Fatalf("kept checkpoint of %d leaves after growth, want 15", tree.N)
	}
	entries, _ := os.ReadDir(filepath.Dir(r.checkpointFile().Path))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

// failingNotes is a NoteStore that fails every save and counts them.
type failingNotes struct{ saves atomic.Int64 }

func (f *failingNotes) Load(ctx context.Context) ([]byte, error) { return nil, nil }
func (f *failingNotes) Save(ctx context.Context, msg []byte) error {
	f.saves.Add(1)
	return errors.New("mirror down")
}
func (f *failingNotes) String() string { return "failing" }

func TestWitnessFailureDoesNotFailCheckpoint(t *testing.T) {
	r := newTestRegistry(t, 10)
	bad := new(failingNotes)
	var told []string
	l := NewLog(r.st, r.signer, r.vkey, WithWitnesses(r.checkpointFile(), bad),
		WithWitnessErrors(func(place string, err error) { told = append(told, place+": "+err.Error()) }))
	if _, err := l.StartupCheck(t.Context(), r.st.RecordLeaves, r.st.RecordLeaf); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		r.st.add(t, 1)
		if _, _, err := l.Checkpoint(t.Context()); err != nil {
			t.Fatalf("Checkpoint with a mirror down: %v", err)
		}
	}
	// The first failure is reported; the next checkpoints do not wait on the mirror again at once.
	if bad.saves.Load() != 1 || len(told) != 1 || told[0] != "failing: mirror down" {
		t.Fatalf("saves %d, told %q; want one save, reported", bad.saves.Load(), told)
	}
	if msg, _ := r.checkpointFile().Load(t.Context()); msg == nil {
		t.Fatal("the local checkpoint file was not written")
	}
}

func TestWatermark(t *testing.T) {
	// audited returns a registry whose full check covered 500 records, with 40 logged since.
	audited := func(t *testing.T) *testRegistry {
		r := newTestRegistry(t, 500)
		l := r.serve(t)
		res, err := l.FullCheck(t.Context(), r.st.RecordLeaves, FullCheckOptions{})
		if err != nil || res.Watermark.Tree.N != 500 || res.WatermarkErr != nil {
			t.Fatalf("full check: %+v, %v", res, err)
		}
		r.st.add(t, 40)
		if _, _, err := l.Checkpoint(t.Context()); err != nil {
			t.Fatal(err)
		}
		r.st.calls.Store(0)
		r.st.walks.Store(0)
		r.st.asked = nil
		return r
	}

	t.Run("OnlyRecordsAfterItAreRederived", func(t *testing.T) {
		r := audited(t)
		_, res, err := r.startup(t)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.st.calls.Load(); got != 40 || res.Rederived != 40 || res.Full {
			t.Fatalf("start-up re-derived %d records (result %d, full %v), want the 40 after the watermark", got, res.Rederived, res.Full)
		}
		if r.st.walks.Load() != 0 {
			t.Fatal("start-up walked every record")
		}
		for _, i := range r.st.asked {
			if i < 500 {
				t.Fatalf("start-up re-derived the record at %d, below the watermark", i)
			}
		}
		if res.Tree.N != 540 || res.Watermark.Tree.N != 500 {
			t.Fatalf("verified %d leaves from a watermark at %d, want 540 from 500", res.Tree.N, res.Watermark.Tree.N)
		}
	})
	t.Run("MostOfTheLogAfterItIsAFullCheck", func(t *testing.T) {
		r := audited(t)
		r.st.add(t, 200) // 240 of 740 leaves after the watermark
		_, res, err := r.startup(t)
		if err != nil || !res.Full || r.st.walks.Load() != 1 || r.st.calls.Load() != 0 {
			t.Fatalf("start-up with a third of the log after the watermark: full %v, walks %d, look-ups %d, %v", res.Full, r.st.walks.Load(), r.st.calls.Load(), err)
		}
	})
	t.Run("NoWatermarkIsAFullCheck", func(t *testing.T) {
		r := audited(t)
		os.Remove(r.watermarkFile().Path)
		_, res, err := r.startup(t)
		if err != nil || !res.Full || r.st.walks.Load() != 1 || r.st.calls.Load() != 0 {
			t.Fatalf("start-up without a watermark: full %v, walks %d, look-ups %d, %v", res.Full, r.st.walks.Load(), r.st.calls.Load(), err)
		}
		if wm, ok, _ := r.log().Watermark(t.Context()); !ok || wm.Tree.N != 540 {
			t.Fatalf("watermark after a full start-up check: %+v, %v; want 540", wm, ok)
		}
	})

	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, r *testRegistry)
		// startup: what the start-up check finds (nil: passes); full: what the full check finds.
		startup, full bool
		is            error
	}{
		{name: "AlteredRecordAfterWatermark", tamper: func(t *testing.T, r *testRegistry) { r.st.alter(t, 520) }, startup: true, full: true},
		{name: "DeletedRecordAfterWatermark", tamper: func(t *testing.T, r *testRegistry) { r.st.remove(t, 539) }, startup: true, full: true, is: ErrNoRecord},
		{name: "AlteredLeafAfterWatermark", tamper: func(t *testing.T, r *testRegistry) { r.st.mem.leaves[510] = []byte("{}") }, startup: true, full: true},
		// Below the watermark the start-up check trusts the full check; the next full check finds it.
		{name: "AlteredRecordBelowWatermark", tamper: func(t *testing.T, r *testRegistry) { r.st.alter(t, 10) }, full: true},
		{name: "DeletedRecordBelowWatermark", tamper: func(t *testing.T, r *testRegistry) { r.st.remove(t, 10) }, full: true},
		{
			name:    "EditedHashOnTheWatermarksEdge",
			tamper:  func(t *testing.T, r *testRegistry) { r.st.mem.hashes[tlog.StoredHashIndex(8, 0)][0] ^= 1 }, // leaves 0..255
			startup: true, full: true,
		},
		{
			name: "HistoryRewrittenBelowWatermark",
			tamper: func(t *testing.T, r *testRegistry) {
				forged := testLeaves(t, 540)
				forged[7] = testLeaf(t, 99_999)
				r.st.mem = mustMemory(t, forged)
				r.st.dropCheckpoints()
			},
			startup: true, full: true, is: ErrRolledBack,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := audited(t)
			tc.tamper(t, r)
			l, _, err := r.startup(t)
			if tc.startup {
				wantFault(t, err, tc.is)
				if l.Healthy() == nil {
					t.Fatal("a failed start-up check left the log healthy")
				}
			} else if err != nil {
				t.Fatalf("start-up check: %v", err)
			}
			_, err = r.log().FullCheck(t.Context(), r.st.RecordLeaves, FullCheckOptions{})
			if !tc.full {
				if err != nil {
					t.Fatalf("full check: %v", err)
				}
				return
			}
			wantFault(t, err, nil)
			// The fault withdraws the watermark: the next start is a full check, and refuses.
			if wm, ok, err := r.log().Watermark(t.Context()); err != nil || !ok || wm.Tree.N != 0 {
				t.Fatalf("watermark after a failed full check: %+v, %v, %v; want one of size 0", wm, ok, err)
			}
			calls := r.st.calls.Load()
			_, _, err = r.startup(t)
			wantFault(t, err, nil)
			if r.st.calls.Load() != calls {
				t.Fatal("the start-up check after a failed full check looked records up one by one")
			}
		})
	}

	t.Run("ForgedWatermark", func(t *testing.T) {
		for name, forge := range map[string]func(r *testRegistry) []byte{
			"FlippedSignature": func(r *testRegistry) []byte {
				msg, _ := r.watermarkFile().Load(t.Context())
				return flipSignature(msg)
			},
			"CheckpointCopiedIn": func(r *testRegistry) []byte {
				msg, _ := r.checkpointFile().Load(t.Context())
				return msg
			},
			"OtherKey": func(r *testRegistry) []byte {
				skey, _, _ := note.GenerateKey(nil, testOrigin)
				s, _ := note.NewSigner(skey)
				msg, _ := signWatermark(s, testOrigin, Watermark{Tree: tlog.Tree{N: 540}, Time: time.Now()})
				return msg
			},
		} {
			t.Run(name, func(t *testing.T) {
				r := audited(t)
				os.WriteFile(r.watermarkFile().Path, forge(r), 0o644)
				_, _, err := r.startup(t)
				if err == nil || !strings.Contains(err.Error(), "watermark") {
					t.Fatalf("start-up with a forged watermark: %v", err)
				}
				if r.st.calls.Load() != 0 {
					t.Fatal("start-up re-derived records past a forged watermark")
				}
			})
		}
	})
	t.Run("OldCheckpointsAreConsistent", func(t *testing.T) {
		r := audited(t)
		// The database's latest checkpoint (from before the watermark) is checked by a proof.
		r.st.dropCheckpoints()
		small, _ := TreeAt(r.st.mem, 100)
		msg, _ := SignCheckpoint(r.signer, testOrigin, small)
		r.st.cps[100] = msg
		os.Remove(r.checkpointFile().Path)
		if _, _, err := r.startup(t); err != nil {
			t.Fatal(err)
		}
		// Alter a hash that the proof from 100 to 500 reads and the root at 500 does not.
		var edge, proof []int64
		tlog.TreeHash(500, tlog.HashReaderFunc(func(x []int64) ([]tlog.Hash, error) { edge = x; return r.st.mem.ReadHashes(x) }))
		tlog.ProveTree(500, 100, tlog.HashReaderFunc(func(x []int64) ([]tlog.Hash, error) { proof = x; return r.st.mem.ReadHashes(x) }))
		for _, x := range proof {
			if !slices.Contains(edge, x) {
				r.st.mem.hashes[x][3] ^= 1
				break
			}
		}
		_, _, err := r.startup(t)
		wantFault(t, err, ErrRolledBack)
	})
}

func TestFullCheckProgressAndCancel(t *testing.T) {
	r := newTestRegistry(t, 3*AuditPageSize+10)
	l := r.serve(t)
	var got []Progress
	_, err := l.FullCheck(t.Context(), r.st.RecordLeaves, FullCheckOptions{Rate: 1e9, Progress: func(p Progress) { got = append(got, p) }})
	if err != nil {
		t.Fatal(err)
	}
	last := map[string]int64{}
	for _, p := range got {
		if p.Done < last[p.Phase] || p.Total != 3*AuditPageSize+10 {
			t.Fatalf("progress %+v after %d", p, last[p.Phase])
		}
		last[p.Phase] = p.Done
	}
	if last[PhaseTree] != 3*AuditPageSize+10 || last[PhaseRecords] != 3*AuditPageSize+10 {
		t.Fatalf("progress ended at %v, want every leaf in both phases", last)
	}

	os.Remove(r.watermarkFile().Path)
	ctx, cancel := context.WithCancel(t.Context())
	_, err = l.FullCheck(ctx, r.st.RecordLeaves, FullCheckOptions{Progress: func(p Progress) { cancel() }})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled full check = %v", err)
	}
	if l.Healthy() != nil {
		t.Fatal("a cancelled check marked the log unhealthy")
	}
	if _, ok, _ := l.Watermark(t.Context()); ok {
		t.Fatal("a cancelled check wrote a watermark")
	}

	// A slow rate and a deadline: the check stops at the deadline.
	ctx, cancel = context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err = l.FullCheck(ctx, r.st.RecordLeaves, FullCheckOptions{Rate: 10})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("paced full check past its deadline = %v", err)
	}
}

func TestUnhealthyLogSignsNothing(t *testing.T) {
	r := newTestRegistry(t, 50)
	l := r.serve(t)
	if err := l.Healthy(); err != nil {
		t.Fatal(err)
	}
	r.st.alter(t, 3)
	_, err := l.FullCheck(t.Context(), r.st.RecordLeaves, FullCheckOptions{})
	ae := wantFault(t, err, nil)
	if ae.Leaf != 3 {
		t.Fatalf("fault at leaf %d, want 3", ae.Leaf)
	}
	herr := l.Healthy()
	if !errors.Is(herr, ErrUnhealthy) || !errors.As(herr, &ae) {
		t.Fatalf("Healthy = %v, want ErrUnhealthy and the fault", herr)
	}
	if _, _, err := l.Checkpoint(t.Context()); !errors.Is(err, ErrUnhealthy) {
		t.Fatalf("Checkpoint on an unhealthy log = %v", err)
	}
}

func TestCheckpointRefusesAFork(t *testing.T) {
	r := newTestRegistry(t, 100)
	l := r.serve(t)
	// While serving, the stored history is rewritten consistently and grows: signing it would
	// sign a fork of what was verified.
	forged := testLeaves(t, 120)
	forged[50] = []byte("forged")
	r.st.mem = mustMemory(t, forged)
	_, _, err := l.Checkpoint(t.Context())
	wantFault(t, err, nil)
	if l.Healthy() == nil {
		t.Fatal("the log is healthy after refusing a fork")
	}
	// Truncation while serving is refused too.
	r2 := newTestRegistry(t, 100)
	l2 := r2.serve(t)
	r2.st.rollBack(90)
	_, _, err = l2.Checkpoint(t.Context())
	wantFault(t, err, ErrRolledBack)
}

func TestVerifyLeaf(t *testing.T) {
	const n = 1000
	leaf := func(r *testRegistry, i int64) []byte {
		b, _ := r.st.mem.Leaf(i)
		return slices.Clone(b)
	}
	t.Run("NotVerified", func(t *testing.T) {
		r := newTestRegistry(t, 10)
		if err := r.log().VerifyLeaf(t.Context(), 1, leaf(r, 1)); !errors.Is(err, ErrNotVerified) {
			t.Fatalf("VerifyLeaf before a check = %v", err)
		}
	})
	t.Run("Honest", func(t *testing.T) {
		r := newTestRegistry(t, n)
		l := r.serve(t)
		for _, i := range []int64{0, 1, 511, 512, n - 1} {
			if err := l.VerifyLeaf(t.Context(), i, leaf(r, i)); err != nil {
				t.Fatalf("VerifyLeaf(%d): %v", i, err)
			}
		}
		// Leaves appended since the check: trust moves along a consistency proof.
		r.st.add(t, 30)
		if err := l.VerifyLeaf(t.Context(), n+29, leaf(r, n+29)); err != nil {
			t.Fatal(err)
		}
		if tr, _ := l.Trusted(); tr.N != n+30 {
			t.Fatalf("trusted tree of %d leaves, want %d", tr.N, n+30)
		}
		if err := l.VerifyLeaf(t.Context(), n+30, leaf(r, 0)); !errors.Is(err, ErrOutOfRange) {
			t.Fatalf("VerifyLeaf beyond the log = %v", err)
		}
		if l.Healthy() != nil {
			t.Fatal(l.Healthy())
		}
	})
	for _, tc := range []struct {
		name   string
		index  int64
		tamper func(t *testing.T, r *testRegistry) []byte // returns the leaf the caller re-derives
	}{
		{"RecordAltered", 7, func(t *testing.T, r *testRegistry) []byte {
			r.st.alter(t, 7)
			return r.st.records[mustParse(t, leaf(r, 7))][7]
		}},
		{"LeafAndRecordAltered", 7, func(t *testing.T, r *testRegistry) []byte {
			forged := []byte(`{"forged":"yes"}`)
			r.st.mem.leaves[7] = forged
			return forged
		}},
		{"LeafRecordAndLevel0HashAltered", 7, func(t *testing.T, r *testRegistry) []byte {
			forged := []byte(`{"forged":"yes"}`)
			r.st.mem.leaves[7] = forged
			r.st.mem.hashes[tlog.StoredHashIndex(0, 7)] = tlog.RecordHash(forged)
			return forged
		}},
		{"SiblingHashAltered", 7, func(t *testing.T, r *testRegistry) []byte {
			r.st.mem.hashes[tlog.StoredHashIndex(2, 0)][0] ^= 1 // leaves 0..3, on leaf 7's path
			return leaf(r, 7)
		}},
		{"WholeHistoryRewrittenAndGrown", n + 10, func(t *testing.T, r *testRegistry) []byte {
			// A consistent rewrite: every hash recomputed. Trust must not move to it.
			forged := testLeaves(t, n+20)
			forged[3] = []byte("forged")
			r.st.mem = mustMemory(t, forged)
			return leaf(r, n+10)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestRegistry(t, n)
			l := r.serve(t)
			want := tc.tamper(t, r)
			wantFault(t, l.VerifyLeaf(t.Context(), tc.index, want), nil)
			if !errors.Is(l.Healthy(), ErrUnhealthy) {
				t.Fatal("a failed VerifyLeaf left the log healthy")
			}
		})
		t.Run(tc.name+"InABatch", func(t *testing.T) {
			r := newTestRegistry(t, n)
			l := r.serve(t)
			indexes := []int64{0, 5, 6, 8, 9, 600}
			var leaves [][]byte
			for _, i := range indexes {
				leaves = append(leaves, leaf(r, i))
			}
			if err := l.VerifyLeaves(t.Context(), indexes, leaves); err != nil {
				t.Fatalf("honest batch: %v", err)
			}
			want := tc.tamper(t, r)
			wantFault(t, l.VerifyLeaves(t.Context(), append(indexes, tc.index), append(leaves, want)), nil)
		})
	}
	t.Run("Concurrent", func(t *testing.T) {
		r := newTestRegistry(t, n)
		l := r.serve(t)
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for i := int64(g); i < n; i += 37 {
					if err := l.VerifyLeaf(t.Context(), i, leaf(r, i)); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Go(func() {
			for range 20 {
				r.st.add(t, 3)
				if _, _, err := l.Checkpoint(t.Context()); err != nil {
					t.Error(err)
					return
				}
			}
		})
		wg.Wait()
	})
}

func mustParse(t *testing.T, leaf []byte) string {
	t.Helper()
	r, err := ParseLeaf(leaf)
	if err != nil {
		t.Fatal(err)
	}
	return r.Kind + " " + r.ID
}

// TestTreeWalkFromTheMiddle checks that a walk started from a size's right edge recomputes the same
// hashes and roots as one from the start, for every start near the page and power-of-two edges.
func TestTreeWalkFromTheMiddle(t *testing.T) {
	const n = 2*AuditPageSize + 77
	m, tree := auditLog(t, n)
	for _, start := range []int64{0, 1, 2, 3, 255, 256, 257, AuditPageSize - 1, AuditPageSize, AuditPageSize + 1, n - 1, n} {
		var roots []tlog.Hash
		var seen []int64
		w := treeWalk{start: start, end: n, at: []int64{start, n}, root: func(k int64, h tlog.Hash) error {
			roots = append(roots, h)
			return nil
		}, leaf: func(i int64, _ []byte) error { seen = append(seen, i); return nil }}
		got, err := w.run(t.Context(), m, m)
		if err != nil {
			t.Fatalf("start %d: %v", start, err)
		}
		want, _ := TreeAt(m, start)
		if got != tree || len(roots) == 0 || roots[0] != want.Hash || roots[len(roots)-1] != tree.Hash {
			t.Fatalf("start %d: tree %v, roots %v", start, got, roots)
		}
		if int64(len(seen)) != n-start || (len(seen) > 0 && seen[0] != start) {
			t.Fatalf("start %d: saw %d leaves from %v", start, len(seen), seen[:min(1, len(seen))])
		}
	}
	// A hash after the start that differs is found; one before it is not the walk's business.
	m.hashes[tlog.StoredHashIndex(0, n-5)][0] ^= 1
	_, err := (&treeWalk{start: AuditPageSize, end: n}).run(t.Context(), m, m)
	wantAuditError(t, err, n-5, tlog.StoredHashIndex(0, n-5))
}
