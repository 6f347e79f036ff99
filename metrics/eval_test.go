package metrics_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pedigreeml/pedigree/metrics"
)

// evalExample is one line of testdata/toxicity_eval.jsonl, a set written and labelled by the
// project's engineers (see BENCHMARKS.md).
type evalExample struct {
	Text     string `json:"text"`
	Toxic    bool   `json:"toxic"`
	Category string `json:"category"`
	Lang     string `json:"lang"`
}

func loadEval(tb testing.TB, name string) []evalExample {
	tb.Helper()
	f, err := os.Open(name)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []evalExample
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		var ex evalExample
		if err := dec.Decode(&ex); err != nil || ex.Text == "" || ex.Category == "" {
			tb.Fatalf("%s:%d: %v (text and category are required)", name, n, err)
		}
		out = append(out, ex)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// evalCounts is a confusion matrix at one threshold.
type evalCounts struct{ tp, fp, fn, tn int }

func (c *evalCounts) add(toxic, flagged bool) {
	switch {
	case toxic && flagged:
		c.tp++
	case toxic:
		c.fn++
	case flagged:
		c.fp++
	default:
		c.tn++
	}
}

func (c evalCounts) precision() float64 { return ratio(c.tp, c.tp+c.fp) }
func (c evalCounts) recall() float64    { return ratio(c.tp, c.tp+c.fn) }
func (c evalCounts) f1() float64        { return ratio(2*c.tp, 2*c.tp+c.fp+c.fn) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// evalThreshold is the cut the evaluation uses: the default policy's max_toxicity.
const evalThreshold = 0.5

// evaluate scores every example and returns the overall counts, the counts per category, and the
// examples it got wrong.
func evaluate(tb testing.TB, tox metrics.ToxicityScorer, set []evalExample) (evalCounts, map[string]*evalCounts, []string) {
	tb.Helper()
	var all evalCounts
	byCat := map[string]*evalCounts{}
	var wrong []string
	for _, ex := range set {
		v, err := tox.Toxicity(context.Background(), ex.Text, metrics.Tokenize(ex.Text))
		if err != nil {
			tb.Fatal(err)
		}
		flagged := v >= evalThreshold
		all.add(ex.Toxic, flagged)
		if byCat[ex.Category] == nil {
			byCat[ex.Category] = &evalCounts{}
		}
		byCat[ex.Category].add(ex.Toxic, flagged)
		if flagged != ex.Toxic {
			wrong = append(wrong, fmt.Sprintf("%-16s %.2f %q", ex.Category, v, ex.Text))
		}
	}
	return all, byCat, wrong
}

// evalReport formats the counts as the Markdown table in BENCHMARKS.md.
func evalReport(all evalCounts, byCat map[string]*evalCounts) string {
	var b strings.Builder
	fmt.Fprintf(&b, "overall: precision %.3f recall %.3f F1 %.3f (tp %d fp %d fn %d tn %d)\n\n",
		all.precision(), all.recall(), all.f1(), all.tp, all.fp, all.fn, all.tn)
	b.WriteString("| category | n | flagged | flagged share |\n|---|---:|---:|---:|\n")
	cats := make([]string, 0, len(byCat))
	for c := range byCat {
		cats = append(cats, c)
	}
	slices.Sort(cats)
	for _, c := range cats {
		k := byCat[c]
		n, flagged := k.tp+k.fp+k.fn+k.tn, k.tp+k.fp
		fmt.Fprintf(&b, "| %s | %d | %d | %.2f |\n", c, n, flagged, ratio(flagged, n))
	}
	return b.String()
}

// The evaluation sets: the development set, which the lexicon's rules were written against, and a
// held-out set written after the rules and never used to change them (see BENCHMARKS.md).
const (
	evalSet     = "testdata/toxicity_eval.jsonl"
	holdoutSet  = "testdata/toxicity_holdout.jsonl"
	minEvalF1   = 0.97 // the F1 reached on evalSet (0.992), less a margin
	minHoldout  = 0.62 // the F1 reached on holdoutSet (0.650), less a margin
	minEvalSize = 300
)

// TestToxicityEval scores the labelled evaluation sets with the built-in lexicon and fails if its F1
// falls below what it reached when written. Print the reports of both lexicons and the misclassified
// examples with
//
//	PEDIGREE_EVAL_REPORT=1 go test ./metrics -run TestToxicityEval -v
//
// PEDIGREE_EVAL_SCORER, a --toxicity-scorer value (a tei: or openai: classifier server a team runs),
// adds that scorer to the report, without a floor.
func TestToxicityEval(t *testing.T) {
	scorers := []metrics.ToxicityScorer{metrics.NewLexiconV1Scorer(), metrics.NewLexiconScorer()}
	if spec := os.Getenv("PEDIGREE_EVAL_SCORER"); spec != "" {
		tox, err := metrics.ParseToxicityScorer(spec, 30*time.Second)
		if err != nil {
			t.Fatalf("PEDIGREE_EVAL_SCORER: %v", err)
		}
		scorers = append(scorers, tox)
	}
	for _, tt := range []struct {
		name  string
		file  string
		minF1 float64
	}{{"Development", evalSet, minEvalF1}, {"HeldOut", holdoutSet, minHoldout}} {
		t.Run(tt.name, func(t *testing.T) {
			set := loadEval(t, tt.file)
			if tt.file == evalSet && len(set) < minEvalSize {
				t.Errorf("%s has %d examples, want at least %d", tt.file, len(set), minEvalSize)
			}
			for _, tox := range scorers {
				all, byCat, wrong := evaluate(t, tox, set)
				if os.Getenv("PEDIGREE_EVAL_REPORT") != "" {
					t.Logf("%s on %s, threshold %.2f, %d examples\n%s", tox.ID(), tt.file, evalThreshold, len(set), evalReport(all, byCat))
					t.Logf("misclassified:\n%s", strings.Join(wrong, "\n"))
				}
				if _, v2 := tox.(*metrics.LexiconScorer); v2 && all.f1() < tt.minF1 {
					t.Errorf("%s: F1 %.3f on %s, below %.3f", tox.ID(), all.f1(), tt.file, tt.minF1)
				}
			}
		})
	}
}
