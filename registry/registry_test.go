package registry_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/pedigreeml/pedigree/registry"
)

func TestSampleGeneration(t *testing.T) {
	fact := func(g int, b string) registry.GenerationFact { return registry.GenerationFact{Generation: g, Basis: b} }
	declared0, mixes2 := fact(0, registry.BasisDeclared), fact(2, registry.BasisMixes)
	tests := []struct {
		name    string
		model   *registry.GenerationFact
		parents []registry.GenerationFact
		want    registry.GenerationFact
	}{
		{"HumanNoParents", nil, nil, fact(0, registry.BasisHuman)},
		{"HumanEditKeepsMaxParent", nil, []registry.GenerationFact{fact(1, registry.BasisMixes), fact(2, registry.BasisMixes)}, fact(2, registry.BasisMixes)},
		{"ModelOnHumanPrompt", &declared0, []registry.GenerationFact{fact(0, registry.BasisHuman)}, fact(1, registry.BasisDeclared)},
		{"Gen0ModelRewritingGen2", &declared0, []registry.GenerationFact{fact(2, registry.BasisMixes)}, fact(3, registry.BasisDeclared)},
		{"DeepModelShallowParent", &mixes2, []registry.GenerationFact{fact(0, registry.BasisHuman)}, fact(3, registry.BasisMixes)},
		{"DeclarationAnywhereWins", nil, []registry.GenerationFact{fact(1, registry.BasisDeclared), fact(1, registry.BasisMixes)}, fact(1, registry.BasisDeclared)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := registry.SampleGeneration(tt.model, tt.parents); got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestModelGeneration(t *testing.T) {
	three := 3
	if g := registry.ModelGeneration(&three, false, registry.GenerationFact{}); g.Generation != 3 || g.Basis != registry.BasisDeclared {
		t.Fatalf("declared: %+v", g)
	}
	if g := registry.ModelGeneration(nil, false, registry.GenerationFact{}); g.Generation != 0 || g.Basis != registry.BasisDeclared {
		t.Fatalf("default declaration: %+v", g)
	}
	g := registry.ModelGeneration(nil, true, registry.GenerationFact{Generation: 2, Basis: registry.BasisHuman})
	if g.Generation != 2 || g.Basis != registry.BasisMixes {
		t.Fatalf("trained on mixes: %+v", g)
	}
	g = registry.ModelGeneration(nil, true, registry.GenerationFact{Generation: 2, Basis: registry.BasisDeclared})
	if g.Basis != registry.BasisDeclared {
		t.Fatalf("mixes resting on a declaration: %+v", g)
	}
}

func TestNewSampleValidate(t *testing.T) {
	s := func(v string) *string { return &v }
	id := "01900000-0000-7000-8000-000000000000"
	tests := []struct {
		name string
		in   registry.NewSample
		code string
	}{
		{"Valid", registry.NewSample{Text: s("hi"), Origin: "human"}, ""},
		{"ValidModel", registry.NewSample{Text: s("hi"), Origin: "model", Model: "m@1", PromptID: registry.RefID(id)}, ""},
		{"ErrNoText", registry.NewSample{Origin: "human"}, registry.EINVALID},
		{"ErrEmptyText", registry.NewSample{Text: s(""), Origin: "human"}, registry.EINVALID},
		{"ErrNUL", registry.NewSample{Text: s("a\x00b"), Origin: "human"}, registry.EINVALID},
		{"ErrNULInDataset", registry.NewSample{Text: s("a"), Origin: "human", Dataset: "x\x00"}, registry.EINVALID},
		{"ErrBadUTF8", registry.NewSample{Text: s("\xff"), Origin: "human"}, registry.EINVALID},
		{"ErrTextTooLong", registry.NewSample{Text: s(strings.Repeat("x", registry.MaxTextBytes+1)), Origin: "human"}, registry.ETOOLARGE},
		{"ErrNoOrigin", registry.NewSample{Text: s("hi")}, registry.EINVALID},
		{"ErrHumanWithModel", registry.NewSample{Text: s("hi"), Origin: "human", Model: "m@1"}, registry.EINVALID},
		{"ErrModelWithoutModel", registry.NewSample{Text: s("hi"), Origin: "model"}, registry.EINVALID},
		{"ErrDuplicateParent", registry.NewSample{Text: s("hi"), Origin: "human", Parents: registry.RefIDs(id, id)}, registry.EINVALID},
		{"ErrNonCanonicalID", registry.NewSample{Text: s("hi"), Origin: "human", Parents: registry.RefIDs("0190ABCD-0000-7000-8000-000000000000")}, registry.EINVALID},
		{"ErrBadLicense", registry.NewSample{Text: s("hi"), Origin: "human", Source: &registry.Source{License: "MIT; DROP"}}, registry.EINVALID},
		{"ErrMetadataInvalid", registry.NewSample{Text: s("hi"), Origin: "human", Metadata: []byte(`{"a":}`)}, registry.EINVALID},
		{"ErrMetadataArray", registry.NewSample{Text: s("hi"), Origin: "human", Metadata: []byte(`[]`)}, registry.EINVALID},
		{"ErrMetadataTooLarge", registry.NewSample{Text: s("hi"), Origin: "human", Metadata: []byte(`{"a":"` + strings.Repeat("x", 17000) + `"}`)}, registry.ETOOLARGE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := registry.ErrorCode(tt.in.Validate("")); got != tt.code {
				t.Fatalf("code %q, want %q", got, tt.code)
			}
		})
	}
}

func TestPlanBatch(t *testing.T) {
	mk := func(id, origin, text, identity string) *registry.Sample {
		return &registry.Sample{ID: id, Origin: origin, Text: text, IdentitySHA256: identity}
	}
	t.Run("StoredAndInBatchDuplicates", func(t *testing.T) {
		plan, err := registry.PlanBatch([]*registry.Sample{mk("a", "human", "one", "i1"), mk("b", "human", "two", "i2"), mk("c", "human", "two", "i2")},
			registry.Known{Identities: map[string]string{"i1": "old"}}, registry.NearRule{})
		if err != nil {
			t.Fatal(err)
		}
		if len(plan.Insert) != 1 || plan.Results[0].ID != "old" || !plan.Results[0].Duplicate || plan.Results[2].ID != "b" || !plan.Results[2].Duplicate {
			t.Fatalf("plan %+v", plan)
		}
	})
	t.Run("ErrProvenanceConflictStored", func(t *testing.T) {
		key := registry.Norms([]*registry.Sample{mk("m", "model", "Hello,  World", "")})[0]
		_, err := registry.PlanBatch([]*registry.Sample{mk("a", "human", "hello world.", "i1")},
			registry.Known{ModelNorms: map[string]registry.ModelText{key: {ID: "m", Cluster: "m"}}}, registry.NearRule{})
		var re *registry.Error
		if !errors.As(err, &re) || re.Code != registry.EPROVENANCECONFLICT || re.Existing != "m" {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("HumanBeforeModelInBatchIsFine", func(t *testing.T) {
		if _, err := registry.PlanBatch([]*registry.Sample{mk("a", "human", "same", "i1"), mk("b", "model", "same", "i2")}, registry.Known{}, registry.NearRule{}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSplitModelRef(t *testing.T) {
	for ref, ok := range map[string]bool{"a@1": true, "org/model@v1.2": true, "@1": false, "a@": false, "a": false, "a@b@c": false} {
		if _, _, got := registry.SplitModelRef(ref); got != ok {
			t.Errorf("SplitModelRef(%q) ok = %v, want %v", ref, got, ok)
		}
	}
}
