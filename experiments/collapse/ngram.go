package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"

	"github.com/pedigreeml/pedigree/metrics"
)

// vocab is the fixed word list every model of a run predicts over: the words of the human training
// set. Keeping it fixed makes perplexities of different generations comparable. Id 0 is the end of
// a paragraph; words are 1..n.
type vocab struct {
	words []string // words[0] is "</s>"
	ids   map[string]int32
}

const (
	endID = 0
	// bosID stands for the positions before a paragraph's first word; it is a context, never predicted.
	bosID = 1<<idBits - 1
	// idBits is the width of one id in a packed n-gram key.
	idBits = 21
)

func newVocab(texts []string) *vocab {
	set := map[string]bool{}
	for _, t := range texts {
		for _, w := range metrics.Tokenize(t) {
			set[w] = true
		}
	}
	words := make([]string, 0, len(set)+1)
	for w := range set {
		words = append(words, w)
	}
	slices.Sort(words)
	words = append([]string{"</s>"}, words...)
	ids := make(map[string]int32, len(words))
	for i, w := range words[1:] {
		ids[w] = int32(i + 1)
	}
	return &vocab{words: words, ids: ids}
}

// size is the number of outcomes a model predicts: the words and the end of a paragraph.
func (v *vocab) size() int { return len(v.words) }

// encode maps a text to word ids followed by endID; unknown words map to -1.
func (v *vocab) encode(text string) []int32 {
	toks := metrics.Tokenize(text)
	out := make([]int32, 0, len(toks)+1)
	for _, w := range toks {
		id, ok := v.ids[w]
		if !ok {
			id = -1
		}
		out = append(out, id)
	}
	return append(out, endID)
}

func key2(a, b int32) uint64    { return uint64(a)<<idBits | uint64(b) }
func key3(a, b, c int32) uint64 { return uint64(a)<<(2*idBits) | uint64(b)<<idBits | uint64(c) }

// level is one order of the model: for each context, the counts of what followed it, sorted by id
// (so that sampling does not depend on map order), with their discounted cumulative weights.
type level struct {
	count    map[uint64]float64 // (context, word) → count (raw for trigrams, continuation otherwise)
	contexts map[uint64]*follow
	discount float64
}

type follow struct {
	total float64 // the sum of the counts after this context
	next  []int32 // the words seen after it, by id
	cum   []float64
}

// ngramModel is an interpolated Kneser–Ney trigram model over a fixed vocabulary (Chen & Goodman
// 1999, "An empirical study of smoothing techniques for language modeling", section 3): a trigram's
// count less an absolute discount, the discounted mass handed to the bigram level, whose counts are
// continuation counts (how many distinct words preceded the bigram), and likewise to the unigram
// level, whose leftover mass is spread uniformly over the vocabulary. Every word keeps a small
// probability, the floor; what a model has not seen, it can produce only through that floor.
type ngramModel struct {
	v           *vocab
	tri, bi     level
	uni         level // one context, 0
	temperature float64
	tokens      int // training tokens, the end markers included
}

// trainModel counts the trigrams of texts (words outside the vocabulary break the chain: the
// n-grams that would contain them are not counted) and derives the Kneser–Ney levels.
func trainModel(v *vocab, texts []string, temperature float64) *ngramModel {
	m := &ngramModel{v: v, temperature: temperature}
	tri := map[uint64]float64{}
	for _, t := range texts {
		ids := v.encode(t)
		a, b := int32(bosID), int32(bosID)
		for _, c := range ids {
			if c >= 0 && a >= 0 && b >= 0 {
				tri[key3(a, b, c)]++
			}
			m.tokens++
			a, b = b, c
		}
	}
	mask := uint64(1)<<idBits - 1
	// Continuation counts: a bigram (b, c) counts the distinct a before it, a word c the distinct
	// bigram types (b, c) ending in it.
	bi := map[uint64]float64{}
	for k := range tri {
		bi[k&(mask<<idBits|mask)]++
	}
	uni := map[uint64]float64{}
	for k := range bi {
		uni[k&mask]++
	}
	m.tri = newLevel(tri, idBits, temperature)
	m.bi = newLevel(bi, idBits, temperature)
	m.uni = newLevel(uni, idBits, temperature)
	return m
}

// newLevel groups counts keyed (context<<shift | word) by context.
func newLevel(counts map[uint64]float64, shift uint, temperature float64) level {
	mask := uint64(1)<<shift - 1
	l := level{count: counts, contexts: map[uint64]*follow{}, discount: discount(counts)}
	keys := make([]uint64, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys) // by context, then by word
	for _, k := range keys {
		ctx := k >> shift
		c := l.contexts[ctx]
		if c == nil {
			c = &follow{}
			l.contexts[ctx] = c
		}
		n := counts[k]
		c.total += n
		c.next = append(c.next, int32(k&mask))
		w := n - l.discount
		if temperature != 1 {
			w = math.Pow(w, 1/temperature)
		}
		if len(c.cum) > 0 {
			w += c.cum[len(c.cum)-1]
		}
		c.cum = append(c.cum, w)
	}
	return l
}

// discount is Ney's estimate D = n1 / (n1 + 2 n2) from the numbers of n-grams seen once and twice,
// kept inside (0, 1) so that every seen n-gram keeps some mass and every level hands some down.
func discount(counts map[uint64]float64) float64 {
	var n1, n2 float64
	for _, c := range counts {
		switch c {
		case 1:
			n1++
		case 2:
			n2++
		}
	}
	if n1 == 0 {
		return 0.5
	}
	return min(max(n1/(n1+2*n2), 0.05), 0.95)
}

// prob returns P(w | context) at one level, interpolated with lower(w).
func (l *level) prob(ctx uint64, w int32, shift uint, lower float64) float64 {
	c := l.contexts[ctx]
	if c == nil {
		return lower
	}
	p := max(l.count[ctx<<shift|uint64(w)]-l.discount, 0) / c.total
	return p + l.discount*float64(len(c.next))/c.total*lower
}

// prob returns the model's P(w | a b); a and b may be bosID, and a negative (unknown) context word
// backs off to the levels below it.
func (m *ngramModel) prob(a, b, w int32) float64 {
	p := 1 / float64(m.v.size())
	p = m.uni.prob(0, w, idBits, p)
	if b < 0 {
		return p
	}
	p = m.bi.prob(uint64(b), w, idBits, p)
	if a < 0 {
		return p
	}
	return m.tri.prob(key2(a, b), w, idBits, p)
}

// sample draws the next word after a b: it picks a level as the interpolation does (the seen
// continuations' discounted mass, or the mass handed down) and a word within the level. At
// temperature 1 this is exact sampling from prob. At another temperature T each choice is tempered
// (the two-way level choice and the weights within the level raised to 1/T and renormalised): it
// sharpens (T < 1) or flattens (T > 1) the distribution as tempering the whole of it would, without
// computing it over the whole vocabulary at every step, but it is not exactly p^(1/T).
func (m *ngramModel) sample(rng *rand.Rand, a, b int32) int32 {
	for _, step := range []struct {
		l   *level
		ctx uint64
	}{{&m.tri, key2(a, b)}, {&m.bi, uint64(b)}, {&m.uni, 0}} {
		c := step.l.contexts[step.ctx]
		if c == nil {
			continue
		}
		handed := step.l.discount * float64(len(c.next)) / c.total
		if m.temperature != 1 {
			h, kept := math.Pow(handed, 1/m.temperature), math.Pow(1-handed, 1/m.temperature)
			handed = h / (h + kept)
		}
		if rng.Float64() < handed {
			continue
		}
		r := rng.Float64() * c.cum[len(c.cum)-1]
		i := sort.SearchFloat64s(c.cum, r)
		if i == len(c.cum) {
			i--
		}
		for c.cum[i] <= r && i < len(c.cum)-1 { // SearchFloat64s finds the first cum >= r
			i++
		}
		return c.next[i]
	}
	return int32(rng.IntN(m.v.size())) // the floor: uniform over the vocabulary and the end
}

// generate samples one paragraph of at most maxTokens words.
func (m *ngramModel) generate(rng *rand.Rand, maxTokens int) string {
	var sb strings.Builder
	a, b := int32(bosID), int32(bosID)
	for n := 0; n < maxTokens; {
		w := m.sample(rng, a, b)
		if w == endID {
			if n == 0 {
				continue // an empty paragraph is no text: draw again
			}
			break
		}
		n++
		if n > 1 {
			sb.WriteByte(' ')
		}
		sb.WriteString(m.v.words[w])
		a, b = b, w
	}
	return sb.String()
}

// evaluation is a model's fit to held-out human text.
type evaluation struct {
	Perplexity     float64 `json:"perplexity"`      // over the held-out tokens in the vocabulary, end markers included
	TailPerplexity float64 `json:"tail_perplexity"` // over the tokens that end a rare bigram (see tails)
	Bigram         float64 `json:"tail_bigrams"`    // share of the rare held-out bigrams the model has seen (above the floor)
	Trigram        float64 `json:"tail_trigrams"`   // likewise for rare trigrams
	Words          float64 `json:"tail_words"`      // share of the rare held-out words the model has seen
}

// tails are the held-out n-grams in the tail of the human distribution: those that occur in the
// human training set once or twice. A model keeps a tail n-gram when it has seen it; one that has
// not can produce it only through the floor of the lower levels.
type tails struct {
	heldout                  [][]int32
	bigrams, trigrams, words map[uint64]bool
}

// rareMax is the largest training count of a tail n-gram.
const rareMax = 2

func newTails(v *vocab, train, heldout []string) *tails {
	c2, c3, c1 := map[uint64]int{}, map[uint64]int{}, map[uint64]int{}
	for _, t := range train {
		walk(v.encode(t), func(a, b, c int32) {
			c3[key3(a, b, c)]++
			c2[key2(b, c)]++
			c1[uint64(c)]++
		})
	}
	t := &tails{bigrams: map[uint64]bool{}, trigrams: map[uint64]bool{}, words: map[uint64]bool{}}
	for _, h := range heldout {
		ids := v.encode(h)
		t.heldout = append(t.heldout, ids)
		walk(ids, func(a, b, c int32) {
			if n := c3[key3(a, b, c)]; n > 0 && n <= rareMax {
				t.trigrams[key3(a, b, c)] = true
			}
			if n := c2[key2(b, c)]; b != bosID && n > 0 && n <= rareMax {
				t.bigrams[key2(b, c)] = true
			}
			if n := c1[uint64(c)]; c != endID && n > 0 && n <= rareMax {
				t.words[uint64(c)] = true
			}
		})
	}
	return t
}

// walk calls fn for each trigram of ids (with bosID before the start) that has no unknown word.
func walk(ids []int32, fn func(a, b, c int32)) {
	a, b := int32(bosID), int32(bosID)
	for _, c := range ids {
		if a >= 0 && b >= 0 && c >= 0 {
			fn(a, b, c)
		}
		a, b = b, c
	}
}

func (m *ngramModel) evaluate(t *tails) evaluation {
	var logp, tailLogp float64
	var n, tailN int
	for _, ids := range t.heldout {
		a, b := int32(bosID), int32(bosID)
		for _, c := range ids {
			if c >= 0 { // tokens outside the vocabulary are left out, the same for every model
				lp := math.Log(m.prob(a, b, c))
				logp += lp
				n++
				if b >= 0 && t.bigrams[key2(b, c)] {
					tailLogp += lp
					tailN++
				}
			}
			a, b = b, c
		}
	}
	mask := uint64(1)<<idBits - 1
	seen := func(set map[uint64]bool, l *level) float64 {
		k := 0
		for g := range set {
			if l.count[g] > 0 {
				k++
			}
		}
		return float64(k) / float64(max(len(set), 1))
	}
	// A bigram is seen when some trigram ends in it: its continuation count is positive.
	words := 0
	for w := range t.words {
		if m.uni.count[w&mask] > 0 {
			words++
		}
	}
	return evaluation{
		Perplexity:     math.Exp(-logp / float64(max(n, 1))),
		TailPerplexity: math.Exp(-tailLogp / float64(max(tailN, 1))),
		Bigram:         seen(t.bigrams, &m.bi),
		Trigram:        seen(t.trigrams, &m.tri),
		Words:          float64(words) / float64(max(len(t.words), 1)),
	}
}
