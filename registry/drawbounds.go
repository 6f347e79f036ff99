package registry

import (
	"math"
)

// A draw may leave out, before it ranks a stratum, the rows whose draw keys lie above a bound. Each
// stratum's selection is its first rows in draw-key order, and draw keys are uniform over the
// int64s, so a stratum of n rows of which want are selected needs, almost surely, only its rows
// with keys up to about the want/n quantile: a small mix of a large registry then sorts a small
// part of it. The bounds only save work. A store that applies them checks afterwards that they held
// (DrawBounds.Held) and, when they did not, draws again without them; the manifest is the same
// either way.

// DrawBounds are the key bounds of a draw's strata. A stratum with no bound (math.MaxInt64) keeps
// every row; the base model's human data is never bounded (it is taken first, whatever its key).
type DrawBounds struct {
	Humans int64            // the bound on the humans that are not the base model's data
	Models map[string]int64 // by model id
}

// boundSigmas is how many standard deviations above its expected count a bound keeps: the chance
// that a stratum has fewer than its quota's rows under its bound is about 1e-15.
const boundSigmas = 8

// KeyBound is the key bound for a stratum of n rows of which want are selected: the key below
// which about want + 8√want + 16 of n uniform keys lie, or math.MaxInt64 when that is most of them.
func KeyBound(n, want int) int64 {
	if want >= n || n <= 0 {
		return math.MaxInt64
	}
	want = max(want, 0)
	p := (float64(want) + boundSigmas*math.Sqrt(float64(want)) + 16) / float64(n)
	if p >= 0.75 { // a bound that keeps most rows saves too little to be worth a check
		return math.MaxInt64
	}
	return int64(math.Ldexp(p, 64) - math.Ldexp(1, 63))
}

// BoundsFor returns the bounds of a draw with counts c and quota q.
func BoundsFor(c *DrawCounts, q DrawQuota) DrawBounds {
	b := DrawBounds{Humans: KeyBound(c.Humans-c.Prior, q.Humans-c.Prior), Models: map[string]int64{}}
	for _, m := range c.Models {
		b.Models[m.ModelID] = KeyBound(m.N, min(q.PerModel, m.N))
	}
	return b
}

// Bounded reports whether any stratum has a bound.
func (b DrawBounds) Bounded() bool {
	if b.Humans != math.MaxInt64 {
		return true
	}
	for _, k := range b.Models {
		if k != math.MaxInt64 {
			return true
		}
	}
	return false
}

// PickedStratum is what a bounded selection took of one stratum: ModelID "" for the humans.
type PickedStratum struct {
	ModelID string
	N       int
	MaxKey  int64 // the largest draw key taken
}

// Held reports whether a selection made under b is the selection without bounds, given the draw's
// counts c, its quota q and what it took of each stratum.
//
// The humans: the bounded rows are a prefix of the humans in selection order (the base model's
// data, then by key), so the selection is exact when it took its whole quota. A model: its bounded
// rows are a prefix of its rows by key. If the model's quota was taken whole, its part of the
// synthetic candidates is exact. If not, either the bound cut it short, or the synthetic quota did:
// when the synthetic quota was filled and the last synthetic key taken is at most the model's
// bound, every row the bound left out comes after the cut, so the cut is the same as without it.
func (b DrawBounds) Held(c *DrawCounts, q DrawQuota, picked []PickedStratum) bool {
	took := map[string]PickedStratum{}
	synthetic, last := 0, int64(math.MinInt64)
	for _, p := range picked {
		took[p.ModelID] = p
		if p.ModelID != "" {
			synthetic += p.N
			last = max(last, p.MaxKey)
		}
	}
	if b.Humans != math.MaxInt64 && took[""].N < min(q.Humans, c.Humans) {
		return false
	}
	filled := synthetic >= q.Synthetic
	for _, m := range c.Models {
		bound, ok := b.Models[m.ModelID]
		if !ok || bound == math.MaxInt64 || took[m.ModelID].N >= min(q.PerModel, m.N) {
			continue
		}
		if !filled || last > bound {
			return false
		}
	}
	return true
}
