package ledger

import (
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

var (
	// ErrOutOfRange is wrapped by the Prove functions and [TreeAt] when an index or size does not
	// fit the log (for example an inclusion proof for index ≥ size). It is the caller's mistake,
	// not the store's.
	ErrOutOfRange = errors.New("ledger: index or size out of range")

	// ErrProofFailed is wrapped by the Check functions when a proof does not verify.
	ErrProofFailed = errors.New("ledger: proof does not verify")
)

// TreeAt returns the tree (size and RFC 6962 root hash) of the first size leaves of the log whose
// stored hashes r reads. It reads at most 1+log₂(size) hashes. The empty tree's hash is
// SHA-256 of the empty string.
func TreeAt(r tlog.HashReader, size int64) (tlog.Tree, error) {
	if size < 0 {
		return tlog.Tree{}, fmt.Errorf("%w: size %d", ErrOutOfRange, size)
	}
	h, err := tlog.TreeHash(size, r)
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("ledger: tree hash at size %d: %w", size, err)
	}
	return tlog.Tree{N: size, Hash: h}, nil
}

// ProveInclusion returns the RFC 6962 audit path proving that the tree of the given size contains
// the leaf at index (0 ≤ index < size). The proof lists sibling hashes from the leaf upwards; as
// JSON it is an array of base64 strings. For a tree of one leaf the proof is empty.
func ProveInclusion(r tlog.HashReader, size, index int64) (tlog.RecordProof, error) {
	if index < 0 || index >= size {
		return nil, fmt.Errorf("%w: inclusion of index %d in size %d", ErrOutOfRange, index, size)
	}
	p, err := tlog.ProveRecord(size, index, r)
	if err != nil {
		return nil, fmt.Errorf("ledger: inclusion proof for %d in %d: %w", index, size, err)
	}
	return p, nil
}

// CheckInclusion verifies that p proves that tree t contains leaf at index. The leaf is given as
// its bytes, which CheckInclusion hashes with tlog.RecordHash.
func CheckInclusion(p tlog.RecordProof, t tlog.Tree, index int64, leaf []byte) error {
	if index < 0 || index >= t.N {
		return fmt.Errorf("%w: index %d not in tree of size %d", ErrProofFailed, index, t.N)
	}
	if err := tlog.CheckRecord(p, t.N, t.Hash, index, tlog.RecordHash(leaf)); err != nil {
		return fmt.Errorf("%w: inclusion of %d in %d: %v", ErrProofFailed, index, t.N, err)
	}
	return nil
}

// ProveConsistency returns the RFC 6962 consistency proof that the tree of size to contains the
// tree of size from as a prefix (0 ≤ from ≤ to). The proof is empty when from is 0 or from equals
// to.
func ProveConsistency(r tlog.HashReader, from, to int64) (tlog.TreeProof, error) {
	if from < 0 || from > to {
		return nil, fmt.Errorf("%w: consistency from %d to %d", ErrOutOfRange, from, to)
	}
	if from == 0 {
		return tlog.TreeProof{}, nil
	}
	p, err := tlog.ProveTree(to, from, r)
	if err != nil {
		return nil, fmt.Errorf("ledger: consistency proof from %d to %d: %w", from, to, err)
	}
	return p, nil
}

// CheckConsistency verifies that p proves that tree new extends tree old. An empty old tree
// (old.N == 0) is a prefix of every tree and needs an empty proof; old.N > new.N fails.
func CheckConsistency(p tlog.TreeProof, old, new tlog.Tree) error {
	switch {
	case old.N < 0 || old.N > new.N:
		return fmt.Errorf("%w: tree of size %d cannot extend size %d", ErrProofFailed, new.N, old.N)
	case old.N == 0:
		if len(p) != 0 {
			return fmt.Errorf("%w: non-empty proof from the empty tree", ErrProofFailed)
		}
		return nil
	}
	if err := tlog.CheckTree(p, new.N, new.Hash, old.N, old.Hash); err != nil {
		return fmt.Errorf("%w: consistency from %d to %d: %v", ErrProofFailed, old.N, new.N, err)
	}
	return nil
}
