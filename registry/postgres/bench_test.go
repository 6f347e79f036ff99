package postgres_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/postgres"
)

// BenchmarkInsertBatch measures Store.InsertSamples on a batch of 10,000 new human samples (one
// transaction: sequencer lock, duplicate and provenance checks, rows, log leaves and hashes, ranks)
// against the bare baseline of COPYing the same number of rows into the samples table in one
// transaction, in the same loop. It reports both per sample and their ratio (store/copy).
//
//	PEDIGREE_TEST_POSTGRES_DSN=… go test ./registry/postgres -run '^$' -bench InsertBatch -benchtime 5x
func BenchmarkInsertBatch(b *testing.B) {
	const batch = registry.MaxBatchSamples
	s := MustOpenStore(b)
	ctx := context.Background()
	cols := strings.Split(strings.Join(strings.Fields(sampleColumnList), ""), ",")
	var store, baseline time.Duration
	n := 0
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		raw, fresh := benchSamples(n, batch), benchSamples(n+batch, batch)
		n += 2 * batch
		rows := make([][]any, len(raw))
		for i, smp := range raw {
			rows[i] = postgres.SampleArgs(smp)
		}
		b.StartTimer()

		t0 := time.Now()
		err := pgx.BeginFunc(ctx, s.Pool(), func(tx pgx.Tx) error {
			_, err := tx.CopyFrom(ctx, pgx.Identifier{"samples"}, cols, pgx.CopyFromRows(rows))
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := s.InsertSamples(ctx, registry.InsertSamples{Samples: fresh}); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		baseline += t1.Sub(t0)
		store += t2.Sub(t1)
	}
	done := float64(b.N * batch)
	b.ReportMetric(float64(baseline.Nanoseconds())/done, "copy-ns/sample")
	b.ReportMetric(float64(store.Nanoseconds())/done, "store-ns/sample")
	b.ReportMetric(float64(store)/float64(baseline), "ratio")
}

// sampleColumnList is the samples table's columns in postgres.SampleArgs order.
const sampleColumnList = `id, text, content_sha256, identity_sha256, origin, model_id, model, prompt_id, dataset,
	source_kind, source_name, source_uri, license, metadata, generation, generation_basis,
	tokens, mtld, toxicity, metrics_version, toxicity_scorer, created_at, log_index`

// benchSamples returns n distinct, fully built human samples numbered from first.
func benchSamples(first, n int) []*registry.Sample {
	out := make([]*registry.Sample, n)
	now := time.Now().UTC().Truncate(time.Millisecond)
	tox := 0.0
	for i := range out {
		text := fmt.Sprintf("Benchmark sample number %d, a sentence of ordinary length with a dozen different words.", first+i)
		sum := sha256.Sum256([]byte(text))
		ident := sha256.Sum256(append(sum[:], "human"...))
		out[i] = &registry.Sample{
			ID: uuid.Must(uuid.NewV7()).String(), Text: text, ContentSHA256: hex.EncodeToString(sum[:]),
			IdentitySHA256: hex.EncodeToString(ident[:]), Origin: registry.OriginHuman, Parents: []string{},
			Source: registry.Source{Kind: "other"}, GenerationBasis: registry.BasisHuman, CreatedAt: now,
			Metrics:  registry.Metrics{Tokens: 14, MTLD: 42.5, Toxicity: &tox, Version: "bench", ToxicityScorer: "bench"},
			LogIndex: int64(first + i), // the baseline's rows need some value; the store assigns its own
		}
	}
	return out
}
