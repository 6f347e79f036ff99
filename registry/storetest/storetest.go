// Package storetest is the contract every registry.Store must satisfy. Each store's tests call Run
// with a function that opens a fresh, empty store; the same test bodies then run against SQLite and
// PostgreSQL alike.
package storetest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pedigreeml/pedigree/metrics"
	"github.com/pedigreeml/pedigree/registry"
)

// Opener returns a new, empty store; it registers its own cleanup with tb.
type Opener func(tb testing.TB) registry.Store

// Run runs the whole contract against stores from open.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h *Harness)
	}{
		{"GenerationChain", testGenerationChain},
		{"DeclaredGenerationBasis", testDeclaredGenerationBasis},
		{"Duplicate", testDuplicate},
		{"ProvenanceConflict", testProvenanceConflict},
		{"Laundering", testLaundering},
		{"ExternalIDs", testExternalIDs},
		{"RacingItemReferences", testRacingItemReferences},
		{"HumanTextAsModelIsAllowed", testHumanTextAsModel},
		{"UnknownReferences", testUnknownReferences},
		{"BatchIsAllOrNothing", testBatchAllOrNothing},
		{"LargeBatch", testLargeBatch},
		{"Idempotency", testIdempotency},
		{"ListAndPaginate", testListAndPaginate},
		{"Lineage", testLineage},
		{"Candidates", testCandidates},
		{"Models", testModels},
		{"Keys", testKeys},
		{"LogIndexes", testLogIndexes},
		{"Rescore", testRescore},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, NewHarness(t, open(t)))
		})
	}
}

// Harness wraps a store with the registry service and helpers for building fixtures.
type Harness struct {
	tb    testing.TB
	Store registry.Store
	Svc   *registry.Service
	Ctx   context.Context
}

// NewHarness returns a harness over store, scoring with the real built-in metrics.
func NewHarness(tb testing.TB, store registry.Store) *Harness {
	return &Harness{tb: tb, Store: store, Ctx: context.Background(),
		Svc: &registry.Service{Store: store, Scorer: registry.MetricsScorer{Scorer: &metrics.Scorer{}}}}
}

// Text returns a sample text made unique by tag.
func Text(tag string) string {
	return "Sample " + tag + ": " + Words(tag, 14) + "."
}

// Words returns n words drawn by the SHA-256 of seed: texts of different seeds share few shingles, so
// they are not near-duplicates of one another (registry/dedup).
func Words(seed string, n int) string {
	words := strings.Fields(`river stone lantern harbor meadow copper violin orchard thunder pepper glacier
		saddle compass marble velvet canyon falcon ember willow pigeon quartz ladder tunnel biscuit
		anchor mirror cactus dolphin forest garden hammer island jungle kettle lemon magnet needle
		ocean pencil quilt rocket salmon tiger umbrella valley wagon yacht zebra basket candle
		desert engine feather guitar helmet igloo jacket kayak ladle mountain nutmeg oyster parrot
		rabbit shovel teapot unicorn vessel walnut yogurt bridge castle dragon eagle fountain`)
	var b strings.Builder
	for i := 0; b.Len() == 0 || i < n; i++ {
		sum := sha256.Sum256([]byte(seed + "/" + strconv.Itoa(i)))
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(words[int(sum[0])%len(words)])
	}
	return b.String()
}

// Human returns a new human sample.
func Human(text string, parents ...string) registry.NewSample {
	return registry.NewSample{Text: &text, Origin: registry.OriginHuman, Parents: registry.RefIDs(parents...)}
}

// ModelOutput returns a new model sample.
func ModelOutput(text, model, prompt string, parents ...string) registry.NewSample {
	return registry.NewSample{Text: &text, Origin: registry.OriginModel, Model: model, PromptID: registry.RefID(prompt), Parents: registry.RefIDs(parents...)}
}

// Ingest ingests samples and fails the test on error.
func (h *Harness) Ingest(samples ...registry.NewSample) []registry.IngestResult {
	h.tb.Helper()
	res, err := h.Svc.Ingest(h.Ctx, samples, nil)
	if err != nil {
		h.tb.Fatalf("ingest: %v", err)
	}
	return res.Results
}

// One ingests one sample and returns it.
func (h *Harness) One(s registry.NewSample) *registry.Sample {
	h.tb.Helper()
	return h.Ingest(s)[0].Sample
}

// Model registers a model with a declared generation and returns its name@version.
func (h *Harness) Model(name string, declared int) string {
	h.tb.Helper()
	m, err := h.Svc.CreateModel(h.Ctx, &registry.NewModel{Name: name, Version: "1", DeclaredGeneration: &declared}, nil)
	if err != nil {
		h.tb.Fatalf("create model: %v", err)
	}
	return m.Ref()
}

// Count returns how many samples the store lists.
func (h *Harness) Count() int {
	h.tb.Helper()
	n, after := 0, ""
	for {
		page, err := h.Store.ListSamples(h.Ctx, registry.SampleFilter{After: after, Limit: 1000})
		if err != nil {
			h.tb.Fatalf("list: %v", err)
		}
		n += len(page)
		if len(page) < 1000 {
			return n
		}
		after = page[len(page)-1].ID
	}
}

// wantCode fails unless err carries code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := registry.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func testGenerationChain(t *testing.T, h *Harness) {
	teacher := h.Model("teacher", 0)
	prompt := h.One(Human(Text("prompt")))
	answer := h.One(ModelOutput(Text("answer"), teacher, prompt.ID))
	rewrite := h.One(ModelOutput(Text("rewrite"), teacher, "", answer.ID))
	edit := h.One(Human(Text("edit"), rewrite.ID))
	fresh := h.One(ModelOutput(Text("fresh rewrite"), teacher, "", edit.ID))
	for _, c := range []struct {
		name string
		s    *registry.Sample
		want int
	}{{"human prompt", prompt, 0}, {"model answer", answer, 1}, {"model rewrite of gen 1", rewrite, 2},
		{"human edit of gen 2 stays 2", edit, 2}, {"gen-0 model rewriting gen 2", fresh, 3}} {
		if c.s.Generation != c.want {
			t.Errorf("%s: generation %d, want %d", c.name, c.s.Generation, c.want)
		}
		got, err := h.Store.GetSample(h.Ctx, c.s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Generation != c.want {
			t.Errorf("%s: stored generation %d, want %d", c.name, got.Generation, c.want)
		}
	}
	if prompt.GenerationBasis != registry.BasisHuman || answer.GenerationBasis != registry.BasisDeclared {
		t.Errorf("bases = %s, %s; want human, declared", prompt.GenerationBasis, answer.GenerationBasis)
	}
	if !slices.Equal(answer.Parents, []string{prompt.ID}) || answer.PromptID != prompt.ID {
		t.Errorf("answer parents %v prompt %q; want the prompt as parent", answer.Parents, answer.PromptID)
	}
}

func testDeclaredGenerationBasis(t *testing.T, h *Harness) {
	deep := h.Model("deep", 2)
	s := h.One(ModelOutput(Text("deep"), deep, ""))
	if s.Generation != 3 || s.GenerationBasis != registry.BasisDeclared {
		t.Fatalf("generation %d basis %s; want 3 declared", s.Generation, s.GenerationBasis)
	}
	if s.Metrics.Tokens == 0 || s.Metrics.Version == "" || s.Metrics.ToxicityScorer == "" || s.Metrics.Toxicity == nil {
		t.Fatalf("metrics not recorded with their versions: %+v", s.Metrics)
	}
}

func testDuplicate(t *testing.T, h *Harness) {
	m := h.Model("dup", 0)
	first := h.Ingest(ModelOutput(Text("dup"), m, ""))[0]
	if first.Duplicate {
		t.Fatal("first ingest reported as duplicate")
	}
	n := h.Count()
	again := h.Ingest(ModelOutput(Text("dup"), m, ""))[0]
	if !again.Duplicate || again.Sample.ID != first.Sample.ID {
		t.Fatalf("re-send: duplicate=%v id=%s; want duplicate of %s", again.Duplicate, again.Sample.ID, first.Sample.ID)
	}
	if h.Count() != n {
		t.Fatal("a duplicate wrote a row")
	}
	// Within one batch: the second copy answers with the first.
	res := h.Ingest(Human(Text("twice")), Human(Text("twice")))
	if res[0].Duplicate || !res[1].Duplicate || res[0].Sample.ID != res[1].Sample.ID {
		t.Fatalf("in-batch duplicate: %+v %+v", res[0], res[1])
	}
	// The same text with other parents is another sample.
	if other := h.Ingest(ModelOutput(Text("dup"), m, "", first.Sample.ID))[0]; other.Duplicate {
		t.Fatal("the same text with other parents is not a duplicate")
	}
}

func testProvenanceConflict(t *testing.T, h *Harness) {
	m := h.Model("gen", 0)
	synthetic := h.One(ModelOutput(Text("synthetic"), m, ""))
	n := h.Count()
	_, err := h.Svc.Ingest(h.Ctx, []registry.NewSample{Human(Text("synthetic"))}, nil)
	wantCode(t, err, registry.EPROVENANCECONFLICT)
	if e := err.(*registry.Error); e.Existing != synthetic.ID {
		t.Fatalf("conflict names %q, want %q", e.Existing, synthetic.ID)
	}
	// In one batch: model text first, then the same text as human.
	_, err = h.Svc.Ingest(h.Ctx, []registry.NewSample{ModelOutput(Text("batch synthetic"), m, ""), Human(Text("batch synthetic"))}, nil)
	wantCode(t, err, registry.EPROVENANCECONFLICT)
	if h.Count() != n {
		t.Fatal("a refused ingest wrote rows")
	}
}

func testHumanTextAsModel(t *testing.T, h *Harness) {
	m := h.Model("parrot", 0)
	human := h.One(Human(Text("quoted")))
	echoed := h.One(ModelOutput(Text("quoted"), m, ""))
	if echoed.ID == human.ID || echoed.Generation != 1 {
		t.Fatalf("model output of known human text: id %s gen %d", echoed.ID, echoed.Generation)
	}
}

func testUnknownReferences(t *testing.T, h *Harness) {
	missing := "01900000-0000-7000-8000-000000000000"
	for _, tc := range []struct {
		name string
		in   registry.NewSample
	}{
		{"ErrUnknownModel", ModelOutput(Text("x"), "nobody@1", "")},
		{"ErrMissingParent", Human(Text("y"), missing)},
		{"ErrMissingPrompt", ModelOutput(Text("z"), h.Model("known", 0), missing)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.Svc.Ingest(h.Ctx, []registry.NewSample{tc.in}, nil)
			wantCode(t, err, registry.EUNPROCESSABLE)
		})
	}
	if h.Count() != 0 {
		t.Fatal("refused ingests wrote rows")
	}
}

func testBatchAllOrNothing(t *testing.T, h *Harness) {
	bad := "01900000-0000-7000-8000-000000000001"
	batch := []registry.NewSample{Human(Text("a")), Human(Text("b")), Human(Text("c"), bad)}
	_, err := h.Svc.Ingest(h.Ctx, batch, nil)
	wantCode(t, err, registry.EUNPROCESSABLE)
	empty := ""
	_, err = h.Svc.Ingest(h.Ctx, []registry.NewSample{Human(Text("d")), {Text: &empty, Origin: "human"}}, nil)
	wantCode(t, err, registry.EINVALID)
	if n := h.Count(); n != 0 {
		t.Fatalf("a refused batch wrote %d rows", n)
	}
	res := h.Ingest(batch[:2]...)
	if len(res) != 2 || res[0].Sample.Text != Text("a") || res[1].Sample.Text != Text("b") {
		t.Fatal("batch results not in request order")
	}
}

// testLargeBatch writes the largest batch the API accepts in one transaction.
func testLargeBatch(t *testing.T, h *Harness) {
	prompt := h.One(Human(Text("big prompt")))
	model := h.Model("bulk", 0)
	in := make([]registry.NewSample, registry.MaxBatchSamples)
	for i := range in {
		if i%2 == 0 {
			in[i] = Human(Text(fmt.Sprint("bulk ", i)), prompt.ID)
		} else {
			in[i] = ModelOutput(Text(fmt.Sprint("bulk ", i)), model, prompt.ID)
		}
	}
	start := time.Now()
	res, err := h.Svc.Ingest(h.Ctx, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d samples in one batch: %v", len(in), time.Since(start))
	if len(res.Results) != len(in) {
		t.Fatalf("%d results", len(res.Results))
	}
	for i, r := range res.Results {
		if r.Sample.LogIndex != int64(i+2) || r.Sample.Text != *in[i].Text {
			t.Fatalf("result %d: log index %d, text %q", i, r.Sample.LogIndex, r.Sample.Text)
		}
	}
	if last := res.Results[len(in)-1].Sample; last.BestOfK == nil || last.BestOfK.K != len(in)/2 {
		t.Fatalf("best_of_k of the last candidate = %+v, want k = %d", last.BestOfK, len(in)/2)
	}
	if n := h.Count(); n != len(in)+1 {
		t.Fatalf("%d samples stored, want %d", n, len(in)+1)
	}
}

func testIdempotency(t *testing.T, h *Harness) {
	idem := &registry.Idempotency{Scope: "k1", Key: "batch-1", RequestSHA256: "aa"}
	first, err := h.Svc.Ingest(h.Ctx, []registry.NewSample{Human(Text("i1")), Human(Text("i2"))}, idem)
	if err != nil {
		t.Fatal(err)
	}
	replay, err := h.Svc.Ingest(h.Ctx, []registry.NewSample{Human(Text("i1")), Human(Text("i2"))}, idem)
	if err != nil {
		t.Fatal(err)
	}
	if !replay.Replayed || replay.Results[1].Sample.ID != first.Results[1].Sample.ID || replay.Results[0].Duplicate {
		t.Fatalf("replay = %+v", replay)
	}
	other := &registry.Idempotency{Scope: "k1", Key: "batch-1", RequestSHA256: "bb"}
	_, err = h.Svc.Ingest(h.Ctx, []registry.NewSample{Human(Text("i3"))}, other)
	wantCode(t, err, registry.EUNPROCESSABLE)
	// Another scope may use the same key.
	if _, err := h.Svc.Ingest(h.Ctx, []registry.NewSample{Human(Text("i3"))}, &registry.Idempotency{Scope: "k2", Key: "batch-1", RequestSHA256: "bb"}); err != nil {
		t.Fatal(err)
	}
	if h.Count() != 3 {
		t.Fatalf("count %d, want 3", h.Count())
	}
}

func testListAndPaginate(t *testing.T, h *Harness) {
	m := h.Model("lister", 0)
	var human []string
	for i := range 7 {
		text := Text(fmt.Sprint("list ", i))
		s := Human(text)
		s.Dataset = "set-a"
		human = append(human, h.One(s).ID)
		h.One(ModelOutput(text+" (model)", m, ""))
	}
	var got []string
	after := ""
	for pages := 0; ; pages++ {
		page, err := h.Store.ListSamples(h.Ctx, registry.SampleFilter{Origin: registry.OriginHuman, After: after, Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page {
			got = append(got, s.ID)
		}
		if len(page) < 3 || pages > 10 {
			break
		}
		after = page[len(page)-1].ID
	}
	if !slices.Equal(got, human) {
		t.Fatalf("paged human ids = %v, want %v", got, human)
	}
	one := 1
	for _, tc := range []struct {
		name string
		f    registry.SampleFilter
		want int
	}{
		{"Dataset", registry.SampleFilter{Dataset: "set-a"}, 7},
		{"MinGeneration", registry.SampleFilter{MinGeneration: &one}, 7},
		{"MaxGeneration", registry.SampleFilter{MaxGeneration: new(int)}, 7},
		{"Model", registry.SampleFilter{ModelID: mustModel(t, h, m).ID}, 7},
		{"NoMatch", registry.SampleFilter{Dataset: "none"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.f.Limit = 100
			page, err := h.Store.ListSamples(h.Ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) != tc.want {
				t.Fatalf("%d samples, want %d", len(page), tc.want)
			}
		})
	}
}

func mustModel(t *testing.T, h *Harness, ref string) *registry.Model {
	t.Helper()
	m, err := h.Store.GetModel(h.Ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func testLineage(t *testing.T, h *Harness) {
	m := h.Model("lineage", 0)
	root := h.One(Human(Text("root")))
	a := h.One(ModelOutput(Text("a"), m, root.ID))
	b := h.One(ModelOutput(Text("b"), m, "", root.ID))
	c := h.One(Human(Text("c"), a.ID, b.ID)) // a diamond
	d := h.One(ModelOutput(Text("d"), m, "", c.ID))

	anc, err := h.Store.Lineage(h.Ctx, d.ID, registry.DirectionAncestors, 10, 100)
	if err != nil {
		t.Fatal(err)
	}
	if ids := nodeIDs(anc); !slices.Equal(ids, sorted(root.ID, a.ID, b.ID, c.ID, d.ID)) {
		t.Fatalf("ancestors %v", ids)
	}
	if len(anc.Edges) != 5 {
		t.Fatalf("ancestor edges %v, want 5", anc.Edges)
	}
	var promptEdge bool
	for _, e := range anc.Edges {
		if e.From == root.ID && e.To == a.ID && e.Kind == "prompt" {
			promptEdge = true
		}
	}
	if !promptEdge {
		t.Fatal("the prompt edge root→a is missing or not of kind prompt")
	}
	desc, err := h.Store.Lineage(h.Ctx, root.ID, registry.DirectionDescendants, 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	if ids := nodeIDs(desc); !slices.Equal(ids, sorted(root.ID, a.ID, b.ID)) {
		t.Fatalf("descendants at depth 1: %v", ids)
	}
	both, err := h.Store.Lineage(h.Ctx, c.ID, registry.DirectionBoth, 10, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(both.Nodes) != 3 || !both.Truncated {
		t.Fatalf("node cap: %d nodes, truncated %v", len(both.Nodes), both.Truncated)
	}
	_, err = h.Store.Lineage(h.Ctx, "01900000-0000-7000-8000-000000000009", registry.DirectionBoth, 10, 10)
	wantCode(t, err, registry.ENOTFOUND)
}

func nodeIDs(l *registry.Lineage) []string {
	var ids []string
	for _, n := range l.Nodes {
		ids = append(ids, n.ID)
	}
	sort.Strings(ids)
	return ids
}

func sorted(ids ...string) []string {
	sort.Strings(ids)
	return ids
}

func testCandidates(t *testing.T, h *Harness) {
	m1, m2 := h.Model("cand-a", 0), h.Model("cand-b", 0)
	prompt := h.One(Human(Text("the prompt")))
	texts := map[string]string{
		"short": "Fine.",
		"long":  "The answer, in more words than the others use, repeats repeats repeats repeats itself again and again and again.",
		"rich":  "Quick brown foxes vault lazy dogs beside seven quiet rivers.",
		"rude":  "You are an idiot and a moron, stupid answer.",
	}
	ids := map[string]string{}
	for _, k := range []string{"short", "long", "rich"} {
		ids[k] = h.One(ModelOutput(texts[k], m1, prompt.ID)).ID
	}
	ids["rude"] = h.One(ModelOutput(texts["rude"], m2, prompt.ID)).ID

	check := func(objective, modelID string, want ...string) {
		t.Helper()
		got, err := h.Store.Candidates(h.Ctx, prompt.ID, objective, modelID)
		if err != nil {
			t.Fatal(err)
		}
		var order []string
		for i, c := range got.Candidates {
			if c.Rank != i+1 {
				t.Errorf("%s: rank %d at position %d", objective, c.Rank, i+1)
			}
			for k, id := range ids {
				if id == c.ID {
					order = append(order, k)
				}
			}
		}
		if !slices.Equal(order, want) {
			t.Errorf("%s (model %q): order %v, want %v", objective, modelID, order, want)
		}
	}
	check(registry.ObjectiveLength, "", "long", "rich", "rude", "short")
	check(registry.ObjectiveMTLD, "", "rich", "rude", "long", "short")
	// Toxicity: lower is better; the rude answer is last. The three benign ones tie at 0 and break by id.
	got, err := h.Store.Candidates(h.Ctx, prompt.ID, registry.ObjectiveToxicity, "")
	if err != nil {
		t.Fatal(err)
	}
	if last := got.Candidates[len(got.Candidates)-1]; last.ID != ids["rude"] {
		t.Errorf("toxicity: least toxic last is %s, want the rude one", last.ID)
	}
	if a, b := got.Candidates[0].ID, got.Candidates[1].ID; a > b {
		t.Errorf("toxicity ties not broken by id: %s before %s", a, b)
	}
	m1ID := mustModel(t, h, m1).ID
	check(registry.ObjectiveLength, m1ID, "long", "rich", "short")

	// The stored sample carries its current ranks.
	s, err := h.Store.GetSample(h.Ctx, ids["rich"])
	if err != nil {
		t.Fatal(err)
	}
	if s.BestOfK == nil || s.BestOfK.K != 4 || s.BestOfK.Rank.MTLD != 1 || s.BestOfK.Rank.Length != 2 {
		t.Fatalf("best_of_k = %+v", s.BestOfK)
	}
	_, err = h.Store.Candidates(h.Ctx, "01900000-0000-7000-8000-00000000000a", registry.ObjectiveMTLD, "")
	wantCode(t, err, registry.ENOTFOUND)
}

func testModels(t *testing.T, h *Harness) {
	ref := h.Model("model-x", 1)
	m := mustModel(t, h, ref)
	if m.Generation != 1 || m.GenerationBasis != registry.BasisDeclared || m.Ref() != "model-x@1" {
		t.Fatalf("model = %+v", m)
	}
	byID, err := h.Store.GetModel(h.Ctx, m.ID)
	if err != nil || byID.Ref() != ref {
		t.Fatalf("by id: %v %v", byID, err)
	}
	zero := 0
	_, err = h.Svc.CreateModel(h.Ctx, &registry.NewModel{Name: "model-x", Version: "1", DeclaredGeneration: &zero}, nil)
	wantCode(t, err, registry.ECONFLICT)
	_, err = h.Svc.CreateModel(h.Ctx, &registry.NewModel{Name: "student", Version: "1", TrainedOn: []string{"01900000-0000-7000-8000-00000000000b"}}, nil)
	wantCode(t, err, registry.EUNPROCESSABLE)
	_, err = h.Store.GetModel(h.Ctx, "nobody@1")
	wantCode(t, err, registry.ENOTFOUND)
	list, err := h.Store.ListModels(h.Ctx, "", 10)
	if err != nil || len(list) != 1 {
		t.Fatalf("list models: %d, %v", len(list), err)
	}
}

func testKeys(t *testing.T, h *Harness) {
	key, rec, err := h.Svc.CreateKey(h.Ctx, registry.RoleAuditor)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(key, "pdg_") {
		t.Fatalf("key %q", key)
	}
	got, err := registry.Authenticate(h.Ctx, h.Store, key)
	if err != nil || got.ID != rec.ID || got.Role != registry.RoleAuditor {
		t.Fatalf("authenticate: %+v %v", got, err)
	}
	_, err = registry.Authenticate(h.Ctx, h.Store, key[:len(key)-1]+"x")
	wantCode(t, err, registry.EUNAUTHORIZED)
	if n, err := h.Store.CountKeys(h.Ctx); err != nil || n != 1 {
		t.Fatalf("count = %d, %v", n, err)
	}
	if _, err := registry.RevokeKey(h.Ctx, h.Store, rec.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	_, err = registry.Authenticate(h.Ctx, h.Store, key)
	wantCode(t, err, registry.EUNAUTHORIZED)
	if n, _ := h.Store.CountKeys(h.Ctx); n != 1 {
		t.Fatal("revoked keys must still count")
	}
	list, err := h.Store.ListKeys(h.Ctx, "", 10)
	if err != nil || len(list) != 1 || list[0].RevokedAt == nil {
		t.Fatalf("list keys: %+v %v", list, err)
	}
	_, err = registry.RevokeKey(h.Ctx, h.Store, "01900000-0000-7000-8000-00000000000c", time.Now())
	wantCode(t, err, registry.ENOTFOUND)
}

func testLogIndexes(t *testing.T, h *Harness) {
	var idx []int64
	m := h.Model("logger", 0)
	idx = append(idx, mustModel(t, h, m).LogIndex)
	for _, r := range h.Ingest(Human(Text("l1")), Human(Text("l2")), Human(Text("l2"))) {
		if !r.Duplicate {
			idx = append(idx, r.Sample.LogIndex)
		}
	}
	_, k, err := h.Svc.CreateKey(h.Ctx, registry.RoleIngest)
	if err != nil {
		t.Fatal(err)
	}
	idx = append(idx, k.LogIndex)
	for i := range idx {
		if idx[i] != int64(i) {
			t.Fatalf("log indexes %v, want 0, 1, 2, …", idx)
		}
	}
}
