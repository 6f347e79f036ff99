package main

import (
	"context"
	"fmt"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/jackc/pgx/v5"

	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/postgres/pgtest"
	"github.com/pedigreeml/pedigree/registry/sqlite"
)

// binDir holds the registryd that the end-to-end tests build, once, on first use.
var (
	binDir       string
	buildOnce    sync.Once
	registrydBin string
	buildErr     error
)

func TestMain(m *testing.M) {
	os.Exit(func() int {
		var err error
		if binDir, err = os.MkdirTemp("", "pedigree-growth-test-"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(binDir)
		return m.Run()
	}())
}

// registryd returns the registryd binary built for this test run.
func registryd(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		bin := filepath.Join(binDir, "registryd")
		if out, err := exec.Command("go", "build", "-o", bin, "../registryd").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build registryd: %v\n%s", err, out)
			return
		}
		registrydBin = bin
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return registrydBin
}

func TestParseOptionsRefusesBadFlags(t *testing.T) {
	notEmpty := t.TempDir()
	if err := os.WriteFile(filepath.Join(notEmpty, "x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"SizesDecrease", []string{"--sizes", "1000000,100000"}},
		{"SizesRepeat", []string{"--sizes", "100000,100000"}},
		{"SizeZero", []string{"--sizes", "0,100000"}},
		{"SizeNegative", []string{"--sizes", "-5"}},
		{"SizeNotANumber", []string{"--sizes", "100000,lots"}},
		{"SizeEmptyField", []string{"--sizes", "100000,,1000000"}},
		{"FirstSizeTooSmall", []string{"--sizes", "50,1000000"}},
		{"NoRoomForTheRESTBatches", []string{"--sizes", "300,700", "--batches", "2"}},
		{"MixAboveTheLargest", []string{"--sizes", "30M"}},
		{"BatchesZero", []string{"--batches", "0"}},
		{"BatchSizeZero", []string{"--batch-size", "0"}},
		{"BatchSizeAboveTheLimit", []string{"--batch-size", "10001"}},
		{"LineageZero", []string{"--lineage", "0"}},
		{"ExportLimitNegative", []string{"--export-limit", "-1"}},
		{"ResumeWithoutWork", []string{"--resume"}},
		{"ResumeWithDB", []string{"--resume", "--work", notEmpty, "--db", "postgres://postgres@127.0.0.1:5432/x"}},
		{"ResumeWithoutARegistry", []string{"--resume", "--work", notEmpty}},
		{"TimeoutZero", []string{"--timeout", "0s"}},
		{"OutEmpty", []string{"--out", ""}},
		{"DBNotPostgres", []string{"--db", "/tmp/registry.db"}},
		{"DBNotLoopback", []string{"--db", "postgres://postgres@db.example.com:5432/x"}},
		{"DBHostParamNotLoopback", []string{"--db", "postgres://postgres@127.0.0.1/x?host=10.0.0.5"}},
		{"ServeArgsSetTheAddress", []string{"--serve-args", "--addr 0.0.0.0:8080"}},
		{"ServeArgsSetTheDatabase", []string{"--serve-args", "--audit-interval 0 --db=x.db"}},
		{"RegistrydMissing", []string{"--registryd", filepath.Join(t.TempDir(), "nothing")}},
		{"RegistrydNotExecutable", []string{"--registryd", filepath.Join(notEmpty, "x")}},
		{"WorkNotEmpty", []string{"--work", notEmpty}},
		{"StrayArgument", []string{"100000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if o, err := parseOptions(tc.args, io.Discard); err == nil {
				t.Errorf("parseOptions(%q) = %+v, want an error", tc.args, o)
			}
		})
	}
}

func TestParseOptionsDefaultsAndSuffixes(t *testing.T) {
	o, err := parseOptions(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(o.sizes) != "[100000 1000000 10000000]" || o.batches != 20 || o.batchSize != 1000 || o.store() != "sqlite" ||
		strings.Join(o.serveArgs, " ") != "--audit-interval 0" {
		t.Errorf("defaults: %+v", o)
	}
	o, err = parseOptions([]string{"--sizes", "100k, 1M,10_000_000", "--db", "postgres://postgres@localhost/test?sslmode=disable"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(o.sizes) != "[100000 1000000 10000000]" || o.store() != "postgres" {
		t.Errorf("suffixes: %+v", o)
	}
}

// TestChainsLieInsideTheirBatch checks the chains' layout: inside the batch, apart, and about 1%
// of a full batch.
// TestReadLines checks the export's count: whole, or up to a limit that falls inside a read, at a
// read's end, or past the end, however the reads split the lines.
func TestReadLines(t *testing.T) {
	text := "a\nbb\nccc\n\ndddd\n" // 5 lines, 15 bytes
	for _, tc := range []struct {
		want         int64
		lines, bytes int64
	}{
		{100, 5, 15}, {5, 5, 15}, {1, 1, 2}, {2, 2, 5}, {4, 4, 10},
	} {
		for _, split := range []int{1, 2, 3, 7, 100} {
			lines, n, err := readLines(&chunked{text: text, size: split}, tc.want)
			if err != nil || lines != tc.lines || n != tc.bytes {
				t.Errorf("want %d, reads of %d: %d lines, %d bytes, %v; want %d, %d", tc.want, split, lines, n, err, tc.lines, tc.bytes)
			}
		}
	}
	if _, _, err := readLines(iotest.ErrReader(io.ErrUnexpectedEOF), 3); err != io.ErrUnexpectedEOF {
		t.Errorf("a failed read: %v", err)
	}
}

// chunked reads its text size bytes at a time.
type chunked struct {
	text string
	size int
}

func (c *chunked) Read(p []byte) (int, error) {
	if c.text == "" {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), c.size)], c.text)
	c.text = c.text[k:]
	return k, nil
}

func TestChainsLieInsideTheirBatch(t *testing.T) {
	for _, k := range []int{10, 11, 300, 2199, 10_000} {
		starts := chainStarts(k)
		if k < chainLen {
			if len(starts) != 0 {
				t.Errorf("k=%d: %v, want no chain", k, starts)
			}
			continue
		}
		if len(starts) == 0 {
			t.Errorf("k=%d: no chain", k)
		}
		for i, s := range starts {
			if s < 0 || s+chainLen > k || (i > 0 && s < starts[i-1]+chainLen) {
				t.Errorf("k=%d: chains at %v", k, starts)
			}
		}
	}
	if n := len(chainStarts(10_000)) * chainLen; n < 90 || n > 110 {
		t.Errorf("a batch of 10,000 holds %d chained samples, want about 1%%", n)
	}
	g := newGenerator()
	batch, tips := g.nextFillBatch(2500)
	for _, tip := range tips {
		for m := chainLen - 1; m > 0; m-- {
			s := batch[tip-(chainLen-1-m)]
			if s.Origin != registry.OriginModel || len(s.Parents) != 1 || s.Parents[0].Item == nil || *s.Parents[0].Item != tip-(chainLen-1-m)-1 {
				t.Fatalf("chain member %d at %d: %+v", m, tip-(chainLen-1-m), s)
			}
		}
		if root := batch[tip-chainLen+1]; root.Origin != registry.OriginHuman || len(root.Parents) != 0 {
			t.Fatalf("chain root: %+v", root)
		}
	}
}

func TestCSVRoundTrip(t *testing.T) {
	rows := []row{
		{Store: "sqlite", Samples: 300, FillAdded: 300, FillSeconds: 0.5, StartupSeconds: 0.2, RestartSeconds: 0.03, RESTSamplesPerSec: 5000,
			MixRequested: 200, MixSize: 200, MixSeconds: 0.04, MixPeakRSSMiB: 60.5, ExportSamplesPerSec: 2e4, ExportMBPerSec: 24,
			LineageP50ms: 1, LineageP99ms: 3.5, StoredAfter: 400, BytesPerSample: 2300},
		{Store: "sqlite", Samples: 700, FillAdded: 300, StoredAfter: 800, BytesPerSample: 2200},
	}
	var b strings.Builder
	if err := writeCSV(&b, rows); err != nil {
		t.Fatal(err)
	}
	got, err := readCSV(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(rows) {
		t.Errorf("read back\n%v\nwant\n%v", got, rows)
	}
	if _, err := readCSV(strings.NewReader("store,samples\nsqlite,1\n")); err == nil {
		t.Error("a CSV without every column: no error")
	}
}

// TestFigureDrawsBothStores writes one CSV per store and checks that the figure is drawn from both.
func TestFigureDrawsBothStores(t *testing.T) {
	dir := t.TempDir()
	for _, store := range []string{"sqlite", "postgres"} {
		rows := []row{{Store: store, Samples: 1000, FillAdded: 1000, FillSeconds: 1, BytesPerSample: 2000, LineageP99ms: 2},
			{Store: store, Samples: 10_000, FillAdded: 9000, FillSeconds: 2, BytesPerSample: 1900, LineageP99ms: 3}}
		if err := writeResults(dir, store, rows); err != nil {
			t.Fatal(err)
		}
	}
	if got := storesIn(dir); fmt.Sprint(got) != "[sqlite postgres]" {
		t.Errorf("stores in %s: %v", dir, got)
	}
	checkPNG(t, filepath.Join(dir, plotFile))
	// A CSV of one store that holds another's rows is refused rather than drawn under the wrong name.
	if err := os.Rename(filepath.Join(dir, csvName("sqlite")), filepath.Join(dir, csvName("postgres"))); err != nil {
		t.Fatal(err)
	}
	if _, err := readStore(dir, "postgres"); err == nil {
		t.Error("a postgres CSV of sqlite rows: no error")
	}
}

func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil || cfg.Width < 500 || cfg.Height < 500 {
		t.Errorf("%s: %+v, %v; want a PNG figure", path, cfg, err)
	}
}

// runTiny runs the whole command at tiny sizes with the built registryd and returns its CSV rows.
func runTiny(t *testing.T, out, work string, extra ...string) ([]row, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts registryd")
	}
	args := append([]string{"--sizes", "300,700", "--batches", "2", "--batch-size", "50", "--lineage", "20",
		"--registryd", registryd(t), "--out", out, "--work", work, "--timeout", "2m"}, extra...)
	var stdout, stderr strings.Builder
	if err := run(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	store := "sqlite"
	if len(extra) > 0 {
		store = "postgres"
	}
	rows, err := readStore(out, store)
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, rows, store)
	checkPNG(t, filepath.Join(out, plotFile))
	for _, want := range []string{"| " + store + " | 300 |", "| " + store + " | 700 |", "RSS, not the Go heap"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("the table lacks %q:\n%s", want, stdout.String())
		}
	}
	return rows, stdout.String()
}

// checkRows checks what a tiny run measured: the sizes asked for, the REST samples stored, a mix of
// half the registry exported whole, and every figure present and positive. No wall-clock bound.
func checkRows(t *testing.T, rows []row, store string) {
	t.Helper()
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2", len(rows))
	}
	for i, r := range rows {
		wantSize, wantAdded := []int{300, 700}[i], 300
		if r.Store != store || r.Samples != wantSize || r.FillAdded != wantAdded || r.StoredAfter != wantSize+100 {
			t.Errorf("row %d: store %s, %d samples, fill added %d, %d stored after; want %s, %d, %d, %d",
				i, r.Store, r.Samples, r.FillAdded, r.StoredAfter, store, wantSize, wantAdded, wantSize+100)
		}
		if r.MixRequested != r.Samples/2 || r.MixSize != r.MixRequested {
			t.Errorf("row %d: mix of %d (asked %d), want half of %d", i, r.MixSize, r.MixRequested, r.Samples)
		}
		for name, v := range map[string]float64{"fill_s": r.FillSeconds, "startup_s": r.StartupSeconds, "restart_s": r.RestartSeconds,
			"rest_samples_per_s": r.RESTSamplesPerSec, "mix_s": r.MixSeconds, "mix_peak_rss_mib": r.MixPeakRSSMiB,
			"export_samples_per_s": r.ExportSamplesPerSec, "export_mb_per_s": r.ExportMBPerSec, "lineage_p50_ms": r.LineageP50ms,
			"bytes_per_sample": r.BytesPerSample} {
			if !(v > 0) {
				t.Errorf("row %d: %s = %v, want > 0", i, name, v)
			}
		}
		if r.LineageP99ms < r.LineageP50ms {
			t.Errorf("row %d: lineage p99 %v below p50 %v", i, r.LineageP99ms, r.LineageP50ms)
		}
		// A sample of ~120 words is ~800 bytes of text alone.
		if r.BytesPerSample < 800 {
			t.Errorf("row %d: %v bytes a sample, less than its text", i, r.BytesPerSample)
		}
	}
	if rows[1].StoredAfter <= rows[0].StoredAfter || rows[1].MixSize <= rows[0].MixSize {
		t.Errorf("the registry did not grow: %+v", rows)
	}
}

// TestRunSQLite runs the command end to end on SQLite and checks what the registry holds: about
// half human samples, the rest from the two models, and the chains the lineage walked.
func TestRunSQLite(t *testing.T) {
	out, work := t.TempDir(), filepath.Join(t.TempDir(), "work")
	runTiny(t, out, work)
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(work, "data", "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	byOrigin := map[string]int64{}
	deep := int64(0)
	if err := s.CountSamples(ctx, func(origin string, generation int, n int64) {
		byOrigin[origin] += n
		if generation >= chainLen-1 {
			deep += n
		}
	}); err != nil {
		t.Fatal(err)
	}
	if total := byOrigin[registry.OriginHuman] + byOrigin[registry.OriginModel]; total != 800 ||
		byOrigin[registry.OriginHuman] < 320 || byOrigin[registry.OriginHuman] > 480 {
		t.Errorf("samples by origin: %v, want 800, about half human", byOrigin)
	}
	// A chain's tip is 10 model passes from its human root, on top of its models' generations.
	if deep < 2 {
		t.Errorf("%d samples of generation >= 10, want a chain tip from each fill", deep)
	}
	for _, m := range growthModels {
		if _, err := s.GetModel(ctx, m.name+"@1"); err != nil {
			t.Errorf("model %s: %v", m.name, err)
		}
	}
}

// TestRunResume stops after the first size and resumes to the second: the rows of both sizes end
// up in the CSV, measured as one run measures them (the checks of runTiny's rows), the resumed fill
// repeats no stored text and its lineage walks the chains the first run stored.
func TestRunResume(t *testing.T) {
	if testing.Short() {
		t.Skip("starts registryd")
	}
	out, work := t.TempDir(), filepath.Join(t.TempDir(), "work")
	common := []string{"--batches", "2", "--batch-size", "50", "--lineage", "20", "--registryd", registryd(t),
		"--out", out, "--work", work, "--timeout", "2m"}
	for _, args := range [][]string{{"--sizes", "300"}, {"--sizes", "700", "--resume"}} {
		var stdout, stderr strings.Builder
		if err := run(context.Background(), append(args, common...), &stdout, &stderr); err != nil {
			t.Fatalf("run %q: %v\n%s", args, err, stderr.String())
		}
	}
	rows, err := readStore(out, "sqlite")
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, rows, "sqlite")
	var stderr strings.Builder
	err = run(context.Background(), append([]string{"--sizes", "500", "--resume"}, common...), io.Discard, &stderr)
	if err == nil || !strings.Contains(err.Error(), "must start above") {
		t.Errorf("resuming below the registry's size: %v", err)
	}
}

// TestRunPostgres runs the command end to end on PostgreSQL, when PEDIGREE_TEST_POSTGRES_DSN names
// a database, into an --out that already holds a SQLite CSV, and checks that its schema is gone
// afterwards.
func TestRunPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	schemas := func() int {
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'pedigree_growth_%'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := schemas()
	out := t.TempDir()
	sqliteRows := []row{{Store: "sqlite", Samples: 300, FillAdded: 300, FillSeconds: 1, BytesPerSample: 2000}}
	if err := writeResults(out, "sqlite", sqliteRows); err != nil {
		t.Fatal(err)
	}
	runTiny(t, out, filepath.Join(t.TempDir(), "work"), "--db", dsn, "--export-limit", "60")
	if got := storesIn(out); fmt.Sprint(got) != "[sqlite postgres]" {
		t.Errorf("stores in --out: %v, want both", got)
	}
	if after := schemas(); after != before {
		t.Errorf("%d pedigree_growth_ schemas before the run, %d after", before, after)
	}
}
