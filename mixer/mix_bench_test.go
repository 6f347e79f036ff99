package mixer_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/pedigreeml/pedigree/internal/baseline"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/pedigreeml/pedigree/mixer"
	"github.com/pedigreeml/pedigree/policy"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/postgres/pgtest"
	"github.com/pedigreeml/pedigree/registry/sqlite/sqlitetest"
	"github.com/pedigreeml/pedigree/registry/sqlstore"
	"github.com/pedigreeml/pedigree/registry/storetest"
)

// benchPool is the registry size of BenchmarkMixVsBareQuery: PEDIGREE_BENCH_POOL, default 200,000
// (the figure in BENCHMARKS.md uses 1,000,000).
func benchPool() int {
	if n, err := strconv.Atoi(os.Getenv("PEDIGREE_BENCH_POOL")); err == nil && n > 0 {
		return n
	}
	return 200_000
}

// benchShare is the mix's share of the registry in the mix benchmarks: PEDIGREE_BENCH_SHARE,
// default 0.5 (the figures in BENCHMARKS.md use 0.5, and 0.01 for a small mix).
func benchShare() float64 {
	if f, err := strconv.ParseFloat(os.Getenv("PEDIGREE_BENCH_SHARE"), 64); err == nil && f > 0 && f <= 1 {
		return f
	}
	return 0.5
}

// benchModels is how many models wrote the synthetic half of the benchmarks' registry:
// PEDIGREE_BENCH_MODELS, default 2 (more than 8 takes the draw's path for many models).
func benchModels() int {
	if n, err := strconv.Atoi(os.Getenv("PEDIGREE_BENCH_MODELS")); err == nil && n > 0 {
		return n
	}
	return 2
}

// benchStore opens the benchmarks' store: SQLite in a temporary directory, or with
// PEDIGREE_BENCH_STORE=postgres a new schema in the database PEDIGREE_TEST_POSTGRES_DSN names.
func benchStore(b *testing.B) *sqlstore.Store {
	if os.Getenv("PEDIGREE_BENCH_STORE") == "postgres" {
		return pgtest.OpenStore(b).Store
	}
	return sqlitetest.OpenStore(b)
}

// fillRegistry writes n samples directly (built rows with plausible metrics, through the store's
// write, 20,000 a transaction), half human and half from benchModels models in turn, so that a
// benchmark can start from a large registry quickly.
func fillRegistry(b *testing.B, s *sqlstore.Store, n int) {
	ctx := context.Background()
	h := storetest.NewHarness(b, s)
	models := []*registry.Model{}
	for i := range benchModels() {
		name := fmt.Sprint("bench-", i)
		if i < 2 {
			name = []string{"bench-a", "bench-b"}[i] // the names of the figures in BENCHMARKS.md
		}
		ref := h.Model(name, 0)
		m, err := s.GetModel(ctx, ref)
		if err != nil {
			b.Fatal(err)
		}
		models = append(models, m)
	}
	r := rand.New(rand.NewPCG(3, 4))
	const perTx = 20_000
	for done := 0; done < n; done += perTx {
		rows := make([]*registry.Sample, 0, perTx)
		for i := done; i < min(n, done+perTx); i++ {
			text := "Benchmark sample " + strconv.Itoa(i) + " with a few words of text."
			sum := sha256.Sum256([]byte(text))
			ident := sha256.Sum256([]byte("id" + text))
			tox := r.Float64() * 0.3
			smp := &registry.Sample{ID: uuid.Must(uuid.NewV7()).String(), Text: text, ContentSHA256: hex.EncodeToString(sum[:]),
				IdentitySHA256: hex.EncodeToString(ident[:]), Origin: registry.OriginHuman, Dataset: "bench",
				Source: registry.Source{Kind: "public_dataset", Name: "bench", License: "CC-BY-4.0"}, GenerationBasis: registry.BasisHuman,
				Metrics:   registry.Metrics{Tokens: 20 + r.IntN(200), MTLD: 20 + r.Float64()*80, Toxicity: &tox, Version: "bench", ToxicityScorer: "bench"},
				CreatedAt: time.Now().UTC()}
			if i%2 == 1 {
				m := models[i/2%len(models)]
				smp.Origin, smp.ModelID, smp.Model, smp.Generation, smp.GenerationBasis = registry.OriginModel, m.ID, m.Ref(), 1, registry.BasisDeclared
				smp.Source.Kind = "synthetic"
			}
			rows = append(rows, smp)
		}
		// The store's own write: rows, statistics groups and log leaves, without ingest's checks.
		if err := s.Write(ctx, func(tx registry.Tx) error { return tx.WriteSamples(ctx, rows) }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMixVsBareQuery builds a mix of half the registry (PEDIGREE_BENCH_SHARE) under a policy with limits and an include
// rule, against the bare SQL query that selects the same admitted rows (scanned into Go values and
// dropped), in the same run. It reports build/bare as "ratio", the peak heap during a build, and the
// peak heap while exporting the whole mix as JSON Lines (constant memory whatever the mix's size);
// both peaks are sampled after the timed runs, so that the sampler does not slow what is timed.
// The baselines read through the store's read pool, with the settings a build reads with.
// A second baseline, the bare draw (sqlstore.Store.BareDrawSQL: the same admission sorted by the draw
// key and cut at the mix's size, as a user's script would draw a seeded sample without holding the
// pool), gives "ratio_to_draw": what the registry's rules, statistics and records add to that.
func BenchmarkMixVsBareQuery(b *testing.B) {
	ctx := context.Background()
	n := benchPool()
	size := max(1, int(float64(n)*benchShare()))
	s := benchStore(b)
	start := time.Now()
	fillRegistry(b, s, n)
	if s.Dialect() == "postgres" {
		if _, err := s.DB().ExecContext(ctx, "ANALYZE samples"); err != nil { // as autovacuum would
			b.Fatal(err)
		}
	}
	b.Logf("filled %d samples in %v", n, time.Since(start).Round(time.Second))
	pol := mixer.NewPolicies(s)
	dedup := "" // PEDIGREE_BENCH_DEDUP=exact or near adds the dedup limit
	if d := os.Getenv("PEDIGREE_BENCH_DEDUP"); d != "" {
		dedup = fmt.Sprintf(", \"dedup\": %q", d)
	}
	module := "package pedigree.mix\n\nlimits := {\"max_synthetic_ratio\": 0.5, \"max_model_share\": 0.3, \"max_generation\": 3" + dedup +
		"}\n\ninclude if {\n\tinput.sample.toxicity <= 0.5\n\tinput.sample.tokens >= 10\n}\n"
	if _, _, err := pol.Put(ctx, "bench", module); err != nil {
		b.Fatal(err)
	}
	compiled, err := policy.Compile(ctx, "bench", module)
	if err != nil {
		b.Fatal(err)
	}
	builder := &mixer.Builder{Store: s, Policies: pol}
	gen := 3
	bare, args := sqlstore.PoolSQL(registry.PoolQuery{Where: compiled.Where(policy.Dialect(s.Dialect())), MaxGeneration: &gen})
	bare = s.Rebind(bare)
	build := func(seed int64) *registry.Mix {
		res, err := builder.Build(ctx, registry.MixRequest{Policy: "bench", Size: size, Seed: seed}, false, nil)
		if err != nil || res.Mix == nil {
			b.Fatalf("build: %v %+v", err, res)
		}
		return res.Mix
	}
	var tBuild, tBare, tDraw time.Duration
	var last *registry.Mix
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Each timed part starts from a collected heap, so that none pays for another's garbage.
		runtime.GC()
		start = time.Now()
		rows, err := s.ReadDB().QueryContext(ctx, bare, args...)
		if err != nil {
			b.Fatal(err)
		}
		count := 0
		var r registry.PoolRow
		var tox *float64
		var created int64
		var norm []byte
		for rows.Next() {
			if err := rows.Scan(&r.ID, &r.ContentSHA256, &r.Origin, &r.Model, &r.Generation, &r.Basis, &r.Dataset,
				&r.SourceKind, &r.SourceName, &r.SourceURI, &r.License, &r.Tokens, &r.MTLD, &tox, &created, &norm, &r.Cluster); err != nil {
				b.Fatal(err)
			}
			count++
		}
		rows.Close()
		tBare += time.Since(start)

		// The bare draw: the admission sorted by the draw key and cut at the mix's size, in SQL.
		runtime.GC()
		start = time.Now()
		drawSQL, drawArgs := s.BareDrawSQL(registry.PoolQuery{Where: compiled.Where(policy.Dialect(s.Dialect())), MaxGeneration: &gen}, int64(i), size)
		rows, err = s.ReadDB().QueryContext(ctx, drawSQL, drawArgs...)
		if err != nil {
			b.Fatal(err)
		}
		drawn := 0
		var id, content string
		for rows.Next() {
			if err := rows.Scan(&id, &content); err != nil {
				b.Fatal(err)
			}
			drawn++
		}
		if err := rows.Err(); err != nil || drawn != size {
			b.Fatalf("bare draw: %d rows, %v", drawn, err)
		}
		rows.Close()
		tDraw += time.Since(start)

		runtime.GC()
		start = time.Now()
		last = build(int64(i))
		tBuild += time.Since(start)
		if i == 0 {
			b.Logf("pool %d admitted rows; mix of %d (%d human, %d synthetic)", count, last.Size, last.Stats.Human, last.Stats.Synthetic)
		}
	}
	b.StopTimer()
	// The sampler reads the heap's statistics every 2 ms, which stops the world each time.
	heap := peakOnly(func() { build(int64(b.N)) })
	exportHeap := peakOnly(func() {
		if err := s.ExportMix(ctx, last.ID, func(smp *registry.Sample) error {
			_, err := fmt.Fprintln(io.Discard, smp.Text)
			return err
		}); err != nil {
			b.Fatal(err)
		}
	})
	b.ReportMetric(tBare.Seconds()/float64(b.N), "bare_s")
	b.ReportMetric(tBuild.Seconds()/float64(b.N), "build_s")
	b.ReportMetric(tBuild.Seconds()/tBare.Seconds(), "ratio")
	b.ReportMetric(tDraw.Seconds()/float64(b.N), "bare_draw_s")
	b.ReportMetric(tBuild.Seconds()/tDraw.Seconds(), "ratio_to_draw")
	b.ReportMetric(float64(heap)/(1<<20), "build_peak_MiB")
	b.ReportMetric(float64(exportHeap)/(1<<20), "export_peak_MiB")
}

// peakOnly is baseline.PeakHeap's peak.
func peakOnly(fn func()) uint64 {
	peak, _ := baseline.PeakHeap(fn)
	return peak
}

// BenchmarkDrawPhases times each step of a draw of half the registry (PEDIGREE_BENCH_SHARE) (the registry and pool of
// BenchmarkMixVsBareQuery, without the policy: the same admission written as SQL): the stratum
// counts, the selection, the statistics and one read of the manifest. It reports each in seconds,
// so that where a build's time goes can be read off one run.
func BenchmarkDrawPhases(b *testing.B) {
	ctx := context.Background()
	n := benchPool()
	s := benchStore(b)
	fillRegistry(b, s, n)
	q := registry.DrawQuery{Pool: registry.PoolQuery{Where: "s.toxicity <= 0.5 AND s.tokens >= 10"}}
	var phases [4]time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		q.Seed = int64(i)
		d, err := s.OpenDraw(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		t := time.Now()
		c, err := d.Counts(ctx)
		if err != nil {
			b.Fatal(err)
		}
		phases[0] += time.Since(t)
		t = time.Now()
		share := benchShare()
		got, err := d.Select(ctx, registry.DrawQuota{Humans: int(float64(c.Humans) * share), PerModel: int(float64(n) * 0.3 * share),
			Synthetic: int(float64(n) / 2 * share)})
		if err != nil || got == 0 {
			b.Fatalf("select: %d, %v", got, err)
		}
		phases[1] += time.Since(t)
		t = time.Now()
		if _, err := d.Stats(ctx); err != nil {
			b.Fatal(err)
		}
		phases[2] += time.Since(t)
		t = time.Now()
		if err := d.Manifest(ctx, func(uuid.UUID, [sha256.Size]byte) error { return nil }); err != nil {
			b.Fatal(err)
		}
		phases[3] += time.Since(t)
		d.Close()
	}
	b.StopTimer()
	for i, name := range []string{"counts_s", "select_s", "stats_s", "manifest_s"} {
		b.ReportMetric(phases[i].Seconds()/float64(b.N), name)
	}
}
