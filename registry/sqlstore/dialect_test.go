package sqlstore

import (
	"reflect"
	"testing"
)

func TestRebind(t *testing.T) {
	numbered := &Dialect{Numbered: true}
	for _, tc := range []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"SELECT ? WHERE a = ? AND b IN (?,?)", "SELECT $1 WHERE a = $2 AND b IN ($3,$4)"},
		// A ? in a literal or a quoted identifier is text: a policy's regular expression keeps (?!…).
		{`SELECT ? WHERE m ~ '(?!x)' AND n = ?`, `SELECT $1 WHERE m ~ '(?!x)' AND n = $2`},
		{`SELECT 'it''s ?' , ?`, `SELECT 'it''s ?' , $1`},
		{`SELECT E'a\' ?' , ?`, `SELECT E'a\' ?' , $1`},
		{`SELECT e'\\' , ?`, `SELECT e'\\' , $1`},
		{`SELECT CASE WHEN x = ? THEN 'a\' END, ?`, `SELECT CASE WHEN x = $1 THEN 'a\' END, $2`}, // no escapes in a standard string
		{`SELECT "odd?name", ?`, `SELECT "odd?name", $1`},
		{`SELECT 'unterminated ?`, `SELECT 'unterminated ?`},
	} {
		if got := numbered.rebind(tc.in); got != tc.want {
			t.Errorf("rebind(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := numbered.rebind(tc.in); got != tc.want { // from the cache
			t.Errorf("rebind(%q) again = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := (&Dialect{}).rebind("a = ?"); got != "a = ?" {
		t.Errorf("a dialect with ? placeholders rewrote the query: %q", got)
	}
}

func TestIn(t *testing.T) {
	cond, args := in(&Dialect{}, "id", []string{"a", "b"})
	if cond != "id IN (?,?)" || !reflect.DeepEqual(args, []any{"a", "b"}) {
		t.Errorf("in = %q %v", cond, args)
	}
	if cond, args := in(&Dialect{}, "id", []string{}); cond != "id IN (NULL)" || len(args) != 0 {
		t.Errorf("in over nothing = %q %v; want a condition that matches nothing", cond, args)
	}
	cond, args = in(&Dialect{Arrays: true}, "idx", []int64{3, 4})
	if cond != "idx = ANY(?)" || !reflect.DeepEqual(args, []any{[]int64{3, 4}}) {
		t.Errorf("in with arrays = %q %v", cond, args)
	}
	calls := 0
	batches(&Dialect{}, make([]string, 1001), 500, func([]string) error { calls++; return nil })
	if calls != 3 {
		t.Errorf("1001 items in batches of 500: %d calls", calls)
	}
	calls = 0
	batches(&Dialect{Arrays: true}, make([]string, 1001), 500, func([]string) error { calls++; return nil })
	if calls != 1 {
		t.Errorf("1001 items with arrays: %d calls, want 1", calls)
	}
}
