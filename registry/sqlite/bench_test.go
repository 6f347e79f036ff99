package sqlite_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

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
// transaction) against raw inserts of the same sample rows into the same schema with the same pragmas,
// alternating the two in one run. It reports both rates and raw/service time as "ratio" (1.0 means
// ingest costs nothing over the bare inserts).
func BenchmarkIngestVsRaw(b *testing.B) {
	for _, size := range []int{1000} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			ctx := context.Background()
			svcStore := MustOpenStore(b)
			rawStore := MustOpenStore(b)
			svc := &registry.Service{Store: svcStore, Scorer: registry.MetricsScorer{Scorer: &metrics.Scorer{}}}
			vocab := vocabulary(5000)
			var tSvc, tRaw time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				batch := newBatch(texts(vocab, i, size, 120))
				b.StartTimer()
				start := time.Now()
				res, err := svc.Ingest(ctx, batch, nil)
				if err != nil {
					b.Fatal(err)
				}
				tSvc += time.Since(start)

				b.StopTimer()
				rows := make([]*registry.Sample, len(res.Results))
				for j, r := range res.Results {
					cp := *r.Sample
					cp.ID += "" // same row, but it must not collide with the service store's: separate database
					rows[j] = &cp
				}
				b.StartTimer()
				start = time.Now()
				if err := rawInsert(ctx, rawStore, rows); err != nil {
					b.Fatal(err)
				}
				tRaw += time.Since(start)
			}
			n := float64(b.N * size)
			b.ReportMetric(n/tSvc.Seconds(), "ingest_samples/s")
			b.ReportMetric(n/tRaw.Seconds(), "raw_samples/s")
			b.ReportMetric(tRaw.Seconds()/tSvc.Seconds(), "ratio")
		})
	}
}

// rawInsert is the baseline: one transaction, one prepared INSERT per row, nothing else.
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
