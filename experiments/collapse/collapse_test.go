package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tinyConfig is a small run: a few packages' doc comments, a few hundred paragraphs, three
// generations. It takes seconds.
func tinyConfig(t *testing.T, conds ...string) config {
	t.Helper()
	root, err := goEnvGOROOT()
	if err != nil {
		t.Skip("no go command to find GOROOT:", err)
	}
	return config{Seed: 1, Train: 150, Heldout: 120, Gens: 3, K: 3, Temperature: 1, MaxTokens: 80,
		Conditions: conds, GoRoot: root, Dirs: []string{"strings", "bytes", "fmt", "io", "os", "net/http", "time", "sync", "sort"},
		DataDir: t.TempDir(), Jobs: 2}
}

func lastRows(res *result) map[string]row {
	out := map[string]row{}
	for _, r := range res.Rows {
		out[r.Condition] = r
	}
	return out
}

// TestDirections runs a tiny experiment through a real registry and checks the directions the
// papers report: replacing the data with the previous generation's output degrades held-out
// perplexity and loses the tails faster than accumulating it (Shumailov et al. 2024; Gerstgrasser
// et al. 2024); the default policy stops the recursion at its generation cap; best-of-k selection
// by MTLD raises the MTLD of what the next generations write (Shimabucoro et al. 2024).
func TestDirections(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a small experiment")
	}
	cfg := tinyConfig(t, allConditions...)
	res, err := runExperiment(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != len(allConditions)*(cfg.Gens+1) {
		t.Fatalf("%d rows; want %d", len(res.Rows), len(allConditions)*(cfg.Gens+1))
	}
	for _, r := range res.Rows {
		// The generations come from the registry: a model trained on a mix is one generation past
		// the deepest sample in it, its answers one past the model.
		if r.OutGen != r.ModelGeneration+1 {
			t.Errorf("%s gen %d: answers of generation %d from a model of generation %d", r.Condition, r.Gen, r.OutGen, r.ModelGeneration)
		}
		if r.Condition != condDefault && r.ModelGeneration != r.Gen {
			t.Errorf("%s gen %d: the registry says the model is of generation %d", r.Condition, r.Gen, r.ModelGeneration)
		}
		// Accumulate and default name their base model, and their policies accumulate: the
		// registry keeps every human paragraph the base model was trained on.
		if (r.Condition == condAccumulate || r.Condition == condDefault) && r.Gen > 0 && (r.BaseKept != cfg.Train || r.BaseDropped != 0) {
			t.Errorf("%s gen %d: the registry kept %d and dropped %d of the base model's %d human paragraphs",
				r.Condition, r.Gen, r.BaseKept, r.BaseDropped, cfg.Train)
		}
		if r.Condition == condDefault && (r.ModelGeneration > 2 || r.MixMaxGen > 2) {
			t.Errorf("default gen %d: model of generation %d trained on samples up to generation %d; the default policy's cap is 2",
				r.Gen, r.ModelGeneration, r.MixMaxGen)
		}
	}
	last := lastRows(res)
	base := res.Rows[0]
	rep, acc, def := last[condReplace], last[condAccumulate], last[condDefault]
	t.Logf("gen 0: perplexity %.1f; after %d generations: replace %.1f (tails %.3f), accumulate %.1f (tails %.3f), default %.1f (tails %.3f)",
		base.Perplexity, cfg.Gens, rep.Perplexity, rep.Bigram, acc.Perplexity, acc.Bigram, def.Perplexity, def.Bigram)
	if !(rep.Perplexity > base.Perplexity) || !(rep.Bigram < base.Bigram) {
		t.Errorf("replace did not degrade: perplexity %.1f → %.1f, tail bigrams %.3f → %.3f", base.Perplexity, rep.Perplexity, base.Bigram, rep.Bigram)
	}
	if !(rep.Perplexity-base.Perplexity > 2*(acc.Perplexity-base.Perplexity)) {
		t.Errorf("replace's perplexity rose by %.1f, accumulate's by %.1f; replace must degrade faster", rep.Perplexity-base.Perplexity, acc.Perplexity-base.Perplexity)
	}
	if !(rep.Bigram < acc.Bigram) || !(rep.TailPerplexity > acc.TailPerplexity) {
		t.Errorf("tails: replace keeps %.3f (tail perplexity %.0f), accumulate %.3f (%.0f); replace must lose more", rep.Bigram, rep.TailPerplexity, acc.Bigram, acc.TailPerplexity)
	}
	if !(def.Perplexity < rep.Perplexity) {
		t.Errorf("default policy's perplexity %.1f, replace's %.1f", def.Perplexity, rep.Perplexity)
	}
	sel, rnd := last[condSelectMTLD], last[condSelectRandom]
	if !(sel.OutMTLD > rnd.OutMTLD) || !(sel.MixMTLD > rnd.MixMTLD) {
		t.Errorf("best-of-k by MTLD: answers' MTLD %.1f (mix %.1f); random: %.1f (mix %.1f)", sel.OutMTLD, sel.MixMTLD, rnd.OutMTLD, rnd.MixMTLD)
	}
}

// TestRunWritesResults runs the command on a tiny configuration and checks what it writes.
func TestRunWritesResults(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a small experiment")
	}
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	args := []string{"--train", "60", "--heldout", "30", "--gens", "1", "--conditions", "replace,accumulate",
		"--dirs", "strings,bytes", "--data-dir", t.TempDir(), "--out", out}
	if err := run(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "| replace | 1 |") || !strings.Contains(stdout.String(), "| accumulate | 1 |") {
		t.Errorf("the table has no generation-1 rows:\n%s", stdout.String())
	}
	for _, f := range []string{"results.json", "results.md", "perplexity.png", "tails.png", "tail_perplexity.png", "mtld.png", "lengths.png"} {
		b, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(f, ".png") && !bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Errorf("%s is not a PNG", f)
		}
	}

	// --replot redraws the figures and the table from results.json alone.
	for _, f := range []string{"results.md", "perplexity.png"} {
		if err := os.Remove(filepath.Join(out, f)); err != nil {
			t.Fatal(err)
		}
	}
	if err := run(context.Background(), []string{"--replot", out}, &stdout, &stderr); err != nil {
		t.Fatalf("replot: %v", err)
	}
	md, err := os.ReadFile(filepath.Join(out, "results.md"))
	if err != nil || !strings.Contains(string(md), "| accumulate | 1 |") || !strings.Contains(string(md), "--train 60") {
		t.Errorf("replotted results.md (%v):\n%s", err, md)
	}
	if _, err := os.Stat(filepath.Join(out, "perplexity.png")); err != nil {
		t.Error(err)
	}
}

// TestRunRefusesBadFlags checks that a bad configuration is refused before anything runs.
func TestRunRefusesBadFlags(t *testing.T) {
	for name, args := range map[string][]string{
		"UnknownDirection": {"--conditions", "replace,recycle"},
		"NoDirection":      {"--conditions", ","},
		"KOfOne":           {"--k", "1"},
		"ZeroTemperature":  {"--temperature", "0"},
		"NoGenerations":    {"--gens", "0"},
		"DefaultTooSmall":  {"--train", "50", "--conditions", "default"},
		"StrayArgument":    {"extra"},
		"UnknownFlag":      {"--generations", "3"},
		"ReplotNothing":    {"--replot", "testdata-that-does-not-exist"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			var stdout, stderr bytes.Buffer
			if err := run(context.Background(), append(args, "--data-dir", dir), &stdout, &stderr); err == nil {
				t.Fatal("accepted")
			}
			if entries, _ := os.ReadDir(dir); len(entries) > 0 {
				t.Errorf("a refused run left %d files in its data directory", len(entries))
			}
		})
	}
}
