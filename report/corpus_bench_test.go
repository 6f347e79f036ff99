package report_test

import (
	"strconv"
	"testing"

	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/report"
)

// BenchmarkCorpusAdd measures what a summary spends on each sample it streams: with metadata.lang
// stated (the baseline: counting alone) and without it (language detection on the first 2 KiB).
// The ratio is the cost of detection over counting.
func BenchmarkCorpusAdd(b *testing.B) {
	samples := func(meta string) []*registry.Sample {
		out := make([]*registry.Sample, 1000)
		for i := range out {
			out[i] = corpusSample(i, "human", "", "web_crawl", "crawl", "https://news.example.com/a/"+strconv.Itoa(i), meta, 0, 40,
				"2025-03-01T00:00:00Z", englishText+" "+frenchText+" "+strconv.Itoa(i))
		}
		return out
	}
	run := func(b *testing.B, list []*registry.Sample) float64 {
		b.ReportAllocs()
		for b.Loop() {
			c := report.NewCorpus(report.DetectLanguage, len(list))
			for _, s := range list {
				c.Add(s)
			}
		}
		return float64(b.Elapsed().Nanoseconds()) / float64(b.N*len(list))
	}
	var stated, detected float64
	b.Run("stated", func(b *testing.B) {
		stated = run(b, samples(`{"lang":"en"}`))
		b.ReportMetric(stated, "ns/sample")
	})
	b.Run("detected", func(b *testing.B) {
		detected = run(b, samples(""))
		b.ReportMetric(detected, "ns/sample")
		if stated > 0 {
			b.ReportMetric(detected/stated, "detected/stated")
		}
	})
}
