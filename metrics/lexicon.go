package metrics

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"hash/maphash"
	"math"
	"strconv"
	"strings"
)

// lexiconV1Version versions the lexicon file format, its matching rules and the probability formula.
// The ID also carries TokenizerVersion and a hash of the word list, so those change it by themselves.
const lexiconV1Version = "lexicon/1"

// The probability formula's constants; see LexiconV1Scorer.
const (
	lexiconAlpha     = 2.5  // how fast the probability rises with the weight of the matches
	lexiconRefLength = 10.0 // benign tokens a text may have before they start to dilute the matches
)

//go:embed lexicon/en.txt
var lexiconEN string

// LexiconV1Scorer is the first built-in lexicon scorer ("lexicon/1"), kept so that scores stored with
// it can be reproduced and compared (see LexiconScorer, which replaced it as the default). It matches
// tokens against an embedded word list (lexicon/en.txt, written for this project), where each word has
// a weight w in (0, 1]: 1.00 for slurs, 0.60 for strong profanity and insults, 0.25 for mild ones.
//
// A token matches a listed word exactly; failing that, a token ending in "'s" matches its stem, and a
// hyphenated token matches with the largest weight among its hyphen-separated parts. With S the sum
// of the weights of the matching tokens (repeats count again) and B the number of tokens that match
// nothing, the probability is
//
//	p = 1 − exp(−2.5 · S / max(1, √(B / 10)))
//
// so p is 0 without matches and rises with every further or more severe match (S grows), while
// benign text beyond ten tokens dilutes the matches with the square root of its length: a single
// severe word scores 0.92 in a short sentence and about 0.52 in a 120-word text, a single mild word
// 0.46 and about 0.17. Diluting by benign tokens only (not by all tokens) keeps p monotone: adding a
// matching token never lowers it. p is always in [0, 1).
//
// A LexiconV1Scorer is immutable and safe for concurrent use.
type LexiconV1Scorer struct {
	id      string
	seed    maphash.Seed
	mask    uint64
	slots   []uint16 // open addressing: index into entries + 1, 0 = empty
	entries []lexEntry
}

type lexEntry struct {
	hash   uint64
	word   string
	weight int32 // hundredths
}

var _ ToxicityScorer = (*LexiconV1Scorer)(nil)

// NewLexiconV1Scorer returns the first built-in lexicon scorer. Its word list is embedded in the binary and
// checked by the package tests, so this cannot fail at run time.
func NewLexiconV1Scorer() *LexiconV1Scorer {
	l, err := newLexiconV1Scorer(lexiconEN)
	if err != nil {
		panic("metrics: embedded lexicon: " + err.Error())
	}
	return l
}

func newLexiconV1Scorer(data string) (*LexiconV1Scorer, error) {
	words, err := parseLexicon(data)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(data))
	l := &LexiconV1Scorer{
		id:   lexiconV1Version + "+" + TokenizerVersion + "+" + hex.EncodeToString(sum[:4]),
		seed: maphash.MakeSeed(),
	}
	size := 16
	for size < 4*len(words) { // sparse, so that most lookups of benign words end at an empty slot
		size <<= 1
	}
	if len(words) >= math.MaxUint16 {
		return nil, fmt.Errorf("too many words (%d)", len(words))
	}
	l.mask, l.slots = uint64(size-1), make([]uint16, size)
	for _, w := range words {
		h := maphash.String(l.seed, w.word)
		i := h & l.mask
		for l.slots[i] != 0 {
			i = (i + 1) & l.mask
		}
		l.entries = append(l.entries, lexEntry{hash: h, word: w.word, weight: w.weight})
		l.slots[i] = uint16(len(l.entries))
	}
	return l, nil
}

type lexWord struct {
	word   string
	weight int32
}

// parseLexicon reads the word list format described in lexicon/en.txt.
func parseLexicon(data string) ([]lexWord, error) {
	var out []lexWord
	seen := map[string]bool{}
	weight := int32(0)
	for n, line := range strings.Split(data, "\n") {
		line, _, _ = strings.Cut(line, "#")
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if fields[0] == "@weight" {
			if len(fields) != 2 {
				return nil, fmt.Errorf("line %d: want \"@weight W\"", n+1)
			}
			f, err := strconv.ParseFloat(fields[1], 64)
			h := math.Round(f * 100)
			if err != nil || !(h >= 1 && h <= 100) || math.Abs(f*100-h) > 1e-9 {
				return nil, fmt.Errorf("line %d: weight %q: want 0 < W <= 1 with at most two decimals", n+1, fields[1])
			}
			weight = int32(h)
			continue
		}
		if weight == 0 {
			return nil, fmt.Errorf("line %d: word before the first @weight", n+1)
		}
		for _, w := range fields {
			if toks := Tokenize(w); len(toks) != 1 || toks[0] != w {
				return nil, fmt.Errorf("line %d: %q is not a single lower-case token (tokenizes as %q)", n+1, w, toks)
			}
			if seen[w] {
				return nil, fmt.Errorf("line %d: duplicate word %q", n+1, w)
			}
			seen[w] = true
			out = append(out, lexWord{word: w, weight: weight})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no words")
	}
	return out, nil
}

// ID returns "lexicon/1+" TokenizerVersion "+" and the first 8 hex digits of the word list's SHA-256.
func (l *LexiconV1Scorer) ID() string { return l.id }

// Toxicity returns the probability described on LexiconV1Scorer. It uses tokens, or Tokenize(text)
// when tokens is nil, and never fails.
func (l *LexiconV1Scorer) Toxicity(_ context.Context, text string, tokens []string) (float64, error) {
	if tokens == nil {
		tokens = Tokenize(text)
	}
	var sum int64
	hits := 0
	for _, tok := range tokens {
		if w := l.weightString(tok); w > 0 {
			sum += int64(w)
			hits++
		}
	}
	return lexiconProbability(sum, len(tokens)-hits), nil
}

// fromState is Toxicity over the tokens interned in st (with this lexicon), type by type. The
// integer sums make it identical to Toxicity whatever the order of summation.
func (l *LexiconV1Scorer) fromState(st *state) float64 {
	var sum int64
	hits := 0
	for _, t := range st.types {
		if t.weight > 0 {
			sum += int64(t.weight) * int64(t.count)
			hits += int(t.count)
		}
	}
	return lexiconProbability(sum, len(st.ids)-hits)
}

// lexiconProbability is the formula on LexiconV1Scorer; sum is in hundredths.
func lexiconProbability(sum int64, benign int) float64 {
	if sum == 0 {
		return 0
	}
	dilution := 1.0
	if benign > lexiconRefLength {
		dilution = math.Sqrt(float64(benign) / lexiconRefLength)
	}
	return 1 - math.Exp(-lexiconAlpha*(float64(sum)/100)/dilution)
}

// weightBytes is the weight of a token whose hash (with l.seed) is h.
func (l *LexiconV1Scorer) weightBytes(tok []byte, h uint64) int32 {
	if w := l.getBytes(tok, h); w > 0 {
		return w
	}
	for _, c := range tok {
		if c == '\'' || c == '-' {
			return l.weightString(string(tok)) // rare: the inflection rules
		}
	}
	return 0
}

// weightString is the weight of a token, by the matching rules on LexiconV1Scorer.
func (l *LexiconV1Scorer) weightString(tok string) int32 {
	if w := l.getStem(tok); w > 0 || strings.IndexByte(tok, '-') < 0 {
		return w
	}
	var best int32
	for rest := tok; rest != ""; {
		var part string
		part, rest, _ = strings.Cut(rest, "-")
		best = max(best, l.getStem(part))
	}
	return best
}

// getStem looks tok up, and failing that its stem without a possessive "'s".
func (l *LexiconV1Scorer) getStem(tok string) int32 {
	if w := l.getString(tok); w > 0 {
		return w
	}
	if stem, ok := strings.CutSuffix(tok, "'s"); ok && stem != "" {
		return l.getString(stem)
	}
	return 0
}

func (l *LexiconV1Scorer) getString(tok string) int32 {
	h := maphash.String(l.seed, tok)
	for i := h & l.mask; ; i = (i + 1) & l.mask {
		e := l.slots[i]
		if e == 0 {
			return 0
		}
		if x := &l.entries[e-1]; x.hash == h && x.word == tok {
			return x.weight
		}
	}
}

func (l *LexiconV1Scorer) getBytes(tok []byte, h uint64) int32 {
	for i := h & l.mask; ; i = (i + 1) & l.mask {
		e := l.slots[i]
		if e == 0 {
			return 0
		}
		if x := &l.entries[e-1]; x.hash == h && x.word == string(tok) {
			return x.weight
		}
	}
}
