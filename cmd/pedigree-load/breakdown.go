package main

import (
	"bufio"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
)

// A stage is a share of the server's CPU: the samples whose stack holds one of its frames.
type stage struct {
	name     string
	patterns []string
}

// owners claim a whole stack when any of its frames matches: work that is not the request's.
var owners = []stage{
	{"GC (background mark and sweep)", []string{"runtime.gcBgMarkWorker", "runtime.bgsweep", "runtime.bgscavenge"}},
	{"background audit (not the request)", []string{"main.(*auditLoop)"}},
	{"checkpoint signing", []string{"ledger.(*Log).Checkpoint"}},
}

// stages claim a stack by its innermost matching frame, so that for example the SQL of the duplicate
// probes is not counted as the service's. Patterns name the call sites of the ingest path as they
// are today: when a function is renamed or moves, its time falls to an enclosing stage (or to
// "other"), so a stage that grows or empties after a refactoring is the sign to update this list.
var stages = []stage{
	{"SQL: commit (WAL writes, checkpoints)", []string{"database/sql.(*Tx).Commit"}},
	{"SQL: insert sample rows", []string{"sqlstore.insertRows"}},
	{"SQL: insert edges", []string{"sqlstore.writeEdges"}},
	{"log: build leaves (leaves.Sample)", []string{"registry.SampleLeaf"}},
	{"log: leaf rows and stored hashes", []string{"sqlstore.(*logWriter)"}},
	{"SQL: duplicate and provenance probes", []string{"LookupIdentities", "LookupModelNorms", "LookupExternal"}},
	{"near-duplicate probes (before the write)", []string{"sqlstore.(*Store).NearCandidates"}},
	{"normalizing and sketching texts", []string{"registry.(*Sample).PrepareDedup"}},
	{"SQL: best-of-k ranks, read-back", []string{"sqlstore.rank", "ReadSamples", "sqlstore.(*batchTx).Rank"}},
	{"SQL: rest of the write transaction", []string{"sqlstore.(*Store).write", "sqlstore.(*Store).tx"}},
	{"scoring (tokenizer, MTLD, toxicity)", []string{"pedigree/metrics."}},
	{"validation", []string{"registry.validateBatch", "NewSample).Validate"}},
	{"ids and SHA-256 (buildSample)", []string{"registry.buildSample"}},
	{"resolve references", []string{"registry.(*Service).resolve"}},
	{"rest of Service.Ingest", []string{"registry.(*Service).ingest"}},
	{"JSON decode of the request (strict)", []string{"api.decodeStrict"}},
	{"JSON encode of the response", []string{"echo/v4.(*context).JSON"}},
	{"HTTP and API middleware (body, auth, metrics)", []string{"pedigree/api.", "net/http."}},
}

const otherStage = "other (runtime, kernel, idle threads)"

// share is one line of a breakdown.
type share struct {
	name    string
	cpuNs   int64
	samples int
}

// breakdown reads `perf script` output and returns the CPU time of each stage, in the order of
// owners then stages then other, and the total.
func breakdown(r io.Reader) ([]share, int64, error) {
	names := []string{}
	for _, s := range owners {
		names = append(names, s.name)
	}
	for _, s := range stages {
		names = append(names, s.name)
	}
	names = append(names, otherStage)
	by := map[string]*share{}
	out := make([]share, len(names))
	for i, n := range names {
		out[i].name = n
		by[n] = &out[i]
	}
	var total int64
	var period int64
	var frames []string
	flush := func() {
		if period == 0 {
			return
		}
		sh := by[classify(frames)]
		sh.cpuNs += period
		sh.samples++
		total += period
		period, frames = 0, frames[:0]
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "":
			flush()
		case line[0] != ' ' && line[0] != '\t':
			flush()
			period = headerPeriod(line)
		default:
			// "\t addr symbol+0xoff (dso)"
			f := strings.Fields(line)
			if len(f) >= 2 {
				frames = append(frames, f[1])
			}
		}
	}
	flush()
	return out, total, sc.Err()
}

// headerPeriod returns the period (ns of cpu-clock) of a sample's header line, "comm pid time: period
// event:", or 1 when it has none.
func headerPeriod(line string) int64 {
	f := strings.Fields(line)
	for i := 1; i < len(f); i++ {
		if strings.HasPrefix(f[i], "cpu-clock") || strings.HasPrefix(f[i], "cycles") || strings.HasPrefix(f[i], "task-clock") {
			if n, err := strconv.ParseInt(f[i-1], 10, 64); err == nil && n > 0 {
				return n
			}
		}
	}
	return 1
}

// classify names the stage of a stack, frames leaf first.
func classify(frames []string) string {
	for _, s := range owners {
		for _, f := range frames {
			if matches(f, s.patterns) {
				return s.name
			}
		}
	}
	for _, f := range frames {
		for _, s := range stages {
			if matches(f, s.patterns) {
				return s.name
			}
		}
	}
	return otherStage
}

func matches(frame string, patterns []string) bool {
	for _, p := range patterns {
		if strings.Contains(frame, p) {
			return true
		}
	}
	return false
}

// printBreakdown runs perf script on the recorded profiles and prints each stage's share of the
// server's CPU and its CPU time per 1,000 samples ingested.
func printBreakdown(w io.Writer, paths []string, ingested int, wall float64) error {
	var shares []share
	var total int64
	for _, path := range paths {
		cmd := exec.Command("perf", "script", "-i", path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			return err
		}
		if err := cmd.Start(); err != nil {
			return err
		}
		sh, t, err := breakdown(out)
		if werr := cmd.Wait(); err == nil {
			err = werr
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if shares == nil {
			shares = sh
		} else {
			for i := range sh {
				shares[i].cpuNs += sh[i].cpuNs
				shares[i].samples += sh[i].samples
			}
		}
		total += t
	}
	if total == 0 {
		return fmt.Errorf("no samples in %s", strings.Join(paths, ", "))
	}
	fmt.Fprintf(w, "server CPU during the REST batches: %.2f s in %.2f s of wall time on %d cores (%.0f%% busy), %d samples (perf script -i %s…)\n",
		float64(total)/1e9, wall, runtime.NumCPU(), 100*float64(total)/1e9/wall/float64(runtime.NumCPU()), ingested, paths[0])
	fmt.Fprintf(w, "%-48s %7s %16s\n", "stage", "CPU %", "CPU ms / 1,000")
	for _, s := range shares {
		if s.samples == 0 {
			continue
		}
		fmt.Fprintf(w, "%-48s %6.1f%% %16.1f\n", s.name, 100*float64(s.cpuNs)/float64(total), float64(s.cpuNs)/1e6/float64(ingested)*1000)
	}
	return nil
}
