package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pedigreeml/pedigree/ledger"
	"github.com/pedigreeml/pedigree/registry"
)

// RunMixStore runs the contract of the store's side of mixes: policy versions, decisions, mixes and
// their manifests, export, and the candidate pool a mix is drawn from. The mixer's own contract, over
// real stores, is mixer/mixertest.
func RunMixStore(t *testing.T, b Backend) {
	t.Run("PolicyVersions", func(t *testing.T) { testPolicyVersions(t, b) })
	t.Run("SaveMixAndExport", func(t *testing.T) { testSaveMixAndExport(t, b) })
	t.Run("MixPool", func(t *testing.T) { testMixPool(t, b) })
}

// storedLeaf returns the log leaf at idx.
func storedLeaf(t *testing.T, s ledger.Storage, idx int64) []byte {
	t.Helper()
	got, err := s.ReadLogLeavesAt(context.Background(), []int64{idx})
	if err != nil || len(got) != 1 || got[0] == nil {
		t.Fatalf("leaf %d: %q, %v", idx, got, err)
	}
	return got[0]
}

// wantGapless fails unless idx holds exactly 0 … n-1, the log's size is n, the log holds exactly
// those n leaves, and the sequencer's head says n.
func wantGapless(t *testing.T, b Backend, location string, s ledger.Storage, idx []int64) {
	t.Helper()
	idx = slices.Clone(idx)
	slices.Sort(idx)
	for i, x := range idx {
		if x != int64(i) {
			t.Fatalf("log indexes (sorted) %v…: index %d is %d", idx[:min(len(idx), i+3)], i, x)
		}
	}
	ctx := context.Background()
	size, err := s.LogSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	all, err := s.ReadLogLeaves(ctx, 0, len(idx)+1)
	if err != nil {
		t.Fatal(err)
	}
	var rows, head int64
	b.Query(t, location, "SELECT (SELECT count(*) FROM log_leaves), (SELECT size FROM log_head)", &rows, &head)
	if size != int64(len(idx)) || len(all) != len(idx) || rows != size || head != size {
		t.Fatalf("log size %d, %d leaves read, %d stored, the sequencer's head at %d; the records hold %d indexes",
			size, len(all), rows, head, len(idx))
	}
}

// moduleSHA256 is the hex SHA-256 of a policy module, as the log covers it.
func moduleSHA256(module string) string { return digest(module) }

func testPolicyVersions(t *testing.T, b Backend) {
	s, location := b.New(t)
	ctx := context.Background()
	at := time.UnixMilli(1_700_000_000_123).UTC()
	create := func(name, module string) (*registry.PolicyVersion, bool) {
		t.Helper()
		sha := moduleSHA256(module)
		p := &registry.PolicyVersion{Name: name, SHA256: sha, Module: module, Limits: json.RawMessage(`{"max_generation":1}`), CreatedAt: at}
		created, err := registry.WritePolicyVersion(ctx, s, p)
		if err != nil {
			t.Fatalf("create %s %s: %v", name, sha, err)
		}
		return p, created
	}
	v1, c1 := create("p", "module a")
	v2, c2 := create("p", "module b")
	same, c3 := create("p", "module b")
	if !c1 || !c2 || v1.Version != 1 || v2.Version != 2 || v1.LogIndex != 0 || v2.LogIndex != 1 {
		t.Fatalf("v1 %d (created %v, log %d), v2 %d (created %v, log %d)", v1.Version, c1, v1.LogIndex, v2.Version, c2, v2.LogIndex)
	}
	if c3 || same.Version != 2 || same.LogIndex != v2.LogIndex || same.Module != "module b" {
		t.Fatalf("the latest text again: created %v, %+v", c3, same)
	}
	// Only the latest version is compared: going back to an older text is a new version.
	v3, c4 := create("p", "module a")
	q1, _ := create("q", "module a")
	if !c4 || v3.Version != 3 || q1.Version != 1 {
		t.Fatalf("back to the first text: version %d (created %v); q version %d", v3.Version, c4, q1.Version)
	}

	t.Run("Get", func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			version int
			want    *registry.PolicyVersion
		}{
			{"p", 0, v3}, {"p", 1, v1}, {"p", 2, v2}, {"q", 0, q1},
		} {
			got, err := s.GetPolicyVersion(ctx, tc.name, tc.version)
			if err != nil {
				t.Fatalf("%s@%d: %v", tc.name, tc.version, err)
			}
			if got.Version != tc.want.Version || got.SHA256 != tc.want.SHA256 || got.Module != tc.want.Module ||
				string(got.Limits) != string(tc.want.Limits) || !got.CreatedAt.Equal(at) || got.LogIndex != tc.want.LogIndex {
				t.Fatalf("%s@%d: got %+v, want %+v", tc.name, tc.version, got, tc.want)
			}
			leaf, err := registry.PolicyVersionLeaf(got)
			if err != nil || !bytes.Equal(leaf, storedLeaf(t, s, got.LogIndex)) {
				t.Fatalf("%s@%d: the stored record does not reproduce its leaf (%v)", tc.name, tc.version, err)
			}
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			version int
		}{{"p", 4}, {"none", 0}, {"none", 1}, {"nul\x00", 0}} {
			_, err := s.GetPolicyVersion(ctx, tc.name, tc.version)
			wantCode(t, err, registry.ENOTFOUND)
		}
	})
	t.Run("List", func(t *testing.T) {
		versions := func(name string, after int) []string {
			t.Helper()
			list, err := s.ListPolicyVersions(ctx, name, after, 10)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, p := range list {
				out = append(out, fmt.Sprintf("%s@%d", p.Name, p.Version))
			}
			return out
		}
		for _, tc := range []struct {
			name  string
			after int
			want  []string
		}{
			{"p", 0, []string{"p@1", "p@2", "p@3"}},
			{"p", 1, []string{"p@2", "p@3"}},
			{"", 0, []string{"p@3", "q@1"}},
			{"", 1, []string{"q@1"}},
			{"none", 0, nil},
		} {
			if got := versions(tc.name, tc.after); !slices.Equal(got, tc.want) {
				t.Fatalf("list %q after %d: %v, want %v", tc.name, tc.after, got, tc.want)
			}
		}
	})
	wantGapless(t, b, location, s, []int64{v1.LogIndex, v2.LogIndex, v3.LogIndex, q1.LogIndex})
}

func testSaveMixAndExport(t *testing.T, b Backend) {
	s, location := b.New(t)
	h := NewHarness(t, s)
	ctx := context.Background()
	var logIdx []int64

	batch := make([]registry.NewSample, registry.MaxBatchSamples)
	for i := range batch {
		batch[i] = Human(Text(fmt.Sprintf("export %d", i)))
	}
	byID := map[string]*registry.Sample{}
	var ids []string
	for _, r := range h.Ingest(batch...) {
		byID[r.Sample.ID] = r.Sample
		ids = append(ids, r.Sample.ID)
		logIdx = append(logIdx, r.Sample.LogIndex)
	}
	pv := &registry.PolicyVersion{Name: "open", SHA256: moduleSHA256("package pedigree.mix"), Module: "package pedigree.mix", Limits: json.RawMessage(`{}`), CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
	if _, err := registry.WritePolicyVersion(ctx, s, pv); err != nil {
		t.Fatal(err)
	}
	logIdx = append(logIdx, pv.LogIndex)
	now := time.UnixMilli(1_700_000_000_456).UTC()
	decision := func(allowed bool, violations ...string) *registry.Decision {
		return &registry.Decision{ID: newID(), Policy: pv.Ref(), Allowed: allowed, Violations: violations,
			Input: json.RawMessage(`{"size":3,"stats":{"human":3}}`), EvaluatedAt: now}
	}
	newMix := func(d *registry.Decision, manifest []string, stats registry.MixStats) *registry.Mix {
		return &registry.Mix{ID: newID(), Policy: pv.Ref(), DecisionID: d.ID, Size: len(manifest), Seed: -42,
			Strategy: registry.MixStrategy{Name: registry.StrategyRandom}, Request: registry.MixRequest{Policy: "open", Size: len(manifest), Seed: -42},
			Stats: stats, ManifestSHA256: fmt.Sprintf("%064d", len(manifest)), CreatedAt: now}
	}

	refused := decision(false, "the mix holds 0 human samples")
	refused.Error = "deny: division by zero"
	if err := registry.WriteMix(ctx, s, refused, nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	manifest := slices.Clone(ids)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(manifest), func(i, j int) { manifest[i], manifest[j] = manifest[j], manifest[i] })
	allowed := decision(true)
	big := newMix(allowed, manifest, registry.MixStats{Human: len(manifest), MaxGeneration: 2,
		Bases: map[string]int{registry.BasisHuman: 9000, registry.BasisDeclared: 999, registry.BasisMixes: 1}})
	if err := registry.WriteMix(ctx, s, allowed, big, registry.ManifestOf(manifest), nil); err != nil {
		t.Fatal(err)
	}
	allowed2 := decision(true)
	small := newMix(allowed2, ids[:3], registry.MixStats{Human: 3, Bases: map[string]int{registry.BasisHuman: 3}})
	if err := registry.WriteMix(ctx, s, allowed2, small, registry.ManifestOf(ids[:3]), nil); err != nil {
		t.Fatal(err)
	}
	logIdx = append(logIdx, refused.LogIndex, allowed.LogIndex, big.LogIndex, allowed2.LogIndex, small.LogIndex)
	if allowed.MixID != big.ID || big.LogIndex != allowed.LogIndex+1 || refused.MixID != "" {
		t.Fatalf("decision %s → mix %q at %d after %d", allowed.ID, allowed.MixID, big.LogIndex, allowed.LogIndex)
	}

	t.Run("GetDecision", func(t *testing.T) {
		for _, want := range []*registry.Decision{refused, allowed} {
			got, err := s.GetDecision(ctx, want.ID)
			if err != nil {
				t.Fatal(err)
			}
			if want.Violations == nil {
				want.Violations = []string{}
			}
			if got.Allowed != want.Allowed || !slices.Equal(got.Violations, want.Violations) || got.Error != want.Error ||
				string(got.Input) != string(want.Input) || got.MixID != want.MixID || !got.EvaluatedAt.Equal(now) ||
				got.Policy != pv.Ref() || got.LogIndex != want.LogIndex {
				t.Fatalf("decision: got %+v, want %+v", got, want)
			}
			leaf, err := registry.DecisionLeaf(got)
			if err != nil || !bytes.Equal(leaf, storedLeaf(t, s, got.LogIndex)) {
				t.Fatalf("decision %s does not reproduce its leaf (%v)", got.ID, err)
			}
		}
		_, err := s.GetDecision(ctx, newID())
		wantCode(t, err, registry.ENOTFOUND)
		_, err = s.GetDecision(ctx, "nul\x00")
		wantCode(t, err, registry.ENOTFOUND)
	})
	t.Run("GetAndListMixes", func(t *testing.T) {
		got, err := s.GetMix(ctx, big.ID)
		if err != nil {
			t.Fatal(err)
		}
		gotJSON, _ := json.Marshal(got)
		wantJSON, _ := json.Marshal(big)
		if string(gotJSON) != string(wantJSON) {
			t.Fatalf("mix:\n got %s\nwant %s", gotJSON, wantJSON)
		}
		request, _ := json.Marshal(got.Request)
		leaf, err := registry.MixLeaf(got, request)
		if err != nil || !bytes.Equal(leaf, storedLeaf(t, s, got.LogIndex)) {
			t.Fatalf("mix does not reproduce its leaf (%v)", err)
		}
		list, err := s.ListMixes(ctx, "", 10)
		if err != nil || len(list) != 2 || list[0].ID != big.ID || list[1].ID != small.ID {
			t.Fatalf("list: %d mixes (%v)", len(list), err)
		}
		if list, err := s.ListMixes(ctx, big.ID, 1); err != nil || len(list) != 1 || list[0].ID != small.ID {
			t.Fatalf("list after the first: %v %v", list, err)
		}
		_, err = s.GetMix(ctx, allowed.ID)
		wantCode(t, err, registry.ENOTFOUND)
		_, err = s.GetMix(ctx, "nul\x00")
		wantCode(t, err, registry.ENOTFOUND)
	})
	t.Run("ManifestIsChunked", func(t *testing.T) {
		var chunks, size int
		b.Query(t, location, fmt.Sprintf("SELECT count(*), sum(length(sample_ids)) FROM mix_manifest WHERE mix_id = (SELECT id FROM mixes WHERE size = %d)",
			len(manifest)), &chunks, &size)
		if chunks != 3 || size != 16*len(manifest) {
			t.Fatalf("%d chunks of %d bytes in all, want 3 of %d", chunks, size, 16*len(manifest))
		}
	})
	t.Run("ExportInManifestOrder", func(t *testing.T) {
		// Read through another instance, on one connection where the store can run on one: were a
		// query still open while fn runs, fn's own query would wait for it until the deadline.
		var other LoggedStore
		if b.OneConnection != nil {
			other = b.OneConnection(t, location)
		} else {
			other = b.Reopen(t, location)
		}
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		var got []string
		err := other.ExportMix(ctx, big.ID, func(smp *registry.Sample) error {
			if want := byID[smp.ID]; want == nil || smp.Text != want.Text || smp.ContentSHA256 != want.ContentSHA256 {
				return fmt.Errorf("sample %s is not the ingested one", smp.ID)
			}
			if len(got)%1000 == 0 {
				if _, err := other.GetSample(ctx, smp.ID); err != nil {
					return err
				}
			}
			got = append(got, smp.ID)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, manifest) {
			t.Fatalf("export: %d samples, not in manifest order", len(got))
		}
		wantCode(t, s.ExportMix(ctx, newID(), func(*registry.Sample) error { return nil }), registry.ENOTFOUND)
	})
	t.Run("MixGenerations", func(t *testing.T) {
		for _, tc := range []struct {
			mixes []string
			want  registry.GenerationFact
		}{
			{[]string{small.ID}, registry.GenerationFact{Generation: 0, Basis: registry.BasisHuman}},
			{[]string{big.ID}, registry.GenerationFact{Generation: 2, Basis: registry.BasisDeclared}},
			{[]string{small.ID, big.ID}, registry.GenerationFact{Generation: 2, Basis: registry.BasisDeclared}},
		} {
			got, err := registry.TrainedGeneration(ctx, s, tc.mixes)
			if err != nil || got != tc.want {
				t.Fatalf("%v: %+v (%v), want %+v", tc.mixes, got, err, tc.want)
			}
		}
		_, err := registry.TrainedGeneration(ctx, s, []string{small.ID, refused.ID})
		wantCode(t, err, registry.EUNPROCESSABLE)
		_, err = registry.TrainedGeneration(ctx, s, []string{"nul\x00"})
		wantCode(t, err, registry.EUNPROCESSABLE)
	})
	t.Run("Idempotency", func(t *testing.T) {
		idem := &registry.Idempotency{Scope: "mixes", Key: "k1", RequestSHA256: "r1"}
		first := decision(false, "refused")
		if err := registry.WriteMix(ctx, s, first, nil, nil, idem); err != nil {
			t.Fatal(err)
		}
		prev, err := s.Idempotent(ctx, "mixes", "k1")
		if err != nil || prev == nil || !slices.Equal(prev.IDs, []string{first.ID}) {
			t.Fatalf("idempotency record: %+v %v", prev, err)
		}
		// The idempotency record has a leaf of its own, right after the decision's.
		if prev.LogIndex != first.LogIndex+1 {
			t.Fatalf("idempotency record at log index %d, decision at %d", prev.LogIndex, first.LogIndex)
		}
		logIdx = append(logIdx, first.LogIndex, prev.LogIndex)
		wantCode(t, registry.WriteMix(ctx, s, decision(false), nil, nil, idem), registry.ECONFLICT)
		wantCode(t, registry.WriteMix(ctx, s, decision(false), nil, nil, &registry.Idempotency{Scope: "mixes", Key: "k1", RequestSHA256: "r2"}),
			registry.EUNPROCESSABLE)
	})
	t.Run("LogIsGapless", func(t *testing.T) {
		wantGapless(t, b, location, s, logIdx)
	})
}

// poolFixture is a small registry whose pool queries have known answers: two models, human
// samples, two prompts with candidates of both models, and samples registered after asOf.
type poolFixture struct {
	s    LoggedStore
	a, b string            // model ids
	id   map[string]string // fixture name → sample id
	name map[string]string // sample id → fixture name
	asOf time.Time
}

func newPoolFixture(t *testing.T, b Backend) *poolFixture {
	s, _ := b.New(t)
	h := NewHarness(t, s)
	f := &poolFixture{s: s, id: map[string]string{}, name: map[string]string{}}
	a, bb := h.Model("pool-a", 0), h.Model("pool-b", 1) // their output is of generation 1 and 2
	for ref, id := range map[string]*string{a: &f.a, bb: &f.b} {
		m, err := s.GetModel(h.Ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		*id = m.ID
	}
	add := func(name string, smp registry.NewSample) {
		t.Helper()
		got := h.One(smp)
		f.id[name], f.name[got.ID] = got.ID, name
	}
	human := func(name, dataset string) {
		smp := Human(Text(name))
		smp.Dataset = dataset
		add(name, smp)
	}
	words := func(n int, tag string) string {
		return tag + strings.Repeat(" "+tag, n-1) + "."
	}
	human("h1", "people")
	human("h2", "other")
	human("p1", "")
	human("p2", "")
	add("as", ModelOutput(Text("as"), a, ""))
	add("bs", ModelOutput(Text("bs"), bb, ""))
	add("a1", ModelOutput(words(30, "alpha"), a, f.id["p1"])) // the longest answer to p1, until bLate
	add("a1s", ModelOutput(words(5, "short"), a, f.id["p1"]))
	add("b1", ModelOutput(words(20, "beta"), bb, f.id["p1"]))
	add("a2", ModelOutput(words(10, "gamma"), a, f.id["p2"]))
	add("b2", ModelOutput(words(25, "delta"), bb, f.id["p2"])) // the longest answer to p2
	f.asOf = time.Now()
	time.Sleep(5 * time.Millisecond) // created_at is in milliseconds
	human("late", "people")
	add("bLate", ModelOutput(words(40, "epsilon"), bb, f.id["p1"])) // the longest answer to p1
	return f
}

// names returns the fixture names of the samples the pool query admits, sorted.
func (f *poolFixture) names(t *testing.T, q registry.PoolQuery) []string {
	t.Helper()
	var out []string
	err := f.s.MixPool(context.Background(), q, func(r *registry.PoolRow) error {
		out = append(out, f.name[r.ID])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func set(names ...string) []string {
	out := slices.Clone(names)
	sort.Strings(out)
	return out
}

func testMixPool(t *testing.T, b Backend) {
	f := newPoolFixture(t, b)
	ctx := context.Background()
	gen := func(n int) *int { return &n }
	humans := []string{"h1", "h2", "p1", "p2", "late"}
	noPrompt := append([]string{"as", "bs"}, humans...) // samples that answer no prompt
	all := append([]string{"a1", "a1s", "b1", "a2", "b2", "bLate"}, noPrompt...)
	before := slices.DeleteFunc(slices.Clone(all), func(n string) bool { return n == "late" || n == "bLate" })
	bok := func(perModel bool, models ...string) *registry.BestOfKPool {
		return &registry.BestOfKPool{Objective: registry.ObjectiveLength, PerModel: perModel, ModelIDs: models}
	}
	for _, tc := range []struct {
		name string
		q    registry.PoolQuery
		want []string
	}{
		{"WhereTrue", registry.PoolQuery{}, all},
		{"WhereFragment", registry.PoolQuery{Where: "s.origin = 'model' AND s.tokens >= 18"}, set("a1", "b1", "b2", "bLate")},
		{"MaxGeneration1", registry.PoolQuery{MaxGeneration: gen(1)}, append([]string{"as", "a1", "a1s", "a2"}, humans...)},
		{"MaxGeneration0", registry.PoolQuery{MaxGeneration: gen(0)}, humans},
		{"Datasets", registry.PoolQuery{Datasets: []string{"people", "nowhere"}}, set("h1", "late")},
		{"DatasetsUnstorableMatchNothing", registry.PoolQuery{Datasets: []string{"people\x00"}}, nil},
		{"OriginsHuman", registry.PoolQuery{Origins: []string{registry.OriginHuman}}, humans},
		{"OriginsModel", registry.PoolQuery{Origins: []string{registry.OriginModel}}, set("as", "bs", "a1", "a1s", "b1", "a2", "b2", "bLate")},
		{"ModelIDsKeepHumans", registry.PoolQuery{ModelIDs: []string{f.a}}, append([]string{"as", "a1", "a1s", "a2"}, humans...)},
		{"AsOf", registry.PoolQuery{AsOf: &f.asOf}, before},
		{"BestOfKMulti", registry.PoolQuery{BestOfK: bok(false)}, append([]string{"bLate", "b2"}, noPrompt...)},
		{"BestOfKPerModel", registry.PoolQuery{BestOfK: bok(true)}, append([]string{"a1", "a2", "bLate", "b2"}, noPrompt...)},
		{"BestOfKAmongModelA", registry.PoolQuery{BestOfK: bok(false, f.a)}, append([]string{"a1", "a2"}, noPrompt...)},
		// as_of freezes the ranks too: bLate, registered later, does not displace a1 or b1.
		{"BestOfKMultiAsOf", registry.PoolQuery{AsOf: &f.asOf, BestOfK: bok(false)}, set("a1", "b2", "h1", "h2", "p1", "p2", "as", "bs")},
		{"BestOfKPerModelAsOf", registry.PoolQuery{AsOf: &f.asOf, BestOfK: bok(true)}, set("a1", "b1", "a2", "b2", "h1", "h2", "p1", "p2", "as", "bs")},
		{"EveryFilter", registry.PoolQuery{Where: "s.tokens >= 1", MaxGeneration: gen(1), Datasets: []string{"", "people", "other", "synthetic"},
			Origins: []string{registry.OriginHuman, registry.OriginModel}, ModelIDs: []string{f.a}, AsOf: &f.asOf, BestOfK: bok(false, f.a)},
			set("h1", "h2", "p1", "p2", "as", "a1", "a2")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.q.Where == "" {
				tc.q.Where = "TRUE"
			}
			if got := f.names(t, tc.q); !slices.Equal(got, set(tc.want...)) {
				t.Fatalf("pool %v, want %v", got, set(tc.want...))
			}
		})
	}
	// For every objective, best-of-k admits exactly the candidates that sample reads rank first.
	for _, objective := range registry.Objectives {
		t.Run("BestOfKAgreesWithRanks/"+objective, func(t *testing.T) {
			want := slices.Clone(noPrompt)
			for name, id := range f.id {
				smp, err := f.s.GetSample(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if b := smp.BestOfK; b != nil && map[string]int{registry.ObjectiveMTLD: b.Rank.MTLD,
					registry.ObjectiveLength: b.Rank.Length, registry.ObjectiveToxicity: b.Rank.Toxicity}[objective] == 1 {
					want = append(want, name)
				}
			}
			if len(want) != len(noPrompt)+2 {
				t.Fatalf("ranks name %d winners for 2 prompts", len(want)-len(noPrompt))
			}
			got := f.names(t, registry.PoolQuery{Where: "TRUE", BestOfK: &registry.BestOfKPool{Objective: objective}})
			if !slices.Equal(got, set(want...)) {
				t.Fatalf("pool %v, want %v", got, set(want...))
			}
		})
	}
	t.Run("RowsCarryTheSample", func(t *testing.T) {
		var rows []registry.PoolRow
		err := f.s.MixPool(ctx, registry.PoolQuery{Where: "TRUE"}, func(r *registry.PoolRow) error {
			rows = append(rows, *r)
			return nil
		})
		if err != nil || len(rows) != len(all) {
			t.Fatalf("%d rows: %v", len(rows), err)
		}
		for _, got := range rows {
			smp, err := f.s.GetSample(ctx, got.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := registry.PoolRow{ID: smp.ID, ContentSHA256: smp.ContentSHA256, Origin: smp.Origin, Model: smp.Model,
				Generation: smp.Generation, Basis: smp.GenerationBasis, Dataset: smp.Dataset, SourceKind: smp.Source.Kind,
				SourceName: smp.Source.Name, SourceURI: smp.Source.URI, CreatedAt: smp.CreatedAt,
				License: smp.Source.License, Tokens: smp.Metrics.Tokens, MTLD: smp.Metrics.MTLD, Toxicity: smp.Metrics.Toxicity,
				NormSHA256: smp.NormSHA256, Cluster: smp.Cluster}
			if (got.Toxicity == nil) != (want.Toxicity == nil) || got.Toxicity != nil && *got.Toxicity != *want.Toxicity {
				t.Fatalf("%s: toxicity %v, want %v", f.name[got.ID], got.Toxicity, want.Toxicity)
			}
			got.Toxicity, want.Toxicity = nil, nil
			if got != want {
				t.Fatalf("%s:\n got %+v\nwant %+v", f.name[got.ID], got, want)
			}
		}
	})
}
