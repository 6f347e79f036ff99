// Command gen writes the quickstart's example dataset, examples/quickstart.jsonl, from the Go doc
// text kept in examples/source/go-doc.jsonl, deterministically from a seed: the same corpus and seed
// give the same bytes.
//
// The human samples are paragraphs of the package documentation of Go's standard library, used as
// prompts. The model samples are the answers of two small "teachers", word Markov chains trained on
// other Go doc text (the doc comments of exported declarations): godoc-trigram@1 (a chain of order 2,
// trained on one half of the standard library's packages) and godoc-bigram@1 (order 1, the other
// half). Each teacher answers each prompt k times, so every prompt has a best-of-k group of 2k
// candidates from two models.
//
// Usage, from the root of the repository:
//
//	go run ./examples/gen                # re-create examples/quickstart.jsonl from the corpus
//	go run ./examples/gen -extract       # re-extract the corpus from $(go env GOROOT)/src first
//
// The corpus is committed so that the dataset does not depend on the Go version installed: Go's doc
// comments change between releases. -extract records the Go version it read.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/doc/comment"
	"go/parser"
	"go/token"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The dataset's shape. Changing any of these changes the committed file: run the generator again.
const (
	// DefaultSeed is the seed the committed dataset was generated with.
	DefaultSeed = 1
	// AnswersPerTeacher is k: how many answers each teacher writes for each prompt.
	AnswersPerTeacher = 2

	maxPrompts        = 140   // human samples; the default policy needs at least 100 in a mix
	promptsPerPackage = 3     // so that the prompts cover many packages
	trainingBytes     = 64000 // text each teacher is trained on
	minAnswerWords    = 35
	maxAnswerWords    = 80

	promptDataset = "go-doc"
	answerDataset = "teacher-answers"
	license       = "BSD-3-Clause"
)

// Teacher is one of the two models that answer the prompts.
type Teacher struct {
	Name  string // registered as Name@1
	Order int    // words of context of the Markov chain
	Part  string // the corpus part it is trained on
}

// Teachers are the two teachers, in the order their answers appear in the dataset.
var Teachers = []Teacher{
	{Name: "godoc-trigram", Order: 2, Part: "teacher-a"},
	{Name: "godoc-bigram", Order: 1, Part: "teacher-b"},
}

// Header is the first line of the corpus file: where its text comes from.
type Header struct {
	Source      string `json:"source"`
	GoVersion   string `json:"go_version"`
	License     string `json:"license"`
	ExtractedBy string `json:"extracted_by"`
}

// Paragraph is one line of the corpus after the header: a paragraph of a doc comment, the file it
// comes from (relative to GOROOT), and the part of the dataset it is used for: "prompt",
// "teacher-a" or "teacher-b".
type Paragraph struct {
	File string `json:"file"`
	Part string `json:"part"`
	Text string `json:"text"`
}

// Corpus is the whole corpus file.
type Corpus struct {
	Header     Header
	Paragraphs []Paragraph
}

func main() {
	corpusPath := flag.String("corpus", "examples/source/go-doc.jsonl", "the corpus file to read (or, with -extract, to write)")
	out := flag.String("out", "examples/quickstart.jsonl", "the dataset file to write")
	seed := flag.Uint64("seed", DefaultSeed, "seed of the teachers' sampling")
	extract := flag.Bool("extract", false, "first re-extract the corpus from $(go env GOROOT)/src")
	flag.Parse()
	if err := runGen(*corpusPath, *out, *seed, *extract); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func runGen(corpusPath, out string, seed uint64, extract bool) error {
	if extract {
		goroot, goVersion, err := goEnv()
		if err != nil {
			return err
		}
		c, err := Extract(goroot, goVersion)
		if err != nil {
			return err
		}
		if err := os.WriteFile(corpusPath, c.Marshal(), 0o644); err != nil {
			return err
		}
	}
	b, err := os.ReadFile(corpusPath)
	if err != nil {
		return err
	}
	c, err := ParseCorpus(b)
	if err != nil {
		return fmt.Errorf("%s: %w", corpusPath, err)
	}
	data, err := Generate(c, seed)
	if err != nil {
		return err
	}
	return os.WriteFile(out, data, 0o644)
}

// goEnv asks the go command for its GOROOT and version.
func goEnv() (goroot, version string, err error) {
	b, err := exec.Command("go", "env", "GOROOT", "GOVERSION").Output()
	if err != nil {
		return "", "", fmt.Errorf("go env: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return "", "", fmt.Errorf("go env printed %q", b)
	}
	return f[0], f[1], nil
}

// Marshal writes the corpus as JSON Lines: the header, then one paragraph a line.
func (c *Corpus) Marshal() []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(c.Header)
	for _, p := range c.Paragraphs {
		enc.Encode(p)
	}
	return buf.Bytes()
}

// ParseCorpus reads a corpus written by Marshal.
func ParseCorpus(b []byte) (*Corpus, error) {
	var c Corpus
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		var err error
		if n == 1 {
			err = dec.Decode(&c.Header)
		} else {
			var p Paragraph
			err = dec.Decode(&p)
			c.Paragraphs = append(c.Paragraphs, p)
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if c.Header.GoVersion == "" {
		return nil, errors.New("no header line with go_version")
	}
	return &c, nil
}

// Extract reads the doc comments of the standard library under goroot/src: prompts from package
// documentation, each teacher's training text from the doc comments of exported declarations of
// its half of the packages (alternating in import-path order).
func Extract(goroot, goVersion string) (*Corpus, error) {
	src := filepath.Join(goroot, "src")
	var dirs []string
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(src, path)
		switch name := d.Name(); {
		case rel == "cmd", name == "internal", name == "vendor", name == "testdata", strings.HasPrefix(name, "."), strings.HasPrefix(name, "_"):
			return filepath.SkipDir
		}
		if rel != "." {
			dirs = append(dirs, rel)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(dirs)
	c := &Corpus{Header: Header{
		Source:      "doc comments of the Go standard library, " + goVersion + " ($GOROOT/src; the file of each paragraph is named)",
		GoVersion:   goVersion,
		License:     license,
		ExtractedBy: "go run ./examples/gen -extract",
	}}
	seen := map[string]bool{}
	var training [2][]Paragraph
	pkgs := 0
	for _, dir := range dirs {
		pkgDoc, declDocs, err := readPackage(filepath.Join(src, dir))
		if err != nil {
			return nil, err
		}
		if len(pkgDoc) == 0 && len(declDocs) == 0 {
			continue
		}
		taken := 0
		for _, d := range pkgDoc {
			if taken == promptsPerPackage || countPart(c.Paragraphs, "prompt") == maxPrompts {
				break
			}
			if !proseParagraph(d.text, 25, 120) || seen[d.text] {
				continue
			}
			seen[d.text] = true
			c.Paragraphs = append(c.Paragraphs, Paragraph{File: "src/" + filepath.ToSlash(filepath.Join(dir, d.file)), Part: "prompt", Text: d.text})
			taken++
		}
		for _, d := range declDocs {
			if !proseParagraph(d.text, 12, 200) || seen[d.text] {
				continue
			}
			seen[d.text] = true
			training[pkgs%2] = append(training[pkgs%2], Paragraph{File: "src/" + filepath.ToSlash(filepath.Join(dir, d.file)), Text: d.text})
		}
		pkgs++
	}
	if n := countPart(c.Paragraphs, "prompt"); n < maxPrompts {
		return nil, fmt.Errorf("only %d prompt paragraphs under %s", n, src)
	}
	for i, part := range []string{"teacher-a", "teacher-b"} {
		for _, p := range spread(training[i], trainingBytes) {
			p.Part = part
			c.Paragraphs = append(c.Paragraphs, p)
		}
	}
	return c, nil
}

func countPart(ps []Paragraph, part string) int {
	n := 0
	for _, p := range ps {
		if p.Part == part {
			n++
		}
	}
	return n
}

// spread keeps about budget bytes of ps, taken evenly across the list so that every package
// contributes: paragraph i is kept while the share of the budget used so far is at most the share
// of the list's text read so far.
func spread(ps []Paragraph, budget int) []Paragraph {
	total := 0
	for _, p := range ps {
		total += len(p.Text)
	}
	var out []Paragraph
	got, read := 0, 0
	for _, p := range ps {
		read += len(p.Text)
		if got < budget && got*total <= budget*read {
			out = append(out, p)
			got += len(p.Text)
		}
	}
	return out
}

type docPara struct{ file, text string }

// readPackage parses the Go files of one directory (not its tests) and returns the paragraphs of
// its package comment and of the doc comments of its exported declarations, in file order.
func readPackage(dir string) (pkgDoc, declDocs []docPara, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	fset := token.NewFileSet()
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			continue // a file for another toolchain or a generator's template: not documentation
		}
		if f.Name.Name == "main" || strings.HasSuffix(f.Name.Name, "_test") {
			return nil, nil, nil
		}
		if f.Doc != nil {
			for _, t := range paragraphs(f.Doc.Text()) {
				pkgDoc = append(pkgDoc, docPara{name, t})
			}
		}
		for _, decl := range f.Decls {
			var doc *ast.CommentGroup
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if d.Name.IsExported() {
					doc = d.Doc
				}
			case *ast.GenDecl:
				if exportedSpec(d) {
					doc = d.Doc
				}
			}
			if doc != nil {
				for _, t := range paragraphs(doc.Text()) {
					declDocs = append(declDocs, docPara{name, t})
				}
			}
		}
	}
	return pkgDoc, declDocs, nil
}

func exportedSpec(d *ast.GenDecl) bool {
	for _, s := range d.Specs {
		switch s := s.(type) {
		case *ast.TypeSpec:
			if s.Name.IsExported() {
				return true
			}
		case *ast.ValueSpec:
			for _, n := range s.Names {
				if n.IsExported() {
					return true
				}
			}
		}
	}
	return false
}

// paragraphs returns the plain-text paragraphs of a doc comment (not its headings, code blocks or
// lists), each on one line.
func paragraphs(doc string) []string {
	var p comment.Parser
	var out []string
	for _, b := range p.Parse(doc).Content {
		para, ok := b.(*comment.Paragraph)
		if !ok {
			continue
		}
		var sb strings.Builder
		flatten(&sb, para.Text)
		if t := strings.Join(strings.Fields(sb.String()), " "); t != "" {
			out = append(out, t)
		}
	}
	return out
}

func flatten(sb *strings.Builder, text []comment.Text) {
	for _, t := range text {
		switch t := t.(type) {
		case comment.Plain:
			sb.WriteString(string(t))
		case comment.Italic:
			sb.WriteString(string(t))
		case *comment.Link:
			flatten(sb, t.Text)
		case *comment.DocLink:
			flatten(sb, t.Text)
		}
	}
}

// proseParagraph reports whether a paragraph reads as prose: minWords to maxWords words, ending a
// sentence, and no notice, deprecation or note to the maintainers.
func proseParagraph(t string, minWords, maxWords int) bool {
	n := len(strings.Fields(t))
	if n < minWords || n > maxWords || !strings.HasSuffix(t, ".") || !utf8.ValidString(t) {
		return false
	}
	for _, bad := range []string{"Copyright", "Deprecated:", "BUG(", "TODO", "go:generate", "DO NOT EDIT", "\t"} {
		if strings.Contains(t, bad) {
			return false
		}
	}
	return true
}

// Line is one line of the dataset: one sample as POST /v1/samples and `registryd ingest` take it.
type Line struct {
	Text       string          `json:"text"`
	Origin     string          `json:"origin"`
	Model      string          `json:"model,omitempty"`
	PromptID   *ExternalRef    `json:"prompt_id,omitempty"`
	Dataset    string          `json:"dataset"`
	ExternalID string          `json:"external_id"`
	Source     Source          `json:"source"`
	Metadata   json.RawMessage `json:"metadata"`
}

// ExternalRef names an earlier sample by its dataset and external_id.
type ExternalRef struct {
	Dataset    string `json:"dataset"`
	ExternalID string `json:"external_id"`
}

// Source is a sample's source, as the registry records it.
type Source struct {
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	URI     string `json:"uri,omitempty"`
	License string `json:"license"`
}

// Generate writes the dataset: every prompt, then every teacher's k answers to each prompt.
func Generate(c *Corpus, seed uint64) ([]byte, error) {
	var prompts []Paragraph
	train := map[string][]Paragraph{}
	for _, p := range c.Paragraphs {
		if p.Part == "prompt" {
			prompts = append(prompts, p)
		} else {
			train[p.Part] = append(train[p.Part], p)
		}
	}
	if len(prompts) == 0 {
		return nil, errors.New("the corpus has no prompts")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	ids := make([]string, len(prompts))
	for i, p := range prompts {
		ids[i] = fmt.Sprintf("%s/%03d", strings.TrimSuffix(strings.TrimPrefix(filepath.ToSlash(filepath.Dir(p.File)), "src/"), "/"), i+1)
		meta, _ := json.Marshal(map[string]string{"file": p.File})
		if err := enc.Encode(Line{
			Text: p.Text, Origin: "human", Dataset: promptDataset, ExternalID: ids[i],
			Source: Source{Kind: "public_dataset", Name: "Go standard library documentation (" + c.Header.GoVersion + ")",
				URI: "https://go.googlesource.com/go/+/refs/tags/" + c.Header.GoVersion + "/" + p.File, License: license},
			Metadata: meta,
		}); err != nil {
			return nil, err
		}
	}
	for t, teacher := range Teachers {
		if len(train[teacher.Part]) == 0 {
			return nil, fmt.Errorf("the corpus has no training text for %s (%s)", teacher.Name, teacher.Part)
		}
		chain := NewChain(teacher.Order, train[teacher.Part])
		for i, p := range prompts {
			for k := range AnswersPerTeacher {
				r := rand.New(rand.NewPCG(seed, uint64(t)<<32|uint64(i)<<8|uint64(k)))
				meta, _ := json.Marshal(struct {
					Seed   uint64 `json:"seed"`
					Answer int    `json:"answer"`
				}{seed, k + 1})
				if err := enc.Encode(Line{
					Text: chain.Answer(r, p.Text), Origin: "model", Model: teacher.Name + "@1",
					PromptID: &ExternalRef{Dataset: promptDataset, ExternalID: ids[i]},
					Dataset:  answerDataset, ExternalID: fmt.Sprintf("%s/%s/%d", ids[i], teacher.Name, k+1),
					Source:   Source{Kind: "synthetic", Name: teacher.Name + "@1 answers to Go doc prompts", License: license},
					Metadata: meta,
				}); err != nil {
					return nil, err
				}
			}
		}
	}
	return buf.Bytes(), nil
}

// Chain is a word Markov chain: for each run of Order words, the words that followed it in the
// training text, with repeats (so a draw follows their frequency), in the order they were seen.
type Chain struct {
	Order  int
	next   map[string][]string
	starts [][]string // the first Order words of each training sentence
}

// end marks the end of a paragraph among a state's successors.
const end = ""

// NewChain trains a chain of the given order on paragraphs.
func NewChain(order int, paras []Paragraph) *Chain {
	c := &Chain{Order: order, next: map[string][]string{}}
	for _, p := range paras {
		words := strings.Fields(p.Text)
		for i := range words {
			if i+order > len(words) {
				break
			}
			if i == 0 || strings.HasSuffix(words[i-1], ".") {
				c.starts = append(c.starts, words[i:i+order])
			}
			key := strings.Join(words[i:i+order], " ")
			succ := end
			if i+order < len(words) {
				succ = words[i+order]
			}
			c.next[key] = append(c.next[key], succ)
		}
	}
	return c
}

// Answer writes minAnswerWords to maxAnswerWords words in answer to a prompt: it starts from a run
// of the prompt's words that the chain knows (a random one), or from a training sentence's start,
// and walks the chain, ending at a sentence's end once long enough.
func (c *Chain) Answer(r *rand.Rand, prompt string) string {
	pw := strings.Fields(prompt)
	var known [][]string
	for i := 0; i+c.Order <= len(pw); i++ {
		state := pw[i : i+c.Order]
		// Starting on a short word ("the", "a") gives answers that have nothing to do with the prompt.
		if _, ok := c.next[strings.Join(state, " ")]; ok && len(strings.Trim(state[0], ".,;:()\"'")) > 3 {
			known = append(known, state)
		}
	}
	var words []string
	if len(known) > 0 {
		words = slices.Clone(known[r.IntN(len(known))])
	} else {
		words = slices.Clone(c.starts[r.IntN(len(c.starts))])
	}
	for len(words) < maxAnswerWords {
		succ := c.next[strings.Join(words[len(words)-c.Order:], " ")]
		w := end
		if len(succ) > 0 {
			w = succ[r.IntN(len(succ))]
		}
		if w == end {
			if len(words) >= minAnswerWords {
				break
			}
			if !strings.HasSuffix(words[len(words)-1], ".") {
				words[len(words)-1] += "."
			}
			words = append(words, c.starts[r.IntN(len(c.starts))]...)
			continue
		}
		words = append(words, w)
		if len(words) >= minAnswerWords && strings.HasSuffix(w, ".") {
			break
		}
	}
	if last := words[len(words)-1]; !strings.HasSuffix(last, ".") {
		words[len(words)-1] = strings.TrimRight(last, ",;:") + "."
	}
	// The first word may come from the middle of a sentence of the prompt.
	first, size := utf8.DecodeRuneInString(words[0])
	words[0] = string(unicode.ToUpper(first)) + words[0][size:]
	return strings.Join(words, " ")
}
