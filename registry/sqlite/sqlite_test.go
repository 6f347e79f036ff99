package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/sqlite"
	"github.com/pedigreeml/pedigree/registry/storetest"
)

// MustOpenStore opens a store on a new file in a temporary directory.
func MustOpenStore(tb testing.TB) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "registry.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(tb testing.TB) registry.Store { return MustOpenStore(tb) })
}

func TestMixStoreContract(t *testing.T) {
	storetest.RunMixStore(t, backend)
}

func TestInstancesContract(t *testing.T) {
	storetest.RunInstances(t, backend)
}
