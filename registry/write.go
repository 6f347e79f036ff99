package registry

import (
	"context"
	"time"
)

// Tx is a store's write transaction: per-table primitives that run SQL and nothing else. Each Write*
// primitive stores a record and appends its log leaf in the same transaction. The rules — what a
// replay answers, when a name is taken, how versions are numbered, what revoking twice does — are the
// domain's, stated once in the functions of this file, whichever database holds the data.
//
// A Writer opens a Tx holding the log's sequencer: every read a Tx makes sees the rows of every
// write committed before it, and the leaves it appends get the next indexes.
type Tx interface {
	BatchTx

	// Idempotent returns the completed result of an idempotent write, or nil.
	Idempotent(ctx context.Context, scope, key string) (*IdempotentResult, error)
	// WriteIdempotent records the result of an idempotent write.
	WriteIdempotent(ctx context.Context, idem *Idempotency, r IdempotentResult) error

	// GetModel reads a model by id or name@version; ENOTFOUND if there is none.
	GetModel(ctx context.Context, ref string) (*Model, error)
	// WriteModel stores a new model and the mixes it was trained on, setting LogIndex.
	WriteModel(ctx context.Context, m *Model) error

	// GetKey reads a key; ENOTFOUND if there is none.
	GetKey(ctx context.Context, id string) (*APIKey, error)
	// WriteKey stores a new key, setting LogIndex and LeafFields.
	WriteKey(ctx context.Context, k *APIKey) error
	// WriteRevocation marks a stored key revoked at the given time, setting RevokedAt and
	// RevokedLogIndex.
	WriteRevocation(ctx context.Context, k *APIKey, at time.Time) error

	// LatestPolicyVersion reads the newest version of a policy; ENOTFOUND if there is none.
	LatestPolicyVersion(ctx context.Context, name string) (*PolicyVersion, error)
	// WritePolicyVersion stores a new policy version, setting LogIndex.
	WritePolicyVersion(ctx context.Context, p *PolicyVersion) error

	// WriteDecision stores a policy decision, setting LogIndex.
	WriteDecision(ctx context.Context, d *Decision) error
	// WriteMix stores a mix and its manifest (sample ids in order), setting LogIndex.
	WriteMix(ctx context.Context, m *Mix, manifest Manifest) error
}

// A Writer runs fn in one write transaction and commits it if fn returns nil.
type Writer interface {
	Write(ctx context.Context, fn func(tx Tx) error) error
}

// replayed returns the completed result of idem, nil if it has none, or EUNPROCESSABLE if the key was
// used with another request.
func replayed(ctx context.Context, tx Tx, idem *Idempotency) (*IdempotentResult, error) {
	if idem == nil {
		return nil, nil
	}
	prev, err := tx.Idempotent(ctx, idem.Scope, idem.Key)
	if err != nil || prev == nil {
		return nil, err
	}
	if prev.RequestSHA256 != idem.RequestSHA256 {
		return nil, Errorf(EUNPROCESSABLE, "the Idempotency-Key %q was already used with a different request", idem.Key)
	}
	return prev, nil
}

// WriteSamples writes a batch of fully built samples in one transaction: a replay of a completed
// idempotent request answers with its samples, re-read, and writes nothing; otherwise the identity
// and provenance rules decide what is written (InsertBatch), and the idempotent result is recorded.
func WriteSamples(ctx context.Context, w Writer, req InsertSamples) (*InsertedSamples, error) {
	var out *InsertedSamples
	err := w.Write(ctx, func(tx Tx) error {
		prev, err := replayed(ctx, tx, req.Idempotency)
		if err != nil {
			return err
		}
		if prev != nil {
			results, err := tx.ReadSamples(ctx, prev.IDs)
			if err != nil {
				return err
			}
			out = Replay(prev, results)
			return nil
		}
		if len(req.Samples) == 0 {
			return Errorf(EUNPROCESSABLE, "nothing to ingest")
		}
		if out, err = InsertBatch(ctx, tx, req.Samples, req.Near, req.Candidates); err != nil {
			return err
		}
		if req.Idempotency == nil {
			return nil
		}
		r := IdempotentResult{}
		for _, res := range out.Results {
			r.IDs = append(r.IDs, res.Sample.ID)
			r.Duplicate = append(r.Duplicate, res.Duplicate)
		}
		return tx.WriteIdempotent(ctx, req.Idempotency, r)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// WriteModel stores a new model: a replay answers with the model first registered; a taken
// name@version is ECONFLICT naming the model that holds it.
func WriteModel(ctx context.Context, w Writer, m *Model, idem *Idempotency) error {
	return w.Write(ctx, func(tx Tx) error {
		prev, err := replayed(ctx, tx, idem)
		if err != nil {
			return err
		}
		if prev != nil && len(prev.IDs) == 1 {
			got, err := tx.GetModel(ctx, prev.IDs[0])
			if err != nil {
				return err
			}
			*m = *got
			return nil
		}
		taken, err := tx.GetModel(ctx, m.Ref())
		switch {
		case err == nil:
			return &Error{Code: ECONFLICT, Message: "model " + m.Ref() + " is already registered", Existing: taken.ID}
		case ErrorCode(err) != ENOTFOUND:
			return err
		}
		if err := tx.WriteModel(ctx, m); err != nil {
			return err
		}
		if idem == nil {
			return nil
		}
		return tx.WriteIdempotent(ctx, idem, IdempotentResult{IDs: []string{m.ID}})
	})
}

// WriteKey stores a new key.
func WriteKey(ctx context.Context, w Writer, k *APIKey) error {
	return w.Write(ctx, func(tx Tx) error { return tx.WriteKey(ctx, k) })
}

// RevokeKey revokes a key at the given time and returns it. Revoking a revoked key changes nothing
// and returns it as it is.
func RevokeKey(ctx context.Context, w Writer, id string, at time.Time) (*APIKey, error) {
	var out *APIKey
	err := w.Write(ctx, func(tx Tx) error {
		k, err := tx.GetKey(ctx, id)
		if err != nil {
			return err
		}
		out = k
		if k.RevokedAt != nil {
			return nil
		}
		return tx.WriteRevocation(ctx, k, at)
	})
	return out, err
}

// WritePolicyVersion stores p as the next version of its policy (1 for a new one), unless the latest
// version already has this text: p then becomes that version, and created is false. Only the latest
// version is compared, so going back to an older text is a new version.
func WritePolicyVersion(ctx context.Context, w Writer, p *PolicyVersion) (created bool, err error) {
	err = w.Write(ctx, func(tx Tx) error {
		latest, err := tx.LatestPolicyVersion(ctx, p.Name)
		switch {
		case err == nil && latest.SHA256 == p.SHA256:
			*p = *latest
			return nil
		case err == nil:
			p.Version = latest.Version + 1
		case ErrorCode(err) == ENOTFOUND:
			p.Version = 1
		default:
			return err
		}
		created = true
		return tx.WritePolicyVersion(ctx, p)
	})
	return created, err
}

// WriteMix stores a decision and, when m is not nil (the policy allowed it), the mix it allowed and
// its manifest, in one transaction. With idem, a request that completed meanwhile is ECONFLICT (the
// caller answers the replay), one whose key was used with another request EUNPROCESSABLE.
func WriteMix(ctx context.Context, w Writer, d *Decision, m *Mix, manifest Manifest, idem *Idempotency) error {
	return w.Write(ctx, func(tx Tx) error {
		prev, err := replayed(ctx, tx, idem)
		if err != nil {
			return err
		}
		if prev != nil {
			return Errorf(ECONFLICT, "a request with Idempotency-Key %q has completed meanwhile; send it again to read its result", idem.Key)
		}
		if m != nil {
			d.MixID = m.ID
		}
		if err := tx.WriteDecision(ctx, d); err != nil {
			return err
		}
		result := IdempotentResult{IDs: []string{d.ID}}
		if m != nil {
			if err := tx.WriteMix(ctx, m, manifest); err != nil {
				return err
			}
			result.IDs = append(result.IDs, m.ID)
		}
		if idem == nil {
			return nil
		}
		return tx.WriteIdempotent(ctx, idem, result)
	})
}
