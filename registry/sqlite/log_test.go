package sqlite_test

import (
	"context"
	"github.com/pedigreeml/pedigree/internal/baseline"
	"path/filepath"
	"testing"
	"time"

	"github.com/pedigreeml/pedigree/ledger"
	"github.com/pedigreeml/pedigree/registry/sqlite"
	"github.com/pedigreeml/pedigree/registry/storetest"
)

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
	vocab := baseline.Vocabulary(5000)
	for i := 0; i*5000 < n; i++ {
		if _, err := h.Svc.Ingest(ctx, newBatch(baseline.Texts(vocab, "Sample", i, min(5000, n-i*5000), 120)), nil); err != nil {
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
