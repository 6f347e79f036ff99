package metrics_test

import (
	"context"
	"math"
	"testing"

	"github.com/pedigreeml/pedigree/metrics"
)

// wantLexiconV2ID pins the built-in lexicon's ID. When a list or rule file under lexicon/ changes,
// this test fails on purpose: update the constant (stored scores name the lexicon that made them).
const wantLexiconV2ID = "lexicon/2+a964ec62"

func TestLexiconV2ID(t *testing.T) {
	if got := metrics.NewLexiconScorer().ID(); got != wantLexiconV2ID {
		t.Errorf("ID() = %q, want %q: a lexicon file changed; update wantLexiconV2ID", got, wantLexiconV2ID)
	}
}

func tox2(t *testing.T, text string) float64 {
	t.Helper()
	v, err := metrics.NewLexiconScorer().Toxicity(context.Background(), text, nil)
	if err != nil || !(v >= 0 && v < 1) {
		t.Fatalf("Toxicity(%q) = %v, %v", text, v, err)
	}
	return v
}

// TestLexiconV2Rules checks each matching and context rule in both directions: the rule fires on
// one text and not on its control, so a rule that stopped working (or fired everywhere) fails.
func TestLexiconV2Rules(t *testing.T) {
	tests := []struct {
		name          string
		toxic, benign string
	}{
		{"Masked", "f*cking idiot", "The word w*rd is masked."},
		{"MaskedTwo", "Go f*** yourself.", "Go *** yourself."},
		{"Leet", "You're a 1d10t.", "You're a 1d10."},
		{"LeetSymbols", "You are such an a$$hole.", "You are such an a$$."},
		{"Stretched", "Fuuuuuck you.", "Fuuuuuun for you."},
		{"Homoglyph", "fuсk off, аsshole", "Спасибо, Москва."}, // Cyrillic с and а; a Russian text is not disguised English
		{"SpacedLetters", "F U C K you.", "F U N you."},
		{"Threat", "I will find where you live and I will kill you.", "I will find the file and send it to you."},
		{"ThreatGonna", "I'm gonna beat the crap out of you.", "I'm gonna beat the record."},
		{"IdentityAttack", "All immigrants should be rounded up and shot.", "All immigrants should be welcomed."},
		{"Dehumanising", "Jews are vermin.", "Jews are a people."},
		{"GermanThreat", "Ich bring dich um.", "Ich bring dich nach Hause."},
		{"SpanishInsult", "Eres un gilipollas.", "Eres un genio."},
		{"FrenchPhrase", "Va te faire foutre.", "Va te faire un café."},
		{"Directed", "You idiot.", "An idiot."},
		{"NameMidSentence", "that lynch mob, dyke", "We heard from Loretta Lynch and Dick Van Dyke."},
		{"Title", "You rape victims' trust, you bastard.", "Shakespeare wrote The Rape of Lucrece."},
		{"Identifier", "dumb shit", "Run setup.py bdist_dumb or shit_mode=1."},
		{"Sense", "You dyke.", "The dyke held back the flood."},
		{"Reclaimed", "Shut up, you dyke.", "As a proud dyke, I organise the picnic."},
		{"Medical", "Suck my dick, cunt.", "The doctor examined the penis and the anus."},
		{"OtherLanguageWord", "Quel connard.", "Chili con carne, a bite of pie."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if v := tox2(t, tt.toxic); v < 0.5 {
				t.Errorf("Toxicity(%q) = %.2f, want >= 0.5", tt.toxic, v)
			}
			if v := tox2(t, tt.benign); v >= 0.5 {
				t.Errorf("Toxicity(%q) = %.2f, want < 0.5", tt.benign, v)
			}
		})
	}
}

// TestLexiconV2Formula checks the documented formula on texts whose S, P and B are known.
func TestLexiconV2Formula(t *testing.T) {
	p := func(pats, sum float64, benign int) float64 {
		d := math.Max(1, math.Sqrt(float64(benign)/10))
		return 1 - math.Exp(-2.5*(pats+sum/d))
	}
	if got, want := tox2(t, "fuck"), p(0, 0.60, 0); got != want {
		t.Errorf("one strong word: %v, want %v", got, want)
	}
	if got, want := tox2(t, "kill yourself"), p(1, 0, 2); got != want {
		t.Errorf("one pattern: %v, want %v", got, want)
	}
	if got := tox2(t, ""); got != 0 {
		t.Errorf("empty text: %v", got)
	}
	// A threat is not diluted by benign text; a word is.
	long := benign120 + " I will kill you."
	if v := tox2(t, long); v < 0.9 {
		t.Errorf("threat in a long text: %v, want >= 0.9", v)
	}
	if short, diluted := tox2(t, "shit"), tox2(t, benign120+" shit"); !(diluted < short) {
		t.Errorf("word in a long text %v, alone %v: want diluted", diluted, short)
	}
	// A further match never lowers the score.
	if a, b := tox2(t, "you idiot"), tox2(t, "you idiot, shit"); !(b > a) {
		t.Errorf("adding a match: %v -> %v", a, b)
	}
}

// TestLexiconV2Lists checks that the imported lists are loaded: words only they contain score, and
// the project's exclusions win over them.
func TestLexiconV2Lists(t *testing.T) {
	for _, w := range []string{"arschloch", "gilipollas", "connard", "bukkake", "fuckface"} {
		if v := tox2(t, w); v == 0 {
			t.Errorf("listed word %q scores 0", w)
		}
	}
	for _, w := range []string{"bitte", "con", "bite", "penis", "martillo", "yank", "niggardly", "gay", "muslim"} {
		if v := tox2(t, w); v != 0 {
			t.Errorf("excluded or unlisted word %q scores %v", w, v)
		}
	}
}

// FuzzLexiconV2 checks that any text scores in [0, 1), the same through Toxicity and Scorer.Score,
// and the same when scored twice (the pooled scratch memory leaves nothing behind).
//
//	go test ./metrics -run '^$' -fuzz FuzzLexiconV2 -fuzztime 30s
func FuzzLexiconV2(f *testing.F) {
	for _, seed := range []string{"", "f*cking 1d10t", "F U C K", "fuuuuck аsshole", "I'll kill you.", "Mr. Lynch",
		"bdist_dumb os.kill() camelCase", "you're a b.i.t.c.h", "'''---***", "ß\u0301\u2019\u2010x", "a\xffb", "I I I I I"} {
		f.Add(seed)
	}
	l := metrics.NewLexiconScorer()
	s := &metrics.Scorer{Toxicity: l}
	f.Fuzz(func(t *testing.T, text string) {
		a, _ := l.Toxicity(context.Background(), text, nil)
		if !(a >= 0 && a < 1) {
			t.Fatalf("Toxicity(%q) = %v", text, a)
		}
		sc, err := s.Score(context.Background(), text)
		if err != nil || *sc.Toxicity != a {
			t.Fatalf("Score(%q) = %v, %v; Toxicity %v", text, *sc.Toxicity, err, a)
		}
		if b, _ := l.Toxicity(context.Background(), text, nil); b != a {
			t.Fatalf("Toxicity(%q) twice: %v then %v", text, a, b)
		}
	})
}
