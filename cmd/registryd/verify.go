package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pedigreeml/pedigree/client"
	"github.com/pedigreeml/pedigree/ledger"
)

// verifyCommand is the auditor's check of a registry's log, from outside: the checkpoint's signature
// under a key the auditor trusts, consistency with the last checkpoint this auditor verified (kept in
// a state file), and inclusion of chosen or sampled entries. Any failure exits non-zero.
func verifyCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var server, key, logKey, state, indexes, mixes string
	var sample int
	f := newFlags("verify", getenv, stderr)
	f.string(&server, "server", "http://127.0.0.1:8080", "the registry's URL")
	f.string(&key, "key", "", "an API key with the auditor role")
	f.string(&logKey, "log-key", "", "the log's verifier key (from GET /v1/log/key, obtained out of band), or a file holding it")
	f.string(&state, "state", "", "file keeping the last verified checkpoint (default: in the user config directory)")
	f.string(&indexes, "index", "", "comma-separated log indexes to prove included (for example records' log_index)")
	f.IntVar(&sample, "sample", 16, "also prove this many randomly chosen entries included")
	f.string(&mixes, "mix", "", "comma-separated mix ids whose exported samples to check against the manifest hash in their log entries")
	if err := f.parse(args); err != nil {
		return err
	}
	if logKey == "" {
		return &usageError{"--log-key is required: the verifier key you trust for this registry"}
	}
	if b, err := os.ReadFile(logKey); err == nil {
		logKey = strings.TrimSpace(string(b))
	}
	var chosen []int64
	for _, s := range strings.Split(indexes, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil || i < 0 {
			return &usageError{fmt.Sprintf("--index: %q is not a log index", s)}
		}
		chosen = append(chosen, i)
	}
	c := client.New(server, key)

	msg, err := c.Checkpoint(ctx)
	if err != nil {
		return fmt.Errorf("fetch checkpoint: %w", err)
	}
	origin, tree, err := ledger.OpenCheckpoint(msg, logKey)
	if err != nil {
		return fmt.Errorf("FAIL checkpoint: %w", err)
	}
	fmt.Fprintf(stdout, "ok   checkpoint %s: %d entries, root %s, signature verified\n", origin, tree.N, tree.Hash)

	if state == "" {
		dir, err := os.UserConfigDir()
		if err != nil {
			return fmt.Errorf("no --state and no user config directory: %w", err)
		}
		state = filepath.Join(dir, "pedigree", "verify-"+sanitize(origin)+".checkpoint")
	}
	if prev, err := os.ReadFile(state); err == nil {
		prevOrigin, old, err := ledger.OpenCheckpoint(prev, logKey)
		if err != nil {
			return fmt.Errorf("FAIL the saved checkpoint in %s does not verify: %w", state, err)
		}
		if prevOrigin != origin {
			return fmt.Errorf("FAIL the saved checkpoint is for %q, the server's for %q", prevOrigin, origin)
		}
		if old.N > tree.N {
			return fmt.Errorf("FAIL the log shrank from %d to %d entries since the last verified checkpoint", old.N, tree.N)
		}
		p, err := c.ConsistencyProof(ctx, old.N, tree.N)
		if err == nil {
			err = ledger.CheckConsistency(p, old, tree)
		}
		if err != nil {
			return fmt.Errorf("FAIL the log is not consistent with the checkpoint of %d entries verified before (history rewritten?): %w", old.N, err)
		}
		fmt.Fprintf(stdout, "ok   consistent with the last verified checkpoint (%d entries)\n", old.N)
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	} else {
		fmt.Fprintf(stdout, "note no earlier checkpoint in %s: trusting this one from now on\n", state)
	}

	if tree.N > 0 {
		r := rand.New(rand.NewPCG(uint64(tree.N), 0x5eed))
		for range min(int64(sample), tree.N) {
			chosen = append(chosen, r.Int64N(tree.N))
		}
	}
	for _, id := range strings.Split(mixes, ",") {
		if id = strings.TrimSpace(id); id == "" {
			continue
		}
		idx, err := verifyMix(ctx, c, id, stdout)
		if err != nil {
			return err
		}
		chosen = append(chosen, idx)
	}
	for _, i := range chosen {
		if i >= tree.N {
			return fmt.Errorf("FAIL entry %d: the log has %d entries", i, tree.N)
		}
		leaf, err := c.LogEntry(ctx, i)
		if err != nil {
			return fmt.Errorf("FAIL entry %d: %w", i, err)
		}
		p, err := c.InclusionProof(ctx, i, tree.N)
		if err == nil {
			err = ledger.CheckInclusion(p, tree, i, leaf)
		}
		if err != nil {
			return fmt.Errorf("FAIL entry %d is not proven included: %w", i, err)
		}
	}
	fmt.Fprintf(stdout, "ok   %d entries proven included\n", len(chosen))

	if err := os.MkdirAll(filepath.Dir(state), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(state, msg, 0o600); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	return nil
}

// verifyMix re-computes a mix's manifest hash from its export (each sample's id and the SHA-256 of
// its text, in order) and compares it with the hash in the mix's log entry, whose inclusion the caller
// then proves. It returns the entry's index.
func verifyMix(ctx context.Context, c *client.Client, id string, stdout io.Writer) (int64, error) {
	m, err := c.GetMix(ctx, id)
	if err != nil {
		return 0, fmt.Errorf("FAIL mix %s: %w", id, err)
	}
	leaf, err := c.LogEntry(ctx, m.LogIndex)
	if err != nil {
		return 0, fmt.Errorf("FAIL mix %s: log entry %d: %w", id, m.LogIndex, err)
	}
	rec, err := ledger.ParseLeaf(leaf)
	if err != nil || rec.Kind != ledger.KindMix || rec.ID != id {
		return 0, fmt.Errorf("FAIL mix %s: log entry %d is not this mix's (%v)", id, m.LogIndex, err)
	}
	logged := rec.Fields["manifest_sha256"]
	rc, err := c.ExportMix(ctx, id)
	if err != nil {
		return 0, fmt.Errorf("FAIL mix %s: export: %w", id, err)
	}
	defer rc.Close()
	h := sha256.New()
	dec := json.NewDecoder(rc)
	n := 0
	for {
		var line struct {
			ID   string `json:"id"`
			Text string `json:"text"`
		}
		if err := dec.Decode(&line); errors.Is(err, io.EOF) {
			break
		} else if errors.Is(err, io.ErrUnexpectedEOF) {
			// The registry breaks an export off when a sample or the manifest it reads no longer
			// matches the log (or the connection failed): either way the mix does not verify.
			return 0, fmt.Errorf("FAIL mix %s: the export broke off after %d samples: the registry refused to finish it or the connection failed", id, n)
		} else if err != nil {
			return 0, fmt.Errorf("FAIL mix %s: export line %d: %w", id, n+1, err)
		}
		sum := sha256.Sum256([]byte(line.Text))
		fmt.Fprintf(h, "%s %s\n", line.ID, hex.EncodeToString(sum[:]))
		n++
	}
	got := hex.EncodeToString(h.Sum(nil))
	if got != logged || n != m.Size {
		return 0, fmt.Errorf("FAIL mix %s: its export (%d samples) hashes to %s, its log entry says %s (%d samples): the mix's contents changed", id, n, got, logged, m.Size)
	}
	fmt.Fprintf(stdout, "ok   mix %s: %d exported samples match the manifest hash in log entry %d\n", id, n, m.LogIndex)
	return m.LogIndex, nil
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ':' {
			return '_'
		}
		return r
	}, s)
}
