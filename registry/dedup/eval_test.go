package dedup

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

// found reports whether a text would be refused as laundered model text: equal after normalization,
// or sharing a band key with it and as similar as threshold.
func found(model, text string, threshold float64) (bool, float64) {
	if Key(model) == Key(text) {
		return true, 1
	}
	mw, tw := Words(model), Words(text)
	a, b := SketchWords(mw), SketchWords(tw)
	shared := false
	for i := range a.Bands {
		if i < len(b.Bands) && a.Bands[i] == b.Bands[i] {
			shared = true
		}
	}
	sim := Jaccard(Shingles(mw), Shingles(tw))
	return shared && sim >= threshold, sim
}

// editWords replaces a fraction of the text's words with words drawn from vocab.
func editWords(r *rand.Rand, text string, frac float64, vocab []string) string {
	w := strings.Fields(text)
	k := max(1, int(frac*float64(len(w))+0.5))
	for _, i := range r.Perm(len(w))[:k] {
		w[i] = vocab[r.IntN(len(vocab))]
	}
	return strings.Join(w, " ")
}

// TestLaunderingEvaluation measures the laundering refusal on real prose: paragraphs of Go's own
// documentation (BSD-3-Clause) stand for model output, and variants of them (Unicode tricks, and
// 1 %, 5 %, 10 % and 20 % of words replaced) for laundered copies; recall is the share of variants
// refused. The false-refusal rate is the share of paragraphs that would be refused as human because
// another paragraph of the corpus were model output: each is compared with every other. It fails
// if recall on the tricks and on 1 % and 5 % edits, or the false-refusal rate, fall back from what
// the default threshold reaches. PEDIGREE_EVAL_VERBOSE=1 prints the table for BENCHMARKS.md.
func TestLaunderingEvaluation(t *testing.T) {
	paras := goDocParagraphs(t, 5000, 20)
	if len(paras) < 500 {
		t.Skipf("only %d paragraphs in Go's documentation here", len(paras))
	}
	const threshold = 0.5 // registry.DefaultNearThreshold, which this package cannot import
	var vocab []string
	for _, p := range paras {
		vocab = append(vocab, strings.Fields(p)...)
	}
	r := rand.New(rand.NewPCG(7, 7))
	type row struct {
		name           string
		refused, total int
	}
	var rows []row
	tricks := 0
	for name, trick := range Tricks {
		n := 0
		for _, p := range paras[:300] {
			if ok, _ := found(p, trick(p), threshold); ok {
				n++
			}
		}
		tricks += n
		if n < 300 {
			rows = append(rows, row{"trick " + name, n, 300})
		}
	}
	rows = append(rows, row{fmt.Sprintf("all %d Unicode and punctuation tricks", len(Tricks)), tricks, 300 * len(Tricks)})
	recall := map[float64]float64{}
	for _, frac := range []float64{0.01, 0.05, 0.10, 0.20} {
		n := 0
		for _, p := range paras {
			if ok, _ := found(p, editWords(r, p, frac, vocab), threshold); ok {
				n++
			}
		}
		recall[frac] = float64(n) / float64(len(paras))
		rows = append(rows, row{fmt.Sprintf("%.0f %% of words replaced", frac*100), n, len(paras)})
	}
	// False refusals: a paragraph is refused if any other paragraph, as model text, would refuse it.
	sets := make([]map[uint64]struct{}, len(paras))
	sketches := make([]Sketch, len(paras))
	keys := make([][32]byte, len(paras))
	for i, p := range paras {
		w := Words(p)
		sets[i], sketches[i], keys[i] = Shingles(w), SketchWords(w), Key(p)
	}
	falseRefusals := 0
	for i := range paras {
		for j := range paras {
			if i == j {
				continue
			}
			if keys[i] == keys[j] {
				falseRefusals++
				break
			}
			shared := false
			for b := range sketches[i].Bands {
				if b < len(sketches[j].Bands) && sketches[i].Bands[b] == sketches[j].Bands[b] {
					shared = true
					break
				}
			}
			if shared && Jaccard(sets[i], sets[j]) >= threshold {
				falseRefusals++
				break
			}
		}
	}
	rows = append(rows, row{"distinct paragraphs refused (false refusals)", falseRefusals, len(paras)})
	if os.Getenv("PEDIGREE_EVAL_VERBOSE") != "" {
		fmt.Printf("| variant (%d paragraphs of Go's documentation) | refused | of | rate |\n|---|---:|---:|---:|\n", len(paras))
		for _, r := range rows {
			fmt.Printf("| %s | %d | %d | %.3f |\n", r.name, r.refused, r.total, float64(r.refused)/float64(r.total))
		}
	}
	if tricks != 300*len(Tricks) {
		t.Errorf("tricks: %d of %d refused", tricks, 300*len(Tricks))
	}
	if recall[0.01] < 0.97 || recall[0.05] < 0.85 {
		t.Errorf("recall: %.3f at 1 %% edits, %.3f at 5 %%", recall[0.01], recall[0.05])
	}
	if rate := float64(falseRefusals) / float64(len(paras)); rate > 0.05 {
		t.Errorf("false refusals: %d of %d", falseRefusals, len(paras))
	}
}
