package registry

import (
	"context"
	"strings"
)

// Lineage facts the generation rule needs about a parent sample or a model.
type GenerationFact struct {
	Generation int
	Basis      string
}

// basisRank orders generation bases by doubt: a derived basis is the weakest of its inputs.
func basisRank(b string) int {
	switch b {
	case BasisMixes:
		return 1
	case BasisDeclared:
		return 2
	default:
		return 0
	}
}

// WeakerBasis returns whichever of a and b rests more on declaration.
func WeakerBasis(a, b string) string {
	if basisRank(b) > basisRank(a) {
		return b
	}
	if a == "" {
		return BasisHuman
	}
	return a
}

// SampleGeneration applies the generation rule of the design:
//
//   - human text with no parents is generation 0;
//   - human text with parents (a person edited or curated derived text) keeps the highest generation of
//     its parents;
//   - model output is 1 + max(generation of the model, highest generation of the parents).
//
// model is nil for human text. The basis is the weakest basis among the model and the parents.
func SampleGeneration(model *GenerationFact, parents []GenerationFact) GenerationFact {
	g := GenerationFact{Generation: 0, Basis: BasisHuman}
	for _, p := range parents {
		g.Generation = max(g.Generation, p.Generation)
		g.Basis = WeakerBasis(g.Basis, p.Basis)
	}
	if model != nil {
		g.Generation = 1 + max(g.Generation, model.Generation)
		g.Basis = WeakerBasis(g.Basis, model.Basis)
	}
	return g
}

// ModelGeneration derives a model's generation: from the samples of the mixes it was trained on
// (mixSamples describes the deepest sample and the weakest basis among them), or from its declaration.
func ModelGeneration(declared *int, trainedOn bool, mixSamples GenerationFact) GenerationFact {
	if trainedOn {
		return GenerationFact{Generation: mixSamples.Generation, Basis: WeakerBasis(BasisMixes, mixSamples.Basis)}
	}
	g := 0
	if declared != nil {
		g = *declared
	}
	return GenerationFact{Generation: g, Basis: BasisDeclared}
}

// TrainedGeneration returns what a model trained on the given mixes inherits: the deepest generation
// and the weakest basis among their samples. A mix that does not exist is EUNPROCESSABLE, naming
// the field trained_on.
func TrainedGeneration(ctx context.Context, st Store, mixIDs []string) (GenerationFact, error) {
	facts, err := st.MixGenerations(ctx, mixIDs)
	if err != nil {
		return GenerationFact{}, err
	}
	out := GenerationFact{Basis: BasisHuman}
	var missing []string
	for _, id := range mixIDs {
		f, ok := facts[id]
		if !ok {
			missing = append(missing, id)
			continue
		}
		out.Generation = max(out.Generation, f.Generation)
		out.Basis = WeakerBasis(out.Basis, f.Basis)
	}
	if len(missing) > 0 {
		return GenerationFact{}, &Error{Code: EUNPROCESSABLE, Message: "mix " + strings.Join(missing, ", ") + " does not exist",
			Fields: []FieldError{{Field: "trained_on", Message: "unknown mix " + missing[0]}}}
	}
	return out, nil
}
