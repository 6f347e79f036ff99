package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/pedigreeml/pedigree/client"
	"github.com/pedigreeml/pedigree/registry"
)

const capPolicy = `package pedigree.mix

limits := {"max_synthetic_ratio": 0.5, "max_model_share": 0.5, "max_generation": 2}

include if input.sample.tokens >= 3

deny contains msg if {
	input.mix.stats.synthetic_ratio > 0.5
	msg := sprintf("synthetic share %v is above 0.5", [input.mix.stats.synthetic_ratio])
}

test_refuses_too_synthetic if {
	count(deny) == 1 with input as {"mix": {"stats": {"synthetic_ratio": 0.9}}}
}
`

func TestMixesEndToEnd(t *testing.T) {
	srv := startServer(t, "")
	ctx := context.Background()
	admin := srv.Admin()
	ingest := srv.Client(srv.Key(registry.RoleIngest))
	auditor := srv.Client(srv.Key(registry.RoleAuditor))

	// Policies: versions, a re-upload that changes nothing, refusals with OPA's location.
	v1, created, err := admin.PutPolicy(ctx, "cap", capPolicy)
	if err != nil || !created || v1.Version != 1 || v1.SHA256 == "" {
		t.Fatalf("upload: %+v %v %v", v1, created, err)
	}
	if again, created, err := admin.PutPolicy(ctx, "cap", capPolicy); err != nil || created || again.Version != 1 {
		t.Fatalf("re-upload: %+v %v %v", again, created, err)
	}
	_, _, err = admin.PutPolicy(ctx, "cap", "package pedigree.mix\n\ninclude if {\n")
	if p := problemOf(t, err); p.Status != 400 || len(p.Errors) == 0 || !strings.Contains(p.Errors[0].Message, ":") {
		t.Fatalf("syntax error: %+v", p)
	}
	_, _, err = admin.PutPolicy(ctx, "cap", "package pedigree.mix\n\ninclude if startswith(input.sample.dataset, \"w\")\n")
	if client.StatusOf(err) != 400 {
		t.Fatalf("untranslatable include: %v", err)
	}
	_, _, err = admin.PutPolicy(ctx, "cap", "package pedigree.mix\n\nlimits := {\"max_generation\": 1}\n\ntest_two if limits.max_generation == 2\n")
	if p := problemOf(t, err); p.Status != 400 || !strings.Contains(fmt.Sprint(p.Errors), "test_two") {
		t.Fatalf("failing test_ rule: %+v", p)
	}
	if _, _, err := ingest.PutPolicy(ctx, "mine", capPolicy); client.StatusOf(err) != 403 {
		t.Fatalf("an ingest key uploading a policy: %v", err)
	}
	pol := must[*client.Policy](t)(auditor.GetPolicy(ctx, "cap"))
	if pol.Latest.Version != 1 || pol.Latest.Module != capPolicy || len(pol.Versions) != 1 {
		t.Fatalf("GET policy: %+v", pol)
	}

	// Registry contents: 30 human samples, 40 from each of two teachers.
	zero := 0
	teachers := []string{}
	for _, name := range []string{"teacher-a", "teacher-b"} {
		m := must[*registry.Model](t)(ingest.CreateModel(ctx, registry.NewModel{Name: name, Version: "1", DeclaredGeneration: &zero}, ""))
		teachers = append(teachers, m.Ref())
	}
	var batch []registry.NewSample
	for i := range 30 {
		batch = append(batch, human(fmt.Sprintf("Human sentence %d, written by a person about the weather.", i)))
	}
	for i := range 80 {
		batch = append(batch, modelOut(fmt.Sprintf("Model sentence %d, generated about the weather today.", i), teachers[i%2], ""))
	}
	must[[]client.IngestedSample](t)(ingest.IngestBatch(ctx, batch, ""))

	req := registry.MixRequest{Policy: "cap", Size: 100, Seed: 42}
	dry := must[*client.DryRun](t)(ingest.DryRunMix(ctx, req))
	if !dry.DryRun || !dry.Allowed || dry.Size != 60 || dry.Stats.SyntheticRatio != 0.5 {
		t.Fatalf("dry run: %+v", dry)
	}
	if page := must[*client.MixPage](t)(auditor.ListMixes(ctx, "", 0)); len(page.Mixes) != 0 {
		t.Fatal("a dry run saved a mix")
	}
	mix := must[*registry.Mix](t)(ingest.CreateMix(ctx, req, "mix-1"))
	if mix.Size != 60 || mix.Stats.Human != 30 || mix.Stats.Synthetic != 30 || mix.ManifestSHA256 != dry.ManifestSHA256 || mix.Policy.Version != 1 {
		t.Fatalf("mix: size %d, %+v", mix.Size, mix.Stats)
	}
	if replay := must[*registry.Mix](t)(ingest.CreateMix(ctx, req, "mix-1")); replay.ID != mix.ID {
		t.Fatal("idempotent replay built another mix")
	}
	if again := must[*registry.Mix](t)(ingest.CreateMix(ctx, req, "")); again.ManifestSHA256 != mix.ManifestSHA256 || again.ID == mix.ID {
		t.Fatal("the same request over the same registry drew another manifest")
	}
	d := must[*registry.Decision](t)(auditor.GetDecision(ctx, mix.DecisionID))
	if !d.Allowed || d.MixID != mix.ID || len(d.Input) == 0 {
		t.Fatalf("decision: %+v", d)
	}

	// Export: JSON Lines in manifest order, one object per sample with the documented fields.
	rc, err := ingest.ExportMix(ctx, mix.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	sc := bufio.NewScanner(rc)
	lines := 0
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("line %d: %v", lines, err)
		}
		for _, k := range []string{"id", "text", "origin", "model", "generation", "metrics"} {
			if _, ok := line[k]; !ok {
				t.Fatalf("line %d lacks %q: %s", lines, k, sc.Bytes())
			}
		}
		lines++
	}
	if lines != mix.Size {
		t.Fatalf("export: %d lines, mix of %d", lines, mix.Size)
	}

	comp := must[*client.Composition](t)(auditor.MixLineage(ctx, mix.ID))
	if len(comp.Models) != 2 || comp.Origins["human"] != 30 || comp.Generations["1"] != 30 {
		t.Fatalf("composition: %+v", comp)
	}

	// A student trained on the mix inherits its generation.
	student := must[*registry.Model](t)(ingest.CreateModel(ctx, registry.NewModel{Name: "student", Version: "1", TrainedOn: []string{mix.ID}}, ""))
	if student.Generation != 1 || len(student.TrainedOn) != 1 {
		t.Fatalf("student: %+v", student)
	}
	out := must[*client.IngestedSample](t)(ingest.CreateSample(ctx, modelOut("The student writes a sentence of its own.", student.Ref(), ""), ""))
	if out.Generation != 2 {
		t.Fatalf("student output generation %d, want 2", out.Generation)
	}

	// The EU AI Act summary of the student names its sources, teachers, their generations and the
	// policy, in every format.
	for _, accept := range []string{"application/json", "text/markdown", "text/html"} {
		body, err := auditor.EUAIActReport(ctx, student.Ref(), "", accept)
		if err != nil {
			t.Fatalf("report as %s: %v", accept, err)
		}
		for _, want := range []string{"teacher-a@1", "teacher-b@1", "cap@1", mix.ManifestSHA256, "student"} {
			if !strings.Contains(string(body), want) {
				t.Errorf("report as %s lacks %q", accept, want)
			}
		}
	}
	if _, err := auditor.EUAIActReport(ctx, "", "", "application/json"); client.StatusOf(err) != 400 {
		t.Fatalf("report without a subject: %v", err)
	}
	if _, err := auditor.EUAIActReport(ctx, teachers[0], "", "application/json"); client.StatusOf(err) != 422 {
		t.Fatalf("report of a model trained outside the registry: %v", err)
	}

	// The default policy refuses: it needs at least 100 human samples.
	_, err = ingest.CreateMix(ctx, registry.MixRequest{Size: 50}, "")
	p := problemOf(t, err)
	if p.Status != 422 || p.Code != registry.EPOLICYDENIED || p.DecisionID == "" || len(p.Violations) == 0 {
		t.Fatalf("refusal: %+v", p)
	}
	refusedDecision := must[*registry.Decision](t)(auditor.GetDecision(ctx, p.DecisionID))
	if refusedDecision.Allowed || refusedDecision.Policy.Name != "default" {
		t.Fatalf("refused decision: %+v", refusedDecision)
	}
	for _, bad := range []registry.MixRequest{{Size: 0}, {Size: 10, Strategy: registry.MixStrategy{Name: "best_of_k", Objective: "beauty"}}} {
		if _, err := ingest.CreateMix(ctx, bad, ""); client.StatusOf(err) != 400 {
			t.Fatalf("bad request %+v: %v", bad, err)
		}
	}
	if _, err := ingest.CreateMix(ctx, registry.MixRequest{Policy: "nope", Size: 10}, ""); client.StatusOf(err) != 422 {
		t.Fatalf("unknown policy: %v", err)
	}
	if _, err := ingest.CreateMix(ctx, registry.MixRequest{Policy: "cap", Size: 10, Filter: registry.MixFilter{Models: []string{"ghost@1"}}}, ""); client.StatusOf(err) != 422 {
		t.Fatalf("unknown model in filter: %v", err)
	}
}
