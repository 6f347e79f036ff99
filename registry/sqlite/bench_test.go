package sqlite_test

import (
	"context"
	"fmt"
	"github.com/pedigreeml/pedigree/internal/baseline"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pedigreeml/pedigree/metrics"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/sqlite"
)

func newBatch(ts []string) []registry.NewSample {
	out := make([]registry.NewSample, len(ts))
	for i := range ts {
		t := ts[i]
		out[i] = registry.NewSample{Text: &t, Origin: registry.OriginHuman, Dataset: "bench",
			Source: &registry.Source{Kind: "public_dataset", Name: "bench", License: "CC-BY-4.0"}}
	}
	return out
}

// BenchmarkIngestVsRaw measures batch ingest through the registry service (validation, hashing,
// duplicate and provenance checks, metrics on both cores, best-of-k ranks, log leaves and hashes, one
// transaction) against two bare baselines, alternating the three in one run, each in its own
// database file with the registry's pragmas (WAL, synchronous=FULL):
//
//   - minimal: the table a user would write without Pedigree (see minimalTable): a UUIDv7 id, the
//     text and a unique SHA-256, computed and inserted by one prepared 1,000-row INSERT a batch;
//   - own schema: the same sample rows the service stored, inserted into the registry's own samples
//     table by one prepared multi-row INSERT a batch (no edges, log or checks).
//
// It reports the three rates and the ratios ingest/minimal and ingest/own_schema (rates, so 1.0 means
// ingest costs nothing over the baseline; the target is ingest/minimal ≥ 0.5).
func BenchmarkIngestVsRaw(b *testing.B) {
	for _, size := range []int{1000} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			ctx := context.Background()
			svcStore := MustOpenStore(b)
			rawStore := MustOpenStore(b)
			minimal, err := baseline.OpenMinimal(ctx, filepath.Join(b.TempDir(), "minimal.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer minimal.Close()
			svc := &registry.Service{Store: svcStore, Scorer: registry.MetricsScorer{Scorer: &metrics.Scorer{}}}
			vocab := baseline.Vocabulary(5000)
			var tSvc, tRaw, tMin time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				ts := baseline.Texts(vocab, "Sample", i, size, 120)
				batch := newBatch(ts)
				var res *registry.InsertedSamples
				steps := []func() error{
					func() error {
						start := time.Now()
						var err error
						res, err = svc.Ingest(ctx, batch, nil)
						tSvc += time.Since(start)
						return err
					},
					func() error {
						// The same rows the service stored, into a separate database of the same schema.
						rows := make([]*registry.Sample, len(res.Results))
						for j, r := range res.Results {
							rows[j] = r.Sample
						}
						start := time.Now()
						err := rawInsertMulti(ctx, rawStore, rows)
						tRaw += time.Since(start)
						return err
					},
					func() error {
						start := time.Now()
						err := minimal.Insert(ctx, ts)
						tMin += time.Since(start)
						return err
					},
				}
				// The raw baseline needs the service's rows, so ingest always runs first; the minimal
				// table alternates between before and after it, so that neither side always meets a
				// WAL checkpoint the other one started.
				order := []int{0, 1, 2}
				if i%2 == 1 {
					order = []int{2, 0, 1}
				}
				b.StartTimer()
				for _, k := range order {
					if err := steps[k](); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.StopTimer()
			n := float64(b.N * size)
			b.ReportMetric(n/tSvc.Seconds(), "ingest_samples/s")
			b.ReportMetric(n/tRaw.Seconds(), "own_schema_rows/s")
			b.ReportMetric(n/tMin.Seconds(), "minimal_rows/s")
			b.ReportMetric(tMin.Seconds()/tSvc.Seconds(), "ingest/minimal")
			b.ReportMetric(tRaw.Seconds()/tSvc.Seconds(), "ingest/own_schema")
		})
	}
}

// rawInsertMulti is the own-schema baseline: one transaction, the store's own sample INSERT
// widened to every row of the batch and prepared, nothing else. Should the store's statement stop
// being a plain INSERT … VALUES (…), it falls back to rawInsert's one row a statement.
func rawInsertMulti(ctx context.Context, s *sqlite.Store, rows []*registry.Sample) error {
	query, ok := multiRow(sqlite.InsertSQL, len(rows))
	if !ok {
		return baseline.InsertSampleRows(ctx, s, rows)
	}
	tx, err := s.DB().BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	args := make([]any, 0, len(rows)*24)
	for _, r := range rows {
		args = append(args, sqlite.SampleArgs(r)...)
	}
	stmt, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return err
	}
	if _, err := stmt.ExecContext(ctx, args...); err != nil {
		return err
	}
	return tx.Commit()
}

// multiRow widens a one-row "INSERT … VALUES (…)" to n rows, or reports that it cannot.
func multiRow(insert string, n int) (string, bool) {
	i := strings.LastIndex(insert, "VALUES")
	if i < 0 {
		return "", false
	}
	tuple := strings.TrimSpace(insert[i+len("VALUES"):])
	if !strings.HasPrefix(tuple, "(") || strings.Index(tuple, ")") != len(tuple)-1 {
		return "", false
	}
	return insert[:i] + "VALUES " + strings.TrimSuffix(strings.Repeat(tuple+",", n), ","), true
}
