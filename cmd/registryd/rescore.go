package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/pedigreeml/pedigree/client"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// rescoreUsage is what `registryd rescore --help` prints before the flags.
const rescoreUsage = `usage: registryd rescore [--server URL] --key ADMIN_KEY [--limit 100] [--after INDEX] [--only-null] [--dry-run]

Re-scores stored samples with the server's current toxicity scorer (its --toxicity-scorer): those
whose toxicity is null (an HTTP scorer was down under --toxicity-on-error=null) or, unless
--only-null, that another scorer or metrics version scored. It asks POST /v1/admin/rescore for one
page after another until none remain. Each new score is a new record in the log; samples keep their
proofs. Every page is committed as it goes: after an interruption, run the command again (or pass
--after with the index it printed) to go on. --dry-run only counts.

`

// rescoreCommand loops over POST /v1/admin/rescore until no candidate remains, printing the totals
// as JSON.
func rescoreCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var server, key string
	var limit int
	var after int64
	var onlyNull, dryRun bool
	f := newFlags("rescore", getenv, stderr)
	f.string(&server, "server", "http://127.0.0.1:8080", "the registry's URL")
	f.string(&key, "key", "", "an API key with the admin role")
	f.IntVar(&limit, "limit", registry.DefaultRescoreLimit, fmt.Sprintf("samples per request (1 to %d)", registry.MaxRescoreLimit))
	f.Int64Var(&after, "after", -1, "start after this log index (the next_after an interrupted run printed); -1 starts at the beginning")
	f.BoolVar(&onlyNull, "only-null", false, "re-score only samples whose toxicity is null")
	f.BoolVar(&dryRun, "dry-run", false, "count the samples that would be re-scored, and write nothing")
	f.Usage = func() {
		fmt.Fprint(stderr, rescoreUsage)
		f.PrintDefaults()
	}
	if err := f.parse(args); err != nil {
		if ue, ok := err.(*usageError); ok {
			return &usageError{ue.msg + "\n" + strings.TrimSpace(strings.SplitN(rescoreUsage, "\n", 2)[0])}
		}
		return err
	}
	if key == "" {
		return &usageError{"--key (or REGISTRYD_KEY) is required: an API key with the admin role"}
	}
	if limit < 1 || limit > registry.MaxRescoreLimit {
		return &usageError{fmt.Sprintf("--limit must be from 1 to %d", registry.MaxRescoreLimit)}
	}
	if after < -1 {
		return &usageError{"--after must be a log index, or -1 to start at the beginning"}
	}
	c := client.New(server, key)
	req := func(n int, dry bool) registry.RescoreRequest {
		r := registry.RescoreRequest{Limit: n, DryRun: dry, OnlyNull: onlyNull}
		if after >= 0 {
			r.After = &after
		}
		return r
	}
	// A dry run of one counts what is left: its candidate and those remaining after it.
	count, err := c.Rescore(ctx, req(1, true))
	if err != nil {
		return err
	}
	total := count.Candidates + count.Remaining
	summary := struct {
		Candidates int    `json:"candidates"`
		Rescored   int    `json:"rescored"`
		Skipped    int    `json:"skipped"`
		NextAfter  int64  `json:"next_after"`
		Scorer     string `json:"toxicity_scorer"`
		Version    string `json:"metrics_version"`
		DryRun     bool   `json:"dry_run"`
	}{Candidates: total, NextAfter: after, Scorer: count.Scorer, Version: count.Version, DryRun: dryRun}
	if dryRun || total == 0 {
		return printJSON(stdout, summary)
	}
	summary.Candidates = 0
	var bar *progressbar.ProgressBar
	if fd, ok := stderr.(*os.File); ok && term.IsTerminal(int(fd.Fd())) {
		bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription("re-scoring"),
			progressbar.OptionShowCount(), progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(stderr) }))
		defer bar.Finish()
	}
	for {
		res, err := c.Rescore(ctx, req(limit, false))
		if err != nil {
			if after >= 0 {
				fmt.Fprintf(stderr, "stopped; %d re-scored so far; go on with --after %d\n", summary.Rescored, after)
			}
			return err
		}
		summary.Candidates += res.Candidates
		summary.Rescored += res.Rescored
		summary.Skipped += res.Skipped
		summary.NextAfter, after = res.NextAfter, res.NextAfter
		if bar != nil {
			_ = bar.Add(res.Candidates)
		}
		if res.Remaining == 0 || res.Candidates == 0 {
			break
		}
	}
	return printJSON(stdout, summary)
}
