package mixer_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/pedigreeml/pedigree/mixer"
	"github.com/pedigreeml/pedigree/mixer/mixertest"
	"github.com/pedigreeml/pedigree/policy"
	"github.com/pedigreeml/pedigree/registry"
)

// fakeRow is a sample the fake store holds: the row a pool query returns, and its rank in its
// prompt's best-of-k group (0 for a sample that answers no prompt).
type fakeRow struct {
	registry.PoolRow
	rank int
}

// saved is what one write transaction of a build stored.
type saved struct {
	d        *registry.Decision
	m        *registry.Mix
	manifest []string
	idem     *registry.Idempotency
}

// fakeStore is the store Build runs on in these tests: it admits every row, or with a best-of-k
// query the rows of rank 1 and those that answer no prompt, records the queries and what each write
// transaction stored, and fails where told to.
type fakeStore struct {
	rows     []fakeRow
	models   map[string]*registry.Model // by name@version
	mixes    map[string][]*registry.Sample
	policies map[string][]*registry.PolicyVersion

	poolErr, writeErr, modelErr, policyErr error

	queries []registry.PoolQuery
	draws   []*mixertest.MemDraw
	saves   []saved
}

var _ mixer.Store = (*fakeStore)(nil)
var _ mixer.PolicyStore = (*fakeStore)(nil)

func (f *fakeStore) Dialect() string { return "sqlite" }

// OpenDraw draws from the rows the query admits with the reference draw (mixertest.MemDraw).
func (f *fakeStore) OpenDraw(ctx context.Context, q registry.DrawQuery) (registry.Draw, error) {
	f.queries = append(f.queries, q.Pool)
	if f.poolErr != nil {
		return nil, f.poolErr
	}
	d := &mixertest.MemDraw{Q: q, Admit: admits}
	f.draws = append(f.draws, d)
	for _, r := range f.rows {
		d.All = append(d.All, r.PoolRow)
		if admits(&r.PoolRow, q.Pool) && (q.Pool.BestOfK == nil || r.rank <= 1) {
			d.Rows = append(d.Rows, r.PoolRow)
		}
	}
	return d, nil
}

// admits is the fake's admission: by dataset only.
func admits(r *registry.PoolRow, q registry.PoolQuery) bool {
	return len(q.Datasets) == 0 || slices.Contains(q.Datasets, r.Dataset)
}

func (f *fakeStore) GetModel(ctx context.Context, ref string) (*registry.Model, error) {
	if f.modelErr != nil {
		return nil, f.modelErr
	}
	if m, ok := f.models[ref]; ok {
		return m, nil
	}
	return nil, registry.Errorf(registry.ENOTFOUND, "model %s not found", ref)
}

func (f *fakeStore) ExportMix(ctx context.Context, id string, fn func(*registry.Sample) error) error {
	samples, ok := f.mixes[id]
	if !ok {
		return registry.Errorf(registry.ENOTFOUND, "mix %s not found", id)
	}
	for _, s := range samples {
		if err := fn(s); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeStore) GetPolicyVersion(ctx context.Context, name string, version int) (*registry.PolicyVersion, error) {
	if f.policyErr != nil {
		return nil, f.policyErr
	}
	vs := f.policies[name]
	if version == 0 {
		version = len(vs)
	}
	if version < 1 || version > len(vs) {
		return nil, registry.Errorf(registry.ENOTFOUND, "policy %s@%d not found", name, version)
	}
	return vs[version-1], nil
}

// Write runs fn on a fakeTx and keeps what it stored if fn succeeds.
func (f *fakeStore) Write(ctx context.Context, fn func(tx registry.Tx) error) error {
	if f.writeErr != nil {
		return f.writeErr
	}
	tx := &fakeTx{f: f}
	if err := fn(tx); err != nil {
		return err
	}
	if tx.saved.d != nil {
		f.saves = append(f.saves, tx.saved)
	}
	return nil
}

// fakeTx offers the primitives that registry.WriteMix and registry.WritePolicyVersion use; any
// other panics on the nil embedded Tx.
type fakeTx struct {
	registry.Tx
	f     *fakeStore
	saved saved
}

func (tx *fakeTx) Idempotent(ctx context.Context, scope, key string) (*registry.IdempotentResult, error) {
	return nil, nil
}

func (tx *fakeTx) WriteIdempotent(ctx context.Context, idem *registry.Idempotency, r registry.IdempotentResult) error {
	tx.saved.idem = idem
	return nil
}

func (tx *fakeTx) WriteDecision(ctx context.Context, d *registry.Decision) error {
	tx.saved.d = d
	return nil
}

func (tx *fakeTx) WriteMix(ctx context.Context, m *registry.Mix, manifest registry.Manifest) error {
	tx.saved.m = m
	return manifest(func(id uuid.UUID) error {
		tx.saved.manifest = append(tx.saved.manifest, id.String())
		return nil
	})
}

func (tx *fakeTx) LatestPolicyVersion(ctx context.Context, name string) (*registry.PolicyVersion, error) {
	return tx.f.GetPolicyVersion(ctx, name, 0)
}

func (tx *fakeTx) WritePolicyVersion(ctx context.Context, p *registry.PolicyVersion) error {
	if tx.f.policies == nil {
		tx.f.policies = map[string][]*registry.PolicyVersion{}
	}
	tx.f.policies[p.Name] = append(tx.f.policies[p.Name], p)
	return nil
}

// pool builds a fake pool: humans human samples, then n samples of each model given as
// "name@version=n".
func pool(humans int, models ...string) []fakeRow {
	var rows []fakeRow
	add := func(origin, model string) {
		id := uuid.Must(uuid.NewV7()).String()
		sum := sha256.Sum256([]byte(id))
		r := registry.PoolRow{ID: id, ContentSHA256: hex.EncodeToString(sum[:]), Origin: origin, Model: model,
			Basis: registry.BasisHuman, SourceKind: "other", CreatedAt: time.UnixMilli(1_700_000_000_000).UTC(), Tokens: 12, MTLD: 40}
		if origin == registry.OriginModel {
			r.Generation, r.Basis = 1, registry.BasisDeclared
		}
		rows = append(rows, fakeRow{PoolRow: r})
	}
	for range humans {
		add(registry.OriginHuman, "")
	}
	for _, m := range models {
		ref, n, _ := strings.Cut(m, "=")
		var count int
		fmt.Sscan(n, &count)
		for range count {
			add(registry.OriginModel, ref)
		}
	}
	return rows
}

// candidates returns one prompt's answers from model ref, ranked 1, 2, …
func candidates(ref string, n int) []fakeRow {
	rows := pool(0, fmt.Sprintf("%s=%d", ref, n))
	for i := range rows {
		rows[i].rank = i + 1
	}
	return rows
}

// norm is a stand-in normalized key.
func norm(text string) string {
	sum := sha256.Sum256([]byte("norm:" + text))
	return hex.EncodeToString(sum[:])
}

func limits(l string) string { return "package pedigree.mix\n\nlimits := " + l + "\n" }

func TestBuild(t *testing.T) {
	errPool, errWrite, errModel, errPolicy := errors.New("pool: connection reset"), errors.New("write: disk full"),
		errors.New("models: timeout"), errors.New("policies: timeout")
	ratio := func(r float64) *float64 { return &r }
	modelA := &registry.Model{ID: "01900000-0000-7000-8000-00000000000a", Name: "a", Version: "1"}
	modelB := &registry.Model{ID: "01900000-0000-7000-8000-00000000000b", Name: "b", Version: "1"}
	prompted := slices.Concat(pool(3), candidates("a@1", 3), candidates("b@1", 2)) // 3 humans, then a's and b's answers
	rank1 := []string{prompted[0].ID, prompted[1].ID, prompted[2].ID, prompted[3].ID, prompted[6].ID}
	// dupRows: a human text (0) and a model copy of it (1, equal after normalization); two model
	// texts of one near-duplicate cluster (2 heads it, 3 joined it, with the higher MTLD); and a
	// text of its own (4).
	dupRows := pool(1, "a@1=4")
	dupRows[1].NormSHA256 = norm("copied")
	dupRows[0].NormSHA256 = norm("copied")
	dupRows[3].Cluster, dupRows[3].MTLD = dupRows[2].ID, 90
	// accRows: 30 humans and 30 of a's samples; the base model s@1 was trained on a mix of the first
	// ten humans, one of a's samples, and a human sample the policy no longer admits (not in the
	// pool).
	accRows := pool(30, "a@1=30")
	accumulate := limits(`{"accumulate": true, "max_synthetic_ratio": 0.5}`)
	var trained []*registry.Sample
	for _, r := range accRows[:10] {
		trained = append(trained, &registry.Sample{ID: r.ID, Origin: registry.OriginHuman})
	}
	trained = append(trained, &registry.Sample{ID: accRows[40].ID, Origin: registry.OriginModel, Model: "a@1"},
		&registry.Sample{ID: uuid.Must(uuid.NewV7()).String(), Origin: registry.OriginHuman})
	priorIDs := func() []string {
		var ids []string
		for _, r := range accRows[:10] {
			ids = append(ids, r.ID)
		}
		return ids
	}()
	wantAccumulated := func(want registry.AccumulateStats) func(t *testing.T, f *fakeStore, res *mixer.Result) {
		return func(t *testing.T, f *fakeStore, res *mixer.Result) {
			var s mixer.Summary
			if err := json.Unmarshal(res.Decision.Input, &s); err != nil {
				t.Fatal(err)
			}
			if a := s.Stats.Accumulated; a == nil || *a != want {
				t.Fatalf("accumulated %+v, want %+v", a, want)
			}
		}
	}

	for _, tc := range []struct {
		name   string
		rows   []fakeRow
		module string
		req    registry.MixRequest
		dryRun bool
		fail   func(f *fakeStore)
		// wantErr is the error Build returns, matched with errors.Is, or a registry error code.
		wantErr     error
		wantErrCode string
		// Otherwise the decision: allowed, or refused with a violation containing wantViolation.
		wantAllowed   bool
		wantViolation string
		check         func(t *testing.T, f *fakeStore, res *mixer.Result)
	}{
		{
			name: "PolicyRefuses", rows: pool(10), req: registry.MixRequest{Size: 5},
			module:        limits("{}") + "\ndeny contains \"no mixes on a fake store\" if input.mix.size > 0\n",
			wantViolation: "no mixes on a fake store",
			check: func(t *testing.T, f *fakeStore, res *mixer.Result) {
				if !slices.Equal(res.Decision.Violations, []string{"no mixes on a fake store"}) {
					t.Fatalf("violations %q: the deny message alone", res.Decision.Violations)
				}
			},
		},
		{
			name: "PoolSmallerThanMinSize", rows: pool(5), module: limits("{}"),
			req: registry.MixRequest{Size: 10, MinSize: 8}, wantViolation: "the mix holds 5 samples, fewer than min_size 8",
		},
		{
			name: "SyntheticCapBinds", rows: pool(20, "a@1=40", "b@1=40"), module: limits(`{"max_synthetic_ratio": 0.5}`),
			req: registry.MixRequest{Size: 100, Seed: 1}, wantAllowed: true,
			check: func(t *testing.T, f *fakeStore, res *mixer.Result) {
				s := res.Mix.Stats
				if res.Mix.Size != 40 || s.Human != 20 || s.Synthetic != 20 || s.SyntheticRatio != 0.5 || s.Pool != 100 {
					t.Fatalf("size %d: %d human, %d synthetic (ratio %v) of a pool of %d; want 40 at the cap 0.5",
						res.Mix.Size, s.Human, s.Synthetic, s.SyntheticRatio, s.Pool)
				}
				wantManifest(t, f, res)
			},
		},
		{
			name: "RequestedSyntheticRatioAboveCapRefused", rows: pool(60, "a@1=60"), module: limits(`{"max_synthetic_ratio": 0.5}`),
			req:           registry.MixRequest{Size: 40, SyntheticRatio: ratio(0.75)},
			wantViolation: "requested synthetic_ratio 0.75 exceeds the policy's max_synthetic_ratio 0.5",
			check: func(t *testing.T, f *fakeStore, res *mixer.Result) {
				// The one true reason, once: no mix was drawn, so nothing is said about one.
				if len(res.Decision.Violations) != 1 || len(f.saves) != 1 || f.saves[0].d.ID == "" || f.saves[0].m != nil {
					t.Fatalf("violations %q, %d saves", res.Decision.Violations, len(f.saves))
				}
			},
		},
		{
			name: "DefaultPolicyStatesTheHumanFloorOnce", rows: pool(5, "a@1=3", "b@1=3"), module: policy.DefaultModule(),
			req:           registry.MixRequest{Size: 100},
			wantViolation: "the mix holds 5 human samples; the policy requires at least 100 (min_human_samples)",
			check: func(t *testing.T, f *fakeStore, res *mixer.Result) {
				if len(res.Decision.Violations) != 1 {
					t.Fatalf("violations %q: the floor once, and nothing else", res.Decision.Violations)
				}
			},
		},
		{
			name: "NothingAdmitted", module: limits("{}"), req: registry.MixRequest{Size: 10},
			wantViolation: "the policy admits no samples for this request",
		},
		{
			name: "OnlyModelOutputUnderACap", rows: pool(0, "a@1=10"), module: limits(`{"max_synthetic_ratio": 0.5}`),
			req:           registry.MixRequest{Size: 10},
			wantViolation: "the policy admits 10 model samples for this request and no human ones; max_synthetic_ratio 0.5 needs human samples beside them",
		},
		{
			name: "OneHumanSampleInTheSingular", rows: pool(1), module: limits(`{"min_human_samples": 2}`),
			req: registry.MixRequest{Size: 10}, wantViolation: "the mix holds 1 human sample; the policy requires at least 2",
		},
		{
			name: "RequestedSyntheticRatioHonoured", rows: pool(60, "a@1=60"), module: limits(`{"max_synthetic_ratio": 0.5}`),
			req: registry.MixRequest{Size: 40, SyntheticRatio: ratio(0.25)}, wantAllowed: true,
			check: func(t *testing.T, f *fakeStore, res *mixer.Result) {
				if res.Mix.Size != 40 || res.Mix.Stats.Synthetic != 10 {
					t.Fatalf("requested 0.25 of 40: %d synthetic of %d", res.Mix.Stats.Synthetic, res.Mix.Size)
				}
			},
		},
		{
			name: "DedupExactKeepsOnePerText", rows: dupRows, module: limits(`{"dedup": "exact"}`),
			req: registry.MixRequest{Size: 100}, wantAllowed: true,
			check: func(t *testing.T, f *fakeStore, res *mixer.Result) {
				// The human original wins over its model copy (lower generation); the near
				// duplicate stays, being another text.
				wantSet(t, manifestOf(f), []string{dupRows[0].ID, dupRows[2].ID, dupRows[3].ID, dupRows[4].ID})
				if s := res.Mix.Stats; s.Duplicates != 1 || s.Pool != 5 {
					t.Fatalf("duplicates_removed %d of a pool of %d; want 1 of 5", s.Duplicates, s.Pool)
				}
			},
		},
		{
			name: "DedupNearKeepsOnePerCluster", rows: dupRows, module: limits(`{"dedup": "near"}`),
			req: registry.MixRequest{Size: 100}, wantAllowed: true,
			check: func(t *testing.T, f *fakeStore, res *mixer.Result) {
				wantSet(t, manifestOf(f), []string{dupRows[0].ID, dupRows[2].ID, dupRows[4].ID})
				if res.Mix.Stats.Duplicates != 2 {
					t.Fatalf("duplicates_removed %d, want 2", res.Mix.Stats.Duplicates)
				}
			},
		},
		{
			name: "DedupKeepsTheBestByTheObjective", rows: dupRows, module: limits(`{"dedup": "near"}`), wantAllowed: true,
			req: registry.MixRequest{Size: 100, Strategy: registry.MixStrategy{Name: registry.StrategyBestOfK, Objective: registry.ObjectiveMTLD}},
			check: func(t *testing.T, f *fakeStore, res *mixer.Result) {
				// Rows 2 and 3 are one cluster of generation 1; row 3 has the higher MTLD.
				wantSet(t, manifestOf(f), []string{dupRows[0].ID, dupRows[3].ID, dupRows[4].ID})
			},
		},
		{
			name: "BestOfKChoosesRank1", rows: prompted, module: limits("{}"), wantAllowed: true,
			req: registry.MixRequest{Size: 100, Strategy: registry.MixStrategy{Name: registry.StrategyBestOfK, Objective: registry.ObjectiveLength}},
			check: func(t *testing.T, f *fakeStore, res *mixer.Result) {
				wantQuery(t, f, registry.BestOfKPool{Objective: registry.ObjectiveLength, KeepHumans: true})
				wantSet(t, manifestOf(f), rank1)
			},
		},
		{
			name: "BestOfKSingleSourceAmongModels", rows: prompted, module: limits("{}"), wantAllowed: true,
			req: registry.MixRequest{Size: 100, Strategy: registry.MixStrategy{Name: registry.StrategyBestOfK, Objective: registry.ObjectiveMTLD,
				Source: registry.SourceSingle, Models: []string{"b@1", "a@1"}}},
			check: func(t *testing.T, f *fakeStore, res *mixer.Result) {
				wantQuery(t, f, registry.BestOfKPool{Objective: registry.ObjectiveMTLD, PerModel: true, ModelIDs: []string{modelB.ID, modelA.ID}})
				wantSet(t, manifestOf(f), rank1)
			},
		},
		{
			name: "BestOfKUnderAModelsFilter", rows: prompted, module: limits("{}"), wantAllowed: true,
			req: registry.MixRequest{Size: 100, Strategy: registry.MixStrategy{Name: registry.StrategyBestOfK, Objective: registry.ObjectiveToxicity},
				Filter: registry.MixFilter{Models: []string{"a@1"}}},
			check: func(t *testing.T, f *fakeStore, res *mixer.Result) {
				// The filter's models compete, and human answers with them.
				wantQuery(t, f, registry.BestOfKPool{Objective: registry.ObjectiveToxicity, ModelIDs: []string{modelA.ID}, KeepHumans: true})
				if q := f.queries[0]; !slices.Equal(q.ModelIDs, []string{modelA.ID}) {
					t.Fatalf("pool restricted to models %v, want a's id", q.ModelIDs)
				}
			},
		},
		{
			name: "AccumulateKeepsTheBaseModelsHumans", rows: accRows, module: accumulate, wantAllowed: true,
			req: registry.MixRequest{Size: 12, Seed: 5, BaseModel: "s@1"},
			check: func(t *testing.T, f *fakeStore, res *mixer.Result) {
				// Without accumulate, 12 of 60 drawn by the seed would hold about two of the ten.
				for _, id := range priorIDs {
					if !slices.Contains(manifestOf(f), id) {
						t.Fatalf("the mix %v leaves out the base model's human sample %s", manifestOf(f), id)
					}
				}
				wantAccumulated(registry.AccumulateStats{BaseModel: "s@1", Prior: 11, Admitted: 10, Kept: 10, Dropped: 1})(t, f, res)
				wantManifest(t, f, res)
			},
		},
		{
			name: "AccumulateRefusesAMixTooSmallForThem", rows: accRows, module: accumulate,
			req:           registry.MixRequest{Size: 6, BaseModel: "s@1"},
			wantViolation: "the mix leaves out 4 human samples of base model s@1's training mixes that the policy still admits, keeping 6 of 10 (accumulate): 4 beyond its size",
			check:         wantAccumulated(registry.AccumulateStats{BaseModel: "s@1", Prior: 11, Admitted: 10, Kept: 6, Dropped: 1}),
		},
		{
			name: "AccumulateRefusesAFilterThatDropsThem", rows: accRows, module: accumulate,
			req:           registry.MixRequest{Size: 100, BaseModel: "s@1", Filter: registry.MixFilter{Datasets: []string{"elsewhere"}}},
			wantViolation: "keeping 0 of 10 (accumulate): 10 left out by the request's filter or strategy",
			check: func(t *testing.T, f *fakeStore, res *mixer.Result) {
				// The second query asks the policy alone.
				if len(f.draws) != 1 || len(f.draws[0].Asked) != 1 {
					t.Fatalf("draws %+v", f.draws)
				}
				if q := f.draws[0].Asked[0]; len(q.Datasets) != 0 || !slices.Equal(q.Origins, []string{registry.OriginHuman}) {
					t.Fatalf("admitted prior asked %+v", q)
				}
			},
		},
		{
			name: "BaseModelWithoutAccumulateIsRecordedOnly", rows: accRows, module: limits(`{"max_synthetic_ratio": 0.5}`), wantAllowed: true,
			req: registry.MixRequest{Size: 6, BaseModel: "s@1"},
			check: func(t *testing.T, f *fakeStore, res *mixer.Result) {
				if res.Mix.Stats.Accumulated != nil || res.Mix.Request.BaseModel != "s@1" || len(f.queries) != 1 {
					t.Fatalf("accumulated %+v, request %+v, %d queries", res.Mix.Stats.Accumulated, res.Mix.Request, len(f.queries))
				}
			},
		},
		{
			name: "UnknownBaseModelRefused", rows: accRows, module: accumulate, wantErrCode: registry.EUNPROCESSABLE,
			req: registry.MixRequest{Size: 5, BaseModel: "nobody@1"},
		},
		{
			name: "UnknownModelRefused", rows: pool(5), module: limits("{}"), wantErrCode: registry.EUNPROCESSABLE,
			req: registry.MixRequest{Size: 5, Filter: registry.MixFilter{Models: []string{"nobody@1"}}},
		},
		{
			name: "UnknownPolicyRefused", rows: pool(5), module: limits("{}"), wantErrCode: registry.EUNPROCESSABLE,
			req: registry.MixRequest{Policy: "missing", Size: 5},
		},
		{
			name: "ErrPool", rows: pool(5), module: limits("{}"), req: registry.MixRequest{Size: 5},
			fail: func(f *fakeStore) { f.poolErr = errPool }, wantErr: errPool,
		},
		{
			name: "ErrWrite", rows: pool(5), module: limits("{}"), req: registry.MixRequest{Size: 5},
			fail: func(f *fakeStore) { f.writeErr = errWrite }, wantErr: errWrite,
		},
		{
			name: "ErrModel", rows: pool(5), module: limits("{}"),
			req:  registry.MixRequest{Size: 5, Filter: registry.MixFilter{Models: []string{"a@1"}}},
			fail: func(f *fakeStore) { f.modelErr = errModel }, wantErr: errModel,
		},
		{
			name: "ErrPolicy", rows: pool(5), module: limits("{}"), req: registry.MixRequest{Size: 5},
			fail: func(f *fakeStore) { f.policyErr = errPolicy }, wantErr: errPolicy,
		},
		{
			name: "DryRunSavesNothing", rows: pool(10), module: limits("{}"), req: registry.MixRequest{Size: 5, Seed: 3},
			dryRun: true, wantAllowed: true,
			check: func(t *testing.T, f *fakeStore, res *mixer.Result) {
				if res.Mix.ID != "" || res.Decision.ID != "" || res.Mix.DecisionID != "" || res.Mix.Size != 5 || res.Size != 5 {
					t.Fatalf("dry run: mix %q of %d, decision %q; want no ids", res.Mix.ID, res.Mix.Size, res.Decision.ID)
				}
			},
		},
		{
			name: "DryRunOfARefusalSavesNothing", rows: pool(5), module: limits("{}"), req: registry.MixRequest{Size: 10, MinSize: 10},
			dryRun: true, wantViolation: "fewer than min_size 10",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := &fakeStore{rows: tc.rows, models: map[string]*registry.Model{"a@1": modelA, "b@1": modelB,
				"s@1": {ID: "01900000-0000-7000-8000-00000000000c", Name: "s", Version: "1", TrainedOn: []string{"mix-1"}}},
				mixes: map[string][]*registry.Sample{"mix-1": trained}}
			at := time.UnixMilli(1_700_000_000_789).UTC()
			pol := mixer.NewPolicies(f)
			pol.Now = func() time.Time { return at }
			if _, _, err := pol.Put(ctx, "default", tc.module); err != nil {
				t.Fatal(err)
			}
			if tc.fail != nil {
				tc.fail(f)
			}
			b := &mixer.Builder{Store: f, Policies: pol, Now: func() time.Time { return at }}
			idem := &registry.Idempotency{Scope: "k", Key: tc.name, RequestSHA256: "aa"}
			res, err := b.Build(ctx, tc.req, tc.dryRun, idem)
			switch {
			case tc.wantErr != nil || tc.wantErrCode != "":
				if tc.wantErr != nil && !errors.Is(err, tc.wantErr) || tc.wantErrCode != "" && registry.ErrorCode(err) != tc.wantErrCode {
					t.Fatalf("err %v, want %v%s", err, tc.wantErr, tc.wantErrCode)
				}
				if res != nil || len(f.saves) != 0 {
					t.Fatalf("a failed build answered %+v and saved %d times", res, len(f.saves))
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			d := res.Decision
			if d.Allowed != tc.wantAllowed || (res.Mix != nil) != tc.wantAllowed || !d.EvaluatedAt.Equal(at) ||
				d.Policy.Name != "default" || d.Policy.Version != 1 {
				t.Fatalf("decision %+v, mix %+v; want allowed %v", d, res.Mix, tc.wantAllowed)
			}
			if tc.wantViolation != "" && !slices.ContainsFunc(d.Violations, func(v string) bool { return strings.Contains(v, tc.wantViolation) }) {
				t.Fatalf("violations %q, want one containing %q", d.Violations, tc.wantViolation)
			}
			if tc.dryRun {
				if len(f.saves) != 0 {
					t.Fatalf("a dry run saved %d times", len(f.saves))
				}
			} else {
				if len(f.saves) != 1 {
					t.Fatalf("%d saves, want 1", len(f.saves))
				}
				s := f.saves[0]
				if s.d != d || s.m != res.Mix || len(s.manifest) != res.Size && res.Mix != nil || s.idem != idem || d.ID == "" {
					t.Fatalf("saved %+v; want the decision, mix and manifest answered, with the idempotency key", s)
				}
				if res.Mix != nil && (res.Mix.ID == "" || res.Mix.DecisionID != d.ID) {
					t.Fatalf("mix %q names decision %q, want %q", res.Mix.ID, res.Mix.DecisionID, d.ID)
				}
			}
			if tc.check != nil {
				tc.check(t, f, res)
			}
		})
	}
}

// manifestOf is the manifest the last build stored.
func manifestOf(f *fakeStore) []string {
	if len(f.saves) == 0 {
		return nil
	}
	return f.saves[len(f.saves)-1].manifest
}

// wantManifest fails unless the mix's manifest hash is that of its manifest's samples, in order.
func wantManifest(t *testing.T, f *fakeStore, res *mixer.Result) {
	t.Helper()
	content := map[string]string{}
	for _, r := range f.rows {
		content[r.ID] = r.ContentSHA256
	}
	h := registry.NewManifestHash()
	for _, id := range manifestOf(f) {
		if err := h.Add(id, content[id]); err != nil {
			t.Fatal(err)
		}
	}
	if len(manifestOf(f)) != res.Mix.Size || h.Sum() != res.Mix.ManifestSHA256 {
		t.Fatalf("manifest of %d ids for a mix of %d; hash %s, want %s", len(manifestOf(f)), res.Mix.Size, res.Mix.ManifestSHA256, h.Sum())
	}
}

// wantQuery fails unless the one pool query asked for this best-of-k pool.
func wantQuery(t *testing.T, f *fakeStore, want registry.BestOfKPool) {
	t.Helper()
	if len(f.queries) != 1 || f.queries[0].BestOfK == nil {
		t.Fatalf("pool queries %+v, want one of best-of-k", f.queries)
	}
	got := *f.queries[0].BestOfK
	if got.Objective != want.Objective || got.PerModel != want.PerModel || got.KeepHumans != want.KeepHumans ||
		!slices.Equal(got.ModelIDs, want.ModelIDs) {
		t.Fatalf("best-of-k pool %+v, want %+v", got, want)
	}
}

func wantSet(t *testing.T, got, want []string) {
	t.Helper()
	got, want = slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Fatalf("mix holds %d samples %v, want %d %v", len(got), got, len(want), want)
	}
}
