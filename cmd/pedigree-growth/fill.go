package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/pedigreeml/pedigree/internal/baseline"
	"github.com/pedigreeml/pedigree/metrics"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/sqlite"
)

// The shape of the registry's content.
const (
	words      = 120  // words a text
	chainLen   = 11   // samples in a chain: a root and 10 descendants, so the tip's ancestry is 10 deep
	chainEvery = 1100 // one chain in this many samples: 1% of the samples are in chains
	// restBatchBase keeps the REST batches' texts apart from the fill's: baseline.Texts draws the
	// words of a batch from its batch number, so two calls with one number differ only in the label,
	// and a model text would make a human one a near-duplicate.
	restBatchBase = 1 << 40
)

// The two models that write half of the samples, and their declared generations.
var growthModels = []struct {
	name       string
	generation int
}{{"growth-a", 0}, {"growth-b", 1}}

func modelRef(i int) string { return growthModels[i].name + "@1" }

// generator makes the registry's samples, deterministically and never the same text twice in a run,
// and remembers the tips of the chains it stored.
type generator struct {
	vocab     []string
	fillBatch int // the next fill batch's number for baseline.Texts
	restBatch int // the next REST batch's
	tips      []string
}

func newGenerator() *generator { return &generator{vocab: baseline.Vocabulary(4000)} }

// chainStarts places the chains of a batch of k samples: one in every chainEvery samples (at least
// one when k holds a chain), each at the end of its block so that it lies inside the batch.
func chainStarts(k int) []int {
	if k < chainLen {
		return nil
	}
	n := max(1, k/chainEvery)
	block := k / n
	out := make([]int, n)
	for c := range out {
		out[c] = c*block + block - chainLen
	}
	return out
}

// fillBatch returns k new samples and the positions of its chains' tips. Outside the chains, even
// positions are human and odd ones alternate between the two models; a chain is a human root
// followed by 10 model rewrites, each naming the previous item of the batch as its parent.
func (g *generator) nextFillBatch(k int) ([]registry.NewSample, []int) {
	texts := baseline.Texts(g.vocab, "Growth sample", g.fillBatch, k, words)
	g.fillBatch++
	member := make([]int, k)
	for i := range member {
		member[i] = -1
	}
	var tips []int
	for _, s := range chainStarts(k) {
		for m := range chainLen {
			member[s+m] = m
		}
		tips = append(tips, s+chainLen-1)
	}
	out := make([]registry.NewSample, k)
	for j := range out {
		smp := registry.NewSample{Text: &texts[j], Origin: registry.OriginHuman, Dataset: "growth"}
		switch m := member[j]; {
		case m == 0:
			smp.Dataset = "growth-chains"
		case m > 0:
			smp.Dataset, smp.Origin, smp.Model = "growth-chains", registry.OriginModel, modelRef(m%2)
			smp.Parents = []registry.Ref{registry.RefItem(j - 1)}
		case j%2 == 1:
			smp.Origin, smp.Model = registry.OriginModel, modelRef((j/2)%2)
		}
		out[j] = smp
	}
	return out, tips
}

// restBodies returns the JSON bodies of n REST batches of size new samples (half human, half from
// the two models; no chains).
func (g *generator) restBodies(n, size int) ([][]byte, error) {
	out := make([][]byte, n)
	for b := range out {
		texts := baseline.Texts(g.vocab, "Growth REST sample", restBatchBase+g.restBatch, size, words)
		g.restBatch++
		samples := make([]registry.NewSample, size)
		for j := range samples {
			samples[j] = registry.NewSample{Text: &texts[j], Origin: registry.OriginHuman, Dataset: "growth-rest"}
			if j%2 == 1 {
				samples[j].Origin, samples[j].Model = registry.OriginModel, modelRef((j/2)%2)
			}
		}
		var err error
		if out[b], err = json.Marshal(map[string]any{"samples": samples}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// fillResult is how a fill went.
type fillResult struct {
	added   int
	elapsed time.Duration // open to close, the close's checkpoint included
}

// fill grows the registry to size samples through registry.Service.Ingest on the store in process,
// in batches of registry.MaxBatchSamples, registering the two models first if they are not there.
func (g *generator) fill(ctx context.Context, be backend, size int, log io.Writer) (fillResult, error) {
	start := time.Now()
	store, err := be.open(ctx)
	if err != nil {
		return fillResult{}, err
	}
	res, err := g.fillStore(ctx, store, size, log)
	if cerr := store.Close(); err == nil {
		err = cerr
	}
	res.elapsed = time.Since(start)
	return res, err
}

func (g *generator) fillStore(ctx context.Context, store fillStore, size int, log io.Writer) (fillResult, error) {
	svc := &registry.Service{Store: store, Scorer: registry.MetricsScorer{Scorer: &metrics.Scorer{}}}
	if err := ensureModels(ctx, svc); err != nil {
		return fillResult{}, err
	}
	have, err := countSamples(ctx, store)
	if err != nil {
		return fillResult{}, err
	}
	n := size - int(have)
	if n < 0 {
		return fillResult{}, fmt.Errorf("the registry already holds %d samples, more than %d", have, size)
	}
	started := time.Now()
	for done, i := 0, 0; done < n; i++ {
		k := min(registry.MaxBatchSamples, n-done)
		batch, tips := g.nextFillBatch(k)
		out, err := svc.Ingest(ctx, batch, nil)
		if err != nil {
			return fillResult{}, err
		}
		for _, r := range out.Results {
			if r.Duplicate {
				return fillResult{}, fmt.Errorf("sample %s was stored already: the fill's texts must be new", r.Sample.ID)
			}
		}
		for _, t := range tips {
			g.tips = append(g.tips, out.Results[t].Sample.ID)
		}
		done += k
		if i%10 == 9 || done == n {
			fmt.Fprintf(log, "fill: %d of %d new samples (%.0f/s)\n", done, n, float64(done)/time.Since(started).Seconds())
		}
	}
	return fillResult{added: n}, nil
}

// ensureModels registers the two models unless an earlier fill did.
func ensureModels(ctx context.Context, svc *registry.Service) error {
	for i, m := range growthModels {
		_, err := svc.Store.GetModel(ctx, modelRef(i))
		if err == nil {
			continue
		}
		if registry.ErrorCode(err) != registry.ENOTFOUND {
			return err
		}
		gen := m.generation
		if _, err := svc.CreateModel(ctx, &registry.NewModel{Name: m.name, Version: "1", Provider: "pedigree-growth",
			DeclaredGeneration: &gen}, nil); err != nil {
			return fmt.Errorf("create model %s: %w", m.name, err)
		}
	}
	return nil
}

// lineageTips picks n chain tips spread over every chain stored so far (old and new), repeating
// tips when there are fewer than n.
func (g *generator) lineageTips(n int) ([]string, error) {
	if len(g.tips) == 0 {
		return nil, errors.New("the registry holds no chain to walk")
	}
	out := make([]string, n)
	for i := range out {
		if len(g.tips) >= n {
			out[i] = g.tips[i*len(g.tips)/n]
		} else {
			out[i] = g.tips[i%len(g.tips)]
		}
	}
	return out, nil
}

// resume prepares a run that continues the SQLite registry in dataDir: the generator's text
// batches start past every batch the registry can hold (so no text repeats one stored), the chain
// tips are read back (complete chains of the fill: a growth-chains sample that is no sample's
// parent, in registration order), and the rows of --out's CSV for sizes below the first are kept.
func resume(ctx context.Context, o *options, dataDir string, g *generator, log io.Writer) ([]row, error) {
	s, err := sqlite.Open(ctx, filepath.Join(dataDir, "registry.db"))
	if err != nil {
		return nil, err
	}
	defer s.Close()
	have, err := countSamples(ctx, s)
	if err != nil {
		return nil, err
	}
	if have >= int64(o.sizes[0]) {
		return nil, fmt.Errorf("the registry holds %d samples: the sizes must start above that", have)
	}
	g.fillBatch, g.restBatch = int(have), int(have)
	rows, err := s.DB().QueryContext(ctx, `SELECT s.id FROM samples s
		WHERE s.dataset = 'growth-chains' AND s.origin = 'model'
		AND NOT EXISTS (SELECT 1 FROM edges e WHERE e.parent_id = s.id) ORDER BY s.log_index`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		g.tips = append(g.tips, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var kept []row
	earlier, err := readStore(o.out, o.store())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, r := range earlier {
		if r.Samples < o.sizes[0] {
			kept = append(kept, r)
		}
	}
	fmt.Fprintf(log, "resuming a registry of %d samples with %d chain tips; keeping %d earlier rows\n", have, len(g.tips), len(kept))
	return kept, nil
}
