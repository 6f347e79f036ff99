package metrics_test

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/pedigreeml/pedigree/metrics"
)

// wantLexiconID pins the built-in lexicon's ID. When the word list changes, this test fails on
// purpose: update the constant, and bump lexiconVersion too if the format or formula changed.
const wantLexiconID = "lexicon/1+tok/1+4f66b4a1"

func TestLexiconID(t *testing.T) {
	if got := metrics.NewLexiconV1Scorer().ID(); got != wantLexiconID {
		t.Errorf("ID() = %q, want %q: the word list changed; update wantLexiconID", got, wantLexiconID)
	}
}

func TestLexiconFile(t *testing.T) {
	lex := loadOracleLexicon(t)
	if len(lex) < 300 {
		t.Errorf("lexicon has %d words, want a few hundred", len(lex))
	}
	// Identity terms must never score: they are not toxic, and text about these groups must not be
	// penalised.
	for _, w := range strings.Fields(`gay lesbian bisexual queer trans transgender black white asian jew
		jewish muslim christian hindu sikh woman women girl man men disabled autistic deaf blind mexican
		african immigrant refugee arab chinese japanese indian gypsy roma`) {
		if _, ok := lex[w]; ok {
			t.Errorf("identity term %q is in the lexicon", w)
		}
	}
	l := metrics.NewLexiconV1Scorer()
	for w, hundredths := range lex {
		got, _ := l.Toxicity(context.Background(), w, nil)
		if want := 1 - math.Exp(-2.5*float64(hundredths)/100); got != want {
			t.Errorf("Toxicity(%q) = %v, want %v", w, got, want)
		}
	}
}

func TestLexiconParseErrors(t *testing.T) {
	tests := []struct{ name, data string }{
		{"Empty", "# nothing\n"},
		{"WordBeforeWeight", "idiot\n@weight 0.25\n"},
		{"WeightZero", "@weight 0\nidiot\n"},
		{"WeightAboveOne", "@weight 1.5\nidiot\n"},
		{"WeightThreeDecimals", "@weight 0.255\nidiot\n"},
		{"WeightNotANumber", "@weight high\nidiot\n"},
		{"WeightMissing", "@weight\nidiot\n"},
		{"Duplicate", "@weight 0.25\nidiot\n@weight 1\nidiot\n"},
		{"UpperCase", "@weight 0.25\nIdiot\n"},
		{"NotOneToken", "@weight 0.25\nfoo.bar\n"},
		{"TrailingJoiner", "@weight 0.25\nfoo-\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := metrics.NewLexiconV1ScorerFromData(tt.data); err == nil {
				t.Error("no error")
			}
		})
	}
	if _, err := metrics.NewLexiconV1ScorerFromData("@weight 0.25 # mild\nfoo bar-baz it's\n"); err != nil {
		t.Errorf("valid data: %v", err)
	}
}

func toxicity(t *testing.T, text string) float64 {
	t.Helper()
	v, err := metrics.NewLexiconV1Scorer().Toxicity(context.Background(), text, metrics.Tokenize(text))
	if err != nil {
		t.Fatal(err)
	}
	if !(v >= 0 && v <= 1) {
		t.Fatalf("Toxicity(%q) = %v, outside [0, 1]", text, v)
	}
	return v
}

const benign120 = `The committee met on Tuesday to review the budget for the new library. Members agreed that
the reading rooms should stay open later in the evening, and that the children's section needs more
picture books and comfortable chairs. The treasurer explained how the grant from the city would be spent
over the next three years, and answered questions about heating costs. Several volunteers offered to help
paint the entrance hall before the opening in the spring. The meeting ended with a short discussion of the
summer reading programme, which last year brought more than four hundred young readers through the doors,
and a vote of thanks to the staff.`

func TestLexiconToxicity(t *testing.T) {
	t.Run("BenignIsLow", func(t *testing.T) {
		for _, text := range []string{"", "Good morning, how are you?", benign120,
			"Gay and lesbian couples, Black and Asian women, Jewish and Muslim immigrants.",
			"git commit -m 'kill the stale process and dump the core'"} {
			if v := toxicity(t, text); v >= 0.1 {
				t.Errorf("Toxicity(%q) = %v, want < 0.1", text, v)
			}
		}
	})
	t.Run("SevereIsHigh", func(t *testing.T) {
		for _, text := range []string{"You are a faggot.", "Shut up, you motherfucker.", "kys, cunt"} {
			if v := toxicity(t, text); v < 0.9 {
				t.Errorf("Toxicity(%q) = %v, want >= 0.9", text, v)
			}
		}
		if v := toxicity(t, benign120+" Fuck you, cunt."); v < 0.5 {
			t.Errorf("two severe words in a long text: %v, want >= 0.5", v)
		}
	})
	t.Run("CaseInsensitive", func(t *testing.T) {
		a, b := toxicity(t, "you IDIOT, SHIT"), toxicity(t, "you idiot, shit")
		if a != b || a == 0 {
			t.Errorf("upper %v, lower %v", a, b)
		}
	})
	t.Run("Inflections", func(t *testing.T) {
		for _, tt := range []struct{ text, sameAs string }{
			{"that idiot's car", "that idiot car"},
			{"a mother-fucker", "a fucker"}, // not listed whole: the best part counts
			{"what a shit-show", "what a shit"},
			{"rock'n'roll bastard's", "rock'n'roll bastard"},
			{"a bitch-ass's", "a bitch"},
		} {
			if got, want := toxicity(t, tt.text), toxicity(t, tt.sameAs); got != want || got == 0 {
				t.Errorf("Toxicity(%q) = %v, want %v as for %q", tt.text, got, want, tt.sameAs)
			}
		}
		if v := toxicity(t, "idiotx xidiot idio 's"); v != 0 {
			t.Errorf("non-inflections matched: %v", v)
		}
	})
	t.Run("MonotoneInHits", func(t *testing.T) {
		// Replace benign words with listed ones one at a time: more or more severe hits never lower
		// the score, and each new hit raises it.
		words := strings.Fields(benign120)
		prev := toxicity(t, benign120)
		for i, repl := range []string{"idiot", "damn", "shit", "bitch", "cunt", "faggot", "idiot", "kys"} {
			words[i*7] = repl
			v := toxicity(t, strings.Join(words, " "))
			if v <= prev {
				t.Errorf("hit %d (%s): %v <= %v", i+1, repl, v, prev)
			}
			prev = v
		}
		// A severer word scores higher than a milder one in the same place.
		if mild, severe := toxicity(t, "you idiot"), toxicity(t, "you cunt"); !(severe > mild) {
			t.Errorf("severe %v <= mild %v", severe, mild)
		}
		// Appending a hit never lowers the score, even to a text of nothing but hits.
		text := "cunt"
		prev = toxicity(t, text)
		for range 50 {
			text += " idiot"
			v := toxicity(t, text)
			if v < prev {
				t.Fatalf("appending a hit lowered %v to %v", prev, v)
			}
			prev = v
		}
	})
	t.Run("BenignTextDilutes", func(t *testing.T) {
		text := "you idiot"
		prev := toxicity(t, text)
		for i, w := range strings.Fields(benign120) {
			text += " " + w
			v := toxicity(t, text)
			if v > prev || i > 10 && v == prev {
				t.Fatalf("after %d benign words: %v, before %v", i+1, v, prev)
			}
			prev = v
		}
	})
	t.Run("NilTokensTokenizesText", func(t *testing.T) {
		l := metrics.NewLexiconV1Scorer()
		a, _ := l.Toxicity(context.Background(), "You IDIOT", nil)
		b, _ := l.Toxicity(context.Background(), "You IDIOT", metrics.Tokenize("You IDIOT"))
		if a != b || a == 0 {
			t.Errorf("nil tokens %v, tokens %v", a, b)
		}
	})
}

// TestLexiconMatchesOracle checks the scorer against the oracle on generated texts, through both the
// ToxicityScorer interface and Scorer's shared fast path.
func TestLexiconMatchesOracle(t *testing.T) {
	lex := loadOracleLexicon(t)
	words := lexiconWords(lex)
	// Inflected forms exercise the possessive and hyphen rules.
	for _, w := range words[:40] {
		words = append(words, w+"'s", "x-"+w, w+"-y's", strings.ToUpper(w))
	}
	l := metrics.NewLexiconV1Scorer()
	s := &metrics.Scorer{Toxicity: l}
	r := rand.New(rand.NewPCG(7, 8))
	for i := range 3000 {
		text := genText(r, r.IntN(300), words, i%3 == 0)
		want := oracleScore(lex, text)
		got, err := l.Toxicity(context.Background(), text, metrics.Tokenize(text))
		if err != nil || got != *want.Toxicity {
			t.Fatalf("Toxicity(%q) = %v, %v; oracle %v", text, got, err, *want.Toxicity)
		}
		sc, err := s.Score(context.Background(), text)
		if err != nil || sc.Tokens != want.Tokens || sc.MTLD != want.MTLD || *sc.Toxicity != *want.Toxicity {
			t.Fatalf("Score(%q) = %+v (tox %v), %v; oracle %+v (tox %v)", text, sc, *sc.Toxicity, err, want, *want.Toxicity)
		}
	}
}
