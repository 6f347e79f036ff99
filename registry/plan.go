package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/pedigreeml/pedigree/registry/dedup"
)

// BatchPlan is what a store must do with a batch, decided in order, as if its samples arrived one by
// one: Insert lists the samples to write; Results says, per sample, which id answers it and whether
// it was a duplicate (of a stored sample or of an earlier one in the same batch).
type BatchPlan struct {
	Insert  []*Sample
	Results []PlannedResult
}

// PlannedResult is one sample's fate in a BatchPlan.
type PlannedResult struct {
	ID        string
	Duplicate bool
	New       *Sample // the sample to be written, when not a duplicate
}

// ModelText is a stored model sample that a batch's text is compared with: found by its normalized
// key (LookupModelNorms) or because it shares a near-duplicate band key (NearCandidates).
type ModelText struct {
	ID      string
	Cluster string // its near-duplicate cluster
	Text    string // set by NearCandidates, for the exact similarity
}

// Known is what a store found of a batch before planning it: stored identities (identity hash →
// id), stored model samples by normalized key, and stored model samples by band key.
type Known struct {
	Identities map[string]string
	ModelNorms map[string]ModelText
	Bands      map[int64][]ModelText
	External   map[ExternalKey]ExternalSample // stored samples by the batch's external ids
}

// NearRule is how ingest treats near-duplicates of model text.
type NearRule struct {
	// Threshold is the Jaccard similarity of word shingles at and above which two texts are near
	// duplicates; 0 means DefaultNearThreshold.
	Threshold float64
	// Flag stores human text that near-duplicates model text, marked with NearDuplicateOf, instead
	// of refusing it. Text equal to model text after normalization is refused either way.
	Flag bool
}

// DefaultNearThreshold is the default near-duplicate threshold: edits of up to about a tenth of a
// text's words stay above it, and distinct texts fall far below it (README, "Laundering").
const DefaultNearThreshold = 0.5

func (r NearRule) threshold() float64 {
	if r.Threshold <= 0 {
		return DefaultNearThreshold
	}
	return r.Threshold
}

// planner applies the rules to one batch.
type planner struct {
	known    Known
	rule     NearRule
	identity map[string]string              // identity hash → id, of the batch's earlier samples
	norms    map[string]*Sample             // normalized key → the batch's first model sample with it
	bands    map[int64][]*Sample            // band key → the batch's earlier model samples with it
	shingles map[string]map[uint64]struct{} // id → shingles of a compared text, computed once
	ext      map[ExternalKey]string         // external key → the batch's new sample that holds it
}

// PlanBatch applies the identity and provenance rules to a batch, in order: a sample whose identity
// is stored or earlier in the batch is a duplicate; human text equal after normalization to model
// text (stored or earlier in the batch) is EPROVENANCECONFLICT naming the model sample, and human
// text that near-duplicates it is too, or, under rule.Flag, is stored marked; a model sample joins
// the cluster of the model text it equals or near-duplicates. A model sample that is one of the
// human sample's parents is its declared source, not laundering.
func PlanBatch(samples []*Sample, known Known, rule NearRule) (*BatchPlan, error) {
	p := &planner{known: known, rule: rule, identity: map[string]string{}, norms: map[string]*Sample{},
		bands: map[int64][]*Sample{}, shingles: map[string]map[uint64]struct{}{}, ext: map[ExternalKey]string{}}
	plan := &BatchPlan{Results: make([]PlannedResult, len(samples))}
	for i, smp := range samples {
		id, stored := known.Identities[smp.IdentitySHA256]
		if !stored {
			id = p.identity[smp.IdentitySHA256]
		}
		if err := p.checkExternal(smp, id); err != nil {
			return nil, atItem(err, i, "external_id")
		}
		if id != "" {
			if smp.refAs != "" && smp.refAs != id {
				return nil, raced()
			}
			plan.Results[i] = PlannedResult{ID: id, Duplicate: true}
			continue
		}
		if smp.refAs != "" && smp.refAs != smp.ID {
			return nil, raced()
		}
		if err := p.place(smp); err != nil {
			return nil, atItem(err, i, "text")
		}
		p.identity[smp.IdentitySHA256] = smp.ID
		plan.Insert = append(plan.Insert, smp)
		plan.Results[i] = PlannedResult{ID: smp.ID, New: smp}
	}
	return plan, nil
}

// atItem names the batch item and field a refusal is about, as "samples/<i>/<field>" (the
// single-sample route strips the prefix), so that the sample is found in a batch of thousands.
func atItem(err error, i int, field string) error {
	var e *Error
	if errors.As(err, &e) && len(e.Fields) == 0 {
		e.Fields = []FieldError{{Field: "samples/" + strconv.Itoa(i) + "/" + field, Message: e.Message}}
	}
	return err
}

// raced is the error of a batch whose samples name an earlier one as what it was when the batch
// was resolved, which another request's write has changed since.
func raced() error {
	return Errorf(ECONFLICT, "a sample that later samples of this batch refer to was registered by another request meanwhile; send the batch again")
}

// checkExternal refuses a sample whose external_id another sample holds (stored, or new earlier in
// the batch), or that duplicates a sample (dup, when not "") held under another external_id or
// none: an external_id names one sample, for good.
func (p *planner) checkExternal(smp *Sample, dup string) error {
	if smp.ExternalID == "" {
		return nil
	}
	k := ExternalKey{smp.Dataset, smp.ExternalID}
	holder := p.ext[k]
	if other, ok := p.known.External[k]; ok {
		holder = other.ID
	}
	switch {
	case holder != "" && holder != dup:
		return &Error{Code: ECONFLICT, Existing: holder, Message: "external_id " + strconv.Quote(smp.ExternalID) + " in dataset " +
			strconv.Quote(smp.Dataset) + " is sample " + holder + "'s, which has other text or provenance"}
	case holder == "" && dup != "":
		return &Error{Code: ECONFLICT, Existing: dup, Message: "this sample is registered as " + dup +
			" with another external_id, or none; a sample's external_id cannot be added or changed"}
	}
	if dup == "" {
		p.ext[k] = smp.ID
	}
	return nil
}

// place decides a new sample's cluster, or refuses it.
func (p *planner) place(smp *Sample) error {
	if smp.NormSHA256 == "" {
		smp.PrepareDedup()
	}
	smp.Cluster = smp.ID
	exact, found := p.exactModel(smp)
	if found && smp.Origin == OriginHuman && !slices.Contains(smp.Parents, exact.ID) {
		return &Error{
			Code: EPROVENANCECONFLICT,
			Message: "this text is registered as model-generated (sample " + exact.ID + "), up to case, spacing, " +
				"punctuation and look-alike characters; it cannot be registered as human. If a person edited " +
				"it, register the edit as human with that sample as a parent: it keeps its generation",
			Existing: exact.ID,
		}
	}
	if found {
		smp.Cluster = exact.Cluster
	} else if near, sim := p.nearestModel(smp); near.ID != "" {
		if smp.Origin == OriginHuman && !p.rule.Flag {
			return &Error{
				Code: EPROVENANCECONFLICT,
				Message: "this text near-duplicates model-generated sample " + near.ID + " (similarity " +
					strconv.FormatFloat(sim, 'f', 2, 64) + "); it cannot be registered as human. If a person " +
					"edited it, register the edit as human with that sample as a parent: it keeps its generation",
				Existing:        near.ID,
				NearDuplicateOf: near.ID,
				Similarity:      sim,
			}
		}
		smp.Cluster = near.Cluster
		if smp.Origin == OriginHuman {
			s := sim
			smp.NearDuplicateOf, smp.Similarity = near.ID, &s
		}
	}
	if smp.Cluster != smp.ID || smp.NearDuplicateOf != "" {
		smp.leaf = nil // built before the write; the near-duplicate fields are in it
	}
	if smp.Origin == OriginModel {
		if _, ok := p.norms[smp.NormSHA256]; !ok {
			p.norms[smp.NormSHA256] = smp
		}
		for _, b := range smp.sketch.Bands {
			p.bands[b] = append(p.bands[b], smp)
		}
	}
	return nil
}

// exactModel finds model text equal to the sample's after normalization: stored first, then earlier
// in the batch.
func (p *planner) exactModel(smp *Sample) (ModelText, bool) {
	if m, ok := p.known.ModelNorms[smp.NormSHA256]; ok {
		return m, true
	}
	if m, ok := p.norms[smp.NormSHA256]; ok {
		return ModelText{ID: m.ID, Cluster: m.Cluster}, true
	}
	return ModelText{}, false
}

// nearestModel finds the most similar model text among the candidates that share a band key with
// the sample, if its similarity reaches the threshold; parents excepted. Ties go to the earlier
// registered sample (the smaller id: ids are time-ordered).
func (p *planner) nearestModel(smp *Sample) (ModelText, float64) {
	if len(smp.sketch.Bands) == 0 {
		return ModelText{}, 0
	}
	var mine map[uint64]struct{} // computed at the first candidate: most samples have none
	var best ModelText
	bestSim := 0.0
	seen := map[string]bool{smp.ID: true}
	consider := func(m ModelText, shingles func() map[uint64]struct{}) {
		if seen[m.ID] || slices.Contains(smp.Parents, m.ID) {
			return
		}
		seen[m.ID] = true
		if mine == nil {
			mine = dedup.Shingles(strings.Fields(smp.norm))
		}
		sim := dedup.Jaccard(mine, shingles())
		if sim >= p.rule.threshold() && (sim > bestSim || sim == bestSim && m.ID < best.ID) {
			best, bestSim = m, sim
		}
	}
	for _, b := range smp.sketch.Bands {
		for _, m := range p.known.Bands[b] {
			consider(m, func() map[uint64]struct{} { return p.shinglesOf(m.ID, m.Text) })
		}
		for _, m := range p.bands[b] {
			consider(ModelText{ID: m.ID, Cluster: m.Cluster}, func() map[uint64]struct{} { return dedup.Shingles(strings.Fields(m.norm)) })
		}
	}
	return best, bestSim
}

func (p *planner) shinglesOf(id, text string) map[uint64]struct{} {
	s, ok := p.shingles[id]
	if !ok {
		s = dedup.Shingles(dedup.Words(text))
		p.shingles[id] = s
	}
	return s
}

// Norms returns the normalized keys of the batch's samples, computing them if needed.
func Norms(samples []*Sample) []string {
	out := make([]string, 0, len(samples))
	seen := map[string]bool{}
	for _, s := range samples {
		if s.NormSHA256 == "" {
			s.PrepareDedup()
		}
		if !seen[s.NormSHA256] {
			seen[s.NormSHA256] = true
			out = append(out, s.NormSHA256)
		}
	}
	return out
}

// BandKeys returns the distinct near-duplicate band keys of the batch's samples.
func BandKeys(samples []*Sample) []int64 {
	var out []int64
	seen := map[int64]bool{}
	for _, s := range samples {
		for _, b := range s.sketch.Bands {
			if !seen[b] {
				seen[b] = true
				out = append(out, b)
			}
		}
	}
	return out
}

// Identities returns the identity hashes of the batch.
func Identities(samples []*Sample) []string {
	out := make([]string, len(samples))
	for i, s := range samples {
		out[i] = s.IdentitySHA256
	}
	return out
}

// CheckDerived refuses a stored sample whose text no longer has its content hash, which the log's
// leaf holds instead of the text: what every read that serves a text checks.
func CheckDerived(s *Sample) error {
	if sum := sha256.Sum256([]byte(s.Text)); hex.EncodeToString(sum[:]) != s.ContentSHA256 {
		return Tampered("sample %s's text no longer matches its content hash", s.ID)
	}
	return nil
}

// DerivedMismatch says what the audits find wrong with a stored sample's derived values, or "":
// its content hash; its normalized key (dedup.Key), which no read serves — only the ingest's exact
// check and a mix's exact dedup use it, through the index — so the audits, not each read,
// re-derive it. (Its identity needs its parents: IdentityMismatch.)
func DerivedMismatch(s *Sample) string {
	if sum := sha256.Sum256([]byte(s.Text)); hex.EncodeToString(sum[:]) != s.ContentSHA256 {
		return "sample " + s.ID + "'s text no longer matches its content hash"
	}
	if k := dedup.Key(s.Text); hex.EncodeToString(k[:]) != s.NormSHA256 {
		return "sample " + s.ID + "'s normalized key no longer matches its text"
	}
	return ""
}

// IdentityMismatch says what the audits find wrong with a stored sample's identity, or "": the
// ingest's duplicate check reads identities through their index, unproven (a content lookup proves
// what it finds). s must have its parents.
func IdentityMismatch(s *Sample) string {
	if Identity(s) != s.IdentitySHA256 {
		return "sample " + s.ID + "'s identity (the duplicate key) no longer matches its text and provenance"
	}
	return ""
}

// BatchTx is what InsertBatch needs from a store's write transaction.
type BatchTx interface {
	// LookupIdentities maps identity hashes to the ids of stored samples that have them.
	LookupIdentities(ctx context.Context, identities []string) (map[string]string, error)
	// LookupModelNorms maps normalized keys to the first stored sample of origin model with each.
	LookupModelNorms(ctx context.Context, keys []string) (map[string]ModelText, error)
	// LookupExternal finds the stored samples with these external ids.
	LookupExternal(ctx context.Context, keys []ExternalKey) (map[ExternalKey]ExternalSample, error)
	// WriteSamples writes new samples with their edges, band keys and log leaves, setting LogIndex.
	WriteSamples(ctx context.Context, samples []*Sample) error
	// ReadSamples reads stored samples, with parents and ranks, in the order of ids.
	ReadSamples(ctx context.Context, ids []string) ([]*Sample, error)
	// Rank fills the best-of-k ranks of samples that answer a prompt.
	Rank(ctx context.Context, samples []*Sample) error
}

// InsertBatch is the body of every store's InsertSamples transaction: it applies the identity and
// provenance rules to the batch against what is stored (PlanBatch), writes the new samples, and
// answers each sample in order, duplicates with the stored (or earlier) record.
//
// candidates are the stored model samples that share a band key with the batch's samples, read
// before the write transaction (Store.NearCandidates): the near-duplicate check is the one that
// reads outside it, so that its dozen index probes a sample do not hold the log's sequencer. What
// it can miss is model text committed by another request in that moment; text registered before
// — what laundering copies — it finds. The exact check, by normalized key, reads inside.
func InsertBatch(ctx context.Context, tx BatchTx, samples []*Sample, rule NearRule, candidates map[int64][]ModelText) (*InsertedSamples, error) {
	var known Known
	var err error
	if known.Identities, err = tx.LookupIdentities(ctx, Identities(samples)); err != nil {
		return nil, err
	}
	if known.ModelNorms, err = tx.LookupModelNorms(ctx, Norms(samples)); err != nil {
		return nil, err
	}
	known.Bands = candidates
	if keys := externalKeys(samples); len(keys) > 0 {
		if known.External, err = tx.LookupExternal(ctx, keys); err != nil {
			return nil, err
		}
	}
	plan, err := PlanBatch(samples, known, rule)
	if err != nil {
		return nil, err
	}
	if len(plan.Insert) > 0 {
		if err := tx.WriteSamples(ctx, plan.Insert); err != nil {
			return nil, err
		}
	}
	byID := make(map[string]*Sample, len(plan.Insert))
	for _, s := range plan.Insert {
		byID[s.ID] = s
	}
	var storedDups []string
	for _, r := range plan.Results {
		if _, ok := byID[r.ID]; r.Duplicate && !ok {
			storedDups = append(storedDups, r.ID)
		}
	}
	if len(storedDups) > 0 {
		got, err := tx.ReadSamples(ctx, storedDups)
		if err != nil {
			return nil, err
		}
		for _, s := range got {
			byID[s.ID] = s
		}
	}
	// New candidates answer with their ranks as they stand after this batch.
	if err := tx.Rank(ctx, plan.Insert); err != nil {
		return nil, err
	}
	out := &InsertedSamples{Results: make([]IngestResult, len(plan.Results))}
	for i, r := range plan.Results {
		out.Results[i] = IngestResult{Sample: byID[r.ID], Duplicate: r.Duplicate}
	}
	return out, nil
}

// Replay answers an ingest whose Idempotency-Key already completed: the first request's samples, in
// its order, re-read by the store, with their duplicate flags as first answered.
func Replay(prev *IdempotentResult, samples []*Sample) *InsertedSamples {
	out := &InsertedSamples{Replayed: true, Results: make([]IngestResult, len(samples))}
	for i, s := range samples {
		out.Results[i] = IngestResult{Sample: s, Duplicate: i < len(prev.Duplicate) && prev.Duplicate[i]}
	}
	return out
}

// DistinctBands returns a sample's distinct band keys, the rows the near-duplicate index holds for
// it.
func DistinctBands(s *Sample) []int64 {
	out := make([]int64, 0, len(s.sketch.Bands))
	for _, b := range s.sketch.Bands {
		if !slices.Contains(out, b) {
			out = append(out, b)
		}
	}
	return out
}

// externalKeys returns the distinct external keys of the batch's samples.
func externalKeys(samples []*Sample) []ExternalKey {
	var out []ExternalKey
	seen := map[ExternalKey]bool{}
	for _, s := range samples {
		if k := (ExternalKey{s.Dataset, s.ExternalID}); s.ExternalID != "" && !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}
