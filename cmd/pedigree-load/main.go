// Command pedigree-load drives batch ingest over HTTP against a registry and, in the same run, against
// a bare HTTP sink on loopback that reads the same requests and answers without doing anything, so
// the figure it prints is a ratio that means something on any machine.
//
// Without --server it starts a registry itself (registryd serve on 127.0.0.1, a temporary data
// directory). Requests are bounded in count (--batches) and time (--max-duration), and it stops by
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
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.server == "" {
		url, key, stop, err := startRegistry(ctx, o.registryd, stderr)
		if err != nil {
			return err
		}
		defer stop()
		o.server, o.key = url, key
	}
	bodies := makeBodies(o.batches, o.size)

	sink, stopSink, err := startSink()
	if err != nil {
		return err
	}
	defer stopSink()

	bare, err := drive(ctx, sink, "", bodies, o)
	if err != nil {
		return fmt.Errorf("bare sink: %w", err)
	}
	reg, err := drive(ctx, o.server, o.key, bodies, o)
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	local, err := inProcess(ctx, bodies, o)
	if err != nil {
		return fmt.Errorf("in-process: %w", err)
	}
	fmt.Fprintf(stdout, "batches of %d samples (~120 words each), %d in flight\n", o.size, o.conc)
	fmt.Fprintf(stdout, "%-22s %12s %12s %12s %8s\n", "target", "samples/s", "p50 batch", "p99 batch", "batches")
	for _, r := range []struct {
		name string
		res  result
	}{{"bare HTTP sink", bare}, {"in-process Service", local}, {"registry over HTTP", reg}} {
		fmt.Fprintf(stdout, "%-22s %12.0f %12s %12s %8d\n", r.name, r.res.rate, r.res.p50.Round(time.Millisecond), r.res.p99.Round(time.Millisecond), r.res.n)
	}
	fmt.Fprintf(stdout, "ratio HTTP / in-process (the API's own cost): %.3f\n", reg.rate/local.rate)
	fmt.Fprintf(stdout, "ratio HTTP / bare HTTP sink (transport is not the bottleneck): %.4f\n", reg.rate/bare.rate)
	return nil
}

// makeBodies builds distinct JSON batches of realistic texts, deterministically.
func makeBodies(batches, size int) [][]byte {
	r := rand.New(rand.NewPCG(7, 9))
	vocab := make([]string, 4000)
	for i := range vocab {
		b := make([]byte, 2+r.IntN(8))
		for j := range b {
			b[j] = byte('a' + r.IntN(26))
		}
		vocab[i] = string(b)
	}
	z := rand.NewZipf(r, 1.1, 2, uint64(len(vocab)-1))
	out := make([][]byte, batches)
	type sample struct {
		Text    string `json:"text"`
		Origin  string `json:"origin"`
		Dataset string `json:"dataset"`
	}
	for b := range out {
		samples := make([]sample, size)
		for i := range samples {
			var sb strings.Builder
			fmt.Fprintf(&sb, "Load sample %d of batch %d:", i, b)
			for w := 0; w < 120; w++ {
				sb.WriteString(" " + vocab[z.Uint64()])
			}
			samples[i] = sample{Text: sb.String(), Origin: "human", Dataset: "load"}
		}
		out[b], _ = json.Marshal(map[string]any{"samples": samples})
	}
	return out
}

type result struct {
	rate     float64
	p50, p99 time.Duration
	n        int
}

// drive posts every body once with o.conc requests in flight, and measures.
func drive(ctx context.Context, base, key string, bodies [][]byte, o options) (result, error) {
	client := &http.Client{Timeout: 5 * time.Minute}
	return measure(ctx, len(bodies), o, func(ctx context.Context, i int) error {
		return post(ctx, client, base, key, bodies[i])
	})
}

// measure runs send(0..n-1) with o.conc in flight and returns the rate and batch latencies.
func measure(ctx context.Context, n int, o options, send func(context.Context, int) error) (result, error) {
	ctx, cancel := context.WithTimeout(ctx, o.maxDuration)
	defer cancel()
	var next atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < o.conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				err := send(ctx, i)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				lat = append(lat, time.Since(t0))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return result{}, firstErr
	}
	slices.Sort(lat)
	res := result{n: len(lat), rate: float64(len(lat)*o.size) / elapsed.Seconds()}
	if len(lat) > 0 {
		res.p50, res.p99 = lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)]
	}
	return res, nil
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

// inProcess ingests the same batches through registry.Service on a SQLite store in a temporary
// directory, with the same concurrency: the registry's work without HTTP, JSON or authentication.
func inProcess(ctx context.Context, bodies [][]byte, o options) (result, error) {
	dir, err := os.MkdirTemp("", "pedigree-load-local-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	store, err := sqlite.Open(ctx, filepath.Join(dir, "registry.db"))
	if err != nil {
		return result{}, err
	}
	defer store.Close()
	svc := &registry.Service{Store: store, Scorer: registry.MetricsScorer{Scorer: &metrics.Scorer{}}}
	batches := make([][]registry.NewSample, len(bodies))
	for i, b := range bodies {
		var in struct {
			Samples []registry.NewSample `json:"samples"`
		}
		if err := json.Unmarshal(b, &in); err != nil {
			return result{}, err
		}
		batches[i] = in.Samples
	}
	return measure(ctx, len(batches), o, func(ctx context.Context, i int) error {
		_, err := svc.Ingest(ctx, batches[i], nil)
		return err
	})
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

// startRegistry runs registryd serve on 127.0.0.1:0 with a temporary data directory and returns its
// URL, an ingest key and a stop function.
func startRegistry(ctx context.Context, bin string, stderr io.Writer) (string, string, func(), error) {
	dir, err := os.MkdirTemp("", "pedigree-load-")
	if err != nil {
		return "", "", nil, err
	}
	args := []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir}
	var cmd *exec.Cmd
	if bin == "" {
		cmd = exec.CommandContext(ctx, "go", append([]string{"run", "./cmd/registryd"}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, bin, args...)
	}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, io.Discard
	if err := cmd.Start(); err != nil {
		return "", "", nil, err
	}
	stop := func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		pw.Close()
		os.RemoveAll(dir)
	}
	found := make(chan string, 1)
	go func() {
		buf := make([]byte, 4096)
		var acc []byte
		for {
			n, err := pr.Read(buf)
			acc = append(acc, buf[:n]...)
			if i := bytes.Index(acc, []byte("listening on ")); i >= 0 {
				if j := bytes.IndexByte(acc[i:], '\n'); j > 0 {
					found <- string(acc[i+len("listening on ") : i+j])
					io.Copy(io.Discard, pr)
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	select {
	case url := <-found:
		keyBytes, err := os.ReadFile(filepath.Join(dir, "admin.key"))
		if err != nil {
			stop()
			return "", "", nil, err
		}
		return url, strings.TrimSpace(string(keyBytes)), stop, nil
	case <-time.After(5 * time.Minute):
		stop()
		return "", "", nil, errors.New("registryd did not start")
	}
}
