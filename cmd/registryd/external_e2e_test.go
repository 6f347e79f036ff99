package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/pedigreeml/pedigree/client"
	"github.com/pedigreeml/pedigree/registry"
)

// TestExternalIDsEndToEnd runs a pipeline's linking over HTTP, with an ingest key only: a JSON
// Lines batch whose answers name their prompt by item and by external_id, the lookup route by id, by
// external id and by content, and the refusals of the new fields, each checked against openapi.yaml.
func TestExternalIDsEndToEnd(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, "")
	ingest := srv.Client(srv.Key(registry.RoleIngest))
	zero := 0
	teacher := must[*registry.Model](t)(ingest.CreateModel(ctx, registry.NewModel{Name: "teacher", Version: "1", DeclaredGeneration: &zero}, ""))
	lines := strings.Join([]string{
		`{"text": "Why do cats purr when they are content?", "origin": "human", "dataset": "prompts", "external_id": "q1"}`,
		`{"text": "Cats purr through fast twitches of the larynx muscles, often when calm.", "origin": "model", "model": "` + teacher.Ref() + `", "dataset": "answers", "external_id": "q1/a1", "prompt_id": {"item": 0}}`,
		`{"text": "Purring comes from the larynx and may also soothe the cat itself.", "origin": "model", "model": "` + teacher.Ref() + `", "dataset": "answers", "external_id": "q1/a2", "prompt_id": {"dataset": "prompts", "external_id": "q1"}}`,
	}, "\n")
	got := must[[]client.IngestedSample](t)(ingest.IngestJSONLines(ctx, []byte(lines), ""))
	prompt := got[0]
	if got[1].PromptID != prompt.ID || got[2].PromptID != prompt.ID || got[1].ExternalID != "q1/a1" {
		t.Fatalf("answers: %+v, %+v", got[1].Sample, got[2].Sample)
	}
	again := must[[]client.IngestedSample](t)(ingest.IngestJSONLines(ctx, []byte(lines), ""))
	for i := range again {
		if !again[i].Duplicate || again[i].ID != got[i].ID {
			t.Fatalf("re-sent line %d: %+v", i+1, again[i])
		}
	}

	found := must[[]*registry.Sample](t)(ingest.LookupSamples(ctx, registry.Lookup{
		IDs:         []string{got[1].ID, prompt.ID, "01900000-0000-7000-8000-000000000000"},
		ExternalIDs: []registry.ExternalKey{{Dataset: "answers", ExternalID: "q1/a2"}, {Dataset: "prompts", ExternalID: "q9"}, {Dataset: "prompts", ExternalID: "q1"}},
	}))
	ids := map[string]bool{}
	for _, s := range found {
		ids[s.ID] = true
	}
	if len(found) != 3 || !ids[prompt.ID] || !ids[got[1].ID] || !ids[got[2].ID] {
		t.Fatalf("lookup found %d: %v", len(found), ids)
	}

	// By content: the text's hash with what makes it a record. The prompt is human text with no
	// parents, so its hash alone finds it; an answer needs its model and prompt (by id or by
	// external id); the same text under another prompt, or as human text, is another record.
	hash := func(text string) string {
		sum := sha256.Sum256([]byte(text))
		return hex.EncodeToString(sum[:])
	}
	answer := "Purring comes from the larynx and may also soothe the cat itself."
	byContent := must[[]*registry.Sample](t)(ingest.LookupSamples(ctx, registry.Lookup{Contents: []registry.ContentKey{
		{ContentSHA256: hash("Why do cats purr when they are content?")},
		{ContentSHA256: hash(answer), Origin: "model", Model: teacher.Ref(), PromptID: registry.Ref{Dataset: "prompts", ExternalID: "q1"}},
		{ContentSHA256: hash(answer), Origin: "model", Model: "teacher@1", PromptID: registry.RefID(prompt.ID)},
		{ContentSHA256: hash(answer)},
		{ContentSHA256: hash(answer), Origin: "model", Model: teacher.Ref(), PromptID: registry.RefID(got[1].ID)},
	}}))
	if len(byContent) != 2 || byContent[0].ID != prompt.ID || byContent[1].ID != got[2].ID {
		t.Fatalf("lookup by content found %d: %+v", len(byContent), byContent)
	}

	for _, tc := range []struct {
		name   string
		lookup registry.Lookup
		status int
	}{
		{"ContentNotAHash", registry.Lookup{Contents: []registry.ContentKey{{ContentSHA256: strings.ToUpper(hash(answer))}}}, 400},
		{"ContentModelWithoutOrigin", registry.Lookup{Contents: []registry.ContentKey{{ContentSHA256: hash(answer), Model: teacher.Ref()}}}, 400},
		{"ContentItemReference", registry.Lookup{Contents: []registry.ContentKey{{ContentSHA256: hash(answer), Origin: "model", Model: teacher.Ref(), PromptID: registry.RefItem(0)}}}, 400},
		{"ContentUnknownModel", registry.Lookup{Contents: []registry.ContentKey{{ContentSHA256: hash(answer), Origin: "model", Model: "nobody@1"}}}, 422},
		{"ContentUnknownPrompt", registry.Lookup{Contents: []registry.ContentKey{{ContentSHA256: hash(answer), Origin: "model", Model: teacher.Ref(), PromptID: registry.Ref{Dataset: "prompts", ExternalID: "q404"}}}}, 422},
		{"Empty", registry.Lookup{}, 400},
		{"NotAnID", registry.Lookup{IDs: []string{"x"}}, 400},
		{"NoExternalID", registry.Lookup{ExternalIDs: []registry.ExternalKey{{Dataset: "d"}}}, 400},
		{"TooMany", registry.Lookup{IDs: make([]string, registry.MaxLookupKeys+1)}, 413},
	} {
		if tc.name == "TooMany" {
			for i := range tc.lookup.IDs {
				tc.lookup.IDs[i] = prompt.ID
			}
		}
		_, err := ingest.LookupSamples(ctx, tc.lookup)
		if p := problemOf(t, err); p.Status != tc.status {
			t.Errorf("%s: %+v", tc.name, p)
		}
	}

	refusals := []struct{ name, line, code string }{
		{"UnknownExternalReference", `{"text": "An answer to nothing.", "origin": "model", "model": "` + teacher.Ref() + `", "prompt_id": {"dataset": "prompts", "external_id": "q404"}}`, registry.EUNPROCESSABLE},
		{"LaterItem", `{"text": "An answer before its prompt.", "origin": "model", "model": "` + teacher.Ref() + `", "prompt_id": {"item": 1}}` + "\n" + `{"text": "The prompt after.", "origin": "human"}`, registry.EUNPROCESSABLE},
		{"ExternalIDReused", `{"text": "Other text under a taken id.", "origin": "human", "dataset": "prompts", "external_id": "q1"}`, registry.ECONFLICT},
		{"TwoForms", `{"text": "A reference two ways.", "origin": "human", "parents": [{"item": 0, "external_id": "q1"}]}`, registry.EINVALID},
		{"UnknownRefKey", `{"text": "A reference with a typo.", "origin": "human", "parents": [{"externalid": "q1"}]}`, registry.EINVALID},
	}
	for _, tc := range refusals {
		_, err := ingest.IngestJSONLines(ctx, []byte(tc.line), "")
		if client.CodeOf(err) != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
	}
}
