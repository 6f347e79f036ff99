package ledger

import (
	"errors"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// sliceHashes is the plainest possible tlog.HashReader, for the reference runs.
type sliceHashes []tlog.Hash

func (s sliceHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		out[i] = s[x]
	}
	return out, nil
}

// TestAppenderBatches appends the same leaves in three ways — one Appender per batch ("transaction")
// committed to a MemoryHashes, one long Appender, and tlog.StoredHashes directly — and expects
// the same stored hashes, indexes and roots from all three, and the RFC 6962 root.
func TestAppenderBatches(t *testing.T) {
	const total = 1500
	leaves := testLeaves(t, total)
	batchSizes := []int{1, 1, 2, 3, 5, 8, 13, 21, 64, 100, 127, 128, 1, 255, 256, 257}

	// Reference: tlog directly.
	var direct sliceHashes
	for i, l := range leaves {
		hs, err := tlog.StoredHashes(int64(i), l, direct)
		if err != nil {
			t.Fatal(err)
		}
		direct = append(direct, hs...)
	}

	// One long Appender over an empty store.
	long := NewAppender(0, new(MemoryHashes))
	for i, l := range leaves {
		if idx, err := long.Append(l); err != nil || idx != int64(i) {
			t.Fatalf("long Append(%d) = %d, %v", i, idx, err)
		}
	}
	longHashes := long.Hashes()

	// One Appender per batch, committed between batches.
	store := new(MemoryHashes)
	for next, b := 0, 0; next < total; b++ {
		batch := leaves[next:min(total, next+batchSizes[b%len(batchSizes)])]
		a := NewAppender(store.Size(), store)
		for i, l := range batch {
			if idx, err := a.Append(l); err != nil || idx != int64(next+i) {
				t.Fatalf("batch %d: Append(leaf %d) = %d, %v", b, next+i, idx, err)
			}
		}
		if a.Size() != int64(next+len(batch)) {
			t.Fatalf("batch %d: Size() = %d, want %d", b, a.Size(), next+len(batch))
		}
		inTx, err := a.Tree()
		if err != nil {
			t.Fatal(err)
		}
		if err := store.Commit(batch, a.Hashes()); err != nil {
			t.Fatalf("batch %d: %v", b, err)
		}
		committed, err := store.Tree()
		if err != nil {
			t.Fatal(err)
		}
		if inTx != committed {
			t.Fatalf("batch %d: tree inside the transaction %v, after commit %v", b, inTx, committed)
		}
		next += len(batch)
	}

	if len(longHashes) != len(direct) || len(store.hashes) != len(direct) {
		t.Fatalf("stored hash counts: long %d, batches %d, tlog %d", len(longHashes), len(store.hashes), len(direct))
	}
	if want := tlog.StoredHashCount(total); int64(len(direct)) != want {
		t.Fatalf("tlog wrote %d hashes, StoredHashCount says %d", len(direct), want)
	}
	for i, h := range direct {
		if longHashes[i].Index != int64(i) || longHashes[i].Hash != h {
			t.Fatalf("long Appender hash %d = %d %v, want %v", i, longHashes[i].Index, longHashes[i].Hash, h)
		}
		if store.hashes[i] != h {
			t.Fatalf("batched Appender hash %d = %v, want %v", i, store.hashes[i], h)
		}
	}

	want := newRFC6962(leaves).mth(0, total)
	longTree, err := long.Tree()
	if err != nil {
		t.Fatal(err)
	}
	storeTree, err := store.Tree()
	if err != nil {
		t.Fatal(err)
	}
	directRoot, err := tlog.TreeHash(total, direct)
	if err != nil {
		t.Fatal(err)
	}
	if longTree.Hash != want || storeTree.Hash != want || directRoot != want || longTree.N != total || storeTree.N != total {
		t.Fatalf("roots: long %v, batches %v, tlog %v; RFC 6962 %v", longTree, storeTree, directRoot, want)
	}
}

// countingReader records what the Appender asks the store for.
type countingReader struct {
	r       tlog.HashReader
	calls   int
	maxSeen int64
	fail    bool
}

func (c *countingReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	c.calls++
	for _, x := range indexes {
		c.maxSeen = max(c.maxSeen, x)
	}
	if c.fail {
		return nil, errors.New("store unavailable")
	}
	return c.r.ReadHashes(indexes)
}

// TestAppenderReadsStoreSparingly checks that a batch reads only hashes that existed before it,
// in at most one store call per level of the tree.
func TestAppenderReadsStoreSparingly(t *testing.T) {
	leaves := testLeaves(t, 1000+1000)
	store := mustMemory(t, leaves[:1000])
	cr := &countingReader{r: store}
	a := NewAppender(1000, cr)
	for _, l := range leaves[1000:] {
		if _, err := a.Append(l); err != nil {
			t.Fatal(err)
		}
	}
	if cr.maxSeen >= tlog.StoredHashCount(1000) {
		t.Errorf("Appender asked the store for hash %d, which it computed itself (store has %d)", cr.maxSeen, tlog.StoredHashCount(1000))
	}
	if cr.calls == 0 || cr.calls > 11 {
		t.Errorf("Appender made %d store calls for 1000 leaves, want 1 to 11 (one per tree level at most)", cr.calls)
	}
}

// TestAppenderProvesInsideTransaction uses the Appender as the HashReader for proofs over old and
// new leaves before anything is committed.
func TestAppenderProvesInsideTransaction(t *testing.T) {
	leaves := testLeaves(t, 77)
	store := mustMemory(t, leaves[:40])
	old, err := store.Tree()
	if err != nil {
		t.Fatal(err)
	}
	a := NewAppender(40, store)
	for _, l := range leaves[40:] {
		if _, err := a.Append(l); err != nil {
			t.Fatal(err)
		}
	}
	tree, err := a.Tree()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int64{0, 39, 40, 76} {
		p, err := ProveInclusion(a, tree.N, i)
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckInclusion(p, tree, i, leaves[i]); err != nil {
			t.Errorf("inclusion of %d: %v", i, err)
		}
	}
	p, err := ProveConsistency(a, 40, 77)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckConsistency(p, old, tree); err != nil {
		t.Error(err)
	}
	if _, err := a.ReadHashes([]int64{tlog.StoredHashCount(77)}); err == nil {
		t.Error("ReadHashes beyond the log succeeded")
	}
	if _, err := a.ReadHashes([]int64{-1}); err == nil {
		t.Error("ReadHashes(-1) succeeded")
	}
}

// TestAppenderStoreError checks that a failed read leaves the Appender as it was, so a retry
// gives the right hashes.
func TestAppenderStoreError(t *testing.T) {
	leaves := testLeaves(t, 8)
	store := mustMemory(t, leaves[:7])
	cr := &countingReader{r: store, fail: true}
	a := NewAppender(7, cr)
	// Leaf 7 completes subtrees of 1, 2 and 4 leaves, so it must read the store.
	if _, err := a.Append(leaves[7]); err == nil {
		t.Fatal("Append with a failing store succeeded")
	}
	if a.Size() != 7 || len(a.Hashes()) != 0 {
		t.Fatalf("after a failed Append: Size %d, %d hashes; want 7 and 0", a.Size(), len(a.Hashes()))
	}
	cr.fail = false
	if idx, err := a.Append(leaves[7]); err != nil || idx != 7 {
		t.Fatalf("retry: Append = %d, %v", idx, err)
	}
	if err := store.Commit(leaves[7:], a.Hashes()); err != nil {
		t.Fatal(err)
	}
	got, _ := store.Tree()
	if want := newRFC6962(leaves).mth(0, 8); got.Hash != want {
		t.Fatalf("root after retry %v, want %v", got.Hash, want)
	}
}

func TestMemoryHashesCommitChecks(t *testing.T) {
	leaves := testLeaves(t, 4)
	store := mustMemory(t, leaves[:2])
	a := NewAppender(2, store)
	for _, l := range leaves[2:] {
		if _, err := a.Append(l); err != nil {
			t.Fatal(err)
		}
	}
	hs := a.Hashes()
	t.Run("TooFewHashes", func(t *testing.T) {
		if err := store.Commit(leaves[2:], hs[:len(hs)-1]); err == nil {
			t.Error("accepted")
		}
	})
	t.Run("WrongLeafCount", func(t *testing.T) {
		if err := store.Commit(leaves[2:3], hs); err == nil {
			t.Error("accepted")
		}
	})
	t.Run("WrongIndex", func(t *testing.T) {
		bad := append([]StoredHash(nil), hs...)
		bad[0].Index++
		if err := store.Commit(leaves[2:], bad); err == nil {
			t.Error("accepted")
		}
	})
	if store.Size() != 2 {
		t.Fatalf("rejected commits changed the store: size %d", store.Size())
	}
	if err := store.Commit(leaves[2:], hs); err != nil {
		t.Fatal(err)
	}
	if got, err := store.Leaf(3); err != nil || string(got) != string(leaves[3]) {
		t.Fatalf("Leaf(3) = %q, %v", got, err)
	}
	if _, err := store.Leaf(4); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("Leaf(4) = %v, want ErrOutOfRange", err)
	}
}
