package policy

import (
	"strings"
	"testing"
)

// whereCases are include rules with the test rows (see testRows) they must select, in SQL's
// semantics: a comparison with NULL is never true.
var whereCases = []struct {
	name   string
	module string // appended to "package pedigree.mix\n"
	want   []int
}{
	{"NoInclude", `x := 1`, allIDs()},
	{"Unconditional", `include := true`, allIDs()},
	{"Never", `include if false`, []int{}},
	{"IntegerAtMost9", `include if input.sample.generation <= 9`, []int{1, 2, 3, 5, 6}},
	{"IntegerBelow10", `include if input.sample.tokens < 10`, []int{1, 6}},
	{"IntegerAtLeast100", `include if input.sample.tokens >= 100`, []int{3, 4}},
	{"IntegerEquals10", `include if input.sample.generation == 10`, []int{4}},
	{"FractionAgainstInteger", `include if input.sample.generation < 2.5`, []int{1, 2, 5}},
	{"Negative", `include if input.sample.generation > -1`, allIDs()},
	{"Exponent", `include if input.sample.tokens == 1e2`, []int{3}},
	{"Real", `include if input.sample.mtld > 50.5`, []int{2, 3, 5}},
	{"ReadsLimits", "limits := {\"max_generation\": 2}\ninclude if input.sample.generation <= limits.max_generation", []int{1, 2, 5}},
	{"ToxicityScored", "include if {\n\tinput.sample.toxicity != null\n\tinput.sample.toxicity <= 0.5\n}", []int{1, 2, 5, 6}},
	{"ToxicityNull", `include if input.sample.toxicity == null`, []int{3}},
	{"ToxicityBoundNotNull", `include if { x := input.sample.toxicity }`, []int{1, 2, 4, 5, 6}},
	{"ModelNull", `include if input.sample.model == null`, []int{1, 5}},
	// SQL: NULL <> 'gpt@1' is not true, so the human rows (model NULL) are not selected.
	{"ModelNotEqual", `include if input.sample.model != "gpt@1"`, []int{4, 6}},
	{"StringEquality", `include if input.sample.origin == "human"`, []int{1, 5}},
	{"StringInSet", `include if input.sample.license in {"MIT", "Apache-2.0"}`, []int{1, 2, 3, 5, 6}},
	{"StringInHelperSet", "allowed := {\"synth\", \"essays\"}\ninclude if input.sample.dataset in allowed", []int{1, 2, 3, 4}},
	{"NumberInSet", `include if input.sample.generation in {9, 10}`, []int{3, 4}},
	{"InEmpty", `include if input.sample.generation in []`, []int{}},
	{"Not", `include if not input.sample.origin == "model"`, []int{1, 5}},
	{"Or", "include if input.sample.generation == 10\ninclude if input.sample.dataset == \"essays\"", []int{1, 4}},
	{"AndOr", "include if { input.sample.origin == \"model\"; input.sample.tokens > 50 }\ninclude if input.sample.generation_basis == \"human\"", []int{1, 3, 4, 5}},
	{"SomeInArray", `include if { some g in [1, 9]; input.sample.generation == g }`, []int{2, 3}},
	{"DynamicKey", `include if { c := "origin"; input.sample[c] == "model" }`, []int{2, 3, 4, 6}},
	{"Contradiction", `include if { input.sample.generation > 1; input.sample.generation < 1 }`, []int{}},
	{"BigInteger", `include if input.sample.tokens < 123456789012345678901234567890`, allIDs()},
	{"ColumnAgainstColumn", `include if input.sample.tokens > input.sample.mtld`, []int{3, 4}},
	{"Injection", `include if input.sample.dataset == "x' OR '1'='1"`, []int{5}},
	{"InjectionInSet", `include if input.sample.dataset in {"x' OR '1'='1", "nope"}`, []int{5}},
	{"Escapes", `include if input.sample.dataset == "tricky\\'\n\u001a\"\t\r\b%_"`, []int{6}},
	{"SourceKind", `include if input.sample.source_kind != "synthetic"`, []int{1, 5}},
}

func TestWhere(t *testing.T) {
	sources := sqliteSources(t)
	t.Run("postgres", func(t *testing.T) {
		// Compiled here so that a missing PEDIGREE_TEST_POSTGRES_DSN skips only this subtest.
		runWhereCases(t, Postgres, []rowSource{postgresSource(t)})
	})
	t.Run("sqlite", func(t *testing.T) { runWhereCases(t, SQLite, sources) })
}

func runWhereCases(t *testing.T, d Dialect, sources []rowSource) {
	for _, tc := range whereCases {
		t.Run(tc.name, func(t *testing.T) {
			p := MustCompile(t, "package pedigree.mix\n"+tc.module+"\n")
			where := p.Where(d)
			for _, src := range sources {
				got, err := src.query(t, where)
				if err != nil {
					t.Fatalf("%s: %v\nWHERE %s", src.name, err, where)
				}
				if !sameIDs(got, tc.want) {
					t.Errorf("%s: WHERE %s\nselected %v, want %v", src.name, where, got, tc.want)
				}
			}
		})
	}
}

// TestWhereNumericTrap shows that the test databases catch the trap the rewriting avoids: OPA's
// own fragment, with its quoted numbers, selects the wrong rows in SQLite when the column has no
// affinity, and fails in PostgreSQL for a fraction against an integer column.
func TestWhereNumericTrap(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		sources := sqliteSources(t)
		view := sources[1]
		got, err := view.query(t, `s.generation <= '9'`) // OPA's rendering of generation <= 9
		if err != nil {
			t.Fatal(err)
		}
		if sameIDs(got, []int{1, 2, 3, 5, 6}) {
			t.Fatalf("quoted number selected the right rows %v on %s: the test data cannot catch text comparison", got, view.name)
		}
		p := MustCompile(t, "package pedigree.mix\ninclude if input.sample.generation <= 9\n")
		if w := p.Where(SQLite); strings.Contains(w, "'") {
			t.Errorf("Where(SQLite) = %q still quotes the number", w)
		}
	})
	t.Run("postgres", func(t *testing.T) {
		src := postgresSource(t)
		if _, err := src.query(t, `s.generation < E'2.5'`); err == nil { // OPA's rendering of generation < 2.5
			t.Fatal("PostgreSQL accepted a quoted fraction against an integer column; the trap test is void")
		}
	})
}

// TestWhereText pins the fragments for a few includes, as documentation of what the stores run.
func TestWhereText(t *testing.T) {
	tests := []struct {
		name, module string
		sqlite, pg   string
	}{
		{"Default", DefaultModule(),
			"(s.toxicity IS NOT NULL AND s.toxicity <= 0.5 AND s.generation <= 2)",
			"(s.toxicity IS NOT NULL AND s.toxicity <= 0.5 AND s.generation <= 2)"},
		{"SetAndNot", "package pedigree.mix\ninclude if {\n\tinput.sample.license in {\"MIT\", \"Apache-2.0\"}\n\tnot input.sample.origin == \"model\"\n}\n",
			"(s.license IN ('Apache-2.0', 'MIT') AND NOT (s.origin = 'model'))",
			"(s.license IN (E'Apache-2.0', E'MIT') AND NOT (s.origin = E'model'))"},
		{"OrWithQuote", "package pedigree.mix\ninclude if input.sample.dataset == \"it's\"\ninclude if input.sample.tokens >= 100\n",
			"(s.dataset = 'it''s' OR s.tokens >= 100)",
			"(s.dataset = E'it''s' OR s.tokens >= 100)"},
		{"Never", "package pedigree.mix\ninclude if false\n", "FALSE", "FALSE"},
		{"Absent", "package pedigree.mix\n", "TRUE", "TRUE"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := MustCompile(t, tc.module)
			if got := p.Where(SQLite); got != tc.sqlite {
				t.Errorf("Where(SQLite) = %q, want %q", got, tc.sqlite)
			}
			if got := p.Where(Postgres); got != tc.pg {
				t.Errorf("Where(Postgres) = %q, want %q", got, tc.pg)
			}
			if got := p.Where("mysql"); got != "FALSE" {
				t.Errorf("Where(unknown dialect) = %q, want FALSE", got)
			}
		})
	}
}

// TestRenderSQLRefuses feeds renderSQL what OPA does not write, and what it writes but must not
// pass through; each must be refused, never copied.
func TestRenderSQLRefuses(t *testing.T) {
	tests := []struct {
		name string
		d    Dialect
		sql  string
	}{
		{"NoWhere", SQLite, "s.generation <= '2'"},
		{"UnknownColumn", SQLite, "WHERE s.text = 'x'"},
		{"OtherAlias", SQLite, "WHERE t.origin = 'x'"},
		{"TrailingText", SQLite, "WHERE s.origin = 'x'; DROP TABLE samples"},
		{"Comment", SQLite, "WHERE s.origin = 'x' -- "},
		{"Unterminated", SQLite, "WHERE s.origin = 'x"},
		{"PostgresUnknownEscape", Postgres, `WHERE s.origin = E'\x41'`},
		{"PostgresPlainString", Postgres, "WHERE s.origin = 'x'"},
		{"NumericColumnText", SQLite, "WHERE s.generation = 'two'"},
		{"NumericColumnHuge", SQLite, "WHERE s.generation = '1e999'"},
		{"NulString", SQLite, "WHERE s.origin = 'a'||char(0)||'b'"},
		{"MixedKinds", SQLite, "WHERE s.origin = s.tokens"},
		{"Function", SQLite, "WHERE lower(s.origin) = 'x'"},
		{"UnbalancedParen", SQLite, "WHERE (s.origin = 'x'"},
		{"Boolean", SQLite, "WHERE s.origin = TRUE"},
		{"TooDeep", SQLite, "WHERE " + strings.Repeat("NOT ", maxSQLDepth+2) + "s.origin = 'x'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := renderSQL(tc.d, tc.sql); err == nil {
				t.Errorf("renderSQL(%q) = %q, want an error", tc.sql, got)
			}
		})
	}
}
