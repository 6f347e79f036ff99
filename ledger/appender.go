package ledger

import (
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// A StoredHash is one row of a store's hash table: a hash at its tlog stored-hash index (see
// [tlog.StoredHashIndex]).
type StoredHash struct {
	Index int64
	Hash  tlog.Hash
}

// An Appender computes the stored hashes for a run of new leaves, typically all the leaves of one
// store transaction. Hashes written before the Appender was created are read through the store's
// reader; hashes the Appender computed itself are kept in memory until the store inserts them
// ([Appender.Hashes]). An Appender is not safe for concurrent use; the store's sequencer lock
// must be held from reading the size to committing.
//
// An Appender is itself a [tlog.HashReader] over the log as extended so far, so proofs and roots
// can be computed inside the transaction before commit.
type Appender struct {
	r       tlog.HashReader
	size    int64       // leaves in the log, including those appended here
	base    int64       // tlog.StoredHashCount of the size the Appender started at
	overlay []tlog.Hash // hashes at stored indexes base, base+1, …
}

// NewAppender returns an Appender for a log that currently holds size leaves whose stored hashes
// r reads.
func NewAppender(size int64, r tlog.HashReader) *Appender {
	if size < 0 {
		panic(fmt.Sprintf("ledger: NewAppender with negative size %d", size))
	}
	return &Appender{r: r, size: size, base: tlog.StoredHashCount(size)}
}

// Append adds leaf to the log and returns its index (the log's size before the call). It hashes
// leaf as is; build leaves with [Leaf]. On error the Appender is unchanged.
func (a *Appender) Append(leaf []byte) (index int64, err error) {
	return a.AppendRecordHash(tlog.RecordHash(leaf))
}

// AppendRecordHash is like [Appender.Append] but takes tlog.RecordHash(leaf) instead of the leaf.
func (a *Appender) AppendRecordHash(h tlog.Hash) (index int64, err error) {
	hashes, err := tlog.StoredHashesForRecordHash(a.size, h, a)
	if err != nil {
		return 0, fmt.Errorf("ledger: append leaf %d: %w", a.size, err)
	}
	a.overlay = append(a.overlay, hashes...)
	a.size++
	return a.size - 1, nil
}

// Size returns the number of leaves in the log, including those appended through a.
func (a *Appender) Size() int64 { return a.size }

// Hashes returns every stored hash computed since [NewAppender], in index order, for the store to
// insert. Their indexes run contiguously from tlog.StoredHashCount(start size) to
// tlog.StoredHashCount(a.Size())-1.
func (a *Appender) Hashes() []StoredHash {
	out := make([]StoredHash, len(a.overlay))
	for i, h := range a.overlay {
		out[i] = StoredHash{Index: a.base + int64(i), Hash: h}
	}
	return out
}

// Tree returns the size and root hash of the log as extended so far, for signing a checkpoint in
// the same transaction.
func (a *Appender) Tree() (tlog.Tree, error) {
	return TreeAt(a, a.size)
}

// ReadHashes implements [tlog.HashReader]: indexes below the starting stored-hash count are read
// from the store in a single call, the others from memory.
func (a *Appender) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	var old []int64
	for _, x := range indexes {
		if x < 0 {
			return nil, fmt.Errorf("ledger: negative stored hash index %d", x)
		}
		if x < a.base {
			old = append(old, x)
		}
	}
	var oldHashes []tlog.Hash
	if len(old) > 0 {
		var err error
		if oldHashes, err = a.r.ReadHashes(old); err != nil {
			return nil, err
		}
		if len(oldHashes) != len(old) {
			return nil, fmt.Errorf("ledger: store read %d hashes, asked for %d", len(oldHashes), len(old))
		}
	}
	for i, x := range indexes {
		switch {
		case x < a.base:
			out[i], oldHashes = oldHashes[0], oldHashes[1:]
		case x-a.base < int64(len(a.overlay)):
			out[i] = a.overlay[x-a.base]
		default:
			return nil, fmt.Errorf("ledger: stored hash %d is beyond the log (%d leaves)", x, a.size)
		}
	}
	return out, nil
}
