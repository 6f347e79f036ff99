package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/pedigreeml/pedigree/registry/sqlite"
	"github.com/pedigreeml/pedigree/registry/storetest"
)

// backend opens SQLite stores for the log, mix store and instances contracts; a location is the
// database file's path. A second instance on one file is a second Store, as a second process (a
// registryd command beside the server) would open.
var backend = storetest.Backend{
	Dialect: "sqlite",
	New: func(tb testing.TB) (storetest.LoggedStore, string) {
		path := filepath.Join(tb.TempDir(), "registry.db")
		return reopen(tb, path), path
	},
	Reopen: func(tb testing.TB, path string) storetest.LoggedStore { return reopen(tb, path) },
	Exec: func(tb testing.TB, path, statements string) {
		tb.Helper()
		ctx := context.Background()
		db, err := sql.Open("sqlite", path)
		if err != nil {
			tb.Fatal(err)
		}
		defer db.Close()
		conn, err := db.Conn(ctx)
		if err != nil {
			tb.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
			tb.Fatal(err)
		}
		if _, err := conn.ExecContext(ctx, statements); err != nil {
			tb.Fatalf("%s: %v", statements, err)
		}
	},
	Query: query,
}

func query(tb testing.TB, path, query string, dest ...any) {
	tb.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRowContext(context.Background(), query).Scan(dest...); err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
}

func reopen(tb testing.TB, path string) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func TestLogContract(t *testing.T) {
	storetest.RunLog(t, backend)
}
