// Package pgtest opens PostgreSQL stores for tests, each on a schema of its own in the database that
// PEDIGREE_TEST_POSTGRES_DSN names, dropped when the test ends. Tests that use it are skipped when the
// variable is unset.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pedigreeml/pedigree/registry/postgres"
)

// DSNVariable names the environment variable that holds the test database's DSN.
const DSNVariable = "PEDIGREE_TEST_POSTGRES_DSN"

// DSN returns the database the tests may use, or skips the test.
func DSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(DSNVariable)
	if dsn == "" {
		tb.Skip(DSNVariable + " not set")
	}
	return dsn
}

// NewSchema creates an empty schema, dropped when the test ends, and returns a DSN whose
// connections use it: each test gets its own registry in the one test database.
func NewSchema(tb testing.TB) string {
	tb.Helper()
	dsn := DSN(tb)
	b := make([]byte, 8)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	// Registered first, so it runs after the stores opened on the schema are closed.
	tb.Cleanup(func() {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return WithSearchPath(dsn, schema)
}

// WithSearchPath adds the search_path runtime parameter to a URL or key=value DSN.
func WithSearchPath(dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err == nil {
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return dsn + " search_path=" + schema
}

// Open opens a store on dsn, closed when the test ends.
func Open(tb testing.TB, dsn string) *postgres.Store {
	tb.Helper()
	s, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// OpenStore opens a store on a new, empty schema.
func OpenStore(tb testing.TB) *postgres.Store {
	tb.Helper()
	return Open(tb, NewSchema(tb))
}
