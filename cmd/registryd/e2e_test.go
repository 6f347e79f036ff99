package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/pedigreeml/pedigree"
	"github.com/pedigreeml/pedigree/client"
	"github.com/pedigreeml/pedigree/registry"
)

func text(s string) *string { return &s }

func human(t string, parents ...string) registry.NewSample {
	return registry.NewSample{Text: text(t), Origin: registry.OriginHuman, Parents: registry.RefIDs(parents...)}
}

func modelOut(t, model, prompt string, parents ...string) registry.NewSample {
	return registry.NewSample{Text: text(t), Origin: registry.OriginModel, Model: model, PromptID: registry.RefID(prompt), Parents: registry.RefIDs(parents...)}
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func TestGenerationChainEndToEnd(t *testing.T) {
	srv := startServer(t, "")
	ctx := context.Background()
	ingest := srv.Client(srv.Key(registry.RoleIngest))
	auditor := srv.Client(srv.Key(registry.RoleAuditor))
	zero := 0
	teacher := must[*registry.Model](t)(ingest.CreateModel(ctx, registry.NewModel{Name: "teacher", Version: "1", DeclaredGeneration: &zero}, ""))

	create := func(s registry.NewSample) *client.IngestedSample {
		t.Helper()
		return must[*client.IngestedSample](t)(ingest.CreateSample(ctx, s, ""))
	}
	prompt := create(human("Explain why the sky is blue to a curious child."))
	answer := create(modelOut("Sunlight scatters off air molecules, and blue light scatters the most.", teacher.Ref(), prompt.ID))
	gen2 := create(modelOut("Air scatters blue light more than red light, so the sky looks blue.", teacher.Ref(), "", answer.ID))
	edit := create(human("Air scatters blue light more than red, which is why we see a blue sky.", gen2.ID))
	rewrite := create(modelOut("Blue light bounces around the air the most, so the sky is blue.", teacher.Ref(), "", edit.ID))
	for _, c := range []struct {
		name string
		got  int
		want int
	}{{"human prompt", prompt.Generation, 0}, {"model answer", answer.Generation, 1}, {"generation 2", gen2.Generation, 2},
		{"a person's edit of generation 2", edit.Generation, 2}, {"a generation-0 model rewriting generation 2", rewrite.Generation, 3}} {
		if c.got != c.want {
			t.Errorf("%s: generation %d, want %d", c.name, c.got, c.want)
		}
	}
	got := must[*registry.Sample](t)(auditor.GetSample(ctx, rewrite.ID))
	if got.Generation != 3 || got.GenerationBasis != registry.BasisDeclared || got.Model != "teacher@1" {
		t.Fatalf("stored rewrite: %+v", got)
	}
	lin := must[*registry.Lineage](t)(auditor.Lineage(ctx, rewrite.ID, registry.DirectionAncestors, 0))
	if len(lin.Nodes) != 5 || len(lin.Edges) != 4 {
		t.Fatalf("lineage of the rewrite: %d nodes, %d edges; want 5 and 4", len(lin.Nodes), len(lin.Edges))
	}

	// Re-sending is idempotent: 200 with duplicate true, same record.
	_, body, err := ingest.Do(ctx, client.Request{Method: http.MethodPost, Path: "/v1/samples",
		Body: mustJSON(t, modelOut("Sunlight scatters off air molecules, and blue light scatters the most.", teacher.Ref(), prompt.ID))})
	if err != nil {
		t.Fatal(err)
	}
	var dup client.IngestedSample
	json.Unmarshal(body, &dup)
	if !dup.Duplicate || dup.ID != answer.ID {
		t.Fatalf("re-send: duplicate=%v id=%s", dup.Duplicate, dup.ID)
	}
	// Model text relabelled as human: 409 naming the existing sample.
	_, err = ingest.CreateSample(ctx, human("Sunlight scatters off air molecules, and blue light scatters the most."), "")
	var p *client.Problem
	if client.CodeOf(err) != registry.EPROVENANCECONFLICT || !asProblem(err, &p) || p.Existing != answer.ID || p.Status != 409 {
		t.Fatalf("relabel as human: %v", err)
	}
}

func asProblem(err error, p **client.Problem) bool {
	q, ok := err.(*client.Problem)
	*p = q
	return ok
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBatchAndIdempotencyEndToEnd(t *testing.T) {
	srv := startServer(t, "")
	ctx := context.Background()
	ingest := srv.Client(srv.Key(registry.RoleIngest))
	auditor := srv.Client(srv.Key(registry.RoleAuditor))

	batch := []registry.NewSample{human("first of the batch"), human("second of the batch"), human("third of the batch")}
	first := must[[]client.IngestedSample](t)(ingest.IngestBatch(ctx, batch, "batch-0001"))
	if len(first) != 3 || first[2].Text != "third of the batch" {
		t.Fatalf("batch results out of order: %+v", first)
	}
	replay := must[[]client.IngestedSample](t)(ingest.IngestBatch(ctx, batch, "batch-0001"))
	for i := range replay {
		if replay[i].ID != first[i].ID || replay[i].Duplicate {
			t.Fatalf("replay item %d: %s duplicate=%v; want the first response", i, replay[i].ID, replay[i].Duplicate)
		}
	}
	_, err := ingest.IngestBatch(ctx, batch[:1], "batch-0001")
	if client.StatusOf(err) != 422 {
		t.Fatalf("same Idempotency-Key, other body: %v; want 422", err)
	}

	// JSON Lines, with a blank line.
	var jl bytes.Buffer
	for i := range 5 {
		jl.Write(mustJSON(t, human(fmt.Sprintf("line %d of a JSON Lines batch", i))))
		jl.WriteString("\n\n")
	}
	lines := must[[]client.IngestedSample](t)(ingest.IngestJSONLines(ctx, jl.Bytes(), ""))
	if len(lines) != 5 || lines[4].Text != "line 4 of a JSON Lines batch" {
		t.Fatalf("JSON Lines batch: %d results", len(lines))
	}

	// Pagination walks every sample once.
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; pages < 10; pages++ {
		page := must[*client.SamplePage](t)(auditor.ListSamples(ctx, client.SampleQuery{Cursor: cursor, Limit: 3}))
		for _, s := range page.Samples {
			if seen[s.ID] {
				t.Fatalf("sample %s listed twice", s.ID)
			}
			seen[s.ID] = true
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if len(seen) != 8 {
		t.Fatalf("listed %d samples, want 8", len(seen))
	}
	// A page that holds exactly the rest has no cursor.
	full := must[*client.SamplePage](t)(auditor.ListSamples(ctx, client.SampleQuery{Limit: 8}))
	if len(full.Samples) != 8 || full.NextCursor != "" {
		t.Fatalf("exactly full last page: %d samples, cursor %q", len(full.Samples), full.NextCursor)
	}

	// Field errors name the field for one sample, and samples/<i>/<field> in a batch.
	_, err = ingest.CreateSample(ctx, registry.NewSample{Origin: "human"}, "")
	if p := problemOf(t, err); len(p.Errors) != 1 || p.Errors[0].Field != "text" {
		t.Fatalf("single sample field errors: %+v", p.Errors)
	}
	_, err = ingest.IngestBatch(ctx, []registry.NewSample{{Origin: "human"}}, "")
	if p := problemOf(t, err); len(p.Errors) != 1 || p.Errors[0].Field != "samples/0/text" {
		t.Fatalf("batch field errors: %+v", p.Errors)
	}
}

func problemOf(t *testing.T, err error) *client.Problem {
	t.Helper()
	var p *client.Problem
	if !asProblem(err, &p) {
		t.Fatalf("want a problem, got %v", err)
	}
	return p
}

func TestModelsEndToEnd(t *testing.T) {
	srv := startServer(t, "")
	ctx := context.Background()
	ingest := srv.Client(srv.Key(registry.RoleIngest))
	auditor := srv.Client(srv.Key(registry.RoleAuditor))
	two := 2
	m := must[*registry.Model](t)(ingest.CreateModel(ctx, registry.NewModel{Name: "org/model", Version: "v1.2", Provider: "Org", DeclaredGeneration: &two}, "model-1"))
	again := must[*registry.Model](t)(ingest.CreateModel(ctx, registry.NewModel{Name: "org/model", Version: "v1.2", Provider: "Org", DeclaredGeneration: &two}, "model-1"))
	if again.ID != m.ID {
		t.Fatalf("idempotent model replay gave %s, want %s", again.ID, m.ID)
	}
	for _, ref := range []string{m.ID, "org/model@v1.2"} {
		got := must[*registry.Model](t)(auditor.GetModel(ctx, ref))
		if got.ID != m.ID || got.Generation != 2 || got.GenerationBasis != registry.BasisDeclared {
			t.Fatalf("GetModel(%q) = %+v", ref, got)
		}
	}
	page := must[*client.ModelPage](t)(auditor.ListModels(ctx, "", 0))
	if len(page.Models) != 1 || page.NextCursor != "" {
		t.Fatalf("models: %+v", page)
	}
	s := must[*client.IngestedSample](t)(ingest.CreateSample(ctx, modelOut("from a declared generation-2 model", "org/model@v1.2", ""), ""))
	if s.Generation != 3 || s.GenerationBasis != registry.BasisDeclared {
		t.Fatalf("sample of a declared-2 model: generation %d basis %s", s.Generation, s.GenerationBasis)
	}
}

func TestCandidatesEndToEnd(t *testing.T) {
	srv := startServer(t, "")
	ctx := context.Background()
	ingest := srv.Client(srv.Key(registry.RoleIngest))
	auditor := srv.Client(srv.Key(registry.RoleAuditor))
	zero := 0
	a := must[*registry.Model](t)(ingest.CreateModel(ctx, registry.NewModel{Name: "teacher-a", Version: "1", DeclaredGeneration: &zero}, ""))
	b := must[*registry.Model](t)(ingest.CreateModel(ctx, registry.NewModel{Name: "teacher-b", Version: "2", DeclaredGeneration: &zero}, ""))
	prompt := must[*client.IngestedSample](t)(ingest.CreateSample(ctx, human("Write one sentence about rivers."), ""))
	answers := []registry.NewSample{
		modelOut("Rivers run.", a.Ref(), prompt.ID), // short, diverse
		modelOut("Rivers carve valleys, carry silt to distant deltas, and feed every town along them.", a.Ref(), prompt.ID), // long, diverse
		modelOut("The river is a river is a river is a river is a river.", b.Ref(), prompt.ID),                              // long, repetitive
		modelOut("Stupid rivers, you idiot.", b.Ref(), prompt.ID),                                                           // toxic
	}
	got := must[[]client.IngestedSample](t)(ingest.IngestBatch(ctx, answers, ""))
	id := func(i int) string { return got[i].ID }
	order := func(objective, model string) []string {
		t.Helper()
		c := must[*registry.Candidates](t)(auditor.Candidates(ctx, prompt.ID, objective, model))
		var ids []string
		for i, x := range c.Candidates {
			if x.Rank != i+1 {
				t.Fatalf("%s: candidate %d has rank %d", objective, i, x.Rank)
			}
			ids = append(ids, x.ID)
		}
		return ids
	}
	eq := func(name string, got, want []string) {
		t.Helper()
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
	eq("length, multi-source", order("length", ""), []string{id(1), id(2), id(3), id(0)})
	eq("mtld, multi-source", order("mtld", "")[:1], []string{id(1)})
	eq("toxicity, multi-source (least toxic first)", order("toxicity", "")[3:], []string{id(3)})
	eq("length, single-source teacher-b", order("length", b.Ref()), []string{id(2), id(3)})
	eq("mtld, single-source teacher-a", order("mtld", a.Ref()), []string{id(1), id(0)})
	s := must[*registry.Sample](t)(auditor.GetSample(ctx, id(1)))
	if s.BestOfK == nil || s.BestOfK.K != 4 || s.BestOfK.Rank.Length != 1 || s.BestOfK.Rank.MTLD != 1 {
		t.Fatalf("best_of_k of the longest answer: %+v", s.BestOfK)
	}
	if _, err := auditor.Candidates(ctx, prompt.ID, "beauty", ""); client.StatusOf(err) != 400 {
		t.Fatalf("unknown objective: %v; want 400", err)
	}
}

func TestRefusals(t *testing.T) {
	srv := startServer(t, "")
	ctx := context.Background()
	ingestKey, auditorKey := srv.Key(registry.RoleIngest), srv.Key(registry.RoleAuditor)
	zero := 0
	if _, err := srv.Client(ingestKey).CreateModel(ctx, registry.NewModel{Name: "m", Version: "1", DeclaredGeneration: &zero}, ""); err != nil {
		t.Fatal(err)
	}
	missing := "01900000-0000-7000-8000-000000000000"
	big := strings.Repeat("a", registry.MaxTextBytes+1)
	manyParents := make([]string, registry.MaxParents+1)
	for i := range manyParents {
		manyParents[i] = fmt.Sprintf("01900000-0000-7000-8000-%012d", i)
	}
	tooMany := make([]registry.NewSample, registry.MaxBatchSamples+1)
	for i := range tooMany {
		tooMany[i] = human("x")
	}
	cases := []struct {
		name   string
		key    string
		method string
		path   string
		body   []byte
		ctype  string
		status int
		code   string
	}{
		{"NoKey", "", "POST", "/v1/samples", []byte(`{"text":"a","origin":"human"}`), "", 401, "unauthorized"},
		{"UnknownKey", "pdg_00000000000000000000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "POST", "/v1/samples", []byte(`{"text":"a","origin":"human"}`), "", 401, "unauthorized"},
		{"NotBearer", "Basic abc", "GET", "/v1/samples", nil, "", 401, "unauthorized"},
		{"AuditorCannotIngest", auditorKey, "POST", "/v1/samples", []byte(`{"text":"a","origin":"human"}`), "", 403, "forbidden"},
		{"IngestCannotAudit", ingestKey, "GET", "/v1/samples", nil, "", 403, "forbidden"},
		{"IngestCannotCreateKeys", ingestKey, "POST", "/v1/keys", []byte(`{"role":"admin"}`), "", 403, "forbidden"},
		{"BadJSON", ingestKey, "POST", "/v1/samples", []byte(`{"text": "a",`), "", 400, "invalid"},
		{"NotAnObject", ingestKey, "POST", "/v1/samples", []byte(`["a"]`), "", 400, "invalid"},
		{"TrailingData", ingestKey, "POST", "/v1/samples", []byte(`{"text":"a","origin":"human"} {}`), "", 400, "invalid"},
		{"EmptyBody", ingestKey, "POST", "/v1/samples", []byte(``), "", 400, "invalid"},
		{"UnknownField", ingestKey, "POST", "/v1/samples", []byte(`{"text":"a","origin":"human","generation":0}`), "", 400, "invalid"},
		{"MissingText", ingestKey, "POST", "/v1/samples", []byte(`{"origin":"human"}`), "", 400, "invalid"},
		{"EmptyText", ingestKey, "POST", "/v1/samples", []byte(`{"text":"","origin":"human"}`), "", 400, "invalid"},
		{"WrongType", ingestKey, "POST", "/v1/samples", []byte(`{"text":7,"origin":"human"}`), "", 400, "invalid"},
		{"BadOrigin", ingestKey, "POST", "/v1/samples", []byte(`{"text":"a","origin":"robot"}`), "", 400, "invalid"},
		{"ModelWithoutModel", ingestKey, "POST", "/v1/samples", []byte(`{"text":"a","origin":"model"}`), "", 400, "invalid"},
		{"BadSourceKind", ingestKey, "POST", "/v1/samples", []byte(`{"text":"a","origin":"human","source":{"kind":"ftp"}}`), "", 400, "invalid"},
		{"MetadataNotObject", ingestKey, "POST", "/v1/samples", []byte(`{"text":"a","origin":"human","metadata":[1]}`), "", 400, "invalid"},
		{"BadParentID", ingestKey, "POST", "/v1/samples", []byte(`{"text":"a","origin":"human","parents":["nope"]}`), "", 400, "invalid"},
		{"UnknownModel", ingestKey, "POST", "/v1/samples", []byte(`{"text":"a","origin":"model","model":"ghost@1"}`), "", 422, "unprocessable"},
		{"MissingParent", ingestKey, "POST", "/v1/samples", mustJSON(t, human("a", missing)), "", 422, "unprocessable"},
		{"MissingPrompt", ingestKey, "POST", "/v1/samples", mustJSON(t, modelOut("a", "m@1", missing)), "", 422, "unprocessable"},
		{"InvalidUTF8", ingestKey, "POST", "/v1/samples", []byte("{\"text\":\"caf\xe9\",\"origin\":\"human\"}"), "", 400, "invalid"},
		{"OversizeBody", ingestKey, "POST", "/v1/samples", bytes.Repeat([]byte(" "), 9<<20), "", 413, "too_large"},
		{"TextOver1MiB", ingestKey, "POST", "/v1/samples", mustJSON(t, human(big)), "", 413, "too_large"},
		{"TooManyParents", ingestKey, "POST", "/v1/samples", mustJSON(t, human("a", manyParents...)), "", 413, "too_large"},
		{"MetadataOver16KiB", ingestKey, "POST", "/v1/samples", []byte(`{"text":"a","origin":"human","metadata":{"x":"` + strings.Repeat("b", 17<<10) + `"}}`), "", 413, "too_large"},
		{"BatchWithOneBadItem", ingestKey, "POST", "/v1/samples/batch", mustJSON(t, map[string]any{"samples": []registry.NewSample{human("good one"), human("bad one", missing)}}), "", 422, "unprocessable"},
		{"BatchWithOneInvalidItem", ingestKey, "POST", "/v1/samples/batch", []byte(`{"samples":[{"text":"ok","origin":"human"},{"text":"","origin":"human"}]}`), "", 400, "invalid"},
		{"BatchJSONLinesBadLine", ingestKey, "POST", "/v1/samples/batch", []byte("{\"text\":\"ok\",\"origin\":\"human\"}\n{\"text\":\n"), "application/x-ndjson", 400, "invalid"},
		{"EmptyBatch", ingestKey, "POST", "/v1/samples/batch", []byte(`{"samples":[]}`), "", 400, "invalid"},
		{"BatchTooLarge", ingestKey, "POST", "/v1/samples/batch", mustJSON(t, map[string]any{"samples": tooMany}), "", 413, "too_large"},
		{"UnknownQueryParameter", auditorKey, "GET", "/v1/samples?orgin=human", nil, "", 400, "invalid"},
		{"BadLimit", auditorKey, "GET", "/v1/samples?limit=5000", nil, "", 400, "invalid"},
		{"BadCursor", auditorKey, "GET", "/v1/samples?cursor=!!", nil, "", 400, "invalid"},
		{"UnknownSample", auditorKey, "GET", "/v1/samples/" + missing, nil, "", 404, "not_found"},
		{"UnknownModelFilter", auditorKey, "GET", "/v1/samples?model=ghost@1", nil, "", 400, "invalid"},
		{"BadDirection", auditorKey, "GET", "/v1/samples/" + missing + "/lineage?direction=up", nil, "", 400, "invalid"},
		{"DuplicateModel", ingestKey, "POST", "/v1/models", []byte(`{"name":"m","version":"1"}`), "", 409, "conflict"},
		{"ModelBothTrainedAndDeclared", ingestKey, "POST", "/v1/models", []byte(`{"name":"n","version":"1","declared_generation":1,"trained_on":["` + missing + `"]}`), "", 400, "invalid"},
		{"ModelUnknownMix", ingestKey, "POST", "/v1/models", []byte(`{"name":"n","version":"1","trained_on":["` + missing + `"]}`), "", 422, "unprocessable"},
		{"BadRole", srv.AdminKey, "POST", "/v1/keys", []byte(`{"role":"root"}`), "", 400, "invalid"},
		{"UnknownRoute", auditorKey, "GET", "/v1/nothing", nil, "", 404, "not_found"},
		{"WrongMethod", auditorKey, "PUT", "/v1/samples", nil, "", 405, "method_not_allowed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := srv.Client(tc.key)
			header := http.Header{}
			if strings.HasPrefix(tc.key, "Basic ") {
				c = srv.Client("")
				header.Set("Authorization", tc.key)
			}
			_, body, err := c.Do(ctx, client.Request{Method: tc.method, Path: tc.path, Body: tc.body, ContentType: tc.ctype, Header: header})
			var p *client.Problem
			if !asProblem(err, &p) {
				t.Fatalf("got %v (%s), want a problem", err, body)
			}
			if p.Status != tc.status || p.Code != tc.code {
				t.Fatalf("got %d %s (%s), want %d %s", p.Status, p.Code, p.Detail, tc.status, tc.code)
			}
			if p.Type == "" || p.Title == "" || p.Detail == "" || p.RequestID == "" {
				t.Fatalf("incomplete problem: %+v", p)
			}
		})
	}
	page := must[*client.SamplePage](t)(srv.Client(auditorKey).ListSamples(ctx, client.SampleQuery{}))
	if len(page.Samples) != 0 {
		t.Fatalf("refused requests wrote %d samples", len(page.Samples))
	}
}

func TestKeysEndToEnd(t *testing.T) {
	srv := startServer(t, "")
	ctx := context.Background()
	admin := srv.Admin()
	k := must[*client.CreatedKey](t)(admin.CreateKey(ctx, registry.RoleAuditor))
	auditor := srv.Client(k.Key)
	if _, err := auditor.ListSamples(ctx, client.SampleQuery{}); err != nil {
		t.Fatalf("new auditor key: %v", err)
	}
	keys := must[*client.KeyPage](t)(admin.ListKeys(ctx, "", 0))
	if len(keys.Keys) != 2 {
		t.Fatalf("%d keys, want 2 (admin and auditor)", len(keys.Keys))
	}
	if bytes.Contains(mustJSON(t, keys), []byte(k.Key)) {
		t.Fatal("a key listing shows a secret")
	}
	revoked := must[*registry.APIKey](t)(admin.RevokeKey(ctx, k.ID))
	if revoked.RevokedAt == nil || revoked.RevokedLogIndex == nil || *revoked.RevokedLogIndex <= revoked.LogIndex {
		t.Fatalf("revocation: %+v", revoked)
	}
	if _, err := auditor.ListSamples(ctx, client.SampleQuery{}); client.StatusOf(err) != 401 {
		t.Fatalf("revoked key: %v; want 401", err)
	}
	self := keys.Keys[0].ID
	if _, err := admin.RevokeKey(ctx, self); client.StatusOf(err) != 409 {
		t.Fatalf("self-revocation: %v; want 409", err)
	}
}

func TestOperationsEndpoints(t *testing.T) {
	srv := startServer(t, "")
	ctx := context.Background()
	anon := srv.Client("")
	for _, path := range []string{"/healthz", "/readyz"} {
		if _, _, err := anon.Do(ctx, client.Request{Method: "GET", Path: path}); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	if _, err := srv.Client(srv.Key(registry.RoleIngest)).CreateSample(ctx, human("counted"), ""); err != nil {
		t.Fatal(err)
	}
	_, body, err := anon.Do(ctx, client.Request{Method: "GET", Path: "/metrics"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`pedigree_samples_ingested_total{result="new"} 1`, `pedigree_http_requests_total{method="POST",route="/v1/samples",status="201"} 1`, "pedigree_http_request_duration_seconds_bucket"} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	_, spec, err := anon.Do(ctx, client.Request{Method: "GET", Path: "/openapi.yaml"})
	if err != nil || !bytes.Equal(spec, pedigree.OpenAPI) {
		t.Fatalf("/openapi.yaml is not the embedded spec (%v)", err)
	}
}

func TestAdminKeyCreatedOnceWithMode0600(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir)
	if !strings.Contains(srv.stdout.String(), filepath.Join(dir, "admin.key")) {
		t.Fatalf("serve did not say where the admin key is: %q", srv.stdout.String())
	}
	fi, err := os.Stat(filepath.Join(dir, "admin.key"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin.key mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestCommandLineErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"NoCommand", nil},
		{"UnknownCommand", []string{"frobnicate"}},
		{"KeysWithoutRole", []string{"keys", "create", "--data-dir", t.TempDir()}},
		{"BadFlag", []string{"serve", "--nope"}},
		{"BadTimeout", []string{"serve", "--toxicity-timeout", "soon"}},
		{"BadScorerURL", []string{"serve", "--toxicity-scorer", "ftp://x", "--data-dir", t.TempDir()}},
		{"BadLaundering", []string{"serve", "--laundering", "ignore", "--data-dir", t.TempDir()}},
		{"NearThresholdTooLow", []string{"serve", "--near-duplicate-threshold", "0.2", "--data-dir", t.TempDir()}},
		{"NearThresholdNotANumber", []string{"serve", "--near-duplicate-threshold", "NaN", "--data-dir", t.TempDir()}},
		{"IngestWithoutFile", []string{"ingest", "--key", "k"}},
		{"IngestBadBatch", []string{"ingest", "f.jsonl", "--batch", "20000"}},
		{"ModelsWithoutCreate", []string{"models", "--name", "m"}},
		{"ModelsWithoutKey", []string{"models", "create", "--name", "m", "--version", "1"}},
		{"ModelsBadGeneration", []string{"models", "create", "--key", "k", "--name", "m", "--version", "1", "--declared-generation", "one"}},
		{"MixesWithoutSize", []string{"mixes", "create", "--key", "k"}},
		{"MixesBadRatio", []string{"mixes", "create", "--key", "k", "--size", "10", "--synthetic-ratio", "half"}},
		{"MixesExportBadFormat", []string{"mixes", "export", "--key", "k", "--mix", "01900000-0000-7000-8000-000000000000", "--format", "csv"}},
		{"MixesUnknownSubcommand", []string{"mixes", "delete"}},
		{"VerifyWithoutLogKey", []string{"verify", "--server", "http://127.0.0.1:1"}},
		{"VerifyBadIndex", []string{"verify", "--log-key", "k", "--index", "x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(context.Background(), tc.args, env(nil), nil, &out, &errb)
			if err == nil || exitCode(err) != 2 {
				t.Fatalf("run(%v) = %v (exit %d); want a usage error", tc.args, err, exitCode(err))
			}
		})
	}
	var errb bytes.Buffer
	err := run(context.Background(), []string{"keys", "create", "--role", "root", "--data-dir", t.TempDir()}, env(nil), nil, &bytes.Buffer{}, &errb)
	if err == nil || !strings.Contains(err.Error(), "role") {
		t.Fatalf("bad role: %v", err)
	}
}

func TestDescribeBuild(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-12-01T00:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	if got, want := describeBuild(bi), "(devel) 0123456789ab+dirty 2026-12-01T00:00:00Z go1.26.8"; got != want {
		t.Fatalf("describeBuild = %q, want %q", got, want)
	}
	if got := describeBuild(&debug.BuildInfo{Main: debug.Module{Version: "v1.2.0"}}); got != "v1.2.0" {
		t.Fatalf("a released build: %q", got)
	}
}

// TestCommandHelpAndOrder: every command's --help prints its flags and succeeds; ingest's also
// documents its input; flags may come before the file; a missing key says which flag is missing.
func TestCommandHelpAndOrder(t *testing.T) {
	for _, args := range [][]string{{"serve", "--help"}, {"ingest", "--help"}, {"keys", "create", "--help"}, {"verify", "--help"},
		{"audit", "--help"}, {"models", "create", "--help"}, {"mixes", "create", "--help"}, {"mixes", "export", "--help"},
		{"rescore", "--help"}, {"report", "check", "--help"}, {"report", "disclosure", "--help"}, {"report", "get", "--help"}} {
		var out, errb bytes.Buffer
		if err := run(context.Background(), args, env(nil), nil, &out, &errb); err != nil {
			t.Errorf("%v: %v", args, err)
		}
		if !strings.Contains(errb.String(), "-key") && !strings.Contains(errb.String(), "-data-dir") {
			t.Errorf("%v printed no flags:\n%s", args, errb.String())
		}
		if args[0] == "ingest" && !strings.Contains(errb.String(), `"origin": "human"`) {
			t.Errorf("ingest --help does not show the input format:\n%s", errb.String())
		}
	}
	srv := startServer(t, "")
	path := filepath.Join(t.TempDir(), "one.jsonl")
	os.WriteFile(path, []byte(`{"text": "A line sent with its flags first.", "origin": "human"}`+"\n"), 0o600)
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"ingest", "--server", srv.URL, "--key", srv.Key(registry.RoleIngest), path}, env(nil), nil, &out, &errb); err != nil {
		t.Fatalf("flags before the file: %v\n%s", err, errb.String())
	}
	err := run(context.Background(), []string{"ingest", path, "--server", srv.URL}, env(nil), nil, &out, &errb)
	if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "--key") || !strings.Contains(err.Error(), "REGISTRYD_KEY") {
		t.Fatalf("ingest without a key: %v", err)
	}
}

// TestPortInUseCreatesNothing: a start that cannot listen fails before the data directory, the
// database or the admin key exists.
func TestPortInUseCreatesNothing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := filepath.Join(t.TempDir(), "data")
	var out, errb bytes.Buffer
	err = run(context.Background(), []string{"serve", "--addr", ln.Addr().String(), "--data-dir", dir}, env(nil), nil, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "listen") {
		t.Fatalf("serve on a port in use: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the data directory exists after a failed start: %v", err)
	}
}

func TestDurationsLogAsText(t *testing.T) {
	var b bytes.Buffer
	newLogger("json", &b).Info("checked", "took", 1500*time.Millisecond)
	if !strings.Contains(b.String(), `"took":"1.5s"`) {
		t.Fatalf("logged %s", b.String())
	}
}
