package registry

import (
	"context"
	"slices"
	"strconv"
)

// ExternalSample is what resolving a reference by external_id needs of a stored sample.
type ExternalSample struct {
	ID       string
	Identity string // hex, as Sample.IdentitySHA256
	GenerationFact
}

// resolver turns a batch's references into sample ids, and derives each sample's model, generation
// and identity, in the batch's order: a sample may name an earlier one of the batch (by item or by
// its external_id), which must then be known as what it will be stored as — itself, or the stored
// sample or earlier item it duplicates — before the samples naming it get their identities.
type resolver struct {
	svc     *Service
	in      []NewSample
	samples []*Sample
	prefix  func(int) string

	res      *Resolution
	external map[ExternalKey]ExternalSample // stored samples named by external_id
	firstExt map[ExternalKey]int            // the batch's first item with each external key
	fe       []FieldError
}

// resolve looks up parents, prompts and models, and derives each sample's model, parents, prompt,
// generation and identity. Unknown references are one EUNPROCESSABLE error listing every one.
func (s *Service) resolve(ctx context.Context, in []NewSample, samples []*Sample, batch bool) error {
	return s.newResolver(in, samples, func(i int) string { return fieldPrefix(batch, i) }).run(ctx)
}

// newResolver resolves the references of in, writing into samples; prefix(i) starts the field path
// of item i's errors.
func (s *Service) newResolver(in []NewSample, samples []*Sample, prefix func(int) string) *resolver {
	return &resolver{svc: s, in: in, samples: samples, prefix: prefix, firstExt: map[ExternalKey]int{}}
}

// run looks up and derives; an unknown reference or model is one EUNPROCESSABLE error listing every
// one.
func (r *resolver) run(ctx context.Context) error {
	if err := r.lookup(ctx); err != nil {
		return err
	}
	if len(r.fe) == 0 {
		if err := r.derive(ctx); err != nil {
			return err
		}
	}
	if len(r.fe) > 0 {
		return &Error{Code: EUNPROCESSABLE, Message: r.fe[0].Field + ": " + r.fe[0].Message, Fields: r.fe}
	}
	return nil
}

func (r *resolver) fail(i int, field, msg string) {
	if len(r.fe) < 100 {
		r.fe = append(r.fe, FieldError{Field: r.prefix(i) + field, Message: msg})
	}
}

// refs lists a sample's references with their fields: parents, then the prompt.
func refs(n *NewSample) ([]Ref, []string) {
	out := make([]Ref, 0, len(n.Parents)+1)
	fields := make([]string, 0, len(n.Parents)+1)
	for j, p := range n.Parents {
		out = append(out, p)
		fields = append(fields, "parents/"+strconv.Itoa(j))
	}
	if !n.PromptID.IsZero() {
		out = append(out, n.PromptID)
		fields = append(fields, "prompt_id")
	}
	return out, fields
}

// lookup reads, in one query each, the referenced ids, external ids and models, and checks that
// item references point backwards.
func (r *resolver) lookup(ctx context.Context) error {
	var ids, models []string
	var keys []ExternalKey
	seenID, seenModel, seenKey := map[string]bool{}, map[string]bool{}, map[ExternalKey]bool{}
	for i := range r.in {
		n := &r.in[i]
		if n.ExternalID != "" {
			k := ExternalKey{n.Dataset, n.ExternalID}
			if _, ok := r.firstExt[k]; !ok {
				r.firstExt[k] = i // a second item with the key must duplicate the first (PlanBatch)
			}
			if !seenKey[k] {
				seenKey[k] = true
				keys = append(keys, k)
			}
		}
		rs, fields := refs(n)
		for j, ref := range rs {
			switch {
			case ref.Item != nil:
				if *ref.Item >= i {
					r.fail(i, fields[j], "names item "+strconv.Itoa(*ref.Item)+" of the batch, which is not before this one; list what a sample refers to first")
				}
			case ref.ExternalID != "":
				k := ExternalKey{ref.dataset(n.Dataset), ref.ExternalID}
				if !seenKey[k] {
					seenKey[k] = true
					keys = append(keys, k)
				}
			default:
				if !seenID[ref.ID] {
					seenID[ref.ID] = true
					ids = append(ids, ref.ID)
				}
			}
		}
		if m := r.samples[i].Model; m != "" && !seenModel[m] {
			seenModel[m] = true
			models = append(models, m)
		}
	}
	if len(r.fe) > 0 {
		return nil
	}
	var err error
	if r.res, err = r.svc.Store.Resolve(ctx, ids, models); err != nil {
		return err
	}
	if len(keys) > 0 {
		if r.external, err = r.svc.Store.LookupExternal(ctx, keys); err != nil {
			return err
		}
	}
	return nil
}

// target is what one reference resolves to.
type target struct {
	id   string
	fact GenerationFact
	item int // the batch item it names, or -1
}

// derive resolves references level by level: a sample whose references name only stored samples
// is at level 0, one that names a batch item at one more than that item. After each level, the
// identities of the items that later samples name are looked up, so that those samples name what
// will be stored.
func (r *resolver) derive(ctx context.Context) error {
	level := make([]int, len(r.samples))
	targets := make([][]target, len(r.samples))
	referenced := make([]bool, len(r.samples))
	maxLevel := 0
	for i := range r.samples {
		n := &r.in[i]
		rs, fields := refs(n)
		for j, ref := range rs {
			t := target{item: -1}
			switch {
			case ref.Item != nil:
				t.item = *ref.Item
			case ref.ExternalID != "":
				k := ExternalKey{ref.dataset(n.Dataset), ref.ExternalID}
				if first, ok := r.firstExt[k]; ok && first < i {
					t.item = first
				} else if stored, ok := r.external[k]; ok {
					t.id, t.fact = stored.ID, stored.GenerationFact
				} else if ok && first >= i {
					r.fail(i, fields[j], Ref{Dataset: k.Dataset, ExternalID: k.ExternalID}.String()+" is a later item of the batch ("+strconv.Itoa(first)+"); list what a sample refers to first")
					continue
				} else {
					r.fail(i, fields[j], "no sample has "+Ref{Dataset: k.Dataset, ExternalID: k.ExternalID}.String())
					continue
				}
			default:
				f, ok := r.res.Samples[ref.ID]
				if !ok {
					r.fail(i, fields[j], "sample "+ref.ID+" does not exist")
					continue
				}
				t.id, t.fact = ref.ID, f
			}
			if t.item >= 0 {
				referenced[t.item] = true
				level[i] = max(level[i], level[t.item]+1)
				maxLevel = max(maxLevel, level[i])
			}
			targets[i] = append(targets[i], t)
		}
	}
	if len(r.fe) > 0 {
		return nil
	}
	byIdentity := map[string]int{} // identity → the batch's first sample with it
	for lv := 0; lv <= maxLevel; lv++ {
		var probe []string
		for i, smp := range r.samples {
			if level[i] != lv {
				continue
			}
			if !r.build(i, targets[i]) {
				continue
			}
			if referenced[i] {
				probe = append(probe, smp.IdentitySHA256)
			}
		}
		stored := map[string]string{}
		if len(probe) > 0 {
			var err error
			if stored, err = r.svc.Store.Identities(ctx, probe); err != nil {
				return err
			}
		}
		for i, smp := range r.samples {
			if level[i] != lv || smp.IdentitySHA256 == "" {
				continue
			}
			first, dup := byIdentity[smp.IdentitySHA256]
			if !dup {
				byIdentity[smp.IdentitySHA256] = i
			}
			if !referenced[i] {
				continue
			}
			// What the later samples will name: the stored sample, the earlier item, or this one.
			switch id, ok := stored[smp.IdentitySHA256]; {
			case ok:
				smp.refAs = id
			case dup && first < i:
				smp.refAs = r.samples[first].refAs
				if smp.refAs == "" {
					smp.refAs = r.samples[first].ID
				}
			default:
				smp.refAs = smp.ID
			}
		}
		// Samples of the next levels read their items' facts and ids from here.
		for i := range r.samples {
			for k, t := range targets[i] {
				if t.item >= 0 && level[t.item] == lv {
					item := r.samples[t.item]
					targets[i][k].id = item.refAs
					targets[i][k].fact = GenerationFact{Generation: item.Generation, Basis: item.GenerationBasis}
				}
			}
		}
	}
	return nil
}

// build sets sample i's model, parents, prompt, generation and identity from its resolved
// references; false if its model is unknown.
func (r *resolver) build(i int, targets []target) bool {
	smp, n := r.samples[i], &r.in[i]
	var model *GenerationFact
	if smp.Model != "" {
		m, ok := r.res.Models[smp.Model]
		if !ok {
			r.fail(i, "model", "model "+strconv.Quote(smp.Model)+" is not registered")
			return false
		}
		smp.ModelID, smp.Model = m.ID, m.Ref()
		model = &GenerationFact{Generation: m.Generation, Basis: m.GenerationBasis}
	}
	parents := make([]string, 0, len(targets))
	facts := make([]GenerationFact, 0, len(targets))
	for k, t := range targets {
		if !slices.Contains(parents, t.id) {
			parents = append(parents, t.id)
			facts = append(facts, t.fact)
		}
		if k == len(n.Parents) { // the prompt comes after the parents
			smp.PromptID = t.id
		}
	}
	slices.Sort(parents)
	smp.Parents = parents
	g := SampleGeneration(model, facts)
	smp.Generation, smp.GenerationBasis = g.Generation, g.Basis
	smp.IdentitySHA256 = Identity(smp)
	return true
}
