package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pedigreeml/pedigree/client"
	"github.com/pedigreeml/pedigree/registry"
)

// The pipeline's commands: register a model, build a mix, export it. Each talks to a running
// registry with a key, as `ingest` does, and prints the record the registry answered as JSON.

// serverFlags are the flags every client command takes.
func serverFlags(f *flags, server, key *string) {
	f.string(server, "server", "http://127.0.0.1:8080", "the registry's URL")
	f.string(key, "key", "", "an API key (the ingest role may do all of this command)")
}

func needKey(key string) error {
	if key == "" {
		return &usageError{"--key (or REGISTRYD_KEY) is required: an API key with the ingest role"}
	}
	return nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// splitList reads a comma-separated flag value; empty gives none.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func modelsCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return &usageError{"usage: registryd models create --name NAME --version V [--provider P] [--declared-generation N | --trained-on MIX,…]"}
	}
	var server, key, name, ver, provider, declared, trainedOn string
	f := newFlags("models create", getenv, stderr)
	serverFlags(f, &server, &key)
	f.string(&name, "name", "", "the model's name")
	f.string(&ver, "version", "", "the model's version")
	f.string(&provider, "provider", "", "who trained it")
	f.string(&declared, "declared-generation", "", "its generation, for a model trained elsewhere (0: on human text only)")
	f.string(&trainedOn, "trained-on", "", "comma-separated ids of the registry's mixes it was trained on")
	if err := f.parse(args[1:]); err != nil {
		return err
	}
	if err := needKey(key); err != nil {
		return err
	}
	m := registry.NewModel{Name: name, Version: ver, Provider: provider, TrainedOn: splitList(trainedOn)}
	if declared != "" {
		n, err := strconv.Atoi(declared)
		if err != nil {
			return &usageError{"--declared-generation must be a whole number"}
		}
		m.DeclaredGeneration = &n
	}
	got, err := client.New(server, key).CreateModel(ctx, m, "")
	if err != nil {
		return err
	}
	return printJSON(stdout, got)
}

func mixesCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "create" {
		return mixesCreate(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "export" {
		return mixesExport(ctx, args[1:], getenv, stdout, stderr)
	}
	return &usageError{"usage: registryd mixes create --size N [flags] | registryd mixes export --mix ID [--format F] [--out FILE]"}
}

func mixesCreate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var server, key, request, policy, size, seed, bestOfK, source, datasets, ratio, base string
	var dryRun bool
	f := newFlags("mixes create", getenv, stderr)
	serverFlags(f, &server, &key)
	f.string(&request, "request", "", `a mix request as JSON (a file, or - for standard input), as POST /v1/mixes takes it; the flags below then set nothing`)
	f.string(&policy, "policy", "", "the policy, name or name@version (default: the default policy)")
	f.string(&size, "size", "", "the most samples the mix may hold")
	f.string(&seed, "seed", "0", "the seed of the draw: the same request over the same registry gives the same mix")
	f.string(&bestOfK, "best-of-k", "", "keep only each prompt's best answer by this objective: mtld, length or toxicity")
	f.string(&source, "source", "", `with --best-of-k: "multi" (one answer a prompt across models) or "single" (one a model)`)
	f.string(&datasets, "datasets", "", "comma-separated datasets to draw from (default: all)")
	f.string(&ratio, "synthetic-ratio", "", "the share of model output to take (never above the policy's cap)")
	f.string(&base, "base-model", "", "the model whose successor the mix trains (name@version); under an accumulating policy the mix keeps its training mixes' human samples")
	f.BoolVar(&dryRun, "dry-run", false, "answer the decision and the mix's summary without saving anything")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := needKey(key); err != nil {
		return err
	}
	var req registry.MixRequest
	if request != "" {
		body, err := readRequest(request)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(body, &req); err != nil {
			return &usageError{"--request: " + err.Error()}
		}
	} else {
		n, err := strconv.Atoi(size)
		if err != nil || n < 1 {
			return &usageError{"--size is required: the most samples the mix may hold"}
		}
		s, err := strconv.ParseInt(seed, 10, 64)
		if err != nil {
			return &usageError{"--seed must be a whole number"}
		}
		req = registry.MixRequest{Policy: policy, Size: n, Seed: s, Filter: registry.MixFilter{Datasets: splitList(datasets)}, BaseModel: base}
		if bestOfK != "" {
			req.Strategy = registry.MixStrategy{Name: registry.StrategyBestOfK, Objective: bestOfK, Source: source}
		}
		if ratio != "" {
			r, err := strconv.ParseFloat(ratio, 64)
			if err != nil {
				return &usageError{"--synthetic-ratio must be a number between 0 and 1"}
			}
			req.SyntheticRatio = &r
		}
	}
	c := client.New(server, key)
	if dryRun {
		got, err := c.DryRunMix(ctx, req)
		if err != nil {
			return err
		}
		return printJSON(stdout, got)
	}
	got, err := c.CreateMix(ctx, req, "")
	if err != nil {
		return refusal(stderr, err)
	}
	return printJSON(stdout, got)
}

// refusal prints a policy's violations before returning its error, so that a refused mix says why.
func refusal(stderr io.Writer, err error) error {
	if p, ok := err.(*client.Problem); ok && len(p.Violations) > 0 {
		fmt.Fprintf(stderr, "the policy refused the mix (decision %s):\n", p.DecisionID)
		for _, v := range p.Violations {
			fmt.Fprintf(stderr, "  - %s\n", v)
		}
	}
	return err
}

func readRequest(path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(path)
}

func mixesExport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var server, key, mix, format, out string
	f := newFlags("mixes export", getenv, stderr)
	serverFlags(f, &server, &key)
	f.string(&mix, "mix", "", "the mix's id")
	f.string(&format, "format", "jsonl", "jsonl, chat, parquet, card (a Hugging Face dataset card) or croissant (Croissant 1.1 JSON-LD)")
	f.string(&out, "out", "", "the file to write (written whole or not at all); default: standard output")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := needKey(key); err != nil {
		return err
	}
	if !registry.ValidID(mix) {
		return &usageError{"--mix must be a mix id"}
	}
	c := client.New(server, key)
	var body io.Reader
	switch format {
	case "card", "croissant":
		get := c.MixCard
		if format == "croissant" {
			get = c.MixCroissant
		}
		b, err := get(ctx, mix)
		if err != nil {
			return err
		}
		body = strings.NewReader(string(b))
	case "jsonl", "chat", "parquet":
		rc, err := c.ExportMixFormat(ctx, mix, format)
		if err != nil {
			return err
		}
		defer rc.Close()
		body = rc
	default:
		return &usageError{"--format must be jsonl, chat, parquet, card or croissant"}
	}
	if out == "" {
		_, err := io.Copy(stdout, body)
		return err
	}
	// Into a temporary file beside the target, renamed once the export is whole: an export the
	// registry breaks off (a failed check) leaves no file that looks complete.
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, body); err != nil {
		tmp.Close()
		return fmt.Errorf("export of mix %s cut short: %w", mix, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}
