package postgres_test

import (
	"context"
	"crypto/sha256"
	"github.com/pedigreeml/pedigree/internal/baseline"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pedigreeml/pedigree/metrics"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/postgres"
)

// BenchmarkInsertBatch measures batch ingest through the registry service on PostgreSQL (validation,
// SHA-256, duplicate and provenance checks, metrics, the sequencer lock, rows, log leaves and hashes,
// one transaction) against two bare baselines, alternating the three in one run, batches of 1,000
// samples of about 120 words:
//
//   - minimal: the table a user would write without Pedigree, (id uuid PRIMARY KEY, text,
//     content_sha256 bytea UNIQUE), filled by COPY in one transaction a batch, the id (UUIDv7) and
//     the hash computed in the timed loop;
//   - own schema: the same sample rows the service stored, COPYed into the registry's samples table
//     of a second schema in one transaction (no edges, log or checks).
//
// It reports the three rates and the ratios ingest/minimal and ingest/own_schema (rates: 1.0 means
// ingest costs nothing over the baseline).
//
//	PEDIGREE_TEST_POSTGRES_DSN=… go test ./registry/postgres -run '^$' -bench InsertBatch -benchtime 30x
func BenchmarkInsertBatch(b *testing.B) {
	const size = 1000
	ctx := context.Background()
	s := MustOpenStore(b)
	raw := MustOpenStore(b) // another schema: the same rows must not collide with the service's
	if _, err := raw.Pool().Exec(ctx, `CREATE TABLE minimal_samples (
		id             uuid PRIMARY KEY,
		text           text NOT NULL,
		content_sha256 bytea NOT NULL UNIQUE)`); err != nil {
		b.Fatal(err)
	}
	svc := &registry.Service{Store: s, Scorer: registry.MetricsScorer{Scorer: &metrics.Scorer{}}}
	cols := strings.Split(strings.Join(strings.Fields(sampleColumnList), ""), ",")
	vocab := baseline.Vocabulary(5000)
	var tSvc, tRaw, tMin time.Duration
	i := 0
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		ts := baseline.Texts(vocab, "Sample", i, size, 120)
		batch := make([]registry.NewSample, len(ts))
		for j := range ts {
			batch[j] = registry.NewSample{Text: &ts[j], Origin: registry.OriginHuman, Dataset: "bench",
				Source: &registry.Source{Kind: "public_dataset", Name: "bench", License: "CC-BY-4.0"}}
		}
		var res *registry.InsertedSamples
		steps := []func() error{
			func() error {
				t0 := time.Now()
				var err error
				res, err = svc.Ingest(ctx, batch, nil)
				tSvc += time.Since(t0)
				return err
			},
			func() error {
				rows := make([][]any, len(res.Results))
				for j, r := range res.Results {
					rows[j] = postgres.SampleArgs(r.Sample)
				}
				t0 := time.Now()
				err := pgx.BeginFunc(ctx, raw.Pool(), func(tx pgx.Tx) error {
					_, err := tx.CopyFrom(ctx, pgx.Identifier{"samples"}, cols, pgx.CopyFromRows(rows))
					return err
				})
				tRaw += time.Since(t0)
				return err
			},
			func() error {
				t0 := time.Now()
				rows := make([][]any, len(ts))
				for j, t := range ts {
					sum := sha256.Sum256([]byte(t))
					rows[j] = []any{uuid.Must(uuid.NewV7()), t, sum[:]}
				}
				err := pgx.BeginFunc(ctx, raw.Pool(), func(tx pgx.Tx) error {
					_, err := tx.CopyFrom(ctx, pgx.Identifier{"minimal_samples"}, []string{"id", "text", "content_sha256"}, pgx.CopyFromRows(rows))
					return err
				})
				tMin += time.Since(t0)
				return err
			},
		}
		// The own-schema baseline needs the service's rows, so ingest runs first; the minimal table
		// alternates between before and after it.
		order := []int{0, 1, 2}
		if i%2 == 1 {
			order = []int{2, 0, 1}
		}
		i++
		b.StartTimer()
		for _, k := range order {
			if err := steps[k](); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	n := float64(i * size)
	b.ReportMetric(n/tSvc.Seconds(), "ingest_samples/s")
	b.ReportMetric(n/tRaw.Seconds(), "own_schema_rows/s")
	b.ReportMetric(n/tMin.Seconds(), "minimal_rows/s")
	b.ReportMetric(tMin.Seconds()/tSvc.Seconds(), "ingest/minimal")
	b.ReportMetric(tRaw.Seconds()/tSvc.Seconds(), "ingest/own_schema")
}

// sampleColumnList is the samples table's columns in postgres.SampleArgs order.
const sampleColumnList = `id, text, content_sha256, identity_sha256, origin, model_id, model, prompt_id, dataset,
	source_kind, source_name, source_uri, license, metadata, generation, generation_basis,
	tokens, mtld, toxicity, metrics_version, toxicity_scorer, created_at, log_index`
