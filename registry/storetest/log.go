package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/pedigreeml/pedigree/ledger"
)

// testLogStorage checks what a Log reads from the store (ledger.Storage): leaves by range and by
// index, stored hashes, checkpoints, and a missing leaf reported as such.
func testLogStorage(t *testing.T, b Backend) {
	ctx := context.Background()
	t.Run("Empty", func(t *testing.T) {
		s, _ := b.New(t)
		if n, err := s.LogSize(ctx); err != nil || n != 0 {
			t.Fatalf("LogSize = %d, %v; want 0", n, err)
		}
		if note, err := s.LatestCheckpoint(ctx); err != nil || note != nil {
			t.Fatalf("LatestCheckpoint = %q, %v; want none", note, err)
		}
		if got, err := s.ReadLogLeaves(ctx, 0, 10); err != nil || len(got) != 0 {
			t.Fatalf("ReadLogLeaves = %d leaves, %v; want none", len(got), err)
		}
	})
	f := Fill(t, b)
	s, l := f.Store, f.Log
	size, err := s.LogSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("Leaves", func(t *testing.T) {
		all, err := s.ReadLogLeaves(ctx, 0, int(size)+10)
		if err != nil || int64(len(all)) != size {
			t.Fatalf("ReadLogLeaves(0, %d) = %d leaves, %v; want %d", size+10, len(all), err, size)
		}
		page, err := s.ReadLogLeaves(ctx, 4, 3)
		if err != nil || len(page) != 3 || !bytes.Equal(page[0], all[4]) || !bytes.Equal(page[2], all[6]) {
			t.Fatalf("ReadLogLeaves(4, 3) = %d leaves, %v; want leaves 4 to 6", len(page), err)
		}
		at, err := s.ReadLogLeavesAt(ctx, []int64{7, size, 1})
		if err != nil || len(at) != 3 || !bytes.Equal(at[0], all[7]) || at[1] != nil || !bytes.Equal(at[2], all[1]) {
			t.Fatalf("ReadLogLeavesAt(7, %d, 1) = %q, %v; want leaf 7, nil, leaf 1", size, at, err)
		}
		var mem ledger.MemoryHashes
		for _, leaf := range all {
			if _, err := mem.Append(leaf); err != nil {
				t.Fatal(err)
			}
		}
		idx := []int64{0, 1, 2, tlog.StoredHashCount(size) - 1}
		got, err := s.ReadLogHashes(ctx, idx)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := mem.ReadHashes(idx)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("ReadLogHashes(%v) = %v; want %v", idx, got, want)
		}
	})
	t.Run("GapIsAnAuditError", func(t *testing.T) {
		g := Fill(t, b)
		b.Exec(t, g.Location, "DELETE FROM log_leaves WHERE idx = 5")
		var ae *ledger.AuditError
		if got, err := g.Store.ReadLogLeaves(ctx, 3, 4); !errors.As(err, &ae) || ae.Leaf != 5 {
			t.Fatalf("ReadLogLeaves over a missing leaf = %d leaves, %v; want an audit error at leaf 5", len(got), err)
		}
		if got, err := g.Store.ReadLogLeaves(ctx, 5, 1); !errors.As(err, &ae) {
			t.Fatalf("ReadLogLeaves of a missing leaf = %d leaves, %v; want an audit error, not the next leaf", len(got), err)
		}
	})
	t.Run("CheckpointOfASizeIsKept", func(t *testing.T) {
		first, tree, err := l.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SaveCheckpoint(ctx, tree, []byte("another note")); err != nil {
			t.Fatal(err)
		}
		got, err := s.LatestCheckpoint(ctx)
		if err != nil || !bytes.Equal(got, first) {
			t.Fatalf("LatestCheckpoint = %q, %v; want the first note of size %d", got, err, tree.N)
		}
		if err := s.SaveCheckpoint(ctx, tlog.Tree{N: tree.N - 1, Hash: tree.Hash}, []byte("smaller")); err != nil {
			t.Fatal(err)
		}
		if got, err := s.LatestCheckpoint(ctx); err != nil || !bytes.Equal(got, first) {
			t.Fatalf("LatestCheckpoint = %q, %v; want the largest", got, err)
		}
	})
}

// testReopen closes a store and opens its database again: the records are still there, and no
// migration runs a second time.
func testReopen(t *testing.T, b Backend) {
	ctx := context.Background()
	s, location := b.New(t)
	id := NewHarness(t, s).One(Human(Text("kept"))).ID
	var before, after int
	b.Query(t, location, "SELECT count(*) FROM schema_migrations", &before)
	s.Close()
	s = b.Reopen(t, location)
	if _, err := s.GetSample(ctx, id); err != nil {
		t.Fatalf("sample lost on reopen: %v", err)
	}
	b.Query(t, location, "SELECT count(*) FROM schema_migrations", &after)
	if before == 0 || after != before {
		t.Fatalf("schema_migrations holds %d rows after the first open and %d after the second", before, after)
	}
}
