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

	// Metadata (see testRows): a missing key, a JSON null, a value of another JSON type and NULL
	// metadata (row 5) are never admitted, not even through != or not.
	{"MetaString", `include if input.sample.metadata.lang == "en"`, []int{1, 3}},
	{"MetaStringBracket", `include if input.sample.metadata["lang"] == "en"`, []int{1, 3}},
	{"MetaStringNotEqual", `include if input.sample.metadata.lang != "en"`, []int{2, 6}},
	{"MetaStringOrder", `include if input.sample.metadata.lang < "f"`, []int{1, 3}},
	{"MetaStringInSet", `include if input.sample.metadata.lang in {"en", "fr"}`, []int{1, 2, 3}},
	{"MetaStringInArray", `include if input.sample.metadata.lang in ["fr"]`, []int{2}},
	{"MetaNumberBelow10", `include if input.sample.metadata.score < 10`, []int{1, 6}},
	{"MetaNumberAtMost9", `include if input.sample.metadata.score <= 9`, []int{1, 6}},
	{"MetaNumberAtLeast10", `include if input.sample.metadata.score >= 10`, []int{2, 3}},
	{"MetaNumberEquals", `include if input.sample.metadata.score == 10`, []int{2}},
	{"MetaNumberExponent", `include if input.sample.metadata.score == 1e1`, []int{2}},
	{"MetaNumberFraction", `include if input.sample.metadata.score > 10.25`, []int{3}},
	{"MetaNumberNegative", `include if input.sample.metadata.score == -1`, []int{6}},
	{"MetaNumberLiteralLeft", `include if 10 <= input.sample.metadata.score`, []int{2, 3}},
	{"MetaNumberInSet", `include if input.sample.metadata.score in {9, 10.5}`, []int{1, 3}},
	{"MetaNumberBig", `include if input.sample.metadata.score < 123456789012345678901234567890`, []int{1, 2, 3, 6}},
	{"MetaBoolTrue", `include if input.sample.metadata.flag == true`, []int{1}},
	{"MetaBoolFalse", `include if input.sample.metadata.flag == false`, []int{2}},
	{"MetaBoolNotTrue", `include if input.sample.metadata.flag != true`, []int{2}},
	{"MetaBoolInSet", `include if input.sample.metadata.flag in {true, false}`, []int{1, 2}},
	{"MetaNot", `include if not input.sample.metadata.lang == "en"`, []int{2, 6}},
	{"MetaAndColumn", "include if {\n\tinput.sample.origin == \"model\"\n\tinput.sample.metadata.lang == \"en\"\n}", []int{3}},
	{"MetaOrColumn", "include if input.sample.metadata.flag == true\ninclude if input.sample.generation == 10", []int{1, 4}},
	{"MetaTwoKeys", `include if { input.sample.metadata.lang == "en"; input.sample.metadata.score > 9 }`, []int{3}},
	{"MetaNotAndColumn", "include if {\n\tnot input.sample.metadata.flag == true\n\tinput.sample.tokens >= 10\n}", []int{2}},
	{"MetaMissingKey", `include if input.sample.metadata.missing == "x"`, []int{}},
	{"MetaMissingKeyNotEqual", `include if input.sample.metadata.missing != "x"`, []int{}},
	{"MetaMissingKeyNot", `include if not input.sample.metadata.missing == "x"`, []int{}},
	{"MetaJSONNull", `include if input.sample.metadata.note != "x"`, []int{}},
	{"MetaObjectValue", `include if input.sample.metadata.nested != "x"`, []int{}},
	{"MetaArrayValue", `include if input.sample.metadata.tags != 0`, []int{}},
	{"MetaKeyCase", `include if input.sample.metadata.Lang == "EN"`, []int{6}},
	{"MetaUnderscoreKeyEscapedValue", `include if input.sample.metadata._k9 == "été"`, []int{6}},
	{"MetaInjectionValue", `include if input.sample.metadata.lang == "x' OR '1'='1"`, []int{6}},
	{"MetaInjectionValueInSet", `include if input.sample.metadata.lang in {"x' OR '1'='1", "') OR TRUE --"}`, []int{6}},
	{"MetaThroughRule", "lang := input.sample.metadata.lang\ninclude if lang == \"fr\"", []int{2}},
	{"MetaThroughFunction", "has_lang(l) if input.sample.metadata.lang == l\ninclude if has_lang(\"fr\")", []int{2}},
	{"MetaThroughImport", "import input.sample.metadata as md\ninclude if md.lang == \"fr\"", []int{2}},
	{"MetaFromLimits", "limits := {\"min_score\": 10}\ninclude if input.sample.metadata.score >= limits.min_score", []int{2, 3}},
	{"MetaInEmpty", `include if input.sample.metadata.lang in set()`, []int{}},
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

// pgGuard is how Where(Postgres) writes pgUnreadableJSON.
var pgGuard = "E'" + strings.ReplaceAll(pgUnreadableJSON, `\`, `\\`) + "'"

// TestWhereText pins the fragments for a few includes, as documentation of what the stores run.
func TestWhereText(t *testing.T) {
	tests := []struct {
		name, module string
		sqlite, pg   string
	}{
		{"Default", DefaultModule(),
			"(s.toxicity IS NOT NULL AND s.toxicity <= 0.5 AND s.generation <= 2 AND s.near_duplicate_of IS NULL)",
			"(s.toxicity IS NOT NULL AND s.toxicity <= 0.5 AND s.generation <= 2 AND s.near_duplicate_of IS NULL)"},
		{"SetAndNot", "package pedigree.mix\ninclude if {\n\tinput.sample.license in {\"MIT\", \"Apache-2.0\"}\n\tnot input.sample.origin == \"model\"\n}\n",
			"(s.license IN ('Apache-2.0', 'MIT') AND NOT (s.origin = 'model'))",
			"(s.license IN (E'Apache-2.0', E'MIT') AND NOT (s.origin = E'model'))"},
		{"OrWithQuote", "package pedigree.mix\ninclude if input.sample.dataset == \"it's\"\ninclude if input.sample.tokens >= 100\n",
			"(s.dataset = 'it''s' OR s.tokens >= 100)",
			"(s.dataset = E'it''s' OR s.tokens >= 100)"},
		{"MetaString", "package pedigree.mix\ninclude if input.sample.metadata.lang == \"en\"\n",
			`(CASE WHEN NOT json_valid(s.metadata) THEN NULL WHEN json_type(s.metadata, '$."lang"') = 'text' THEN json_extract(s.metadata, '$."lang"') END) = 'en'`,
			`(CASE WHEN s.metadata ~ ` + pgGuard + ` THEN NULL WHEN json_typeof(s.metadata::json -> E'lang') = 'string' THEN s.metadata::json ->> E'lang' END) COLLATE "C" = E'en'`},
		{"MetaNumberAndColumn", "package pedigree.mix\ninclude if {\n\tinput.sample.metadata.score < 10\n\tinput.sample.origin == \"human\"\n}\n",
			`((CASE WHEN NOT json_valid(s.metadata) THEN NULL WHEN json_type(s.metadata, '$."score"') IN ('integer', 'real') THEN json_extract(s.metadata, '$."score"') END) < 10 AND s.origin = 'human')`,
			`((CASE WHEN s.metadata ~ ` + pgGuard + ` THEN NULL WHEN json_typeof(s.metadata::json -> E'score') = 'number' AND length(s.metadata::json ->> E'score') <= 1000 AND (s.metadata::json ->> E'score') !~ E'[eE][-+]?0*[1-9][0-9]{4}' THEN (s.metadata::json ->> E'score')::numeric END) < 10 AND s.origin = E'human')`},
		{"MetaBoolNotAndSet", "package pedigree.mix\ninclude if {\n\tnot input.sample.metadata.flag == false\n\tinput.sample.metadata.lang in {\"en\", \"it's\"}\n}\n",
			`(NOT ((CASE WHEN NOT json_valid(s.metadata) THEN NULL WHEN json_type(s.metadata, '$."flag"') IN ('true', 'false') THEN json_extract(s.metadata, '$."flag"') END) = 0) AND (CASE WHEN NOT json_valid(s.metadata) THEN NULL WHEN json_type(s.metadata, '$."lang"') = 'text' THEN json_extract(s.metadata, '$."lang"') END) IN ('en', 'it''s'))`,
			`(NOT ((CASE WHEN s.metadata ~ ` + pgGuard + ` THEN NULL WHEN json_typeof(s.metadata::json -> E'flag') = 'boolean' THEN (s.metadata::json ->> E'flag')::boolean END) = FALSE) AND (CASE WHEN s.metadata ~ ` + pgGuard + ` THEN NULL WHEN json_typeof(s.metadata::json -> E'lang') = 'string' THEN s.metadata::json ->> E'lang' END) COLLATE "C" IN (E'en', E'it''s'))`},
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
	meta := map[string]metaType{"lang": metaString, "score": metaNumber, "flag": metaBoolean}
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
		{"MetaWhole", SQLite, "WHERE s.metadata = 'x'"},
		{"MetaUnknownKey", SQLite, "WHERE s.metadata.other = 'x'"},
		{"MetaBadKey", SQLite, "WHERE s.metadata.9lang = 'x'"},
		{"MetaQuotedKey", SQLite, `WHERE s.metadata."lang" = 'x'`},
		{"MetaNested", SQLite, "WHERE s.metadata.lang.x = 'x'"},
		{"MetaIsNull", SQLite, "WHERE s.metadata.lang IS NULL"},
		{"MetaIsNotNull", Postgres, "WHERE s.metadata.lang IS NOT NULL"},
		{"MetaAgainstColumn", SQLite, "WHERE s.metadata.lang = s.origin"},
		{"ColumnAgainstMeta", SQLite, "WHERE s.origin = s.metadata.lang"},
		{"MetaNumberText", SQLite, "WHERE s.metadata.score = 'nine'"},
		{"MetaBooleanString", Postgres, "WHERE s.metadata.flag = E'true'"},
		{"MetaBooleanNumber", SQLite, "WHERE s.metadata.flag = 1"},
		{"MetaStringBoolean", SQLite, "WHERE s.metadata.lang = TRUE"},
		{"MetaTrailing", SQLite, "WHERE s.metadata.lang = 'en' OR 1=1"},
		{"MetaStartsWith", SQLite, "WHERE s.metadata.lang LIKE 'e%'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := renderSQL(tc.d, tc.sql, meta); err == nil {
				t.Errorf("renderSQL(%q) = %q, want an error", tc.sql, got)
			}
		})
	}
}
