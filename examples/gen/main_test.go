package main

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pedigreeml/pedigree/registry"
)

const (
	corpusFile  = "../source/go-doc.jsonl"
	datasetFile = "../quickstart.jsonl"
	licenseFile = "../LICENSE-Go"
)

func readCorpus(t *testing.T) *Corpus {
	t.Helper()
	b, err := os.ReadFile(corpusFile)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseCorpus(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCommittedDatasetIsGenerated checks that examples/quickstart.jsonl is, byte for byte, what the
// generator writes from the committed corpus and the default seed.
func TestCommittedDatasetIsGenerated(t *testing.T) {
	want, err := Generate(readCorpus(t), DefaultSeed)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(datasetFile)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(got, want) {
		return
	}
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range min(len(gl), len(wl)) {
		if gl[i] != wl[i] {
			at := 0 // the first differing byte, shown with some context
			for at < min(len(gl[i]), len(wl[i])) && gl[i][at] == wl[i][at] {
				at++
			}
			from := max(0, at-60)
			t.Fatalf("examples/quickstart.jsonl differs from the generator's output at line %d, byte %d (run go run ./examples/gen):\ncommitted: …%.120s\ngenerated: …%.120s",
				i+1, at+1, gl[i][from:], wl[i][from:])
		}
	}
	t.Fatalf("examples/quickstart.jsonl has %d lines, the generator writes %d (run go run ./examples/gen)", len(gl), len(wl))
}

// TestDatasetIsIngestible reads the committed dataset as the registry would and checks its shape:
// every line a valid sample, prompts before the answers that name them, enough human samples for the
// default policy, and k answers from each of two teachers for every prompt.
func TestDatasetIsIngestible(t *testing.T) {
	b, err := os.ReadFile(datasetFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 600<<10 {
		t.Errorf("the dataset is %d bytes; keep it small", len(b))
	}
	type key struct{ dataset, id string }
	seen := map[key]bool{}
	answers := map[string]map[string]int{} // prompt → model → answers
	humans := 0
	for n, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields() // as the API decodes a sample
		var s registry.NewSample
		if err := dec.Decode(&s); err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		if err := s.Validate(""); err != nil {
			t.Fatalf("line %d: %s", n+1, registry.ErrorMessage(err))
		}
		if s.ExternalID == "" || seen[key{s.Dataset, s.ExternalID}] {
			t.Fatalf("line %d: external_id %q is missing or repeated in %s", n+1, s.ExternalID, s.Dataset)
		}
		seen[key{s.Dataset, s.ExternalID}] = true
		if s.Source == nil || s.Source.License != "BSD-3-Clause" {
			t.Fatalf("line %d: source %+v; every sample derives from BSD-3-Clause text", n+1, s.Source)
		}
		switch s.Origin {
		case registry.OriginHuman:
			humans++
			if s.Source.Kind != "public_dataset" || !strings.Contains(s.Source.URI, "/src/") {
				t.Fatalf("line %d: a prompt's source must name its Go file: %+v", n+1, s.Source)
			}
		case registry.OriginModel:
			p := s.PromptID.ExternalID
			if !seen[key{s.PromptID.Dataset, p}] {
				t.Fatalf("line %d: answers prompt %s/%s, which no earlier line holds", n+1, s.PromptID.Dataset, p)
			}
			if answers[p] == nil {
				answers[p] = map[string]int{}
			}
			answers[p][s.Model]++
			if words := len(strings.Fields(*s.Text)); words < minAnswerWords || words > maxAnswerWords+1 {
				t.Errorf("line %d: an answer of %d words; want %d to %d", n+1, words, minAnswerWords, maxAnswerWords)
			}
		}
	}
	if humans < 100 {
		t.Errorf("%d human samples; the default policy needs at least 100 in a mix", humans)
	}
	if len(answers) != humans {
		t.Errorf("%d of %d prompts have answers", len(answers), humans)
	}
	for p, byModel := range answers {
		if len(byModel) != len(Teachers) {
			t.Fatalf("prompt %s has answers from %v; want every teacher", p, byModel)
		}
		for m, n := range byModel {
			if n != AnswersPerTeacher {
				t.Fatalf("prompt %s: %d answers from %s; want %d", p, n, m, AnswersPerTeacher)
			}
		}
	}
}

// TestSeedChangesOnlyTheAnswers checks that the seed drives the teachers and nothing else.
func TestSeedChangesOnlyTheAnswers(t *testing.T) {
	c := readCorpus(t)
	a, err := Generate(c, DefaultSeed)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate(c, DefaultSeed+1)
	if err != nil {
		t.Fatal(err)
	}
	al, bl := strings.Split(strings.TrimSuffix(string(a), "\n"), "\n"), strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(al) != len(bl) {
		t.Fatalf("%d lines with one seed, %d with another", len(al), len(bl))
	}
	same, answers := 0, 0
	for i := range al {
		var x, y Line
		if err := json.Unmarshal([]byte(al[i]), &x); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(bl[i]), &y); err != nil {
			t.Fatal(err)
		}
		if x.Origin == "human" {
			if al[i] != bl[i] {
				t.Fatalf("line %d: a prompt changed with the seed", i+1)
			}
			continue
		}
		answers++
		if x.Text == y.Text {
			same++
		}
	}
	// Two walks may meet by chance; most must not.
	if same > answers/20 {
		t.Errorf("%d of %d answers have the same text under another seed", same, answers)
	}
}

// TestChainFollowsItsTraining checks the Markov chain on a corpus small enough to know every walk:
// each run of Order words in an answer occurred in the training text or joins two of its sentences.
func TestChainFollowsItsTraining(t *testing.T) {
	paras := []Paragraph{{Text: "The reader reads bytes from the source. The writer writes bytes to the sink."}}
	c := NewChain(1, paras)
	r := rand.New(rand.NewPCG(1, 2))
	// Words compare without case and a final period: an answer's first word is capitalized, and its
	// last gets a period.
	norm := func(w string) string { return strings.ToLower(strings.TrimSuffix(w, ".")) }
	follows := map[string]bool{}
	words := strings.Fields(paras[0].Text)
	for i := 0; i+1 < len(words); i++ {
		follows[norm(words[i])+" "+norm(words[i+1])] = true
	}
	for range 20 {
		ans := strings.Fields(c.Answer(r, "Bytes from a reader"))
		if len(ans) < minAnswerWords || len(ans) > maxAnswerWords+1 || !strings.HasSuffix(ans[len(ans)-1], ".") {
			t.Fatalf("answer of %d words ending %q", len(ans), ans[len(ans)-1])
		}
		// "Bytes" is not a state of the chain (it knows "bytes") and "a" is too short to start on.
		if ans[0] != "From" && ans[0] != "Reader" {
			t.Fatalf("the answer starts with %q, not a word of the prompt that the chain knows", ans[0])
		}
		for i := 0; i+1 < len(ans); i++ {
			sentence := strings.HasSuffix(ans[i], ".") && ans[i+1] == "The" // a new sentence after the text ran out
			if !follows[norm(ans[i])+" "+norm(ans[i+1])] && !sentence {
				t.Fatalf("%q follows %q in an answer but never in the training text", ans[i+1], ans[i])
			}
		}
	}
}

// TestCorpusIsExtractedFromGo re-extracts the corpus from the installed Go's sources and compares it
// with the committed one, with Go's licence. Go's doc comments change between releases, so this
// runs only with the Go version the corpus was extracted from.
func TestCorpusIsExtractedFromGo(t *testing.T) {
	c := readCorpus(t)
	goroot, version, err := goEnv()
	if err != nil {
		t.Skipf("no go command: %v", err)
	}
	if version != c.Header.GoVersion {
		t.Skipf("the corpus comes from %s; this is %s", c.Header.GoVersion, version)
	}
	got, err := Extract(goroot, version)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(corpusFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Marshal(), want) {
		t.Error("examples/source/go-doc.jsonl differs from what go run ./examples/gen -extract writes")
	}
	for _, p := range got.Paragraphs {
		if _, err := os.Stat(filepath.Join(goroot, p.File)); err != nil {
			t.Fatalf("the corpus names %s: %v", p.File, err)
		}
	}
	lic, err := os.ReadFile(filepath.Join(goroot, "LICENSE"))
	if err != nil {
		t.Fatal(err)
	}
	if shipped, err := os.ReadFile(licenseFile); err != nil || !bytes.Equal(shipped, lic) {
		t.Errorf("examples/LICENSE-Go is not Go's LICENSE (%v)", err)
	}
}
