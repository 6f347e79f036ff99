package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pedigreeml/pedigree/internal/baseline"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/sqlite"
	"github.com/pedigreeml/pedigree/registry/storetest"
)

// BenchmarkDiskPerSample stores PEDIGREE_BENCH_POOL samples (default 200,000) of ~120 words — three
// quarters human, a quarter model answers to them, so the near-duplicate index holds its share —
// through the service, and the same texts in the minimal table a user would keep without Pedigree
// (id, text, unique SHA-256), and reports the bytes on disk per sample of each (after a checkpoint of
// the WAL), their ratio, and the registry's bytes per sample by table and index (SQLite's dbstat).
// Each run builds both from nothing; -benchtime 1x is the use:
//
//	PEDIGREE_BENCH_POOL=1000000 go test ./registry/sqlite -run '^$' -bench DiskPerSample -benchtime 1x -timeout 60m -v
func BenchmarkDiskPerSample(b *testing.B) {
	ctx := context.Background()
	n := benchPool()
	for b.Loop() {
		dir := b.TempDir()
		path := filepath.Join(dir, "registry.db")
		s, err := sqlite.Open(ctx, path)
		if err != nil {
			b.Fatal(err)
		}
		min, err := baseline.OpenMinimal(ctx, filepath.Join(dir, "minimal.db"))
		if err != nil {
			b.Fatal(err)
		}
		h := storetest.NewHarness(b, s)
		zero := 0
		m, err := h.Svc.CreateModel(ctx, &registry.NewModel{Name: "teacher", Version: "1", DeclaredGeneration: &zero}, nil)
		if err != nil {
			b.Fatal(err)
		}
		vocab := baseline.Vocabulary(5000)
		for batch, done := 0, 0; done < n; batch++ {
			k := min2(4000, n-done)
			humans := baseline.Texts(vocab, "Prompt", batch, k*3/4, 120)
			res, err := h.Svc.Ingest(ctx, newBatch(humans), nil)
			if err != nil {
				b.Fatal(err)
			}
			answers := baseline.Texts(vocab, "Answer", batch, k-len(humans), 120)
			in := make([]registry.NewSample, len(answers))
			for i := range answers {
				in[i] = registry.NewSample{Text: &answers[i], Origin: registry.OriginModel, Model: m.Ref(), Dataset: "bench-answers",
					PromptID: registry.RefID(res.Results[i].Sample.ID)}
			}
			if _, err := h.Svc.Ingest(ctx, in, nil); err != nil {
				b.Fatal(err)
			}
			for c := 0; c < k; c += 1000 {
				if err := min.Insert(ctx, append(humans, answers...)[c:min2(c+1000, k)]); err != nil {
					b.Fatal(err)
				}
			}
			done += k
		}
		tables := byTable(b, s, n)
		min.Close()
		s.Close() // the last connection checkpoints the WAL into the file
		regBytes, minBytes := fileBytes(b, path), fileBytes(b, filepath.Join(dir, "minimal.db"))
		b.ReportMetric(float64(regBytes)/float64(n), "registry-B/sample")
		b.ReportMetric(float64(minBytes)/float64(n), "minimal-B/sample")
		b.ReportMetric(float64(regBytes)/float64(minBytes), "ratio")
		if testing.Verbose() {
			b.Logf("bytes a sample by table and index, at %d samples:\n%s", n, tables)
		}
	}
}

func min2(a, b int) int {
	if a < b {
		return a
	}
	return b
}

// fileBytes is the size of a SQLite database with its WAL, if one is left.
func fileBytes(b *testing.B, path string) int64 {
	b.Helper()
	var total int64
	for _, p := range []string{path, path + "-wal"} {
		if st, err := os.Stat(p); err == nil {
			total += st.Size()
		} else if !os.IsNotExist(err) {
			b.Fatal(err)
		}
	}
	return total
}

// byTable lists the pages of each table and index (SQLite's dbstat), in bytes a sample, largest
// first; "dbstat unavailable" when the build lacks it.
func byTable(b *testing.B, s *sqlite.Store, n int) string {
	b.Helper()
	rows, err := s.DB().QueryContext(context.Background(), "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name")
	if err != nil {
		return "dbstat unavailable: " + err.Error()
	}
	defer rows.Close()
	type part struct {
		name  string
		bytes int64
	}
	var parts []part
	for rows.Next() {
		var p part
		if err := rows.Scan(&p.name, &p.bytes); err != nil {
			b.Fatal(err)
		}
		parts = append(parts, p)
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].bytes > parts[j].bytes })
	var out strings.Builder
	for _, p := range parts {
		if p.bytes < int64(n) { // under 1 B a sample
			continue
		}
		fmt.Fprintf(&out, "%-40s %8.1f\n", p.name, float64(p.bytes)/float64(n))
	}
	return out.String()
}
