package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/pedigreeml/pedigree/client"
	"github.com/pedigreeml/pedigree/registry"
	"golang.org/x/sync/errgroup"
)

// The directions compared. Each starts from the same generation-0 model, trained on the human
// training set, and its outputs.
const (
	// condReplace trains each generation only on the previous generation's outputs (Shumailov et
	// al. 2024's setting).
	condReplace = "replace"
	// condAccumulate trains each generation on the human data and every earlier generation's
	// outputs (Gerstgrasser et al. 2024).
	condAccumulate = "accumulate"
	// condDefault trains each generation on the mix the registry's default policy builds from the
	// human data and every earlier generation's outputs.
	condDefault = "default"
	// condSelectMTLD replaces, but each generation answers every prompt k times and the registry's
	// best-of-k strategy keeps the answer with the highest MTLD (Shimabucoro et al. 2024).
	condSelectMTLD = "select-mtld"
	// condSelectRandom is its control: k answers a prompt, and the mix keeps the first one drawn,
	// which, the answers being independent draws, is a uniformly random choice among the k.
	condSelectRandom = "select-random"
)

var allConditions = []string{condReplace, condAccumulate, condDefault, condSelectMTLD, condSelectRandom}

func selects(cond string) bool { return cond == condSelectMTLD || cond == condSelectRandom }

// Registry names used by the experiment.
const (
	datasetTrain     = "go-doc-train"
	datasetHeldout   = "go-doc-heldout"
	datasetPrompts   = "collapse-prompts"
	policyOpen       = "collapse-open"
	policyAccumulate = "collapse-accumulate"
	policyFirst      = "collapse-first-candidate"
)

// policyOpenModule admits everything and caps nothing: the replace and accumulate protocols are the
// papers', not a policy's, and the mix request's dataset filter says which data they take.
const policyOpenModule = `package pedigree.mix

# The collapse experiment's protocols (replace, accumulate): no cap, the request's filter decides.
limits := {"max_synthetic_ratio": 1}
`

// policyAccumulateModule caps nothing either, but has the registry enforce the accumulate
// protocol's human half: a mix request that names its base model must keep every human sample of
// that model's training mixes (the mixer refuses one that does not).
const policyAccumulateModule = `package pedigree.mix

# The collapse experiment's accumulate protocol: no cap; a successor keeps its base model's human data.
limits := {"max_synthetic_ratio": 1, "accumulate": true}
`

// policyFirstModule admits human text and the first answer drawn for each prompt: the random
// selection of the best-of-k comparison, reproducible because it does not depend on sample ids.
const policyFirstModule = `package pedigree.mix

# The collapse experiment's random selection: of the k answers to a prompt, independent draws of
# one model, the first drawn is a uniformly random one.
limits := {"max_synthetic_ratio": 1}

include if input.sample.origin == "human"

include if input.sample.metadata.candidate == 0

test_first_admitted if include with input as {"sample": {"origin": "model", "metadata": {"candidate": 0}}}

test_second_refused if not include with input as {"sample": {"origin": "model", "metadata": {"candidate": 1}}}
`

// config is the experiment's whole configuration.
type config struct {
	Seed        uint64    `json:"seed"`
	Train       int       `json:"train"` // human training paragraphs, and answers per generation
	Heldout     int       `json:"heldout"`
	Gens        int       `json:"gens"` // generations after generation 0
	K           int       `json:"k"`    // answers per prompt in the selection conditions
	Temperature float64   `json:"temperature"`
	MaxTokens   int       `json:"max_tokens"`
	Conditions  []string  `json:"conditions"`
	GoRoot      string    `json:"goroot"`
	Dirs        []string  `json:"dirs,omitempty"` // under GOROOT/src; empty for all of it
	DataDir     string    `json:"-"`              // the registry's directory
	Jobs        int       `json:"-"`              // conditions run at once
	Log         io.Writer `json:"-"`
}

// row is one generation of one condition: the registry's record of it and the measurements.
type row struct {
	Condition       string  `json:"condition"`
	Gen             int     `json:"gen"`
	Model           string  `json:"model"`
	ModelGeneration int     `json:"model_generation"` // from the registry
	Mix             string  `json:"mix"`
	MixHuman        int     `json:"mix_human"`
	MixSynthetic    int     `json:"mix_synthetic"`
	MixMaxGen       int     `json:"mix_max_generation"`
	MixDuplicates   int     `json:"mix_duplicates_removed"`
	MixMTLD         float64 `json:"mix_mtld"` // mean MTLD of the mix's samples, from the registry
	// BaseKept and BaseDropped are the registry's account of the base model's human samples in a
	// mix requested with base_model under an accumulating policy (stats.accumulated): kept, and
	// no longer admitted by the policy. Both 0 when the request names no base model.
	BaseKept    int `json:"mix_base_humans_kept"`
	BaseDropped int `json:"mix_base_humans_dropped"`
	TrainTokens int `json:"train_tokens"`
	evaluation
	outStats
}

// outStats describe a generation's answers: of each prompt, the first answer drawn (a uniformly
// random one of the k), with the registry's metrics.
type outStats struct {
	OutMTLD     float64 `json:"out_mtld"`       // mean MTLD
	OutTokens   float64 `json:"out_tokens"`     // mean length in tokens
	OutP10      int     `json:"out_p10"`        // length percentiles
	OutP50      int     `json:"out_p50"`        //
	OutP90      int     `json:"out_p90"`        //
	OutDistinct float64 `json:"out_distinct"`   // share of distinct texts
	OutGen      int     `json:"out_generation"` // the registry's generation of the answers
	OutLengths  []int   `json:"-"`
}

// result is what a run produces.
type result struct {
	Config config `json:"config"`
	Corpus struct {
		Files, Paragraphs, Train, Heldout, Vocab, TailBigrams, TailTrigrams, TailWords int
		HeldoutOOV                                                                     float64
	}
	Rows    []row
	Elapsed time.Duration
}

type experiment struct {
	cfg   config
	c     *client.Client
	vocab *vocab
	tails *tails
	// prompts are the prompt sample ids, one set for the single-answer directions and one for the
	// k-answer ones: a prompt's best-of-k group is every answer of one model to it, so generation 0's
	// single answers must not join the groups the selection directions rank.
	prompts map[int][]string
	logMu   sync.Mutex
}

func (e *experiment) logf(format string, args ...any) {
	if e.cfg.Log == nil {
		return
	}
	e.logMu.Lock()
	defer e.logMu.Unlock()
	fmt.Fprintf(e.cfg.Log, format+"\n", args...)
}

// runExperiment runs every condition for cfg.Gens generations through a registry served in
// cfg.DataDir.
func runExperiment(ctx context.Context, cfg config) (*result, error) {
	started := time.Now()
	e := &experiment{cfg: cfg}
	corp, err := loadCorpus(cfg.GoRoot, cfg.Dirs, cfg.Train, cfg.Heldout, cfg.Seed)
	if err != nil {
		return nil, err
	}
	e.logf("corpus: %d distinct paragraphs in %d files of %s/src; %d for training, %d held out", corp.Paragraphs, corp.Files, cfg.GoRoot, len(corp.Train), len(corp.Heldout))
	reg, err := startRegistry(ctx, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	defer reg.Close()
	e.c = reg.Client
	e.logf("registry: %s (data in %s)", reg.URL, cfg.DataDir)
	for name, module := range map[string]string{policyOpen: policyOpenModule, policyAccumulate: policyAccumulateModule, policyFirst: policyFirstModule} {
		if _, _, err := e.c.PutPolicy(ctx, name, module); err != nil {
			return nil, fmt.Errorf("policy %s: %w", name, err)
		}
	}
	if err := e.ingestHuman(ctx, corp); err != nil {
		return nil, err
	}

	// Generation 0: the human training set, as the registry mixes it.
	mix0, err := e.c.CreateMix(ctx, registry.MixRequest{Policy: policyOpen, Size: cfg.Train, MinSize: cfg.Train,
		Filter: registry.MixFilter{Datasets: []string{datasetTrain}}, Seed: int64(cfg.Seed)}, "")
	if err != nil {
		return nil, fmt.Errorf("generation 0 mix: %w", err)
	}
	texts, err := e.exportTexts(ctx, mix0.ID)
	if err != nil {
		return nil, err
	}
	e.vocab = newVocab(texts)
	heldout := make([]string, len(corp.Heldout))
	for i, d := range corp.Heldout {
		heldout[i] = d.Text
	}
	e.tails = newTails(e.vocab, texts, heldout)
	res := &result{Config: cfg}
	res.Corpus.Files, res.Corpus.Paragraphs, res.Corpus.Train, res.Corpus.Heldout = corp.Files, corp.Paragraphs, len(texts), len(heldout)
	res.Corpus.Vocab, res.Corpus.TailBigrams, res.Corpus.TailTrigrams, res.Corpus.TailWords = e.vocab.size()-1, len(e.tails.bigrams), len(e.tails.trigrams), len(e.tails.words)
	res.Corpus.HeldoutOOV = oov(e.tails.heldout)

	base, err := e.trainGeneration(ctx, "ngram", 0, mix0)
	if err != nil {
		return nil, err
	}
	// Generation 0's answers, once per prompt for the plain conditions and k times for the
	// selection ones, from the same model.
	var plain, selection bool
	for _, c := range cfg.Conditions {
		plain = plain || !selects(c)
		selection = selection || selects(c)
	}
	out0 := map[int]*answers{}
	if plain {
		if out0[1], err = e.answer(ctx, base, "gen0", 1); err != nil {
			return nil, err
		}
	}
	if selection {
		if out0[cfg.K], err = e.answer(ctx, base, "gen0-k", cfg.K); err != nil {
			return nil, err
		}
	}

	rows := make([][]row, len(cfg.Conditions))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(cfg.Jobs, 1))
	for i, cond := range cfg.Conditions {
		g.Go(func() error {
			k := 1
			if selects(cond) {
				k = cfg.K
			}
			r, err := e.runCondition(gctx, cond, base, out0[k], k)
			rows[i] = r
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, r := range rows {
		res.Rows = append(res.Rows, r...)
	}
	res.Elapsed = time.Since(started)
	return res, nil
}

func oov(heldout [][]int32) float64 {
	var n, unknown int
	for _, ids := range heldout {
		for _, id := range ids {
			n++
			if id < 0 {
				unknown++
			}
		}
	}
	return float64(unknown) / float64(max(n, 1))
}

// ingestHuman registers the prompts, the training set and the held-out set as human text.
func (e *experiment) ingestHuman(ctx context.Context, corp *corpus) error {
	e.prompts = map[int][]string{}
	for _, k := range []int{1, e.cfg.K} {
		prompts := make([]registry.NewSample, e.cfg.Train)
		for i := range prompts {
			text := fmt.Sprintf("Request %d of %d: write one paragraph of Go package documentation.", i+1, e.cfg.Train)
			if k > 1 {
				text = fmt.Sprintf("Request %d of %d: write one paragraph of Go package documentation, %d times.", i+1, e.cfg.Train, k)
			}
			prompts[i] = registry.NewSample{Text: &text, Origin: registry.OriginHuman, Dataset: datasetPrompts,
				ExternalID: fmt.Sprintf("k%d-p%05d", k, i), Source: &registry.Source{Kind: "other", Name: "collapse experiment prompts"}}
		}
		got, err := e.ingest(ctx, prompts)
		if err != nil {
			return fmt.Errorf("prompts: %w", err)
		}
		for _, s := range got {
			e.prompts[k] = append(e.prompts[k], s.ID)
		}
	}
	for _, set := range []struct {
		name string
		docs []doc
	}{{datasetTrain, corp.Train}, {datasetHeldout, corp.Heldout}} {
		in := make([]registry.NewSample, len(set.docs))
		for i, d := range set.docs {
			meta, _ := json.Marshal(map[string]string{"file": d.Path})
			in[i] = registry.NewSample{Text: &d.Text, Origin: registry.OriginHuman, Dataset: set.name,
				ExternalID: fmt.Sprintf("d%05d", i), Metadata: meta,
				Source: &registry.Source{Kind: "public_dataset", Name: "Go " + goVersion(e.cfg.GoRoot) + " standard library doc comments",
					URI: "https://go.dev/LICENSE", License: "BSD-3-Clause"}}
		}
		if _, err := e.ingest(ctx, in); err != nil {
			return fmt.Errorf("%s: %w", set.name, err)
		}
	}
	e.logf("ingested 2 × %d prompts, %d training and %d held-out paragraphs as human text", e.cfg.Train, len(corp.Train), len(corp.Heldout))
	return nil
}

// ingestBatch is the batch size of ingests: well under the API's limit of 10,000 samples.
const ingestBatch = 2000

func (e *experiment) ingest(ctx context.Context, samples []registry.NewSample) ([]client.IngestedSample, error) {
	var out []client.IngestedSample
	for start := 0; start < len(samples); start += ingestBatch {
		got, err := e.c.IngestBatch(ctx, samples[start:min(start+ingestBatch, len(samples))], "")
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	return out, nil
}

// exportTexts reads a mix's samples through the registry's JSON Lines export.
func (e *experiment) exportTexts(ctx context.Context, mixID string) ([]string, error) {
	rc, err := e.c.ExportMix(ctx, mixID)
	if err != nil {
		return nil, fmt.Errorf("export mix %s: %w", mixID, err)
	}
	defer rc.Close()
	var texts []string
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 1<<20), 4<<20)
	for sc.Scan() {
		var line struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return nil, fmt.Errorf("export mix %s: %w", mixID, err)
		}
		texts = append(texts, line.Text)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("export mix %s: %w", mixID, err)
	}
	return texts, nil
}

// generation is one trained and registered model.
type generation struct {
	model *ngramModel
	ref   string // name@version in the registry
	row   row
}

// trainGeneration exports mix, trains a model on it, registers the model as trained on the mix and
// evaluates it on the held-out text.
func (e *experiment) trainGeneration(ctx context.Context, cond string, gen int, mix *registry.Mix) (*generation, error) {
	texts, err := e.exportTexts(ctx, mix.ID)
	if err != nil {
		return nil, err
	}
	m := trainModel(e.vocab, texts, e.cfg.Temperature)
	name := fmt.Sprintf("collapse-%s-g%d", cond, gen)
	if gen == 0 {
		name = "collapse-g0"
	}
	reg, err := e.c.CreateModel(ctx, registry.NewModel{Name: name, Version: "seed" + strconv.FormatUint(e.cfg.Seed, 10),
		Provider: "pedigree collapse experiment (interpolated Kneser-Ney trigram)", TrainedOn: []string{mix.ID}}, "")
	if err != nil {
		return nil, fmt.Errorf("register %s: %w", name, err)
	}
	r := row{Condition: cond, Gen: gen, Model: reg.Name + "@" + reg.Version, ModelGeneration: reg.Generation, Mix: mix.ID,
		MixHuman: mix.Stats.Human, MixSynthetic: mix.Stats.Synthetic, MixMaxGen: mix.Stats.MaxGeneration,
		MixDuplicates: mix.Stats.Duplicates, MixMTLD: mix.Stats.Metrics["mtld"].Mean, TrainTokens: m.tokens,
		evaluation: m.evaluate(e.tails)}
	if a := mix.Stats.Accumulated; a != nil {
		r.BaseKept, r.BaseDropped = a.Kept, a.Dropped
	}
	return &generation{model: m, ref: r.Model, row: r}, nil
}

// answers are a generation's outputs as the registry stored them.
type answers struct {
	dataset string
	k       int
	stats   outStats
}

// answer has the model answer every prompt k times, ingests the answers with model provenance and
// summarises their registry metrics.
func (e *experiment) answer(ctx context.Context, g *generation, dataset string, k int) (*answers, error) {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%d", dataset, k)
	rng := rand.New(rand.NewPCG(e.cfg.Seed, h.Sum64()))
	in := make([]registry.NewSample, 0, len(e.prompts[k])*k)
	src := &registry.Source{Kind: "synthetic", Name: g.ref}
	first := make([]int, 0, len(e.prompts[k])) // where each prompt's first answer is in `in`
	for p, id := range e.prompts[k] {
		first = append(first, len(in))
		drawn := map[string]bool{}
		for c := range k {
			text := g.model.generate(rng, e.cfg.MaxTokens)
			if drawn[text] {
				// The same answer twice to one prompt is one sample in the registry (same text,
				// model and prompt); the group keeps it once.
				continue
			}
			drawn[text] = true
			meta, _ := json.Marshal(map[string]int{"candidate": c})
			in = append(in, registry.NewSample{Text: &text, Origin: registry.OriginModel, Model: g.ref,
				PromptID: registry.RefID(id), Dataset: dataset, ExternalID: fmt.Sprintf("p%05d-c%d", p, c), Source: src, Metadata: meta})
		}
	}
	got, err := e.ingest(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("answers of %s: %w", g.ref, err)
	}
	var st outStats
	distinct := map[string]bool{}
	for _, i := range first {
		s := got[i]
		st.OutMTLD += s.Metrics.MTLD
		st.OutTokens += float64(s.Metrics.Tokens)
		st.OutLengths = append(st.OutLengths, s.Metrics.Tokens)
		distinct[s.Text] = true
		st.OutGen = s.Generation
	}
	n := float64(len(st.OutLengths))
	st.OutMTLD, st.OutTokens, st.OutDistinct = st.OutMTLD/n, st.OutTokens/n, float64(len(distinct))/n
	sorted := slices.Clone(st.OutLengths)
	slices.Sort(sorted)
	st.OutP10, st.OutP50, st.OutP90 = sorted[len(sorted)/10], sorted[len(sorted)/2], sorted[len(sorted)*9/10]
	return &answers{dataset: dataset, k: k, stats: st}, nil
}

// runCondition runs generations 1..Gens of one condition from the shared generation 0.
func (e *experiment) runCondition(ctx context.Context, cond string, base *generation, out0 *answers, k int) ([]row, error) {
	r0 := base.row
	r0.Condition = cond
	r0.outStats = out0.stats
	rows := []row{r0}
	history := []string{out0.dataset} // datasets of earlier generations' answers
	prev, prevModel := out0, base.ref
	for gen := 1; gen <= e.cfg.Gens; gen++ {
		req := e.mixRequest(cond, gen, prev, history, prevModel)
		mix, err := e.c.CreateMix(ctx, req, "")
		if err != nil {
			return rows, fmt.Errorf("%s generation %d mix: %w", cond, gen, err)
		}
		g, err := e.trainGeneration(ctx, cond, gen, mix)
		if err != nil {
			return rows, err
		}
		out, err := e.answer(ctx, g, fmt.Sprintf("%s-gen%d", cond, gen), k)
		if err != nil {
			return rows, err
		}
		g.row.outStats = out.stats
		rows = append(rows, g.row)
		history = append(history, out.dataset)
		prev, prevModel = out, g.ref
		e.logf("%-13s gen %d: model %s (registry generation %d), mix %d human + %d model, perplexity %.1f, tail bigrams kept %.3f, answers' MTLD %.1f, %.1f tokens",
			cond, gen, g.ref, g.row.ModelGeneration, mix.Stats.Human, mix.Stats.Synthetic, g.row.Perplexity, g.row.Bigram, g.row.OutMTLD, g.row.OutTokens)
	}
	return rows, nil
}

// mixRequest is the registry mix a condition trains generation gen on; base is the model it trains
// a successor of.
func (e *experiment) mixRequest(cond string, gen int, prev *answers, history []string, base string) registry.MixRequest {
	n := e.cfg.Train
	seed := int64(e.cfg.Seed)*1000 + int64(gen)
	switch cond {
	case condReplace:
		return registry.MixRequest{Policy: policyOpen, Size: n, Seed: seed, Filter: registry.MixFilter{Datasets: []string{prev.dataset}}}
	case condAccumulate:
		// The registry keeps the base model's human data (the accumulate limit); the dataset filter
		// adds every earlier generation's output, which the limit does not ask for.
		return registry.MixRequest{Policy: policyAccumulate, Size: n * (len(history) + 1), Seed: seed, BaseModel: base,
			Filter: registry.MixFilter{Datasets: append([]string{datasetTrain}, history...)}}
	case condDefault:
		// No policy named: the registry's default. Size 2n leaves room for as much model output as
		// the default's synthetic cap (0.5) allows next to the n human paragraphs.
		return registry.MixRequest{Size: 2 * n, Seed: seed, BaseModel: base, Filter: registry.MixFilter{Datasets: append([]string{datasetTrain}, history...)}}
	case condSelectMTLD:
		return registry.MixRequest{Policy: policyOpen, Size: n, Seed: seed, Filter: registry.MixFilter{Datasets: []string{prev.dataset}},
			Strategy: registry.MixStrategy{Name: registry.StrategyBestOfK, Objective: "mtld", Source: registry.SourceSingle}}
	default: // condSelectRandom
		return registry.MixRequest{Policy: policyFirst, Size: n, Seed: seed, Filter: registry.MixFilter{Datasets: []string{prev.dataset}}}
	}
}
