package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/pedigreeml/pedigree/api"
	"github.com/pedigreeml/pedigree/internal/baseline"
	"github.com/pedigreeml/pedigree/ledger"
	"github.com/pedigreeml/pedigree/metrics"
	"github.com/pedigreeml/pedigree/mixer"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/leaves"
	"github.com/pedigreeml/pedigree/registry/sqlite"
)

// exportBenchMix is the mix size of BenchmarkExportFormats: PEDIGREE_BENCH_MIX, default 100,000
// (the figures in BENCHMARKS.md use 500,000).
func exportBenchMix() int {
	if n, err := strconv.Atoi(os.Getenv("PEDIGREE_BENCH_MIX")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

// discard is a ResponseWriter that counts and drops the body, so that the benchmark holds nothing
// of what it exports.
type discard struct {
	h      http.Header
	status int
	n      int64
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) WriteHeader(status int)      { d.status = status }
func (d *discard) Write(p []byte) (int, error) { d.n += int64(len(p)); return len(p), nil }

// BenchmarkExportFormats exports one mix of PEDIGREE_BENCH_MIX samples through the API handler as
// registryd serves it (the checked store over SQLite, proofs against the log) in each format, and
// the Croissant description, which reads the whole mix to checksum the jsonl and parquet downloads.
// The baselines, run alternately in the same loop, are the store's bare ExportMix (the same
// manifest and sample reads, unchecked, nothing encoded) and the checked store's ExportMix with
// nothing encoded (the reads and every check an export makes: every sample proven in the log, texts
// against their content hashes, the manifest against the log). It reports rows a second for all three, the
// ratios of the format's time to each baseline's (ratio: to the bare read; ratio_checked: to the
// checked read, which isolates the cost of encoding and, for chat, of the prompt lookups), the
// output size, the peak in-use heap while exporting (which must not grow with the mix; sampled in
// one more export after the timed ones, so that the sampler does not slow them) and the bytes
// allocated per sample of the mix.
//
// The registry holds half prompts (human) and half answers (model output, one per prompt, so the
// chat format looks up a prompt for every other sample), ingested through registry.Service with
// real log leaves, texts of about 120 words.
//
//	PEDIGREE_BENCH_MIX=500000 go test ./api -run '^$' -bench ExportFormats -benchtime 2x -timeout 60m
func BenchmarkExportFormats(b *testing.B) {
	ctx := context.Background()
	n := exportBenchMix()
	dir := b.TempDir()
	s, err := sqlite.Open(ctx, filepath.Join(dir, "registry.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	started := time.Now()
	svc := &registry.Service{Store: s, Scorer: registry.MetricsScorer{Scorer: &metrics.Scorer{}}}
	model, err := svc.CreateModel(ctx, &registry.NewModel{Name: "bench-teacher", Version: "1"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	vocab := baseline.Vocabulary(5000)
	const batch = 5000
	for i := 0; i*2*batch < n; i++ {
		k := min(batch, (n-i*2*batch+1)/2)
		prompts := baseline.Texts(vocab, "Prompt", i, k, 120)
		in := make([]registry.NewSample, k)
		for j := range in {
			in[j] = registry.NewSample{Text: &prompts[j], Origin: registry.OriginHuman, Dataset: "bench-prompts",
				Source: &registry.Source{Kind: "public_dataset", Name: "bench", URI: "https://example.org/bench", License: "CC-BY-4.0"}}
		}
		res, err := svc.Ingest(ctx, in, nil)
		if err != nil {
			b.Fatal(err)
		}
		answers := baseline.Texts(vocab, "Answer", i, k, 120)
		in = in[:0]
		for j, r := range res.Results {
			in = append(in, registry.NewSample{Text: &answers[j], Origin: registry.OriginModel, Model: model.Ref(), PromptID: registry.RefID(r.Sample.ID)})
		}
		if _, err := svc.Ingest(ctx, in, nil); err != nil {
			b.Fatal(err)
		}
	}
	pol := mixer.NewPolicies(s)
	if _, _, err := pol.Put(ctx, "bench", "package pedigree.mix\n\nlimits := {\"max_synthetic_ratio\": 0.5}\n"); err != nil {
		b.Fatal(err)
	}
	res, err := (&mixer.Builder{Store: s, Policies: pol}).Build(ctx, registry.MixRequest{Policy: "bench", Size: n, Seed: 1}, false, nil)
	if err != nil || res.Mix == nil {
		b.Fatalf("build: %v", err)
	}
	mix := res.Mix
	srv, checked, key := benchServer(b, s, dir, registry.RoleIngest)
	b.Logf("registry of %d samples, mix of %d (%d human, %d synthetic), filled in %s", n, mix.Size, mix.Stats.Human, mix.Stats.Synthetic,
		time.Since(started).Round(time.Second))

	bare := func() {
		if err := s.ExportMix(ctx, mix.ID, func(*registry.Sample) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	checkedRead := func() {
		if err := checked.ExportMix(ctx, mix.ID, func(*registry.Sample) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	// chat last: the checked store remembers each prompt it proves (up to leaves.Checked's bound),
	// and that memory would count in the peaks of the formats measured after it.
	for _, target := range []string{"jsonl", "parquet", "croissant", "chat"} {
		path := "/v1/mixes/" + mix.ID + "/export?format=" + target
		rows := mix.Size
		if target == "chat" {
			rows = mix.Stats.Synthetic
		}
		if target == "croissant" {
			path = "/v1/mixes/" + mix.ID + "/croissant"
		}
		b.Run(target, func(b *testing.B) {
			var tBare, tChecked, tFormat time.Duration
			var allocated uint64
			var out int64
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				bare()
				tBare += time.Since(t0)
				t0 = time.Now()
				checkedRead()
				tChecked += time.Since(t0)

				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				t0 = time.Now()
				out = export(b, srv, path, key)
				tFormat += time.Since(t0)
				runtime.ReadMemStats(&after)
				allocated += after.TotalAlloc - before.TotalAlloc
			}
			// The peak is sampled in one more export, untimed: the sampler stops the world every 2 ms.
			peak, start := baseline.PeakHeap(func() { export(b, srv, path, key) })
			above := peak - min(peak, start)
			per := func(d time.Duration) float64 { return d.Seconds() / float64(b.N) }
			b.ReportMetric(float64(mix.Size)/per(tBare), "bare_rows/s")
			b.ReportMetric(float64(mix.Size)/per(tChecked), "checked_rows/s")
			b.ReportMetric(float64(rows)/per(tFormat), "rows/s")
			b.ReportMetric(per(tFormat)/per(tBare), "ratio")
			b.ReportMetric(per(tFormat)/per(tChecked), "ratio_checked")
			b.ReportMetric(float64(peak)/(1<<20), "peak_heap_MiB")
			b.ReportMetric(float64(above)/(1<<20), "peak_above_start_MiB")
			b.ReportMetric(float64(allocated)/float64(b.N)/float64(mix.Size), "alloc_B/sample")
			b.ReportMetric(float64(out)/(1<<20), "out_MiB")
		})
	}
}

// export serves one export of path, checks its status and returns the bytes it wrote.
func export(b *testing.B, srv http.Handler, path, key string) int64 {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	w := &discard{h: http.Header{}}
	srv.ServeHTTP(w, req)
	if w.status != http.StatusOK {
		b.Fatalf("%s: status %d", path, w.status)
	}
	return w.n
}

// benchServer serves s as registryd does, through the checked store with proofs against its log
// (the log's key kept in dir), and returns the API, the checked store and a key of role.
func benchServer(b *testing.B, s *sqlite.Store, dir, role string) (*api.Server, *leaves.Checked, string) {
	b.Helper()
	ctx := context.Background()
	signer, _, vkey, err := ledger.LoadOrCreateKey(dir, "pedigree-bench")
	if err != nil {
		b.Fatal(err)
	}
	log := ledger.NewLog(s, signer, vkey)
	if _, err := log.SelfCheck(ctx, s.RecordLeaves); err != nil {
		b.Fatal(err)
	}
	checked := leaves.NewChecked(s, log)
	key, _, err := (&registry.Service{Store: checked}).CreateKey(ctx, role)
	if err != nil {
		b.Fatal(err)
	}
	return api.New(api.Config{}, api.Deps{Store: checked, Log: log, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}), checked, key
}
