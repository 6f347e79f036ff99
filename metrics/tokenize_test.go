package metrics_test

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/pedigreeml/pedigree/metrics"
)

func TestTokenize(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"Empty", "", nil},
		{"OnlySeparators", " \t\n...!!! -- '' ’ — ", nil},
		{"Brief", "Ça va, ÉLAN? naïve 東京 don't -x- state-of-the-art 'quoted' l’été",
			[]string{"ça", "va", "élan", "naïve", "東京", "don't", "x", "state-of-the-art", "quoted", "l'été"}},
		{"ASCII", "Hello, World! HELLO world.", []string{"hello", "world", "hello", "world"}},
		{"InnerJoiners", "rock'n'roll o'clock well-known", []string{"rock'n'roll", "o'clock", "well-known"}},
		{"LeadingTrailingJoiners", "'tis dogs' -minus trail- '-x-'", []string{"tis", "dogs", "minus", "trail", "x"}},
		{"DoubleJoinersSplit", "a--b don''t x-'y", []string{"a", "b", "don", "t", "x", "y"}},
		{"TypographicJoinersNormalised", "don’t co‐op x‑y", []string{"don't", "co-op", "x-y"}},
		{"OtherDashesSeparate", "a–b a—b a_b", []string{"a", "b", "a", "b", "a", "b"}},
		{"Numbers", "3.14 and 1,000 in 2024", []string{"3", "14", "and", "1", "000", "in", "2024"}},
		{"NonDecimalNumbersSeparate", "x² Ⅻ ½", []string{"x"}},
		{"UnicodeDigits", "٣٤ ४२", []string{"٣٤", "४२"}},
		{"Symbols", "e-mail@host.org #tag $5 👍great", []string{"e-mail", "host", "org", "tag", "5", "great"}},
		{"Turkish", "İSTANBUL", []string{"istanbul"}},
		{"GreekNoFinalSigma", "ΣΊΣΥΦΟΣ", []string{"σίσυφοσ"}},
		{"Titlecase", "ǅemal", []string{"ǆemal"}},
		{"Fullwidth", "ＡＢＣ", []string{"ａｂｃ"}},
		{"DecomposedAccentsStay", "e\u0301te\u0301", []string{"e\u0301te\u0301"}},
		{"Devanagari", "नमस्ते दुनिया", []string{"नमस्ते", "दुनिया"}},
		{"LeadingMarkDropped", "\u0301abc", []string{"abc"}},
		{"MarkAfterJoinerSplits", "a-\u0301b", []string{"a", "b"}},
		{"InvalidUTF8Separates", "ab\xffcd\xc3", []string{"ab", "cd"}},
		{"ReplacementCharSeparates", "ab\uFFFDcd", []string{"ab", "cd"}},
		{"NoSegmentationOfCJK", "東京は大きい", []string{"東京は大きい"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := metrics.Tokenize(tt.text)
			if !slices.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
				t.Errorf("Tokenize(%q) = %s, want %s", tt.text, fmtTokens(got), fmtTokens(tt.want))
			}
			if o := oracleTokenize(tt.text); !slices.Equal(o, tt.want) {
				t.Errorf("oracle(%q) = %s, want %s", tt.text, fmtTokens(o), fmtTokens(tt.want))
			}
		})
	}
}

func TestAppendTokensReusesBuffer(t *testing.T) {
	buf := make([]string, 0, 64)
	buf = metrics.AppendTokens(buf, "One two")
	buf = metrics.AppendTokens(buf, "three")
	if want := []string{"one", "two", "three"}; !slices.Equal(buf, want) {
		t.Fatalf("got %s, want %s", fmtTokens(buf), fmtTokens(want))
	}
	if cap(buf) != 64 {
		t.Errorf("buffer was reallocated: cap %d", cap(buf))
	}
	if got := metrics.AppendTokens(buf[:0], " ... "); len(got) != 0 {
		t.Errorf("no words appended %s", fmtTokens(got))
	}
}

func TestTokenizeMatchesOracle(t *testing.T) {
	lex := loadOracleLexicon(t)
	words := lexiconWords(lex)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		text := genText(r, r.IntN(200), words, i%2 == 0)
		got, want := metrics.Tokenize(text), oracleTokenize(text)
		if !slices.Equal(got, want) {
			t.Fatalf("text %q:\n got %s\nwant %s", text, fmtTokens(got), fmtTokens(want))
		}
	}
}

// TestTokenizeAllRunes runs every Unicode code point, alone and inside a word, through both
// implementations, which covers the classification and lower-casing tables exhaustively.
func TestTokenizeAllRunes(t *testing.T) {
	var b strings.Builder
	check := func() {
		text := b.String()
		if got, want := metrics.Tokenize(text), oracleTokenize(text); !slices.Equal(got, want) {
			t.Fatalf("mismatch on %q:\n got %s\nwant %s", text, fmtTokens(got), fmtTokens(want))
		}
		b.Reset()
	}
	for r := rune(0); r <= 0x10FFFF; r++ {
		b.WriteString(" x")
		b.WriteRune(r)
		b.WriteString("y ")
		b.WriteRune(r)
		b.WriteString(" Z-")
		b.WriteRune(r)
		if r%4096 == 4095 {
			check()
		}
	}
	check()
}
