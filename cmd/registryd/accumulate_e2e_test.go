package main

import (
	"bufio"
	"context"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/pedigreeml/pedigree/client"
	"github.com/pedigreeml/pedigree/mixer"
	"github.com/pedigreeml/pedigree/registry"
)

// varied writes n distinct sentences of words drawn from a small vocabulary, so that no two are
// near-duplicates (the default policy dedups near) and the lexicon scores each.
func varied(seed uint64, n int) []string {
	words := strings.Fields(`river stone window garden letter morning bridge candle harbor meadow
		lantern orchard pebble ribbon saddle thimble valley willow anchor basket cellar dune feather
		glacier hammock island jacket kettle ladder marble needle oyster parcel quilt rafter sparrow
		tunnel umbrella velvet walnut yarn zephyr apron bishop clover drum engine fiddle gravel`)
	r := rand.New(rand.NewPCG(seed, 7))
	out := make([]string, n)
	for i := range out {
		w := make([]string, 14)
		for j := range w {
			w[j] = words[r.IntN(len(words))]
		}
		out[i] = strings.Join(w, " ") + "."
	}
	return out
}

// TestAccumulateEndToEnd trains a student on a mix under the default policy, then builds its
// successor's mix naming it as base_model: too small a mix, or a filter that leaves the student's
// human data out, is refused with the reason; a large enough one keeps every one of them, as
// stats.accumulated says and the export shows.
func TestAccumulateEndToEnd(t *testing.T) {
	srv := startServer(t, "")
	ctx := context.Background()
	ingest := srv.Client(srv.Key(registry.RoleIngest))
	auditor := srv.Client(srv.Key(registry.RoleAuditor))

	zero := 0
	var batch []registry.NewSample
	for _, text := range varied(1, 150) {
		batch = append(batch, human(text))
	}
	for i, name := range []string{"teacher-a", "teacher-b"} {
		m := must[*registry.Model](t)(ingest.CreateModel(ctx, registry.NewModel{Name: name, Version: "1", DeclaredGeneration: &zero}, ""))
		for _, text := range varied(uint64(10+i), 60) {
			batch = append(batch, modelOut(text, m.Ref(), ""))
		}
	}
	must[[]client.IngestedSample](t)(ingest.IngestBatch(ctx, batch, ""))

	first := must[*registry.Mix](t)(ingest.CreateMix(ctx, registry.MixRequest{Size: 200, Seed: 1}, ""))
	trainedOn := exportedIDs(t, ingest, first.ID, registry.OriginHuman)
	if len(trainedOn) < 100 || len(trainedOn) == 150 {
		t.Fatalf("the first mix holds %d of the 150 human samples; the test needs some left out", len(trainedOn))
	}
	student := must[*registry.Model](t)(ingest.CreateModel(ctx, registry.NewModel{Name: "student", Version: "1", TrainedOn: []string{first.ID}}, ""))

	// Too small to keep them: refused, with the counts in the reason and in the decision.
	small := registry.MixRequest{Size: 100, Seed: 2, BaseModel: student.Ref()}
	_, err := ingest.CreateMix(ctx, small, "")
	p := problemOf(t, err)
	if p.Status != 422 || p.Code != "policy_denied" || len(p.Violations) != 1 ||
		!strings.Contains(p.Violations[0], "human samples of base model student@1's training mixes that the policy still admits") ||
		!strings.Contains(p.Violations[0], "beyond its size") {
		t.Fatalf("a mix too small for the base model's human data: %+v", p)
	}
	d := must[*registry.Decision](t)(auditor.GetDecision(ctx, p.DecisionID))
	var summary mixer.Summary
	if err := json.Unmarshal(d.Input, &summary); err != nil {
		t.Fatal(err)
	}
	want := registry.AccumulateStats{BaseModel: "student@1", Prior: len(trainedOn), Admitted: len(trainedOn), Kept: 100}
	if a := summary.Stats.Accumulated; a == nil || *a != want {
		t.Fatalf("the refusal's accounting %+v, want %+v", a, want)
	}

	// A filter that leaves them out: refused, saying so.
	_, err = ingest.CreateMix(ctx, registry.MixRequest{Size: 300, BaseModel: student.Ref(), Filter: registry.MixFilter{Datasets: []string{"elsewhere"}}}, "")
	if p := problemOf(t, err); p.Status != 422 || !strings.Contains(strings.Join(p.Violations, "\n"), "left out by the request's filter or strategy") {
		t.Fatalf("a filter that drops the base model's human data: %+v", p)
	}

	// Large enough: every one kept, and the draw still fills the rest from the seed.
	next := must[*registry.Mix](t)(ingest.CreateMix(ctx, registry.MixRequest{Size: 300, Seed: 2, BaseModel: student.Ref()}, ""))
	want.Kept = len(trainedOn)
	if a := next.Stats.Accumulated; a == nil || *a != want || next.Request.BaseModel != student.Ref() {
		t.Fatalf("the successor's mix: accumulated %+v, want %+v; request %+v", a, want, next.Request)
	}
	kept := exportedIDs(t, ingest, next.ID, registry.OriginHuman)
	for id := range trainedOn {
		if !kept[id] {
			t.Fatalf("the successor's mix leaves out %s, a human sample its base model was trained on", id)
		}
	}
	if len(kept) <= len(trainedOn) {
		t.Fatalf("the successor's mix holds %d human samples, only the %d kept", len(kept), len(trainedOn))
	}

	// An unknown base model is a 422 naming the field.
	_, err = ingest.CreateMix(ctx, registry.MixRequest{Size: 10, BaseModel: "nobody@1"}, "")
	if p := problemOf(t, err); p.Status != 422 || len(p.Errors) != 1 || p.Errors[0].Field != "base_model" {
		t.Fatalf("an unknown base model: %+v", p)
	}

	// An attacker who drops a sample from the student's training manifest, so that its successor
	// need not keep it, gets no mix: the manifest no longer matches its logged hash.
	execSQL(t, srv.DataDir, "UPDATE mix_manifest SET sample_ids = substr(sample_ids, 17) WHERE mix_id = '"+first.ID+"' AND chunk = 0")
	_, err = ingest.CreateMix(ctx, registry.MixRequest{Size: 300, Seed: 3, BaseModel: student.Ref()}, "")
	if client.StatusOf(err) != 500 || !strings.Contains(srv.stderr.String(), registry.ErrTampered.Error()) {
		t.Fatalf("a successor's mix over an edited training manifest: %v", err)
	}
}

// exportedIDs reads a mix's export and returns the ids of its samples of the given origin.
func exportedIDs(t *testing.T, c *client.Client, mixID, origin string) map[string]bool {
	t.Helper()
	rc, err := c.ExportMix(context.Background(), mixID)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	ids := map[string]bool{}
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line struct{ ID, Origin string }
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatal(err)
		}
		if line.Origin == origin {
			ids[line.ID] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}
