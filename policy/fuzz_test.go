package policy

import (
	"context"
	"testing"
	"time"

	"github.com/pedigreeml/pedigree/registry"
)

// FuzzCompile checks that no module text makes Compile panic or fail internally, and that every
// module it accepts yields fragments SQLite runs and a deny that evaluates. Seeds are under
// testdata/fuzz/FuzzCompile. Each input's work is bounded: at most 8 KiB of text and a one-second
// context.
func FuzzCompile(f *testing.F) {
	f.Add(DefaultModule())
	sqlite := sqliteSources(f)[1]
	f.Fuzz(func(t *testing.T, module string) {
		if len(module) > 8<<10 {
			t.Skip()
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		p, err := Compile(ctx, "fuzz", module)
		if err != nil {
			if code := registry.ErrorCode(err); code == registry.EINTERNAL {
				t.Fatalf("internal error: %v", err)
			}
			return
		}
		for _, d := range Dialects {
			if p.Where(d) == "" {
				t.Fatalf("empty Where(%s)", d)
			}
		}
		if _, err := sqlite.query(t, p.Where(SQLite)); err != nil {
			t.Fatalf("SQLite rejects Where %q: %v", p.Where(SQLite), err)
		}
		_ = p.Evaluate(ctx, map[string]any{"size": 1}, time.Unix(1, 0))
	})
}
