package mixer

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/pedigreeml/pedigree/policy"
)

// TestPlanQuotaProperties checks, over many random pools and limits, that every quota obeys the
// limits, draws no more than the pool holds, and is the largest such mix (one more sample would
// break a rule).
func TestPlanQuotaProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 3000; iter++ {
		humans := r.IntN(60)
		avail := make([]int, r.IntN(4))
		for i := range avail {
			avail[i] = r.IntN(60)
		}
		size := 1 + r.IntN(150)
		var l policy.Limits
		if r.IntN(2) == 0 {
			v := float64(r.IntN(11)) / 10
			l.MaxSyntheticRatio = &v
		}
		if r.IntN(2) == 0 {
			v := float64(1+r.IntN(10)) / 10
			l.MaxModelShare = &v
		}
		if r.IntN(3) == 0 {
			v := r.IntN(40)
			l.MinHumanSamples = &v
		}
		var ratio *float64
		if r.IntN(3) == 0 {
			v := float64(r.IntN(11)) / 10
			ratio = &v
		}
		q := planQuota(humans, avail, size, ratio, l)
		if !feasible(q.total, q.synthetic, humans, avail, ratio, l) && q.total > 0 {
			t.Fatalf("iter %d: infeasible quota %+v for humans %d avail %v size %d ratio %v limits %+v", iter, q, humans, avail, size, ptr(ratio), l)
		}
		if q.total > size || q.human > humans || q.human+q.synthetic != q.total {
			t.Fatalf("iter %d: quota %+v exceeds the pool or size", iter, q)
		}
		// Maximal: no larger total has any feasible split.
		for bigger := q.total + 1; bigger <= min(size, humans+sum(avail)); bigger++ {
			for xs := 0; xs <= bigger; xs++ {
				if feasible(bigger, xs, humans, avail, ratio, l) {
					t.Fatalf("iter %d: quota total %d, but %d with %d synthetic is feasible (humans %d avail %v ratio %v limits %+v)",
						iter, q.total, bigger, xs, humans, avail, ptr(ratio), l)
				}
			}
		}
	}
}

func ptr(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

// feasible is the specification planQuota must meet, written independently.
func feasible(total, xs, humans int, avail []int, ratio *float64, l policy.Limits) bool {
	xh := total - xs
	if xs < 0 || xh < 0 || xh > humans {
		return false
	}
	if l.MaxSyntheticRatio != nil && float64(xs) > *l.MaxSyntheticRatio*float64(total)+1e-9 {
		return false
	}
	if ratio != nil && xs != int(math.Round(*ratio*float64(total))) {
		return false
	}
	if l.MinHumanSamples != nil && xh < min(*l.MinHumanSamples, humans, total) { // a floor above size refuses later
		return false
	}
	capM := total
	if l.MaxModelShare != nil {
		capM = int(math.Floor(*l.MaxModelShare*float64(total) + 1e-9))
	}
	supply := 0
	for _, a := range avail {
		supply += min(a, capM)
	}
	return xs <= supply
}
