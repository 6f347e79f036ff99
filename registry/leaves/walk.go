package leaves

import (
	"context"

	"github.com/pedigreeml/pedigree/ledger"
	"github.com/pedigreeml/pedigree/registry"
)

// Emit is what a store's record walk calls with each record's re-derived leaf and its log index.
type Emit func(index int64, leaf []byte) error

const walkPage = 500

// walk pages through a cursor-listed record type, calling each with every record.
func walk[T any](ctx context.Context, list func(context.Context, string, int) ([]T, error), id func(T) string, each func(T) error) error {
	for after := ""; ; {
		page, err := list(ctx, after, walkPage)
		if err != nil {
			return err
		}
		for _, r := range page {
			if err := each(r); err != nil {
				return err
			}
		}
		if len(page) < walkPage {
			return nil
		}
		after = id(page[len(page)-1])
	}
}

// WalkModels emits the leaf of every model a store lists, the same for every store.
func WalkModels(ctx context.Context, list func(context.Context, string, int) ([]*registry.Model, error), fn Emit) error {
	return walk(ctx, list, func(m *registry.Model) string { return m.ID }, func(m *registry.Model) error {
		leaf, err := registry.ModelLeaf(m)
		if err != nil {
			return err
		}
		return fn(m.LogIndex, leaf)
	})
}

// WalkKeys emits the creation leaf of every key a store lists, and the revocation leaf of each
// revoked one.
func WalkKeys(ctx context.Context, list func(context.Context, string, int) ([]*registry.APIKey, error), fn Emit) error {
	return walk(ctx, list, func(k *registry.APIKey) string { return k.ID }, func(k *registry.APIKey) error {
		leaf, err := registry.KeyCreatedLeaf(k)
		if err == nil {
			err = fn(k.LogIndex, leaf)
		}
		if err != nil || k.RevokedAt == nil || k.RevokedLogIndex == nil {
			return err
		}
		if leaf, err = registry.KeyRevokedLeaf(k, *k.RevokedAt); err != nil {
			return err
		}
		return fn(*k.RevokedLogIndex, leaf)
	})
}

// CheckManifests checks the manifest of every mix a store lists against its logged hash (see
// [ExportManifest]); it emits no leaf, and is part of a store's record walk so that the audits find
// a manifest edited in the database.
func CheckManifests(ctx context.Context, st registry.MixStore) error {
	return walk(ctx, st.ListMixes, func(m *registry.Mix) string { return m.ID }, func(m *registry.Mix) error {
		return ExportManifest(ctx, st, m, func(*registry.Sample) error { return nil })
	})
}

// WalkIdempotency emits the leaf of every idempotency record a store lists.
func WalkIdempotency(ctx context.Context, list func(context.Context, string, int) ([]*registry.IdempotencyRecord, error), fn Emit) error {
	return walk(ctx, list, func(r *registry.IdempotencyRecord) string { return r.RecordID }, func(r *registry.IdempotencyRecord) error {
		leaf, err := registry.IdempotencyRecordLeaf(r)
		if err != nil {
			return err
		}
		return fn(r.Result.LogIndex, leaf)
	})
}

// WalkDisclosures emits the leaf of every disclosure version a store lists.
func WalkDisclosures(ctx context.Context, st registry.DisclosureStore, fn Emit) error {
	for model, version := "", 0; ; {
		page, err := st.ListDisclosures(ctx, model, version, walkPage)
		if err != nil {
			return err
		}
		for _, d := range page {
			leaf, err := registry.DisclosureLeaf(d)
			if err != nil {
				return err
			}
			if err := fn(d.LogIndex, leaf); err != nil {
				return err
			}
		}
		if len(page) < walkPage {
			return nil
		}
		model, version = page[len(page)-1].ModelID, page[len(page)-1].Version
	}
}

// WalkRescores emits the leaf of every re-score a store lists, and checks that each sample's
// re-scores are numbered 1, 2, … without a gap and that each replaces the metrics of the one
// before it. (That the first replaces the metrics the sample was logged with is in the sample's own
// leaf, and that the sample holds the latest one's metrics is checked with the sample.)
func WalkRescores(ctx context.Context, st registry.RescoreStore, fn Emit) error {
	var prev *registry.Rescore
	for sample, seq := "", 0; ; {
		page, err := st.ListRescores(ctx, sample, seq, walkPage)
		if err != nil {
			return err
		}
		for _, r := range page {
			leaf, err := registry.RescoreLeaf(r)
			if err != nil {
				return err
			}
			if err := fn(r.LogIndex, leaf); err != nil {
				return err
			}
			switch {
			case prev != nil && prev.SampleID == r.SampleID:
				if r.Seq != prev.Seq+1 || r.From != registry.MetricsDigest(prev.Metrics) {
					return rescoreBroken(r, "does not follow re-score %d", prev.Seq)
				}
			case r.Seq != 1:
				return rescoreBroken(r, "is its first")
			}
			prev = r
		}
		if len(page) < walkPage {
			return nil
		}
		sample, seq = page[len(page)-1].SampleID, page[len(page)-1].Seq
	}
}

func rescoreBroken(r *registry.Rescore, format string, args ...any) error {
	err := registry.Tampered("re-score %d of sample %s, logged at index %d, "+format, append([]any{r.Seq, r.SampleID, r.LogIndex}, args...)...)
	return &ledger.AuditError{Leaf: r.LogIndex, StoredIndex: -1, Reason: err.Error(), Err: err}
}
