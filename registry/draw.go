package registry

import (
	"context"
	"crypto/md5"
	"encoding/binary"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// A mix is drawn inside the database, in memory that does not grow with the pool: the store counts
// the admitted samples per stratum (DrawCounts), the mixer plans the quotas from the counts, the
// store selects the rows of each stratum by their draw key (DrawKey) into a scratch table and
// streams the selection in manifest order, which the mixer folds into the mix's statistics
// (MixStatsFold) and the manifest's hash in one pass.
// Every store draws by the same rules, so the same records give the same manifest on SQLite and on
// PostgreSQL:
//
//   - admission: the pool query (PoolQuery), the policy's include and the request's filters, with
//     best-of-k's rank filter;
//   - dedup, when the policy asks for it: of the samples with one normalized text, the first in
//     dedup order is kept; with "near", then, of the survivors in one near-duplicate cluster, the
//     first. Dedup order: the lowest generation (the original before its copies), the best by the
//     best-of-k objective if there is one, a cluster's first sample before its members, then draw
//     key and id;
//   - selection: the humans in order of (the base model's human data first under accumulate, draw
//     key, id) up to the human quota; each model's samples in (draw key, id) order up to the
//     per-model cap, and of those the first in (draw key, id) order up to the synthetic quota;
//   - the manifest is the selection in (draw key, id) order.

// DrawQuery is a mix's draw: the candidate pool, the seed and the policy's dedup.
type DrawQuery struct {
	Pool PoolQuery
	Seed int64
	// Dedup is "", "exact" or "near" (policy.DedupExact, policy.DedupNear).
	Dedup string
	// Objective is the best-of-k objective that orders dedup's choice, or "".
	Objective string
}

// DrawKeyInput is the text a sample's draw key hashes: the seed in decimal, a colon and the
// sample's id.
func DrawKeyInput(seed, id string) string { return seed + ":" + id }

// DrawKey orders the samples of a draw: the first eight bytes of the MD5 of DrawKeyInput, as a
// big-endian signed integer. MD5 serves here as a keyed shuffle that both databases compute natively
// or through a registered function, not as a security measure: the key is public, and so is the
// order it gives. It is part of every manifest's reproducibility: never change it.
func DrawKey(seed int64, id string) int64 {
	return DrawKeyOf(DrawKeyInput(strconv.FormatInt(seed, 10), id))
}

// DrawKeyOf is the draw key of a DrawKeyInput, for a store that has the seed as text already.
func DrawKeyOf(input string) int64 {
	sum := md5.Sum([]byte(input))
	return int64(binary.BigEndian.Uint64(sum[:8]))
}

// DrawCounts are a draw's strata, after dedup unless said otherwise.
type DrawCounts struct {
	Pool      int // admitted samples, before dedup
	PoolPrior int // of those, the base model's human data (accumulate)
	Humans    int
	Prior     int // of the humans, the base model's human data
	// Models counts each model's samples, in the order of the models' ids.
	Models []ModelCount
}

// ModelCount is one model's samples in a draw.
type ModelCount struct {
	ModelID string
	N       int
}

// Synthetic is the number of model samples.
func (c *DrawCounts) Synthetic() int {
	n := 0
	for _, m := range c.Models {
		n += m.N
	}
	return n
}

// DrawQuota is how many samples a draw selects: Humans humans, and Synthetic model samples with no
// model above PerModel.
type DrawQuota struct {
	Humans, Synthetic, PerModel int
}

// Draw is a mix being drawn in a store: a snapshot of the registry and the scratch tables the draw
// keeps. Its methods are called in this order: AddPrior (any number of times), Counts and
// AdmittedPrior, Select, then Selection, Kept and Manifest (any number of times). Close releases it.
type Draw interface {
	// AddPrior marks samples as the base model's human data, which the selection takes first. It
	// returns how many of ids were not marked before.
	AddPrior(ctx context.Context, ids []string) (int, error)
	// Counts counts the pool's strata.
	Counts(ctx context.Context) (*DrawCounts, error)
	// AdmittedPrior counts the marked samples that q admits (before dedup).
	AdmittedPrior(ctx context.Context, q PoolQuery) (int, error)
	// Select selects the quota's samples, returning how many it selected.
	Select(ctx context.Context, q DrawQuota) (int, error)
	// Selection streams the selection in manifest order, each sample with what the manifest's
	// hash and the mix's statistics need (MixStatsFold). The sample is fn's only during the call.
	Selection(ctx context.Context, fn func(*SelectedSample) error) error
	// Kept counts the marked samples in the selection.
	Kept(ctx context.Context) (int, error)
	// Manifest streams the selection in manifest order: each sample's id and content hash.
	Manifest(ctx context.Context, fn func(id, contentSHA256 string) error) error
	Close() error
}

// SelectedSample is one sample of a draw's selection, as Draw.Selection streams it: its id and
// content hash, which the manifest's hash covers, and what the mix's statistics count.
type SelectedSample struct {
	ID, ContentSHA256                                          string
	Model                                                      string // name@version; "" for humans
	Generation                                                 int
	Dataset, SourceKind, SourceName, SourceURI, License, Basis string
	Tokens                                                     int64
	MTLD                                                       float64
	Toxicity                                                   *float64
	CreatedAt                                                  int64 // Unix milliseconds
}

// MixStatsFold folds a selection into its statistics one sample at a time, in memory that grows
// with the distinct values the statistics count by (models, sources, ...), not with the selection.
// Folded in the same order, as Draw.Selection streams them, the same samples give the same
// statistics to the last bit on every store.
type MixStatsFold struct {
	s                 MixStats
	tokens, mtld, tox foldSummary
	latest            int64
	n                 int
}

// NewMixStatsFold returns an empty fold.
func NewMixStatsFold() *MixStatsFold {
	return &MixStatsFold{s: MixStats{Generations: map[string]int{}, Models: map[string]int{}, Metrics: map[string]MetricSummary{},
		Datasets: map[string]int{}, SourceKinds: map[string]int{}, Licenses: map[string]int{}, Bases: map[string]int{},
		Sources: map[string]map[string]SourceStat{}}}
}

// Add folds one sample.
func (f *MixStatsFold) Add(r *SelectedSample) {
	s := &f.s
	f.n++
	if r.Model == "" {
		s.Human++
	} else {
		s.Synthetic++
		s.Models[r.Model]++
	}
	s.Generations[strconv.Itoa(r.Generation)]++
	s.MaxGeneration = max(s.MaxGeneration, r.Generation)
	if r.Dataset != "" {
		s.Datasets[r.Dataset]++
	}
	s.SourceKinds[r.SourceKind]++
	if r.License != "" {
		s.Licenses[r.License]++
	}
	s.Bases[r.Basis]++
	s.Tokens += r.Tokens
	f.latest = max(f.latest, r.CreatedAt)
	byName := s.Sources[r.SourceKind]
	if byName == nil {
		byName = map[string]SourceStat{}
		s.Sources[r.SourceKind] = byName
	}
	name := SourceName(r.SourceKind, r.SourceName, r.SourceURI, r.Dataset)
	st := byName[name]
	st.Samples++
	st.Tokens += r.Tokens
	if r.SourceKind != "web_crawl" && r.SourceURI != "" && (st.URI == "" || r.SourceURI < st.URI) {
		st.URI = r.SourceURI
	}
	byName[name] = st
	f.tokens.add(float64(r.Tokens))
	f.mtld.add(r.MTLD)
	if r.Toxicity != nil {
		f.tox.add(*r.Toxicity)
	} else {
		s.UnscoredToxic++
	}
}

// Stats returns the statistics of what has been folded, without Pool and Duplicates.
func (f *MixStatsFold) Stats() MixStats {
	s := f.s
	if f.n > 0 {
		t := time.UnixMilli(f.latest).UTC()
		s.LatestSample = &t
		s.SyntheticRatio = float64(s.Synthetic) / float64(f.n)
		top := 0
		for _, c := range s.Models {
			top = max(top, c)
		}
		s.ModelShare = float64(top) / float64(f.n)
		s.Metrics["tokens"], s.Metrics["mtld"], s.Metrics["toxicity"] = f.tokens.result(), f.mtld.result(), f.tox.result()
	}
	return s
}

// foldSummary folds values into a MetricSummary.
type foldSummary struct {
	n             int
	min, max, sum float64
}

func (f *foldSummary) add(v float64) {
	if f.n == 0 || v < f.min {
		f.min = v
	}
	if f.n == 0 || v > f.max {
		f.max = v
	}
	f.n++
	f.sum += v
}

func (f *foldSummary) result() MetricSummary {
	if f.n == 0 {
		return MetricSummary{}
	}
	return MetricSummary{Count: f.n, Min: f.min, Max: f.max, Mean: f.sum / float64(f.n)}
}

// hostRE finds a URI's host, lower-cased before matching: what SourceName names a web_crawl
// source by. An IPv6 host keeps its brackets. Recorded statistics name sources by it: never
// change what it matches.
var hostRE = regexp.MustCompile(`^[a-z][a-z0-9+.-]*://(?:[^/?#]*@)?(\[[^]/?#]*\]|[^]:/?#[]*)`)

// URIHost returns the host of uri by hostRE, or "" if it has none.
func URIHost(uri string) string {
	m := hostRE.FindStringSubmatch(asciiLower(uri))
	if m == nil {
		return ""
	}
	return m[1]
}

// asciiLower lower-cases ASCII letters only, as SQL's lower() does; recorded statistics depend on it.
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// SourceName names a sample's source in a mix's statistics: the URI's host for crawled data, else
// the source's name, else its dataset.
func SourceName(kind, name, uri, dataset string) string {
	if kind == "web_crawl" {
		if h := URIHost(uri); h != "" {
			return h
		}
	}
	if name != "" {
		return name
	}
	return dataset
}

// Manifest streams a mix's sample ids in order.
type Manifest func(fn func(id string) error) error

// ManifestOf is the manifest of ids.
func ManifestOf(ids []string) Manifest {
	return func(fn func(string) error) error {
		for _, id := range ids {
			if err := fn(id); err != nil {
				return err
			}
		}
		return nil
	}
}
