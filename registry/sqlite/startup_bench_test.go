package sqlite_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"github.com/pedigreeml/pedigree/internal/baseline"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pedigreeml/pedigree/ledger"
	"github.com/pedigreeml/pedigree/registry/leaves"
	"github.com/pedigreeml/pedigree/registry/sqlite"
	"github.com/pedigreeml/pedigree/registry/storetest"
	"golang.org/x/mod/sumdb/tlog"
)

// sinceWatermark is how many records each start-up benchmark logs after the last full check.
const sinceWatermark = 1000

// logFiles returns the options of a Log that keeps its checkpoint copy and watermark in dir, as
// registryd serve does.
func logFiles(dir string) []ledger.Option {
	return []ledger.Option{
		ledger.WithWitnesses(&ledger.NoteFile{Path: filepath.Join(dir, ledger.CheckpointFile)}),
		ledger.WithWatermark(&ledger.NoteFile{Path: filepath.Join(dir, ledger.WatermarkFile)}),
	}
}

// startupAgainstFull runs, b.N times, what a restart runs now (StartupCheck from the watermark, on a
// fresh Log) and what it ran before (the full check, on a Log without a watermark), and reports both
// and their ratio.
func startupAgainstFull(b *testing.B, s ledger.Storage, dir string, records ledger.RecordLeaves, record ledger.RecordLeafFunc) {
	ctx := context.Background()
	signer, _, vkey, err := ledger.LoadKey(dir)
	if err != nil {
		b.Fatal(err)
	}
	var startup, full time.Duration
	var size int64
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		res, err := ledger.NewLog(s, signer, vkey, logFiles(dir)...).StartupCheck(ctx, records, record)
		if err != nil {
			b.Fatal(err)
		}
		if res.Full || res.Rederived != sinceWatermark {
			b.Fatalf("start-up check re-derived %d records (full %v), want the %d after the watermark", res.Rederived, res.Full, sinceWatermark)
		}
		t1 := time.Now()
		tree, err := ledger.NewLog(s, signer, vkey).SelfCheck(ctx, records)
		if err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		startup, full, size = startup+t1.Sub(t0), full+t2.Sub(t1), tree.N
	}
	n := float64(b.N)
	b.ReportMetric(startup.Seconds()/n, "startup-s")
	b.ReportMetric(full.Seconds()/n, "full-s")
	b.ReportMetric(float64(full)/float64(startup), "ratio")
	b.ReportMetric(float64(size), "leaves")
}

// BenchmarkStartupCheck measures a restart of a registry of PEDIGREE_BENCH_POOL samples (default
// 200,000) ingested through the service, 1,000 of them after the last full check: the start-up check
// (signed trees, the stored edge at the watermark, the 1,000 leaves re-hashed and their samples
// re-derived one by one) against the full check that start-up ran before (every stored hash, every
// record, every text), in the same run. It reports seconds per check and full/start-up as "ratio".
//
//	PEDIGREE_BENCH_POOL=1000000 go test ./registry/sqlite -run '^$' -bench 'StartupCheck$' -benchtime 3x -timeout 60m
func BenchmarkStartupCheck(b *testing.B) {
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
	batch := 0
	ingest := func(count int) {
		for done := 0; done < count; batch++ {
			k := min(5000, count-done)
			if _, err := h.Svc.Ingest(ctx, newBatch(baseline.Texts(vocab, "Sample", batch, k, 120)), nil); err != nil {
				b.Fatal(err)
			}
			done += k
		}
	}
	ingest(n)
	signer, _, vkey, err := ledger.LoadOrCreateKey(dir, "pedigree-bench")
	if err != nil {
		b.Fatal(err)
	}
	// A full check (as the background audit runs) moves the watermark to n samples; then 1,000 more.
	l := ledger.NewLog(s, signer, vkey, logFiles(dir)...)
	if _, err := l.FullCheck(ctx, s.RecordLeaves, ledger.FullCheckOptions{}); err != nil {
		b.Fatal(err)
	}
	ingest(sinceWatermark)
	if _, _, err := l.Checkpoint(ctx); err != nil {
		b.Fatal(err)
	}
	startupAgainstFull(b, s, dir, s.RecordLeaves, leaves.RecordLeaf(s))
}

// benchLeaves is the size of BenchmarkStartupCheckSimulated's log: PEDIGREE_BENCH_LEAVES, default
// 1,000,000 (the figure in BENCHMARKS.md uses 10,000,000).
func benchLeaves() int {
	if n, err := strconv.Atoi(os.Getenv("PEDIGREE_BENCH_LEAVES")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// simLeaf is the leaf of simulated record i: the size and shape of a sample's leaf.
func simLeaf(i int64) []byte {
	sum := sha256.Sum256([]byte(strconv.FormatInt(i, 10)))
	leaf, err := ledger.Leaf(ledger.KindSample, fmt.Sprintf("sim-%012d", i), map[string]string{
		"hash":             fmt.Sprintf("%x", sum),
		"identity":         fmt.Sprintf("%x", sha256.Sum256(sum[:])),
		"origin":           "human",
		"generation":       "0",
		"generation_basis": "human",
		"source_kind":      "public_dataset",
		"dataset":          "bench",
		"license":          "CC-BY-4.0",
		"metrics":          fmt.Sprintf("%x", sha256.Sum256(sum[1:])),
	}, time.UnixMilli(1_800_000_000_000+i))
	if err != nil {
		panic(err)
	}
	return leaf
}

// simRecords re-derives simulated records: leaf i from i, with no table to read.
func simRecords(size func() int64) (ledger.RecordLeaves, ledger.RecordLeafFunc) {
	all := func(ctx context.Context, fn func(int64, []byte) error) error {
		n := size()
		for i := range n {
			if err := fn(i, simLeaf(i)); err != nil {
				return err
			}
		}
		return nil
	}
	one := func(ctx context.Context, kind, id string) (map[int64][]byte, error) {
		i, err := strconv.ParseInt(strings.TrimPrefix(id, "sim-"), 10, 64)
		if kind != ledger.KindSample || err != nil {
			return nil, fmt.Errorf("%s %s: %w", kind, id, ledger.ErrNoRecord)
		}
		return map[int64][]byte{i: simLeaf(i)}, nil
	}
	return all, one
}

// appendSimulated appends leaves [from, to) straight to the log tables, in transactions of 50,000,
// with their stored hashes (computed in memory: hashes holds every stored hash so far).
func appendSimulated(b *testing.B, db *sql.DB, hashes *[]tlog.Hash, from, to int64) {
	ctx := context.Background()
	r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = (*hashes)[x]
		}
		return out, nil
	})
	for lo := from; lo < to; lo += 50_000 {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		insLeaf, err := tx.PrepareContext(ctx, "INSERT INTO log_leaves (idx, kind, record_id, leaf) VALUES (?, ?, ?, ?)")
		if err != nil {
			b.Fatal(err)
		}
		insHash, err := tx.PrepareContext(ctx, "INSERT INTO log_hashes (idx, hash) VALUES (?, ?)")
		if err != nil {
			b.Fatal(err)
		}
		for i := lo; i < min(lo+50_000, to); i++ {
			leaf := simLeaf(i)
			hs, err := tlog.StoredHashes(i, leaf, r)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := insLeaf.ExecContext(ctx, i, ledger.KindSample, fmt.Sprintf("sim-%012d", i), leaf); err != nil {
				b.Fatal(err)
			}
			for _, h := range hs {
				if _, err := insHash.ExecContext(ctx, int64(len(*hashes)), h[:]); err != nil {
					b.Fatal(err)
				}
				*hashes = append(*hashes, h)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStartupCheckSimulated measures the same restart on a larger log built cheaply: a SQLite
// registry whose log tables hold PEDIGREE_BENCH_LEAVES sample-shaped leaves (default 1,000,000)
// inserted directly, 1,000 of them after the watermark. There are no record tables: both checks
// re-derive a record by regenerating its leaf from its index, so the full check's record phase
// costs less here than on real records and the ratio is an underestimate; the tree phase (every leaf
// and stored hash read from SQLite and recomputed) is real.
//
//	PEDIGREE_BENCH_LEAVES=10000000 go test ./registry/sqlite -run '^$' -bench StartupCheckSimulated -benchtime 1x -timeout 120m
func BenchmarkStartupCheckSimulated(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	s, err := sqlite.Open(ctx, filepath.Join(dir, "registry.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	n := int64(benchLeaves())
	var hashes []tlog.Hash
	start := time.Now()
	appendSimulated(b, s.DB(), &hashes, 0, n)
	b.Logf("appended %d leaves in %s", n, time.Since(start).Round(time.Second))

	signer, _, vkey, err := ledger.LoadOrCreateKey(dir, "pedigree-bench")
	if err != nil {
		b.Fatal(err)
	}
	size := func() int64 { n, _ := s.LogSize(ctx); return n }
	records, record := simRecords(size)
	l := ledger.NewLog(s, signer, vkey, logFiles(dir)...)
	start = time.Now()
	if _, err := l.FullCheck(ctx, records, ledger.FullCheckOptions{}); err != nil {
		b.Fatal(err)
	}
	b.Logf("first full check (writes the watermark) in %s", time.Since(start).Round(time.Millisecond))
	appendSimulated(b, s.DB(), &hashes, n, n+sinceWatermark)
	hashes = nil
	if _, _, err := l.Checkpoint(ctx); err != nil {
		b.Fatal(err)
	}
	startupAgainstFull(b, s, dir, records, record)
}
