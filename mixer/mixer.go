// Package mixer builds training mixes: it admits candidates in the database with the policy's
// compiled include, plans the quotas that obey the policy's limits from the pool's counts, has the
// database draw them deterministically from the seed (registry.Draw: Go holds no row of the pool),
// checks the policy's deny rules on the summary, and records the decision and the mix.
package mixer

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/pedigreeml/pedigree/policy"
	"github.com/pedigreeml/pedigree/registry"
)

// Store is what Build needs from a store: the dialect the policy's include is translated to, the
// draw that selects the mix inside the database, the models a request names, a base model's
// training mixes (ExportMix, for the accumulate limit), and the write transaction that
// registry.WriteMix saves the decision and the mix in. GetModel answers ENOTFOUND for an unknown
// model (Build answers EUNPROCESSABLE).
type Store interface {
	registry.Writer
	Dialect() string
	OpenDraw(ctx context.Context, q registry.DrawQuery) (registry.Draw, error)
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
	// Size is the number of samples drawn (the mix's size when it is allowed).
	Size int
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
	dq := registry.DrawQuery{Pool: q, Seed: req.Seed}
	if limits.Dedup != nil {
		dq.Dedup = *limits.Dedup
		if req.Strategy.Name == registry.StrategyBestOfK {
			dq.Objective = req.Strategy.Objective
		}
	}
	draw, err := b.Store.OpenDraw(ctx, dq)
	if err != nil {
		return nil, err
	}
	defer draw.Close()
	prior, err := b.priorHumans(ctx, &req, limits, draw)
	if err != nil {
		return nil, err
	}
	counts, err := draw.Counts(ctx)
	if err != nil {
		return nil, err
	}
	admitted, err := admittedPrior(ctx, draw, q, prior, counts)
	if err != nil {
		return nil, err
	}
	if r, capR := req.SyntheticRatio, limits.MaxSyntheticRatio; r != nil && capR != nil && *r > *capR+1e-12 {
		// The request itself is refused: no mix is drawn, so nothing else about one would be true.
		reason := fmt.Sprintf("requested synthetic_ratio %.4g exceeds the policy's max_synthetic_ratio %.4g", *r, *capR)
		return b.refuseRequest(ctx, req, pv, counts, reason, dryRun, idem)
	}
	var violations []string
	available := make([]int, len(counts.Models))
	for i, m := range counts.Models {
		available[i] = m.N
	}
	qt := planQuota(counts.Humans, available, req.Size, req.SyntheticRatio, keepPrior(limits, prior, counts))
	size, err := draw.Select(ctx, registry.DrawQuota{Humans: qt.human, Synthetic: qt.synthetic, PerModel: qt.perModel})
	if err != nil {
		return nil, err
	}
	stats, err := draw.Stats(ctx)
	if err != nil {
		return nil, err
	}
	stats.Pool = counts.Pool
	stats.Duplicates = counts.Pool - counts.Humans - counts.Synthetic()
	if prior != nil {
		kept, err := draw.Kept(ctx)
		if err != nil {
			return nil, err
		}
		a := &registry.AccumulateStats{BaseModel: prior.model, Prior: prior.n, Admitted: admitted - (counts.PoolPrior - counts.Prior), Kept: kept}
		a.Dropped = a.Prior - a.Admitted
		stats.Accumulated = a
		if a.Kept < a.Admitted {
			violations = append(violations, accumulateViolation(a, counts.Prior))
		}
	}
	if size == 0 && len(violations) == 0 {
		violations = append(violations, emptyReason(counts, limits))
	}
	if req.MinSize > 0 && size < req.MinSize {
		violations = append(violations, fmt.Sprintf("the mix holds %s, fewer than min_size %d", count(size, "sample"), req.MinSize))
	}
	if f := limits.MinHumanSamples; f != nil && stats.Human < *f {
		violations = append(violations, fmt.Sprintf("the mix holds %s; the policy requires at least %d (min_human_samples)", count(stats.Human, "human sample"), *f))
	}

	now := b.now()
	summary := Summary{Size: size, Strategy: req.Strategy, Stats: stats, Request: req}
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
	res := &Result{Decision: d, Size: size}
	var manifest registry.Manifest
	if d.Allowed {
		sum, err := manifestSHA256(ctx, draw)
		if err != nil {
			return nil, err
		}
		res.Mix = &registry.Mix{Policy: pv.Ref(), Size: size, Seed: req.Seed, Strategy: req.Strategy,
			Request: req, Stats: stats, ManifestSHA256: sum, CreatedAt: now}
		manifest = func(fn func(uuid.UUID) error) error {
			return draw.Manifest(ctx, func(id uuid.UUID, _ [sha256.Size]byte) error { return fn(id) })
		}
	}
	if dryRun {
		return res, nil
	}
	d.ID = uuid.Must(uuid.NewV7()).String()
	if res.Mix != nil {
		res.Mix.ID = uuid.Must(uuid.NewV7()).String()
		res.Mix.DecisionID = d.ID
	}
	if err := registry.WriteMix(ctx, b.Store, d, res.Mix, manifest, idem); err != nil {
		return nil, err
	}
	return res, nil
}

// manifestSHA256 hashes the draw's manifest as registry.ManifestHash defines it.
func manifestSHA256(ctx context.Context, draw registry.Draw) (string, error) {
	m := registry.NewManifestHash()
	err := draw.Manifest(ctx, func(id uuid.UUID, content [sha256.Size]byte) error { m.AddRaw(id, content); return nil })
	if err != nil {
		return "", err
	}
	return m.Sum(), nil
}

// priorSet is the human data a base model was trained on: what the accumulate limit keeps.
type priorSet struct {
	model string // the base model's name@version
	n     int    // its human samples
}

// priorHumans marks in the draw the human samples of the base model's training mixes, when the
// request names a base model and the policy accumulates; nil otherwise. The mixes are read through
// the store's ExportMix (a checked store proves each sample and the manifest against its logged
// hash) and marked a thousand at a time.
func (b *Builder) priorHumans(ctx context.Context, req *registry.MixRequest, limits policy.Limits, draw registry.Draw) (*priorSet, error) {
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
	prior := &priorSet{model: m.Ref()}
	batch := make([]string, 0, 1000)
	flush := func() error {
		n, err := draw.AddPrior(ctx, batch)
		prior.n += n
		batch = batch[:0]
		return err
	}
	for _, mixID := range m.TrainedOn {
		err := b.Store.ExportMix(ctx, mixID, func(s *registry.Sample) error {
			if s.Origin != registry.OriginHuman {
				return nil
			}
			if batch = append(batch, s.ID); len(batch) == cap(batch) {
				return flush()
			}
			return nil
		})
		if err == nil {
			err = flush()
		}
		if err != nil {
			return nil, fmt.Errorf("read the training mix %s of base model %s: %w", mixID, m.Ref(), err)
		}
	}
	return prior, nil
}

// admittedPrior is how many of the prior human samples the policy admits today, whatever the
// request's filters and strategy: the pool's when the request narrows nothing, else those of a
// second admission query with the policy alone.
func admittedPrior(ctx context.Context, draw registry.Draw, q registry.PoolQuery, prior *priorSet, c *registry.DrawCounts) (int, error) {
	if prior == nil {
		return 0, nil
	}
	if len(q.Datasets) == 0 && len(q.ModelIDs) == 0 && len(q.Origins) == 0 && q.AsOf == nil && q.BestOfK == nil {
		return c.PoolPrior, nil
	}
	return draw.AdmittedPrior(ctx, registry.PoolQuery{Where: q.Where, MaxGeneration: q.MaxGeneration, Origins: []string{registry.OriginHuman}})
}

// keepPrior raises the human floor of l to the prior human samples in the pool, so that the quota
// makes room for all of them before model output where the limits allow.
func keepPrior(l policy.Limits, prior *priorSet, c *registry.DrawCounts) policy.Limits {
	if prior == nil {
		return l
	}
	if n := c.Prior; l.MinHumanSamples == nil || *l.MinHumanSamples < n {
		l.MinHumanSamples = &n
	}
	return l
}

// emptyReason says why no mix could be drawn: nothing admitted, or only model output where the
// synthetic cap needs human samples beside it.
func emptyReason(c *registry.DrawCounts, l policy.Limits) string {
	n := c.Humans + c.Synthetic()
	if n == 0 {
		return "the policy admits no samples for this request"
	}
	if c.Humans == 0 && l.MaxSyntheticRatio != nil && *l.MaxSyntheticRatio < 1 {
		return fmt.Sprintf("the policy admits %s for this request and no human ones; max_synthetic_ratio %.4g needs human samples beside them",
			count(n, "model sample"), *l.MaxSyntheticRatio)
	}
	return fmt.Sprintf("the policy's limits allow no mix of the %s it admits for this request", count(n, "sample"))
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
func (b *Builder) refuseRequest(ctx context.Context, req registry.MixRequest, pv *registry.PolicyVersion, c *registry.DrawCounts,
	reason string, dryRun bool, idem *registry.Idempotency) (*Result, error) {
	now := b.now()
	stats := registry.MixStatsOf(nil)
	stats.Pool = c.Pool
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
