package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/dedup"
)

// launderedText is model output long enough for a near-duplicate sketch, whose words are its own.
func launderedText(tag string) string {
	return "The committee reviewed the proposal carefully, and after a long discussion about " + tag +
		" it agreed that the budget should be increased for the next fiscal year. " + Words(tag, 12) + "."
}

// replaceWords replaces every step-th word of text, from the first, with a word of its own.
func replaceWords(text string, step int) string {
	w := strings.Fields(text)
	for i := 0; i < len(w); i += step {
		w[i] = "zanzibar" + fmt.Sprint(i)
	}
	return strings.Join(w, " ")
}

func testLaundering(t *testing.T, h *Harness) {
	m := h.Model("launder", 0)
	for name, trick := range dedup.Tricks {
		t.Run(name, func(t *testing.T) {
			text := launderedText(name)
			model := h.One(ModelOutput(text, m, ""))
			n := h.Count()
			_, err := h.Svc.Ingest(h.Ctx, []registry.NewSample{Human(trick(text))}, nil)
			wantCode(t, err, registry.EPROVENANCECONFLICT)
			var e *registry.Error
			if errors.As(err, &e); e.Existing != model.ID {
				t.Fatalf("the refusal names %q, want %q", e.Existing, model.ID)
			}
			if h.Count() != n {
				t.Fatal("a refused ingest wrote rows")
			}
		})
	}
	t.Run("WordEdits", func(t *testing.T) {
		// One word in 30 and one in 12 changed: about 3 % and 8 % of the words.
		for _, step := range []int{30, 12} {
			text := launderedText(fmt.Sprint("edits ", step))
			model := h.One(ModelOutput(text, m, ""))
			_, err := h.Svc.Ingest(h.Ctx, []registry.NewSample{Human(replaceWords(text, step))}, nil)
			wantCode(t, err, registry.EPROVENANCECONFLICT)
			var e *registry.Error
			if errors.As(err, &e); e.NearDuplicateOf != model.ID || e.Similarity < registry.DefaultNearThreshold || e.Similarity >= 1 {
				t.Fatalf("one word in %d: near_duplicate_of %q (want %q), similarity %v", step, e.NearDuplicateOf, model.ID, e.Similarity)
			}
			if !strings.Contains(e.Message, "as a parent") {
				t.Fatalf("the refusal does not say what to do instead: %s", e.Message)
			}
		}
	})
	t.Run("InOneBatch", func(t *testing.T) {
		text := launderedText("one batch")
		_, err := h.Svc.Ingest(h.Ctx, []registry.NewSample{ModelOutput(text, m, ""), Human(replaceWords(text, 20))}, nil)
		wantCode(t, err, registry.EPROVENANCECONFLICT)
	})
	t.Run("DeclaredEditIsHuman", func(t *testing.T) {
		text := launderedText("declared")
		model := h.One(ModelOutput(text, m, ""))
		edit := h.One(Human(replaceWords(text, 10), model.ID))
		if edit.Origin != registry.OriginHuman || edit.Generation != model.Generation || edit.NearDuplicateOf != "" {
			t.Fatalf("a declared edit: %+v", edit)
		}
		same := h.One(Human(text, model.ID))
		if same.Generation != model.Generation {
			t.Fatalf("a declared copy: generation %d", same.Generation)
		}
	})
	t.Run("DistinctTextsAreHuman", func(t *testing.T) {
		h.One(ModelOutput(launderedText("distinct model"), m, ""))
		for i := 0; i < 20; i++ {
			h.One(Human(Text(fmt.Sprint("distinct human ", i)) + " " + Words(fmt.Sprint("more ", i), 10)))
		}
	})
	t.Run("Flag", func(t *testing.T) {
		flag := *h.Svc
		flag.Near.Flag = true
		text := launderedText("flagged")
		model := h.One(ModelOutput(text, m, ""))
		res, err := flag.Ingest(h.Ctx, []registry.NewSample{Human(replaceWords(text, 15))}, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := res.Results[0].Sample
		if got.NearDuplicateOf != model.ID || got.Similarity == nil || *got.Similarity < registry.DefaultNearThreshold || got.Cluster != model.ID {
			t.Fatalf("flagged: near_duplicate_of %q similarity %v cluster %q; want %q", got.NearDuplicateOf, got.Similarity, got.Cluster, model.ID)
		}
		stored, err := h.Store.GetSample(h.Ctx, got.ID)
		if err != nil || stored.NearDuplicateOf != model.ID || stored.Cluster != model.ID || *stored.Similarity != *got.Similarity {
			t.Fatalf("stored: %+v, %v", stored, err)
		}
		// Equal after normalization is refused even so.
		_, err = flag.Ingest(h.Ctx, []registry.NewSample{Human(strings.ToUpper(text))}, nil)
		wantCode(t, err, registry.EPROVENANCECONFLICT)
	})
	t.Run("ModelClusters", func(t *testing.T) {
		other := h.Model("launder-other", 0)
		text := launderedText("cluster")
		first := h.One(ModelOutput(text, m, ""))
		exact := h.One(ModelOutput(strings.ToLower(text), other, ""))
		near := h.One(ModelOutput(replaceWords(text, 25), other, ""))
		apart := h.One(ModelOutput(launderedText("another cluster entirely")+" "+Words("x", 30), other, ""))
		if first.Cluster != first.ID || exact.Cluster != first.ID || near.Cluster != first.ID || apart.Cluster != apart.ID {
			t.Fatalf("clusters: first %s, exact %s, near %s, apart %s (ids %s, %s)", first.Cluster, exact.Cluster, near.Cluster, apart.Cluster, first.ID, apart.ID)
		}
		got, err := h.Store.GetSample(h.Ctx, near.ID)
		if err != nil || got.Cluster != first.ID {
			t.Fatalf("stored cluster %q, %v", got.Cluster, err)
		}
	})
}
