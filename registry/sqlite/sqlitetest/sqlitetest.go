// Package sqlitetest opens SQLite stores for tests, as pgtest does for PostgreSQL.
package sqlitetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/pedigreeml/pedigree/registry/sqlite"
)

// OpenStore opens a store on a new database file in a temporary directory, closed when the test
// ends.
func OpenStore(tb testing.TB) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "registry.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}
