package postgres_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pedigreeml/pedigree/registry/postgres/pgtest"
	"github.com/pedigreeml/pedigree/registry/storetest"
)

// TestUpgradeFromSchema2 loads a registry written by an earlier schema (testdata/schema2) into a new
// schema, opens it, which migrates it, and requires its log to verify, whole and record by record,
// before and after new records are written under the new schema.
func TestUpgradeFromSchema2(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewSchema(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	schema := u.Query().Get("search_path")
	dump, err := os.ReadFile(filepath.Join("testdata", "schema2", "schema2.sql"))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	// Without arguments the dump's statements go as they are, in one round trip.
	if _, err := conn.Exec(ctx, strings.ReplaceAll(string(dump), "{{schema}}", schema)); err != nil {
		t.Fatalf("load the schema 2 registry: %v", err)
	}
	conn.Close(ctx)

	dir := t.TempDir()
	for _, name := range []string{"log.key", "log.pub"} {
		b, err := os.ReadFile(filepath.Join("testdata", "schema2", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s := pgtest.Open(t, dsn)
	storetest.CheckUpgrade(t, s, dir)
}
