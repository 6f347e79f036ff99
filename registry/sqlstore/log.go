package sqlstore

import (
	"context"
	"fmt"

	"github.com/pedigreeml/pedigree/ledger"
	"golang.org/x/mod/sumdb/tlog"
)

// logWriter appends leaves to the Merkle log inside a write transaction that holds the sequencer
// (the row of log_head) from lockLog to commit.
type logWriter struct {
	ctx    context.Context
	tx     *txn
	first  int64 // log size when the lock was taken
	start  int64 // log size at the last flush
	app    *ledger.Appender
	leaves []leafRow
	bands  []int64 // band keys the write indexed, for the store's band filter
}

type leafRow struct {
	idx  int64
	kind string
	id   string
	leaf []byte
}

// lockLog takes the sequencer and reads the log size. It must be the transaction's first statement,
// so that every check the transaction makes afterwards sees the commits of the writers it waited for.
func lockLog(ctx context.Context, tx *txn) (*logWriter, error) {
	var size int64
	if err := tx.QueryRowContext(ctx, "SELECT size FROM log_head WHERE id = 1"+tx.d.LockSuffix).Scan(&size); err != nil {
		return nil, fmt.Errorf("lock the log: %w", err)
	}
	return &logWriter{ctx: ctx, tx: tx, first: size, start: size, app: ledger.NewAppender(size, hashReader{ctx: ctx, q: tx})}, nil
}

// add appends a leaf and returns its index.
func (l *logWriter) add(kind, id string, leaf []byte) (int64, error) {
	idx, err := l.app.Append(leaf)
	if err != nil {
		return 0, err
	}
	l.leaves = append(l.leaves, leafRow{idx: idx, kind: kind, id: id, leaf: leaf})
	return idx, nil
}

// The log's tables, for bulk inserts.
var (
	leavesTable = &table{name: "log_leaves", cols: []string{"idx", "kind", "record_id", "leaf"}, types: []string{"bigint", "text", "text", "bytea"}}
	hashesTable = &table{name: "log_hashes", cols: []string{"idx", "hash"}, types: []string{"bigint", "bytea"}}
)

// flush writes the appended leaves, their stored hashes and the new log size.
func (l *logWriter) flush() error {
	if len(l.leaves) == 0 {
		return nil
	}
	rows := make([][]any, len(l.leaves))
	for i, r := range l.leaves {
		rows[i] = []any{r.idx, r.kind, r.id, r.leaf}
	}
	if err := insertMany(l.ctx, l.tx, leavesTable, rows); err != nil {
		return err
	}
	hs := l.app.Hashes()
	rows = make([][]any, len(hs))
	for i, h := range hs {
		rows[i] = []any{h.Index, h.Hash[:]}
	}
	if err := insertMany(l.ctx, l.tx, hashesTable, rows); err != nil {
		return err
	}
	res, err := l.tx.ExecContext(l.ctx, "UPDATE log_head SET size = ? WHERE id = 1 AND size = ?", l.app.Size(), l.start)
	if err != nil {
		return fmt.Errorf("update log head: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("update log head: the log moved from size %d while locked (%v)", l.start, err)
	}
	l.start, l.leaves = l.app.Size(), l.leaves[:0]
	return nil
}

// hashReader reads stored hashes from the log_hashes table.
type hashReader struct {
	ctx context.Context
	q   queryer
}

// ReadHashes implements tlog.HashReader.
func (h hashReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	if len(indexes) == 0 {
		return nil, nil
	}
	cond, args := in(h.q.dialect(), "idx", indexes)
	rows, err := h.q.QueryContext(h.ctx, "SELECT idx, hash FROM log_hashes WHERE "+cond, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	found := make(map[int64]tlog.Hash, len(indexes))
	for rows.Next() {
		var idx int64
		var b []byte
		if err := rows.Scan(&idx, &b); err != nil {
			return nil, err
		}
		hash, err := ledger.HashBytes(idx, b)
		if err != nil {
			return nil, err
		}
		found[idx] = hash
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return ledger.InOrder(indexes, found)
}
