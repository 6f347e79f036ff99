package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/pedigreeml/pedigree/ledger"
	"github.com/pedigreeml/pedigree/mixer"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/sqlite"
	"github.com/pedigreeml/pedigree/registry/storetest"
)

// filledLog opens a store with one of every kind of record, and a Log with a signed checkpoint.
func filledLog(t *testing.T) (string, *sqlite.Store, *ledger.Log) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "registry.db")
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	h := storetest.NewHarness(t, s)
	m := h.Model("logged", 0)
	prompt := storetest.Human(storetest.Text("prompt"))
	prompt.Metadata = []byte(`{"lang":"en"}`)
	p := h.One(prompt)
	h.One(storetest.ModelOutput(storetest.Text("answer"), m, p.ID))
	_, k, err := h.Svc.CreateKey(h.Ctx, registry.RoleIngest)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevokeKey(h.Ctx, k.ID, k.CreatedAt); err != nil {
		t.Fatal(err)
	}
	pol := mixer.NewPolicies(s)
	if _, _, err := pol.Put(h.Ctx, "open", "package pedigree.mix\n\nlimits := {}\n"); err != nil {
		t.Fatal(err)
	}
	b := &mixer.Builder{Store: struct{ storetest.FullStore }{s}, Policies: pol}
	if _, err := b.Build(h.Ctx, registry.MixRequest{Policy: "open", Size: 5}, false, nil); err != nil {
		t.Fatal(err)
	}
	signer, _, vkey, err := ledger.LoadOrCreateKey(dir, "pedigree-test")
	if err != nil {
		t.Fatal(err)
	}
	l := ledger.NewLog(s, signer, vkey)
	if _, _, err := l.Checkpoint(h.Ctx); err != nil {
		t.Fatal(err)
	}
	return path, s, l
}

func TestSelfCheck(t *testing.T) {
	ctx := context.Background()
	t.Run("Honest", func(t *testing.T) {
		_, s, l := filledLog(t)
		defer s.Close()
		tree, err := l.SelfCheck(ctx, s.RecordLeaves)
		if err != nil {
			t.Fatal(err)
		}
		if tree.N < 8 {
			t.Fatalf("log of %d leaves; want every record", tree.N)
		}
	})
	for _, tc := range []struct {
		name, sql string
	}{
		{"EditedText", "UPDATE samples SET text = 'rewritten' WHERE origin = 'human'"},
		{"RelabelledOrigin", "UPDATE samples SET generation = 0, generation_basis = 'human' WHERE origin = 'model'"},
		{"ChangedContentHashAndText", "UPDATE samples SET text = 'x', content_sha256 = '2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881' WHERE origin = 'human'"},
		{"ChangedModel", "UPDATE models SET generation = 5"},
		{"ChangedMetadata", "UPDATE samples SET metadata = '{\"lang\":\"fr\"}' WHERE metadata IS NOT NULL"},
		{"UnrevokedKey", "UPDATE api_keys SET revoked_at = NULL, revoked_log_index = NULL"},
		{"ChangedPolicy", "UPDATE policy_versions SET limits = '{\"max_generation\":9}'"},
		{"ChangedDecision", "UPDATE decisions SET allowed = 0"},
		{"ChangedManifestHash", "UPDATE mixes SET manifest_sha256 = 'ff'"},
		{"ChangedLeaf", "UPDATE log_leaves SET leaf = CAST('{}' AS BLOB) WHERE idx = 2"},
		{"ChangedHash", "UPDATE log_hashes SET hash = zeroblob(32) WHERE idx = 3"},
		{"DeletedRecordAndItsLeaves", "DELETE FROM api_keys"},
		{"TruncatedLog", "DELETE FROM log_leaves WHERE idx = (SELECT max(idx) FROM log_leaves)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, s, _ := filledLog(t)
			if _, err := s.DB().ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.DB().ExecContext(ctx, tc.sql); err != nil {
				t.Fatal(err)
			}
			s.Close()
			s, err := sqlite.Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			signer, _, vkey, err := ledger.LoadOrCreateKey(filepath.Dir(path), "pedigree-test")
			if err != nil {
				t.Fatal(err)
			}
			_, err = ledger.NewLog(s, signer, vkey).SelfCheck(ctx, s.RecordLeaves)
			var ae *ledger.AuditError
			if !errors.As(err, &ae) {
				t.Fatalf("self-check after %q: %v; want an audit error", tc.sql, err)
			}
		})
	}
}

// TestConcurrentWritersKeepTheLogComplete ingests batches while mixes are built, then checks that
// every record has its leaf, every leaf its record, and the tree verifies.
func TestConcurrentWritersKeepTheLogComplete(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, filepath.Join(dir, "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h := storetest.NewHarness(t, s)
	pol := mixer.NewPolicies(s)
	if _, _, err := pol.Put(ctx, "open", "package pedigree.mix\n\nlimits := {}\n"); err != nil {
		t.Fatal(err)
	}
	h.Ingest(storetest.Human(storetest.Text("seed")))
	b := &mixer.Builder{Store: struct{ storetest.FullStore }{s}, Policies: pol}
	errc := make(chan error, 2)
	go func() {
		for i := range 20 {
			batch := make([]registry.NewSample, 50)
			for j := range batch {
				batch[j] = storetest.Human(storetest.Text(fmt.Sprint("concurrent ", i, " ", j)))
			}
			if _, err := h.Svc.Ingest(ctx, batch, nil); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	go func() {
		for i := range 20 {
			if _, err := b.Build(ctx, registry.MixRequest{Policy: "open", Size: 100, Seed: int64(i)}, false, nil); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	for range 2 {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	signer, _, vkey, err := ledger.LoadOrCreateKey(dir, "pedigree-test")
	if err != nil {
		t.Fatal(err)
	}
	tree, err := ledger.NewLog(s, signer, vkey).SelfCheck(ctx, s.RecordLeaves)
	if err != nil {
		t.Fatal(err)
	}
	// 1 policy + 1001 samples + 20 decisions + 20 mixes.
	if tree.N != 1+1001+20+20 {
		t.Fatalf("log of %d leaves, want %d", tree.N, 1+1001+20+20)
	}
}

// BenchmarkSelfCheck measures the start-up check of a registry of PEDIGREE_BENCH_POOL samples
// (default 200,000) ingested through the service: every stored hash recomputed, every record's leaf
// re-derived and every text re-hashed. It reports seconds per check and microseconds per sample.
func BenchmarkSelfCheck(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	s, err := sqlite.Open(ctx, filepath.Join(dir, "registry.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	h := storetest.NewHarness(b, s)
	n := benchPool()
	vocab := vocabulary(5000)
	for i := 0; i*5000 < n; i++ {
		if _, err := h.Svc.Ingest(ctx, newBatch(texts(vocab, i, min(5000, n-i*5000), 120)), nil); err != nil {
			b.Fatal(err)
		}
	}
	signer, _, vkey, err := ledger.LoadOrCreateKey(dir, "pedigree-bench")
	if err != nil {
		b.Fatal(err)
	}
	l := ledger.NewLog(s, signer, vkey)
	if _, _, err := l.Checkpoint(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := l.SelfCheck(ctx, s.RecordLeaves); err != nil {
			b.Fatal(err)
		}
	}
	per := time.Since(start) / time.Duration(b.N)
	b.ReportMetric(per.Seconds(), "s/check")
	b.ReportMetric(float64(per.Microseconds())/float64(n), "µs/sample")
}
