package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/pedigreeml/pedigree/ledger"
	"golang.org/x/mod/sumdb/tlog"
)

// logWriter appends leaves to the Merkle log inside a write transaction. The single writer
// connection is the sequencer: leaves are numbered in commit order.
type logWriter struct {
	ctx    context.Context
	tx     *sql.Tx
	app    *ledger.Appender
	leaves []leafRow
}

type leafRow struct {
	idx  int64
	kind string
	id   string
	leaf []byte
}

func newLogWriter(ctx context.Context, tx *sql.Tx) (*logWriter, error) {
	var size int64
	if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(idx) + 1, 0) FROM log_leaves").Scan(&size); err != nil {
		return nil, fmt.Errorf("log size: %w", err)
	}
	return &logWriter{ctx: ctx, tx: tx, app: ledger.NewAppender(size, hashReader{ctx: ctx, q: tx})}, nil
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

// flush writes the appended leaves and their stored hashes.
func (l *logWriter) flush() error {
	const perStmt = 200
	for rows := l.leaves; len(rows) > 0; {
		k := min(perStmt, len(rows))
		args := make([]any, 0, 4*k)
		for _, r := range rows[:k] {
			args = append(args, r.idx, r.kind, r.id, r.leaf)
		}
		q := "INSERT INTO log_leaves (idx, kind, record_id, leaf) VALUES " + strings.TrimSuffix(strings.Repeat("(?,?,?,?),", k), ",")
		if _, err := l.tx.ExecContext(l.ctx, q, args...); err != nil {
			return fmt.Errorf("insert log leaves: %w", err)
		}
		rows = rows[k:]
	}
	for hs := l.app.Hashes(); len(hs) > 0; {
		k := min(perStmt*2, len(hs))
		args := make([]any, 0, 2*k)
		for _, h := range hs[:k] {
			args = append(args, h.Index, h.Hash[:])
		}
		q := "INSERT INTO log_hashes (idx, hash) VALUES " + strings.TrimSuffix(strings.Repeat("(?,?),", k), ",")
		if _, err := l.tx.ExecContext(l.ctx, q, args...); err != nil {
			return fmt.Errorf("insert log hashes: %w", err)
		}
		hs = hs[k:]
	}
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
	args := make([]any, len(indexes))
	for i, x := range indexes {
		args[i] = x
	}
	rows, err := h.q.QueryContext(h.ctx, "SELECT idx, hash FROM log_hashes WHERE idx IN ("+placeholders(len(indexes))+")", args...)
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
