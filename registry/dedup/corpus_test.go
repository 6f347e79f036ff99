package dedup

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// goDocParagraphs returns up to n distinct paragraphs of at least minWords words from the doc
// comments of Go's own standard library (BSD-3-Clause, on every machine that has Go): real human
// prose, in a deterministic order.
func goDocParagraphs(t testing.TB, n, minWords int) []string {
	t.Helper()
	root := filepath.Join(runtime.GOROOT(), "src")
	if _, err := os.Stat(root); err != nil {
		t.Skipf("Go's sources are not at %s: %v", root, err)
	}
	var files []string
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && (d.Name() == "testdata" || d.Name() == "vendor") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			files = append(files, path)
		}
		return nil
	})
	sort.Strings(files)
	seen := map[[32]byte]bool{}
	var out []string
	fset := token.NewFileSet()
	for _, path := range files {
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.PackageClauseOnly)
		if err != nil || f.Doc == nil {
			continue
		}
		for _, para := range strings.Split(f.Doc.Text(), "\n\n") {
			para = strings.TrimSpace(para)
			if len(strings.Fields(para)) < minWords || strings.HasPrefix(para, "\t") {
				continue
			}
			if k := Key(para); !seen[k] {
				seen[k] = true
				out = append(out, para)
				if len(out) == n {
					return out
				}
			}
		}
	}
	return out
}
