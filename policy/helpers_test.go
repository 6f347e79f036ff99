package policy

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite"

	"github.com/pedigreeml/pedigree/registry"
)

// postgresDSNVar names the environment variable that enables the PostgreSQL tests.
const postgresDSNVar = "PEDIGREE_TEST_POSTGRES_DSN"

// MustCompile compiles a module that the test expects to be valid.
func MustCompile(tb testing.TB, module string) *Policy {
	tb.Helper()
	p, err := Compile(context.Background(), "test", module)
	if err != nil {
		tb.Fatalf("Compile: %v\nfields: %+v", err, fieldsOf(err))
	}
	return p
}

// fieldsOf returns the FieldErrors of a *registry.Error.
func fieldsOf(err error) []registry.FieldError {
	var e *registry.Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}

// fieldText joins the messages of err's FieldErrors, for tests that look for OPA's positions.
func fieldText(err error) string {
	var b strings.Builder
	for _, f := range fieldsOf(err) {
		b.WriteString(f.Field + ": " + f.Message + "\n")
	}
	return b.String()
}

// sampleRow is one row of the test row source.
type sampleRow struct {
	id              int
	origin          string
	model           *string
	generation      int
	generationBasis string
	dataset         string
	sourceKind      string
	license         string
	tokens          int
	mtld            float64
	toxicity        *float64
	metadata        *string // JSON text
}

func ptr[T any](v T) *T { return &v }

// trickyDataset holds every character go-sqlbuilder escapes, but NUL.
const trickyDataset = "tricky\\'\n\x1a\"\t\r\b%_"

// injection would select every row if string literals were not escaped.
const injection = "x' OR '1'='1"

// testRows are chosen so that text comparison of numbers gives other answers than numeric
// comparison: generations 9 and 10 ('10' < '9'), tokens 0, 9, 10, 100 and 1000, metadata scores
// 9 and 10. Their metadata: lang a string (7, a number, in row 4; an injection attempt in row
// 6), score a number ("9", a string, in row 4), flag a boolean ("true", a string, in row 4, and
// 1, a number, in row 6; missing in row 3), and no metadata at all (NULL) in row 5.
var testRows = []sampleRow{
	{1, "human", nil, 0, "human", "essays", "public_dataset", "MIT", 9, 40.5, ptr(0.1),
		ptr(`{"lang":"en","score":9,"flag":true}`)},
	{2, "model", ptr("gpt@1"), 1, "mixes", "synth", "synthetic", "Apache-2.0", 10, 55.0, ptr(0.4),
		ptr(`{"lang":"fr","score":10,"flag":false,"nested":{"a":"b"}}`)},
	{3, "model", ptr("gpt@1"), 9, "declared", "synth", "synthetic", "MIT", 100, 70.25, nil,
		ptr(`{"lang": "en", "score": 10.5, "tags": ["a", "b"]}`)},
	{4, "model", ptr("llama@2"), 10, "mixes", "synth", "synthetic", "CC-BY-4.0", 1000, 12.0, ptr(0.9),
		ptr(`{"lang":7,"score":"9","flag":"true","note":null}`)},
	{5, "human", nil, 2, "human", injection, "user_data", "MIT", 50, 60.0, ptr(0.5), nil},
	{6, "model", ptr("claude@3"), 3, "declared", trickyDataset, "synthetic", "MIT", 0, 0.0, ptr(0.0),
		ptr(`{"lang":"x' OR '1'='1","score":-1e0,"flag":1,"Lang":"EN","_k9":"\u00e9t\u00e9"}`)},
}

// rowSource runs fragments against one real row source.
type rowSource struct {
	name  string
	query func(tb testing.TB, where string) ([]int, error)
}

// sqliteSources opens a SQLite file database with the test rows in two row sources: a table
// with declared column types, and a view whose columns are json_extract expressions and so have
// no affinity, as a store reading metrics out of JSON would have. A quoted number compares as
// text against the second. Both have the metadata column, JSON text or NULL.
func sqliteSources(tb testing.TB) []rowSource {
	tb.Helper()
	db, err := sql.Open("sqlite", filepath.Join(tb.TempDir(), "policy.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	stmts := []string{
		`CREATE TABLE samples (id INTEGER PRIMARY KEY, origin TEXT NOT NULL, model TEXT,
			generation INTEGER NOT NULL, generation_basis TEXT NOT NULL, dataset TEXT NOT NULL,
			source_kind TEXT NOT NULL, license TEXT NOT NULL, tokens INTEGER NOT NULL,
			mtld REAL NOT NULL, toxicity REAL, metadata TEXT)`,
		`CREATE TABLE docs (id INTEGER PRIMARY KEY, doc TEXT NOT NULL)`,
	}
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			tb.Fatal(err)
		}
	}
	for _, r := range testRows {
		if _, err := db.Exec(`INSERT INTO samples VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`, r.id, r.origin, r.model,
			r.generation, r.generationBasis, r.dataset, r.sourceKind, r.license, r.tokens, r.mtld, r.toxicity,
			r.metadata); err != nil {
			tb.Fatal(err)
		}
	}
	for _, c := range []string{"cluster", "near_duplicate_of"} { // NULL in every test row
		if _, err := db.Exec(`ALTER TABLE samples ADD COLUMN ` + c + ` TEXT`); err != nil {
			tb.Fatal(err)
		}
	}
	var cols, extracts []string
	for _, c := range append(slices.Clone(Columns), MetadataColumn) {
		cols = append(cols, fmt.Sprintf("'%s', %s", c, c))
		extracts = append(extracts, fmt.Sprintf("json_extract(doc, '$.%s') AS %s", c, c))
	}
	if _, err := db.Exec(`INSERT INTO docs SELECT id, json_object(` + strings.Join(cols, ", ") + `) FROM samples`); err != nil {
		tb.Fatal(err)
	}
	if _, err := db.Exec(`CREATE VIEW samples_json AS SELECT id, ` + strings.Join(extracts, ", ") + ` FROM docs`); err != nil {
		tb.Fatal(err)
	}
	query := func(from string) func(testing.TB, string) ([]int, error) {
		return func(tb testing.TB, where string) ([]int, error) {
			tb.Helper()
			rows, err := db.Query(`SELECT s.id FROM ` + from + ` AS s WHERE (` + where + `) ORDER BY s.id`)
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
		}
	}
	return []rowSource{
		{name: "sqlite/table", query: query("samples")},
		{name: "sqlite/json_view", query: query("samples_json")},
	}
}

// postgresSchema connects to the database PEDIGREE_TEST_POSTGRES_DSN names and creates a
// schema of its own, dropped when the test ends. It skips the test when the variable is unset.
func postgresSchema(tb testing.TB) (*pgx.Conn, string) {
	tb.Helper()
	dsn := os.Getenv(postgresDSNVar)
	if dsn == "" {
		tb.Skipf("%s is not set", postgresDSNVar)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatalf("connect to %s: %v", postgresDSNVar, err)
	}
	tb.Cleanup(func() { conn.Close(context.Background()) })
	var b [8]byte
	_, _ = rand.Read(b[:])
	schema := "policy_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if _, err := conn.Exec(context.Background(), `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			tb.Errorf("drop schema: %v", err)
		}
	})
	return conn, schema
}

// postgresSource creates the test rows in a table of a temporary schema of the database that
// PEDIGREE_TEST_POSTGRES_DSN names, and drops the schema when the test ends. It skips the test
// when the variable is unset.
func postgresSource(tb testing.TB) rowSource {
	tb.Helper()
	ctx := context.Background()
	conn, schema := postgresSchema(tb)
	if _, err := conn.Exec(ctx, `CREATE TABLE `+schema+`.samples (id integer PRIMARY KEY, origin text NOT NULL,
		model text, generation integer NOT NULL, generation_basis text NOT NULL, dataset text NOT NULL,
		source_kind text NOT NULL, license text NOT NULL, tokens integer NOT NULL,
		mtld double precision NOT NULL, toxicity double precision, metadata text COLLATE "C")`); err != nil {
		tb.Fatal(err)
	}
	for _, r := range testRows {
		if _, err := conn.Exec(ctx, `INSERT INTO `+schema+`.samples VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)`,
			r.id, r.origin, r.model, r.generation, r.generationBasis, r.dataset, r.sourceKind, r.license,
			r.tokens, r.mtld, r.toxicity, r.metadata); err != nil {
			tb.Fatal(err)
		}
	}
	if _, err := conn.Exec(ctx, `ALTER TABLE `+schema+`.samples ADD COLUMN cluster text, ADD COLUMN near_duplicate_of text`); err != nil {
		tb.Fatal(err)
	}
	return rowSource{name: "postgres/table", query: func(tb testing.TB, where string) ([]int, error) {
		tb.Helper()
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

// allIDs are the ids of every test row.
func allIDs() []int {
	ids := make([]int, len(testRows))
	for i, r := range testRows {
		ids[i] = r.id
	}
	return ids
}

func sameIDs(a, b []int) bool { return slices.Equal(a, b) }
