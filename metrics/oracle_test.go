package metrics_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/pedigreeml/pedigree/metrics"
)

// This file holds the oracle: a straightforward, map-based implementation of the tokenizer, MTLD and
// the lexicon scorer, written from the rules rather than for speed. The fast implementation must
// agree with it exactly.

// oracleTokenize applies the tokenizer rules rune by rune.
func oracleTokenize(text string) []string {
	runes := []rune(text) // invalid UTF-8 becomes U+FFFD, which is not a letter
	isWord := func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
	joiner := func(r rune) rune {
		switch r {
		case '\'', '\u2019':
			return '\''
		case '-', '\u2010', '\u2011':
			return '-'
		}
		return 0
	}
	var out []string
	var cur []rune
	lastKept := false // whether the previous rune was kept in cur
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.ToLower(string(cur)))
		}
		cur, lastKept = nil, false
	}
	for i, r := range runes {
		switch {
		case isWord(r):
			cur, lastKept = append(cur, r), true
		case unicode.IsMark(r) && lastKept:
			// A joiner is only kept before a letter or digit, so lastKept means the previous rune
			// was a letter, digit or mark.
			cur = append(cur, r)
		case joiner(r) != 0 && lastKept && i+1 < len(runes) && isWord(runes[i+1]):
			cur = append(cur, joiner(r))
		default:
			flush()
		}
	}
	flush()
	return out
}

// oracleMTLD is lexicalrichness's mtld, line for line, with sets as maps.
func oracleMTLD(tokens []string) float64 {
	if len(tokens) == 0 {
		return 0
	}
	threshold := 0.72
	distinct := map[string]bool{}
	for _, t := range tokens {
		distinct[t] = true
	}
	subMTLD := func(reverse bool) float64 {
		words := append([]string(nil), tokens...)
		if reverse {
			for i, j := 0, len(words)-1; i < j; i, j = i+1, j-1 {
				words[i], words[j] = words[j], words[i]
			}
		}
		terms := map[string]bool{}
		wordCounter := 0
		factorCount := 0.0
		ttr := 0.0
		for _, w := range words {
			wordCounter++
			terms[w] = true
			ttr = float64(len(terms)) / float64(wordCounter)
			if ttr <= threshold {
				wordCounter = 0
				terms = map[string]bool{}
				factorCount++
			}
		}
		if wordCounter > 0 {
			factorCount += (1 - ttr) / (1 - threshold)
		}
		if factorCount == 0 {
			ttr = float64(len(distinct)) / float64(len(tokens))
			if ttr == 1 {
				factorCount++
			} else {
				factorCount += (1 - ttr) / (1 - threshold)
			}
		}
		return float64(len(tokens)) / factorCount
	}
	return (subMTLD(false) + subMTLD(true)) / 2
}

// oracleLexicon is the lexicon scorer from the file on disk, parsed independently.
type oracleLexicon map[string]int64 // hundredths

func loadOracleLexicon(tb testing.TB) oracleLexicon {
	tb.Helper()
	data, err := os.ReadFile("lexicon/en.txt")
	if err != nil {
		tb.Fatal(err)
	}
	lex := oracleLexicon{}
	var weight int64
	for _, line := range strings.Split(string(data), "\n") {
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "@weight" {
			w, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				tb.Fatal(err)
			}
			weight = int64(math.Round(w * 100))
			continue
		}
		for _, w := range f {
			lex[w] = weight
		}
	}
	return lex
}

func (lex oracleLexicon) weight(tok string) int64 {
	stem := func(t string) int64 {
		if w, ok := lex[t]; ok {
			return w
		}
		if strings.HasSuffix(t, "'s") && len(t) > 2 {
			return lex[t[:len(t)-2]]
		}
		return 0
	}
	if w := stem(tok); w > 0 {
		return w
	}
	var best int64
	if strings.Contains(tok, "-") {
		for _, part := range strings.Split(tok, "-") {
			best = max(best, stem(part))
		}
	}
	return best
}

func (lex oracleLexicon) toxicity(tokens []string) float64 {
	var sum int64
	benign := 0
	for _, t := range tokens {
		if w := lex.weight(t); w > 0 {
			sum += w
		} else {
			benign++
		}
	}
	if sum == 0 {
		return 0
	}
	dilution := 1.0
	if benign > 10 {
		dilution = math.Sqrt(float64(benign) / 10)
	}
	return 1 - math.Exp(-2.5*(float64(sum)/100)/dilution)
}

// oracleScore is Scorer.Score with the lexicon, the slow way.
func oracleScore(lex oracleLexicon, text string) metrics.Scores {
	tokens := oracleTokenize(text)
	tox := lex.toxicity(tokens)
	return metrics.Scores{Tokens: len(tokens), MTLD: oracleMTLD(tokens), Toxicity: &tox, Version: metrics.Version}
}

// Text generation for property tests and benchmarks.

var commonWords = strings.Fields(`the of and to a in is it you that he was for on are with as I his they be at
one have this from or had by hot word but what some we can out other were all there when up use your how
said an each she which do their time if will way about many then them write would like so these her long
make thing see him two has look more day could go come did number sound no most people my over know water
than call first who may down side been now find any new work part take get place made live where after
back little only round man year came show every good me give our under name very through just form
sentence great think say help low line differ turn cause much mean before move right boy old too same tell
does set three want air well also play small end put home read hand port large spell add even land here
must big high such follow act why ask men change went light kind off need house picture try us again
animal point mother world near build self earth father head stand own page should country found answer
school grow study still learn plant cover food sun four between state keep eye never last let thought city
tree cross farm hard start might story saw far sea draw left late run don't while press close night real
life few north open seem together next white children begin got walk example ease paper group always music
those both mark often letter until mile river car feet care second book carry took science eat room friend
began idea fish mountain stop once base hear horse cut sure watch color face wood main enough plain girl
usual young ready above ever red list though feel talk bird soon body dog family direct pose leave song
measure door product black short numeral class wind question happen complete ship area half rock order fire
south problem piece told knew pass since top whole king space heard best hour better true during hundred
five remember step early hold west ground interest reach fast verb sing listen six table travel less
morning ten simple several vowel toward war lay against pattern slow center love person money serve appear
road map rain rule govern pull cold notice voice unit power town fine certain fly fall lead cry dark machine
note wait plan figure star box noun field rest correct able pound done beauty drive stood contain front
teach week final gave green oh quick develop ocean warm free minute strong special mind behind clear tail
produce fact street inch multiply nothing course stay wheel full force blue object decide surface deep moon
island foot system busy test record boat common gold possible plane stead dry wonder laugh thousand ago ran
check game shape equate miss brought heat snow tire bring yes distant fill east paint language among
state-of-the-art well-known it's we're they'll naïve café résumé Zürich São Paulo Ça déjà vu`)

var oddPieces = []string{"l’été", "don’t", "-x-", "'quoted'", "東京", "ÉLAN", "İstanbul", "ΣΊΣΥΦΟΣ",
	"e\u0301te\u0301", "नमस्ते", "a--b", "3.14", "1,000", "x²", "ＡＢＣ", "ǅ", "👍great", "٣٤", "\xff", "\u0301",
	"a-\u0301b", "rock'n'roll", "co‐op", "e-mail@host.org", "under_score", "--", "''", "’’"}

// genText returns a text of about n words: mostly common words with sentence capitals and
// punctuation, occasional lexicon words and, if odd is set, odd Unicode pieces (8%).
func genText(r *rand.Rand, n int, lexWords []string, odd bool) string {
	var b strings.Builder
	startSentence := true
	for i := range n {
		var w string
		switch x := r.IntN(100); {
		case odd && x < 8:
			w = oddPieces[r.IntN(len(oddPieces))]
		case len(lexWords) > 0 && x >= 8 && x < 10: // about 2% of words
			w = lexWords[r.IntN(len(lexWords))]
		default:
			// A skewed pick, so that common words repeat as in real text.
			k := r.IntN(len(commonWords))
			w = commonWords[r.IntN(k+1)]
		}
		if startSentence && w != "" {
			first, size := utf8.DecodeRuneInString(w)
			w = string(unicode.ToUpper(first)) + w[size:]
			startSentence = false
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(w)
		switch x := r.IntN(100); {
		case x < 6:
			b.WriteString(".")
			startSentence = true
		case x < 10:
			b.WriteString(",")
		case x < 11:
			b.WriteString("?!")
			startSentence = true
		case x < 12:
			b.WriteString(" —")
		}
	}
	return b.String()
}

func lexiconWords(lex oracleLexicon) []string {
	out := make([]string, 0, len(lex))
	for w := range lex {
		out = append(out, w)
	}
	return out
}

// stubScorer is a ToxicityScorer returning fixed results.
type stubScorer struct {
	v   float64
	err error
}

func (s stubScorer) ID() string { return "stub/1" }

func (s stubScorer) Toxicity(context.Context, string, []string) (float64, error) { return s.v, s.err }

func fmtTokens(t []string) string { return fmt.Sprintf("%q", t) }
