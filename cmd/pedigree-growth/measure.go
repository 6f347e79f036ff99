package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pedigreeml/pedigree/client"
	"github.com/pedigreeml/pedigree/internal/serverproc"
	"github.com/pedigreeml/pedigree/registry"
)

// growthPolicy is the policy of the mixes: the module of mixer's BenchmarkMixVsBareQuery (limits on
// the synthetic share, each model's share and the generation; an include on toxicity and length),
// so that the figures compare with that benchmark's.
const (
	growthPolicy = "growth"
	policyModule = "package pedigree.mix\n\nlimits := {\"max_synthetic_ratio\": 0.5, \"max_model_share\": 0.3, \"max_generation\": 3}\n\ninclude if {\n\tinput.sample.toxicity <= 0.5\n\tinput.sample.tokens >= 10\n}\n"
)

// restInFlight is how many REST batches are in flight at once.
const restInFlight = 2

// measurer grows one registry and measures it at each size.
type measurer struct {
	o       *options
	be      backend
	dataDir string
	gen     *generator
	log     io.Writer
	stored  int // samples the registry holds, as this command stored them
}

// step grows the registry to size and measures it there.
func (m *measurer) step(ctx context.Context, size int) (row, error) {
	r := row{Store: m.o.store(), Samples: size}
	fmt.Fprintf(m.log, "filling the registry to %d samples in process ...\n", size)
	f, err := m.gen.fill(ctx, m.be, size, m.log)
	if err != nil {
		return r, fmt.Errorf("fill: %w", err)
	}
	m.stored = size
	r.FillAdded, r.FillSeconds = f.added, f.elapsed.Seconds()
	if err := m.be.afterFill(ctx); err != nil {
		return r, err
	}

	// The first start checks the whole log when the fill added more than a quarter of it (a growth
	// of 10× does); the restart checks from the watermark that check wrote, as every later start of
	// a registry does.
	srv, err := serverproc.Start(ctx, m.o.registryd, m.dataDir, m.serveArgs(), m.o.timeout)
	if err != nil {
		return r, fmt.Errorf("start-up: %w", err)
	}
	r.StartupSeconds = srv.Startup.Seconds()
	if err := srv.Stop(); err != nil {
		return r, err
	}
	if srv, err = serverproc.Start(ctx, m.o.registryd, m.dataDir, m.serveArgs(), m.o.timeout); err != nil {
		return r, fmt.Errorf("restart: %w", err)
	}
	defer srv.Stop()
	r.RestartSeconds = srv.Startup.Seconds()
	fmt.Fprintf(m.log, "registryd started in %.2fs, restarted in %.2fs (pid %d, %s)\n", r.StartupSeconds, r.RestartSeconds, srv.PID, srv.URL)

	c := client.New(srv.URL, srv.Key, client.WithHTTPClient(serverproc.LoopbackClient))
	if err := m.measureServer(ctx, c, srv.PID, &r); err != nil {
		return r, err
	}
	if err := srv.Stop(); err != nil {
		return r, err
	}
	bytesOnDisk, n, err := m.be.footprint(ctx)
	if err != nil {
		return r, fmt.Errorf("bytes on disk: %w", err)
	}
	if int(n) != m.stored {
		return r, fmt.Errorf("the registry holds %d samples, but %d were stored", n, m.stored)
	}
	r.StoredAfter, r.BytesPerSample = int(n), float64(bytesOnDisk)/float64(n)
	return r, nil
}

func (m *measurer) serveArgs() []string { return append(m.be.serveArgs(), m.o.serveArgs...) }

// measureServer runs the REST measurements against a started server, in order: mix, export and
// lineage on the registry as filled (so that the mix is half of the size measured), then the REST
// ingest, which adds its samples to the registry.
func (m *measurer) measureServer(ctx context.Context, c *client.Client, pid int, r *row) error {
	if err := m.bounded(ctx, func(ctx context.Context) error {
		_, _, err := c.PutPolicy(ctx, growthPolicy, policyModule)
		return err
	}); err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	r.MixRequested = m.stored / 2
	fmt.Fprintf(m.log, "mix of %d ...\n", r.MixRequested)
	mix, err := m.buildMix(ctx, c, pid, r)
	if err != nil {
		return fmt.Errorf("mix: %w", err)
	}
	fmt.Fprintf(m.log, "mix of %d in %.1fs (server peak RSS %.0f MiB)\n", mix.Size, r.MixSeconds, r.MixPeakRSSMiB)
	fmt.Fprintf(m.log, "lineage: %d requests ...\n", m.o.lineage)
	if err := m.lineage(ctx, c, r); err != nil {
		return fmt.Errorf("lineage: %w", err)
	}
	fmt.Fprintf(m.log, "lineage p50 %.2f ms, p99 %.2f ms\n", r.LineageP50ms, r.LineageP99ms)

	bodies, err := m.gen.restBodies(m.o.batches, m.o.batchSize)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.log, "REST ingest: %d batches of %d ...\n", m.o.batches, m.o.batchSize)
	if r.RESTSamplesPerSec, err = m.ingestREST(ctx, c, bodies); err != nil {
		return fmt.Errorf("REST ingest: %w", err)
	}
	fmt.Fprintf(m.log, "REST ingest %.0f samples/s\n", r.RESTSamplesPerSec)
	// The export comes last: it is the longest step, and a run stopped during it keeps the rest.
	fmt.Fprintf(m.log, "export of %d ...\n", mix.Size)
	if err := m.export(ctx, c, mix, r); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	fmt.Fprintf(m.log, "export %.0f samples/s\n", r.ExportSamplesPerSec)
	m.stored += m.o.restSamples()
	return nil
}

// bounded runs fn with a context bounded by --timeout.
func (m *measurer) bounded(ctx context.Context, fn func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, m.o.timeout)
	defer cancel()
	return fn(ctx)
}

// ingestREST posts the bodies to the batch endpoint, restInFlight at a time, and returns samples/s.
func (m *measurer) ingestREST(ctx context.Context, c *client.Client, bodies [][]byte) (float64, error) {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(restInFlight)
	start := time.Now()
	for _, body := range bodies {
		g.Go(func() error {
			return m.bounded(gctx, func(ctx context.Context) error {
				status, _, err := c.Do(ctx, client.Request{Method: http.MethodPost, Path: "/v1/samples/batch", Body: body})
				if err == nil && status != http.StatusCreated {
					err = fmt.Errorf("status %d, want 201", status)
				}
				return err
			})
		})
	}
	if err := g.Wait(); err != nil {
		return 0, err
	}
	return float64(m.o.restSamples()) / time.Since(start).Seconds(), nil
}

// buildMix builds a mix of half the registry and records its time and the server's peak RSS
// during the build.
func (m *measurer) buildMix(ctx context.Context, c *client.Client, pid int, r *row) (*registry.Mix, error) {
	rss := true
	if err := resetPeakRSS(pid); err != nil {
		fmt.Fprintf(m.log, "peak RSS not measured: %v\n", err)
		rss = false
	}
	var mix *registry.Mix
	start := time.Now()
	err := m.bounded(ctx, func(ctx context.Context) error {
		var err error
		mix, err = c.CreateMix(ctx, registry.MixRequest{Policy: growthPolicy, Size: r.MixRequested, Seed: 1}, "")
		return err
	})
	if err != nil {
		return nil, err
	}
	r.MixSeconds = time.Since(start).Seconds()
	r.MixSize = mix.Size
	r.MixPeakRSSMiB = math.NaN()
	if rss {
		peak, err := peakRSS(pid)
		if err != nil {
			return nil, fmt.Errorf("peak RSS: %w", err)
		}
		r.MixPeakRSSMiB = float64(peak) / (1 << 20)
	}
	if mix.Size != r.MixRequested {
		fmt.Fprintf(m.log, "the mix holds %d samples, not the %d asked for\n", mix.Size, r.MixRequested)
	}
	return mix, nil
}

// export reads the mix's JSON Lines export, whole or its first --export-limit samples, and records
// samples/s and MB/s.
func (m *measurer) export(ctx context.Context, c *client.Client, mix *registry.Mix, r *row) error {
	want := int64(mix.Size)
	if m.o.exportLimit > 0 {
		want = min(want, int64(m.o.exportLimit))
	}
	var lines, n int64
	start := time.Now()
	err := m.bounded(ctx, func(ctx context.Context) error {
		body, err := c.ExportMixFormat(ctx, mix.ID, "jsonl")
		if err != nil {
			return err
		}
		defer body.Close()
		lines, n, err = readLines(body, want)
		return err
	})
	if err != nil {
		return err
	}
	elapsed := time.Since(start).Seconds()
	if lines != want {
		return fmt.Errorf("%d lines for a mix of %d samples", lines, mix.Size)
	}
	r.ExportSamplesPerSec, r.ExportMBPerSec = float64(lines)/elapsed, float64(n)/1e6/elapsed
	return nil
}

// readLines reads r up to its want-th line, or to its end, and returns the lines and bytes read
// (the want-th line's newline included).
func readLines(r io.Reader, want int64) (lines, n int64, err error) {
	buf := make([]byte, 256<<10)
	for lines < want {
		k, err := r.Read(buf)
		chunk := buf[:k]
		for len(chunk) > 0 && lines < want {
			i := bytes.IndexByte(chunk, '\n')
			if i < 0 {
				n += int64(len(chunk))
				break
			}
			n += int64(i + 1)
			lines++
			chunk = chunk[i+1:]
		}
		if err == io.EOF {
			return lines, n, nil
		}
		if err != nil {
			return lines, n, err
		}
	}
	return lines, n, nil
}

// lineage walks the ancestry of chain tips (10 deep), one request at a time, and records p50 and
// p99. Each answer must hold the whole chain.
func (m *measurer) lineage(ctx context.Context, c *client.Client, r *row) error {
	tips, err := m.gen.lineageTips(m.o.lineage)
	if err != nil {
		return err
	}
	lat := make([]time.Duration, 0, len(tips))
	for _, id := range tips {
		start := time.Now()
		var l *registry.Lineage
		err := m.bounded(ctx, func(ctx context.Context) error {
			var err error
			l, err = c.Lineage(ctx, id, "ancestors", chainLen-1)
			return err
		})
		if err != nil {
			return err
		}
		lat = append(lat, time.Since(start))
		if len(l.Nodes) != chainLen || l.Truncated {
			return fmt.Errorf("the ancestry of chain tip %s has %d nodes (truncated %v), want %d", id, len(l.Nodes), l.Truncated, chainLen)
		}
	}
	slices.Sort(lat)
	r.LineageP50ms, r.LineageP99ms = ms(percentile(lat, 50)), ms(percentile(lat, 99))
	return nil
}

// percentile is the nearest-rank percentile p of sorted durations.
func percentile(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p+99)/100 - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
