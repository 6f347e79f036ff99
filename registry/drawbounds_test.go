package registry

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestKeyBound(t *testing.T) {
	for _, tc := range []struct {
		n, want int
		bounded bool
	}{
		{0, 0, false}, {10, 10, false}, {10, 20, false}, // every row is wanted
		{100, 50, false},      // the bound would keep most rows
		{1000, 10, true},      // about 5 % of the keys
		{1_000_000, 0, true},  // nothing wanted: only the margin
		{1_000_000, -5, true}, // a quota below what the base model's data fills
	} {
		b := KeyBound(tc.n, tc.want)
		if (b != math.MaxInt64) != tc.bounded {
			t.Errorf("KeyBound(%d, %d) = %d, bounded %v", tc.n, tc.want, b, tc.bounded)
		}
	}
	// A bound keeps a share of uniform keys near its p; never fewer than want in many trials.
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		n, want := 2000+r.IntN(20000), 1+r.IntN(300)
		b := KeyBound(n, want)
		under := 0
		for range n {
			if int64(r.Uint64()) <= b {
				under++
			}
		}
		if under < want || float64(under) > float64(want)+12*math.Sqrt(float64(want))+40 {
			t.Fatalf("trial %d: KeyBound(%d, %d) keeps %d uniform keys", trial, n, want, under)
		}
	}
}

func TestBoundsHeld(t *testing.T) {
	c := &DrawCounts{Humans: 1000, Prior: 40, Models: []ModelCount{{"a", 900}, {"b", 900}}}
	q := DrawQuota{Humans: 120, PerModel: 150, Synthetic: 200}
	b := BoundsFor(c, q)
	if !b.Bounded() || b.Humans == math.MaxInt64 || b.Models["a"] == math.MaxInt64 {
		t.Fatalf("BoundsFor: %+v", b)
	}
	lo := min(b.Models["a"], b.Models["b"]) - 1000 // a key under both models' bounds
	for _, tc := range []struct {
		name   string
		picked []PickedStratum
		held   bool
	}{
		{"the humans' and the synthetic quota whole, under the bounds", []PickedStratum{{"", 120, 0}, {"a", 100, lo}, {"b", 100, lo}}, true},
		{"humans short", []PickedStratum{{"", 119, 0}, {"a", 100, lo}, {"b", 100, lo}}, false},
		{"a model short, cut by the synthetic quota at its bound", []PickedStratum{{"", 120, 0}, {"a", 60, lo}, {"b", 140, b.Models["a"]}}, true},
		{"a model short, the last synthetic key above its bound", []PickedStratum{{"", 120, 0}, {"a", 60, lo}, {"b", 140, b.Models["a"] + 1}}, false},
		{"a model short, the synthetic quota not filled", []PickedStratum{{"", 120, 0}, {"a", 40, lo}, {"b", 150, lo}}, false},
		{"a model missing", []PickedStratum{{"", 120, 0}, {"b", 150, lo}}, false},
		{"every model's quota whole, the synthetic quota not filled", []PickedStratum{{"", 120, 0}, {"a", 150, lo}, {"b", 150, b.Models["b"] + 5}}, true},
	} {
		q := q
		if tc.name == "every model's quota whole, the synthetic quota not filled" {
			q.Synthetic = 400
		}
		if got := b.Held(c, q, tc.picked); got != tc.held {
			t.Errorf("%s: Held = %v, want %v", tc.name, got, tc.held)
		}
	}
	// A stratum without a bound is never short by the bound's fault.
	b.Models["a"] = math.MaxInt64
	if !b.Held(c, q, []PickedStratum{{"", 120, 0}, {"a", 1, 5}, {"b", 150, 7}}) {
		t.Error("an unbounded model held its check against the bounds")
	}
	if (DrawBounds{Humans: math.MaxInt64, Models: map[string]int64{"a": math.MaxInt64}}).Bounded() {
		t.Error("no bound is bounded")
	}
}
