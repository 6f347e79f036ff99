package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pedigreeml/pedigree/ledger"
)

// parseInstances reads --instances: instance counts, comma-separated, each 1 to 16.
func parseInstances(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 16 {
			return nil, fmt.Errorf("--instances: %q is not an instance count from 1 to 16", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// withParams returns the postgres:// URL dsn with the runtime parameters params set.
func withParams(dsn string, params map[string]string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", errors.New("--db must be a postgres:// URL")
	}
	q := u.Query()
	for k, v := range params {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// runPostgres measures batch ingest over REST against several registryd instances sharing one
// PostgreSQL database (a fresh schema of o.db, dropped at the end), alternating in one run: for
// each count k of --instances, the batches spread over k instances (batch i to instance i mod k,
// o.conc in flight in all); and COPY of the same number of texts into the minimal table (a UUIDv7
// id, the text and a unique SHA-256, one transaction a batch, o.conc in flight) in another schema
// of the same database. It reports, for each target, the rate and batch latencies, and for the
// registry targets how long writes waited for the log's sequencer.
func runPostgres(ctx context.Context, o options, stdout, stderr io.Writer) error {
	counts, err := parseInstances(o.instances)
	if err != nil {
		return err
	}
	most := 0
	for _, k := range counts {
		most = max(most, k)
	}
	tag := make([]byte, 4)
	rand.Read(tag)
	regSchema, minSchema := "pedigree_load_"+hex.EncodeToString(tag), "pedigree_load_min_"+hex.EncodeToString(tag)
	// Every instance's connections carry one application name, so the lock sampler finds them.
	app := "pedigree-load-" + hex.EncodeToString(tag)
	regDSN, err := withParams(o.db, map[string]string{"search_path": regSchema, "application_name": app})
	if err != nil {
		return err
	}
	minDSN, err := withParams(o.db, map[string]string{"search_path": minSchema})
	if err != nil {
		return err
	}
	admin, err := pgx.Connect(ctx, o.db)
	if err != nil {
		return fmt.Errorf("--db: %w", err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	for _, s := range []string{regSchema, minSchema} {
		if _, err := admin.Exec(ctx, "CREATE SCHEMA "+s); err != nil {
			return err
		}
		defer admin.Exec(context.WithoutCancel(ctx), "DROP SCHEMA "+s+" CASCADE")
	}

	work, err := os.MkdirTemp("", "pedigree-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	servers, err := startInstances(ctx, o, work, regDSN, most, stderr)
	for _, s := range servers {
		defer s.Stop()
	}
	if err != nil {
		return err
	}

	var targets []*target
	var regs []*regTarget
	for _, k := range counts {
		rt := &regTarget{k: k, servers: servers[:k], app: app, admin: o.db}
		bodies := makeBodiesFor(fmt.Sprintf("Instances %d", k), o.batches, o.size)
		client := &http.Client{Timeout: 5 * time.Minute}
		rt.target = &target{name: fmt.Sprintf("registry x%d over HTTP", k), send: func(ctx context.Context, i int) error {
			s := rt.servers[i%len(rt.servers)]
			return post(ctx, client, s.URL, s.Key, bodies[i])
		}}
		rt.target.round = rt.round(o)
		regs = append(regs, rt)
		targets = append(targets, rt.target)
	}
	minimal, closeMinimal, err := minimalCopy(ctx, minDSN, makeBodiesFor("Minimal", o.batches, o.size), o.conc)
	if err != nil {
		return fmt.Errorf("minimal table: %w", err)
	}
	defer closeMinimal()
	targets = append(targets, minimal)
	if err := alternate(ctx, targets, o); err != nil {
		return err
	}

	fmt.Fprintf(stdout, "PostgreSQL, one database; batches of %d samples (~120 words each), %d in flight per target, %d rounds alternating the targets\n",
		o.size, o.conc, o.rounds)
	fmt.Fprintf(stdout, "%-26s %10s %10s %10s %8s %16s %13s %14s\n", "target", "samples/s", "p50 batch", "p99 batch", "batches", "write wait/batch", "lock waiters", "sequencer held")
	mr := minimal.result(o.size)
	fmt.Fprintf(stdout, "%-26s %10.0f %10s %10s %8d\n", minimal.name, mr.rate, mr.p50.Round(time.Millisecond), mr.p99.Round(time.Millisecond), mr.n)
	var one float64
	for _, rt := range regs {
		r := rt.target.result(o.size)
		if rt.k == 1 {
			one = r.rate
		}
		wait := time.Duration(0)
		if rt.writes > 0 {
			wait = time.Duration(rt.waitSeconds / float64(rt.writes) * float64(time.Second))
		}
		fmt.Fprintf(stdout, "%-26s %10.0f %10s %10s %8d %16s %13.2f %13.0f%%\n", rt.target.name, r.rate, r.p50.Round(time.Millisecond),
			r.p99.Round(time.Millisecond), r.n, wait.Round(time.Millisecond), rt.meanWaiters(), 100*rt.heldShare())
	}
	for _, rt := range regs {
		r := rt.target.result(o.size)
		line := fmt.Sprintf("ratio registry x%d / minimal COPY: %.3f", rt.k, r.rate/mr.rate)
		if one > 0 && rt.k != 1 {
			line += fmt.Sprintf("; x%d / x1: %.2f", rt.k, r.rate/one)
		}
		if busy := rt.batchSeconds(); busy > 0 {
			line += fmt.Sprintf("; share of batch time waiting to write: %.0f%%", 100*rt.waitSeconds/busy)
		}
		if r.n > 0 && rt.held > 0 {
			hold := time.Duration(rt.heldShare() * rt.target.elapsed.Seconds() / float64(r.n) * float64(time.Second))
			line += fmt.Sprintf("; sequencer held %s a batch, a ceiling of %.0f samples/s if nothing else limited",
				hold.Round(time.Millisecond), float64(o.size)/hold.Seconds())
		}
		fmt.Fprintln(stdout, line)
	}
	fmt.Fprintln(stdout, "write wait: pedigree_store_write_wait_seconds from each instance's /metrics (the instance's write queue, then the log_head row lock);")
	fmt.Fprintln(stdout, "lock waiters: instances' backends waiting on a lock in pg_stat_activity, sampled every 10 ms, mean over the target's rounds;")
	fmt.Fprintln(stdout, "sequencer held: share of those samples in which a write transaction held the log_head row lock (near 100% = the sequencer limits)")
	return nil
}

// startInstances starts n registryd serve processes on dsn, each with a data directory of its own
// under work holding the same log signing key: the first creates it and the admin key (stored in the
// database, its secret in the data directory), and the others get a copy of both before they start.
func startInstances(ctx context.Context, o options, work, dsn string, n int, stderr io.Writer) ([]*server, error) {
	var out []*server
	extra := append([]string{"--db", dsn}, strings.Fields(o.serveArgs)...)
	for i := range n {
		dir := filepath.Join(work, fmt.Sprintf("instance-%d", i))
		if err := os.Mkdir(dir, 0o700); err != nil {
			return out, err
		}
		for _, name := range []string{ledger.KeyFile, "admin.key"} {
			if i == 0 {
				break
			}
			key, err := os.ReadFile(filepath.Join(work, "instance-0", name))
			if err != nil {
				return out, err
			}
			if err := os.WriteFile(filepath.Join(dir, name), key, 0o600); err != nil {
				return out, err
			}
		}
		started := time.Now()
		s, err := startRegistry(ctx, o.registryd, dir, extra)
		if err != nil {
			return out, fmt.Errorf("instance %d: %w", i, err)
		}
		out = append(out, s)
		fmt.Fprintf(stderr, "instance %d started in %s (pid %d, %s)\n", i, time.Since(started).Round(time.Millisecond), s.PID, s.URL)
	}
	return out, nil
}

// regTarget is a registry target over k instances, with what its rounds waited to write.
type regTarget struct {
	k       int
	servers []*server
	target  *target
	app     string // the instances' application_name
	admin   string // DSN of the lock sampler's connection

	waitSeconds float64 // write wait reported by the instances' /metrics during the rounds
	writes      int64
	waiters     float64 // sum over samples of backends waiting for a lock
	held        int     // samples in which a write transaction held the sequencer
	samples     int
}

// round runs a round of the target and adds the instances' write waits and the sampled lock
// waiters to rt.
func (rt *regTarget) round(o options) func(ctx context.Context, lo, hi int) error {
	return func(ctx context.Context, lo, hi int) error {
		before, err := rt.scrape(ctx)
		if err != nil {
			return err
		}
		stop, err := rt.sampleLocks(ctx)
		if err != nil {
			return err
		}
		err = rt.target.measure(ctx, lo, hi, o, rt.target.send)
		stop()
		after, serr := rt.scrape(ctx)
		if err == nil {
			err = serr
		}
		rt.waitSeconds += after.sum - before.sum
		rt.writes += after.count - before.count
		return err
	}
}

type waitTotals struct {
	sum   float64
	count int64
}

// scrape adds up pedigree_store_write_wait_seconds over the target's instances.
func (rt *regTarget) scrape(ctx context.Context) (waitTotals, error) {
	var t waitTotals
	for _, s := range rt.servers {
		w, err := scrapeWriteWait(ctx, s)
		if err != nil {
			return t, fmt.Errorf("%s/metrics: %w", s.URL, err)
		}
		t.sum += w.sum
		t.count += w.count
	}
	return t, nil
}

// scrapeWriteWait reads the write-wait histogram's sum and count from an instance's /metrics.
func scrapeWriteWait(ctx context.Context, s *server) (waitTotals, error) {
	var t waitTotals
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/metrics", nil)
	if err != nil {
		return t, err
	}
	req.Header.Set("Authorization", "Bearer "+s.Key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return t, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return t, fmt.Errorf("status %d", resp.StatusCode)
	}
	found := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		switch {
		case !ok:
		case name == "pedigree_store_write_wait_seconds_sum":
			t.sum, err = strconv.ParseFloat(value, 64)
			found++
		case name == "pedigree_store_write_wait_seconds_count":
			var c float64
			c, err = strconv.ParseFloat(value, 64)
			t.count = int64(c)
			found++
		}
		if err != nil {
			return t, err
		}
	}
	if err := sc.Err(); err != nil {
		return t, err
	}
	if found != 2 {
		return t, errors.New("no pedigree_store_write_wait_seconds histogram")
	}
	return t, nil
}

// sampleLocks counts, every 10 ms until the returned function is called, the instances' backends
// that wait for a lock (the log_head row lock that sequences writers shows as a wait on the
// holder's transaction), and whether one holds the sequencer: a write transaction locks log_head
// first, which gives it a transaction id, while reads never get one, so a backend with an id that
// is not waiting for a lock is the writer holding it.
func (rt *regTarget) sampleLocks(ctx context.Context) (func(), error) {
	conn, err := pgx.Connect(ctx, rt.admin)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer conn.Close(context.WithoutCancel(ctx))
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			var waiting, holding int
			err := conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'),
				count(*) FILTER (WHERE backend_xid IS NOT NULL AND wait_event_type IS DISTINCT FROM 'Lock')
				FROM pg_stat_activity WHERE application_name = $1`, rt.app).Scan(&waiting, &holding)
			if err != nil {
				return
			}
			rt.waiters += float64(waiting)
			if holding > 0 {
				rt.held++
			}
			rt.samples++
		}
	})
	return func() { cancel(); wg.Wait() }, nil
}

// meanWaiters is the mean number of backends waiting for a lock over the samples.
func (rt *regTarget) meanWaiters() float64 {
	if rt.samples == 0 {
		return 0
	}
	return rt.waiters / float64(rt.samples)
}

// heldShare is the share of the samples in which a writer held the sequencer.
func (rt *regTarget) heldShare() float64 {
	if rt.samples == 0 {
		return 0
	}
	return float64(rt.held) / float64(rt.samples)
}

// batchSeconds is the sum of the target's batch latencies.
func (rt *regTarget) batchSeconds() float64 {
	var s float64
	for _, l := range rt.target.lat {
		s += l.Seconds()
	}
	return s
}

// minimalCopy COPYs the texts of the batches into the minimal table (id uuid PRIMARY KEY, text,
// content_sha256 bytea UNIQUE) of the database at dsn, one transaction a batch, the UUIDv7 and the
// hash computed in the timed send.
func minimalCopy(ctx context.Context, dsn string, bodies [][]byte, conc int) (*target, func(), error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, nil, err
	}
	cfg.MaxConns = int32(max(conc, 2))
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	if _, err := pool.Exec(ctx, `CREATE TABLE minimal_samples (
		id             uuid PRIMARY KEY,
		text           text NOT NULL,
		content_sha256 bytea NOT NULL UNIQUE)`); err != nil {
		pool.Close()
		return nil, nil, err
	}
	batches := make([][]string, len(bodies))
	for i, b := range bodies {
		if batches[i], err = bodyTexts(b); err != nil {
			pool.Close()
			return nil, nil, err
		}
	}
	return &target{name: "minimal table (COPY)", send: func(ctx context.Context, i int) error {
		rows := make([][]any, len(batches[i]))
		for j, t := range batches[i] {
			sum := sha256.Sum256([]byte(t))
			rows[j] = []any{uuid.Must(uuid.NewV7()), t, sum[:]}
		}
		return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			_, err := tx.CopyFrom(ctx, pgx.Identifier{"minimal_samples"}, []string{"id", "text", "content_sha256"}, pgx.CopyFromRows(rows))
			return err
		})
	}}, pool.Close, nil
}
