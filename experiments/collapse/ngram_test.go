package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

var toyTexts = []string{
	"the reader reads bytes from the stream",
	"the writer writes bytes to the stream",
	"the reader returns an error at the end of the stream",
	"a buffer holds bytes for the reader and the writer",
	"close closes the stream",
}

// TestProbabilitiesSumToOne checks that the smoothed distribution after any context, seen or not,
// sums to one over the vocabulary and the end marker.
func TestProbabilitiesSumToOne(t *testing.T) {
	v := newVocab(toyTexts)
	m := trainModel(v, toyTexts, 1)
	the, reader, stream := v.ids["the"], v.ids["reader"], v.ids["stream"]
	for _, ctx := range []struct {
		name string
		a, b int32
	}{
		{"start", bosID, bosID},
		{"seen trigram context", the, reader},
		{"seen bigram only", stream, the},
		{"unseen context", reader, reader},
		{"unknown word before", -1, the},
		{"unknown context", -1, -1},
	} {
		t.Run(ctx.name, func(t *testing.T) {
			sum := 0.0
			for w := range v.size() {
				p := m.prob(ctx.a, ctx.b, int32(w))
				if !(p > 0) {
					t.Fatalf("P(%s) = %g; every outcome keeps a floor", v.words[w], p)
				}
				sum += p
			}
			if math.Abs(sum-1) > 1e-9 {
				t.Fatalf("probabilities sum to %.12f", sum)
			}
		})
	}
}

// TestSampleFollowsProb draws many words after one context and compares their frequencies with prob.
func TestSampleFollowsProb(t *testing.T) {
	v := newVocab(toyTexts)
	m := trainModel(v, toyTexts, 1)
	a, b := v.ids["the"], v.ids["reader"]
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 200_000
	counts := make([]int, v.size())
	for range n {
		counts[m.sample(rng, a, b)]++
	}
	for w := range v.size() {
		p := m.prob(a, b, int32(w))
		got := float64(counts[w]) / n
		if sd := math.Sqrt(p * (1 - p) / n); math.Abs(got-p) > 5*sd+1e-4 {
			t.Errorf("%q: sampled %.4f, P = %.4f", v.words[w], got, p)
		}
	}
}

// TestTailsAndCoverage checks the tail sets and that a model keeps exactly the tail n-grams it saw.
func TestTailsAndCoverage(t *testing.T) {
	v := newVocab(toyTexts)
	held := []string{"the reader reads bytes from the buffer", "close the writer"}
	tl := newTails(v, toyTexts, held)
	if !tl.bigrams[key2(v.ids["reader"], v.ids["reads"])] {
		t.Error("\"reader reads\" (once in training) is not a tail bigram")
	}
	if tl.bigrams[key2(v.ids["the"], v.ids["stream"])] {
		t.Error("\"the stream\" (four times in training) is a tail bigram")
	}
	full := trainModel(v, toyTexts, 1).evaluate(tl)
	if full.Bigram != 1 || full.Trigram != 1 || full.Words != 1 {
		t.Errorf("the model of the training set keeps %+v of the tails; want all", full)
	}
	part := trainModel(v, toyTexts[1:], 1).evaluate(tl) // without the sentence that has "reader reads"
	if part.Bigram >= 1 || part.Perplexity <= full.Perplexity {
		t.Errorf("dropping a training sentence kept %.2f of the tail bigrams at perplexity %.2f (full: %.2f)", part.Bigram, part.Perplexity, full.Perplexity)
	}
}

// TestTemperatureSharpens checks that a low temperature concentrates the draws on the most frequent
// continuation.
func TestTemperatureSharpens(t *testing.T) {
	var texts []string
	for i := range 40 { // many contexts, so that the discounts are moderate
		texts = append(texts, fmt.Sprintf("w%d a b", i), fmt.Sprintf("w%d a b", i), fmt.Sprintf("v%d a c", i))
	}
	v := newVocab(texts)
	share := func(temp float64) float64 {
		m := trainModel(v, texts, temp)
		rng := rand.New(rand.NewPCG(3, 4))
		hits := 0
		for range 20_000 {
			if m.sample(rng, v.ids["w1"], v.ids["a"]) == v.ids["b"] {
				hits++
			}
		}
		return float64(hits) / 20_000
	}
	if cold, warm := share(0.3), share(1); cold <= warm {
		t.Errorf("P(b | a) drawn at temperature 0.3: %.3f, at 1: %.3f; a low temperature must sharpen", cold, warm)
	}
}
