package sqlite_test

import (
	"testing"

	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/sqlite"
	"github.com/pedigreeml/pedigree/registry/sqlite/sqlitetest"
	"github.com/pedigreeml/pedigree/registry/storetest"
)

// MustOpenStore opens a store on a new file in a temporary directory.
func MustOpenStore(tb testing.TB) *sqlite.Store {
	tb.Helper()
	return sqlitetest.OpenStore(tb)
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
