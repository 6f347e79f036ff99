package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/pedigreeml/pedigree/registry/sqlite"
	"github.com/pedigreeml/pedigree/registry/storetest"
)

// TestUpgradeFromSchema2 opens a registry written by an earlier schema (testdata/schema2), which
// migrates it, and requires its log to verify, whole and record by record, before and after new
// records are written under the new schema.
func TestUpgradeFromSchema2(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, name := range []string{"registry.db", "log.key", "log.pub"} {
		b, err := os.ReadFile(filepath.Join("testdata", "schema2", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s, err := sqlite.Open(ctx, filepath.Join(dir, "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.CheckUpgrade(t, s, dir)
}
