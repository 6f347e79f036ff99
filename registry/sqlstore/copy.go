package sqlstore

import (
	"context"
	"fmt"
	"slices"
)

// CopyFunc copies rows (each in cols' order) into table through the database's bulk-load protocol
// (PostgreSQL's COPY … FROM STDIN) on driverConn, the driver connection of a transaction in
// progress (what sql.Conn.Raw passes), so that the rows belong to that transaction. It returns the
// number of rows copied.
type CopyFunc func(ctx context.Context, driverConn any, table string, cols []string, rows [][]any) (int64, error)

// copyMinRows is the fewest rows that go through COPY; fewer go in one INSERT … unnest statement.
// Measured on PostgreSQL inside one transaction, rows of the log's leaves (postgres'
// BenchmarkCopyThreshold): from 16 to 128 rows the two differ by less than the runs' noise (±15 %),
// from 192 COPY takes 10–15 % less; a batch's single leaf or handful of edges gains nothing from it.
const copyMinRows = 100

// useCopy reports whether rows rows of a bulk insert in tx go through COPY.
func useCopy(tx *txn, rows int) bool {
	return tx.d.CopyFrom != nil && tx.conn != nil && rows >= copyMinRows
}

// insertCopy inserts rows into t with the dialect's COPY, on the connection of tx and inside it: a
// failure (a constraint, a value the column cannot hold) fails the transaction, which the caller
// rolls back with everything else the write did.
func insertCopy(ctx context.Context, tx *txn, t *table, rows [][]any) error {
	var n int64
	err := tx.conn.Raw(func(dc any) error {
		var err error
		n, err = tx.d.CopyFrom(ctx, dc, t.name, t.cols, rows)
		return err
	})
	if err != nil {
		return fmt.Errorf("copy into %s: %w", t.name, err)
	}
	if n != int64(len(rows)) {
		return fmt.Errorf("copy into %s: %d rows copied of %d", t.name, n, len(rows))
	}
	return nil
}

// SampleColumns returns the samples table's columns in SampleArgs order, for benchmarks that copy
// rows raw.
func SampleColumns() []string { return slices.Clone(sampleArgColumns) }
