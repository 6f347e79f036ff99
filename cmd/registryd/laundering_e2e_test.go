package main

import (
	"context"
	"strings"
	"testing"

	"github.com/pedigreeml/pedigree/client"
	"github.com/pedigreeml/pedigree/registry"
)

// launderedAnswer is model output of a realistic length, and laundered copies of it.
const launderedAnswer = "Sunlight is made of many colours, and when it passes through the air the short blue " +
	"waves are scattered by the molecules far more than the long red ones, so blue light reaches our " +
	"eyes from every part of the sky."

// TestLaunderingEndToEnd sends laundered copies of model output as human text over HTTP: each is
// refused with a problem naming the model sample (checked against openapi.yaml), a declared edit is
// accepted, and a server run with --laundering=flag stores the copy marked instead.
func TestLaunderingEndToEnd(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, "")
	ingest := srv.Client(srv.Key(registry.RoleIngest))
	zero := 0
	teacher := must[*registry.Model](t)(ingest.CreateModel(ctx, registry.NewModel{Name: "teacher", Version: "1", DeclaredGeneration: &zero}, ""))
	answer := must[*client.IngestedSample](t)(ingest.CreateSample(ctx, modelOut(launderedAnswer, teacher.Ref(), ""), ""))

	exact := strings.ToUpper(strings.ReplaceAll(launderedAnswer, " ", "\u00a0"))
	near := strings.Replace(launderedAnswer, "far more", "much more", 1)
	for name, text := range map[string]string{"NormalizedCopy": exact, "OneWordChanged": near} {
		_, err := ingest.CreateSample(ctx, human(text), "")
		p := problemOf(t, err)
		if p.Status != 409 || p.Code != registry.EPROVENANCECONFLICT || p.Existing != answer.ID {
			t.Fatalf("%s: %+v", name, p)
		}
		if name == "OneWordChanged" && (p.NearDuplicateOf != answer.ID || p.Similarity == nil || *p.Similarity < 0.5 || *p.Similarity >= 1) {
			t.Fatalf("%s: near_duplicate_of %q similarity %v", name, p.NearDuplicateOf, p.Similarity)
		}
		if !strings.Contains(p.Detail, "as a parent") {
			t.Fatalf("%s: the refusal does not say what to do: %s", name, p.Detail)
		}
	}
	edit := must[*client.IngestedSample](t)(ingest.CreateSample(ctx, human(near, answer.ID), ""))
	if edit.Origin != registry.OriginHuman || edit.Generation != 1 {
		t.Fatalf("declared edit: %+v", edit.Sample)
	}

	flagging := startServer(t, "", "--laundering", "flag", "--near-duplicate-threshold", "0.6")
	ingest = flagging.Client(flagging.Key(registry.RoleIngest))
	teacher = must[*registry.Model](t)(ingest.CreateModel(ctx, registry.NewModel{Name: "teacher", Version: "1", DeclaredGeneration: &zero}, ""))
	answer = must[*client.IngestedSample](t)(ingest.CreateSample(ctx, modelOut(launderedAnswer, teacher.Ref(), ""), ""))
	flagged := must[*client.IngestedSample](t)(ingest.CreateSample(ctx, human(near), ""))
	if flagged.NearDuplicateOf != answer.ID || flagged.Similarity == nil || flagged.Cluster != answer.ID {
		t.Fatalf("flagged: %+v", flagged.Sample)
	}
	stored := must[*registry.Sample](t)(flagging.Admin().GetSample(ctx, flagged.ID))
	if stored.NearDuplicateOf != answer.ID || *stored.Similarity != *flagged.Similarity {
		t.Fatalf("stored: %+v", stored)
	}
	if _, err := ingest.CreateSample(ctx, human(exact), ""); client.CodeOf(err) != registry.EPROVENANCECONFLICT {
		t.Fatalf("a normalized copy under --laundering=flag: %v", err)
	}
}
