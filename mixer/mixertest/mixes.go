// Package mixertest is the mixer's contract over real stores: every limit binding, best-of-k,
// determinism, refusals, policy uploads and export, built by mixer.Builder on a store that an Opener
// returns. The mixer's own tests run it on SQLite and PostgreSQL; the stores' tests do not import the
// mixer, so that the registry's packages depend on nothing above them.
package mixertest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pedigreeml/pedigree/mixer"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/storetest"
)

// Opener returns a new, empty store; it registers its own cleanup with tb.
type Opener func(tb testing.TB) registry.Store

// RunMixes runs the mixer's contract: every limit binding, best-of-k, determinism, refusals and
// policy uploads, over stores from open.
func RunMixes(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, m *MixHarness)
	}{
		{"SyntheticCapBinds", testSyntheticCap},
		{"RequestedSyntheticRatio", testRequestedRatio},
		{"MaxGenerationExcludesDeeper", testMaxGeneration},
		{"MinHumanSamplesRefuses", testMinHuman},
		{"MaxModelShareHolds", testModelShare},
		{"IncludeOnMetricsMetadataAndSource", testInclude},
		{"BestOfKMultiAndSingle", testBestOfK},
		{"BestOfKModelFilterKeepsHumanAnswers", testBestOfKHumans},
		{"DeterministicAndSeeded", testDeterminism},
		{"DryRunSavesNothing", testDryRun},
		{"PolicyErrorRefuses", testPolicyError},
		{"TrainedOnPropagatesGeneration", testTrainedOn},
		{"PolicyUploads", testPolicyUploads},
		{"ExportInManifestOrder", testExport},
		{"Dedup", testDedup},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, NewMixHarness(t, open(t)))
		})
	}
}

// MixHarness adds mix building to a storetest.Harness.
type MixHarness struct {
	*storetest.Harness
	tb       testing.TB
	Policies *mixer.Policies
	Builder  *mixer.Builder
	n        int
}

// NewMixHarness returns a harness that builds mixes on s with a fresh policy cache.
func NewMixHarness(tb testing.TB, s registry.Store) *MixHarness {
	pol := mixer.NewPolicies(s)
	return &MixHarness{Harness: storetest.NewHarness(tb, s), tb: tb, Policies: pol,
		Builder: &mixer.Builder{Store: s, Policies: pol}}
}

// Policy uploads a policy and fails the test on error.
func (m *MixHarness) Policy(name, module string) string {
	m.tb.Helper()
	if _, _, err := m.Policies.Put(m.Ctx, name, module); err != nil {
		m.tb.Fatalf("policy %s: %v", name, err)
	}
	return name
}

// Limits returns a policy module with these limits and an optional include body.
func Limits(limits, include string) string {
	mod := "package pedigree.mix\n\nlimits := " + limits + "\n"
	if include != "" {
		mod += "\ninclude if {\n\t" + strings.ReplaceAll(include, ";", "\n\t") + "\n}\n"
	}
	return mod
}

// Humans ingests n distinct human samples into dataset and returns their ids.
func (m *MixHarness) Humans(n int, dataset string) []string {
	return m.samples(n, dataset, "", "")
}

// Synthetic ingests n distinct samples of model (name@version).
func (m *MixHarness) Synthetic(n int, model string) []string {
	return m.samples(n, "synthetic", model, "")
}

func (m *MixHarness) samples(n int, dataset, model, prompt string) []string {
	m.tb.Helper()
	batch := make([]registry.NewSample, n)
	for i := range batch {
		m.n++
		text := fmt.Sprintf("Sample %d in %s: %s.", m.n, dataset, storetest.Words(fmt.Sprint("mix sample ", m.n), 10))
		if model == "" {
			batch[i] = storetest.Human(text)
		} else {
			batch[i] = storetest.ModelOutput(text, model, prompt)
		}
		batch[i].Dataset = dataset
	}
	ids := make([]string, n)
	for i, r := range m.Ingest(batch...) {
		ids[i] = r.Sample.ID
	}
	return ids
}

// Build builds a mix and fails the test on error (not on refusal).
func (m *MixHarness) Build(req registry.MixRequest) *mixer.Result {
	m.tb.Helper()
	res, err := m.Builder.Build(m.Ctx, req, false, nil)
	if err != nil {
		m.tb.Fatalf("build: %v", err)
	}
	return res
}

// Allowed builds a mix that the test expects the policy to allow.
func (m *MixHarness) Allowed(req registry.MixRequest) *registry.Mix {
	m.tb.Helper()
	res := m.Build(req)
	if res.Mix == nil {
		m.tb.Fatalf("refused: %v", res.Decision.Violations)
	}
	return res.Mix
}

// Export returns a mix's samples in manifest order.
func (m *MixHarness) Export(id string) []*registry.Sample {
	m.tb.Helper()
	var out []*registry.Sample
	if err := m.Store.ExportMix(m.Ctx, id, func(s *registry.Sample) error { out = append(out, s); return nil }); err != nil {
		m.tb.Fatal(err)
	}
	return out
}

func testSyntheticCap(t *testing.T, m *MixHarness) {
	m.Policy("cap", Limits(`{"max_synthetic_ratio": 0.5}`, ""))
	a, b := m.Model("cap-a", 0), m.Model("cap-b", 0)
	m.Humans(20, "people")
	m.Synthetic(40, a)
	m.Synthetic(40, b)
	mix := m.Allowed(registry.MixRequest{Policy: "cap", Size: 100, Seed: 1})
	if mix.Size != 40 || mix.Stats.Human != 20 || mix.Stats.Synthetic != 20 || mix.Stats.SyntheticRatio != 0.5 {
		t.Fatalf("a mostly synthetic pool: size %d, %d human, %d synthetic (ratio %v); want 40 at the cap 0.5",
			mix.Size, mix.Stats.Human, mix.Stats.Synthetic, mix.Stats.SyntheticRatio)
	}
	if got := len(m.Export(mix.ID)); got != 40 {
		t.Fatalf("export holds %d samples", got)
	}
	res := m.Build(registry.MixRequest{Policy: "cap", Size: 100, MinSize: 50, Seed: 1})
	if res.Mix != nil || res.Decision.Allowed || res.Decision.ID == "" {
		t.Fatalf("min_size 50 with 40 possible: %+v", res.Decision)
	}
}

func testRequestedRatio(t *testing.T, m *MixHarness) {
	m.Policy("cap", Limits(`{"max_synthetic_ratio": 0.5}`, ""))
	a := m.Model("ratio", 0)
	m.Humans(60, "people")
	m.Synthetic(60, a)
	r := 0.25
	mix := m.Allowed(registry.MixRequest{Policy: "cap", Size: 40, SyntheticRatio: &r, Seed: 3})
	if mix.Size != 40 || mix.Stats.Synthetic != 10 {
		t.Fatalf("requested 0.25 of 40: %d synthetic of %d", mix.Stats.Synthetic, mix.Size)
	}
	over := 0.75
	if res := m.Build(registry.MixRequest{Policy: "cap", Size: 40, SyntheticRatio: &over}); res.Mix != nil {
		t.Fatal("a requested share above the policy's cap was built")
	}
}

func testMaxGeneration(t *testing.T, m *MixHarness) {
	m.Policy("gen", Limits(`{"max_generation": 1}`, ""))
	m.Humans(5, "people")
	m.Synthetic(5, m.Model("g0", 0)) // generation 1
	m.Synthetic(5, m.Model("g1", 1)) // generation 2
	m.Synthetic(5, m.Model("g2", 2)) // generation 3
	mix := m.Allowed(registry.MixRequest{Policy: "gen", Size: 100, Seed: 1})
	if mix.Size != 10 || mix.Stats.MaxGeneration != 1 {
		t.Fatalf("max_generation 1: size %d, generations %v", mix.Size, mix.Stats.Generations)
	}
	for _, s := range m.Export(mix.ID) {
		if s.Generation > 1 {
			t.Fatalf("sample %s of generation %d in the mix", s.ID, s.Generation)
		}
	}
}

func testMinHuman(t *testing.T, m *MixHarness) {
	m.Policy("floor", Limits(`{"min_human_samples": 30}`, ""))
	m.Humans(20, "people")
	m.Synthetic(20, m.Model("f", 0))
	res := m.Build(registry.MixRequest{Policy: "floor", Size: 100})
	if res.Mix != nil {
		t.Fatal("a mix below the human floor was built")
	}
	d, err := m.Store.GetDecision(m.Ctx, res.Decision.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Allowed || len(d.Violations) == 0 || !strings.Contains(d.Violations[0], "30") || d.Policy.Name != "floor" {
		t.Fatalf("stored decision: %+v", d)
	}
	// With enough humans the floor is met even though the pool is mostly synthetic: the mixer keeps
	// the humans it must.
	m.Humans(15, "people")
	mix := m.Allowed(registry.MixRequest{Policy: "floor", Size: 40, Seed: 2})
	if mix.Stats.Human < 30 {
		t.Fatalf("%d humans, want at least 30", mix.Stats.Human)
	}
}

func testModelShare(t *testing.T, m *MixHarness) {
	m.Policy("share", Limits(`{"max_model_share": 0.25}`, ""))
	m.Humans(10, "people")
	big, small := m.Model("big", 0), m.Model("small", 0)
	m.Synthetic(80, big)
	m.Synthetic(10, small)
	mix := m.Allowed(registry.MixRequest{Policy: "share", Size: 100, Seed: 1})
	for model, n := range mix.Stats.Models {
		if float64(n) > 0.25*float64(mix.Size)+1e-9 {
			t.Fatalf("%s has %d of %d samples, above 0.25", model, n, mix.Size)
		}
	}
	if mix.Stats.ModelShare > 0.25 || mix.Size == 0 {
		t.Fatalf("model share %v, size %d", mix.Stats.ModelShare, mix.Size)
	}
}

func testInclude(t *testing.T, m *MixHarness) {
	long := "A much longer human sentence with many more distinct words than the short samples carry along."
	keep := m.One(storetest.Human(long))
	m.Ingest(storetest.Human("Too short."), storetest.Human("Short, too."))
	m.Policy("long", Limits(`{}`, "input.sample.tokens >= 10"))
	mix := m.Allowed(registry.MixRequest{Policy: "long", Size: 10})
	if mix.Size != 1 || m.Export(mix.ID)[0].ID != keep.ID {
		t.Fatalf("include on tokens: %d samples", mix.Size)
	}
	licensed := storetest.Human("Licensed text under a permissive licence for the include test.")
	licensed.Source = &registry.Source{Kind: "licensed", License: "MIT"}
	lic := m.One(licensed)
	english := storetest.Human("A sample whose metadata says it is written in English, for the include test.")
	english.Metadata = []byte(`{"lang":"en","score":9}`)
	french := storetest.Human("Un échantillon dont les métadonnées disent qu'il est écrit en français.")
	french.Metadata = []byte(`{"lang":"fr","score":10}`)
	en := m.One(english)
	m.One(french)
	m.Policy("english", Limits(`{}`, `input.sample.metadata.lang == "en";input.sample.metadata.score < 10`))
	mix = m.Allowed(registry.MixRequest{Policy: "english", Size: 10})
	if mix.Size != 1 || m.Export(mix.ID)[0].ID != en.ID {
		t.Fatalf("include on metadata: %d samples", mix.Size)
	}
	m.Policy("mit", Limits(`{}`, `input.sample.license == "MIT";input.sample.source_kind == "licensed"`))
	mix = m.Allowed(registry.MixRequest{Policy: "mit", Size: 10})
	if mix.Size != 1 || m.Export(mix.ID)[0].ID != lic.ID || mix.Stats.Licenses["MIT"] != 1 {
		t.Fatalf("include on licence and source: %+v", mix.Stats)
	}
}

func testBestOfK(t *testing.T, m *MixHarness) {
	a, b := m.Model("bok-a", 0), m.Model("bok-b", 0)
	p1 := m.One(storetest.Human("First prompt: describe a river in a sentence."))
	p2 := m.One(storetest.Human("Second prompt: describe a mountain in a sentence."))
	cand := func(text, model, prompt string) string { return m.One(storetest.ModelOutput(text, model, prompt)).ID }
	a1 := cand("Rivers wind, glitter, roar and carve patient valleys toward distant seas.", a, p1.ID) // longest for p1
	cand("A river flows.", a, p1.ID)
	b1 := cand("The river is wide and the river is long.", b, p1.ID) // b's best length for p1
	a2 := cand("Mountains rise.", a, p2.ID)
	b2 := cand("Mountains rise high above quiet valleys, capped with old snow and cloud.", b, p2.ID) // longest for p2
	m.Policy("open", Limits(`{}`, ""))
	ids := func(mix *registry.Mix) map[string]bool {
		out := map[string]bool{}
		for _, s := range m.Export(mix.ID) {
			out[s.ID] = true
		}
		return out
	}
	multi := ids(m.Allowed(registry.MixRequest{Policy: "open", Size: 100, Strategy: registry.MixStrategy{Name: "best_of_k", Objective: "length"}}))
	// Rank-1 per prompt across models, plus the two prompts (which answer no prompt).
	if len(multi) != 4 || !multi[a1] || !multi[b2] || !multi[p1.ID] || !multi[p2.ID] {
		t.Fatalf("multi-source best of k: %v", multi)
	}
	single := ids(m.Allowed(registry.MixRequest{Policy: "open", Size: 100, Strategy: registry.MixStrategy{Name: "best_of_k", Objective: "length", Source: "single"}}))
	if len(single) != 6 || !single[a1] || !single[b1] || !single[a2] || !single[b2] {
		t.Fatalf("single-source best of k: %v", single)
	}
	onlyA := ids(m.Allowed(registry.MixRequest{Policy: "open", Size: 100, Strategy: registry.MixStrategy{Name: "best_of_k", Objective: "length", Models: []string{a}}}))
	if len(onlyA) != 4 || !onlyA[a1] || !onlyA[a2] {
		t.Fatalf("best of k among model a: %v", onlyA)
	}
}

func testBestOfKHumans(t *testing.T, m *MixHarness) {
	a, b := m.Model("keep-a", 0), m.Model("keep-b", 0)
	p := m.One(storetest.Human("A prompt that a person and two models answer."))
	personAnswer := storetest.Human("A person answered the prompt with a long, careful and entirely human reply to it, at length.")
	personAnswer.PromptID = registry.RefID(p.ID)
	person := m.One(personAnswer).ID
	short := m.One(storetest.ModelOutput("Model a says little.", a, p.ID)).ID
	m.One(storetest.ModelOutput("Model b says rather more than model a, but less than the person does.", b, p.ID))
	m.Policy("open", Limits(`{}`, ""))
	mix := m.Allowed(registry.MixRequest{Policy: "open", Size: 100,
		Strategy: registry.MixStrategy{Name: "best_of_k", Objective: "length"},
		Filter:   registry.MixFilter{Models: []string{a}}})
	got := map[string]bool{}
	for _, s := range m.Export(mix.ID) {
		got[s.ID] = true
	}
	// Model b is filtered out; the person's answer competes with model a's and wins.
	if !got[person] || got[short] {
		t.Fatalf("best of k under a models filter: person answer in=%v, model a's in=%v", got[person], got[short])
	}
}

func testDeterminism(t *testing.T, m *MixHarness) {
	m.Policy("open", Limits(`{}`, ""))
	m.Humans(50, "people")
	req := registry.MixRequest{Policy: "open", Size: 20, Seed: 7}
	first, second := m.Allowed(req), m.Allowed(req)
	if first.ManifestSHA256 != second.ManifestSHA256 || first.ID == second.ID {
		t.Fatalf("same request: manifests %s and %s", first.ManifestSHA256, second.ManifestSHA256)
	}
	e1, e2 := m.Export(first.ID), m.Export(second.ID)
	for i := range e1 {
		if e1[i].ID != e2[i].ID {
			t.Fatalf("manifests differ at %d", i)
		}
	}
	req.Seed = 8
	if other := m.Allowed(req); other.ManifestSHA256 == first.ManifestSHA256 {
		t.Fatal("another seed drew the same manifest")
	}
	// as_of freezes the pool: later samples do not change the draw.
	asOf := time.Now().UTC().Add(time.Millisecond)
	time.Sleep(5 * time.Millisecond)
	req = registry.MixRequest{Policy: "open", Size: 20, Seed: 7, Filter: registry.MixFilter{AsOf: &asOf}}
	before := m.Allowed(req)
	m.Humans(10, "later")
	if after := m.Allowed(req); after.ManifestSHA256 != before.ManifestSHA256 {
		t.Fatal("as_of did not freeze the pool")
	}
}

func testDryRun(t *testing.T, m *MixHarness) {
	m.Policy("open", Limits(`{}`, ""))
	m.Humans(10, "people")
	res, err := m.Builder.Build(m.Ctx, registry.MixRequest{Policy: "open", Size: 5}, true, nil)
	if err != nil || res.Mix == nil || res.Mix.ID != "" || res.Decision.ID != "" || !res.Decision.Allowed {
		t.Fatalf("dry run: %+v %v", res, err)
	}
	list, err := m.Store.ListMixes(m.Ctx, "", 10)
	if err != nil || len(list) != 0 {
		t.Fatalf("a dry run saved %d mixes (%v)", len(list), err)
	}
	real := m.Allowed(registry.MixRequest{Policy: "open", Size: 5})
	if real.ManifestSHA256 != res.Mix.ManifestSHA256 {
		t.Fatal("the dry run's manifest differs from the real build's")
	}
}

func testPolicyError(t *testing.T, m *MixHarness) {
	m.Humans(5, "people")
	m.Policy("broken", "package pedigree.mix\n\ndeny contains msg if {\n\tx := input.mix.size / 0\n\tmsg := sprintf(\"%v\", [x])\n}\n")
	res := m.Build(registry.MixRequest{Policy: "broken", Size: 5})
	if res.Mix != nil || res.Decision.Allowed || len(res.Decision.Violations) == 0 {
		t.Fatalf("a deny that errors must refuse: %+v", res.Decision)
	}
	if _, err := m.Builder.Build(m.Ctx, registry.MixRequest{Policy: "missing", Size: 5}, false, nil); registry.ErrorCode(err) != registry.EUNPROCESSABLE {
		t.Fatalf("unknown policy: %v", err)
	}
}

func testTrainedOn(t *testing.T, m *MixHarness) {
	m.Policy("open", Limits(`{}`, ""))
	m.Humans(5, "people")
	m.Synthetic(5, m.Model("teacher", 1)) // generation 2
	mix := m.Allowed(registry.MixRequest{Policy: "open", Size: 100})
	student, err := m.Svc.CreateModel(m.Ctx, &registry.NewModel{Name: "student", Version: "1", TrainedOn: []string{mix.ID}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if student.Generation != 2 || student.GenerationBasis != registry.BasisDeclared {
		t.Fatalf("student: generation %d basis %s; want 2 declared (its teacher's generation rests on a declaration)", student.Generation, student.GenerationBasis)
	}
	out := m.One(storetest.ModelOutput("Written by the student model after training.", student.Ref(), ""))
	if out.Generation != 3 {
		t.Fatalf("student's output: generation %d, want 3", out.Generation)
	}
	humanOnly := m.Allowed(registry.MixRequest{Policy: "open", Size: 100, Filter: registry.MixFilter{Origins: []string{"human"}}})
	pupil, err := m.Svc.CreateModel(m.Ctx, &registry.NewModel{Name: "pupil", Version: "1", TrainedOn: []string{humanOnly.ID}}, nil)
	if err != nil || pupil.Generation != 0 || pupil.GenerationBasis != registry.BasisMixes {
		t.Fatalf("pupil on human data: %+v %v", pupil, err)
	}
}

func testPolicyUploads(t *testing.T, m *MixHarness) {
	for _, tc := range []struct {
		name, module string
	}{
		{"ErrSyntax", "package pedigree.mix\n\ninclude if {\n"},
		{"ErrUntranslatable", "package pedigree.mix\n\ninclude if startswith(input.sample.dataset, \"web\")\n"},
		{"ErrFailingTest", "package pedigree.mix\n\nlimits := {\"max_generation\": 1}\n\ntest_cap if limits.max_generation == 2\n"},
		{"ErrWrongPackage", "package other\n\nlimits := {}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := m.Policies.Put(m.Ctx, "bad", tc.module)
			if registry.ErrorCode(err) != registry.EINVALID {
				t.Fatalf("err %v, want invalid", err)
			}
		})
	}
	_, _, err := m.Policies.Put(m.Ctx, "bad", "package pedigree.mix\n\ninclude if {\n")
	if e := err.(*registry.Error); len(e.Fields) == 0 || !strings.Contains(e.Fields[0].Message, ":4:") && !strings.Contains(e.Fields[0].Message, ":3:") {
		t.Fatalf("syntax error without a line: %+v", e.Fields)
	}
	v1, created, err := m.Policies.Put(m.Ctx, "versions", Limits(`{"max_generation": 1}`, ""))
	if err != nil || !created || v1.Version != 1 {
		t.Fatalf("first version: %+v %v %v", v1, created, err)
	}
	v2, _, _ := m.Policies.Put(m.Ctx, "versions", Limits(`{"max_generation": 2}`, ""))
	same, created, _ := m.Policies.Put(m.Ctx, "versions", Limits(`{"max_generation": 2}`, ""))
	if v2.Version != 2 || created || same.Version != 2 {
		t.Fatalf("versions: %d, re-upload created=%v version %d", v2.Version, created, same.Version)
	}
	got, err := m.Store.GetPolicyVersion(m.Ctx, "versions", 1)
	if err != nil || got.SHA256 != v1.SHA256 || got.Module == "" {
		t.Fatalf("version 1: %+v %v", got, err)
	}
	if err := m.Policies.EnsureDefault(m.Ctx); err != nil {
		t.Fatalf("the default policy: %v", err)
	}
	if _, _, err := m.Policies.Resolve(m.Ctx, "versions@1"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Policies.Resolve(m.Ctx, "versions@9"); registry.ErrorCode(err) != registry.EUNPROCESSABLE {
		t.Fatalf("unknown version: %v", err)
	}
}

func testExport(t *testing.T, m *MixHarness) {
	m.Policy("open", Limits(`{}`, ""))
	m.Humans(9000, "bulk") // more than two manifest chunks
	mix := m.Allowed(registry.MixRequest{Policy: "open", Size: 8500, Seed: 11})
	got := m.Export(mix.ID)
	if len(got) != 8500 {
		t.Fatalf("export: %d samples", len(got))
	}
	seen := map[string]bool{}
	for _, s := range got {
		if seen[s.ID] {
			t.Fatalf("sample %s twice", s.ID)
		}
		seen[s.ID] = true
	}
}

func testDedup(t *testing.T, m *MixHarness) {
	a, b := m.Model("dedup-a", 0), m.Model("dedup-b", 0)
	humans := m.Humans(3, "dedup")
	text := "The river rose overnight and the ferry stopped running, so the village school stayed closed " +
		"for a week while the teachers sent lessons by post. " + storetest.Words("dedup original", 10) + "."
	original := m.One(storetest.ModelOutput(text, a, ""))
	copied := m.One(storetest.ModelOutput(strings.ToUpper(text), b, ""))
	edited := m.One(storetest.ModelOutput(strings.Replace(text, "overnight", "at dawn", 1), b, ""))
	human := "A human paragraph that a model later repeated word for word, about " + storetest.Words("dedup human", 12) + "."
	written := m.One(storetest.Human(human))
	echo := m.One(storetest.ModelOutput(human, a, ""))
	if copied.Cluster != original.ID || edited.Cluster != original.ID || echo.Cluster != echo.ID {
		t.Fatalf("clusters: copy %s, edit %s, echo %s; original %s", copied.Cluster, edited.Cluster, echo.Cluster, original.ID)
	}
	in := func(mix *registry.Mix) []string {
		var ids []string
		for _, s := range m.Export(mix.ID) {
			if s.Dataset == "dedup" || s.ID == original.ID || s.ID == copied.ID || s.ID == edited.ID || s.ID == written.ID || s.ID == echo.ID {
				ids = append(ids, s.ID)
			}
		}
		slices.Sort(ids)
		return ids
	}
	want := func(ids ...string) []string { slices.Sort(ids); return ids }

	m.Policy("dedup-near", Limits(`{"dedup": "near"}`, ""))
	near := m.Allowed(registry.MixRequest{Policy: "dedup-near", Size: 1000})
	if got := in(near); !slices.Equal(got, want(append(slices.Clone(humans), original.ID, written.ID)...)) {
		t.Fatalf("near: %v", got)
	}
	if near.Stats.Duplicates != 3 {
		t.Fatalf("near: duplicates_removed %d, want 3 (the copy, the edit, the echo)", near.Stats.Duplicates)
	}
	m.Policy("dedup-exact", Limits(`{"dedup": "exact"}`, ""))
	exact := m.Allowed(registry.MixRequest{Policy: "dedup-exact", Size: 1000})
	if got := in(exact); !slices.Equal(got, want(append(slices.Clone(humans), original.ID, edited.ID, written.ID)...)) {
		t.Fatalf("exact: %v", got)
	}
	if exact.Stats.Duplicates != 2 {
		t.Fatalf("exact: duplicates_removed %d, want 2 (the copy, the echo)", exact.Stats.Duplicates)
	}
	m.Policy("cluster-heads", Limits(`{}`, "input.sample.cluster == null"))
	heads := m.Allowed(registry.MixRequest{Policy: "cluster-heads", Size: 1000})
	if got := in(heads); slices.Contains(got, copied.ID) || slices.Contains(got, edited.ID) || !slices.Contains(got, original.ID) {
		t.Fatalf("include on cluster: %v", got)
	}
}
