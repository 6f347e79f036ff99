package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/pedigreeml/pedigree/client"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Batching limits of "registryd ingest": the server takes at most 10,000 samples a batch.
const (
	ingestBatchSamples = 1000
	ingestBatchBytes   = 32 << 20
)

// ingestCommand streams a JSON Lines file of samples to the server in batches. Each batch carries an
// Idempotency-Key derived from its bytes, so running the command again after an interruption replays
// ingestUsage is what `registryd ingest --help` prints before the flags.
const ingestUsage = `usage: registryd ingest FILE.jsonl [--server URL] --key KEY [--batch 1000] [--ids-out FILE]

Streams a JSON Lines file to the registry in batches: one sample a line, as POST /v1/samples takes
it (blank lines are skipped), for example
  {"text": "…", "origin": "human", "dataset": "essays", "external_id": "e-1",
   "source": {"kind": "public_dataset", "name": "…", "uri": "…", "license": "CC-BY-4.0"}}
  {"text": "…", "origin": "model", "model": "teacher@1",
   "prompt_id": {"dataset": "prompts", "external_id": "q-1"}, "metadata": {"temperature": 0.7}}
Each batch carries an idempotency key derived from its bytes: running the command again resumes, and
writes nothing twice. Name earlier lines by external_id (an "item" counts within one request).
Flags may come before or after the file.

`

// the batches already done (nothing is written twice, nothing is scored again) and sends the rest.
func ingestCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var server, key, idsOut string
	var batchSize int
	f := newFlags("ingest", getenv, stderr)
	f.string(&server, "server", "http://127.0.0.1:8080", "the registry's URL")
	f.string(&key, "key", "", "an API key with the ingest role")
	f.IntVar(&batchSize, "batch", ingestBatchSamples, "samples per request (1 to 10000)")
	f.string(&idsOut, "ids-out", "", `write one JSON line per input sample to this file: {"line", "external_id", "id", "duplicate"}`)
	f.Usage = func() {
		fmt.Fprint(stderr, ingestUsage)
		f.PrintDefaults()
	}
	pos, err := f.parseArgs(args, 1)
	if err != nil {
		if ue, ok := err.(*usageError); ok {
			return &usageError{ue.msg + "\n" + strings.TrimSpace(strings.SplitN(ingestUsage, "\n", 2)[0])}
		}
		return err
	}
	path := pos[0]
	if err := needKey(key); err != nil {
		return err
	}
	if batchSize < 1 || batchSize > 10000 {
		return &usageError{"--batch must be from 1 to 10000"}
	}
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	info, err := file.Stat()
	if err != nil {
		return err
	}
	var progress io.Writer = io.Discard
	if fd, ok := stderr.(*os.File); ok && term.IsTerminal(int(fd.Fd())) {
		bar := progressbar.NewOptions64(info.Size(), progressbar.OptionSetWriter(stderr), progressbar.OptionShowBytes(true),
			progressbar.OptionSetDescription("ingesting"), progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(stderr) }))
		defer bar.Finish()
		progress = bar
	}
	var ids *bufio.Writer
	if idsOut != "" {
		out, err := os.Create(idsOut)
		if err != nil {
			return err
		}
		defer out.Close()
		ids = bufio.NewWriter(out)
		defer ids.Flush()
	}
	c := client.New(server, key)
	r := bufio.NewReaderSize(io.TeeReader(file, progress), 1<<20)
	var batch bytes.Buffer
	var total, fresh, dups, batches, line, inBatch int
	var lines []int // the line of each sample of the batch
	send := func() error {
		if inBatch == 0 {
			return nil
		}
		sum := sha256.Sum256(batch.Bytes())
		res, replayed, err := c.IngestJSONLinesReplay(ctx, batch.Bytes(), "ingest-"+hex.EncodeToString(sum[:16]))
		if err != nil {
			return fmt.Errorf("batch ending at line %d: %w", line, err)
		}
		for i, s := range res {
			if s.Duplicate || replayed {
				dups++
			} else {
				fresh++
			}
			if ids != nil {
				if err := writeID(ids, lines[i], &s, replayed); err != nil {
					return err
				}
			}
		}
		lines = lines[:0]
		total += len(res)
		batches++
		batch.Reset()
		inBatch = 0
		return nil
	}
	for {
		b, err := r.ReadBytes('\n')
		if len(bytes.TrimSpace(b)) > 0 {
			line++
			if batch.Len()+len(b) > ingestBatchBytes && inBatch > 0 {
				if err := send(); err != nil {
					return err
				}
			}
			batch.Write(b)
			lines = append(lines, line)
			if b[len(b)-1] != '\n' {
				batch.WriteByte('\n')
			}
			if inBatch++; inBatch == batchSize {
				if err := send(); err != nil {
					return err
				}
			}
		} else if len(b) > 0 {
			line++
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
	}
	if err := send(); err != nil {
		return err
	}
	if ids != nil {
		if err := ids.Flush(); err != nil {
			return fmt.Errorf("--ids-out: %w", err)
		}
	}
	fmt.Fprintf(stdout, "ingested %d samples in %d batches: %d new, %d already registered\n", total, batches, fresh, dups)
	return nil
}

// idLine is one line of --ids-out: which sample an input line became.
type idLine struct {
	Line       int    `json:"line"`
	ExternalID string `json:"external_id,omitempty"`
	ID         string `json:"id"`
	Duplicate  bool   `json:"duplicate"`
}

func writeID(w io.Writer, line int, s *client.IngestedSample, replayed bool) error {
	b, err := json.Marshal(idLine{Line: line, ExternalID: s.ExternalID, ID: s.ID, Duplicate: s.Duplicate || replayed})
	if err != nil {
		return err
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("--ids-out: %w", err)
	}
	return nil
}
