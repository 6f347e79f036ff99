package registry

import "context"

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

// PlanBatch applies the identity and provenance rules to a batch. storedIdentities maps identity
// hashes to ids of stored samples; storedModelText maps content hashes to ids of stored samples of
// origin model. It returns EPROVENANCECONFLICT, naming the existing sample, for human text that is
// known (stored or earlier in the batch) as model output.
func PlanBatch(samples []*Sample, storedIdentities, storedModelText map[string]string) (*BatchPlan, error) {
	plan := &BatchPlan{Results: make([]PlannedResult, len(samples))}
	batchIdentity := make(map[string]string)
	batchModelText := make(map[string]string)
	for i, smp := range samples {
		if id, ok := storedIdentities[smp.IdentitySHA256]; ok {
			plan.Results[i] = PlannedResult{ID: id, Duplicate: true}
			continue
		}
		if id, ok := batchIdentity[smp.IdentitySHA256]; ok {
			plan.Results[i] = PlannedResult{ID: id, Duplicate: true}
			continue
		}
		if smp.Origin == OriginHuman {
			id, ok := storedModelText[smp.ContentSHA256]
			if !ok {
				id, ok = batchModelText[smp.ContentSHA256]
			}
			if ok {
				return nil, &Error{
					Code:     EPROVENANCECONFLICT,
					Message:  "this text is registered as model-generated (sample " + id + "); it cannot be registered as human",
					Existing: id,
				}
			}
		} else if _, ok := batchModelText[smp.ContentSHA256]; !ok {
			batchModelText[smp.ContentSHA256] = smp.ID
		}
		batchIdentity[smp.IdentitySHA256] = smp.ID
		plan.Insert = append(plan.Insert, smp)
		plan.Results[i] = PlannedResult{ID: smp.ID, New: smp}
	}
	return plan, nil
}

// HumanContent returns the content hashes of the batch's human samples: the ones a store must check
// against stored model output.
func HumanContent(samples []*Sample) []string {
	var out []string
	for _, s := range samples {
		if s.Origin == OriginHuman {
			out = append(out, s.ContentSHA256)
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

// BatchTx is what InsertBatch needs from a store's write transaction.
type BatchTx interface {
	// LookupIdentities maps identity hashes to the ids of stored samples that have them.
	LookupIdentities(ctx context.Context, identities []string) (map[string]string, error)
	// LookupModelText maps content hashes to the ids of stored samples of origin model with them.
	LookupModelText(ctx context.Context, contentHashes []string) (map[string]string, error)
	// WriteSamples writes new samples with their edges and log leaves, setting LogIndex.
	WriteSamples(ctx context.Context, samples []*Sample) error
	// ReadSamples reads stored samples, with parents and ranks, in the order of ids.
	ReadSamples(ctx context.Context, ids []string) ([]*Sample, error)
	// Rank fills the best-of-k ranks of samples that answer a prompt.
	Rank(ctx context.Context, samples []*Sample) error
}

// InsertBatch is the body of every store's InsertSamples transaction: it applies the identity and
// provenance rules to the batch against what is stored (PlanBatch), writes the new samples, and
// answers each sample in order, duplicates with the stored (or earlier) record.
func InsertBatch(ctx context.Context, tx BatchTx, samples []*Sample) (*InsertedSamples, error) {
	stored, err := tx.LookupIdentities(ctx, Identities(samples))
	if err != nil {
		return nil, err
	}
	modelText, err := tx.LookupModelText(ctx, HumanContent(samples))
	if err != nil {
		return nil, err
	}
	plan, err := PlanBatch(samples, stored, modelText)
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
