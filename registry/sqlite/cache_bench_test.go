package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/pedigreeml/pedigree/internal/baseline"
	"github.com/pedigreeml/pedigree/metrics"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/sqlite"
)

// BenchmarkWriterCache fills two registries in process, through the service's batch path (batches
// of 10,000, half human and half model output, so that the near-duplicate index is written and
// probed), one with SQLite's default page cache on the writer (2 MiB) and one with 256 MiB,
// alternating batches between them in one run, to PEDIGREE_BENCH_POOL
// samples each (default 200,000). It reports the rates over the batches that reach into the last
// tenth of the fill, where the indexes are largest, and their ratio.
func BenchmarkWriterCache(b *testing.B) {
	ctx := context.Background()
	n := benchPool()
	type target struct {
		name    string
		svc     *registry.Service
		model   string
		elapsed time.Duration // over the last tenth
	}
	var targets []*target
	for _, kib := range []int{0, 256 << 10} {
		st, err := sqlite.OpenWith(ctx, filepath.Join(b.TempDir(), "registry.db"), sqlite.Options{WriterCacheKiB: kib})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		svc := &registry.Service{Store: st, Scorer: registry.MetricsScorer{Scorer: &metrics.Scorer{}}}
		m, err := svc.CreateModel(ctx, &registry.NewModel{Name: "teacher", Version: "1", DeclaredGeneration: new(int)}, nil)
		if err != nil {
			b.Fatal(err)
		}
		name := "cache_default"
		if kib > 0 {
			name = fmt.Sprintf("cache_%dKiB", kib)
		}
		targets = append(targets, &target{name: name, svc: svc, model: m.Ref()})
	}
	vocab := baseline.Vocabulary(4000)
	const batch = 10_000
	timed := 0 // samples a target ingested in the last tenth
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for done := 0; done < n; done += batch {
			texts := baseline.Texts(vocab, "Cache sample", done/batch, min(batch, n-done), 120)
			if done+batch > n-n/10 {
				timed += len(texts)
			}
			for _, t := range targets {
				in := newBatch(texts)
				for j := 1; j < len(in); j += 2 {
					in[j].Origin, in[j].Model, in[j].Source = registry.OriginModel, t.model, nil
				}
				start := time.Now()
				if _, err := t.svc.Ingest(ctx, in, nil); err != nil {
					b.Fatal(err)
				}
				if done+batch > n-n/10 {
					t.elapsed += time.Since(start)
				}
			}
		}
	}
	b.StopTimer()
	for _, t := range targets {
		b.ReportMetric(float64(timed)/t.elapsed.Seconds(), t.name+"_samples/s")
	}
	b.ReportMetric(targets[0].elapsed.Seconds()/targets[1].elapsed.Seconds(), "speedup")
}
