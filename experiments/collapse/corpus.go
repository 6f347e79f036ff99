package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"hash/fnv"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pedigreeml/pedigree/metrics"
)

// doc is one paragraph of human writing: a paragraph of a Go doc comment.
type doc struct {
	Text string // the paragraph, its lines joined by spaces
	Path string // the file it came from, relative to GOROOT
}

// corpus is the human text of the experiment, split into a training set and a held-out set.
type corpus struct {
	Train, Heldout []doc
	Paragraphs     int // distinct paragraphs found before subsampling
	Files          int
}

// Paragraph bounds, in tokens: shorter ones are mostly one-liners ("String returns its name."),
// longer ones are rare and would dominate the length distribution.
const (
	minDocTokens = 8
	maxDocTokens = 120
)

// loadCorpus reads the doc comments of the Go source files under goroot/src/<dir> for each dir
// (the whole src tree when dirs is empty), skipping tests, testdata and vendored code. It splits
// the distinct paragraphs into held-out (one in heldoutEvery, by a hash of the text, so the split
// does not depend on the seed or the subset) and training, then draws nTrain and nHeldout of them
// with the seed.
func loadCorpus(goroot string, dirs []string, nTrain, nHeldout int, seed uint64) (*corpus, error) {
	roots := []string{filepath.Join(goroot, "src")}
	if len(dirs) > 0 {
		roots = roots[:0]
		for _, d := range dirs {
			roots = append(roots, filepath.Join(goroot, "src", filepath.FromSlash(d)))
		}
	}
	seen := map[string]bool{}
	var all []doc
	files := 0
	fset := token.NewFileSet()
	for _, root := range roots {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if n := d.Name(); path != root && (n == "testdata" || n == "vendor" || strings.HasPrefix(n, ".") || strings.HasPrefix(n, "_")) {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			rel, _ := filepath.Rel(goroot, path)
			f, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
			if err != nil {
				return nil // a file that does not parse (a build-tagged stub, say) has no docs for us
			}
			files++
			for _, cg := range docComments(f) {
				for _, p := range paragraphs(cg.Text()) {
					if !seen[p] {
						seen[p] = true
						all = append(all, doc{Text: p, Path: filepath.ToSlash(rel)})
					}
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", root, err)
		}
	}
	// A fixed order before drawing, so the draw depends on the seed alone and not on the walk.
	slices.SortFunc(all, func(a, b doc) int { return strings.Compare(a.Text, b.Text) })
	var train, held []doc
	for _, d := range all {
		if isHeldout(d.Text) {
			held = append(held, d)
		} else {
			train = append(train, d)
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0x636f72707573)) // "corpus"
	rng.Shuffle(len(train), func(i, j int) { train[i], train[j] = train[j], train[i] })
	rng.Shuffle(len(held), func(i, j int) { held[i], held[j] = held[j], held[i] })
	if len(train) < nTrain || len(held) < nHeldout {
		return nil, fmt.Errorf("the corpus has %d training and %d held-out paragraphs; asked for %d and %d", len(train), len(held), nTrain, nHeldout)
	}
	return &corpus{Train: train[:nTrain], Heldout: held[:nHeldout], Paragraphs: len(all), Files: files}, nil
}

// heldoutEvery: one paragraph in this many is held out.
const heldoutEvery = 5

func isHeldout(text string) bool {
	h := fnv.New64a()
	h.Write([]byte(text))
	return h.Sum64()%heldoutEvery == 0
}

// docComments returns the doc comments of a file: the package's, and those of its declarations and
// specs (types, constants, variables, functions and methods).
func docComments(f *ast.File) []*ast.CommentGroup {
	var out []*ast.CommentGroup
	add := func(cg *ast.CommentGroup) {
		if cg != nil {
			out = append(out, cg)
		}
	}
	add(f.Doc)
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			add(d.Doc)
		case *ast.GenDecl:
			add(d.Doc)
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					add(s.Doc)
				case *ast.ValueSpec:
					add(s.Doc)
				}
			}
		}
	}
	return out
}

// paragraphs splits a comment's text into prose paragraphs: code blocks (indented lines), lists,
// headings and directives are dropped, and so are paragraphs outside the token bounds.
func paragraphs(text string) []string {
	var out []string
	var cur []string
	skip := false // inside a paragraph that holds a code block, a list or a heading
	flush := func() {
		if len(cur) > 0 && !skip {
			p := strings.Join(cur, " ")
			if n := len(metrics.Tokenize(p)); n >= minDocTokens && n <= maxDocTokens && prose(p) {
				out = append(out, p)
			}
		}
		cur, skip = cur[:0], false
	}
	for _, line := range strings.Split(text, "\n") {
		switch {
		case strings.TrimSpace(line) == "":
			flush()
		case line[0] == ' ' || line[0] == '\t' || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "- "):
			skip = true
		default:
			cur = append(cur, strings.TrimSpace(line))
		}
	}
	flush()
	return out
}

// prose reports whether a paragraph reads as prose rather than a table, a licence notice or
// generated boilerplate.
func prose(p string) bool {
	if strings.Contains(p, "Code generated") || strings.Contains(p, "Copyright") || strings.Contains(p, "DO NOT EDIT") {
		return false
	}
	letters := 0
	for _, r := range p {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == ' ' {
			letters++
		}
	}
	return letters*10 >= len(p)*8 // at least 80 % letters and spaces
}

// goEnvGOROOT returns the Go installation that `go env GOROOT` names.
func goEnvGOROOT() (string, error) {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOROOT (pass --goroot): %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// goVersion is the Go release of the installation at goroot, from its VERSION file.
func goVersion(goroot string) string {
	b, err := os.ReadFile(filepath.Join(goroot, "VERSION"))
	if err != nil {
		return "(unknown version)"
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(line)
}
