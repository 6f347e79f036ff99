package ledger

import (
	"context"
	"errors"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// auditLog returns a MemoryHashes of n leaves and its tree.
func auditLog(t *testing.T, n int) (*MemoryHashes, tlog.Tree) {
	t.Helper()
	m := mustMemory(t, testLeaves(t, n))
	tree, err := m.Tree()
	if err != nil {
		t.Fatal(err)
	}
	return m, tree
}

func wantAuditError(t *testing.T, err error, leaf, stored int64) *AuditError {
	t.Helper()
	var ae *AuditError
	if !errors.As(err, &ae) {
		t.Fatalf("Audit = %v, want an *AuditError", err)
	}
	if ae.Leaf != leaf || ae.StoredIndex != stored {
		t.Fatalf("Audit = %v (leaf %d, stored %d), want leaf %d, stored %d", err, ae.Leaf, ae.StoredIndex, leaf, stored)
	}
	return ae
}

func TestAuditHonest(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, AuditPageSize - 1, AuditPageSize, AuditPageSize + 1, 3*AuditPageSize + 17} {
		m, tree := auditLog(t, n)
		for _, cpN := range []int64{int64(n), int64(n) / 2, 0} {
			cp, err := TreeAt(m, cpN)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Audit(t.Context(), m, m, cp)
			if err != nil {
				t.Fatalf("size %d, checkpoint %d: %v", n, cpN, err)
			}
			if got != tree {
				t.Fatalf("size %d: Audit returned %v, want %v", n, got, tree)
			}
		}
	}
	t.Run("ZeroTreeMeansNoCheckpoint", func(t *testing.T) {
		m, _ := auditLog(t, 5)
		if _, err := Audit(t.Context(), m, m, tlog.Tree{}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestAuditDetects(t *testing.T) {
	const n = 3000
	t.Run("ChangedLeaf", func(t *testing.T) {
		m, cp := auditLog(t, n)
		m.leaves[1500] = append([]byte(nil), m.leaves[1500]...)
		m.leaves[1500][10] ^= 1
		_, err := Audit(t.Context(), m, m, cp)
		wantAuditError(t, err, 1500, tlog.StoredHashIndex(0, 1500))
	})
	t.Run("ChangedLeafAfterCheckpoint", func(t *testing.T) {
		m, _ := auditLog(t, n)
		cp, _ := TreeAt(m, 100)
		m.leaves[n-1] = []byte("forged")
		_, err := Audit(t.Context(), m, m, cp)
		wantAuditError(t, err, n-1, tlog.StoredHashIndex(0, n-1))
	})
	t.Run("ChangedRecordHash", func(t *testing.T) {
		m, cp := auditLog(t, n)
		x := tlog.StoredHashIndex(0, 2047)
		m.hashes[x][0] ^= 0x80
		_, err := Audit(t.Context(), m, m, cp)
		wantAuditError(t, err, 2047, x)
	})
	t.Run("ChangedInteriorHash", func(t *testing.T) {
		m, cp := auditLog(t, n)
		x := tlog.StoredHashIndex(3, 100) // covers leaves 800..807, completed by leaf 807
		m.hashes[x][31] ^= 1
		_, err := Audit(t.Context(), m, m, cp)
		wantAuditError(t, err, 807, x)
	})
	t.Run("FirstOfSeveralFaults", func(t *testing.T) {
		m, cp := auditLog(t, n)
		m.hashes[tlog.StoredHashIndex(0, 2900)][0] ^= 1
		m.leaves[1200] = []byte("forged")
		m.hashes[tlog.StoredHashIndex(0, 1201)][0] ^= 1
		_, err := Audit(t.Context(), m, m, cp)
		wantAuditError(t, err, 1200, tlog.StoredHashIndex(0, 1200))
	})
	t.Run("LeafAndHashesRewritten", func(t *testing.T) {
		// A consistent rewrite (new leaf, all hashes recomputed) only shows in the root.
		_, cp := auditLog(t, n)
		forged := testLeaves(t, n)
		forged[42] = []byte("forged")
		f := mustMemory(t, forged)
		_, err := Audit(t.Context(), f, f, cp)
		wantAuditError(t, err, -1, -1)
	})
	t.Run("WrongCheckpointRoot", func(t *testing.T) {
		m, cp := auditLog(t, n)
		cp.Hash[5] ^= 4
		_, err := Audit(t.Context(), m, m, cp)
		wantAuditError(t, err, -1, -1)
	})
	t.Run("TruncatedLog", func(t *testing.T) {
		m, cp := auditLog(t, n)
		m.leaves = m.leaves[:2500]
		m.hashes = m.hashes[:tlog.StoredHashCount(2500)]
		_, err := Audit(t.Context(), m, m, cp)
		wantAuditError(t, err, 2500, -1)
	})
	t.Run("TruncatedLeaves", func(t *testing.T) {
		m, cp := auditLog(t, n)
		m.leaves = m.leaves[:n-1]
		_, err := Audit(t.Context(), m, m, cp)
		wantAuditError(t, err, n-1, -1)
	})
	t.Run("MissingHashes", func(t *testing.T) {
		m, cp := auditLog(t, n)
		m.hashes = m.hashes[:len(m.hashes)-1]
		if _, err := Audit(t.Context(), m, m, cp); err == nil {
			t.Fatal("Audit passed a log whose last stored hash is missing")
		}
	})
	t.Run("LeafReaderError", func(t *testing.T) {
		m, cp := auditLog(t, n)
		boom := errors.New("disk on fire")
		leaves := LeafReaderFunc(func(from int64, k int) ([][]byte, error) {
			if from >= 2*AuditPageSize {
				return nil, boom
			}
			return m.ReadLeaves(from, k)
		})
		if _, err := Audit(t.Context(), m, leaves, cp); !errors.Is(err, boom) {
			t.Fatalf("Audit = %v, want the reader's error", err)
		}
	})
	t.Run("NegativeCheckpoint", func(t *testing.T) {
		m, _ := auditLog(t, 3)
		if _, err := Audit(t.Context(), m, m, tlog.Tree{N: -1}); !errors.Is(err, ErrOutOfRange) {
			t.Fatalf("Audit = %v, want ErrOutOfRange", err)
		}
	})
	t.Run("Canceled", func(t *testing.T) {
		m, cp := auditLog(t, n)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := Audit(ctx, m, m, cp); !errors.Is(err, context.Canceled) {
			t.Fatalf("Audit = %v, want context.Canceled", err)
		}
	})
}

// TestAuditBoundedReads checks that Audit reads leaves a page at a time and never asks for more
// stored hashes at once than one page produces, whatever the log's size.
func TestAuditBoundedReads(t *testing.T) {
	const n = 20_000
	m, cp := auditLog(t, n)
	var maxHashes, maxLeaves, calls int
	r := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		maxHashes = max(maxHashes, len(indexes))
		return m.ReadHashes(indexes)
	})
	leaves := LeafReaderFunc(func(from int64, k int) ([][]byte, error) {
		calls++
		maxLeaves = max(maxLeaves, k)
		return m.ReadLeaves(from, k)
	})
	if _, err := Audit(t.Context(), r, leaves, cp); err != nil {
		t.Fatal(err)
	}
	if maxLeaves > AuditPageSize || calls < n/AuditPageSize {
		t.Errorf("read leaves in %d calls of at most %d, want pages of %d", calls, maxLeaves, AuditPageSize)
	}
	if limit := 2*AuditPageSize + 64; maxHashes > limit {
		t.Errorf("read %d stored hashes in one call, want at most %d", maxHashes, limit)
	}
}
