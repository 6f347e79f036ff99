package registry

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// A mix is drawn inside the database, in memory that does not grow with the pool: the store counts
// the admitted samples per stratum (DrawCounts), the mixer plans the quotas from the counts, the
// store selects the rows of each stratum by their draw key (DrawKey) into a scratch table, sums the
// selection's statistics with a grouped query (StatsGroup) and streams the manifest in order.
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
// AdmittedPrior, Select, then Stats, Kept and Manifest (any number of times). Close releases it.
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
	// Stats returns the selection's statistics: Pool and Duplicates are the caller's to fill.
	Stats(ctx context.Context) (MixStats, error)
	// Kept counts the marked samples in the selection.
	Kept(ctx context.Context) (int, error)
	// Manifest streams the selection in manifest order: each sample's id and content hash, parsed
	// once here for both of a build's reads (its hash, and the packed ids it stores).
	Manifest(ctx context.Context, fn func(id uuid.UUID, contentSHA256 [sha256.Size]byte) error) error
	Close() error
}

// StatsGroup is one group of a selection's samples that agree on every field MixStats counts by,
// with the sums and extremes of their metrics. A store returns a selection as such groups
// (GROUP BY the key fields); MixStatsOf folds them.
type StatsGroup struct {
	Model      string // name@version; "" for humans
	Generation int
	Dataset    string
	SourceKind string
	Source     string // SourceName's name: the host for web_crawl, else the source's name, else the dataset
	License    string
	Basis      string
	URI        string // the smallest non-empty source URI of the group

	Samples                int
	Tokens                 int64
	MinTokens, MaxTokens   int64
	MTLD, MinMTLD, MaxMTLD float64
	Scored                 int // samples with a toxicity score
	Tox, MinTox, MaxTox    float64
	Latest                 int64 // the newest registration, Unix milliseconds
}

// MixStatsOf folds a selection's groups into its statistics, without Pool and Duplicates. The
// order of the groups does not matter, except in the last bits of the means.
func MixStatsOf(groups []StatsGroup) MixStats {
	s := MixStats{Generations: map[string]int{}, Models: map[string]int{}, Metrics: map[string]MetricSummary{},
		Datasets: map[string]int{}, SourceKinds: map[string]int{}, Licenses: map[string]int{}, Bases: map[string]int{},
		Sources: map[string]map[string]SourceStat{}}
	var tokens, mtld, tox foldSummary
	var latest int64
	n := 0
	for _, g := range groups {
		n += g.Samples
		if g.Model == "" {
			s.Human += g.Samples
		} else {
			s.Synthetic += g.Samples
			s.Models[g.Model] += g.Samples
		}
		s.Generations[strconv.Itoa(g.Generation)] += g.Samples
		s.MaxGeneration = max(s.MaxGeneration, g.Generation)
		if g.Dataset != "" {
			s.Datasets[g.Dataset] += g.Samples
		}
		s.SourceKinds[g.SourceKind] += g.Samples
		if g.License != "" {
			s.Licenses[g.License] += g.Samples
		}
		s.Bases[g.Basis] += g.Samples
		s.Tokens += g.Tokens
		latest = max(latest, g.Latest)
		if s.Sources[g.SourceKind] == nil {
			s.Sources[g.SourceKind] = map[string]SourceStat{}
		}
		st := s.Sources[g.SourceKind][g.Source]
		st.Samples += g.Samples
		st.Tokens += g.Tokens
		if g.SourceKind != "web_crawl" && g.URI != "" && (st.URI == "" || g.URI < st.URI) {
			st.URI = g.URI
		}
		s.Sources[g.SourceKind][g.Source] = st
		tokens.add(g.Samples, float64(g.Tokens), float64(g.MinTokens), float64(g.MaxTokens))
		mtld.add(g.Samples, g.MTLD, g.MinMTLD, g.MaxMTLD)
		tox.add(g.Scored, g.Tox, g.MinTox, g.MaxTox)
		s.UnscoredToxic += g.Samples - g.Scored
	}
	if n > 0 {
		t := time.UnixMilli(latest).UTC()
		s.LatestSample = &t
		s.SyntheticRatio = float64(s.Synthetic) / float64(n)
		top := 0
		for _, c := range s.Models {
			top = max(top, c)
		}
		s.ModelShare = float64(top) / float64(n)
		s.Metrics["tokens"], s.Metrics["mtld"], s.Metrics["toxicity"] = tokens.result(), mtld.result(), tox.result()
	}
	return s
}

// foldSummary folds groups' counts, sums and extremes into a MetricSummary.
type foldSummary struct {
	n             int
	min, max, sum float64
}

func (f *foldSummary) add(n int, sum, lo, hi float64) {
	if n == 0 {
		return
	}
	if f.n == 0 || lo < f.min {
		f.min = lo
	}
	if f.n == 0 || hi > f.max {
		f.max = hi
	}
	f.n += n
	f.sum += sum
}

func (f *foldSummary) result() MetricSummary {
	if f.n == 0 {
		return MetricSummary{}
	}
	return MetricSummary{Count: f.n, Min: f.min, Max: f.max, Mean: f.sum / float64(f.n)}
}

// hostPattern finds a URI's host, lower-cased before matching: what SourceName names a web_crawl
// source by. An IPv6 host keeps its brackets.
const hostPattern = `^[a-z][a-z0-9+.-]*://(?:[^/?#]*@)?(\[[^]/?#]*\]|[^]:/?#[]*)`

var hostRE = regexp.MustCompile(hostPattern)

// URIHost returns the host of uri by hostPattern, or "" if it has none.
func URIHost(uri string) string {
	m := hostRE.FindStringSubmatch(asciiLower(uri))
	if m == nil {
		return ""
	}
	return m[1]
}

// asciiLower lower-cases ASCII letters only.
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// SourceName names a sample's source in a mix's statistics: the URI's host for crawled data, else
// the source's name, else its dataset. The stores keep each sample's name from its ingest on (in
// its statistics group), and their audits require it to be what this function gives: a change
// here needs a migration that names the stored samples again.
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
type Manifest func(fn func(id uuid.UUID) error) error

// ManifestOf is the manifest of ids; a streamed id that is not a UUID stops it with an error.
func ManifestOf(ids []string) Manifest {
	return func(fn func(uuid.UUID) error) error {
		for _, id := range ids {
			u, err := uuid.Parse(id)
			if err != nil {
				return fmt.Errorf("manifest id %q: %w", id, err)
			}
			if err := fn(u); err != nil {
				return err
			}
		}
		return nil
	}
}
