package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pedigreeml/pedigree/internal/baseline"
	"github.com/pedigreeml/pedigree/metrics"
	"github.com/pedigreeml/pedigree/mixer"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/sqlite"
)

// BenchmarkEUAIActReport builds a model's public summary through the API handler, as registryd
// serves it, over a mix of PEDIGREE_BENCH_REPORT samples (default 20,000; half state metadata.lang,
// half leave it to detection, bounded by report.DetectSamples). The baseline, run alternately in the
// same loop, is the checked store's read of the same mix with nothing done (every sample proven in
// the log), which the summary makes too. It reports samples a second for both and their ratio.
//
//	PEDIGREE_BENCH_REPORT=100000 go test ./api -run '^$' -bench EUAIActReport -benchtime 2x
func BenchmarkEUAIActReport(b *testing.B) {
	ctx := context.Background()
	n := 20_000
	if v, err := strconv.Atoi(os.Getenv("PEDIGREE_BENCH_REPORT")); err == nil && v > 0 {
		n = v
	}
	dir := b.TempDir()
	s, err := sqlite.Open(ctx, filepath.Join(dir, "registry.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	svc := &registry.Service{Store: s, Scorer: registry.MetricsScorer{Scorer: &metrics.Scorer{}}}
	vocab := baseline.Vocabulary(5000)
	const batch = 5000
	collected := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i*batch < n; i++ {
		k := min(batch, n-i*batch)
		texts := baseline.Texts(vocab, "Text", i, k, 120)
		in := make([]registry.NewSample, k)
		for j := range in {
			in[j] = registry.NewSample{Text: &texts[j], Origin: registry.OriginHuman, Dataset: "bench", CollectedAt: &collected,
				Source: &registry.Source{Kind: "web_crawl", Name: "crawl", URI: "https://site" + strconv.Itoa(j%50) + ".example/" + strconv.Itoa(j)}}
			if j%2 == 0 {
				in[j].Metadata = json.RawMessage(`{"lang":"en"}`)
			}
		}
		if _, err := svc.Ingest(ctx, in, nil); err != nil {
			b.Fatal(err)
		}
	}
	pol := mixer.NewPolicies(s)
	if _, _, err := pol.Put(ctx, "bench", "package pedigree.mix\n\nlimits := {}\n"); err != nil {
		b.Fatal(err)
	}
	res, err := (&mixer.Builder{Store: s, Policies: pol}).Build(ctx, registry.MixRequest{Policy: "bench", Size: n, Seed: 1}, false, nil)
	if err != nil || res.Mix == nil {
		b.Fatalf("build: %v", err)
	}
	model, err := svc.CreateModel(ctx, &registry.NewModel{Name: "bench-student", Version: "1", TrainedOn: []string{res.Mix.ID}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	srv, checked, key := benchServer(b, s, dir, registry.RoleAuditor)

	var tRead, tReport time.Duration
	for b.Loop() {
		t0 := time.Now()
		if err := checked.ExportMix(ctx, res.Mix.ID, func(*registry.Sample) error { return nil }); err != nil {
			b.Fatal(err)
		}
		tRead += time.Since(t0)
		req := httptest.NewRequest(http.MethodGet, "/v1/reports/eu-ai-act?model="+model.ID, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		w := httptest.NewRecorder()
		t0 = time.Now()
		srv.ServeHTTP(w, req)
		tReport += time.Since(t0)
		if w.Code != http.StatusOK {
			b.Fatalf("report: %d %s", w.Code, w.Body.String())
		}
	}
	b.ReportMetric(float64(n*b.N)/tRead.Seconds(), "read_samples/s")
	b.ReportMetric(float64(n*b.N)/tReport.Seconds(), "report_samples/s")
	b.ReportMetric(tReport.Seconds()/tRead.Seconds(), "report/read")
}
