package metrics

import (
	"bytes"
	"context"
	"math"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/mtibben/confusables"
)

// lexiconVersion versions the built-in lexicon's matching rules, context rules and formula; the ID
// also carries a hash of every list and rule file, so a change to those changes it by itself.
const lexiconVersion = "lexicon/2"

// lexiconWindow is how far (in tokens, either way) a @sense context word may be from the word it
// disambiguates; directedWindow is how far after a second-person word an insult is aimed.
const (
	lexiconWindow  = 8
	directedWindow = 3
	directedWeight = 60
)

// LexiconScorer is the built-in, offline toxicity scorer (the default). It combines:
//
//   - word lists: the project's graded English list (lexicon/en.txt) and grades
//     (lexicon/grades.txt), the LDNOOBW lists for English, German, Spanish and French (CC BY 4.0)
//     and the cuss ratings (MIT), pinned in lexicon/ATTRIBUTION.md. Each word has a weight w in
//     [0, 1]: the project's grade if it has one (0 excludes medical terms and words with a benign
//     main sense, such as French "bite" or Spanish "con"), else 0.60 if cuss rates it "likely
//     profane", else 0.25; a cuss compound of a listed stem ("fuckface") takes the stem's weight;
//   - obfuscations: words are compared case-folded and without accents; letters masked with * or
//     # (f*ck, f**king) match a listed word of the same length; leetspeak (1d10t, sh1t, a$$hole),
//     stretched letters (fuuuuck), look-alike letters from other scripts in a Latin word (Cyrillic
//     "а" in "аsshole", via the Unicode confusables skeleton) and spaced letters (F U C K) are
//     undone;
//   - phrase patterns (lexicon/patterns.txt) for threats ("I will find you and kill you"), identity
//     attacks ("all <group> should be deported", "<group> are vermin") and aimed insults;
//   - context rules (lexicon/context.txt): a word does not count in an identifier (bdist_dumb,
//     os.kill, camelCase, paths), as a capitalised name (Lynch, Van Dyke, Moby Dick), inside a
//     capitalised title (The Rape of Lucrece), next to words of its neutral sense (a dyke and a
//     flood), or, for a reclaimed word (dyke, queer), unless aimed at someone; a word within three
//     tokens after a second-person word ("you idiot", "du Idiot") counts at least 0.60.
//
// With S the sum of the weights of the matching words and list phrases (repeats count again), P the
// sum of the weights of the distinct patterns that match, and B the number of tokens that match no
// word, the probability is
//
//	p = 1 − exp(−2.5 · (P + S / max(1, √(B / 10))))
//
// Words are diluted by long benign text, as in lexicon/1 (one severe word scores 0.92 in a short
// sentence and about 0.52 in a 120-word text, one mild word 0.46 and about 0.17), but a threat or an
// identity attack is not: it makes a text toxic however long. p is 0 without matches, never lowered
// by a further match, and always in [0, 1).
//
// A LexiconScorer is immutable and safe for concurrent use.
type LexiconScorer struct {
	id        string
	words     map[string]int32
	byLen     map[int][]maskEntry // words of weight > 0 by length in runes, for masked letters
	phrases   []lexPattern        // multi-word list entries (diluted like words)
	patterns  []lexPattern        // threats, identity attacks, aimed insults (undiluted)
	vocab     map[string]int32    // a token -> index into entries + 1: one lookup per token
	entries   []vocabEntry
	names     map[string]bool
	particles map[string]bool
	titleSkip map[string]bool
	senses    map[string]map[string]bool
	reclaimed map[string]bool
	you       map[string]bool
}

// vocabEntry is what one token form can start or be: a listed word, phrases, patterns.
type vocabEntry struct {
	weight   int32
	listed   bool    // in the word lists (a weight of 0 excludes it)
	phrases  []int32 // phrases that start with it
	patterns []int32 // patterns that start with it
}

type maskEntry struct {
	word   string
	weight int32
}

var _ ToxicityScorer = (*LexiconScorer)(nil)

// builtinLexicon is built once: parsing the lists costs a few milliseconds.
var builtinLexicon = sync.OnceValue(func() *LexiconScorer {
	d, err := embeddedLexiconData()
	if err != nil {
		panic("metrics: embedded lexicon: " + err.Error())
	}
	l, err := newLexiconScorer(d)
	if err != nil {
		panic("metrics: embedded lexicon: " + err.Error())
	}
	return l
})

// NewLexiconScorer returns the built-in lexicon scorer. Its lists are embedded in the binary and
// checked by the package tests, so this cannot fail at run time; the scorer is shared.
func NewLexiconScorer() *LexiconScorer { return builtinLexicon() }

func newLexiconScorer(d lexiconData) (*LexiconScorer, error) {
	t, err := buildLexiconTables(d)
	if err != nil {
		return nil, err
	}
	l := &LexiconScorer{
		id: lexiconID(d), words: t.words, byLen: map[int][]maskEntry{}, phrases: t.phrases,
		patterns: t.patterns, vocab: map[string]int32{},
		names: t.names, particles: t.particles, titleSkip: t.titleSkip, senses: map[string]map[string]bool{},
		reclaimed: t.reclaimed, you: t.you,
	}
	entry := func(w string) *vocabEntry {
		k, ok := l.vocab[w]
		if !ok {
			l.entries = append(l.entries, vocabEntry{})
			k = int32(len(l.entries))
			l.vocab[w] = k
		}
		return &l.entries[k-1]
	}
	for w, weight := range t.words {
		e := entry(w)
		e.weight, e.listed = weight, true
		if weight > 0 {
			n := utf8.RuneCountInString(w)
			l.byLen[n] = append(l.byLen[n], maskEntry{w, weight})
		}
	}
	for i, p := range l.phrases {
		for w := range p.elems[0].words {
			e := entry(w)
			e.phrases = append(e.phrases, int32(i))
		}
	}
	for i, p := range l.patterns {
		for w := range p.elems[0].words {
			e := entry(w)
			e.patterns = append(e.patterns, int32(i))
		}
	}
	for w, ctx := range t.senses {
		m := map[string]bool{}
		for _, c := range ctx {
			m[c] = true
		}
		l.senses[w] = m
	}
	return l, nil
}

// ID returns "lexicon/2+" and the first 8 hex digits of a SHA-256 over every list and rule file.
func (l *LexiconScorer) ID() string { return l.id }

// Toxicity returns the probability described on LexiconScorer. It reads text itself (capitals,
// punctuation and masked letters matter), ignores tokens, and never fails.
func (l *LexiconScorer) Toxicity(_ context.Context, text string, _ []string) (float64, error) {
	return l.score(text), nil
}

// lexTok is one token of the lexicon's own scan of a text.
type lexTok struct {
	s, e    int32 // its matching form is arena[s:e]
	weight  int32 // hundredths, after the context rules
	cap     bool  // Title-case in the text
	initial bool  // first word of a sentence
	ident   bool  // part of an identifier
	entry   int32 // index into LexiconScorer.entries + 1, 0 if the form has none
	odd     bool  // holds digits, symbols, non-ASCII or runs of a letter: needs the slow lookup
	single  bool  // a single ASCII letter
}

type lexScratch struct {
	arena []byte
	toks  []lexTok
	seen  []int32 // distinct patterns matched
}

var lexScratchPool = sync.Pool{New: func() any { return &lexScratch{} }}

func (sc *lexScratch) word(i int) []byte { t := sc.toks[i]; return sc.arena[t.s:t.e] }

// score scans text and applies the formula.
func (l *LexiconScorer) score(text string) float64 {
	sc := lexScratchPool.Get().(*lexScratch)
	defer func() {
		if cap(sc.arena) <= maxPooledBytes {
			lexScratchPool.Put(sc)
		}
	}()
	sc.scan(text)
	toks := sc.toks
	for i := range toks {
		if toks[i].ident {
			continue
		}
		toks[i].weight = l.lookup(sc, i)
	}
	l.spacedLetters(sc)
	var sum, pats int64
	hits := 0
	for i := range toks {
		if toks[i].weight > 0 {
			toks[i].weight = l.inContext(sc, i)
		}
		if w := toks[i].weight; w > 0 {
			sum += int64(w)
			hits++
		}
	}
	sc.seen = sc.seen[:0]
	for i := range toks {
		if toks[i].ident {
			continue
		}
		if toks[i].entry == 0 {
			continue
		}
		e := &l.entries[toks[i].entry-1]
		for _, k := range e.phrases {
			if l.matchOnce(sc, &l.phrases[k], i, -1-k) {
				sum += int64(l.phrases[k].weight)
			}
		}
		for _, k := range e.patterns {
			if l.matchOnce(sc, &l.patterns[k], i, k) {
				pats += int64(l.patterns[k].weight)
			}
		}
	}
	if sum == 0 && pats == 0 {
		return 0
	}
	dilution := 1.0
	if benign := len(toks) - hits; benign > lexiconRefLength {
		dilution = math.Sqrt(float64(benign) / lexiconRefLength)
	}
	return 1 - math.Exp(-lexiconAlpha*(float64(pats)/100+float64(sum)/100/dilution))
}

// matchOnce reports whether pattern p matches at token i and has not matched before in this text
// (id tells patterns apart).
func (l *LexiconScorer) matchOnce(sc *lexScratch, p *lexPattern, i int, id int32) bool {
	for _, s := range sc.seen {
		if s == id {
			return false
		}
	}
	if !matchElems(sc, p.elems[1:], i+1) {
		return false
	}
	sc.seen = append(sc.seen, id)
	return true
}

// matchElems matches elems against the tokens from i on, backtracking over gaps and optional
// elements. A gap does not run into a new sentence.
func matchElems(sc *lexScratch, elems []lexElem, i int) bool {
	if len(elems) == 0 {
		return true
	}
	e := elems[0]
	if e.words == nil {
		for k := 0; k <= e.gap && i+k <= len(sc.toks); k++ {
			if k > 0 && sc.toks[i+k-1].initial {
				break
			}
			if matchElems(sc, elems[1:], i+k) {
				return true
			}
		}
		return false
	}
	if i < len(sc.toks) && !sc.toks[i].ident && !sc.toks[i].initial && e.words[string(sc.word(i))] {
		if matchElems(sc, elems[1:], i+1) {
			return true
		}
	}
	return e.optional && matchElems(sc, elems[1:], i)
}

// lookup is the weight of token i by the word lists, undoing obfuscations; for an obfuscated token
// it also rewrites the token's form to the word it stands for, so that patterns see that word.
func (l *LexiconScorer) lookup(sc *lexScratch, i int) int32 {
	t := &sc.toks[i]
	w := sc.arena[t.s:t.e]
	if !t.odd {
		t.entry = l.vocab[string(w)] // no allocation: the common case
		if t.entry != 0 && l.entries[t.entry-1].listed {
			return l.entries[t.entry-1].weight
		}
		if bytes.IndexByte(w, '\'') < 0 && bytes.IndexByte(w, '-') < 0 {
			return 0
		}
		return l.lookupPlain(string(w), true)
	}
	form, weight := l.lookupOdd(string(w))
	if form != string(w) {
		t.s = int32(len(sc.arena))
		sc.arena = append(sc.arena, form...)
		t.e = int32(len(sc.arena))
	}
	t.entry = l.vocab[form]
	return weight
}

// lookupPlain looks a lower-case word up, then its stem without a possessive "'s", the part after a
// short elided prefix (French d', l', qu'), and the most severe part of a hyphenated word.
func (l *LexiconScorer) lookupPlain(w string, inflect bool) int32 {
	if v, ok := l.words[w]; ok {
		return v
	}
	if !inflect || !strings.ContainsAny(w, "'-") {
		return 0
	}
	if stem, ok := strings.CutSuffix(w, "'s"); ok && stem != "" {
		if v := l.lookupPlain(stem, false); v > 0 {
			return v
		}
	}
	if k := strings.IndexByte(w, '\''); k >= 1 && k <= 3 {
		if v := l.lookupPlain(w[k+1:], false); v > 0 {
			return v
		}
	}
	var best int32
	if strings.IndexByte(w, '-') >= 0 {
		for part := range strings.SplitSeq(w, "-") {
			best = max(best, l.lookupPlain(part, false))
		}
	}
	return best
}

// leet maps the digits and symbols of leetspeak to the letters they stand for.
var leet = [128]byte{'0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '8': 'b', '9': 'g', '@': 'a', '$': 's', '!': 'i', '|': 'l'}

// lookupOdd handles a token with digits, symbols, non-ASCII letters or stretched letters. It
// returns the form patterns should see and the weight.
func (l *LexiconScorer) lookupOdd(w string) (string, int32) {
	w = deconfuse(w)
	if v := l.lookupPlain(w, true); v > 0 {
		return w, v
	}
	letters, symbols, masks := 0, 0, 0
	for _, r := range w {
		switch {
		case r == '*' || r == '#':
			masks++
		case r < utf8.RuneSelf && leet[r] != 0:
			symbols++
		case unicode.IsLetter(r):
			letters++
		}
	}
	if letters == 0 {
		return w, 0 // a number, or symbols alone
	}
	best, bestW := w, int32(0)
	try := func(cand string) {
		if strings.ContainsAny(cand, "*#") {
			if f, v := l.masked(cand); v > bestW {
				best, bestW = f, v
			}
			return
		}
		if v := l.lookupPlain(cand, true); v > bestW {
			best, bestW = cand, v
		}
		if s1, s2, ok := unstretch(cand); ok {
			for _, s := range []string{s1, s2} {
				if v := l.lookupPlain(s, true); v > bestW {
					best, bestW = s, v
				}
			}
		}
	}
	if symbols > 0 {
		var a, b strings.Builder
		for _, r := range w {
			if r < utf8.RuneSelf && leet[r] != 0 {
				a.WriteByte(leet[r])
				if r == '1' {
					b.WriteByte('l')
				} else {
					b.WriteByte(leet[r])
				}
				continue
			}
			a.WriteRune(r)
			b.WriteRune(r)
		}
		try(a.String())
		if b.String() != a.String() {
			try(b.String())
		}
		if bestW == 0 {
			best = a.String()
		}
	} else {
		try(w)
	}
	return best, bestW
}

// deconfuse replaces the letters of other scripts in a word that also has Latin letters by their
// confusables skeleton (Cyrillic "а" as "a"), and folds case and accents. A word wholly in another
// script is only folded: it is a word of that language, not a disguise.
func deconfuse(w string) string {
	latin, other := false, false
	for _, r := range w {
		if r < utf8.RuneSelf {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
				latin = true
			}
			continue
		}
		if unicode.Is(unicode.Latin, r) {
			latin = true
		} else if unicode.IsLetter(r) {
			other = true
		}
	}
	if !other && !strings.ContainsFunc(w, func(r rune) bool { return r >= utf8.RuneSelf }) {
		return w
	}
	if latin && other {
		var b strings.Builder
		for _, r := range w {
			if r >= utf8.RuneSelf && !unicode.Is(unicode.Latin, r) && unicode.IsLetter(r) {
				b.WriteString(confusables.Skeleton(string(r)))
				continue
			}
			b.WriteRune(r)
		}
		w = b.String()
	}
	return fold(w)
}

// unstretch returns w with every run of three or more of a letter cut to one, and to two; ok is
// false when w has no such run.
func unstretch(w string) (one, two string, ok bool) {
	rs := []rune(w)
	var a, b strings.Builder
	for i := 0; i < len(rs); {
		j := i
		for j < len(rs) && rs[j] == rs[i] {
			j++
		}
		n := j - i
		if n >= 3 {
			ok = true
			a.WriteRune(rs[i])
			b.WriteRune(rs[i])
			b.WriteRune(rs[i])
		} else {
			a.WriteString(string(rs[i:j]))
			b.WriteString(string(rs[i:j]))
		}
		i = j
	}
	return a.String(), b.String(), ok
}

// masked matches a word with masked letters (* or #) against the listed words of its length: every
// unmasked letter must agree. At least two letters must be shown, or the first of four or more.
func (l *LexiconScorer) masked(w string) (string, int32) {
	rs := []rune(w)
	shown := 0
	for _, r := range rs {
		if r != '*' && r != '#' {
			shown++
		}
	}
	if shown < 2 && !(shown == 1 && rs[0] != '*' && rs[0] != '#' && len(rs) >= 4) {
		return w, 0
	}
	best, bestW := w, int32(0)
	for _, e := range l.byLen[len(rs)] {
		ok, k := true, 0
		for _, r := range e.word {
			if rs[k] != '*' && rs[k] != '#' && rs[k] != r {
				ok = false
				break
			}
			k++
		}
		if ok && e.weight > bestW {
			best, bestW = e.word, e.weight
		}
	}
	return best, bestW
}

// spacedLetters joins runs of three or more single letters ("f u c k") and looks the word up; a
// hit counts once, on the run's first letter.
func (l *LexiconScorer) spacedLetters(sc *lexScratch) {
	toks := sc.toks
	for i := 0; i < len(toks); {
		j := i
		for j < len(toks) && toks[j].single && !toks[j].ident {
			j++
		}
		if j-i >= 3 {
			var b strings.Builder
			for k := i; k < j; k++ {
				b.Write(sc.word(k))
			}
			if v := l.lookupPlain(b.String(), false); v > 0 {
				toks[i].weight, toks[i].entry = v, l.vocab[b.String()]
				toks[i].s = int32(len(sc.arena))
				sc.arena = append(sc.arena, b.String()...)
				toks[i].e = int32(len(sc.arena))
			}
		}
		i = max(j, i+1)
	}
}

// inContext applies the context rules of lexicon/context.txt to the weight of token i.
func (l *LexiconScorer) inContext(sc *lexScratch, i int) int32 {
	toks := sc.toks
	t := toks[i]
	w := string(sc.word(i))
	if t.cap && l.names[w] {
		next := i+1 < len(toks) && toks[i+1].cap && !toks[i+1].initial
		prev := i > 0 && l.particles[string(sc.word(i-1))]
		if !t.initial || next || prev {
			return 0
		}
	}
	if t.cap && !t.initial && t.weight < 100 && l.capitalNeighbour(sc, i) {
		return 0
	}
	if ctx := l.senses[w]; ctx != nil {
		for k := max(0, i-lexiconWindow); k < min(len(toks), i+lexiconWindow+1); k++ {
			if k != i && ctx[string(sc.word(k))] {
				return 0
			}
		}
	}
	directed := false
	for k := max(0, i-directedWindow); k < i; k++ {
		if l.you[string(sc.word(k))] {
			directed = true
		}
	}
	if l.reclaimed[w] && !directed {
		return 0
	}
	if directed {
		return max(t.weight, directedWeight)
	}
	return t.weight
}

// capitalNeighbour reports whether a capitalised word stands next to token i, looking past the
// small words of titles ("of", "the"): the token is then part of a name or title.
func (l *LexiconScorer) capitalNeighbour(sc *lexScratch, i int) bool {
	for _, step := range []int{-1, 1} {
		for k, n := i+step, 0; k >= 0 && k < len(sc.toks) && n < 3; k, n = k+step, n+1 {
			if step > 0 && sc.toks[k].initial {
				break
			}
			w := string(sc.word(k))
			if sc.toks[k].cap && !l.you[w] {
				return true
			}
			if !l.titleSkip[w] {
				break
			}
			if step < 0 && sc.toks[k].initial {
				break
			}
		}
	}
	return false
}

// abbreviations end with a full stop that does not end the sentence.
var abbreviations = map[string]bool{"mr": true, "mrs": true, "ms": true, "dr": true, "st": true, "prof": true,
	"jr": true, "sr": true, "vs": true, "etc": true, "e.g": true, "i.e": true, "no": true, "rev": true, "gen": true}

// contractions expands the forms patterns are written without.
var contractions = map[string][]string{
	"gonna": {"going", "to"}, "wanna": {"want", "to"}, "gotta": {"got", "to"},
	"imma": {"i", "am", "going", "to"}, "ima": {"i", "am", "going", "to"}, "i'm": {"i", "am"},
	"won't": {"will", "not"}, "don't": {"do", "not"}, "doesn't": {"does", "not"},
}

var contractionSuffixes = []struct{ suffix, word string }{
	{"'ll", "will"}, {"'re", "are"}, {"'ve", "have"}, {"'d", "would"},
}

// scan splits text into the lexicon's tokens: runs of letters, digits, marks and the symbols of
// obfuscation (* # @ $ ! |) with inner apostrophes and hyphens, lower-cased; it records capitals,
// sentence starts and identifiers, and expands contractions.
func (sc *lexScratch) scan(text string) {
	sc.arena, sc.toks = sc.arena[:0], sc.toks[:0]
	initial := true
	for i := 0; i < len(text); {
		r, size := rune(text[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(text[i:])
		}
		if isSpace(r) {
			if r == '\n' {
				initial = true
			}
			i += size
			continue
		}
		end := i
		for end < len(text) {
			r, size := rune(text[end]), 1
			if r >= utf8.RuneSelf {
				r, size = utf8.DecodeRuneInString(text[end:])
			}
			if isSpace(r) {
				break
			}
			end += size
		}
		initial = sc.chunk(text[i:end], initial)
		i = end
	}
}

// identByte marks the bytes that may make a chunk an identifier.
var identByte = func() (t [256]bool) {
	for _, c := range []byte("_/\\=<>{}[]`:(.") {
		t[c] = true
	}
	return t
}()

// asciiToken marks the ASCII characters of tokens; asciiSpace the ASCII white space.
var asciiToken, asciiSpace = func() (tok, space [utf8.RuneSelf]bool) {
	for c := range utf8.RuneSelf {
		r := rune(c)
		tok[c] = r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("*#@$!|'-", r)
		space[c] = unicode.IsSpace(r)
	}
	return tok, space
}()

func isSpace(r rune) bool {
	if r < utf8.RuneSelf {
		return asciiSpace[r]
	}
	return unicode.IsSpace(r)
}

func isTokenRune(r rune) bool {
	if r < utf8.RuneSelf {
		return asciiToken[r]
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) || r == '\u2019' || r == '\u2010' || r == '\u2011'
}

// identifier reports whether a white-space-delimited chunk is code or a path: it holds "_", "::",
// "/", "\", "=", "(" right after a letter, a "." between two runs of at least two word characters
// (os.kill, setup.py), or a lower-case letter followed by an upper-case one (camelCase).
func identifier(chunk string) bool {
	suspect := false
	for i := 0; i < len(chunk); i++ {
		c := chunk[i]
		if identByte[c] || c >= 'A' && c <= 'Z' && i > 0 && chunk[i-1] >= 'a' && chunk[i-1] <= 'z' || c >= utf8.RuneSelf {
			suspect = true
			break
		}
	}
	if !suspect {
		return false // the common case: a word with ordinary punctuation
	}
	if strings.ContainsAny(chunk, "_/\\=<>{}[]`") || strings.Contains(chunk, "::") {
		return true
	}
	var prev rune
	run := 0 // word characters before the current position
	for k, r := range chunk {
		word := unicode.IsLetter(r) || unicode.IsDigit(r)
		switch {
		case r == '(' && run > 0:
			return true
		case r == '.' && run >= 2:
			after := 0
			for _, q := range chunk[k+1:] {
				if !(unicode.IsLetter(q) || unicode.IsDigit(q)) {
					break
				}
				after++
			}
			if after >= 2 {
				return true
			}
		case unicode.IsUpper(r) && unicode.IsLower(prev):
			return true
		}
		if word {
			run++
		} else {
			run = 0
		}
		prev = r
	}
	return false
}

// chunk tokenizes one white-space-delimited chunk; brk tells whether a sentence ended before it. It
// returns whether one ended at its end.
func (sc *lexScratch) chunk(c string, brk bool) bool {
	ident := identifier(c)
	for i := 0; i < len(c); {
		r, size := rune(c[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(c[i:])
		}
		if !isTokenRune(r) {
			brk = brk || r == '.' || r == '?' || r == '!'
			i += size
			continue
		}
		end := i + size
		for end < len(c) {
			if b := c[end]; b < utf8.RuneSelf {
				if !asciiToken[b] {
					break
				}
				end++
				continue
			}
			r, size := utf8.DecodeRuneInString(c[end:])
			if !isTokenRune(r) {
				break
			}
			end += size
		}
		raw, bang := trimToken(c[i:end])
		i = end
		if raw == "" {
			brk = brk || bang
			continue
		}
		sc.addToken(raw, brk, ident)
		brk = bang
	}
	if brk && len(sc.toks) > 0 {
		if last := sc.toks[len(sc.toks)-1]; abbreviations[string(sc.arena[last.s:last.e])] {
			return false
		}
	}
	return brk
}

// trimToken drops joiners and symbols from the ends of a raw token, keeping trailing masks of a word
// that shows at most two letters ("f***"). bang reports a trailing "!" or "?".
func trimToken(raw string) (string, bool) {
	for raw != "" {
		r, size := utf8.DecodeRuneInString(raw)
		if !(r == '\'' || r == '-' || r == '!' || r == '|' || r == '#' || r == '*' || r == '\u2019' || r == '\u2010' || r == '\u2011') {
			break
		}
		raw = raw[size:]
	}
	bang := false
	for raw != "" {
		r, size := utf8.DecodeLastRuneInString(raw)
		if r == '!' || r == '|' || r == '#' || r == '@' || r == '\'' || r == '-' || r == '\u2019' || r == '\u2010' || r == '\u2011' {
			bang = bang || r == '!'
			raw = raw[:len(raw)-size]
			continue
		}
		break
	}
	if strings.HasSuffix(raw, "*") {
		if stem := strings.TrimRight(raw, "*"); utf8.RuneCountInString(stem) > 2 {
			raw = stem
		}
	}
	return raw, bang
}

// addToken appends one token (and the words of its contraction).
func (sc *lexScratch) addToken(raw string, initial, ident bool) {
	t := lexTok{initial: initial, ident: ident, s: int32(len(sc.arena))}
	upperFirst, lowerLater, first := false, false, true
	var prev rune = -1
	run := 0
	for _, r := range raw {
		switch {
		case r >= 'a' && r <= 'z':
			lowerLater = lowerLater || !first
		case r >= 'A' && r <= 'Z':
			upperFirst = upperFirst || first
			r += 'a' - 'A'
		case r == '\u2019':
			r = '\''
		case r == '\u2010' || r == '\u2011':
			r = '-'
		case r == '\'' || r == '-':
		case r < utf8.RuneSelf:
			t.odd = true // a digit or a symbol
		default:
			t.odd = true
			if unicode.IsUpper(r) {
				upperFirst = upperFirst || first
			} else if unicode.IsLower(r) {
				lowerLater = lowerLater || !first
			}
			r = unicode.ToLower(r)
		}
		if r == prev {
			run++
			if run >= 3 {
				t.odd = true
			}
		} else {
			run, prev = 1, r
		}
		first = false
		sc.arena = utf8.AppendRune(sc.arena, r)
	}
	t.e = int32(len(sc.arena))
	t.cap = upperFirst && lowerLater
	t.single = t.e-t.s == 1 && !t.odd
	b := sc.arena[t.s:t.e]
	if t.odd || len(b) < 3 || len(b) > 7 || (bytes.IndexByte(b, '\'') < 0 && b[len(b)-1] != 'a') {
		sc.toks = append(sc.toks, t) // the common case: no contraction
		return
	}
	w := string(b)
	if exp, ok := contractions[w]; ok {
		sc.addExpansion(t, exp)
		return
	}
	for _, c := range contractionSuffixes {
		if stem, ok := strings.CutSuffix(w, c.suffix); ok && stem != "" {
			t.e = t.s + int32(len(stem))
			sc.toks = append(sc.toks, t)
			sc.appendWord(c.word, ident)
			return
		}
	}
	sc.toks = append(sc.toks, t)
}

func (sc *lexScratch) addExpansion(t lexTok, words []string) {
	for k, w := range words {
		start := int32(len(sc.arena))
		sc.arena = append(sc.arena, w...)
		sc.toks = append(sc.toks, lexTok{s: start, e: int32(len(sc.arena)), initial: t.initial && k == 0, ident: t.ident, cap: t.cap && k == 0})
	}
}

func (sc *lexScratch) appendWord(w string, ident bool) {
	start := int32(len(sc.arena))
	sc.arena = append(sc.arena, w...)
	sc.toks = append(sc.toks, lexTok{s: start, e: int32(len(sc.arena)), ident: ident})
}
