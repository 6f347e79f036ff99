package ledger

import (
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

func TestHashBytesAndInOrder(t *testing.T) {
	if _, err := HashBytes(3, make([]byte, 31)); err == nil {
		t.Fatal("a 31-byte stored hash was accepted")
	}
	a, err := HashBytes(1, append(make([]byte, 31), 1))
	if err != nil || a[31] != 1 {
		t.Fatalf("HashBytes: %v %v", a, err)
	}
	found := map[int64]tlog.Hash{1: a, 2: {}}
	got, err := InOrder([]int64{2, 1, 2}, found)
	if err != nil || got[1] != a || got[0] != (tlog.Hash{}) || len(got) != 3 {
		t.Fatalf("InOrder: %v %v", got, err)
	}
	if _, err := InOrder([]int64{1, 7}, found); err == nil {
		t.Fatal("a missing stored hash was answered with a zero hash")
	}
}
