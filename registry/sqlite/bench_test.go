package sqlite_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/pedigreeml/pedigree/metrics"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/sqlite"
)

// vocabulary is a deterministic set of word-like strings with a Zipf-like draw, so texts have the
// repetition of real prose.
func vocabulary(n int) []string {
	r := rand.New(rand.NewPCG(1, 2))
	words := make([]string, n)
	for i := range words {
		l := 2 + r.IntN(8)
		b := make([]byte, l)
		for j := range b {
			b[j] = byte('a' + r.IntN(26))
		}
		words[i] = string(b)
	}
	return words
}

// texts returns n texts of about `words` words, unique per (batch, i).
func texts(vocab []string, batch, n, words int) []string {
	r := rand.New(rand.NewPCG(uint64(batch), 7))
	z := rand.NewZipf(r, 1.1, 2, uint64(len(vocab)-1))
	out := make([]string, n)
	var sb strings.Builder
	for i := range out {
		sb.Reset()
		fmt.Fprintf(&sb, "Sample %d of batch %d:", i, batch)
		for w := 0; w < words; w++ {
			sb.WriteByte(' ')
			sb.WriteString(vocab[z.Uint64()])
			if w%15 == 14 {
				sb.WriteByte('.')
			}
		}
		out[i] = sb.String()
	}
	return out
}

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
			minimal := openMinimalTable(b, filepath.Join(b.TempDir(), "minimal.db"))
			svc := &registry.Service{Store: svcStore, Scorer: registry.MetricsScorer{Scorer: &metrics.Scorer{}}}
			vocab := vocabulary(5000)
			var tSvc, tRaw, tMin time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				ts := texts(vocab, i, size, 120)
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
						err := minimal.insert(ctx, ts)
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

// rawInsert is a baseline: one transaction, one prepared INSERT per row, nothing else.
func rawInsert(ctx context.Context, s *sqlite.Store, rows []*registry.Sample) error {
	tx, err := s.DB().BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, sqlite.InsertSQL)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if _, err := stmt.ExecContext(ctx, sqlite.SampleArgs(r)...); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// rawInsertMulti is the own-schema baseline: one transaction, the store's own sample INSERT
// widened to every row of the batch and prepared, nothing else. Should the store's statement stop
// being a plain INSERT … VALUES (…), it falls back to rawInsert's one row a statement.
func rawInsertMulti(ctx context.Context, s *sqlite.Store, rows []*registry.Sample) error {
	query, ok := multiRow(sqlite.InsertSQL, len(rows))
	if !ok {
		return rawInsert(ctx, s, rows)
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

// minimalTable is the bare baseline that matters to a user: the table they would write without
// Pedigree. A UUIDv7 id (the registry's id form) stored as 16 bytes, the text, and the SHA-256 of
// the text, 32 bytes, unique so that a re-sent text is not stored twice. Same pragmas as the registry
// (sqlite.DSN: WAL, synchronous=FULL, busy timeout, IMMEDIATE transactions), one writer connection.
type minimalTable struct {
	db    *sql.DB
	stmts map[int]*sql.Stmt // prepared INSERTs by row count
}

const minimalSchema = `CREATE TABLE samples (
	id             BLOB PRIMARY KEY,
	text           TEXT NOT NULL,
	content_sha256 BLOB NOT NULL UNIQUE
)`

func openMinimalTable(tb testing.TB, path string) *minimalTable {
	tb.Helper()
	db, err := sql.Open("sqlite", sqlite.DSN(path, false))
	if err != nil {
		tb.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	tb.Cleanup(func() { db.Close() })
	if _, err := db.Exec(minimalSchema); err != nil {
		tb.Fatal(err)
	}
	return &minimalTable{db: db, stmts: map[int]*sql.Stmt{}}
}

// insert does what the user's code would: an id and a hash per text, then one prepared multi-row
// INSERT in one transaction, skipping texts already stored.
func (m *minimalTable) insert(ctx context.Context, texts []string) error {
	stmt, ok := m.stmts[len(texts)]
	if !ok {
		row := "(?, ?, ?)"
		q := "INSERT INTO samples (id, text, content_sha256) VALUES " +
			strings.TrimSuffix(strings.Repeat(row+",", len(texts)), ",") + " ON CONFLICT (content_sha256) DO NOTHING"
		var err error
		if stmt, err = m.db.PrepareContext(ctx, q); err != nil {
			return err
		}
		m.stmts[len(texts)] = stmt
	}
	args := make([]any, 0, 3*len(texts))
	for _, t := range texts {
		id := uuid.Must(uuid.NewV7())
		sum := sha256.Sum256([]byte(t))
		args = append(args, id[:], t, sum[:])
	}
	tx, err := m.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.StmtContext(ctx, stmt).ExecContext(ctx, args...); err != nil {
		return err
	}
	return tx.Commit()
}
