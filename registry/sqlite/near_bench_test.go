package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/pedigreeml/pedigree/internal/baseline"
	"github.com/pedigreeml/pedigree/metrics"
	"github.com/pedigreeml/pedigree/registry"
)

// BenchmarkNearDuplicateIndex measures what the laundering check costs where it writes: model
// output, whose band keys are indexed, against human text, which only probes the index, ingested in
// alternating batches into one registry, in the same run. It reports both rates, their ratio, and
// the bytes the index (sample_bands) and the normalized-key index (samples_model_norm) take per
// model sample, read from SQLite's dbstat.
func BenchmarkNearDuplicateIndex(b *testing.B) {
	ctx := context.Background()
	st := MustOpenStore(b)
	svc := &registry.Service{Store: st, Scorer: registry.MetricsScorer{Scorer: &metrics.Scorer{}}}
	m, err := svc.CreateModel(ctx, &registry.NewModel{Name: "teacher", Version: "1", DeclaredGeneration: new(int)}, nil)
	if err != nil {
		b.Fatal(err)
	}
	vocab := baseline.Vocabulary(5000)
	var tModel, tHuman time.Duration
	models := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		humans := newBatch(baseline.Texts(vocab, "Human", 2*i, 1000, 120))
		outputs := newBatch(baseline.Texts(vocab, "Model", 2*i+1, 1000, 120))
		for j := range outputs {
			outputs[j].Origin, outputs[j].Model, outputs[j].Source = registry.OriginModel, m.Ref(), nil
		}
		b.StartTimer()
		start := time.Now()
		if _, err := svc.Ingest(ctx, outputs, nil); err != nil {
			b.Fatal(err)
		}
		tModel += time.Since(start)
		models += len(outputs)
		start = time.Now()
		if _, err := svc.Ingest(ctx, humans, nil); err != nil {
			b.Fatal(err)
		}
		tHuman += time.Since(start)
	}
	b.StopTimer()
	b.ReportMetric(float64(models)/tModel.Seconds(), "model_samples/s")
	b.ReportMetric(float64(models)/tHuman.Seconds(), "human_samples/s")
	b.ReportMetric(tHuman.Seconds()/tModel.Seconds(), "model/human")
	for _, name := range []string{"sample_bands", "samples_model_norm"} {
		var bytes int64
		if err := st.DB().QueryRowContext(ctx, "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name = ?", name).Scan(&bytes); err != nil {
			b.Fatalf("dbstat: %v", err)
		}
		b.ReportMetric(float64(bytes)/float64(models), name+"_B/model_sample")
	}
}
