package dedup

import (
	"crypto/sha256"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

const modelText = "The committee reviewed the proposal carefully, and after a long discussion it agreed that " +
	"the budget should be increased for the next fiscal year."

func TestTricksKeepTheKey(t *testing.T) {
	want := Key(modelText)
	for name, trick := range Tricks {
		t.Run(name, func(t *testing.T) {
			edited := trick(modelText)
			if edited == modelText {
				t.Fatalf("the trick changed nothing")
			}
			if name == "CurlyApostrophe" || name == "DecomposedAccents" {
				// Not the same text; see TestDistinctTextsKeepDistinctKeys and the composed case.
				return
			}
			if Key(edited) != want {
				t.Errorf("key of %q differs from the original's: normalized %q vs %q", edited, Normalize(edited), Normalize(modelText))
			}
		})
	}
}

func TestComposedAndDecomposedAreOneText(t *testing.T) {
	if Key("caf\u00e9 cr\u00e8me") != Key("cafe\u0301 cre\u0300me") {
		t.Fatal("NFC and NFD forms differ")
	}
}

func TestDistinctTextsKeepDistinctKeys(t *testing.T) {
	pairs := [][2]string{
		{"the cat sat", "the cat sat down"},
		{"it agreed", "it's agreed"},
		{"cafe", "café"},
		{"resume", "résumé"},
		{"2 + 2 = 4", "2 + 2 = 5"},
		{"I", "l"}, // look-alike as whole texts: UTS #39 collapses them, but they are one-letter texts
	}
	for _, p := range pairs[:5] {
		if Key(p[0]) == Key(p[1]) {
			t.Errorf("%q and %q share a key", p[0], p[1])
		}
	}
}

func TestWordEditsStayNear(t *testing.T) {
	// One changed word in a 24-word text breaks at most Shingle of its shingles.
	edited := strings.Replace(modelText, "carefully", "thoroughly", 1)
	if s := Similarity(modelText, edited); s < 0.7 {
		t.Fatalf("one changed word: similarity %.2f", s)
	}
	a, b := SketchWords(Words(modelText)), SketchWords(Words(edited))
	shared := 0
	for i := range a.Bands {
		if a.Bands[i] == b.Bands[i] {
			shared++
		}
	}
	if shared == 0 {
		t.Fatalf("no band in common: %v vs %v", a.Bands, b.Bands)
	}
	if s := Similarity(modelText, "A completely different sentence about rivers, mountains and the long history of the valley towns."); s > 0.05 {
		t.Fatalf("distinct texts: similarity %.2f", s)
	}
}

func TestShortTextsHaveNoSketch(t *testing.T) {
	if got := SketchWords(Words("only four words here")); len(got.Bands) != 0 {
		t.Fatalf("sketch of a short text: %v", got)
	}
	if got := SketchWords(Words(modelText)); len(got.Bands) != Bands {
		t.Fatalf("sketch has %d bands", len(got.Bands))
	}
}

func TestRecallCurve(t *testing.T) {
	if r := Recall(0.9); r < 0.99 {
		t.Errorf("Recall(0.9) = %.3f", r)
	}
	if r := Recall(0.05); r > 0.01 {
		t.Errorf("Recall(0.05) = %.3f", r)
	}
}

func FuzzNormalize(f *testing.F) {
	for _, trick := range Tricks {
		f.Add(trick(modelText))
	}
	f.Add("\u0301\u200b")
	f.Add(strings.Repeat("one two three four five six seven eight nine ", 3))
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		if !utf8.ValidString(n) {
			t.Fatalf("invalid UTF-8 from %q", s)
		}
		if Normalize(n) != n {
			t.Fatalf("not idempotent: %q → %q → %q", s, n, Normalize(n))
		}
		if norm, words := Normalized(s); norm != n || strings.Join(words, " ") != n {
			t.Fatalf("Normalized(%q) = %q, %q; Normalize gives %q", s, norm, words, n)
		}
		if strings.Contains(n, "  ") || strings.HasPrefix(n, " ") || strings.HasSuffix(n, " ") {
			t.Fatalf("spacing not collapsed: %q", n)
		}
		norm, sketch := Prepare(s)
		if want := SketchWords(Words(s)); norm != n || !slices.Equal(sketch.Bands, want.Bands) {
			t.Fatalf("Prepare(%q) = %q, %v; want %q, %v", s, norm, sketch.Bands, n, want.Bands)
		}
	})
}

func FuzzASCIIPath(f *testing.F) {
	f.Add(modelText)
	f.Add("a`b |l| 0O m\t\x01x")
	f.Fuzz(func(t *testing.T, s string) {
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x80 {
				return
			}
		}
		if got, want := asciiNormalized(s), words(s); !slices.Equal(got, want) {
			t.Fatalf("%q: ASCII path %q, general path %q", s, got, want)
		}
	})
}

func TestKeyIsTheHashOfTheNormalizedForm(t *testing.T) {
	for _, s := range []string{modelText, "", "  ", "Ça va, l'ami ?"} {
		if Key(s) != sha256.Sum256([]byte(Normalize(s))) {
			t.Errorf("Key(%q) is not the SHA-256 of %q", s, Normalize(s))
		}
	}
}

// TestBandsMatchTheRecallCurve checks the hash family: over many pairs of texts, the share of pairs
// of about a similarity that share a band is what Recall(similarity) predicts, as it would be for
// truly random permutations.
func TestBandsMatchTheRecallCurve(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	vocab := strings.Fields(strings.Repeat("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon phi chi psi omega ", 1))
	word := func() string { return vocab[r.IntN(len(vocab))] + strconv.Itoa(r.IntN(1000)) }
	type bucket struct {
		shared, n int
		sum       float64
	}
	buckets := map[int]*bucket{}
	for range 3000 {
		a := make([]string, 60)
		for i := range a {
			a[i] = word()
		}
		b := slices.Clone(a)
		for i := range b {
			if r.Float64() < 0.05+0.2*r.Float64() {
				b[i] = word()
			}
		}
		sa, sb := SketchWords(a), SketchWords(b)
		shared := false
		for i := range sa.Bands {
			shared = shared || sa.Bands[i] == sb.Bands[i]
		}
		s := Jaccard(Shingles(a), Shingles(b))
		k := int(s * 10)
		if buckets[k] == nil {
			buckets[k] = &bucket{}
		}
		buckets[k].n++
		buckets[k].sum += s
		if shared {
			buckets[k].shared++
		}
	}
	for k, b := range buckets {
		if b.n < 200 {
			continue
		}
		got, want := float64(b.shared)/float64(b.n), Recall(b.sum/float64(b.n))
		if math.Abs(got-want) > 0.06 {
			t.Errorf("similarity %.1f–%.1f (%d pairs): %.3f share a band, Recall predicts %.3f", float64(k)/10, float64(k+1)/10, b.n, got, want)
		}
	}
}

func asciiNormalized(s string) []string {
	_, w := asciiWords(s)
	return w
}
