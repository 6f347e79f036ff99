// Package mixer builds training mixes: it admits candidates in the database with the policy's
// compiled include, draws deterministically from the seed while obeying the policy's limits, checks
// the policy's deny rules on the summary, and records the decision and the mix.
package mixer

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/pedigreeml/pedigree/policy"
	"github.com/pedigreeml/pedigree/registry"
)

// Store is what Build needs from a store: the dialect the policy's include is translated to, the
// candidate pool, the models a request names, a base model's training mixes (ExportMix, for the
// accumulate limit), and the write transaction that registry.WriteMix saves the decision and the
// mix in. GetModel answers ENOTFOUND for an unknown model (Build answers EUNPROCESSABLE).
type Store interface {
	registry.Writer
	Dialect() string
	MixPool(ctx context.Context, q registry.PoolQuery, fn func(*registry.PoolRow) error) error
	GetModel(ctx context.Context, ref string) (*registry.Model, error)
	ExportMix(ctx context.Context, id string, fn func(*registry.Sample) error) error
}

// Builder builds mixes.
type Builder struct {
	Store    Store
	Policies *Policies
	Now      func() time.Time
}

// Result is the outcome of a build: the decision, and the mix when the policy allowed it. In a dry run
// neither is stored and neither has an id.
type Result struct {
	Decision *registry.Decision
	Mix      *registry.Mix
	Manifest []string
}

// Summary is what a policy's deny rules see as input.mix.
type Summary struct {
	Size     int                  `json:"size"`
	Strategy registry.MixStrategy `json:"strategy"`
	Stats    registry.MixStats    `json:"stats"`
	Request  registry.MixRequest  `json:"request"`
}

// Build builds the mix req asks for. A refused mix is not an error: Result.Mix is nil and the decision
// says why. Errors are for requests that cannot be evaluated at all (EINVALID, EUNPROCESSABLE).
func (b *Builder) Build(ctx context.Context, req registry.MixRequest, dryRun bool, idem *registry.Idempotency) (*Result, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	compiled, pv, err := b.Policies.Resolve(ctx, req.Policy)
	if err != nil {
		return nil, err
	}
	limits := compiled.Limits()
	q, err := b.poolQuery(ctx, &req, compiled, limits)
	if err != nil {
		return nil, err
	}
	prior, err := b.priorHumans(ctx, &req, limits)
	if err != nil {
		return nil, err
	}
	pool := newPool(req.Seed)
	pool.prior = prior
	if err := b.Store.MixPool(ctx, q, pool.add); err != nil {
		return nil, err
	}
	admitted, err := b.admittedPrior(ctx, q, prior, pool)
	if err != nil {
		return nil, err
	}
	if r, capR := req.SyntheticRatio, limits.MaxSyntheticRatio; r != nil && capR != nil && *r > *capR+1e-12 {
		// The request itself is refused: no mix is drawn, so nothing else about one would be true.
		reason := fmt.Sprintf("requested synthetic_ratio %.4g exceeds the policy's max_synthetic_ratio %.4g", *r, *capR)
		return b.refuseRequest(ctx, req, pv, pool, reason, dryRun, idem)
	}
	var violations []string
	removed := 0
	if limits.Dedup != nil {
		objective := ""
		if req.Strategy.Name == registry.StrategyBestOfK {
			objective = req.Strategy.Objective
		}
		removed = pool.dedup(*limits.Dedup == policy.DedupNear, objective)
	}
	selected := pool.selectMix(req.Size, req.SyntheticRatio, pool.keepPrior(limits))
	stats := pool.stats(selected)
	stats.Pool += removed
	stats.Duplicates = removed
	if prior != nil {
		a, inPool := pool.accumulated(selected, prior.model, admitted)
		stats.Accumulated = a
		if a.Kept < a.Admitted {
			violations = append(violations, accumulateViolation(a, inPool))
		}
	}
	if len(selected) == 0 && len(violations) == 0 {
		violations = append(violations, pool.emptyReason(limits))
	}
	if req.MinSize > 0 && len(selected) < req.MinSize {
		violations = append(violations, fmt.Sprintf("the mix holds %s, fewer than min_size %d", count(len(selected), "sample"), req.MinSize))
	}
	if f := limits.MinHumanSamples; f != nil && stats.Human < *f {
		violations = append(violations, fmt.Sprintf("the mix holds %s; the policy requires at least %d (min_human_samples)", count(stats.Human, "human sample"), *f))
	}

	now := b.now()
	summary := Summary{Size: len(selected), Strategy: req.Strategy, Stats: stats, Request: req}
	input, err := json.Marshal(summary)
	if err != nil {
		return nil, err
	}
	verdict := compiled.Evaluate(ctx, summary, now)
	violations = append(violations, verdict.Violations...)
	d := &registry.Decision{Policy: pv.Ref(), Allowed: verdict.Allowed && len(violations) == 0,
		Violations: violations, Error: verdict.Error, Input: input, EvaluatedAt: now}
	if d.Violations == nil {
		d.Violations = []string{}
	}
	if verdict.Error != "" && len(verdict.Violations) == 0 {
		d.Violations = append(d.Violations, "the policy could not be evaluated: "+verdict.Error)
	}
	res := &Result{Decision: d}
	if d.Allowed {
		res.Manifest = pool.ids(selected)
		res.Mix = &registry.Mix{Policy: pv.Ref(), Size: len(selected), Seed: req.Seed, Strategy: req.Strategy,
			Request: req, Stats: stats, ManifestSHA256: pool.manifestSHA256(selected), CreatedAt: now}
	}
	if dryRun {
		return res, nil
	}
	d.ID = uuid.Must(uuid.NewV7()).String()
	if res.Mix != nil {
		res.Mix.ID = uuid.Must(uuid.NewV7()).String()
		res.Mix.DecisionID = d.ID
	}
	if err := registry.WriteMix(ctx, b.Store, d, res.Mix, res.Manifest, idem); err != nil {
		return nil, err
	}
	return res, nil
}

// priorSet is the human data a base model was trained on: what the accumulate limit keeps.
type priorSet struct {
	model string // the base model's name@version
	ids   map[uuid.UUID]bool
}

// priorHumans reads the human samples of the base model's training mixes, when the request names a
// base model and the policy accumulates; nil otherwise. The mixes are read through the store's
// ExportMix: a checked store proves each sample and the manifest against its logged hash.
func (b *Builder) priorHumans(ctx context.Context, req *registry.MixRequest, limits policy.Limits) (*priorSet, error) {
	if req.BaseModel == "" {
		return nil, nil
	}
	m, err := b.Store.GetModel(ctx, req.BaseModel)
	if registry.ErrorCode(err) == registry.ENOTFOUND {
		msg := "model " + strconv.Quote(req.BaseModel) + " is not registered"
		return nil, &registry.Error{Code: registry.EUNPROCESSABLE, Message: "base_model: " + msg,
			Fields: []registry.FieldError{{Field: "base_model", Message: msg}}}
	}
	if err != nil {
		return nil, err
	}
	if limits.Accumulate == nil || !*limits.Accumulate {
		return nil, nil
	}
	prior := &priorSet{model: m.Ref(), ids: map[uuid.UUID]bool{}}
	for _, mixID := range m.TrainedOn {
		err := b.Store.ExportMix(ctx, mixID, func(s *registry.Sample) error {
			if s.Origin != registry.OriginHuman {
				return nil
			}
			id, err := uuid.Parse(s.ID)
			if err != nil {
				return fmt.Errorf("mix %s: sample id %q: %w", mixID, s.ID, err)
			}
			prior.ids[id] = true
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read the training mix %s of base model %s: %w", mixID, m.Ref(), err)
		}
	}
	return prior, nil
}

// admittedPrior is how many of the prior human samples the policy admits today, whatever the
// request's filters and strategy: the pool's when the request narrows nothing, else those of a
// second admission query with the policy alone.
func (b *Builder) admittedPrior(ctx context.Context, q registry.PoolQuery, prior *priorSet, p *pool) (int, error) {
	if prior == nil {
		return 0, nil
	}
	if len(q.Datasets) == 0 && len(q.ModelIDs) == 0 && len(q.Origins) == 0 && q.AsOf == nil && q.BestOfK == nil {
		n := 0
		for i := range p.rows {
			if p.rows[i].prior {
				n++
			}
		}
		return n, nil
	}
	n := 0
	policyOnly := registry.PoolQuery{Where: q.Where, MaxGeneration: q.MaxGeneration, Origins: []string{registry.OriginHuman}}
	err := b.Store.MixPool(ctx, policyOnly, func(r *registry.PoolRow) error {
		if id, err := uuid.Parse(r.ID); err == nil && prior.ids[id] {
			n++
		}
		return nil
	})
	return n, err
}

// accumulateViolation says how many admitted prior human samples the mix leaves out, and why;
// inPool is how many of them the request's pool held.
func accumulateViolation(a *registry.AccumulateStats, inPool int) string {
	var why []string
	if n := a.Admitted - inPool; n > 0 {
		why = append(why, fmt.Sprintf("%d left out by the request's filter or strategy", n))
	}
	if n := inPool - a.Kept; n > 0 {
		why = append(why, fmt.Sprintf("%d beyond its size", n))
	}
	return fmt.Sprintf("the mix leaves out %s of base model %s's training mixes that the policy still admits, keeping %d of %d (accumulate): %s",
		count(a.Admitted-a.Kept, "human sample"), a.BaseModel, a.Kept, a.Admitted, strings.Join(why, "; "))
}

// count writes n things, in the singular for one.
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return strconv.Itoa(n) + " " + thing + "s"
}

// refuseRequest records the refusal of a request that no mix could satisfy, with its one reason,
// without drawing a mix or asking the policy about one.
func (b *Builder) refuseRequest(ctx context.Context, req registry.MixRequest, pv *registry.PolicyVersion, pool *pool,
	reason string, dryRun bool, idem *registry.Idempotency) (*Result, error) {
	now := b.now()
	stats := pool.stats(nil)
	input, err := json.Marshal(Summary{Strategy: req.Strategy, Stats: stats, Request: req})
	if err != nil {
		return nil, err
	}
	d := &registry.Decision{Policy: pv.Ref(), Violations: []string{reason}, Input: input, EvaluatedAt: now}
	res := &Result{Decision: d}
	if dryRun {
		return res, nil
	}
	d.ID = uuid.Must(uuid.NewV7()).String()
	if err := registry.WriteMix(ctx, b.Store, d, nil, nil, idem); err != nil {
		return nil, err
	}
	return res, nil
}

func (b *Builder) now() time.Time {
	if b.Now != nil {
		return b.Now().UTC().Truncate(time.Millisecond)
	}
	return time.Now().UTC().Truncate(time.Millisecond)
}

// poolQuery turns the request and the policy into the store's candidate query, resolving model
// references to ids.
func (b *Builder) poolQuery(ctx context.Context, req *registry.MixRequest, compiled *policy.Policy, limits policy.Limits) (registry.PoolQuery, error) {
	q := registry.PoolQuery{
		Where:         compiled.Where(policy.Dialect(b.Store.Dialect())),
		MaxGeneration: limits.MaxGeneration,
		Datasets:      req.Filter.Datasets,
		Origins:       req.Filter.Origins,
		AsOf:          req.Filter.AsOf,
	}
	var err error
	if q.ModelIDs, err = b.modelIDs(ctx, "filter/models", req.Filter.Models); err != nil {
		return q, err
	}
	if req.Strategy.Name == registry.StrategyBestOfK {
		bk := &registry.BestOfKPool{Objective: req.Strategy.Objective, PerModel: req.Strategy.Source == registry.SourceSingle}
		if bk.ModelIDs, err = b.modelIDs(ctx, "strategy/models", req.Strategy.Models); err != nil {
			return q, err
		}
		if len(bk.ModelIDs) == 0 {
			bk.ModelIDs, bk.KeepHumans = q.ModelIDs, true
		}
		q.BestOfK = bk
	}
	return q, nil
}

func (b *Builder) modelIDs(ctx context.Context, field string, refs []string) ([]string, error) {
	var ids []string
	for i, ref := range refs {
		m, err := b.Store.GetModel(ctx, ref)
		if registry.ErrorCode(err) == registry.ENOTFOUND {
			f := field + "/" + strconv.Itoa(i)
			return nil, &registry.Error{Code: registry.EUNPROCESSABLE, Message: f + ": model " + strconv.Quote(ref) + " is not registered",
				Fields: []registry.FieldError{{Field: f, Message: "model " + strconv.Quote(ref) + " is not registered"}}}
		}
		if err != nil {
			return nil, err
		}
		ids = append(ids, m.ID)
	}
	return ids, nil
}

// row is one admitted sample, packed: a pool of a million rows takes about 80 MB.
type row struct {
	key        uint64
	id         uuid.UUID
	content    [32]byte
	norm       [32]byte  // the normalized text's SHA-256
	cluster    uuid.UUID // the near-duplicate cluster's first sample
	model      uint32    // index into pool.models; 0 is human
	generation int32
	basis      uint32
	dataset    uint32
	sourceKind uint32
	source     uint32 // the source's name; for web_crawl, the URI's host
	sourceURI  uint32
	license    uint32
	created    int64 // Unix ms
	tokens     int32
	mtld       float64
	toxicity   float64 // NaN when unscored
	prior      bool    // human data of the base model's training mixes (accumulate)
}

// pool holds the admitted samples and the strings they share.
type pool struct {
	rows    []row
	seed    int64
	strings map[string]uint32
	names   []string
	models  map[string]uint32 // model ref → index from 1
	refs    []string          // index → model ref; refs[0] is ""

	prior        *priorSet // the base model's human data, under the accumulate limit
	priorDeduped int       // prior rows that dedup removed
}

func newPool(seed int64) *pool {
	return &pool{seed: seed, strings: map[string]uint32{}, models: map[string]uint32{}, refs: []string{""}}
}

func (p *pool) intern(s string) uint32 {
	if i, ok := p.strings[s]; ok {
		return i
	}
	i := uint32(len(p.names))
	p.strings[s] = i
	p.names = append(p.names, s)
	return i
}

func (p *pool) add(r *registry.PoolRow) error {
	id, err := uuid.Parse(r.ID)
	if err != nil {
		return fmt.Errorf("pool row id %q: %w", r.ID, err)
	}
	var content [32]byte
	if _, err := hex.Decode(content[:], []byte(r.ContentSHA256)); err != nil {
		return fmt.Errorf("pool row %s content hash: %w", r.ID, err)
	}
	cluster := id // a row without a cluster is its own
	if r.Cluster != "" {
		if cluster, err = uuid.Parse(r.Cluster); err != nil {
			return fmt.Errorf("pool row %s cluster %q: %w", r.ID, r.Cluster, err)
		}
	}
	x := row{id: id, content: content, cluster: cluster, generation: int32(r.Generation), basis: p.intern(r.Basis),
		dataset: p.intern(r.Dataset), sourceKind: p.intern(r.SourceKind), license: p.intern(r.License),
		source: p.intern(sourceName(r)), sourceURI: p.intern(r.SourceURI), created: r.CreatedAt.UnixMilli(),
		tokens: int32(r.Tokens), mtld: r.MTLD, toxicity: math.NaN()}
	x.norm = content // a row without a normalized key is equal to byte-equal texts only
	if r.NormSHA256 != "" {
		if _, err := hex.Decode(x.norm[:], []byte(r.NormSHA256)); err != nil {
			return fmt.Errorf("pool row %s normalized key: %w", r.ID, err)
		}
	}
	if r.Toxicity != nil {
		x.toxicity = *r.Toxicity
	}
	x.prior = p.prior != nil && r.Origin == registry.OriginHuman && p.prior.ids[id]
	if r.Origin == registry.OriginModel {
		m, ok := p.models[r.Model]
		if !ok {
			m = uint32(len(p.refs))
			p.models[r.Model] = m
			p.refs = append(p.refs, r.Model)
		}
		x.model = m
	}
	p.rows = append(p.rows, x)
	return nil
}

// sourceName names a sample's source for the summary: the host for crawled data, else the source's
// name, else its dataset.
func sourceName(r *registry.PoolRow) string {
	if r.SourceKind == "web_crawl" && r.SourceURI != "" {
		if u, err := url.Parse(r.SourceURI); err == nil && u.Hostname() != "" {
			return strings.ToLower(u.Hostname())
		}
	}
	if r.SourceName != "" {
		return r.SourceName
	}
	return r.Dataset
}

// drawKey orders samples for a seed: a fixed 64-bit mix (SplitMix64's finalizer) of the seed and the
// id's two halves. It is part of the manifest's reproducibility: never change it.
func drawKey(seed int64, id uuid.UUID) uint64 {
	hi, lo := binary.BigEndian.Uint64(id[:8]), binary.BigEndian.Uint64(id[8:])
	return splitmix(splitmix(uint64(seed)^hi) ^ lo)
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// quota is how many samples of each kind a mix takes.
type quota struct {
	total, human, synthetic int
	perModel                int // no model above this count
}

// planQuota finds the largest mix of at most size samples that the limits allow: synthetic share at
// most max_synthetic_ratio, no model above max_model_share of the mix, at least min_human_samples
// humans where the pool has them. With ratio, the synthetic count is round(ratio × total) exactly;
// without, it follows the pool's own share, capped. available lists the pool's samples per model.
func planQuota(humans int, available []int, size int, ratio *float64, l policy.Limits) quota {
	maxRatio, share := 1.0, 1.0
	if l.MaxSyntheticRatio != nil {
		maxRatio = *l.MaxSyntheticRatio
	}
	if l.MaxModelShare != nil {
		share = *l.MaxModelShare
	}
	floor := 0
	if l.MinHumanSamples != nil {
		floor = min(*l.MinHumanSamples, humans)
	}
	synthetic := 0
	for _, a := range available {
		synthetic += a
	}
	const eps = 1e-9
	for total := min(size, humans+synthetic); total > 0; total-- {
		perModel := int(math.Floor(share*float64(total) + eps))
		supply := 0
		for _, a := range available {
			supply += min(a, perModel)
		}
		hi := min(supply, int(math.Floor(maxRatio*float64(total)+eps)), max(0, total-floor))
		lo := max(0, total-humans)
		if lo > hi {
			continue
		}
		var xs int
		if ratio != nil {
			xs = int(math.Round(*ratio * float64(total)))
			if xs < lo || xs > hi {
				continue
			}
		} else {
			xs = min(max(int(math.Round(float64(total)*float64(synthetic)/float64(humans+synthetic))), lo), hi)
		}
		return quota{total: total, human: total - xs, synthetic: xs, perModel: perModel}
	}
	return quota{}
}

// dedup keeps one row of each group of duplicates: rows whose texts are equal after normalization
// and, with near, rows of one near-duplicate cluster. The row kept is the one nearest to human
// writing (the lowest generation: the original before its copies), then the best by the best-of-k
// objective if there is one, then the first registered of its cluster, then the first in the
// seed's draw order, so the choice is deterministic. It returns how many rows it removed.
func (p *pool) dedup(near bool, objective string) int {
	order := make([]int, len(p.rows))
	for i := range p.rows {
		order[i] = i
		p.rows[i].key = drawKey(p.seed, p.rows[i].id)
	}
	slices.SortFunc(order, func(a, b int) int {
		ra, rb := &p.rows[a], &p.rows[b]
		if c := cmp.Compare(ra.generation, rb.generation); c != 0 {
			return c
		}
		if c := compareObjective(ra, rb, objective); c != 0 {
			return c
		}
		if c := cmp.Compare(btoi(ra.id != ra.cluster), btoi(rb.id != rb.cluster)); c != 0 {
			return c
		}
		if c := cmp.Compare(ra.key, rb.key); c != 0 {
			return c
		}
		return slices.Compare(ra.id[:], rb.id[:])
	})
	seenText := make(map[[32]byte]bool, len(p.rows))
	seenCluster := make(map[uuid.UUID]bool)
	keep := make([]bool, len(p.rows))
	for _, i := range order {
		r := &p.rows[i]
		if seenText[r.norm] || near && seenCluster[r.cluster] {
			continue
		}
		seenText[r.norm] = true
		if near {
			seenCluster[r.cluster] = true
		}
		keep[i] = true
	}
	kept := p.rows[:0]
	for i, r := range p.rows {
		if keep[i] {
			kept = append(kept, r)
		} else if r.prior {
			p.priorDeduped++
		}
	}
	removed := len(p.rows) - len(kept)
	p.rows = kept
	return removed
}

// compareObjective orders two rows best first for a best-of-k objective (registry.Objectives): the
// higher MTLD, the longer text, or the lower toxicity (unscored last); 0 without an objective.
func compareObjective(a, b *row, objective string) int {
	switch objective {
	case registry.ObjectiveMTLD:
		return cmp.Compare(b.mtld, a.mtld)
	case registry.ObjectiveLength:
		return cmp.Compare(b.tokens, a.tokens)
	case registry.ObjectiveToxicity:
		if an, bn := math.IsNaN(a.toxicity), math.IsNaN(b.toxicity); an || bn {
			return cmp.Compare(btoi(an), btoi(bn)) // unscored last
		}
		return cmp.Compare(a.toxicity, b.toxicity)
	}
	return 0
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// selectMix draws the mix: each row gets its seed's key; humans and model output are taken in key
// order up to their quotas, no model above its cap; the result is in key order.
func (p *pool) selectMix(size int, ratio *float64, l policy.Limits) []int {
	var humans, synthetic []int
	perModel := make([]int, len(p.refs))
	for i := range p.rows {
		r := &p.rows[i]
		r.key = drawKey(p.seed, r.id)
		if r.model == 0 {
			humans = append(humans, i)
		} else {
			synthetic = append(synthetic, i)
			perModel[r.model]++
		}
	}
	q := planQuota(len(humans), perModel[1:], size, ratio, l)
	byKey := func(a, b int) int {
		ra, rb := &p.rows[a], &p.rows[b]
		if ra.key != rb.key {
			if ra.key < rb.key {
				return -1
			}
			return 1
		}
		return slices.Compare(ra.id[:], rb.id[:])
	}
	slices.SortFunc(humans, func(a, b int) int {
		if c := cmp.Compare(btoi(!p.rows[a].prior), btoi(!p.rows[b].prior)); c != 0 {
			return c // the base model's human data first (accumulate)
		}
		return byKey(a, b)
	})
	slices.SortFunc(synthetic, byKey)
	out := append(make([]int, 0, q.total), humans[:q.human]...)
	taken := make([]int, len(p.refs))
	for _, i := range synthetic {
		if len(out) == q.total {
			break
		}
		if m := p.rows[i].model; taken[m] < q.perModel {
			taken[m]++
			out = append(out, i)
		}
	}
	slices.SortFunc(out, byKey)
	return out
}

// keepPrior raises the human floor of l to the prior human rows in the pool, so that the quota
// makes room for all of them before model output where the limits allow.
func (p *pool) keepPrior(l policy.Limits) policy.Limits {
	if p.prior == nil {
		return l
	}
	n := 0
	for i := range p.rows {
		if p.rows[i].prior {
			n++
		}
	}
	if l.MinHumanSamples == nil || *l.MinHumanSamples < n {
		l.MinHumanSamples = &n
	}
	return l
}

// accumulated accounts for the prior human data in the selection; admitted is how many of it the
// policy admits (before dedup). It also returns how many prior rows the pool held.
func (p *pool) accumulated(sel []int, model string, admitted int) (*registry.AccumulateStats, int) {
	inPool, kept := 0, 0
	for i := range p.rows {
		if p.rows[i].prior {
			inPool++
		}
	}
	for _, i := range sel {
		if p.rows[i].prior {
			kept++
		}
	}
	a := &registry.AccumulateStats{BaseModel: model, Prior: len(p.prior.ids), Admitted: admitted - p.priorDeduped, Kept: kept}
	a.Dropped = a.Prior - a.Admitted
	return a, inPool
}

// emptyReason says why no mix could be drawn: nothing admitted, or only model output where the
// synthetic cap needs human samples beside it.
func (p *pool) emptyReason(l policy.Limits) string {
	if len(p.rows) == 0 {
		return "the policy admits no samples for this request"
	}
	humans := 0
	for i := range p.rows {
		if p.rows[i].model == 0 {
			humans++
		}
	}
	if humans == 0 && l.MaxSyntheticRatio != nil && *l.MaxSyntheticRatio < 1 {
		return fmt.Sprintf("the policy admits %s for this request and no human ones; max_synthetic_ratio %.4g needs human samples beside them",
			count(len(p.rows), "model sample"), *l.MaxSyntheticRatio)
	}
	return fmt.Sprintf("the policy's limits allow no mix of the %s it admits for this request", count(len(p.rows), "sample"))
}

// stats summarises the selected rows: exactly what deny sees.
func (p *pool) stats(sel []int) registry.MixStats {
	s := registry.MixStats{Generations: map[string]int{}, Models: map[string]int{}, Metrics: map[string]registry.MetricSummary{},
		Datasets: map[string]int{}, SourceKinds: map[string]int{}, Licenses: map[string]int{}, Bases: map[string]int{}, Pool: len(p.rows),
		Sources: map[string]map[string]registry.SourceStat{}}
	var tokens, mtld, tox summary
	var latest int64
	for _, i := range sel {
		r := &p.rows[i]
		if r.model == 0 {
			s.Human++
		} else {
			s.Synthetic++
			s.Models[p.refs[r.model]]++
		}
		s.Generations[strconv.Itoa(int(r.generation))]++
		s.MaxGeneration = max(s.MaxGeneration, int(r.generation))
		if ds := p.names[r.dataset]; ds != "" {
			s.Datasets[ds]++
		}
		s.SourceKinds[p.names[r.sourceKind]]++
		if lic := p.names[r.license]; lic != "" {
			s.Licenses[lic]++
		}
		s.Bases[p.names[r.basis]]++
		s.Tokens += int64(r.tokens)
		latest = max(latest, r.created)
		kind := p.names[r.sourceKind]
		if s.Sources[kind] == nil {
			s.Sources[kind] = map[string]registry.SourceStat{}
		}
		st := s.Sources[kind][p.names[r.source]]
		st.Samples++
		st.Tokens += int64(r.tokens)
		if st.URI == "" && kind != "web_crawl" {
			st.URI = p.names[r.sourceURI]
		}
		s.Sources[kind][p.names[r.source]] = st
		tokens.add(float64(r.tokens))
		mtld.add(r.mtld)
		if math.IsNaN(r.toxicity) {
			s.UnscoredToxic++
		} else {
			tox.add(r.toxicity)
		}
	}
	if n := len(sel); n > 0 {
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

type summary struct {
	n             int
	min, max, sum float64
}

func (s *summary) add(v float64) {
	if s.n == 0 || v < s.min {
		s.min = v
	}
	if s.n == 0 || v > s.max {
		s.max = v
	}
	s.n++
	s.sum += v
}

func (s *summary) result() registry.MetricSummary {
	if s.n == 0 {
		return registry.MetricSummary{}
	}
	return registry.MetricSummary{Count: s.n, Min: s.min, Max: s.max, Mean: s.sum / float64(s.n)}
}

// ids returns the selected sample ids in manifest order.
func (p *pool) ids(sel []int) []string {
	out := make([]string, len(sel))
	for j, i := range sel {
		out[j] = p.rows[i].id.String()
	}
	return out
}

// manifestSHA256 hashes the manifest as registry.ManifestHash defines it.
func (p *pool) manifestSHA256(sel []int) string {
	m := registry.NewManifestHash()
	for _, i := range sel {
		m.AddRaw(p.rows[i].id, p.rows[i].content)
	}
	return m.Sum()
}
