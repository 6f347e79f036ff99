package sqlstore

import (
	"math/rand/v2"
	"testing"
)

func TestBandFilter(t *testing.T) {
	f := newBandFilter()
	f.reset(10000)
	r := rand.New(rand.NewPCG(1, 2))
	in := make([]int64, 10000)
	for i := range in {
		in[i] = int64(r.Uint64())
		f.add(in[i])
	}
	for _, k := range in {
		if !f.has(k) {
			t.Fatalf("key %d added but not found", k)
		}
	}
	fp := 0
	const probes = 100000
	for range probes {
		if f.has(int64(r.Uint64())) {
			fp++
		}
	}
	// 16 bits and 4 hashes a key give about 0.24 %; the filter is sized with room, so less.
	if rate := float64(fp) / probes; rate > 0.005 {
		t.Fatalf("false positives %.4f", rate)
	}
	if f.full() {
		t.Fatal("full at its sizing")
	}
	for range 40000 {
		f.add(int64(r.Uint64()))
	}
	if !f.full() {
		t.Fatal("not full at five times its sizing")
	}
}

func TestBandFilterWrites(t *testing.T) {
	f := newBandFilter()
	f.wrote(0, 3, []int64{1}) // not built: ignored
	if f.through != -1 {
		t.Fatal("an unbuilt filter moved")
	}
	f.reset(10)
	f.through = 5
	f.wrote(5, 9, []int64{42})
	if f.through != 9 || !f.has(42) {
		t.Fatalf("own write: through %d", f.through)
	}
	f.wrote(12, 15, []int64{43}) // another writer's leaves 9..12 came between
	if f.through != 9 || f.n != 1 {
		t.Fatalf("a write after a gap moved the filter to %d and added %d keys", f.through, f.n)
	}
}
