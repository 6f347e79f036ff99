package mixer_test

import (
	"testing"

	"github.com/pedigreeml/pedigree/mixer/mixertest"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/postgres/pgtest"
	"github.com/pedigreeml/pedigree/registry/sqlite/sqlitetest"
)

// TestContract runs the mixer's contract on both real stores. It lives here, not in the stores'
// tests, so that the stores' packages never import the mixer (nor, through it, OPA): the mixer
// depends on the registry, and its tests on the stores, never the other way.
func TestContract(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) {
		mixertest.RunMixes(t, func(tb testing.TB) registry.Store { return sqlitetest.OpenStore(tb) })
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		pgtest.DSN(t)
		mixertest.RunMixes(t, func(tb testing.TB) registry.Store { return pgtest.OpenStore(tb) })
	})
}
