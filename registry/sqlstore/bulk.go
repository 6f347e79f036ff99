package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// A table is the target of a bulk insert: its name, and its columns with their PostgreSQL types
// (text, bigint, float8 or bytea), which name the arrays a statement carries them in.
type table struct {
	name  string
	cols  []string
	types []string
}

// insert returns the INSERT statement of rows rows of t, in ? placeholders.
func (t *table) insert(rows int) string {
	row := "(" + placeholders(len(t.cols)) + ")"
	return "INSERT INTO " + t.name + " (" + strings.Join(t.cols, ", ") + ") VALUES " + strings.TrimSuffix(strings.Repeat(row+",", rows), ",")
}

// insertMany inserts rows (each in t's column order) into t. Where the dialect copies
// (Dialect.CopyFrom) and there are enough rows, COPY carries them in the transaction (copy.go); on
// a database that takes arrays (Dialect.Arrays) one statement carries every row, a column an array,
// whatever their number; on others, multi-row statements of up to maxArgs arguments each, the
// full-size one prepared once.
func insertMany(ctx context.Context, tx *txn, t *table, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	if useCopy(tx, len(rows)) {
		return insertCopy(ctx, tx, t, rows)
	}
	if tx.d.Arrays {
		return insertArrays(ctx, tx, t, rows)
	}
	const maxArgs = 999 // SQLite's default limit of variables in a statement, in older builds
	per := max(1, maxArgs/len(t.cols))
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	args := make([]any, 0, per*len(t.cols))
	for len(rows) > 0 {
		k := min(per, len(rows))
		args = args[:0]
		for _, r := range rows[:k] {
			args = append(args, r...)
		}
		var err error
		if k == per {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, t.insert(k)); err != nil {
					return fmt.Errorf("insert into %s: %w", t.name, err)
				}
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, t.insert(k), args...)
		}
		if err != nil {
			return fmt.Errorf("insert into %s: %w", t.name, err)
		}
		rows = rows[k:]
	}
	return nil
}

// insertArrays inserts rows with one statement: INSERT … SELECT * FROM unnest(?::text[], …), each
// column travelling as one typed array.
func insertArrays(ctx context.Context, tx *txn, t *table, rows [][]any) error {
	args := make([]any, len(t.cols))
	casts := make([]string, len(t.cols))
	for c, typ := range t.types {
		casts[c] = "?::" + typ + "[]"
		col, err := column(rows, c, typ)
		if err != nil {
			return fmt.Errorf("insert into %s: column %s: %w", t.name, t.cols[c], err)
		}
		args[c] = col
	}
	q := "INSERT INTO " + t.name + " (" + strings.Join(t.cols, ", ") + ") SELECT * FROM unnest(" + strings.Join(casts, ", ") + ")"
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("insert into %s: %w", t.name, err)
	}
	return nil
}

// column gathers column c of rows into a typed slice for an array of typ; nil and invalid
// sql.Null values become NULL elements.
func column(rows [][]any, c int, typ string) (any, error) {
	switch typ {
	case "text":
		out := make([]*string, len(rows))
		for i, r := range rows {
			switch v := r[c].(type) {
			case string:
				out[i] = &v
			case sql.NullString:
				if v.Valid {
					out[i] = &v.String
				}
			case nil:
			default:
				return nil, fmt.Errorf("%T for text", v)
			}
		}
		return out, nil
	case "bigint":
		out := make([]*int64, len(rows))
		for i, r := range rows {
			var n int64
			switch v := r[c].(type) {
			case int:
				n = int64(v)
			case int64:
				n = v
			case nil:
				continue
			default:
				return nil, fmt.Errorf("%T for bigint", v)
			}
			out[i] = &n
		}
		return out, nil
	case "float8":
		out := make([]*float64, len(rows))
		for i, r := range rows {
			switch v := r[c].(type) {
			case float64:
				out[i] = &v
			case nil:
			default:
				return nil, fmt.Errorf("%T for float8", v)
			}
		}
		return out, nil
	case "bytea":
		out := make([][]byte, len(rows))
		for i, r := range rows {
			switch v := r[c].(type) {
			case []byte:
				out[i] = v
			case nil:
			default:
				return nil, fmt.Errorf("%T for bytea", v)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown array type %q", typ)
}
