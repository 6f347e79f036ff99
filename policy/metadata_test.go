package policy

import (
	"context"
	"database/sql"
	"encoding/json"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pedigreeml/pedigree/registry"
)

// TestCompileRefusesMetadata checks that every use of input.sample.metadata that cannot be
// translated is refused at upload, with a message naming the problem and the position.
func TestCompileRefusesMetadata(t *testing.T) {
	tests := []struct {
		name     string
		module   string // appended to pkg
		contains []string
	}{
		{"Nested", `include if input.sample.metadata.a.b == 1`,
			[]string{"policy.rego:2:12:", "input.sample.metadata.a.b reads nested metadata"}},
		{"NestedIndex", `include if input.sample.metadata.tags[0] == "a"`,
			[]string{"input.sample.metadata.tags[0] reads nested metadata"}},
		{"NestedThroughVariable", "include if {\n\tx := input.sample.metadata.a\n\tx.b == 1\n}",
			[]string{"input.sample.metadata.a.b reads nested metadata"}},
		{"Whole", `include if count(input.sample.metadata) > 0`,
			[]string{"input.sample.metadata is read as a whole"}},
		{"WholeEquality", `include if input.sample.metadata == {"lang": "en"}`,
			[]string{"input.sample.metadata is read as a whole"}},
		{"AgainstColumn", `include if input.sample.metadata.lang == input.sample.dataset`,
			[]string{"policy.rego:2:12:", "input.sample.metadata.lang is compared with input.sample.dataset, which is not a literal"}},
		{"AgainstMetadata", `include if input.sample.metadata.a == input.sample.metadata.b`,
			[]string{"which is not a literal"}},
		{"Bound", `include if { x := input.sample.metadata.lang }`,
			[]string{"input.sample.metadata.lang is bound to a variable"}},
		{"Null", `include if input.sample.metadata.lang == null`,
			[]string{"input.sample.metadata.lang is compared with null"}},
		{"NotNull", `include if input.sample.metadata.lang != null`,
			[]string{"input.sample.metadata.lang is compared with null"}},
		{"Object", `include if input.sample.metadata.lang == {"a": 1}`,
			[]string{"input.sample.metadata.lang is compared with"}},
		{"Bare", `include if input.sample.metadata.flag`,
			[]string{"input.sample.metadata.flag is used as a condition on its own", "input.sample.metadata.flag == true"}},
		{"BareNot", `include if not input.sample.metadata.flag`,
			[]string{"input.sample.metadata.flag is used as a condition on its own"}},
		{"Function", `include if startswith(input.sample.metadata.lang, "e")`,
			[]string{"input.sample.metadata.lang is passed to startswith"}},
		{"Arithmetic", `include if input.sample.metadata.score + 1 > 2`,
			[]string{"input.sample.metadata.score is passed to plus"}},
		{"AsCollection", `include if "a" in input.sample.metadata.tags`,
			[]string{"input.sample.metadata.tags is used as a collection"}},
		{"SomeIn", `include if { some t in input.sample.metadata.tags; t == "a" }`,
			[]string{"policy.rego:2:"}},
		{"MixedSet", `include if input.sample.metadata.x in {1, "a"}`,
			[]string{"collection of both a number and a string"}},
		{"NullInSet", `include if input.sample.metadata.x in {null, "a"}`,
			[]string{"input.sample.metadata.x is tested with \"in\" against a collection holding null"}},
		{"TwoTypes", "include if input.sample.metadata.x == 1\ninclude if input.sample.metadata.x == \"1\"",
			[]string{"policy.rego:3:12:", "input.sample.metadata.x is compared with a string here and with a number elsewhere"}},
		{"HugeNumber", `include if input.sample.metadata.x > 1e400`,
			[]string{"which SQL cannot hold as a number"}},
		{"NUL", `include if input.sample.metadata.x == "a\u0000b"`,
			[]string{"NUL"}},
		{"DynamicKey", `include if { some k in {"lang"}; input.sample.metadata[k] == "en" }`,
			[]string{"input.sample.metadata.lang is reached through a variable or a computed key"}},
		{"Alias", "include if {\n\tm := input.sample.metadata\n\tm.lang == \"en\"\n}",
			[]string{"input.sample.metadata.lang is reached through a variable or a computed key"}},
		{"UnboundKey", `include if input.sample.metadata[_] == "en"`,
			[]string{"policy.rego:2:"}},
		{"NumericKey", `include if input.sample.metadata[1] == "en"`,
			[]string{"has a key that is not a literal string"}},

		// Keys outside MetadataKeyPattern never reach SQL, however they are written.
		{"KeyQuote", `include if input.sample.metadata["x') OR 1=1 --"] == "a"`,
			[]string{"policy.rego:2:12:", `metadata key "x') OR 1=1 --" cannot be read`, MetadataKeyPattern}},
		{"KeyDoubleQuote", `include if input.sample.metadata["a\"b"] == "a"`, []string{"cannot be read"}},
		{"KeyDot", `include if input.sample.metadata["a.b"] == "a"`, []string{`metadata key "a.b" cannot be read`}},
		{"KeyDollar", `include if input.sample.metadata["$"] == "a"`, []string{"cannot be read"}},
		{"KeyDigitFirst", `include if input.sample.metadata["1a"] == "a"`, []string{"cannot be read"}},
		{"KeyEmpty", `include if input.sample.metadata[""] == "a"`, []string{"cannot be read"}},
		{"KeyTooLong", `include if input.sample.metadata.` + strings.Repeat("k", 65) + ` == "a"`, []string{"cannot be read"}},
		{"KeyNonASCII", `include if input.sample.metadata["é"] == "a"`, []string{"cannot be read"}},
		{"KeySyntheticColumn", `include if input.sample["metadata.x' OR '1'='1"] == "a"`, []string{"cannot be read"}},
		{"KeySyntheticNested", `include if input.sample["metadata.x"].y == "a"`, []string{"reads nested metadata"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Compile(context.Background(), "p", pkg+tc.module+"\n")
			if err == nil {
				t.Fatalf("Compile succeeded (Where %q), want a refusal", p.Where(SQLite))
			}
			if code := registry.ErrorCode(err); code != registry.EINVALID {
				t.Fatalf("code = %q, want %q (%v)", code, registry.EINVALID, err)
			}
			text := fieldText(err)
			for _, want := range tc.contains {
				if !strings.Contains(text, want) {
					t.Errorf("fields do not contain %q:\n%s", want, text)
				}
			}
			if strings.Contains(text, `["metadata.`) {
				t.Errorf("a message shows the synthetic column instead of input.sample.metadata.<key>:\n%s", text)
			}
		})
	}
}

// TestCompileAcceptsMetadataKeys checks the edges of MetadataKeyPattern.
func TestCompileAcceptsMetadataKeys(t *testing.T) {
	for _, key := range []string{"a", "_", "A9", "_k_9", strings.Repeat("k", 64)} {
		p := MustCompile(t, pkg+"include if input.sample.metadata."+key+" == \"x\"\n")
		if !strings.Contains(p.Where(SQLite), `'$."`+key+`"'`) || !strings.Contains(p.Where(Postgres), "E'"+key+"'") {
			t.Errorf("key %s: Where(SQLite) = %q, Where(Postgres) = %q", key, p.Where(SQLite), p.Where(Postgres))
		}
	}
}

// TestMetadataTestsSeeRego checks that test_ rules evaluate include over input.sample.metadata
// with Rego's semantics, on the module as written.
func TestMetadataTestsSeeRego(t *testing.T) {
	MustCompile(t, pkg+`
include if input.sample.metadata.lang == "en"

include if input.sample.metadata.score >= 10

test_admits_english if include with input as {"sample": {"metadata": {"lang": "en"}}}

test_admits_high_score if include with input as {"sample": {"metadata": {"score": 12}}}

test_refuses_french if not include with input as {"sample": {"metadata": {"lang": "fr", "score": 9}}}

test_refuses_without_metadata if not include with input as {"sample": {}}

test_with_target if include with input.sample.metadata.lang as "en"
`)
	_, err := Compile(context.Background(), "p", pkg+`
include if input.sample.metadata.lang == "en"

test_admits_french if include with input as {"sample": {"metadata": {"lang": "fr"}}}
`)
	if !strings.Contains(fieldText(err), "test_admits_french") {
		t.Fatalf("a failing metadata test was not reported: %v", err)
	}
}

// metadataSource runs fragments against rows with only an id and metadata (docs[i] is row i+1).
type metadataSource struct {
	name  string
	query func(tb testing.TB, where string) ([]int, error)
}

func sqliteMetadataSource(tb testing.TB, docs []*string) metadataSource {
	tb.Helper()
	db, err := sql.Open("sqlite", filepath.Join(tb.TempDir(), "meta.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE samples (id INTEGER PRIMARY KEY, metadata TEXT)`); err != nil {
		tb.Fatal(err)
	}
	for i, d := range docs {
		if _, err := db.Exec(`INSERT INTO samples VALUES (?, ?)`, i+1, d); err != nil {
			tb.Fatal(err)
		}
	}
	return metadataSource{name: "sqlite", query: func(tb testing.TB, where string) ([]int, error) {
		rows, err := db.Query(`SELECT s.id FROM samples AS s WHERE (` + where + `) ORDER BY s.id`)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		ids := []int{}
		for rows.Next() {
			var id int
			if err := rows.Scan(&id); err != nil {
				return nil, err
			}
			ids = append(ids, id)
		}
		return ids, rows.Err()
	}}
}

func postgresMetadataSource(tb testing.TB, docs []*string) metadataSource {
	tb.Helper()
	conn, schema := postgresSchema(tb)
	ctx := context.Background()
	if _, err := conn.Exec(ctx, `CREATE TABLE `+schema+`.samples (id integer PRIMARY KEY, metadata text COLLATE "C")`); err != nil {
		tb.Fatal(err)
	}
	for i, d := range docs {
		if _, err := conn.Exec(ctx, `INSERT INTO `+schema+`.samples VALUES ($1, $2)`, i+1, d); err != nil {
			tb.Fatal(err)
		}
	}
	return metadataSource{name: "postgres", query: func(tb testing.TB, where string) ([]int, error) {
		rows, err := conn.Query(ctx, `SELECT s.id FROM `+schema+`.samples AS s WHERE (`+where+`) ORDER BY s.id`)
		if err != nil {
			return nil, err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			return nil, err
		}
		out := []int{}
		for _, id := range ids {
			out = append(out, int(id))
		}
		return out, nil
	}}
}

// TestWhereMetadataEdgeRows runs metadata comparisons over metadata that each dialect reads
// differently or not at all. No row may make the query fail; what each admits is pinned, and
// where the dialects differ the package documentation says so.
func TestWhereMetadataEdgeRows(t *testing.T) {
	longNumber := "1" + strings.Repeat("0", 1500)
	docs := []*string{
		ptr(`{"k":"a","n":1}`),                       // 1: plain
		ptr(`{"k":"a","z":"x\u0000y","n":1}`),        // 2: \u0000 elsewhere: PostgreSQL cannot read it
		ptr(`{"k":"a","z":"\ud800","n":1}`),          // 3: lone high surrogate: PostgreSQL cannot read it
		ptr(`{"k":"a","z":"\udc00","n":1}`),          // 4: lone low surrogate: PostgreSQL cannot read it
		ptr(`{"k":"a","z":"\ud83d\ude00","n":1}`),    // 5: a surrogate pair: fine
		ptr(`{"k":"a","z":"C:\\users\\u","n":1}`),    // 6: escaped backslashes before "u": fine
		ptr(`{"k":"a","k":"b"}`),                     // 7: duplicate key: SQLite reads the first, PostgreSQL the last
		ptr(`["k","a"]`),                             // 8: not an object
		ptr(`"k"`),                                   // 9: a string
		ptr(`{"k":["a"],"n":[1]}`),                   // 10: arrays
		nil,                                          // 11: NULL
		ptr(`{"k":"a\u0000","n":"1"}`),               // 12: NUL in the value; n a string
		ptr(`{"n":1e400}`),                           // 13: beyond float64, within numeric
		ptr(`{"n":1e10000}`),                         // 14: beyond PostgreSQL's numeric
		ptr(`{"n":1E-10000}`),                        // 15: below both
		ptr(`{"n":` + longNumber + `}`),              // 16: longer than maxPGNumberText
		ptr(`{"n":-0.0,"k":"\u0061"}`),               // 17: negative zero; an escaped "a"
		ptr(`{"k": "a" , "n" : 2.5e+0 }`),            // 18: spaces, exponent
		ptr(`{"k":true,"n":true}`),                   // 19: booleans
		ptr(`{"K":"a","n ":1}`),                      // 20: other keys
		ptr(`{"k":"a","deep":[[[[[[[[[[]]]]]]]]]]}`), // 21: nesting elsewhere
	}
	for _, d := range docs {
		if d != nil && !json.Valid([]byte(*d)) {
			t.Fatalf("test doc %s is not valid JSON", *d)
		}
	}
	tests := []struct {
		name, include string
		sqlite, pg    []int
	}{
		{"StringKey", `include if input.sample.metadata.k == "a"`,
			[]int{1, 2, 3, 4, 5, 6, 7, 17, 18, 21}, []int{1, 5, 6, 17, 18, 21}},
		{"StringKeyNot", `include if not input.sample.metadata.k == "a"`,
			[]int{12}, []int{7}},
		{"NumberKey", `include if input.sample.metadata.n > 0`,
			[]int{1, 2, 3, 4, 5, 6, 13, 14, 16, 18}, []int{1, 5, 6, 13, 18}},
		{"BooleanKey", `include if input.sample.metadata.n == true`, []int{19}, []int{19}},
	}
	sources := []metadataSource{sqliteMetadataSource(t, docs)}
	want := func(tc int, d string) []int {
		if d == "sqlite" {
			return tests[tc].sqlite
		}
		return tests[tc].pg
	}
	run := func(t *testing.T, d Dialect, src metadataSource) {
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				where := MustCompile(t, pkg+tc.include+"\n").Where(d)
				got, err := src.query(t, where)
				if err != nil {
					t.Fatalf("%s: %v\nWHERE %s", src.name, err, where)
				}
				if !sameIDs(got, want(i, src.name)) {
					t.Errorf("%s selected %v, want %v\nWHERE %s", src.name, got, want(i, src.name), where)
				}
			})
		}
	}
	t.Run("sqlite", func(t *testing.T) { run(t, SQLite, sources[0]) })
	t.Run("sqlite/malformed", func(t *testing.T) {
		// The registry stores only decoded JSON; SQLite reads anything else as no metadata.
		src := sqliteMetadataSource(t, []*string{ptr(`{"k":"a"`), ptr(`{k:'a'}`), ptr(``), ptr(`nope`), ptr(`{"k":"a"}`)})
		for _, d := range []string{`include if input.sample.metadata.k == "a"`, `include if not input.sample.metadata.k == "b"`} {
			where := MustCompile(t, pkg+d+"\n").Where(SQLite)
			got, err := src.query(t, where)
			if err != nil {
				t.Fatalf("%v\nWHERE %s", err, where)
			}
			if !sameIDs(got, []int{5}) {
				t.Errorf("%s: selected %v, want [5]", d, got)
			}
		}
	})
	t.Run("postgres", func(t *testing.T) { run(t, Postgres, postgresMetadataSource(t, docs)) })
}

// TestPGUnreadableJSONGuard checks pgUnreadableJSON against PostgreSQL itself: over metadata
// built from every kind of escape, it must match exactly the JSON text whose keys PostgreSQL's
// json operators cannot read. A text it misses would make every mix under a metadata policy fail;
// one it matches needlessly would never be admitted.
func TestPGUnreadableJSONGuard(t *testing.T) {
	conn, _ := postgresSchema(t)
	ctx := context.Background()
	pieces := []string{`\\`, `\u0000`, `\uD83D`, `\ud800`, `\uDE00`, `\udfff`, `\u00e9`, `\u0061`, `\"`, `\n`,
		`u`, `ud83d`, `D83D`, `de00`, `a`, `9`, `é`, `\\u`, `\\\\`}
	rng := rand.New(rand.NewPCG(1, 2))
	seen := map[string]bool{}
	var docs []string
	for len(docs) < 3000 {
		var b strings.Builder
		for range 1 + rng.IntN(5) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		var doc string
		switch rng.IntN(3) {
		case 0:
			doc = `{"k":"` + b.String() + `"}`
		case 1:
			doc = `{"` + b.String() + `":1,"k":2}`
		default:
			doc = `{"k":1,"z":["` + b.String() + `", "x"]}`
		}
		if !seen[doc] {
			seen[doc] = true
			docs = append(docs, doc)
		}
	}
	for _, doc := range []string{`{"p":"C:\\users\\ud83d"}`, `{"p":"\\\ud83d\ude00"}`, `{"p":"\\\\ud83d\ude00"}`} {
		docs = append(docs, doc)
	}
	var flaggedN, failedN int
	for _, doc := range docs {
		if !json.Valid([]byte(doc)) {
			t.Fatalf("generated invalid JSON %s", doc)
		}
		var flagged bool
		if err := conn.QueryRow(ctx, `SELECT $1::text ~ `+pgGuard, doc).Scan(&flagged); err != nil {
			t.Fatal(err)
		}
		var v *string
		failed := conn.QueryRow(ctx, `SELECT ($1::text)::json ->> 'k'`, doc).Scan(&v) != nil
		if flagged != failed {
			t.Errorf("%s: guard matches %v, PostgreSQL fails %v", doc, flagged, failed)
		}
		if flagged {
			flaggedN++
		}
		if failed {
			failedN++
		}
	}
	if flaggedN == 0 || flaggedN == len(docs) {
		t.Fatalf("the corpus does not exercise the guard: %d of %d flagged", flaggedN, len(docs))
	}
	t.Logf("%d docs, %d unreadable by PostgreSQL, %d flagged", len(docs), failedN, flaggedN)
}
