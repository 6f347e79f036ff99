package ledger

import (
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// testLeaf returns a realistic leaf for record i.
func testLeaf(tb testing.TB, i int) []byte {
	tb.Helper()
	leaf, err := Leaf(KindSample, fmt.Sprintf("0190a3b2-0000-7000-8000-%012d", i), map[string]string{
		"content_sha256": fmt.Sprintf("%064x", sha256.Sum256(fmt.Appendf(nil, "text %d", i))),
		"origin":         "model",
		"model":          "llama@3.1",
		"generation":     fmt.Sprint(i % 5),
		"dataset":        "web-2026",
	}, time.Date(2026, 11, 22, 3, 0, 0, i*int(time.Millisecond), time.UTC))
	if err != nil {
		tb.Fatal(err)
	}
	return leaf
}

func testLeaves(tb testing.TB, n int) [][]byte {
	tb.Helper()
	leaves := make([][]byte, n)
	for i := range leaves {
		leaves[i] = testLeaf(tb, i)
	}
	return leaves
}

// mustMemory returns a MemoryHashes holding leaves, appended one by one.
func mustMemory(tb testing.TB, leaves [][]byte) *MemoryHashes {
	tb.Helper()
	m := new(MemoryHashes)
	for i, l := range leaves {
		if idx, err := m.Append(l); err != nil || idx != int64(i) {
			tb.Fatalf("Append(leaf %d) = %d, %v", i, idx, err)
		}
	}
	return m
}

// rfc6962 is an independent implementation of RFC 6962 section 2.1 over a fixed list of leaves,
// written from the RFC's definitions with crypto/sha256 and memoized subtree hashes. The tests
// compare the ledger's roots and proofs with it, not just with tlog's own checker.
type rfc6962 struct {
	leaves [][]byte
	memo   map[[2]int64]tlog.Hash
}

func newRFC6962(leaves [][]byte) *rfc6962 {
	return &rfc6962{leaves: leaves, memo: make(map[[2]int64]tlog.Hash)}
}

// split returns k, the largest power of two smaller than n (n > 1).
func split(n int64) int64 {
	k := int64(1)
	for k<<1 < n {
		k <<= 1
	}
	return k
}

// mth is MTH(D[lo:hi]).
func (t *rfc6962) mth(lo, hi int64) tlog.Hash {
	if h, ok := t.memo[[2]int64{lo, hi}]; ok {
		return h
	}
	var h tlog.Hash
	switch n := hi - lo; {
	case n == 0:
		h = sha256.Sum256(nil)
	case n == 1:
		h = sha256.Sum256(append([]byte{0}, t.leaves[lo]...))
	default:
		k := split(n)
		l, r := t.mth(lo, lo+k), t.mth(lo+k, hi)
		h = sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
	}
	t.memo[[2]int64{lo, hi}] = h
	return h
}

// path is PATH(m, D[lo:hi]), m relative to lo.
func (t *rfc6962) path(m, lo, hi int64) []tlog.Hash {
	n := hi - lo
	if n == 1 {
		return nil
	}
	k := split(n)
	if m < k {
		return append(t.path(m, lo, lo+k), t.mth(lo+k, hi))
	}
	return append(t.path(m-k, lo+k, hi), t.mth(lo, lo+k))
}

// subproof is SUBPROOF(m, D[lo:hi], b), m relative to lo.
func (t *rfc6962) subproof(m, lo, hi int64, b bool) []tlog.Hash {
	n := hi - lo
	if m == n {
		if b {
			return nil
		}
		return []tlog.Hash{t.mth(lo, hi)}
	}
	k := split(n)
	if m <= k {
		return append(t.subproof(m, lo, lo+k, b), t.mth(lo+k, hi))
	}
	return append(t.subproof(m-k, lo+k, hi, false), t.mth(lo, lo+k))
}

func equalHashes(a, b []tlog.Hash) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
