package postgres_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pedigreeml/pedigree/internal/baseline"
	"github.com/pedigreeml/pedigree/metrics"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/postgres"
	"github.com/pedigreeml/pedigree/registry/sqlstore"
)

// BenchmarkInsertBatch measures batch ingest through the registry service on PostgreSQL (validation,
// SHA-256, duplicate and provenance checks, metrics, the sequencer lock, rows, log leaves and hashes,
// one transaction), with the store's bulk rows sent by COPY (the default) and by INSERT … unnest
// (postgres.Options.NoCopy), against two bare baselines, rotating the four in one run, batches of
// 1,000 samples of about 120 words, each in a schema of its own:
//
//   - minimal: the table a user would write without Pedigree, (id uuid PRIMARY KEY, text,
//     content_sha256 bytea UNIQUE), filled by COPY in one transaction a batch, the id (UUIDv7) and
//     the hash computed in the timed loop;
//   - own schema: the sample rows the COPY store wrote, COPYed into the registry's samples table of
//     another schema in one transaction (no edges, log or checks).
//
// It reports the four rates and their ratios (of rates: 1.0 means as fast as the baseline), and
// for each store the time of its write transaction a batch (Store.Write, from the sequencer's lock
// to the commit: the part of a batch that no other writer, in this process or another, can overlap)
// with the ingest rate that it alone would allow.
//
//	PEDIGREE_TEST_POSTGRES_DSN=… go test ./registry/postgres -run '^$' -bench InsertBatch -benchtime 30x
func BenchmarkInsertBatch(b *testing.B) {
	const size = 1000
	ctx := context.Background()
	sCopy := MustOpenStore(b)
	sUnnest := openNoCopy(b)
	raw := MustOpenStore(b) // another schema: the same rows must not collide with the service's
	if _, err := raw.Pool().Exec(ctx, `CREATE TABLE minimal_samples (
		id             uuid PRIMARY KEY,
		text           text NOT NULL,
		content_sha256 bytea NOT NULL UNIQUE)`); err != nil {
		b.Fatal(err)
	}
	scorer := registry.MetricsScorer{Scorer: &metrics.Scorer{}}
	var wCopy, wUnnest time.Duration
	svcCopy := &registry.Service{Store: timedWrites{sCopy, &wCopy}, Scorer: scorer}
	svcUnnest := &registry.Service{Store: timedWrites{sUnnest, &wUnnest}, Scorer: scorer}
	cols := sqlstore.SampleColumns()
	vocab := baseline.Vocabulary(5000)
	var tCopy, tUnnest, tRaw, tMin time.Duration
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
		ingest := func(svc *registry.Service, t *time.Duration) (*registry.InsertedSamples, error) {
			t0 := time.Now()
			res, err := svc.Ingest(ctx, batch, nil)
			*t += time.Since(t0)
			return res, err
		}
		steps := []func() error{
			func() error { // COPY store, then its rows raw into the own-schema baseline
				res, err := ingest(svcCopy, &tCopy)
				if err != nil {
					return err
				}
				rows := make([][]any, len(res.Results))
				for j, r := range res.Results {
					rows[j] = postgres.SampleArgs(r.Sample)
				}
				t0 := time.Now()
				err = pgx.BeginFunc(ctx, raw.Pool(), func(tx pgx.Tx) error {
					_, err := tx.CopyFrom(ctx, pgx.Identifier{"samples"}, cols, pgx.CopyFromRows(rows))
					return err
				})
				tRaw += time.Since(t0)
				return err
			},
			func() error {
				_, err := ingest(svcUnnest, &tUnnest)
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
		// The order rotates, so that a slow spell of the machine falls on each in turn.
		first := i % len(steps)
		i++
		b.StartTimer()
		for k := range steps {
			if err := steps[(first+k)%len(steps)](); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	n := float64(i * size)
	b.ReportMetric(n/tCopy.Seconds(), "copy_samples/s")
	b.ReportMetric(n/tUnnest.Seconds(), "unnest_samples/s")
	b.ReportMetric(n/tRaw.Seconds(), "own_schema_rows/s")
	b.ReportMetric(n/tMin.Seconds(), "minimal_rows/s")
	b.ReportMetric(tUnnest.Seconds()/tCopy.Seconds(), "copy/unnest")
	b.ReportMetric(tMin.Seconds()/tCopy.Seconds(), "copy/minimal")
	b.ReportMetric(tMin.Seconds()/tUnnest.Seconds(), "unnest/minimal")
	b.ReportMetric(tRaw.Seconds()/tCopy.Seconds(), "copy/own_schema")
	b.ReportMetric(wCopy.Seconds()*1000/float64(i), "copy_write_ms/batch")
	b.ReportMetric(wUnnest.Seconds()*1000/float64(i), "unnest_write_ms/batch")
	b.ReportMetric(n/wCopy.Seconds(), "copy_sequencer_samples/s")
	b.ReportMetric(n/wUnnest.Seconds(), "unnest_sequencer_samples/s")
}

// timedWrites adds the time of each write transaction to *d.
type timedWrites struct {
	registry.Store
	d *time.Duration
}

func (s timedWrites) Write(ctx context.Context, fn func(registry.Tx) error) error {
	t0 := time.Now()
	err := s.Store.Write(ctx, fn)
	*s.d += time.Since(t0)
	return err
}

// BenchmarkCopyThreshold inserts n rows of the log's leaves (idx, kind, record_id, a 200-byte leaf)
// into a table of that shape, inside one open transaction, by COPY and by INSERT … SELECT FROM
// unnest: where COPY starts to pay, which sets sqlstore's copyMinRows.
//
//	PEDIGREE_TEST_POSTGRES_DSN=… go test ./registry/postgres -run '^$' -bench CopyThreshold -benchtime 1000x -count 2
func BenchmarkCopyThreshold(b *testing.B) {
	ctx := context.Background()
	s := MustOpenStore(b)
	if _, err := s.Pool().Exec(ctx, `CREATE TABLE leaves_copy (idx bigint PRIMARY KEY, kind text, record_id text, leaf bytea)`); err != nil {
		b.Fatal(err)
	}
	cols := []string{"idx", "kind", "record_id", "leaf"}
	const id = "0190c0de-0000-7000-8000-000000000000"
	next := int64(0)
	for _, n := range []int{16, 64, 128, 192} {
		for _, mode := range []string{"copy", "unnest"} {
			b.Run(fmt.Sprintf("%s/%d", mode, n), func(b *testing.B) {
				conn, err := s.Pool().Acquire(ctx)
				if err != nil {
					b.Fatal(err)
				}
				defer conn.Release()
				tx, err := conn.Begin(ctx)
				if err != nil {
					b.Fatal(err)
				}
				defer tx.Rollback(ctx)
				for b.Loop() {
					rows := make([][]any, n)
					idx, kinds, ids, leaves := make([]int64, n), make([]string, n), make([]string, n), make([][]byte, n)
					for i := range rows {
						leaf := make([]byte, 200)
						rows[i] = []any{next, "sample", id, leaf}
						idx[i], kinds[i], ids[i], leaves[i] = next, "sample", id, leaf
						next++
					}
					if mode == "copy" {
						_, err = tx.CopyFrom(ctx, pgx.Identifier{"leaves_copy"}, cols, pgx.CopyFromRows(rows))
					} else {
						_, err = tx.Exec(ctx, "INSERT INTO leaves_copy (idx, kind, record_id, leaf) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bytea[])",
							idx, kinds, ids, leaves)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
