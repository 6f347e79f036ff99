package leaves

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/pedigreeml/pedigree/ledger"
	"github.com/pedigreeml/pedigree/registry"
)

// RecordStore is what re-deriving one record's leaves reads: the store's own getters, and its
// idempotency records by their leaf id.
type RecordStore interface {
	Store
	IdempotencyRecord(ctx context.Context, recordID string) (*registry.IdempotencyRecord, error)
}

// RecordLeaf returns the ledger.RecordLeafFunc of a store: from the record a leaf names, every leaf
// that record claims, by log index. Every store uses this one function, so the start-up check of the
// records appended since the last full audit is the same whichever database holds them.
func RecordLeaf(st RecordStore) ledger.RecordLeafFunc {
	return func(ctx context.Context, kind, id string) (map[int64][]byte, error) {
		claims, err := recordLeaves(ctx, st, kind, id)
		switch {
		case registry.ErrorCode(err) == registry.ENOTFOUND:
			return nil, fmt.Errorf("%s %s: %w", kind, id, ledger.ErrNoRecord)
		case errors.Is(err, registry.ErrTampered):
			// The record contradicts itself (an edge kind, a policy module): tampering, not I/O.
			return nil, &ledger.AuditError{Leaf: -1, StoredIndex: -1, Reason: fmt.Sprintf("%s %s: %v", kind, id, err), Err: err}
		}
		return claims, err
	}
}

func recordLeaves(ctx context.Context, st RecordStore, kind, id string) (map[int64][]byte, error) {
	one := func(index int64, leaf []byte, err error) (map[int64][]byte, error) {
		if err != nil {
			return nil, err
		}
		return map[int64][]byte{index: leaf}, nil
	}
	switch kind {
	case ledger.KindSample:
		s, err := st.GetSample(ctx, id)
		if err != nil {
			return nil, err
		}
		if err := registry.CheckDerived(s); err != nil {
			return nil, &ledger.AuditError{Leaf: s.LogIndex, StoredIndex: -1, Reason: err.Error(), Err: err}
		}
		if err := checkRescored(ctx, st, s); err != nil {
			return nil, err
		}
		leaf, err := registry.SampleLeaf(s)
		return one(s.LogIndex, leaf, err)
	case registry.KindRescore:
		sampleID, seq, ok := registry.ParseRescoreLeafID(id)
		if !ok {
			return nil, registry.Errorf(registry.ENOTFOUND, "re-score %q not found", id)
		}
		r, err := st.GetRescore(ctx, sampleID, seq)
		if err != nil {
			return nil, err
		}
		leaf, err := registry.RescoreLeaf(r)
		return one(r.LogIndex, leaf, err)
	case ledger.KindModel:
		m, err := st.GetModel(ctx, id)
		if err != nil {
			return nil, err
		}
		if m.ID != id { // GetModel also takes name@version; a leaf names the id
			return nil, registry.Errorf(registry.ENOTFOUND, "model %s not found", id)
		}
		leaf, err := registry.ModelLeaf(m)
		return one(m.LogIndex, leaf, err)
	case ledger.KindKeyCreated, ledger.KindKeyRevoked:
		k, err := st.GetKey(ctx, id)
		if err != nil {
			return nil, err
		}
		out := map[int64][]byte{}
		leaf, err := registry.KeyCreatedLeaf(k)
		if err != nil {
			return nil, err
		}
		out[k.LogIndex] = leaf
		if k.RevokedAt != nil && k.RevokedLogIndex != nil {
			if leaf, err = registry.KeyRevokedLeaf(k, *k.RevokedAt); err != nil {
				return nil, err
			}
			out[*k.RevokedLogIndex] = leaf
		}
		return out, nil
	case ledger.KindPolicyVersion:
		name, v, ok := strings.Cut(id, "@")
		version, err := strconv.Atoi(v)
		if !ok || err != nil || version < 1 || strconv.Itoa(version) != v {
			return nil, registry.Errorf(registry.ENOTFOUND, "policy version %q not found", id)
		}
		p, err := st.GetPolicyVersion(ctx, name, version)
		if err != nil {
			return nil, err
		}
		leaf, err := registry.PolicyVersionLeaf(p)
		return one(p.LogIndex, leaf, err)
	case ledger.KindDecision:
		d, err := st.GetDecision(ctx, id)
		if err != nil {
			return nil, err
		}
		leaf, err := registry.DecisionLeaf(d)
		return one(d.LogIndex, leaf, err)
	case ledger.KindMix:
		m, err := st.GetMix(ctx, id)
		if err != nil {
			return nil, err
		}
		request, err := m.RequestDocument()
		if err != nil {
			return nil, err
		}
		if err := ExportManifest(ctx, st, m, func(*registry.Sample) error { return nil }); err != nil {
			return nil, err
		}
		leaf, err := registry.MixLeaf(m, request)
		return one(m.LogIndex, leaf, err)
	case registry.KindDisclosure:
		modelID, version, ok := registry.ParseDisclosureLeafID(id)
		if !ok {
			return nil, registry.Errorf(registry.ENOTFOUND, "disclosure %q not found", id)
		}
		d, err := st.GetDisclosure(ctx, modelID, version)
		if err != nil {
			return nil, err
		}
		leaf, err := registry.DisclosureLeaf(d)
		return one(d.LogIndex, leaf, err)
	case ledger.KindIdempotency:
		r, err := st.IdempotencyRecord(ctx, id)
		if err != nil {
			return nil, err
		}
		leaf, err := registry.IdempotencyRecordLeaf(r)
		return one(r.Result.LogIndex, leaf, err)
	}
	return nil, fmt.Errorf("%s %s: %w (a kind this registry does not write)", kind, id, ledger.ErrNoRecord)
}

// checkRescored checks that a re-scored sample holds its latest re-score's metrics (a sample never
// re-scored must not claim to be).
func checkRescored(ctx context.Context, st registry.RescoreStore, s *registry.Sample) error {
	if s.IngestMetrics == "" {
		return nil
	}
	latest, err := st.GetRescore(ctx, s.ID, 0)
	if registry.ErrorCode(err) == registry.ENOTFOUND {
		latest, err = nil, nil
	}
	if err != nil {
		return err
	}
	return registry.CheckLatestRescore(s, latest)
}
