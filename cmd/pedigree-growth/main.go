// Command pedigree-growth measures how Pedigree behaves as its registry grows. It fills one registry
// to each of several sizes in turn (default 100,000, then 1,000,000, then 10,000,000 samples) and,
// at each size, against a real `registryd serve` process on 127.0.0.1, measures:
//
//   - fill: how long the registry took to grow to the size through registry.Service.Ingest in
//     process (the store's own batch path, batches of 10,000, with the server stopped), so that its
//     log is complete and verifies;
//   - start-up: from the exec of `registryd serve` on the filled database until GET /readyz answers
//     200, which includes the server's start-up check of its tamper-evident log. The first start
//     after a fill runs the full check (a fill of 10× adds more than a quarter of the log); the
//     restart right after it checks from the watermark that the full check wrote;
//   - mix: POST /v1/mixes of half the registry under the benchmark's policy (limits on the synthetic
//     share, the generation and each model's share; an include on toxicity and tokens), in seconds,
//     and the server's peak resident set size during the build (5 written to /proc/PID/clear_refs
//     before the request, VmHWM read from /proc/PID/status after it: RSS, not the Go heap);
//   - export: GET /v1/mixes/{id}/export?format=jsonl of that mix, in samples/s and MB/s, read
//     whole or, with --export-limit, up to that many samples (the export of a 10M registry's mix
//     takes about half an hour here; its rate does not change along the manifest). It runs last,
//     after the lineage and REST measurements, so that a run stopped during it keeps them in its
//     log, which prints each figure as it is measured;
//   - lineage: GET /v1/samples/{id}/lineage?direction=ancestors&max_depth=10 for --lineage chain
//     tips whose ancestry is 10 deep, one request at a time, p50 and p99;
//   - REST ingest: samples/s of --batches batches of --batch-size new ~120-word samples (half human,
//     half model output) posted to POST /v1/samples/batch with 2 requests in flight; they stay in
//     the registry and count towards the next size;
//   - bytes per sample: on SQLite the database and WAL files after the server stopped (closing the
//     store checkpoints the WAL); on PostgreSQL sum(pg_total_relation_size) over the tables of the
//     registry's schema; divided by the samples stored.
//
// The registry holds what makes these measurements do work: about half human samples and half
// output of two registered models (declared generations 0 and 1), unique texts from
// internal/baseline, and about 1% of the samples in chains of 11 (each the parent of the next,
// through in-batch references), whose tips the lineage queries walk.
//
// It prints a Markdown table (one row per size) and writes the same rows as CSV to
// --out/growth-STORE.csv and a figure of every quantity against registry size (log scale) to
// --out/growth.png; when --out also holds the other store's CSV, the figure draws both stores.
//
// The full measurement, from the repository's root (a 10,000,000-sample registry takes tens of GB
// of disk and hours; --work puts the SQLite registry on a disk with room):
//
//	go build -o /tmp/registryd ./cmd/registryd
//	go run ./cmd/pedigree-growth --registryd /tmp/registryd --out growth-results --work /var/tmp/pedigree-growth
//	go run ./cmd/pedigree-growth --registryd /tmp/registryd --out growth-results \
//	    --db 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
//
// The second run draws both stores in growth-results/growth.png. On PostgreSQL the registry lives in
// a new schema of that database, dropped at the end. Every request is bounded by --timeout, the
// server is stopped on every exit path, and nothing but 127.0.0.1 (and a loopback PostgreSQL) is
// contacted.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pedigreeml/pedigree/registry"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pedigree-growth:", err)
		os.Exit(1)
	}
}

// options is the command's whole configuration, read once from its flags.
type options struct {
	sizes     []int
	db        string // a postgres:// URL, or "" for SQLite
	batches   int
	batchSize int
	lineage   int
	// exportLimit, if not 0, ends the export after that many samples: the rate is read off them.
	exportLimit int
	// resume continues from the SQLite registry in work that an earlier run filled.
	resume    bool
	registryd string
	serveArgs []string
	out       string
	work      string
	timeout   time.Duration
}

// store names the backend in the output.
func (o *options) store() string {
	if o.db != "" {
		return "postgres"
	}
	return "sqlite"
}

// restSamples is how many samples the REST measurement adds at each size.
func (o *options) restSamples() int { return o.batches * o.batchSize }

// minFirstSize is the smallest first size: enough samples for a chain of 11 and the rest.
const minFirstSize = 100

func parseOptions(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	var sizes, serveArgs string
	fs := flag.NewFlagSet("pedigree-growth", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&sizes, "sizes", "100000,1000000,10000000", "registry sizes to measure at, increasing, comma-separated (k and M suffixes allowed: 100k,1M)")
	fs.StringVar(&o.db, "db", "", "a postgres:// URL on loopback: measure PostgreSQL, in a new schema of this database dropped at the end (default: SQLite)")
	fs.IntVar(&o.batches, "batches", 20, "batches sent to POST /v1/samples/batch at each size")
	fs.IntVar(&o.batchSize, "batch-size", 1000, "samples per REST batch")
	fs.IntVar(&o.lineage, "lineage", 200, "lineage requests (chain tips, depth 10) at each size")
	fs.BoolVar(&o.resume, "resume", false, "continue from the SQLite registry an earlier run left in --work (stopped, say, before its measurements): fill on from the samples it holds, and keep the rows of smaller sizes already in --out's CSV")
	fs.IntVar(&o.exportLimit, "export-limit", 0, "read at most this many samples of each export and take its rate from them (0: the whole export; the export of a 10M registry's mix takes half an hour)")
	fs.StringVar(&o.registryd, "registryd", "", "registryd binary to start (default: go build ./cmd/registryd into a temporary directory)")
	fs.StringVar(&serveArgs, "serve-args", "--audit-interval 0", "extra arguments for registryd serve, space-separated")
	fs.StringVar(&o.out, "out", "growth-results", "directory for growth-STORE.csv and growth.png")
	fs.StringVar(&o.work, "work", "", "directory for the registry's data directory (SQLite database, keys), which must not exist or be empty, and is kept; default a temporary directory, removed at the end")
	fs.DurationVar(&o.timeout, "timeout", time.Hour, "bound on each request and on each server start-up")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q: every setting is a flag", fs.Args())
	}
	var err error
	if o.sizes, err = parseSizes(sizes); err != nil {
		return nil, err
	}
	o.serveArgs = strings.Fields(serveArgs)
	switch {
	case o.batches < 1:
		return nil, errors.New("--batches must be at least 1")
	case o.batchSize < 1 || o.batchSize > registry.MaxBatchSamples:
		return nil, fmt.Errorf("--batch-size must be from 1 to %d", registry.MaxBatchSamples)
	case o.lineage < 1:
		return nil, errors.New("--lineage must be at least 1")
	case o.exportLimit < 0:
		return nil, errors.New("--export-limit must be 0 (the whole export) or a number of samples")
	case o.timeout <= 0:
		return nil, errors.New("--timeout must be a positive duration such as 30m")
	case o.out == "":
		return nil, errors.New("--out must name a directory")
	}
	if err := o.checkSizes(); err != nil {
		return nil, err
	}
	if o.db != "" {
		if err := checkLoopbackDSN(o.db); err != nil {
			return nil, err
		}
	}
	for _, a := range o.serveArgs {
		if name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "="); strings.HasPrefix(a, "-") && (name == "addr" || name == "data-dir" || name == "db") {
			return nil, fmt.Errorf("--serve-args must not set --%s: this command chooses it", name)
		}
	}
	if o.registryd != "" {
		st, err := os.Stat(o.registryd)
		if err != nil {
			return nil, fmt.Errorf("--registryd: %w", err)
		}
		if st.IsDir() || st.Mode()&0o111 == 0 {
			return nil, fmt.Errorf("--registryd: %s is not an executable file", o.registryd)
		}
	}
	if o.resume {
		switch {
		case o.db != "":
			return nil, errors.New("--resume continues a SQLite registry: it cannot be used with --db")
		case o.work == "":
			return nil, errors.New("--resume needs --work: the directory of the registry to continue")
		}
		if _, err := os.Stat(filepath.Join(o.work, "data", "registry.db")); err != nil {
			return nil, fmt.Errorf("--resume: no registry to continue: %w", err)
		}
	} else if o.work != "" {
		if entries, err := os.ReadDir(o.work); err == nil && len(entries) > 0 {
			return nil, fmt.Errorf("--work: %s is not empty", o.work)
		} else if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("--work: %w", err)
		}
	}
	return o, nil
}

// parseSizes reads --sizes: positive integers, with an optional k (thousand) or M (million) suffix.
func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		orig, mult := f, 1
		switch {
		case strings.HasSuffix(f, "k"):
			f, mult = strings.TrimSuffix(f, "k"), 1000
		case strings.HasSuffix(f, "M"):
			f, mult = strings.TrimSuffix(f, "M"), 1_000_000
		}
		n, err := strconv.Atoi(strings.ReplaceAll(f, "_", ""))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--sizes: %q is not a registry size (a positive number of samples such as 100000 or 1M)", orig)
		}
		if n > 2*registry.MaxMixSize/mult {
			return nil, fmt.Errorf("--sizes: %s is above %d, twice the registry's largest mix", orig, 2*registry.MaxMixSize)
		}
		out = append(out, n*mult)
	}
	return out, nil
}

// checkSizes requires increasing sizes that leave room for what each step adds over REST, and a
// mix of half the largest registry that the registry accepts.
func (o *options) checkSizes() error {
	if o.sizes[0] < minFirstSize {
		return fmt.Errorf("--sizes: the first size must be at least %d samples (it holds the chains that the lineage requests walk)", minFirstSize)
	}
	for i := 1; i < len(o.sizes); i++ {
		prev, next := o.sizes[i-1], o.sizes[i]
		if next <= prev {
			return fmt.Errorf("--sizes must increase: %d follows %d", next, prev)
		}
		if next < prev+o.restSamples() {
			return fmt.Errorf("--sizes: %d is below %d plus the %d samples that the REST batches add at %d (--batches × --batch-size)",
				next, prev, o.restSamples(), prev)
		}
	}
	if last := o.sizes[len(o.sizes)-1]; last/2 > registry.MaxMixSize {
		return fmt.Errorf("--sizes: a mix of half of %d samples is above the registry's largest mix, %d", last, registry.MaxMixSize)
	}
	return nil
}

// checkLoopbackDSN accepts a postgres:// URL whose host is on this machine: a loopback address,
// localhost, or a Unix socket directory.
func checkLoopbackDSN(dsn string) error {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return errors.New("--db must be a postgres:// URL")
	}
	hosts := []string{u.Hostname()}
	if h := u.Query().Get("host"); h != "" {
		hosts = append(hosts, strings.Split(h, ",")...)
	}
	if strings.Contains(u.Host, ",") {
		return errors.New("--db must name one PostgreSQL host")
	}
	for _, h := range hosts {
		if h != "" && !isLoopbackHost(h) && !strings.HasPrefix(h, "/") {
			return fmt.Errorf("--db: host %q is not loopback; this command talks to this machine only", h)
		}
	}
	return nil
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseOptions(args, stderr)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	tmp, err := os.MkdirTemp("", "pedigree-growth-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	work := o.work
	if work == "" {
		work = filepath.Join(tmp, "work")
	}
	dataDir := filepath.Join(work, "data")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	if o.registryd == "" {
		if o.registryd, err = buildRegistryd(ctx, tmp, stderr); err != nil {
			return err
		}
	}
	be, err := openBackend(ctx, o, dataDir)
	if err != nil {
		return err
	}
	defer be.close()

	m := &measurer{o: o, be: be, dataDir: dataDir, gen: newGenerator(), log: stderr}
	var rows []row
	if o.resume {
		if rows, err = resume(ctx, o, dataDir, m.gen, stderr); err != nil {
			return fmt.Errorf("--resume: %w", err)
		}
	}
	for _, size := range o.sizes {
		r, err := m.step(ctx, size)
		if err != nil {
			return fmt.Errorf("at %d samples: %w", size, err)
		}
		rows = append(rows, r)
		// Written after every size, so that a long run keeps what it measured if a later size fails.
		if err := writeResults(o.out, o.store(), rows); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "%d samples done: %s\n", size, r.summary())
	}
	writeMarkdown(stdout, rows)
	fmt.Fprintf(stdout, "\nCSV: %s; figure: %s\n", filepath.Join(o.out, csvName(o.store())), filepath.Join(o.out, plotFile))
	return nil
}
