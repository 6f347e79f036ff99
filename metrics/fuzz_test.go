package metrics_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pedigreeml/pedigree/metrics"
)

// Seeds for both fuzzers are committed under testdata/fuzz/<FuzzName>/.

// FuzzTokenize checks the tokenizer and Scorer against the oracle on arbitrary text.
func FuzzTokenize(f *testing.F) {
	lex := loadOracleLexicon(f)
	scorer := &metrics.Scorer{Toxicity: metrics.NewLexiconV1Scorer()}
	f.Fuzz(func(t *testing.T, text string) {
		tokens := metrics.Tokenize(text)
		if want := oracleTokenize(text); !slices.Equal(tokens, want) {
			t.Fatalf("Tokenize(%q) = %s, oracle %s", text, fmtTokens(tokens), fmtTokens(want))
		}
		for _, tok := range tokens {
			if tok == "" || strings.ToLower(tok) != tok || !utf8.ValidString(tok) {
				t.Fatalf("Tokenize(%q): bad token %q", text, tok)
			}
		}
		if got := metrics.AppendTokens([]string{"x"}, text); !slices.Equal(got[1:], tokens) || got[0] != "x" {
			t.Fatalf("AppendTokens(%q) = %s", text, fmtTokens(got))
		}
		sc, err := scorer.Score(context.Background(), text)
		if err != nil {
			t.Fatal(err)
		}
		want := oracleScore(lex, text)
		if sc.Tokens != len(tokens) || sc.MTLD != want.MTLD || *sc.Toxicity != *want.Toxicity {
			t.Fatalf("Score(%q) = %+v (toxicity %v), oracle %+v (toxicity %v)", text, sc, *sc.Toxicity, want, *want.Toxicity)
		}
		if !(*sc.Toxicity >= 0 && *sc.Toxicity <= 1) {
			t.Fatalf("Score(%q): toxicity %v", text, *sc.Toxicity)
		}
	})
}

// FuzzMTLD checks MTLD's invariants. With vocab 0 the tokens are Tokenize(text); otherwise each byte
// of text is a token drawn from a vocabulary of vocab types, so that factors close often.
func FuzzMTLD(f *testing.F) {
	f.Fuzz(func(t *testing.T, text string, vocab byte) {
		var tokens []string
		if vocab == 0 {
			tokens = metrics.Tokenize(text)
		} else {
			for i := range len(text) {
				tokens = append(tokens, fmt.Sprint(text[i]%vocab))
			}
		}
		m := metrics.MTLD(tokens)
		if math.IsNaN(m) || math.IsInf(m, 0) || m < 0 || (len(tokens) > 0) != (m > 0) {
			t.Fatalf("MTLD(%q) = %v", tokens, m)
		}
		if want := oracleMTLD(tokens); m != want {
			t.Fatalf("MTLD(%q) = %v, oracle %v", tokens, m, want)
		}
		rev := slices.Clone(tokens)
		slices.Reverse(rev)
		if r := metrics.MTLD(rev); math.Abs(r-m) > 1e-9 {
			t.Fatalf("MTLD(%q) = %v, reversed %v", tokens, m, r)
		}
	})
}
