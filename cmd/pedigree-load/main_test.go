package main

import (
	"context"
	"database/sql"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/sqlite"
)

const perfScript = `registryd  2398  3763.584235:    2000000 cpu-clock:pppH: 
	          ef1407 crypto/internal/fips140/sha256.blockSHANI.abi0+0x47 (/tmp/registryd)
	          38a58e github.com/pedigreeml/pedigree/ledger.(*treeWalk).run+0x4ae (/tmp/registryd)
	          ee3ff9 main.(*auditLoop).pass+0x1d9 (/tmp/registryd)
	           93c21 runtime.goexit.abi0+0x1 (/tmp/registryd)

registryd  2402  3763.787767:    2000000 cpu-clock:pppH: 
	          d500a6 modernc.org/sqlite/lib._sqlite3VdbeExec+0x4de6 (/tmp/registryd)
	          a21638 database/sql.(*Stmt).ExecContext+0x98 (/tmp/registryd)
	          ca4508 github.com/pedigreeml/pedigree/registry/sqlstore.insertMany+0x88 (/tmp/registryd)
	          ca4509 github.com/pedigreeml/pedigree/registry/sqlstore.insertRows+0x88 (/tmp/registryd)
	          ca450a github.com/pedigreeml/pedigree/registry/sqlstore.(*Store).write+0x88 (/tmp/registryd)
	          ca450b github.com/pedigreeml/pedigree/registry.(*Service).ingest+0x88 (/tmp/registryd)
	          ca450c github.com/pedigreeml/pedigree/api.(*Server).createSampleBatch+0x88 (/tmp/registryd)

registryd  2402  3763.789767:    4000000 cpu-clock:pppH: 
	          ca450b github.com/pedigreeml/pedigree/metrics.(*state).intern+0x88 (/tmp/registryd)
	          ca450b github.com/pedigreeml/pedigree/registry.(*Service).score.func1+0x88 (/tmp/registryd)

registryd  2402  3763.799767:    2000000 cpu-clock:pppH: 
	          94569 runtime.memmove+0x1a9 (/tmp/registryd)
	          a2170f encoding/json.(*Decoder).Decode+0x4f (/tmp/registryd)
	          ca450c github.com/pedigreeml/pedigree/api.decodeStrict+0x88 (/tmp/registryd)
	          ca450c github.com/pedigreeml/pedigree/api.(*Server).createSampleBatch+0x88 (/tmp/registryd)

swapper     0  3763.800000:    2000000 cpu-clock:pppH: 
	ffffffff81000000 [unknown] ([kernel.kallsyms])
`

func TestBreakdownClassifiesStacksByTheirInnermostStage(t *testing.T) {
	shares, total, err := breakdown(strings.NewReader(perfScript))
	if err != nil {
		t.Fatal(err)
	}
	if total != 12_000_000 {
		t.Errorf("total %d ns, want 12,000,000", total)
	}
	want := map[string]int64{
		"background audit (not the request)":  2_000_000,
		"SQL: insert sample rows":             2_000_000,
		"scoring (tokenizer, MTLD, toxicity)": 4_000_000,
		"JSON decode of the request (strict)": 2_000_000,
		otherStage:                            2_000_000,
	}
	for _, s := range shares {
		if s.cpuNs != want[s.name] {
			t.Errorf("%s: %d ns, want %d", s.name, s.cpuNs, want[s.name])
		}
	}
}

func TestRunRefusesUnboundedOrContradictoryOptions(t *testing.T) {
	for _, args := range [][]string{
		{"--batches", "0"},
		{"--max-duration", "0s"},
		{"--batch-size", "10001"},
		{"--prefill", "-1"},
		{"--rounds", "0"},
		{"--server", "http://127.0.0.1:1", "--prefill", "10"},
		{"--server-profile", "/tmp/x.perf"},
		{"--instances", "2"},
		{"--db", "postgres://127.0.0.1:1/x", "--server", "http://127.0.0.1:1"},
		{"--db", "postgres://127.0.0.1:1/x", "--prefill", "10"},
		{"--db", "postgres://127.0.0.1:1/x", "--instances", "0"},
		{"--db", "postgres://127.0.0.1:1/x", "--instances", "1,x"},
		{"--db", "postgres://127.0.0.1:1/x", "--instances", "17"},
		{"--db", "/tmp/registry.db"},
	} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("run %v: no error", args)
		}
	}
}

// TestPrefillAndBaselines pre-fills a small registry, its copy and a minimal table, then runs the
// in-process and minimal-table targets on them, checking what each stored.
func TestPrefillAndBaselines(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	reg, localPath, minimal := filepath.Join(dir, "registry.db"), filepath.Join(dir, "local.db"), filepath.Join(dir, "minimal.db")
	if err := prefill(ctx, 150, reg, localPath, minimal, io.Discard); err != nil {
		t.Fatal(err)
	}
	o := options{batches: 2, size: 20, conc: 2, maxDuration: time.Minute, rounds: 2}
	bodies := makeBodies(o.batches, o.size)
	local, closeLocal, err := inProcess(ctx, localPath, bodies)
	if err != nil {
		t.Fatal(err)
	}
	min1, closeMin1, err := minimalInserts(ctx, minimal, bodies, o.size)
	if err != nil {
		t.Fatal(err)
	}
	if err := alternate(ctx, []*target{local, min1}, o); err != nil {
		t.Fatal(err)
	}
	for _, tg := range []*target{local, min1} {
		if r := tg.result(o.size); r.n != 2 || r.rate <= 0 {
			t.Errorf("%s: %+v, want 2 batches", tg.name, r)
		}
	}
	closeMin1()
	// The same texts again are skipped by the unique hash, not stored twice.
	min2, closeMin2, err := minimalInserts(ctx, minimal, bodies, o.size)
	if err != nil {
		t.Fatal(err)
	}
	if err := alternate(ctx, []*target{min2}, o); err != nil {
		t.Fatal(err)
	}
	closeMin2()
	closeLocal()
	db, err := sql.Open("sqlite", sqlite.DSN(minimal, true))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM samples").Scan(&n); err != nil || n != 190 {
		t.Errorf("minimal table holds %d rows (%v), want 150 + 40", n, err)
	}
	for path, want := range map[string]int{reg: 150, localPath: 190} {
		s, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.ListSamples(ctx, registry.SampleFilter{Limit: 1000})
		s.Close()
		if err != nil || len(got) != want {
			t.Errorf("%s holds %d samples (%v), want %d", filepath.Base(path), len(got), err, want)
		}
	}
}
