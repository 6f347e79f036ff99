package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// PolicyRef names one immutable policy version.
type PolicyRef struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
	SHA256  string `json:"sha256"`
}

// PolicyVersion is a stored policy version: its Rego module, the module's SHA-256 and its limits.
type PolicyVersion struct {
	Name      string          `json:"name"`
	Version   int             `json:"version"`
	SHA256    string          `json:"sha256"`
	Limits    json.RawMessage `json:"limits"`
	Module    string          `json:"module,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
	LogIndex  int64           `json:"log_index"`
}

// Ref returns the version's reference.
func (p *PolicyVersion) Ref() PolicyRef {
	return PolicyRef{Name: p.Name, Version: p.Version, SHA256: p.SHA256}
}

// Mix strategies, and best-of-k sources.
const (
	StrategyRandom  = "random"
	StrategyBestOfK = "best_of_k"
	SourceSingle    = "single"
	SourceMulti     = "multi"
)

// MixStrategy says how samples are chosen. With best_of_k, a sample that answers a prompt is eligible
// only if it ranks first for Objective in its group: among all allowed models' candidates (source
// "multi") or among its own model's (source "single"). Models restricts which models' candidates
// compete.
type MixStrategy struct {
	Name      string   `json:"name,omitempty"`
	Objective string   `json:"objective,omitempty"`
	Source    string   `json:"source,omitempty"`
	Models    []string `json:"models,omitempty"`
}

// MixFilter narrows the candidate pool before the policy admits from it. Models restricts model
// output to those models (human samples are kept unless Origins excludes them); AsOf keeps samples
// registered at or before that time, which makes a mix reproducible later.
type MixFilter struct {
	Datasets []string   `json:"datasets,omitempty"`
	Models   []string   `json:"models,omitempty"`
	Origins  []string   `json:"origins,omitempty"`
	AsOf     *time.Time `json:"as_of,omitempty"`
}

// MixRequest asks for a training mix. Size is an upper bound; MinSize refuses a smaller mix;
// SyntheticRatio asks for a share of model output (never above the policy's cap); without it the mix
// takes the admitted pool as it is, capped.
type MixRequest struct {
	Policy         string      `json:"policy,omitempty"`
	Size           int         `json:"size"`
	MinSize        int         `json:"min_size,omitempty"`
	SyntheticRatio *float64    `json:"synthetic_ratio,omitempty"`
	Strategy       MixStrategy `json:"strategy"`
	Filter         MixFilter   `json:"filter"`
	Seed           int64       `json:"seed"`
	// BaseModel names the model whose successor the mix trains (name@version or id). Under a
	// policy with the accumulate limit, the mix must keep every human sample of that model's
	// training mixes that the policy still admits.
	BaseModel string `json:"base_model,omitempty"`
}

// Limits of a mix request.
const (
	MaxMixSize       = 10_000_000
	maxFilterEntries = 1000
)

// Validate checks the request against the rules that need no lookups, filling defaults.
func (r *MixRequest) Validate() error {
	var fe []FieldError
	add := func(field, msg string) { fe = append(fe, FieldError{Field: field, Message: msg}) }
	if r.Size < 1 || r.Size > MaxMixSize {
		add("size", "must be from 1 to "+strconv.Itoa(MaxMixSize))
	}
	if r.MinSize < 0 || r.MinSize > r.Size {
		add("min_size", "must be from 0 to size")
	}
	if sr := r.SyntheticRatio; sr != nil && (*sr < 0 || *sr > 1) {
		add("synthetic_ratio", "must be from 0 to 1")
	}
	switch r.Strategy.Name {
	case "":
		r.Strategy.Name = StrategyRandom
		fallthrough
	case StrategyRandom:
		if r.Strategy.Objective != "" || r.Strategy.Source != "" || len(r.Strategy.Models) > 0 {
			add("strategy", "objective, source and models go with best_of_k only")
		}
	case StrategyBestOfK:
		if !contains(Objectives, r.Strategy.Objective) {
			add("strategy/objective", "must be one of mtld, length, toxicity")
		}
		if r.Strategy.Source == "" {
			r.Strategy.Source = SourceMulti
		}
		if r.Strategy.Source != SourceSingle && r.Strategy.Source != SourceMulti {
			add("strategy/source", "must be single or multi")
		}
	default:
		add("strategy/name", "must be random or best_of_k")
	}
	if len(r.BaseModel) > 2*maxNameLen+1 {
		add("base_model", "is longer than a model reference (name@version) can be")
	}
	for _, o := range r.Filter.Origins {
		if o != OriginHuman && o != OriginModel {
			add("filter/origins", "entries must be human or model")
			break
		}
	}
	for name, list := range map[string][]string{"filter/datasets": r.Filter.Datasets, "filter/models": r.Filter.Models,
		"filter/origins": r.Filter.Origins, "strategy/models": r.Strategy.Models} {
		if len(list) > maxFilterEntries {
			add(name, "has more than "+strconv.Itoa(maxFilterEntries)+" entries")
		}
	}
	if len(fe) == 0 {
		return nil
	}
	sortFields(fe)
	return &Error{Code: EINVALID, Message: fe[0].Field + ": " + fe[0].Message, Fields: fe}
}

func sortFields(fe []FieldError) {
	for i := 1; i < len(fe); i++ {
		for j := i; j > 0 && fe[j].Field < fe[j-1].Field; j-- {
			fe[j], fe[j-1] = fe[j-1], fe[j]
		}
	}
}

// MetricSummary summarises one metric over a mix.
type MetricSummary struct {
	Count int     `json:"count"`
	Min   float64 `json:"min"`
	Max   float64 `json:"max"`
	Mean  float64 `json:"mean"`
}

// MixStats is the summary of a mix: exactly what a policy's deny rules see as input.mix.stats.
type MixStats struct {
	Human          int                      `json:"human"`
	Synthetic      int                      `json:"synthetic"`
	SyntheticRatio float64                  `json:"synthetic_ratio"`
	Generations    map[string]int           `json:"generations"`
	Models         map[string]int           `json:"models"`
	ModelShare     float64                  `json:"max_model_share"` // the largest single model's share
	Metrics        map[string]MetricSummary `json:"metrics"`
	Datasets       map[string]int           `json:"datasets"`
	SourceKinds    map[string]int           `json:"source_kinds"`
	Licenses       map[string]int           `json:"licenses"`
	Bases          map[string]int           `json:"generation_bases"`
	UnscoredToxic  int                      `json:"unscored_toxicity"`
	MaxGeneration  int                      `json:"max_generation"`
	Pool           int                      `json:"pool"` // samples the policy admitted before selection
	Tokens         int64                    `json:"tokens"`
	LatestSample   *time.Time               `json:"latest_sample,omitempty"` // the newest sample's registration
	// Duplicates counts the admitted samples that the policy's dedup limit left out, one kept per
	// normalized text (and, with "near", per near-duplicate cluster).
	Duplicates int `json:"duplicates_removed,omitempty"`

	// Sources counts samples and tokens by source kind and source name; for web_crawl the name is the
	// URI's host, so the EU AI Act summary can list the top crawled domains.
	Sources map[string]map[string]SourceStat `json:"sources"`

	// Accumulated accounts for the base model's human data, when the request names a base_model and
	// the policy accumulates.
	Accumulated *AccumulateStats `json:"accumulated,omitempty"`
}

// AccumulateStats accounts for the human samples of a base model's training mixes in its
// successor's mix: Prior of them in all; Admitted of those the policy still admits (the others,
// now excluded by include or max_generation, or duplicates the policy's dedup removed, are Dropped);
// Kept of those in the mix. The accumulate limit refuses a mix with Kept < Admitted.
type AccumulateStats struct {
	BaseModel string `json:"base_model"`
	Prior     int    `json:"prior_human"`
	Admitted  int    `json:"admitted"`
	Kept      int    `json:"kept"`
	Dropped   int    `json:"dropped"`
}

// SourceStat is how much of a mix one source contributed.
type SourceStat struct {
	Samples int    `json:"samples"`
	Tokens  int64  `json:"tokens"`
	URI     string `json:"uri,omitempty"` // the smallest of its samples' URIs; none for web_crawl
}

// Mix is a built, immutable training mix.
type Mix struct {
	ID             string      `json:"id"`
	Policy         PolicyRef   `json:"policy"`
	DecisionID     string      `json:"decision_id"`
	Size           int         `json:"size"`
	Seed           int64       `json:"seed"`
	Strategy       MixStrategy `json:"strategy"`
	Request        MixRequest  `json:"request"`
	Stats          MixStats    `json:"stats"`
	ManifestSHA256 string      `json:"manifest_sha256"`
	CreatedAt      time.Time   `json:"created_at"`
	LogIndex       int64       `json:"log_index"`

	// MaxGeneration and GenerationBasis are the deepest generation and the weakest basis of the
	// mix's samples, from which models trained on it derive theirs; LeafFields is the set of fields
	// its leaf holds (see registry/leaves).
	MaxGeneration   int    `json:"-"`
	GenerationBasis string `json:"-"`
	LeafFields      int    `json:"-"`
}

// Decision is a stored policy decision on a proposed mix.
type Decision struct {
	ID          string          `json:"id"`
	Policy      PolicyRef       `json:"policy"`
	Allowed     bool            `json:"allowed"`
	Violations  []string        `json:"violations"`
	Error       string          `json:"error,omitempty"`
	Input       json.RawMessage `json:"input"`
	MixID       string          `json:"mix_id,omitempty"`
	EvaluatedAt time.Time       `json:"evaluated_at"`
	LogIndex    int64           `json:"log_index"`
}

// PoolQuery selects a mix's candidate pool inside the database.
type PoolQuery struct {
	Where         string // the policy's include fragment over alias s, in the store's dialect
	MaxGeneration *int
	Datasets      []string
	ModelIDs      []string // model output restricted to these models
	Origins       []string
	AsOf          *time.Time
	BestOfK       *BestOfKPool
}

// BestOfKPool makes only the rank-1 candidate of each prompt group eligible.
type BestOfKPool struct {
	Objective string
	PerModel  bool     // single-source: rank within each model's candidates
	ModelIDs  []string // competing models; empty means all
	// KeepHumans lets human answers compete too, when ModelIDs comes from the pool's model filter
	// (which keeps human samples) rather than from the strategy.
	KeepHumans bool
}

// PoolRow is one admitted sample, with what selection and statistics need.
type PoolRow struct {
	ID            string
	ContentSHA256 string
	Origin        string
	Model         string
	Generation    int
	Basis         string
	Dataset       string
	SourceKind    string
	SourceName    string
	SourceURI     string
	License       string
	CreatedAt     time.Time
	Tokens        int
	MTLD          float64
	Toxicity      *float64
	NormSHA256    string // hex; equal for equal texts after normalization (registry/dedup)
	Cluster       string // the near-duplicate cluster: its first sample's id
}

// MixStore is what reading and exporting mixes, decisions and policy versions needs from a store.
// Errors: ENOTFOUND from the Get methods.
type MixStore interface {
	Dialect() string
	MixPool(ctx context.Context, q PoolQuery, fn func(*PoolRow) error) error
	// OpenDraw starts drawing a mix inside the database (draw.go); the caller closes the draw.
	OpenDraw(ctx context.Context, q DrawQuery) (Draw, error)
	GetMix(ctx context.Context, id string) (*Mix, error)
	ListMixes(ctx context.Context, after string, limit int) ([]*Mix, error)
	GetDecision(ctx context.Context, id string) (*Decision, error)
	// ListDecisions lists decisions by id after the filter's cursor (ids are UUIDv7, so this is the
	// order they were made in), allowed and refused or only one of them.
	ListDecisions(ctx context.Context, f DecisionFilter) ([]*Decision, error)
	// ExportMix calls fn with the mix's samples in manifest order, with their parents (not their
	// best-of-k ranks), reading them in small chunks.
	ExportMix(ctx context.Context, id string, fn func(*Sample) error) error

	GetPolicyVersion(ctx context.Context, name string, version int) (*PolicyVersion, error) // version 0: the latest
	ListPolicyVersions(ctx context.Context, name string, after, limit int) ([]*PolicyVersion, error)
}

// DecisionFilter selects decisions to list.
type DecisionFilter struct {
	Allowed *bool  // only allowed (true) or only refused (false) decisions; nil for both
	After   string // cursor: list ids greater than this
	Limit   int
}

// DecodeDocuments fills a stored mix's strategy, request and stats from their JSON columns.
func (m *Mix) DecodeDocuments(strategy, request, stats []byte) error {
	for _, d := range []struct {
		b []byte
		v any
	}{{strategy, &m.Strategy}, {request, &m.Request}, {stats, &m.Stats}} {
		if err := json.Unmarshal(d.b, d.v); err != nil {
			return fmt.Errorf("mix %s: %w", m.ID, err)
		}
	}
	return nil
}

// RequestDocument returns the mix's request as its log leaf covers it: the request encoded again.
// encoding/json writes a decoded request back to the bytes it was stored as, so this equals the
// stored document up to white space.
func (m *Mix) RequestDocument() ([]byte, error) {
	b, err := json.Marshal(m.Request)
	if err != nil {
		return nil, fmt.Errorf("mix %s request: %w", m.ID, err)
	}
	return b, nil
}

// ManifestHash computes a mix's manifest_sha256: the SHA-256 of one line "<sample id> <content
// sha256>\n" per sample, in manifest order, the id in its canonical UUID text and the hash in lower
// case hex.
type ManifestHash struct {
	h    hash.Hash
	line [36 + 1 + 64 + 1]byte
}

// NewManifestHash starts an empty manifest.
func NewManifestHash() *ManifestHash { return &ManifestHash{h: sha256.New()} }

// AddRaw adds a sample by its id and content hash.
func (m *ManifestHash) AddRaw(id uuid.UUID, content [sha256.Size]byte) {
	copy(m.line[:36], id.String())
	m.line[36] = ' '
	hex.Encode(m.line[37:101], content[:])
	m.line[101] = '\n'
	m.h.Write(m.line[:])
}

// Add adds a sample by its id and hex content hash as stored, refusing ones that are not canonical.
func (m *ManifestHash) Add(id, content string) error {
	u, err := uuid.Parse(id)
	if err != nil || u.String() != id {
		return fmt.Errorf("manifest: sample id %q is not a canonical UUID", id)
	}
	var c [sha256.Size]byte
	if n, err := hex.Decode(c[:], []byte(content)); err != nil || n != sha256.Size || hex.EncodeToString(c[:]) != content {
		return fmt.Errorf("manifest: content hash %q of sample %s is not lower-case hex SHA-256", content, id)
	}
	m.AddRaw(u, c)
	return nil
}

// Sum returns the manifest's hex SHA-256.
func (m *ManifestHash) Sum() string { return hex.EncodeToString(m.h.Sum(nil)) }
