package main

import (
	"fmt"
	"strings"
)

// markdownTable is one line per direction and generation.
func markdownTable(res *result) string {
	var b strings.Builder
	b.WriteString("| direction | gen | registry generation (model / answers) | mix: human + model | base model's humans kept / dropped | perplexity | tail perplexity | tail bigrams kept | tail trigrams kept | tail words kept | answers' MTLD | mix MTLD | answer length mean (p10 / p50 / p90) | distinct answers |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range res.Rows {
		base := "–"
		if r.BaseKept > 0 || r.BaseDropped > 0 {
			base = fmt.Sprintf("%d / %d", r.BaseKept, r.BaseDropped)
		}
		fmt.Fprintf(&b, "| %s | %d | %d / %d | %d + %d | %s | %.1f | %.0f | %.3f | %.3f | %.3f | %.1f | %.1f | %.1f (%d / %d / %d) | %.3f |\n",
			r.Condition, r.Gen, r.ModelGeneration, r.OutGen, r.MixHuman, r.MixSynthetic, base, r.Perplexity, r.TailPerplexity,
			r.Bigram, r.Trigram, r.Words, r.OutMTLD, r.MixMTLD, r.OutTokens, r.OutP10, r.OutP50, r.OutP90, r.OutDistinct)
	}
	return b.String()
}

// header says what was run, for results.md.
func (res *result) header() string {
	c := res.Config
	return fmt.Sprintf("# Collapse experiment results\n\n"+
		"`go run ./experiments/collapse --seed %d --train %d --heldout %d --gens %d --k %d --temperature %g --max-tokens %d --conditions %s%s`\n\n"+
		"Corpus: %s\n\nRun time: %s.\n",
		c.Seed, c.Train, c.Heldout, c.Gens, c.K, c.Temperature, c.MaxTokens, strings.Join(c.Conditions, ","), dirsFlag(c.Dirs),
		res.corpusLine(), res.Elapsed.Round(1e9))
}

func dirsFlag(dirs []string) string {
	if len(dirs) == 0 {
		return ""
	}
	return " --dirs " + strings.Join(dirs, ",")
}

func (res *result) corpusLine() string {
	k := res.Corpus
	return fmt.Sprintf("%d distinct doc-comment paragraphs in %d files of %s; %d trained on, %d held out "+
		"(%.1f %% of held-out tokens are outside the %d-word training vocabulary and left out of perplexity); "+
		"tails: %d held-out bigrams, %d trigrams and %d words that occur once or twice in the training set.",
		k.Paragraphs, k.Files, goVersion(res.Config.GoRoot), k.Train, k.Heldout, 100*k.HeldoutOOV, k.Vocab, k.TailBigrams, k.TailTrigrams, k.TailWords)
}

// summary is the last generation of each direction, side by side.
func (res *result) summary() string {
	var b strings.Builder
	b.WriteString(res.corpusLine() + "\n")
	last := map[string]row{}
	for _, r := range res.Rows {
		last[r.Condition] = r
	}
	for _, cond := range res.Config.Conditions {
		r := last[cond]
		fmt.Fprintf(&b, "%-13s after %d generations: perplexity %.1f, tail bigrams kept %.3f, answers' MTLD %.1f\n", cond, r.Gen, r.Perplexity, r.Bigram, r.OutMTLD)
	}
	fmt.Fprintf(&b, "took %s\n", res.Elapsed.Round(1e9))
	return b.String()
}
