// Command pedigree-load drives batch ingest over HTTP against a registry and, in the same run, against
// three baselines over the same texts: a bare HTTP sink on loopback that reads the requests and answers
// without doing anything, the registry's service in process (no HTTP), and the minimal table a user
// would write without Pedigree (a UUIDv7 id, the text and a unique SHA-256, batches inserted by one
// prepared multi-row INSERT, with the registry's SQLite pragmas). The figures it prints are ratios
// that mean something on any machine.
//
// Without --server it starts a registry itself (registryd serve on 127.0.0.1, a temporary data
// directory). With --prefill N it first fills that registry, the in-process store and the minimal
// table with N other samples (the registry through registry.Service.Ingest, the store's own batch path,
// so its log is complete and verifies), to measure at registry size. With --server-profile it records
// a CPU profile of the registry process (perf record) while the REST batches run.
//
// With --db postgres://… it measures several registryd instances on one PostgreSQL database instead
// (postgres.go): for each count of --instances (e.g. 1,2,4) the batches spread over that many
// instances, alternating with COPY into the minimal table in the same database, and it reports how
// long writes waited for the log's sequencer. Requests are bounded
// in count (--batches) and time (--max-duration), go only to loopback or to --server, and it stops by
// itself.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pedigreeml/pedigree/internal/baseline"
	"github.com/pedigreeml/pedigree/internal/serverproc"
	"github.com/pedigreeml/pedigree/metrics"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/sqlite"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "pedigree-load:", err)
		os.Exit(1)
	}
}

type options struct {
	server, key         string
	batches, size, conc int
	maxDuration         time.Duration
	registryd           string
	serveArgs           string
	prefill             int
	profile             string
	rounds              int
	db, instances       string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("pedigree-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.server, "server", "", "registry URL; empty starts one on 127.0.0.1 with a temporary data directory")
	fs.StringVar(&o.key, "key", "", "ingest key (with --server)")
	fs.IntVar(&o.batches, "batches", 40, "batches to send to each target")
	fs.IntVar(&o.size, "batch-size", 1000, "samples per batch")
	fs.IntVar(&o.conc, "concurrency", 4, "requests in flight")
	fs.DurationVar(&o.maxDuration, "max-duration", 2*time.Minute, "stop each target after this long")
	fs.StringVar(&o.registryd, "registryd", "", "registryd binary to start (default: go run ./cmd/registryd)")
	fs.StringVar(&o.serveArgs, "serve-args", "", "extra arguments for registryd serve, space-separated (e.g. \"--audit-interval 0\")")
	fs.IntVar(&o.rounds, "rounds", 4, "rounds the batches are cut into; each round goes to every target in turn")
	fs.IntVar(&o.prefill, "prefill", 0, "samples to store in the registry, the in-process store and the minimal table before measuring")
	fs.StringVar(&o.profile, "server-profile", "", "write a perf CPU profile (perf record -g) of the started registry during the REST batches to this file; needs --registryd and perf")
	fs.StringVar(&o.db, "db", "", "a postgres:// URL: start registryd instances on a fresh schema of this database and measure them against COPY into the minimal table there (no SQLite targets)")
	fs.StringVar(&o.instances, "instances", "", "with --db: instance counts to measure, comma-separated (default 1)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.db != "" && o.instances == "" {
		o.instances = "1"
	}
	switch {
	case o.batches < 1 || o.size < 1 || o.size > registry.MaxBatchSamples || o.conc < 1 || o.maxDuration <= 0 || o.rounds < 1:
		return fmt.Errorf("--batches, --rounds, --concurrency and --max-duration must be positive, --batch-size 1 to %d", registry.MaxBatchSamples)
	case o.prefill < 0:
		return errors.New("--prefill must be 0 or more")
	case o.server != "" && (o.prefill > 0 || o.profile != ""):
		return errors.New("--prefill and --server-profile need the registry this command starts (no --server)")
	case o.profile != "" && o.registryd == "":
		return errors.New("--server-profile needs --registryd (a built binary, so that its process is the server)")
	case o.db == "" && o.instances != "":
		return errors.New("--instances needs --db")
	case o.db != "" && (o.server != "" || o.prefill > 0 || o.profile != ""):
		return errors.New("--db starts its own instances: it takes no --server, --prefill or --server-profile")
	}
	if o.db != "" {
		return runPostgres(ctx, o, stdout, stderr)
	}
	work, err := os.MkdirTemp("", "pedigree-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	dataDir, localDB, minimalDB := filepath.Join(work, "registry"), filepath.Join(work, "local.db"), filepath.Join(work, "minimal.db")
	if err := os.Mkdir(dataDir, 0o700); err != nil {
		return err
	}
	if o.prefill > 0 {
		if err := prefill(ctx, o.prefill, filepath.Join(dataDir, "registry.db"), localDB, minimalDB, stderr); err != nil {
			return fmt.Errorf("prefill: %w", err)
		}
	}
	pid := 0
	if o.server == "" {
		started := time.Now()
		srv, err := startRegistry(ctx, o.registryd, dataDir, strings.Fields(o.serveArgs))
		if err != nil {
			return err
		}
		defer srv.Stop()
		fmt.Fprintf(stderr, "registry started in %s (pid %d)\n", time.Since(started).Round(time.Millisecond), srv.PID)
		o.server, o.key, pid = srv.URL, srv.Key, srv.PID
	}
	bodies := makeBodies(o.batches, o.size)

	sink, stopSink, err := startSink()
	if err != nil {
		return err
	}
	defer stopSink()
	local, closeLocal, err := inProcess(ctx, localDB, bodies)
	if err != nil {
		return fmt.Errorf("in-process: %w", err)
	}
	defer closeLocal()
	minimal, closeMinimal, err := minimalInserts(ctx, minimalDB, bodies, o.size)
	if err != nil {
		return fmt.Errorf("minimal table: %w", err)
	}
	defer closeMinimal()
	bare, reg := httpTarget("bare HTTP sink", sink, "", bodies), httpTarget("registry over HTTP", o.server, o.key, bodies)
	var profiles []string
	if o.profile != "" {
		// Only the registry's rounds are profiled, each into a file of its own.
		send := reg.send
		reg.round = func(ctx context.Context, lo, hi int) error {
			path := fmt.Sprintf("%s.%d", o.profile, len(profiles))
			stop, err := startProfile(pid, path)
			if err != nil {
				return fmt.Errorf("server profile: %w", err)
			}
			profiles = append(profiles, path)
			err = reg.measure(ctx, lo, hi, o, send)
			if perr := stop(); perr != nil && err == nil {
				err = fmt.Errorf("server profile: %w", perr)
			}
			return err
		}
	}
	targets := []*target{bare, reg, local, minimal}
	if err := alternate(ctx, targets, o); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "batches of %d samples (~120 words each), %d in flight, %d samples stored before, %d rounds alternating the targets\n",
		o.size, o.conc, o.prefill, o.rounds)
	fmt.Fprintf(stdout, "%-22s %12s %12s %12s %8s\n", "target", "samples/s", "p50 batch", "p99 batch", "batches")
	res := map[*target]result{}
	for _, t := range []*target{bare, minimal, local, reg} {
		r := t.result(o.size)
		res[t] = r
		fmt.Fprintf(stdout, "%-22s %12.0f %12s %12s %8d\n", t.name, r.rate, r.p50.Round(time.Millisecond), r.p99.Round(time.Millisecond), r.n)
	}
	fmt.Fprintf(stdout, "ratio REST / minimal table (target >= 0.5): %.3f\n", res[reg].rate/res[minimal].rate)
	fmt.Fprintf(stdout, "ratio in-process / minimal table (the registry's work and schema): %.3f\n", res[local].rate/res[minimal].rate)
	fmt.Fprintf(stdout, "ratio REST / in-process (the API's own cost): %.3f\n", res[reg].rate/res[local].rate)
	fmt.Fprintf(stdout, "ratio REST / bare HTTP sink (transport is not the bottleneck): %.4f\n", res[reg].rate/res[bare].rate)
	if len(profiles) > 0 {
		ingested := res[reg].n * o.size
		if err := printBreakdown(stdout, profiles, ingested, reg.elapsed.Seconds()); err != nil {
			return fmt.Errorf("server profile: %w", err)
		}
		fmt.Fprintf(stdout, "whole profile of a round: perf report -i %s --children --sort sym\n", profiles[0])
	}
	return nil
}

type loadSample struct {
	Text    string `json:"text"`
	Origin  string `json:"origin"`
	Dataset string `json:"dataset"`
}

// makeBodies builds distinct JSON batches of realistic texts, deterministically.
func makeBodies(batches, size int) [][]byte { return makeBodiesFor("Load sample", batches, size) }

// makeBodiesFor is makeBodies with texts that start with prefix, so that targets writing to one
// database get texts of their own.
func makeBodiesFor(prefix string, batches, size int) [][]byte {
	vocab := baseline.Vocabulary(4000)
	out := make([][]byte, batches)
	for b := range out {
		samples := make([]loadSample, size)
		for i, t := range baseline.Texts(vocab, prefix, b, size, 120) {
			samples[i] = loadSample{Text: t, Origin: "human", Dataset: "load"}
		}
		out[b], _ = json.Marshal(map[string]any{"samples": samples})
	}
	return out
}

// bodyTexts returns the texts of a body made by makeBodies.
func bodyTexts(body []byte) ([]string, error) {
	var in struct {
		Samples []loadSample `json:"samples"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, err
	}
	out := make([]string, len(in.Samples))
	for i, s := range in.Samples {
		out[i] = s.Text
	}
	return out, nil
}

type result struct {
	rate     float64
	p50, p99 time.Duration
	n        int
}

// A target receives every batch once, in rounds that alternate with the other targets', and
// accumulates its batch latencies and its elapsed time.
type target struct {
	name    string
	send    func(ctx context.Context, i int) error
	round   func(ctx context.Context, lo, hi int) error // runs batches lo..hi-1; defaults to measure with send
	lat     []time.Duration
	elapsed time.Duration
}

// alternate sends every batch to every target: the batches are cut into o.rounds rounds, and in each
// round every target takes the round's batches in turn (the order rotating from round to round), so
// that a slow spell of the machine falls on all of them. A target stops after o.maxDuration in all.
func alternate(ctx context.Context, targets []*target, o options) error {
	rounds := max(1, min(o.rounds, o.batches))
	for r := 0; r < rounds; r++ {
		lo, hi := r*o.batches/rounds, (r+1)*o.batches/rounds
		for k := range targets {
			t := targets[(k+r)%len(targets)]
			if t.elapsed >= o.maxDuration {
				continue
			}
			run := t.round
			if run == nil {
				run = func(ctx context.Context, lo, hi int) error { return t.measure(ctx, lo, hi, o, t.send) }
			}
			if err := run(ctx, lo, hi); err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
		}
	}
	return nil
}

// measure runs send(lo..hi-1) with o.conc in flight, within what is left of o.maxDuration, and adds
// the latencies and the elapsed time to t.
func (t *target) measure(ctx context.Context, lo, hi int, o options, send func(context.Context, int) error) error {
	ctx, cancel := context.WithTimeout(ctx, o.maxDuration-t.elapsed)
	defer cancel()
	var next atomic.Int64
	next.Store(int64(lo))
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < o.conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= hi || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				err := send(ctx, i)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				t.lat = append(t.lat, time.Since(t0))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	t.elapsed += time.Since(start)
	return firstErr
}

// result is a target's rate and batch latencies over all its rounds.
func (t *target) result(size int) result {
	lat := slices.Clone(t.lat)
	slices.Sort(lat)
	res := result{n: len(lat)}
	if t.elapsed > 0 {
		res.rate = float64(len(lat)*size) / t.elapsed.Seconds()
	}
	if len(lat) > 0 {
		res.p50, res.p99 = lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)]
	}
	return res
}

// httpTarget posts the bodies to base's batch endpoint.
func httpTarget(name, base, key string, bodies [][]byte) *target {
	client := &http.Client{Timeout: 5 * time.Minute}
	return &target{name: name, send: func(ctx context.Context, i int) error {
		return post(ctx, client, base, key, bodies[i])
	}}
}

func post(ctx context.Context, c *http.Client, base, key string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/samples/batch", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("%d: %.200s", resp.StatusCode, b)
	}
	return nil
}

// inProcess ingests the batches through registry.Service on a SQLite store at path (pre-filled or
// new): the registry's work without HTTP, JSON or authentication.
func inProcess(ctx context.Context, path string, bodies [][]byte) (*target, func(), error) {
	store, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	svc := &registry.Service{Store: store, Scorer: registry.MetricsScorer{Scorer: &metrics.Scorer{}}}
	batches := make([][]registry.NewSample, len(bodies))
	for i, b := range bodies {
		var in struct {
			Samples []registry.NewSample `json:"samples"`
		}
		if err := json.Unmarshal(b, &in); err != nil {
			store.Close()
			return nil, nil, err
		}
		batches[i] = in.Samples
	}
	return &target{name: "in-process Service", send: func(ctx context.Context, i int) error {
		_, err := svc.Ingest(ctx, batches[i], nil)
		return err
	}}, func() { store.Close() }, nil
}

// minimalInserts inserts the texts of the batches into the minimal table at path (pre-filled or new),
// a batch a transaction (the single writer connection serializes the writes; ids and hashes are
// computed in parallel).
func minimalInserts(ctx context.Context, path string, bodies [][]byte, size int) (*target, func(), error) {
	m, err := baseline.OpenMinimal(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	batches := make([][]string, len(bodies))
	for i, b := range bodies {
		if batches[i], err = bodyTexts(b); err != nil {
			m.Close()
			return nil, nil, err
		}
	}
	return &target{name: "minimal table", send: func(ctx context.Context, i int) error {
		return m.Insert(ctx, batches[i])
	}}, func() { m.Close() }, nil
}

// prefillBatch is the batch size of the pre-fill: the largest batch the registry takes.
const prefillBatch = registry.MaxBatchSamples

// prefill stores n samples of ~120 words, other than the measured ones, in the registry's database at
// regPath (through registry.Service.Ingest, the store's own batch path: rows, edges, log leaves and
// hashes, so the log verifies when registryd starts), copies that database to localPath for the
// in-process target, and inserts the same texts into the minimal table at minimalPath.
func prefill(ctx context.Context, n int, regPath, localPath, minimalPath string, stderr io.Writer) error {
	started := time.Now()
	store, err := sqlite.Open(ctx, regPath)
	if err != nil {
		return err
	}
	m, err := baseline.OpenMinimal(ctx, minimalPath)
	if err != nil {
		store.Close()
		return err
	}
	svc := &registry.Service{Store: store, Scorer: registry.MetricsScorer{Scorer: &metrics.Scorer{}}}
	vocab := baseline.Vocabulary(4000)
	var tIngest, tMinimal time.Duration
	for done := 0; done < n && err == nil; done += prefillBatch {
		k := min(prefillBatch, n-done)
		texts := baseline.Texts(vocab, "Prefill sample", done/prefillBatch, k, 120)
		batch := make([]registry.NewSample, k)
		for i := range texts {
			batch[i] = registry.NewSample{Text: &texts[i], Origin: registry.OriginHuman, Dataset: "prefill"}
		}
		t0 := time.Now()
		if _, err = svc.Ingest(ctx, batch, nil); err != nil {
			break
		}
		t1 := time.Now()
		for i := 0; i < k && err == nil; i += 1000 {
			err = m.Insert(ctx, texts[i:min(k, i+1000)])
		}
		tIngest, tMinimal = tIngest+t1.Sub(t0), tMinimal+time.Since(t1)
		if (done/prefillBatch)%10 == 9 || done+k >= n {
			fmt.Fprintf(stderr, "prefill: %d of %d samples (ingest %.0f/s, minimal table %.0f/s)\n", done+k, n,
				float64(done+k)/tIngest.Seconds(), float64(done+k)/tMinimal.Seconds())
		}
	}
	// Closing the last connection checkpoints the WAL into the database file, which is then whole.
	if cerr := errors.Join(m.Close(), store.Close()); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	for _, suffix := range []string{"", "-wal"} {
		if err := copyFile(regPath+suffix, localPath+suffix); err != nil && !(suffix != "" && errors.Is(err, os.ErrNotExist)) {
			return err
		}
	}
	fmt.Fprintf(stderr, "prefill: %d samples in %s\n", n, time.Since(started).Round(time.Second))
	return nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// startProfile runs perf record on the process pid until the returned function is called.
func startProfile(pid int, path string) (func() error, error) {
	cmd := exec.Command("perf", "record", "-F", "499", "-g", "-p", fmt.Sprint(pid), "-o", path)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	time.Sleep(500 * time.Millisecond) // perf attaches
	return func() error {
		cmd.Process.Signal(syscall.SIGINT)
		err := cmd.Wait()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGINT {
				err = nil // perf writes its file and ends on the interrupt it was sent
			}
		}
		if err != nil {
			return fmt.Errorf("%w: %s", err, out.Bytes())
		}
		return nil
	}, nil
}

// startSink serves a bare handler on loopback: it reads the whole body and answers 201 with a
// response of about the registry's size, so the baseline pays for HTTP and transfer and nothing else.
func startSink() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		w.Write(bytes.Repeat([]byte(" "), int(n)+int(n)/3))
	}), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

// server is a registryd process this command started.
type server = serverproc.Server

// startRegistry runs registryd serve on 127.0.0.1:0 with the data directory dir (which it leaves in
// place: the caller removes it); bin "" runs it with go run.
func startRegistry(ctx context.Context, bin, dir string, extra []string) (*server, error) {
	return serverproc.Start(ctx, bin, dir, extra, 10*time.Minute)
}
