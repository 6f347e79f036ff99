package storetest

import (
	"testing"

	"github.com/pedigreeml/pedigree/registry"
)

func ext(dataset, id string) registry.Ref { return registry.Ref{Dataset: dataset, ExternalID: id} }

func testExternalIDs(t *testing.T, h *Harness) {
	m := h.Model("ext-teacher", 0)
	withExt := func(s registry.NewSample, dataset, id string) registry.NewSample {
		s.Dataset, s.ExternalID = dataset, id
		return s
	}
	// A prompt and its answers in one batch, named by item and by external_id.
	batch := []registry.NewSample{
		withExt(Human(Text("ext prompt")), "prompts", "q-1"),
		withExt(ModelOutput(Text("ext answer by item"), m, ""), "answers", "a-1"),
		withExt(ModelOutput(Text("ext answer by external id"), m, ""), "answers", "a-2"),
		withExt(Human(Text("ext edit of an answer")), "edits", "e-1"),
	}
	batch[1].PromptID = registry.RefItem(0)
	batch[2].PromptID = ext("prompts", "q-1")
	batch[3].Parents = []registry.Ref{ext("answers", "a-2")}
	first := h.Ingest(batch...)
	prompt := first[0].Sample
	if prompt.ExternalID != "q-1" || first[1].Sample.PromptID != prompt.ID || first[2].Sample.PromptID != prompt.ID ||
		len(first[3].Sample.Parents) != 1 || first[3].Sample.Parents[0] != first[2].Sample.ID {
		t.Fatalf("references not resolved: %+v", first)
	}
	if first[1].Sample.Generation != 1 || first[3].Sample.Generation != 1 {
		t.Fatalf("generations through references: %d, %d", first[1].Sample.Generation, first[3].Sample.Generation)
	}
	// The same batch again: every item a duplicate of what it first was.
	n := h.Count()
	again := h.Ingest(batch...)
	for i := range again {
		if !again[i].Duplicate || again[i].Sample.ID != first[i].Sample.ID {
			t.Fatalf("re-sent item %d: duplicate=%v id %s, want %s", i, again[i].Duplicate, again[i].Sample.ID, first[i].Sample.ID)
		}
	}
	// A later batch names the stored prompt by external_id, in the prompt's dataset by default.
	later := withExt(ModelOutput(Text("ext later answer"), m, ""), "prompts", "a-3")
	later.PromptID = registry.Ref{ExternalID: "q-1"}
	if got := h.One(later); got.PromptID != prompt.ID {
		t.Fatalf("stored prompt by external_id: %s", got.PromptID)
	}
	n++
	if h.Count() != n {
		t.Fatalf("%d samples, want %d", h.Count(), n)
	}
	found, err := h.Store.LookupExternal(h.Ctx, []registry.ExternalKey{{Dataset: "prompts", ExternalID: "q-1"}, {Dataset: "answers", ExternalID: "q-1"}})
	if err != nil || len(found) != 1 || found[registry.ExternalKey{Dataset: "prompts", ExternalID: "q-1"}].ID != prompt.ID {
		t.Fatalf("lookup: %+v, %v", found, err)
	}
	got, err := h.Store.GetSample(h.Ctx, prompt.ID)
	if err != nil || got.ExternalID != "q-1" {
		t.Fatalf("stored external_id %q, %v", got.ExternalID, err)
	}

	refusals := []struct {
		name  string
		batch []registry.NewSample
		code  string
		field string
	}{
		{"UnknownExternalReference", []registry.NewSample{func() registry.NewSample {
			s := ModelOutput(Text("ext dangling"), m, "")
			s.PromptID = ext("prompts", "nope")
			return s
		}()}, registry.EUNPROCESSABLE, "samples/0/prompt_id"},
		{"LaterItem", []registry.NewSample{func() registry.NewSample {
			s := ModelOutput(Text("ext forward"), m, "")
			s.PromptID = registry.RefItem(1)
			return s
		}(), Human(Text("ext forward prompt"))}, registry.EUNPROCESSABLE, "samples/0/prompt_id"},
		{"LaterItemByExternalID", []registry.NewSample{func() registry.NewSample {
			s := Human(Text("ext forward edit"))
			s.Parents = []registry.Ref{ext("prompts", "q-later")}
			return s
		}(), withExt(Human(Text("ext forward target")), "prompts", "q-later")}, registry.EUNPROCESSABLE, "samples/0/parents/0"},
		{"ExternalIDReusedForOtherText", []registry.NewSample{withExt(Human(Text("ext other text")), "prompts", "q-1")}, registry.ECONFLICT, ""},
		{"ExternalIDAddedToAStoredSample", []registry.NewSample{withExt(Human(Text("ext prompt")), "prompts", "q-other")}, registry.ECONFLICT, ""},
		{"TwoTextsOneExternalID", []registry.NewSample{withExt(Human(Text("ext one")), "d", "x"), withExt(Human(Text("ext two")), "d", "x")}, registry.ECONFLICT, "samples/1/external_id"},
		{"SelfReference", []registry.NewSample{func() registry.NewSample {
			s := Human(Text("ext self"))
			s.Parents = []registry.Ref{registry.RefItem(0)}
			return s
		}()}, registry.EUNPROCESSABLE, "samples/0/parents/0"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			before := h.Count()
			_, err := h.Svc.Ingest(h.Ctx, tc.batch, nil)
			wantCode(t, err, tc.code)
			if tc.field != "" {
				e := err.(*registry.Error)
				if len(e.Fields) == 0 || e.Fields[0].Field != tc.field {
					t.Fatalf("fields %+v, want %s", e.Fields, tc.field)
				}
			}
			if h.Count() != before {
				t.Fatal("a refused batch wrote samples")
			}
		})
	}
}

// testRacingItemReferences sends one batch whose answer names its prompt by item from several
// goroutines at once: each request either stores or finds every item, or is refused as raced and
// succeeds when sent again; all end with the same ids, and the answer's prompt is the stored one.
func testRacingItemReferences(t *testing.T, h *Harness) {
	m := h.Model("race-teacher", 0)
	for round := 0; round < 5; round++ {
		tag := "race " + string(rune('a'+round))
		answer := ModelOutput(Text(tag+" answer"), m, "")
		answer.PromptID = registry.RefItem(0)
		batch := []registry.NewSample{Human(Text(tag + " prompt")), answer}
		const senders = 4
		ids := make(chan [2]string, senders)
		errs := make(chan error, senders)
		for range senders {
			go func() {
				for attempt := 0; ; attempt++ {
					res, err := h.Svc.Ingest(h.Ctx, batch, nil)
					if registry.ErrorCode(err) == registry.ECONFLICT && attempt < 3 {
						continue // raced: send again
					}
					if err != nil {
						errs <- err
						return
					}
					ids <- [2]string{res.Results[0].Sample.ID, res.Results[1].Sample.PromptID}
					return
				}
			}()
		}
		var first [2]string
		for i := range senders {
			select {
			case err := <-errs:
				t.Fatal(err)
			case got := <-ids:
				if got[0] != got[1] {
					t.Fatalf("round %d: the answer's prompt %s is not the prompt %s", round, got[1], got[0])
				}
				if i == 0 {
					first = got
				} else if got != first {
					t.Fatalf("round %d: senders disagree: %v and %v", round, got, first)
				}
			}
		}
	}
}
