package sqlite

import (
	"database/sql/driver"
	"fmt"
	"regexp"
	"sync"

	"github.com/pedigreeml/pedigree/registry"
	msqlite "modernc.org/sqlite"
)

// The SQL functions a draw needs that SQLite lacks, registered with the driver for every
// connection it opens; PostgreSQL computes the same with md5 and substring (registry/postgres).
//
//	pedigree_draw_key(seed TEXT, id TEXT) INTEGER   registry.DrawKey, the seed in decimal
//	pedigree_substring(text, pattern) TEXT          the pattern's first group in text, or NULL
func init() {
	msqlite.MustRegisterDeterministicScalarFunction("pedigree_draw_key", 2, drawKey)
	msqlite.MustRegisterDeterministicScalarFunction("pedigree_substring", 2, substring)
}

func drawKey(_ *msqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	seed, ok1 := args[0].(string)
	id, ok2 := args[1].(string)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("pedigree_draw_key(%T, %T): want two texts", args[0], args[1])
	}
	return registry.DrawKeyOf(registry.DrawKeyInput(seed, id)), nil
}

// patterns caches compiled patterns: a query passes one pattern for every row.
var patterns sync.Map // string → *regexp.Regexp

func substring(_ *msqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	text, ok1 := args[0].(string)
	pattern, ok2 := args[1].(string)
	if args[0] == nil {
		return nil, nil
	}
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("pedigree_substring(%T, %T): want two texts", args[0], args[1])
	}
	re, ok := patterns.Load(pattern)
	if !ok {
		c, err := regexp.Compile(pattern)
		if err != nil {
			return nil, fmt.Errorf("pedigree_substring: %w", err)
		}
		re, _ = patterns.LoadOrStore(pattern, c)
	}
	m := re.(*regexp.Regexp).FindStringSubmatch(text)
	if len(m) < 2 {
		return nil, nil
	}
	return m[1], nil
}
