package ledger

import (
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// HashBytes converts a stored hash column to a tlog.Hash, refusing one of the wrong length.
func HashBytes(index int64, b []byte) (tlog.Hash, error) {
	var h tlog.Hash
	if len(b) != tlog.HashSize {
		return h, fmt.Errorf("stored hash %d has %d bytes", index, len(b))
	}
	copy(h[:], b)
	return h, nil
}

// InOrder returns found's hashes in the order of indexes, as tlog.HashReader must, with an error for
// any that is missing (never a zero hash).
func InOrder(indexes []int64, found map[int64]tlog.Hash) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		h, ok := found[x]
		if !ok {
			return nil, fmt.Errorf("stored hash %d is missing", x)
		}
		out[i] = h
	}
	return out, nil
}
