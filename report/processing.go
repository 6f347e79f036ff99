package report

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/pedigreeml/pedigree/registry"
)

func processing(ix *index) (Processing, error) {
	p := Processing{TDMOptOuts: tdmNote, IllegalContent: illegalContentNote, ToxicityScoring: toxicityNote,
		Deduplication: dedupNote, Mixes: []MixProcessing{}}
	for _, m := range ix.mixes {
		mp, err := mixProcessing(ix, m)
		if err != nil {
			return Processing{}, err
		}
		p.Mixes = append(p.Mixes, mp)
	}
	return p, nil
}

func mixProcessing(ix *index, m *registry.Mix) (MixProcessing, error) {
	pv := ix.policies[policyRef(m.Policy.Name, m.Policy.Version)]
	limits, err := parseLimits(pv.Limits)
	if err != nil {
		return MixProcessing{}, inconsistent("policy %s limits: %v", policyRef(pv.Name, pv.Version), err)
	}
	s := m.Stats
	q := m.Request
	if q.Filter.AsOf != nil {
		t := q.Filter.AsOf.UTC()
		q.Filter.AsOf = &t
	}
	mp := MixProcessing{
		MixID:  m.ID,
		Policy: PolicyInfo{Ref: policyRef(pv.Name, pv.Version), Name: pv.Name, Version: pv.Version, SHA256: pv.SHA256, LogIndex: pv.LogIndex},
		Limits: limits,
		// The mix's own strategy and seed are what the mixer used, with defaults filled in.
		Request: Request{Policy: q.Policy, Size: q.Size, MinSize: q.MinSize, SyntheticRatio: q.SyntheticRatio,
			Strategy: m.Strategy, Filter: q.Filter, Seed: m.Seed},
		Samples:         int64(s.Human + s.Synthetic),
		HumanSamples:    int64(s.Human),
		Synthetic:       int64(s.Synthetic),
		SyntheticRatio:  s.SyntheticRatio,
		PoolSize:        int64(s.Pool),
		Generations:     []GenerationCount{},
		GenerationBases: []Count{},
		Toxicity:        Toxicity{PolicyLimits: []Limit{}, Unscored: int64(s.UnscoredToxic)},
	}
	for g, n := range s.Generations {
		gen, _ := strconv.Atoi(g) // checked by checkMix
		mp.Generations = append(mp.Generations, GenerationCount{Generation: gen, Samples: int64(n)})
	}
	slices.SortFunc(mp.Generations, func(a, b GenerationCount) int { return cmp.Compare(a.Generation, b.Generation) })
	for _, b := range slices.Sorted(maps.Keys(s.Bases)) {
		mp.GenerationBases = append(mp.GenerationBases, Count{Name: b, Samples: int64(s.Bases[b])})
	}
	for _, l := range limits {
		if strings.Contains(strings.ToLower(l.Name), "toxic") {
			mp.Toxicity.PolicyLimits = append(mp.Toxicity.PolicyLimits, l)
		}
	}
	if t, ok := s.Metrics["toxicity"]; ok && t.Count > 0 {
		mp.Toxicity.Scored = int64(t.Count)
		mp.Toxicity.Min, mp.Toxicity.Max, mp.Toxicity.Mean = &t.Min, &t.Max, &t.Mean
	}
	return mp, nil
}

func evidence(s Subject, ix *index) Evidence {
	c := s.Checkpoint
	e := Evidence{Checkpoint: c, Mixes: []MixEvidence{}, Records: []Record{}, LogIndexes: logIndexes(s, ix)}
	if m := s.Model; m != nil {
		e.Records = append(e.Records, Record{Kind: "model", Ref: m.Ref(), ID: m.ID, LogIndex: m.LogIndex})
	}
	if d := s.Disclosure; d != nil {
		e.Records = append(e.Records, disclosureRecord(d))
	}
	policies := map[string]*registry.PolicyVersion{}
	gens := map[string]*registry.Model{}
	for _, m := range ix.mixes {
		d := ix.decisions[m.DecisionID]
		e.Mixes = append(e.Mixes, MixEvidence{MixID: m.ID, ManifestSHA256: m.ManifestSHA256, LogIndex: m.LogIndex,
			CreatedAt: m.CreatedAt.UTC(), DecisionID: d.ID, DecisionLogIndex: d.LogIndex})
		ref := policyRef(m.Policy.Name, m.Policy.Version)
		policies[ref] = ix.policies[ref]
		for g := range m.Stats.Models {
			gens[g] = ix.generators[g]
		}
	}
	for _, ref := range slices.Sorted(maps.Keys(policies)) {
		e.Records = append(e.Records, Record{Kind: "policy_version", Ref: ref, LogIndex: policies[ref].LogIndex})
	}
	for _, ref := range slices.Sorted(maps.Keys(gens)) {
		e.Records = append(e.Records, Record{Kind: "generator", Ref: ref, ID: gens[ref].ID, LogIndex: gens[ref].LogIndex})
	}
	idx := make([]string, len(e.LogIndexes))
	for i, n := range e.LogIndexes {
		idx[i] = strconv.FormatInt(n, 10)
	}
	e.VerifyCommand = "registryd verify --server URL --key AUDITOR_KEY --log-key VERIFIER_KEY --index " + strings.Join(idx, ",")
	e.Verification = fmt.Sprintf("Obtain the registry's verifier key out of band (GET /v1/log/key) and run the command "+
		"above: it checks the current checkpoint's signature and proves each listed log index included in the "+
		"log (GET /v1/log/proof/inclusion). Saving the signed note above as the command's --state file first "+
		"also proves that the current log extends this checkpoint of %d entries (GET /v1/log/proof/consistency). "+
		"The leaf at a mix's log index (GET /v1/log/entries/{index}) carries its manifest_sha256, policy and "+
		"decision id, so the proofs cover the hashes stated here.", c.Size)
	return e
}
