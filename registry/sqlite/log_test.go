package sqlite_test

import (
	"context"
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
	b := &mixer.Builder{Store: s, Policies: pol}
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
