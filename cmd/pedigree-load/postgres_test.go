package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// testDSN returns the test database, or skips.
func testDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("PEDIGREE_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("PEDIGREE_TEST_POSTGRES_DSN not set")
	}
	return dsn
}

func TestParseInstances(t *testing.T) {
	got, err := parseInstances("1, 2,4")
	if err != nil || len(got) != 3 || got[0] != 1 || got[1] != 2 || got[2] != 4 {
		t.Fatalf("parseInstances: %v, %v", got, err)
	}
	for _, bad := range []string{"", "0", "1,,2", "two", "-1", "17"} {
		if _, err := parseInstances(bad); err == nil {
			t.Errorf("parseInstances(%q): no error", bad)
		}
	}
}

// TestMinimalCopy fills the minimal table by COPY in a schema of the test database: every text
// once, and a batch sent again is refused whole by the unique hash.
func TestMinimalCopy(t *testing.T) {
	dsn := testDSN(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	schema := "pedigree_load_test_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
	sdsn, err := withParams(dsn, map[string]string{"search_path": schema})
	if err != nil {
		t.Fatal(err)
	}
	o := options{batches: 3, size: 40, conc: 2, maxDuration: time.Minute, rounds: 3}
	min1, closeMin, err := minimalCopy(ctx, sdsn, makeBodiesFor("Minimal", o.batches, o.size), o.conc)
	if err != nil {
		t.Fatal(err)
	}
	defer closeMin()
	if err := alternate(ctx, []*target{min1}, o); err != nil {
		t.Fatal(err)
	}
	var n, distinct int
	if err := conn.QueryRow(ctx, "SELECT count(*), count(DISTINCT text) FROM "+schema+".minimal_samples").Scan(&n, &distinct); err != nil || n != 120 || distinct != 120 {
		t.Fatalf("minimal table holds %d rows, %d distinct (%v), want 120", n, distinct, err)
	}
	if err := min1.send(ctx, 0); err == nil || !strings.Contains(err.Error(), "23505") {
		t.Fatalf("the same batch again: %v, want a unique violation", err)
	}
}

// TestSeveralInstances runs the PostgreSQL mode end to end with a built registryd: two targets
// (one instance, then two) and the minimal table, in a fresh schema that is dropped afterwards;
// every batch is answered 201 (a target fails on any other answer), and the report has every line.
func TestSeveralInstances(t *testing.T) {
	dsn := testDSN(t)
	if testing.Short() {
		t.Skip("builds registryd")
	}
	bin := filepath.Join(t.TempDir(), "registryd")
	build := exec.Command("go", "build", "-o", bin, "../registryd")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build registryd: %v\n%s", err, out)
	}
	var out strings.Builder
	args := []string{"--db", dsn, "--instances", "1,2", "--registryd", bin, "--serve-args", "--audit-interval 0",
		"--batches", "4", "--batch-size", "50", "--rounds", "2", "--concurrency", "2"}
	if err := run(context.Background(), args, &out, io.Discard); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	report := out.String()
	for _, re := range []string{
		`(?m)^minimal table \(COPY\)\s+\d+\s+\S+\s+\S+\s+4$`,
		`(?m)^registry x1 over HTTP\s+\d+\s+\S+\s+\S+\s+4\s+\S+\s+[\d.]+\s+\d+%$`,
		`(?m)^registry x2 over HTTP\s+\d+\s+\S+\s+\S+\s+4\s+\S+\s+[\d.]+\s+\d+%$`,
		`ratio registry x2 / minimal COPY: [\d.]+; x2 / x1: [\d.]+`,
	} {
		if !regexp.MustCompile(re).MatchString(report) {
			t.Errorf("report lacks %s:\n%s", re, report)
		}
	}
	// The schemas are dropped: nothing of the run is left in the database.
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var left int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'pedigree_load_%'
		AND nspname NOT LIKE 'pedigree_load_test_%'`).Scan(&left); err != nil || left != 0 {
		t.Errorf("%d schemas of the run left (%v)", left, err)
	}
}
