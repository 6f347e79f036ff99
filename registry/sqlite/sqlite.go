// Package sqlite opens the registry's embedded default Store (registry/sqlstore) on
// modernc.org/sqlite: pure Go, no cgo, one file.
//
// Writes go through a single connection whose transactions start IMMEDIATE, so the log's leaves are
// appended in one order; reads use a separate read-only pool. Every connection gets its pragmas from
// the DSN (WAL, synchronous=FULL so an acknowledged write survives power loss, a busy timeout,
// foreign keys), not from a PRAGMA statement that would reach only one pooled connection.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"
	"strconv"

	"github.com/pedigreeml/pedigree/registry/sqlstore"
	_ "modernc.org/sqlite" // the database/sql driver "sqlite"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the registry's store; on SQLite it is the shared SQL store.
type Store = sqlstore.Store

// Benchmarks insert and select rows raw with the store's own statements.
var (
	SampleArgs = sqlstore.SampleArgs
	PoolSQL    = sqlstore.PoolSQL
)

// InsertSQL is the statement that inserts one sample row, for benchmarks' raw baseline.
const InsertSQL = sqlstore.InsertSQL

// DSN returns the modernc.org/sqlite data source name for path with the registry's pragmas. Benchmarks
// use it so that baselines run on the same settings.
func DSN(path string, readOnly bool) string { return dsn(path, readOnly, 0) }

func dsn(path string, readOnly bool, cacheKiB int) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
		if cacheKiB > 0 {
			q.Add("_pragma", "cache_size("+strconv.Itoa(-cacheKiB)+")")
		}
	}
	return "file:" + path + "?" + q.Encode()
}

// dialect is SQLite's: ? placeholders, no row locks (the single writer is the sequencer).
func dialect() *sqlstore.Dialect {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the embedded directory exists
	}
	return &sqlstore.Dialect{Name: "sqlite", TextParam: "CAST(? AS TEXT)", JSONLists: true, SingleWriter: true, Migrations: sub,
		DrawKey: "pedigree_draw_key(?, s.id)", Unhex: "unhex(%s)",
		ScratchOn: "PRAGMA query_only = 0", ScratchOff: "PRAGMA query_only = 1", IntegerRowid: true, Fence: " LIMIT -1 OFFSET 0"}
}

// Options are how OpenWith may differ from Open.
type Options struct {
	// WriterCacheKiB is the writer connection's page cache in KiB; 0 keeps SQLite's default (2 MiB).
	// A larger cache measured no faster (BenchmarkWriterCache: the kernel's page cache already holds
	// the file's pages); it is here for benchmarks that compare.
	WriterCacheKiB int
}

// Open opens (creating if needed) the database file at path and applies pending migrations.
func Open(ctx context.Context, path string) (*Store, error) { return OpenWith(ctx, path, Options{}) }

// OpenWith is Open with options.
func OpenWith(ctx context.Context, path string, o Options) (*Store, error) {
	w, err := sql.Open("sqlite", dsn(path, false, o.WriterCacheKiB))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	r, err := sql.Open("sqlite", DSN(path, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	s, err := sqlstore.New(ctx, w, r, dialect())
	if err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s.LimitDraws(n - 1) // a draw holds a read connection while its build reads through others
	return s, nil
}
