// Package sqlstore is the registry's Store over database/sql, written once for every database it
// runs on: registry/sqlite (the embedded default) and registry/postgres open a connection and pass a
// Dialect, which holds the little that differs (placeholders, the sequencer lock, migrations, a cast).
//
// Every write runs in Store.write: one transaction that first takes the log's sequencer (the one row
// of log_head, locked FOR UPDATE where the database has row locks; SQLite's single writer connection
// and IMMEDIATE transactions make it the lock there), so that leaves get indexes 0, 1, 2, … in
// commit order and every check the transaction makes sees every earlier writer's rows; the leaves the
// transaction appends, their stored hashes and the new head are written before it commits.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pedigreeml/pedigree/registry"
)

// Dialect is what differs between the databases a Store runs on.
type Dialect struct {
	// Name is the dialect's name, as policies translate their include rules for it: "sqlite" or
	// "postgres".
	Name string
	// Numbered makes placeholders $1, $2, … instead of ?. Queries are written with ?.
	Numbered bool
	// Arrays makes bulk inserts carry each column as one array (INSERT … SELECT * FROM unnest(…)),
	// one statement whatever the number of rows, where the database takes array parameters.
	Arrays bool
	// SingleWriter says that only this process writes the database (SQLite), so that it may keep
	// in memory what it wrote: the band filter in front of the near-duplicate probes.
	SingleWriter bool
	// JSONLists makes a list of values one JSON parameter (col IN (SELECT value FROM json_each(?))):
	// one short statement however many values, where the database has JSON functions but no arrays.
	// A long IN (?,?,…) list costs more to prepare than to run.
	JSONLists bool
	// LockSuffix follows the read of the sequencer's row, to lock it (" FOR UPDATE").
	LockSuffix string
	// TextParam writes a text parameter where its type must be given (the seed of a recursive
	// query), with the ? it stands for.
	TextParam string
	// Migrations holds the numbered .sql files of the schema.
	Migrations fs.FS
	// LockMigrations, if set, runs first in each migration's transaction, so that several processes
	// opening one database migrate it once.
	LockMigrations func(ctx context.Context, tx *sql.Tx) error
	// MapError, if set, turns a database error into a registry error where one applies.
	MapError func(error) error
	// CopyFrom, if set, makes bulk inserts of many rows go through the database's COPY on the write
	// transaction's own connection (copy.go), in that transaction.
	CopyFrom CopyFunc

	// Fence ends a subquery so that the planner computes its columns once a row instead of pulling
	// it up into the query around it (where a column's expression would stand, and be computed, in
	// both the WHERE and the select list): a LIMIT and OFFSET that change nothing.
	Fence string
	// IntegerRowid says that a column declared INTEGER PRIMARY KEY is the table's rowid (SQLite),
	// so that a draw's scratch table keys its rows by their place in the manifest in one B-tree,
	// not in a second one beside the rowid.
	IntegerRowid bool
	// DrawKey is registry.DrawKey over alias s in SQL, with one ? for the seed in decimal.
	DrawKey string
	// Unhex turns hexadecimal text (%s) into bytes.
	Unhex string
	// ScratchOn and ScratchOff, if set, run on a read connection before and after a draw writes its
	// TEMP tables on it (SQLite's read connections are query_only).
	ScratchOn, ScratchOff string
	// DrawIsolation is the isolation level of a draw's transaction: one snapshot for all its queries.
	DrawIsolation sql.IsolationLevel

	rebound sync.Map // query → query with numbered placeholders
}

// Rebind returns q, written with ? placeholders, in the dialect's placeholders.
func (d *Dialect) Rebind(q string) string { return d.rebind(q) }

// rebind returns q with the dialect's placeholders. A ? inside a quoted string or identifier is
// text, not a placeholder: the policies' SQL carries regular expressions such as (?!…) in its
// literals (quoted with ', a doubled quote standing for one, and E'…' with backslash escapes).
func (d *Dialect) rebind(q string) string {
	if !d.Numbered || !strings.Contains(q, "?") {
		return q
	}
	if r, ok := d.rebound.Load(q); ok {
		return r.(string)
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		switch c := q[i]; {
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		case c == '\'' || c == '"':
			escapes := c == '\'' && i > 0 && (q[i-1] == 'E' || q[i-1] == 'e') && (i == 1 || !isIdentByte(q[i-2]))
			j := i + 1
			for ; j < len(q); j++ {
				if escapes && q[j] == '\\' {
					j++
					continue
				}
				if q[j] == c {
					if j+1 < len(q) && q[j+1] == c {
						j++ // a doubled quote stands for one
						continue
					}
					break
				}
			}
			j = min(j, len(q)-1)
			b.WriteString(q[i : j+1])
			i = j
		default:
			b.WriteByte(c)
		}
	}
	r := b.String()
	d.rebound.Store(q, r)
	return r
}

// isIdentByte reports whether c can be part of an SQL identifier or keyword.
func isIdentByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// queryer is what read helpers need: a connection pool or a transaction, speaking the dialect.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	dialect() *Dialect
}

func (c db) dialect() *Dialect   { return c.d }
func (c *txn) dialect() *Dialect { return c.d }

// in returns the condition that col is one of vals, with its arguments: "col = ANY(?)" with one
// array where the database takes arrays, else "col IN (?,…)" (which matches nothing when vals is
// empty). Callers pass at most a few hundred values where the database does not take arrays (see
// batches).
func in[T any](d *Dialect, col string, vals []T) (string, []any) {
	if d.Arrays {
		return col + " = ANY(?)", []any{vals}
	}
	if d.JSONLists {
		if bs, ok := any(vals).([][]byte); ok { // JSON holds no bytes: hex, decoded in SQL
			hexes := make([]string, len(bs))
			for i, b := range bs {
				hexes[i] = hex.EncodeToString(b)
			}
			return col + " IN (SELECT unhex(value) FROM json_each(?))", []any{jsonList(hexes)}
		}
		return col + " IN (SELECT value FROM json_each(?))", []any{jsonList(vals)}
	}
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = v
	}
	return col + " IN (" + inList(len(vals)) + ")", args
}

// batches calls fn with successive slices of items: all of them at once where the database takes
// arrays, else at most n at a time.
func batches[T any](d *Dialect, items []T, n int, fn func([]T) error) error {
	if (d.Arrays || d.JSONLists) && len(items) > 0 {
		return fn(items)
	}
	return chunks(items, n, fn)
}

// db is a connection pool whose queries are written with ? placeholders.
type db struct {
	*sql.DB
	d *Dialect
}

func (c db) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return c.DB.QueryContext(ctx, c.d.rebind(q), args...)
}

func (c db) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return c.DB.QueryRowContext(ctx, c.d.rebind(q), args...)
}

func (c db) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return c.DB.ExecContext(ctx, c.d.rebind(q), args...)
}

// txn is a transaction whose queries are written with ? placeholders.
type txn struct {
	*sql.Tx
	d    *Dialect
	conn *sql.Conn // the connection the transaction runs on, where the dialect copies (CopyFrom)
}

func (c *txn) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return c.Tx.QueryContext(ctx, c.d.rebind(q), args...)
}

func (c *txn) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return c.Tx.QueryRowContext(ctx, c.d.rebind(q), args...)
}

func (c *txn) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return c.Tx.ExecContext(ctx, c.d.rebind(q), args...)
}

func (c *txn) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	return c.Tx.PrepareContext(ctx, c.d.rebind(q))
}

// Store is the registry's Store on a SQL database.
type Store struct {
	w db // writes: SQLite's single writer connection, or the PostgreSQL pool
	r db // reads: SQLite's read-only pool, or the same PostgreSQL pool
	d *Dialect
	// writer admits one write transaction of this process at a time. The sequencer alone would
	// serialise them too, but each waiter would hold a pooled connection that reads need.
	writer chan struct{}

	// bands filters the near-duplicate probes, where the dialect has a single writer; else nil.
	bands *bandFilter

	// draws, if set, admits that many draws at a time (LimitDraws).
	draws chan struct{}
	// noDraws says that the pool has no connection to spare for a draw (LimitDraws(0)).
	noDraws bool
	// drawBounds gives a draw's key bounds (registry.BoundsFor; tests replace it), and
	// unboundedDraws counts the selections drawn again without bounds because they did not hold.
	drawBounds     func(*registry.DrawCounts, registry.DrawQuota) registry.DrawBounds
	unboundedDraws atomic.Int64
	// modelColumns is how many models a draw gives a column each (maxModelColumns; tests change
	// it to take the other way).
	modelColumns int

	// onWriteWait, if set, is told how long each write waited before it could write.
	onWriteWait atomic.Pointer[func(time.Duration)]
}

var _ registry.Store = (*Store)(nil)

// New returns a Store writing through w and reading through r (which may be the same pool), and
// applies d's pending migrations.
func New(ctx context.Context, w, r *sql.DB, d *Dialect) (*Store, error) {
	s := &Store{w: db{w, d}, r: db{r, d}, d: d, writer: make(chan struct{}, 1), drawBounds: registry.BoundsFor,
		modelColumns: maxModelColumns}
	if d.SingleWriter {
		s.bands = newBandFilter()
	}
	if err := s.migrate(ctx); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return s, nil
}

// Close closes both connection pools.
func (s *Store) Close() error {
	if s.r.DB == s.w.DB {
		return s.w.DB.Close()
	}
	return errors.Join(s.r.DB.Close(), s.w.DB.Close())
}

// Ping checks that the database answers a query.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// LimitDraws admits at most n mix draws at a time. A draw holds a connection while its mix is
// written through another, so where reads and writes share one pool of connections (PostgreSQL)
// the draws must leave at least one free: n is the pool's size less one. With n = 0 no mix can be
// drawn, and OpenDraw says so.
func (s *Store) LimitDraws(n int) {
	s.draws, s.noDraws = make(chan struct{}, max(n, 1)), n < 1
}

// Rebind returns q, written with ? placeholders, in the store's dialect.
func (s *Store) Rebind(q string) string { return s.d.rebind(q) }

// DB returns the pool writes go through, for benchmarks and tests that need raw access.
func (s *Store) DB() *sql.DB { return s.w.DB }

// ReadDB returns the pool reads go through (on SQLite read-only, with the read connections'
// settings), for benchmarks whose baselines must read as the registry does.
func (s *Store) ReadDB() *sql.DB { return s.r.DB }

func (s *Store) migrate(ctx context.Context) error {
	names, err := fs.Glob(s.d.Migrations, "*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		version, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a number", name)
		}
		body, err := fs.ReadFile(s.d.Migrations, name)
		if err != nil {
			return err
		}
		err = s.tx(ctx, func(tx *txn) error {
			if s.d.LockMigrations != nil {
				if err := s.d.LockMigrations(ctx, tx.Tx); err != nil {
					return fmt.Errorf("migration lock: %w", err)
				}
			}
			if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
				version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
				return err
			}
			var n int
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations WHERE version = ?", version).Scan(&n); err != nil || n > 0 {
				return err
			}
			// Without arguments the statement goes as it is, so a file may hold several.
			if _, err := tx.Tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("migration %s: %w", name, err)
			}
			if fill, ok := backfills[strings.TrimSuffix(strings.SplitN(name, "_", 2)[1], ".sql")]; ok {
				if err := fill(ctx, tx); err != nil {
					return fmt.Errorf("migration %s: %w", name, err)
				}
			}
			_, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
				version, name, time.Now().UnixMilli())
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// tx runs fn in a transaction on the writer pool and commits it if fn returns nil.
func (s *Store) tx(ctx context.Context, fn func(tx *txn) error) error {
	var conn *sql.Conn
	if s.d.CopyFrom != nil { // COPY runs on the driver's connection: hold the one the transaction is on
		c, err := s.w.DB.Conn(ctx)
		if err != nil {
			return s.mapError(fmt.Errorf("begin: %w", err))
		}
		defer c.Close()
		conn = c
	}
	var t *sql.Tx
	var err error
	if conn != nil {
		t, err = conn.BeginTx(ctx, nil)
	} else {
		t, err = s.w.DB.BeginTx(ctx, nil)
	}
	if err != nil {
		return s.mapError(fmt.Errorf("begin: %w", err))
	}
	defer t.Rollback()
	if err := fn(&txn{Tx: t, d: s.d, conn: conn}); err != nil {
		return s.mapError(err)
	}
	if err := t.Commit(); err != nil {
		return s.mapError(fmt.Errorf("commit: %w", err))
	}
	return nil
}

func (s *Store) mapError(err error) error {
	if s.d.MapError != nil {
		return s.d.MapError(err)
	}
	return err
}

// write runs fn in a write transaction that holds the log's sequencer from its first statement to
// its commit; fn appends leaves to log, which are written, with their stored hashes and the new
// head, before the commit.
func (s *Store) write(ctx context.Context, fn func(tx *txn, log *logWriter) error) error {
	start := time.Now()
	select {
	case s.writer <- struct{}{}:
		defer func() { <-s.writer }()
	case <-ctx.Done():
		return ctx.Err()
	}
	var log *logWriter
	err := s.tx(ctx, func(tx *txn) error {
		var err error
		if log, err = lockLog(ctx, tx); err != nil {
			return err
		}
		if observe := s.onWriteWait.Load(); observe != nil {
			(*observe)(time.Since(start))
		}
		if err := fn(tx, log); err != nil {
			return err
		}
		return log.flush()
	})
	if err == nil && s.bands != nil {
		s.bands.wrote(log.first, log.app.Size(), log.bands)
	}
	return err
}

// inList returns the inside of an IN list of n placeholders; with none, a NULL that matches nothing
// (an empty IN list is not SQL).
func inList(n int) string {
	if n == 0 {
		return "NULL"
	}
	return placeholders(n)
}

// placeholders returns "?,?,…" with n marks.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?,", n-1) + "?"
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// chunks calls fn with successive slices of at most n items.
func chunks[T any](items []T, n int, fn func([]T) error) error {
	for len(items) > 0 {
		k := min(n, len(items))
		if err := fn(items[:k]); err != nil {
			return err
		}
		items = items[k:]
	}
	return nil
}

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// storable reports whether the database can hold every one of ss as text: PostgreSQL cannot hold
// U+0000 (and the registry refuses it in what it stores). Nothing stored can equal a value that
// cannot be stored, so lookups by such a value find nothing without asking the database, which
// would refuse the value with an error.
func storable(ss ...string) bool {
	for _, s := range ss {
		if strings.IndexByte(s, 0) >= 0 {
			return false
		}
	}
	return true
}

// storableOnly drops the values the database cannot hold: no stored value equals them.
func storableOnly(vals []string) []string {
	out := make([]string, 0, len(vals))
	for _, v := range vals {
		if storable(v) {
			out = append(out, v)
		}
	}
	return out
}

// invalidCursor is the error of a pagination cursor that no stored id can follow.
func invalidCursor() error {
	return registry.FieldErrorf("cursor", "is not valid")
}

// jsonList encodes values as a JSON array, "[]" for none.
func jsonList[T any](vals []T) string {
	if len(vals) == 0 {
		return "[]"
	}
	b, err := json.Marshal(vals)
	if err != nil {
		panic(err) // strings, integers and floats always encode
	}
	return string(b)
}
