package sqlite

import (
	"database/sql/driver"
	"fmt"

	"github.com/pedigreeml/pedigree/registry"
	msqlite "modernc.org/sqlite"
)

// The SQL function a draw needs that SQLite lacks, registered with the driver for every
// connection it opens; PostgreSQL computes the same with md5 (registry/postgres).
//
//	pedigree_draw_key(seed TEXT, id TEXT) INTEGER   registry.DrawKey, the seed in decimal
func init() {
	msqlite.MustRegisterDeterministicScalarFunction("pedigree_draw_key", 2, drawKey)
}

func drawKey(_ *msqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	seed, ok1 := args[0].(string)
	id, ok2 := args[1].(string)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("pedigree_draw_key(%T, %T): want two texts", args[0], args[1])
	}
	return registry.DrawKeyOf(registry.DrawKeyInput(seed, id)), nil
}
