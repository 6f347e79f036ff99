package report

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pedigreeml/pedigree/registry"
)

// Narrative statements of the summary. They live in the Report, not in the templates, so that the
// JSON carries them too and every format says the same thing.
const (
	templateName = "Template for the Public Summary of Training Content for general-purpose AI models " +
		"(AI Office, July 2025), Article 53(1)(d) of Regulation (EU) 2024/1689"
	countingNote = "Tokens are the registry's word tokens (lower-cased words, as counted for MTLD at ingest), " +
		"not a model tokenizer's subword tokens. Samples and tokens are summed over the mixes: a sample " +
		"in more than one mix counts once per mix."
	otherModalities = "none: the registry holds text only (image, audio, video and other modalities are not " +
		"registered)"
	latestDateBasis = "the registration time of the newest sample in the mixes; the registry records when a " +
		"sample was registered, not when its text was collected"
	tdmNote = "Not recorded: the provider's disclosure does not state how reservations of rights (robots.txt " +
		"and other machine-readable opt-outs, Article 4(3) of Directive (EU) 2019/790) were respected."
	illegalContentNote = "The registry runs no illegal-content classifier. Every sample is scored for " +
		"toxicity at ingest; a mix's policy can refuse samples by that score, as reported per mix below. " +
		"A toxicity score is not a finding of illegality."
	toxicityNote = "Every sample is scored for toxicity at ingest (a probability in [0, 1]) by the " +
		"registry's configured scorer; a sample whose scorer was unavailable may be stored unscored. The " +
		"policy's include rule and limits decide whether the score admits a sample to a mix."
	dedupNote = "The registry stores identical samples once: re-registering the same text with the same " +
		"origin, model, prompt and parents returns the existing record. Text already registered as model " +
		"output cannot be registered again as human-written. Near-duplicates (different text) are not detected."
	basisDeclared = "declared: the generation rests on a registrant's declaration: the model, or a model in " +
		"the lineage of its training data, was trained outside the registry, and its generation was declared " +
		"(declared_generation), not derived"
	basisMixes = "mixes: the generation is derived from the registry mixes the model was trained on (the " +
		"highest sample generation in them), with no declaration anywhere in that lineage"
)

// Build checks that the subject's records fit together and computes the summary. It fails with
// registry.EUNPROCESSABLE when there is no mix to summarise (a model trained outside the registry),
// and with registry.EINTERNAL when the records are inconsistent: a mix's policy version, decision or
// generating model missing or not matching, a model whose trained_on differs from the mixes, a
// checkpoint that does not cover the records, or a zero GeneratedAt.
func Build(s Subject) (*Report, error) {
	ix, err := check(s)
	if err != nil {
		return nil, err
	}
	r := &Report{Template: templateName, GeneratedAt: s.GeneratedAt.UTC(), Notes: []string{}}
	r.Subject, r.General = general(s.Model, ix.mixes)
	r.Title = "Public summary of training content: " + r.Subject.Name
	r.General.Modalities[0], r.General.LatestDataDate = textModality(ix.mixes, r)
	if r.General.LatestDataDate == nil {
		r.General.LatestDataDateBasis = "the mixes predate the registry's record of their newest sample"
	}
	if s.Corpus != nil {
		fromCorpus(s.Corpus, r)
		r.Sources = corpusSources(ix, s.Corpus)
	} else {
		r.Sources = sources(ix, r)
	}
	if r.Processing, err = processing(ix); err != nil {
		return nil, err
	}
	applyDisclosure(s.Disclosure, r)
	r.Evidence = evidence(s, ix)
	r.Completeness = completeness(s, r)
	return r, nil
}

// index is the checked subject: mixes in id order and the records they name.
type index struct {
	mixes      []*registry.Mix
	policies   map[string]*registry.PolicyVersion // by name@version
	decisions  map[string]*registry.Decision      // by id
	generators map[string]*registry.Model         // by name@version
}

func inconsistent(format string, args ...any) error {
	return registry.Errorf(registry.EINTERNAL, "report: inconsistent subject: "+format, args...)
}

func policyRef(name string, version int) string { return name + "@" + strconv.Itoa(version) }

func check(s Subject) (*index, error) {
	if s.GeneratedAt.IsZero() {
		return nil, inconsistent("no generation time")
	}
	if len(s.Mixes) == 0 {
		if s.Model != nil {
			return nil, registry.Errorf(registry.EUNPROCESSABLE,
				"model %s was trained on no registry mix: the registry holds no record of its training data", s.Model.Ref())
		}
		return nil, registry.Errorf(registry.EUNPROCESSABLE, "no mix to summarise")
	}
	ix := &index{policies: map[string]*registry.PolicyVersion{}, decisions: map[string]*registry.Decision{},
		generators: map[string]*registry.Model{}}
	seen := map[string]bool{}
	for _, m := range s.Mixes {
		if m == nil {
			return nil, inconsistent("a nil mix")
		}
		if seen[m.ID] {
			return nil, inconsistent("mix %s listed twice", m.ID)
		}
		seen[m.ID] = true
		ix.mixes = append(ix.mixes, m)
	}
	slices.SortFunc(ix.mixes, func(a, b *registry.Mix) int { return cmp.Compare(a.ID, b.ID) })
	if m := s.Model; m != nil {
		if len(m.TrainedOn) != len(seen) {
			return nil, inconsistent("model %s was trained on %d mixes, the subject has %d", m.Ref(), len(m.TrainedOn), len(seen))
		}
		for _, id := range m.TrainedOn {
			if !seen[id] {
				return nil, inconsistent("model %s was trained on mix %s, which the subject lacks", m.Ref(), id)
			}
		}
	}
	for _, p := range s.Policies {
		if p == nil {
			return nil, inconsistent("a nil policy version")
		}
		ref := policyRef(p.Name, p.Version)
		if q := ix.policies[ref]; q != nil && q.SHA256 != p.SHA256 {
			return nil, inconsistent("policy %s listed twice with different hashes", ref)
		}
		ix.policies[ref] = p
	}
	for _, d := range s.Decisions {
		if d == nil {
			return nil, inconsistent("a nil decision")
		}
		ix.decisions[d.ID] = d
	}
	for _, g := range s.Generators {
		if g == nil {
			return nil, inconsistent("a nil generator")
		}
		ix.generators[g.Ref()] = g
	}
	for _, m := range ix.mixes {
		if err := checkMix(ix, m); err != nil {
			return nil, err
		}
	}
	if d := s.Disclosure; d != nil && (s.Model == nil || d.ModelID != s.Model.ID) {
		return nil, inconsistent("the disclosure of model %s is not the subject's", d.ModelID)
	}
	if s.Corpus != nil {
		for ref := range s.Corpus.models {
			if ix.generators[ref] == nil {
				return nil, inconsistent("the samples hold output of model %s, which the subject lacks", ref)
			}
		}
	}
	return ix, checkCheckpoint(s, ix)
}

func checkMix(ix *index, m *registry.Mix) error {
	ref := policyRef(m.Policy.Name, m.Policy.Version)
	p := ix.policies[ref]
	switch {
	case p == nil:
		return inconsistent("mix %s names policy %s, which the subject lacks", m.ID, ref)
	case p.SHA256 != m.Policy.SHA256:
		return inconsistent("mix %s names policy %s with sha256 %s, the subject's has %s", m.ID, ref, m.Policy.SHA256, p.SHA256)
	}
	if _, err := parseLimits(p.Limits); err != nil {
		return inconsistent("policy %s limits: %v", ref, err)
	}
	d := ix.decisions[m.DecisionID]
	switch {
	case d == nil:
		return inconsistent("mix %s has decision %s, which the subject lacks", m.ID, m.DecisionID)
	case d.MixID != "" && d.MixID != m.ID:
		return inconsistent("decision %s belongs to mix %s, not %s", d.ID, d.MixID, m.ID)
	case !d.Allowed:
		return inconsistent("decision %s refused mix %s", d.ID, m.ID)
	case d.Policy.Name != m.Policy.Name || d.Policy.Version != m.Policy.Version:
		return inconsistent("decision %s evaluated policy %s, mix %s names %s", d.ID, policyRef(d.Policy.Name, d.Policy.Version), m.ID, ref)
	}
	for model := range m.Stats.Models {
		if ix.generators[model] == nil {
			return inconsistent("mix %s holds samples of model %s, which the subject lacks", m.ID, model)
		}
	}
	for g := range m.Stats.Generations {
		if n, err := strconv.Atoi(g); err != nil || n < 0 {
			return inconsistent("mix %s has generation %q", m.ID, g)
		}
	}
	return nil
}

// checkCheckpoint checks that the checkpoint's note states its origin, size and root, and that the
// tree it signs holds every record the report cites.
func checkCheckpoint(s Subject, ix *index) error {
	c := s.Checkpoint
	if c.Origin == "" || c.Note == "" {
		return inconsistent("no signed checkpoint")
	}
	lines := strings.SplitN(c.Note, "\n", 4)
	if len(lines) < 4 || lines[0] != c.Origin || lines[1] != strconv.FormatInt(c.Size, 10) || lines[2] != c.RootHash {
		return inconsistent("the checkpoint's note does not state its origin, size and root hash")
	}
	for _, i := range logIndexes(s, ix) {
		if i < 0 || i >= c.Size {
			return inconsistent("log index %d is outside the checkpoint's %d entries", i, c.Size)
		}
	}
	return nil
}

// logIndexes returns the log indexes of every record the report cites, sorted and unique.
func logIndexes(s Subject, ix *index) []int64 {
	var out []int64
	if s.Model != nil {
		out = append(out, s.Model.LogIndex)
	}
	if s.Disclosure != nil {
		out = append(out, s.Disclosure.LogIndex)
	}
	for _, m := range ix.mixes {
		out = append(out, m.LogIndex, ix.decisions[m.DecisionID].LogIndex,
			ix.policies[policyRef(m.Policy.Name, m.Policy.Version)].LogIndex)
		for ref := range m.Stats.Models {
			out = append(out, ix.generators[ref].LogIndex)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// parseLimits returns a policy's limits sorted by name, each value compacted.
func parseLimits(raw json.RawMessage) ([]Limit, error) {
	out := []Limit{}
	if len(bytes.TrimSpace(raw)) == 0 {
		return out, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	for name, v := range m {
		var b bytes.Buffer
		if err := json.Compact(&b, v); err != nil {
			return nil, err
		}
		out = append(out, Limit{Name: name, Value: b.Bytes()})
	}
	slices.SortFunc(out, func(a, b Limit) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

func general(model *registry.Model, mixes []*registry.Mix) (SubjectInfo, General) {
	g := General{Provider: "not recorded", ProviderContact: notRecorded, ModelDependencies: notRecorded,
		MarketPlacementDate: notRecorded, Modalities: make([]Modality, 1), OtherModalities: otherModalities,
		LatestDataDateBasis: latestDateBasis, Languages: notRecorded + " (the mixes' statistics carry no languages)",
		AuthorisedRepresentative: notRecorded, Dependencies: []registry.Dependency{}, LanguageCounts: []LanguageCount{}}
	if model == nil {
		id := mixes[0].ID
		g.ModelName = "mix " + id
		return SubjectInfo{Kind: "mix", ID: id, Name: g.ModelName}, g
	}
	if model.Provider != "" {
		g.Provider = model.Provider
	}
	g.ModelName, g.ModelVersion = model.Name, model.Version
	return SubjectInfo{Kind: "model", ID: model.ID, Name: model.Ref()}, g
}

// mixTokens returns a mix's token count; mixes built before the registry kept it have only the mean
// and count of the tokens metric, whose product recovers the sum.
func mixTokens(m *registry.Mix) (int64, bool) {
	if m.Stats.Tokens > 0 {
		return m.Stats.Tokens, true
	}
	if t, ok := m.Stats.Metrics["tokens"]; ok && t.Count > 0 {
		return int64(math.Round(t.Mean * float64(t.Count))), false
	}
	return 0, true
}

func textModality(mixes []*registry.Mix, r *Report) (Modality, *time.Time) {
	t := Modality{Modality: "text", Counting: countingNote, ContentTypes: []string{}}
	var latest *time.Time
	for _, m := range mixes {
		t.HumanSamples += int64(m.Stats.Human)
		t.SyntheticSamples += int64(m.Stats.Synthetic)
		n, exact := mixTokens(m)
		t.Tokens += n
		if !exact {
			r.Notes = append(r.Notes, fmt.Sprintf("Mix %s predates the registry's token total; its tokens are "+
				"recovered from the mean and count of its tokens metric.", m.ID))
		}
		if ls := m.Stats.LatestSample; ls != nil && (latest == nil || ls.After(*latest)) {
			v := ls.UTC()
			latest = &v
		} else if ls == nil && m.Stats.Human+m.Stats.Synthetic > 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("Mix %s predates the registry's record of its newest sample; "+
				"the latest data date does not cover it.", m.ID))
		}
	}
	t.Samples = t.HumanSamples + t.SyntheticSamples
	t.SizeBin = TextSizeBin(t.Tokens)
	return t, latest
}
