// Command collapse runs the model-collapse experiment through a Pedigree registry: a small
// generative language model (an interpolated Kneser–Ney word trigram model) is trained on the Go
// standard library's doc comments, generation after generation, each generation on a mix the
// registry builds from human text and earlier generations' output, under four directions: replace,
// accumulate, the default policy, and best-of-k selection by MTLD against random selection. See
// README.md beside this file.
//
// Usage:
//
//	go run ./experiments/collapse [flags]
//
// Run with -h for the flags.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "collapse:", err)
		}
		os.Exit(1)
	}
}

// run parses the flags, runs the experiment and writes its results.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("collapse", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	var conds, dirs, out string
	var keep bool
	var replot string
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the corpus draw, the models' sampling and the mixes")
	fs.IntVar(&cfg.Train, "train", 2000, "human training paragraphs; also the answers each generation writes")
	fs.IntVar(&cfg.Heldout, "heldout", 1000, "held-out human paragraphs the models are evaluated on")
	fs.IntVar(&cfg.Gens, "gens", 8, "generations after generation 0")
	fs.IntVar(&cfg.K, "k", 4, "answers per prompt in the selection directions (best of k)")
	fs.Float64Var(&cfg.Temperature, "temperature", 1, "sampling temperature (1 samples the model's distribution exactly)")
	fs.IntVar(&cfg.MaxTokens, "max-tokens", 120, "longest answer, in words")
	fs.StringVar(&conds, "conditions", strings.Join(allConditions, ","), "directions to run, comma-separated")
	fs.StringVar(&cfg.GoRoot, "goroot", "", "Go installation whose doc comments are the human corpus (default: go env GOROOT)")
	fs.StringVar(&dirs, "dirs", "", "comma-separated directories under GOROOT/src to read (default: all of src)")
	fs.StringVar(&cfg.DataDir, "data-dir", "", "directory for the registry (default: a temporary one, removed at the end)")
	fs.BoolVar(&keep, "keep", false, "keep the temporary registry directory")
	fs.IntVar(&cfg.Jobs, "jobs", 2, "directions run at once")
	fs.StringVar(&out, "out", "", "directory for results.json, results.md and the plots (default: print the table only)")
	fs.StringVar(&replot, "replot", "", "redraw results.md and the plots in this directory from its results.json, and run nothing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if replot != "" {
		return redraw(replot)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	cfg.Conditions = splitList(conds)
	cfg.Dirs = splitList(dirs)
	if err := cfg.check(); err != nil {
		return err
	}
	if cfg.GoRoot == "" {
		r, err := goEnvGOROOT()
		if err != nil {
			return err
		}
		cfg.GoRoot = r
	}
	if cfg.DataDir == "" {
		d, err := os.MkdirTemp("", "pedigree-collapse-")
		if err != nil {
			return err
		}
		if keep {
			fmt.Fprintln(stderr, "registry data in", d)
		} else {
			defer os.RemoveAll(d)
		}
		cfg.DataDir = d
	}
	cfg.Log = stderr
	res, err := runExperiment(ctx, cfg)
	if err != nil {
		return err
	}
	table := markdownTable(res)
	fmt.Fprint(stdout, table)
	fmt.Fprintf(stdout, "\n%s\n", res.summary())
	if out == "" {
		return nil
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "results.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "results.md"), []byte(res.header()+"\n"+table), 0o644); err != nil {
		return err
	}
	return writePlots(res, out)
}

// redraw rewrites results.md and the plots of dir from its results.json.
func redraw(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		return err
	}
	var res result
	if err := json.Unmarshal(b, &res); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(dir, "results.json"), err)
	}
	if len(res.Rows) == 0 || len(res.Config.Conditions) == 0 {
		return fmt.Errorf("%s holds no results", filepath.Join(dir, "results.json"))
	}
	if err := os.WriteFile(filepath.Join(dir, "results.md"), []byte(res.header()+"\n"+markdownTable(&res)), 0o644); err != nil {
		return err
	}
	return writePlots(&res, dir)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// check refuses a configuration the experiment cannot run.
func (c *config) check() error {
	switch {
	case c.Train < 10 || c.Heldout < 10:
		return errors.New("--train and --heldout must be at least 10")
	case c.Gens < 1:
		return errors.New("--gens must be at least 1")
	case c.K < 2:
		return errors.New("--k must be at least 2")
	case !(c.Temperature > 0 && c.Temperature <= 10):
		return errors.New("--temperature must be above 0 and at most 10")
	case c.MaxTokens < 1:
		return errors.New("--max-tokens must be at least 1")
	case len(c.Conditions) == 0:
		return errors.New("--conditions names no direction")
	}
	for _, cond := range c.Conditions {
		if cond == condDefault && c.Train < 100 {
			return errors.New("the default direction needs --train of at least 100: the default policy's min_human_samples")
		}
		known := false
		for _, a := range allConditions {
			known = known || a == cond
		}
		if !known {
			return fmt.Errorf("unknown direction %q; the directions are %s", cond, strings.Join(allConditions, ", "))
		}
	}
	return nil
}
