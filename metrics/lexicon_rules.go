package metrics

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// lexiconFiles holds the word lists and rules of the built-in lexicon; ATTRIBUTION.md in that
// directory names the source and pinned version of each imported list.
//
//go:embed lexicon/en.txt lexicon/grades.txt lexicon/context.txt lexicon/patterns.txt
//go:embed lexicon/ldnoobw/en lexicon/ldnoobw/de lexicon/ldnoobw/es lexicon/ldnoobw/fr
//go:embed lexicon/cuss/index.js lexicon/cuss/es.js lexicon/cuss/fr.js
var lexiconFiles embed.FS

// lexiconSources lists, in order, the embedded files that make up the lexicon; the scorer's ID
// hashes them all.
var lexiconSources = []string{
	"lexicon/en.txt", "lexicon/grades.txt", "lexicon/context.txt", "lexicon/patterns.txt",
	"lexicon/ldnoobw/en", "lexicon/ldnoobw/de", "lexicon/ldnoobw/es", "lexicon/ldnoobw/fr",
	"lexicon/cuss/index.js", "lexicon/cuss/es.js", "lexicon/cuss/fr.js",
}

// Weights (in hundredths) that the imported lists give a word the project has not graded.
const (
	weightCussLikely = 60 // in an LDNOOBW list and rated 2 ("likely profane") by cuss
	weightListed     = 25 // in an LDNOOBW list, rated 1 or not rated by cuss
	compoundMinStem  = 4  // a cuss compound inherits the weight of a listed stem at least this long
)

// lexiconData is the text of every lexicon file, by name.
type lexiconData map[string]string

func embeddedLexiconData() (lexiconData, error) {
	d := lexiconData{}
	for _, name := range lexiconSources {
		b, err := lexiconFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		d[name] = string(b)
	}
	return d, nil
}

// fold is the form in which words are compared: lower case, accents removed (NFD without
// combining marks), ß as ss.
func fold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
		case r == 'ß':
			b.WriteString("ss")
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return norm.NFC.String(b.String())
}

// lexiconTables is the parsed lexicon before it is frozen into a LexiconScorer.
type lexiconTables struct {
	words     map[string]int32 // folded word -> weight in hundredths (0 = never counts)
	project   map[string]bool  // words graded by the project (en.txt, grades.txt)
	phrases   []lexPattern     // multi-word entries, as literal patterns
	names     map[string]bool
	particles map[string]bool
	titleSkip map[string]bool
	senses    map[string][]string
	reclaimed map[string]bool
	you       map[string]bool
	patterns  []lexPattern
}

func buildLexiconTables(d lexiconData) (*lexiconTables, error) {
	t := &lexiconTables{
		words: map[string]int32{}, project: map[string]bool{}, names: map[string]bool{},
		particles: map[string]bool{}, titleSkip: map[string]bool{}, senses: map[string][]string{},
		reclaimed: map[string]bool{}, you: map[string]bool{},
	}
	// The project's own grades come first and win over anything derived from the imported lists.
	for _, name := range []string{"lexicon/en.txt", "lexicon/grades.txt"} {
		if err := t.addGraded(d[name], name == "lexicon/grades.txt"); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	cuss := map[string]map[string]int{}
	for lang, name := range map[string]string{"en": "lexicon/cuss/index.js", "es": "lexicon/cuss/es.js", "fr": "lexicon/cuss/fr.js"} {
		m, err := parseCuss(d[name])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		cuss[lang] = m
	}
	for _, lang := range []string{"en", "de", "es", "fr"} {
		t.addLDNOOBW(d["lexicon/ldnoobw/"+lang], cuss[lang])
	}
	t.addCussCompounds(cuss)
	if err := t.parseContext(d["lexicon/context.txt"]); err != nil {
		return nil, fmt.Errorf("lexicon/context.txt: %w", err)
	}
	pats, err := parsePatterns(d["lexicon/patterns.txt"])
	if err != nil {
		return nil, fmt.Errorf("lexicon/patterns.txt: %w", err)
	}
	t.patterns = pats
	return t, nil
}

// addGraded reads the en.txt format; with phrases, a word joined by "_" is a phrase, and weight 0
// is allowed.
func (t *lexiconTables) addGraded(data string, phrases bool) error {
	weight := int32(-1)
	for n, line := range strings.Split(data, "\n") {
		line, _, _ = strings.Cut(line, "#")
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if fields[0] == "@weight" {
			if len(fields) != 2 {
				return fmt.Errorf("line %d: want \"@weight W\"", n+1)
			}
			f, err := strconv.ParseFloat(fields[1], 64)
			h := math.Round(f * 100)
			if err != nil || !(h >= 0 && h <= 100) || (h == 0 && !phrases) || math.Abs(f*100-h) > 1e-9 {
				return fmt.Errorf("line %d: weight %q out of range", n+1, fields[1])
			}
			weight = int32(h)
			continue
		}
		if weight < 0 {
			return fmt.Errorf("line %d: word before the first @weight", n+1)
		}
		for _, w := range fields {
			if phrases && strings.Contains(w, "_") {
				toks := strings.Split(fold(w), "_")
				t.phrases = append(t.phrases, literalPattern("phrase", weight, toks))
				t.project[strings.Join(toks, " ")] = true
				continue
			}
			k := fold(w)
			if t.project[k] && t.words[k] != weight {
				// Folding may join two spellings ("crétin", "cretin"); they must agree.
				return fmt.Errorf("line %d: %q is graded twice, with different weights", n+1, w)
			}
			t.project[k] = true
			t.words[k] = weight
		}
	}
	return nil
}

// parseCuss reads a cuss module: lines "  word: N," or "  'two words': N,".
func parseCuss(data string) (map[string]int, error) {
	m := map[string]int{}
	for _, line := range strings.Split(data, "\n") {
		line = strings.TrimSpace(line)
		key, val, ok := strings.Cut(line, ":")
		if !ok || strings.HasPrefix(line, "*") || strings.HasPrefix(line, "/") || strings.Contains(line, "export") {
			continue
		}
		key = strings.Trim(key, `'"`)
		val = strings.TrimSuffix(strings.TrimSpace(val), ",")
		r, err := strconv.Atoi(val)
		if err != nil || r < 0 || r > 2 {
			return nil, fmt.Errorf("line %q: rating %q", line, val)
		}
		m[fold(key)] = r
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("no entries")
	}
	return m, nil
}

// addLDNOOBW adds one LDNOOBW list, graded by cuss where the project has not graded a word.
func (t *lexiconTables) addLDNOOBW(data string, cuss map[string]int) {
	for _, line := range strings.Split(data, "\n") {
		w := fold(strings.TrimSpace(line))
		if w == "" || !plainEntry(w) {
			continue // symbols and emoji: the scanner does not match them
		}
		if t.project[w] {
			continue
		}
		weight := int32(weightListed)
		if r, ok := cuss[w]; ok {
			switch r {
			case 0:
				continue // cuss: likely clean text
			case 2:
				weight = weightCussLikely
			}
		}
		if strings.Contains(w, " ") {
			t.phrases = append(t.phrases, literalPattern("phrase", weight, strings.Fields(w)))
			t.project[w] = true // once, even if listed in two languages
			continue
		}
		if weight > t.words[w] {
			t.words[w] = weight
		}
	}
}

// addCussCompounds adds the single-word cuss entries rated 2 that contain a listed word of weight
// at least weightCussLikely (and at least compoundMinStem letters) as a part: "fuckface",
// "shitforbrains". They take the stem's weight. Other cuss entries are not used on their own: many
// rated 2 are ordinary words ("yank", "chug", "tinker").
func (t *lexiconTables) addCussCompounds(cuss map[string]map[string]int) {
	var stems []string
	for w, weight := range t.words {
		if weight >= weightCussLikely && utf8.RuneCountInString(w) >= compoundMinStem && !strings.ContainsAny(w, " '-") {
			stems = append(stems, w)
		}
	}
	for _, lang := range []string{"en", "es", "fr"} {
		for w, r := range cuss[lang] {
			if r != 2 || strings.ContainsAny(w, " ") || t.project[w] || t.words[w] > 0 {
				continue
			}
			var best int32
			for _, s := range stems {
				if len(s) < len(w) && strings.Contains(w, s) {
					best = max(best, t.words[s])
				}
			}
			if best > 0 {
				t.words[w] = best
			}
		}
	}
}

// plainEntry reports whether an imported entry is made of letters, digits, spaces, apostrophes and
// hyphens only.
func plainEntry(w string) bool {
	for _, r := range w {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == ' ' || r == '\'' || r == '-') {
			return false
		}
	}
	return true
}

func (t *lexiconTables) parseContext(data string) error {
	for n, line := range strings.Split(data, "\n") {
		line, _, _ = strings.Cut(line, "#")
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		var set map[string]bool
		switch fields[0] {
		case "@name":
			set = t.names
		case "@particle":
			set = t.particles
		case "@title":
			set = t.titleSkip
		case "@reclaimed":
			set = t.reclaimed
		case "@you":
			set = t.you
		case "@sense":
			words, ctx, ok := strings.Cut(strings.TrimPrefix(line, "@sense"), ":")
			if !ok || len(strings.Fields(words)) == 0 || len(strings.Fields(ctx)) == 0 {
				return fmt.Errorf("line %d: want \"@sense W…: C…\"", n+1)
			}
			for _, w := range strings.Fields(words) {
				for _, c := range strings.Fields(ctx) {
					t.senses[fold(w)] = append(t.senses[fold(w)], fold(c))
				}
			}
			continue
		default:
			return fmt.Errorf("line %d: unknown directive %q", n+1, fields[0])
		}
		if len(fields) < 2 {
			return fmt.Errorf("line %d: %s without words", n+1, fields[0])
		}
		for _, w := range fields[1:] {
			set[fold(w)] = true
		}
	}
	return nil
}

// lexElem is one element of a pattern: a set of tokens, or a gap.
type lexElem struct {
	words    map[string]bool // nil for a gap
	gap      int             // a gap matches 0..gap tokens
	optional bool
}

// lexPattern is a phrase pattern (see lexicon/patterns.txt) or a multi-word list entry.
type lexPattern struct {
	kind   string
	weight int32 // hundredths
	elems  []lexElem
	src    string
}

func literalPattern(kind string, weight int32, toks []string) lexPattern {
	p := lexPattern{kind: kind, weight: weight, src: strings.Join(toks, " ")}
	for _, tok := range toks {
		p.elems = append(p.elems, lexElem{words: map[string]bool{tok: true}})
	}
	return p
}

func parsePatterns(data string) ([]lexPattern, error) {
	classes := map[string][]string{}
	var out []lexPattern
	for n, line := range strings.Split(data, "\n") {
		line, _, _ = strings.Cut(line, "#")
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		switch fields[0] {
		case "@class":
			if len(fields) < 3 || classes[fields[1]] != nil {
				return nil, fmt.Errorf("line %d: want \"@class NAME W…\", defined once", n+1)
			}
			for _, w := range fields[2:] {
				classes[fields[1]] = append(classes[fields[1]], fold(w))
			}
		case "@pattern":
			head, body, ok := strings.Cut(strings.TrimPrefix(line, "@pattern"), ":")
			hf := strings.Fields(head)
			if !ok || len(hf) != 2 {
				return nil, fmt.Errorf("line %d: want \"@pattern KIND WEIGHT: E…\"", n+1)
			}
			f, err := strconv.ParseFloat(hf[1], 64)
			if err != nil || !(f > 0 && f <= 1) {
				return nil, fmt.Errorf("line %d: weight %q", n+1, hf[1])
			}
			p := lexPattern{kind: hf[0], weight: int32(math.Round(f * 100)), src: strings.TrimSpace(body)}
			for i, e := range strings.Fields(body) {
				var el lexElem
				if g, ok := strings.CutPrefix(e, "~"); ok {
					k, err := strconv.Atoi(g)
					if err != nil || k < 1 || k > 10 || i == 0 {
						return nil, fmt.Errorf("line %d: gap %q (1..10, not first)", n+1, e)
					}
					p.elems = append(p.elems, lexElem{gap: k})
					continue
				}
				if opt, ok := strings.CutSuffix(e, "?"); ok {
					if i == 0 {
						return nil, fmt.Errorf("line %d: optional first element", n+1)
					}
					e, el.optional = opt, true
				}
				el.words = map[string]bool{}
				for _, alt := range strings.Split(e, "|") {
					if c, ok := strings.CutPrefix(alt, "$"); ok {
						if classes[c] == nil {
							return nil, fmt.Errorf("line %d: unknown class %q", n+1, c)
						}
						for _, w := range classes[c] {
							el.words[w] = true
						}
						continue
					}
					if alt == "" {
						return nil, fmt.Errorf("line %d: empty alternative in %q", n+1, e)
					}
					el.words[fold(alt)] = true
				}
				p.elems = append(p.elems, el)
			}
			if len(p.elems) == 0 || p.elems[len(p.elems)-1].words == nil {
				return nil, fmt.Errorf("line %d: a pattern ends with a word", n+1)
			}
			out = append(out, p)
		default:
			return nil, fmt.Errorf("line %d: unknown directive %q", n+1, fields[0])
		}
	}
	return out, nil
}

// lexiconID is "lexicon/2+" and the first 8 hex digits of the SHA-256 of every source file.
func lexiconID(d lexiconData) string {
	h := sha256.New()
	for _, name := range lexiconSources {
		fmt.Fprintf(h, "%s\x00%d\x00%s", name, len(d[name]), d[name])
	}
	return lexiconVersion + "+" + hex.EncodeToString(h.Sum(nil)[:4])
}
