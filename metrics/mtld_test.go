package metrics_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/pedigreeml/pedigree/metrics"
)

// seq builds the tokens t1 … tn.
func seq(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprint("t", i+1)
	}
	return out
}

func repeat(tok string, n int) []string { return slices.Repeat([]string{tok}, n) }

func TestMTLD(t *testing.T) {
	// 1 − 0.72 in float64, as the reference computes it.
	denom := 1 - 0.72
	tests := []struct {
		name   string
		tokens []string
		want   float64
		exact  bool // compare with ==, else within 1e-12
	}{
		// The design's literals.
		//
		// Forward: [a b a] closes at TTR 2/3; [c a b d a e b] closes at 5/7 ≈ 0.714; [a c f a b a] closes
		// at 4/6; nothing remains: 16/3. Backward (a b a f c a b e a d b a c a b a): [a b a] closes;
		// [f c a b e a d b a] closes at 6/9; the remainder [c a b a] has TTR 3/4 and adds
		// 0.25/0.28: 16/(2 + 0.25/0.28) = 5.530864…. The mean is 5.432098765432098.
		{"DesignExample", strings.Fields("a b a c a b d a e b a c f a b a"), 5.432098765432098, true},
		// Every second token closes a factor (TTR 1/2): three factors, the seventh token remains with
		// TTR 1 and adds (1 − 1)/0.28 = 0. Both directions give 7/3.
		{"SevenIdentical", repeat("a", 7), 2.3333333333333335, true},

		// Hand-worked cases.
		//
		// No factor at all: the TTR never leaves 1, the remainder adds (1 − 1)/0.28 = 0, so the
		// factor count is 0 and the whole text's TTR (1: all distinct) gives one factor: 5/1.
		{"NoFactorFallbackAllDistinct", strings.Fields("a b c d e"), 5, true},
		// No factor closes but the remainder is not all distinct: TTR 3/4 > 0.72 never closes, the
		// partial factor 0.25/0.28 = 0.892857… is the count, so the fallback is not reached (the
		// design's "else (1 − TTR)/(1 − 0.72)" branch gives the same number): 4/(0.25/0.28) = 4.48
		// both ways.
		{"NoFactorPartialOnly", strings.Fields("a b c a"), 4 / (0.25 / denom), false},
		// A remainder of exactly two tokens: forward, [a a] closes (1/2), the remainder [b c] has
		// TTR 1 and adds 0: 4/1 = 4. (Two tokens either close or are distinct, so a two-token
		// remainder always adds 0.) Backward, [c b a a] ends at TTR 3/4 without closing:
		// 4/(0.25/0.28) = 4.48. Mean 4.24.
		{"RemainderOfTwo", strings.Fields("a a b c"), (4 + 4/(0.25/denom)) / 2, false},
		// A single token: TTR 1, no factor, fallback gives 1 factor: 1/1.
		{"SingleToken", []string{"a"}, 1, true},
		// Two identical tokens close one factor, nothing remains: 2/1.
		{"TwoIdentical", []string{"a", "a"}, 2, true},
		// All distinct: n/1 for any n.
		{"AllDistinct", seq(100), 100, true},
		// The TTR reaching exactly 0.72 closes a factor (≤, not <). Forward: t1…t18 then t1 seven
		// times reaches 18/25 = 0.72 at the 25th token and closes; the remainder [x y] adds 0:
		// 27/1 = 27. (With < it would not close, and give 27/(0.259…/0.28) ≈ 29.2.) Backward:
		// [y x t1 t1 t1] closes at 3/5, [t1 t1] twice more, and t18…t1 remain all distinct: 27/3 =
		// 9. Mean 18.
		{"ThresholdIsInclusive", slices.Concat(seq(18), repeat("t1", 7), []string{"x", "y"}), 18, true},
		{"Empty", nil, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for impl, mtld := range map[string]func([]string) float64{"fast": metrics.MTLD, "oracle": oracleMTLD} {
				got := mtld(tt.tokens)
				if tt.exact && got != tt.want || !tt.exact && math.Abs(got-tt.want) > 1e-12 {
					t.Errorf("%s MTLD = %v, want %v", impl, got, tt.want)
				}
			}
		})
	}
}

// TestMTLDMatchesOracle compares the fast MTLD with the oracle, exactly, on random token sequences
// over small vocabularies (so that factors close often) and on generated texts.
func TestMTLDMatchesOracle(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	vocab := seq(300)
	for range 5000 {
		n, v := r.IntN(300), 1+r.IntN(len(vocab))
		tokens := make([]string, n)
		for i := range tokens {
			tokens[i] = vocab[r.IntN(v)]
		}
		if got, want := metrics.MTLD(tokens), oracleMTLD(tokens); got != want {
			t.Fatalf("MTLD(%q) = %v, oracle %v", tokens, got, want)
		}
	}
	for range 1000 {
		tokens := oracleTokenize(genText(r, r.IntN(400), nil, true))
		if got, want := metrics.MTLD(tokens), oracleMTLD(tokens); got != want {
			t.Fatalf("MTLD(%q) = %v, oracle %v", tokens, got, want)
		}
	}
}

// TestMTLDLongText checks a text large enough to exercise the state's growth.
func TestMTLDLongText(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	tokens := oracleTokenize(genText(r, 100_000, nil, true))
	if got, want := metrics.MTLD(tokens), oracleMTLD(tokens); got != want {
		t.Fatalf("MTLD = %v, oracle %v", got, want)
	}
}
