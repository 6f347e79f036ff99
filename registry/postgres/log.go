package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/pedigreeml/pedigree/ledger"
)

// logWriter appends leaves to the Merkle log inside a write transaction that holds the sequencer
// lock (the row of log_head) from lockLog to commit.
type logWriter struct {
	ctx    context.Context
	tx     pgx.Tx
	start  int64 // log size when the lock was taken
	app    *ledger.Appender
	leaves []leafRow
}

type leafRow struct {
	idx  int64
	kind string
	id   string
	leaf []byte
}

// lockLog takes the sequencer lock and reads the log size. It must be the transaction's first
// statement, so that every check the transaction makes afterwards sees the commits of the writers
// it waited for.
func lockLog(ctx context.Context, tx pgx.Tx) (*logWriter, error) {
	var size int64
	if err := tx.QueryRow(ctx, "SELECT size FROM log_head WHERE id = 1 FOR UPDATE").Scan(&size); err != nil {
		return nil, fmt.Errorf("lock the log: %w", err)
	}
	return &logWriter{ctx: ctx, tx: tx, start: size, app: ledger.NewAppender(size, hashReader{ctx: ctx, q: tx})}, nil
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

// flush writes the appended leaves, their stored hashes and the new log size. Each table gets one
// statement whatever the number of rows: the columns travel as arrays and unnest turns them into
// rows.
func (l *logWriter) flush() error {
	if len(l.leaves) == 0 {
		return nil
	}
	n := len(l.leaves)
	idx, kinds, ids, leaves := make([]int64, n), make([]string, n), make([]string, n), make([][]byte, n)
	for i, r := range l.leaves {
		idx[i], kinds[i], ids[i], leaves[i] = r.idx, r.kind, r.id, r.leaf
	}
	if _, err := l.tx.Exec(l.ctx, `INSERT INTO log_leaves (idx, kind, record_id, leaf)
		SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bytea[])`, idx, kinds, ids, leaves); err != nil {
		return fmt.Errorf("insert log leaves: %w", err)
	}
	hs := l.app.Hashes()
	hidx, hashes := make([]int64, len(hs)), make([][]byte, len(hs))
	for i, h := range hs {
		hidx[i], hashes[i] = h.Index, h.Hash[:]
	}
	if _, err := l.tx.Exec(l.ctx, `INSERT INTO log_hashes (idx, hash)
		SELECT * FROM unnest($1::bigint[], $2::bytea[])`, hidx, hashes); err != nil {
		return fmt.Errorf("insert log hashes: %w", err)
	}
	tag, err := l.tx.Exec(l.ctx, "UPDATE log_head SET size = $1 WHERE id = 1 AND size = $2", l.app.Size(), l.start)
	if err != nil {
		return fmt.Errorf("update log head: %w", err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("update log head: the log moved from size %d while locked", l.start)
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
	rows, err := h.q.Query(h.ctx, "SELECT idx, hash FROM log_hashes WHERE idx = ANY($1)", indexes)
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
