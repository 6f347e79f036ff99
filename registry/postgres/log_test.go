package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/pedigreeml/pedigree/ledger"
	"github.com/pedigreeml/pedigree/mixer"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/postgres"
	"github.com/pedigreeml/pedigree/registry/storetest"
)

const openPolicy = "package pedigree.mix\n\nlimits := {}\n"

// filledLogRecords is the number of leaves filledLog writes.
const filledLogRecords = 10

// filledLog opens a store on a new schema with one of every kind of record (a prompt, a model's
// answer to it, a sample with a parent, a created and revoked key, a policy, a decision and its mix,
// and a model trained on the mix), and signs a checkpoint of its log. It returns the schema's DSN
// and the directory of the log's signing key.
func filledLog(t *testing.T) (dsn, keyDir string, s *postgres.Store, l *ledger.Log) {
	t.Helper()
	dsn, keyDir = NewSchema(t), t.TempDir()
	s = MustOpen(t, dsn)
	h := storetest.NewHarness(t, s)
	m := h.Model("logged", 0)
	p := h.One(storetest.Human(storetest.Text("prompt")))
	h.One(storetest.ModelOutput(storetest.Text("answer"), m, p.ID))
	h.One(storetest.Human(storetest.Text("derived"), p.ID))
	_, k, err := h.Svc.CreateKey(h.Ctx, registry.RoleIngest)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevokeKey(h.Ctx, k.ID, k.CreatedAt); err != nil {
		t.Fatal(err)
	}
	pol := mixer.NewPolicies(s)
	if _, _, err := pol.Put(h.Ctx, "open", openPolicy); err != nil {
		t.Fatal(err)
	}
	b := &mixer.Builder{Store: s, Policies: pol}
	res, err := b.Build(h.Ctx, registry.MixRequest{Policy: "open", Size: 3}, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Mix == nil {
		t.Fatalf("the open policy refused the mix: %+v", res.Decision)
	}
	if _, err := h.Svc.CreateModel(h.Ctx, &registry.NewModel{Name: "tuned", Version: "1", TrainedOn: []string{res.Mix.ID}}, nil); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, s, keyDir)
	if _, _, err := l.Checkpoint(h.Ctx); err != nil {
		t.Fatal(err)
	}
	return dsn, keyDir, s, l
}

// openLog returns a Log over s signed with the key in keyDir, creating the key the first time.
func openLog(t *testing.T, s *postgres.Store, keyDir string) *ledger.Log {
	t.Helper()
	signer, _, vkey, err := ledger.LoadOrCreateKey(keyDir, "pedigree-test")
	if err != nil {
		t.Fatal(err)
	}
	return ledger.NewLog(s, signer, vkey)
}

func TestLogStorage(t *testing.T) {
	ctx := context.Background()
	t.Run("Empty", func(t *testing.T) {
		s := MustOpenStore(t)
		if n, err := s.LogSize(ctx); err != nil || n != 0 {
			t.Fatalf("LogSize = %d, %v; want 0", n, err)
		}
		if note, err := s.LatestCheckpoint(ctx); err != nil || note != nil {
			t.Fatalf("LatestCheckpoint = %q, %v; want none", note, err)
		}
		if got, err := s.ReadLogLeaves(ctx, 0, 10); err != nil || len(got) != 0 {
			t.Fatalf("ReadLogLeaves = %d leaves, %v; want none", len(got), err)
		}
	})
	_, _, s, l := filledLog(t)
	t.Run("Leaves", func(t *testing.T) {
		all, err := s.ReadLogLeaves(ctx, 0, 100)
		if err != nil || len(all) != filledLogRecords {
			t.Fatalf("ReadLogLeaves(0, 100) = %d leaves, %v; want %d", len(all), err, filledLogRecords)
		}
		page, err := s.ReadLogLeaves(ctx, 4, 3)
		if err != nil || len(page) != 3 || !bytes.Equal(page[0], all[4]) || !bytes.Equal(page[2], all[6]) {
			t.Fatalf("ReadLogLeaves(4, 3) = %d leaves, %v; want leaves 4 to 6", len(page), err)
		}
		at, err := s.ReadLogLeavesAt(ctx, []int64{7, filledLogRecords, 1})
		if err != nil || len(at) != 3 || !bytes.Equal(at[0], all[7]) || at[1] != nil || !bytes.Equal(at[2], all[1]) {
			t.Fatalf("ReadLogLeavesAt(7, %d, 1) = %q, %v; want leaf 7, nil, leaf 1", filledLogRecords, at, err)
		}
		var mem ledger.MemoryHashes
		for _, leaf := range all {
			if _, err := mem.Append(leaf); err != nil {
				t.Fatal(err)
			}
		}
		idx := []int64{0, 1, 2, tlog.StoredHashCount(filledLogRecords) - 1}
		got, err := s.ReadLogHashes(ctx, idx)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := mem.ReadHashes(idx)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("ReadLogHashes(%v) = %v; want %v", idx, got, want)
		}
	})
	t.Run("GapIsAnAuditError", func(t *testing.T) {
		_, _, s, _ := filledLog(t)
		if _, err := s.Pool().Exec(ctx, "DELETE FROM log_leaves WHERE idx = 5"); err != nil {
			t.Fatal(err)
		}
		var ae *ledger.AuditError
		if got, err := s.ReadLogLeaves(ctx, 3, 4); !errors.As(err, &ae) || ae.Leaf != 5 {
			t.Fatalf("ReadLogLeaves over a missing leaf = %d leaves, %v; want an audit error at leaf 5", len(got), err)
		}
		if got, err := s.ReadLogLeaves(ctx, 5, 1); !errors.As(err, &ae) {
			t.Fatalf("ReadLogLeaves of a missing leaf = %d leaves, %v; want an audit error, not the next leaf", len(got), err)
		}
	})
	t.Run("CheckpointOfASizeIsKept", func(t *testing.T) {
		first, tree, err := l.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SaveCheckpoint(ctx, tree, []byte("another note")); err != nil {
			t.Fatal(err)
		}
		got, err := s.LatestCheckpoint(ctx)
		if err != nil || !bytes.Equal(got, first) {
			t.Fatalf("LatestCheckpoint = %q, %v; want the first note of size %d", got, err, tree.N)
		}
		if err := s.SaveCheckpoint(ctx, tlog.Tree{N: tree.N - 1, Hash: tree.Hash}, []byte("smaller")); err != nil {
			t.Fatal(err)
		}
		if got, err := s.LatestCheckpoint(ctx); err != nil || !bytes.Equal(got, first) {
			t.Fatalf("LatestCheckpoint = %q, %v; want the largest", got, err)
		}
	})
}

// TestConcurrentWritersKeepTheLogComplete ingests batches on one instance while another builds mixes
// on the same schema, then checks that the log holds exactly the records at indexes 0..N-1 and that
// the self-check passes: every record has its leaf, every leaf its record, and the tree verifies.
func TestConcurrentWritersKeepTheLogComplete(t *testing.T) {
	ctx := context.Background()
	dsn := NewSchema(t)
	ingester, builder := MustOpen(t, dsn), MustOpen(t, dsn)
	h := storetest.NewHarness(t, ingester)
	pol := mixer.NewPolicies(builder)
	pv, _, err := pol.Put(ctx, "open", openPolicy)
	if err != nil {
		t.Fatal(err)
	}
	indexes := []int64{pv.LogIndex}
	indexes = append(indexes, h.Ingest(storetest.Human(storetest.Text("seed")))[0].Sample.LogIndex)
	b := &mixer.Builder{Store: builder, Policies: pol}

	const mixes, minBatches, perBatch = 25, 20, 50
	var mixesDone atomic.Bool
	type outcome struct {
		indexes []int64
		err     error
	}
	ingested, built := make(chan outcome, 1), make(chan outcome, 1)
	go func() { // until the mixes are built, and at least minBatches batches
		var out outcome
		defer func() { ingested <- out }()
		for i := 0; i < minBatches || !mixesDone.Load(); i++ {
			batch := make([]registry.NewSample, perBatch)
			for j := range batch {
				batch[j] = storetest.Human(storetest.Text(fmt.Sprint("concurrent ", i, " ", j)))
			}
			res, err := h.Svc.Ingest(ctx, batch, nil)
			if err != nil {
				out.err = err
				return
			}
			for _, r := range res.Results {
				if r.Duplicate {
					out.err = fmt.Errorf("batch %d: sample %s reported as a duplicate", i, r.Sample.ID)
					return
				}
				out.indexes = append(out.indexes, r.Sample.LogIndex)
			}
		}
	}()
	go func() {
		var out outcome
		defer func() { mixesDone.Store(true); built <- out }()
		for i := range mixes {
			res, err := b.Build(ctx, registry.MixRequest{Policy: "open", Size: 100, Seed: int64(i)}, false, nil)
			if err != nil {
				out.err = err
				return
			}
			out.indexes = append(out.indexes, res.Decision.LogIndex)
			if res.Mix != nil {
				out.indexes = append(out.indexes, res.Mix.LogIndex)
			}
		}
	}()
	for _, c := range []chan outcome{ingested, built} {
		out := <-c
		if out.err != nil {
			t.Fatal(out.err)
		}
		indexes = append(indexes, out.indexes...)
	}
	wantGapless(t, builder, indexes)

	keyDir := t.TempDir()
	for _, s := range []*postgres.Store{ingester, builder} {
		tree, err := openLog(t, s, keyDir).SelfCheck(ctx, s.RecordLeaves)
		if err != nil {
			t.Fatal(err)
		}
		if tree.N != int64(len(indexes)) {
			t.Fatalf("self-check verified a log of %d leaves, want %d", tree.N, len(indexes))
		}
	}
}
