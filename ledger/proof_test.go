package ledger

import (
	"errors"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

const maxProofSize = 300

// TestProofsAllSizes checks, for every log size n ≤ 300, the root, every inclusion proof (all
// i < n) and every consistency proof (all 1 ≤ m ≤ n) against the RFC 6962 definitions, and that
// each verifies: about 45,000 proofs of each kind.
func TestProofsAllSizes(t *testing.T) {
	leaves := testLeaves(t, maxProofSize)
	m := mustMemory(t, leaves)
	ref := newRFC6962(leaves)

	trees := make([]tlog.Tree, maxProofSize+1)
	for n := int64(0); n <= maxProofSize; n++ {
		tree, err := TreeAt(m, n)
		if err != nil {
			t.Fatal(err)
		}
		if want := ref.mth(0, n); tree.N != n || tree.Hash != want {
			t.Fatalf("TreeAt(%d) = %d %v, want RFC 6962 root %v", n, tree.N, tree.Hash, want)
		}
		trees[n] = tree
	}

	for n := int64(1); n <= maxProofSize; n++ {
		for i := range n {
			p, err := ProveInclusion(m, n, i)
			if err != nil {
				t.Fatalf("ProveInclusion(size %d, index %d): %v", n, i, err)
			}
			if want := ref.path(i, 0, n); !equalHashes(p, want) {
				t.Fatalf("ProveInclusion(size %d, index %d) = %v, want RFC 6962 PATH %v", n, i, p, want)
			}
			if err := CheckInclusion(p, trees[n], i, leaves[i]); err != nil {
				t.Fatalf("CheckInclusion(size %d, index %d): %v", n, i, err)
			}
		}
		for old := int64(1); old <= n; old++ {
			p, err := ProveConsistency(m, old, n)
			if err != nil {
				t.Fatalf("ProveConsistency(%d, %d): %v", old, n, err)
			}
			if want := ref.subproof(old, 0, n, true); !equalHashes(p, want) {
				t.Fatalf("ProveConsistency(%d, %d) = %v, want RFC 6962 PROOF %v", old, n, p, want)
			}
			if err := CheckConsistency(p, trees[old], trees[n]); err != nil {
				t.Fatalf("CheckConsistency(%d, %d): %v", old, n, err)
			}
		}
	}
}

// flipSizes are the sizes whose proofs TestProofsRejectBitFlips tampers with bit by bit: powers
// of two, their neighbours, and the largest.
var flipSizes = []int64{1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 255, 256, 257, 300}

// sampleIndexes returns distinct indexes in [0, n): the ends, the middle and their neighbours.
func sampleIndexes(n int64) []int64 {
	var out []int64
	seen := map[int64]bool{}
	for _, i := range []int64{0, 1, n / 3, n/2 - 1, n / 2, n - 2, n - 1} {
		if i >= 0 && i < n && !seen[i] {
			seen[i] = true
			out = append(out, i)
		}
	}
	return out
}

func flipBit(h tlog.Hash, bit int) tlog.Hash {
	h[bit/8] ^= 1 << (bit % 8)
	return h
}

// TestProofsRejectBitFlips flips every bit of every proof hash, of the leaf and of the roots,
// one at a time, and expects verification to fail each time; likewise for wrong indexes and
// for proofs one hash too short or too long. (A wrong tree size is not among them: the size is
// bound by the signed root, and a proof for size n may also run for size n+1.)
func TestProofsRejectBitFlips(t *testing.T) {
	leaves := testLeaves(t, maxProofSize)
	m := mustMemory(t, leaves)
	tree := func(n int64) tlog.Tree {
		tr, err := TreeAt(m, n)
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	mustFail := func(err error, format string, args ...any) {
		t.Helper()
		if !errors.Is(err, ErrProofFailed) {
			t.Fatalf(format+": got %v, want ErrProofFailed", append(args, err)...)
		}
	}

	for _, n := range flipSizes {
		tn := tree(n)
		for _, i := range sampleIndexes(n) {
			p, err := ProveInclusion(m, n, i)
			if err != nil {
				t.Fatal(err)
			}
			for j := range p {
				for bit := range 8 * tlog.HashSize {
					q := append(tlog.RecordProof(nil), p...)
					q[j] = flipBit(q[j], bit)
					mustFail(CheckInclusion(q, tn, i, leaves[i]), "inclusion %d in %d, proof hash %d bit %d", i, n, j, bit)
				}
			}
			leaf := append([]byte(nil), leaves[i]...)
			for bit := range 8 * len(leaf) {
				leaf[bit/8] ^= 1 << (bit % 8)
				mustFail(CheckInclusion(p, tn, i, leaf), "inclusion %d in %d, leaf bit %d", i, n, bit)
				leaf[bit/8] ^= 1 << (bit % 8)
			}
			for bit := range 8 * tlog.HashSize {
				bad := tlog.Tree{N: n, Hash: flipBit(tn.Hash, bit)}
				mustFail(CheckInclusion(p, bad, i, leaves[i]), "inclusion %d in %d, root bit %d", i, n, bit)
			}
			for _, wrong := range []int64{i - 1, i + 1, n} {
				if wrong != i {
					mustFail(CheckInclusion(p, tn, wrong, leaves[i]), "inclusion %d in %d checked as index %d", i, n, wrong)
				}
			}
			mustFail(CheckInclusion(append(p, tn.Hash), tn, i, leaves[i]), "inclusion %d in %d with an extra hash", i, n)
			if len(p) > 0 {
				mustFail(CheckInclusion(p[:len(p)-1], tn, i, leaves[i]), "inclusion %d in %d with a hash missing", i, n)
			}
		}

		for _, old := range sampleIndexes(n + 1) {
			if old == 0 {
				continue
			}
			to := tree(old)
			p, err := ProveConsistency(m, old, n)
			if err != nil {
				t.Fatal(err)
			}
			for j := range p {
				for bit := range 8 * tlog.HashSize {
					q := append(tlog.TreeProof(nil), p...)
					q[j] = flipBit(q[j], bit)
					mustFail(CheckConsistency(q, to, tn), "consistency %d to %d, proof hash %d bit %d", old, n, j, bit)
				}
			}
			for bit := range 8 * tlog.HashSize {
				mustFail(CheckConsistency(p, tlog.Tree{N: old, Hash: flipBit(to.Hash, bit)}, tn), "consistency %d to %d, old root bit %d", old, n, bit)
				mustFail(CheckConsistency(p, to, tlog.Tree{N: n, Hash: flipBit(tn.Hash, bit)}), "consistency %d to %d, new root bit %d", old, n, bit)
			}
			mustFail(CheckConsistency(append(p, tn.Hash), to, tn), "consistency %d to %d with an extra hash", old, n)
			if len(p) > 0 {
				mustFail(CheckConsistency(p[:len(p)-1], to, tn), "consistency %d to %d with a hash missing", old, n)
			}
			if old < n {
				mustFail(CheckConsistency(p, tn, to), "consistency %d to %d checked backwards", old, n)
			}
		}
	}
}

func TestProofEdges(t *testing.T) {
	leaves := testLeaves(t, 10)
	m := mustMemory(t, leaves)
	t10, err := m.Tree()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("EmptyTreeRoot", func(t *testing.T) {
		tr, err := TreeAt(new(MemoryHashes), 0)
		if err != nil || tr.N != 0 || tr.Hash != newRFC6962(nil).mth(0, 0) {
			t.Fatalf("TreeAt(empty) = %v, %v; want SHA-256 of nothing", tr, err)
		}
	})
	t.Run("ErrOutOfRange", func(t *testing.T) {
		for _, c := range []struct{ size, index int64 }{{10, 10}, {10, -1}, {0, 0}, {10, 11}} {
			if _, err := ProveInclusion(m, c.size, c.index); !errors.Is(err, ErrOutOfRange) {
				t.Errorf("ProveInclusion(%d, %d) = %v, want ErrOutOfRange", c.size, c.index, err)
			}
		}
		for _, c := range []struct{ from, to int64 }{{5, 4}, {-1, 3}} {
			if _, err := ProveConsistency(m, c.from, c.to); !errors.Is(err, ErrOutOfRange) {
				t.Errorf("ProveConsistency(%d, %d) = %v, want ErrOutOfRange", c.from, c.to, err)
			}
		}
		if _, err := TreeAt(m, -1); !errors.Is(err, ErrOutOfRange) {
			t.Errorf("TreeAt(-1) = %v, want ErrOutOfRange", err)
		}
	})
	t.Run("BeyondStoredLog", func(t *testing.T) {
		if _, err := ProveInclusion(m, 11, 3); err == nil {
			t.Error("ProveInclusion beyond the stored log succeeded")
		}
		if _, err := TreeAt(m, 11); err == nil {
			t.Error("TreeAt beyond the stored log succeeded")
		}
	})
	t.Run("FromEmptyTree", func(t *testing.T) {
		p, err := ProveConsistency(m, 0, 10)
		if err != nil || len(p) != 0 {
			t.Fatalf("ProveConsistency(0, 10) = %v, %v; want an empty proof", p, err)
		}
		if err := CheckConsistency(p, tlog.Tree{}, t10); err != nil {
			t.Errorf("CheckConsistency from the zero tree: %v", err)
		}
		empty, _ := TreeAt(m, 0)
		if err := CheckConsistency(p, empty, t10); err != nil {
			t.Errorf("CheckConsistency from the empty tree: %v", err)
		}
		if err := CheckConsistency(tlog.TreeProof{t10.Hash}, empty, t10); !errors.Is(err, ErrProofFailed) {
			t.Errorf("CheckConsistency from the empty tree with a non-empty proof = %v, want ErrProofFailed", err)
		}
	})
	t.Run("SameSize", func(t *testing.T) {
		p, err := ProveConsistency(m, 10, 10)
		if err != nil || len(p) != 0 {
			t.Fatalf("ProveConsistency(10, 10) = %v, %v; want an empty proof", p, err)
		}
		if err := CheckConsistency(p, t10, t10); err != nil {
			t.Error(err)
		}
		other := tlog.Tree{N: 10, Hash: flipBit(t10.Hash, 0)}
		if err := CheckConsistency(p, t10, other); !errors.Is(err, ErrProofFailed) {
			t.Errorf("two different trees of one size consistent: %v", err)
		}
	})
	t.Run("OldLarger", func(t *testing.T) {
		t5, _ := TreeAt(m, 5)
		if err := CheckConsistency(nil, t10, t5); !errors.Is(err, ErrProofFailed) {
			t.Errorf("CheckConsistency(old 10, new 5) = %v, want ErrProofFailed", err)
		}
	})
}
