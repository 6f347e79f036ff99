// Package leaves builds the log leaf of each kind of registry record. Every store uses it, so a record
// has the same leaf whichever database holds it, and the start-up audit can rebuild a leaf from a
// stored record and compare.
package leaves

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/pedigreeml/pedigree/ledger"
	"github.com/pedigreeml/pedigree/registry"
)

// Sample returns the leaf of a sample: its content hash and every provenance field that the
// registry derives or the client sets, so that changing any of them in the database is detected.
func Sample(s *registry.Sample) ([]byte, error) {
	fields := map[string]string{
		"hash":             s.ContentSHA256,
		"identity":         s.IdentitySHA256,
		"origin":           s.Origin,
		"generation":       strconv.Itoa(s.Generation),
		"generation_basis": s.GenerationBasis,
		"source_kind":      s.Source.Kind,
		"metrics":          MetricsDigest(s.Metrics),
	}
	optional(fields, "model", s.Model)
	optional(fields, "prompt_id", s.PromptID)
	optional(fields, "dataset", s.Dataset)
	optional(fields, "license", s.Source.License)
	if len(s.Parents) > 0 {
		fields["parents"] = digest(strings.Join(s.Parents, ","))
	}
	if s.Source.Name != "" || s.Source.URI != "" || len(s.Metadata) > 0 {
		// One digest of what a policy may also admit on: the source's name and URI and the metadata
		// bytes as stored.
		fields["details"] = digest(s.Source.Name + "\x00" + s.Source.URI + "\x00" + string(s.Metadata))
	}
	return ledger.Leaf(ledger.KindSample, s.ID, fields, s.CreatedAt)
}

// Leaf field sets. A record stores the set its leaf was written with, so that records logged before
// a set grew keep re-deriving the leaf they were logged with. Lowering a record's set makes its
// re-derived leaf differ from the logged one, so the number is itself covered.
const (
	// FieldsV1 is the set written before keys' hashes and mixes' stats were covered.
	FieldsV1 = 1
	// FieldsV2 adds a key's hash to its creation leaf, and a mix's stats, deepest generation and
	// weakest basis to its leaf.
	FieldsV2 = 2
	// CurrentFields is the set new records are written with.
	CurrentFields = FieldsV2
)

// Model returns the leaf of a model.
func Model(m *registry.Model) ([]byte, error) {
	fields := map[string]string{
		"name":             m.Name,
		"version":          m.Version,
		"generation":       strconv.Itoa(m.Generation),
		"generation_basis": m.GenerationBasis,
	}
	optional(fields, "provider", m.Provider)
	if len(m.TrainedOn) > 0 {
		fields["trained_on"] = strings.Join(m.TrainedOn, ",")
	}
	if m.DeclaredGeneration != nil {
		fields["declared_generation"] = strconv.Itoa(*m.DeclaredGeneration)
	}
	return ledger.Leaf(ledger.KindModel, m.ID, fields, m.CreatedAt)
}

// KeyCreated returns the leaf of a new API key: its id and role and, from FieldsV2, the SHA-256 of
// its stored hash, so that authorization rests only on logged values. The key itself never appears,
// and its hash only hashed again: a leaf is public, and the stored hash is what a presented key is
// compared with.
func KeyCreated(k *registry.APIKey) ([]byte, error) {
	fields := map[string]string{"role": k.Role}
	if k.LeafFields >= FieldsV2 {
		fields["hash"] = digest(string(k.Hash))
	}
	return ledger.Leaf(ledger.KindKeyCreated, k.ID, fields, k.CreatedAt)
}

// KeyRevoked returns the leaf of a key revocation.
func KeyRevoked(k *registry.APIKey, at time.Time) ([]byte, error) {
	return ledger.Leaf(ledger.KindKeyRevoked, k.ID, map[string]string{"role": k.Role}, at)
}

// MetricsDigest is a short, stable text of the stored scores and what computed them.
func MetricsDigest(m registry.Metrics) string {
	tox := "null"
	if m.Toxicity != nil {
		tox = strconv.FormatFloat(*m.Toxicity, 'g', -1, 64)
	}
	return digest(strconv.Itoa(m.Tokens) + "|" + strconv.FormatFloat(m.MTLD, 'g', -1, 64) + "|" + tox + "|" +
		m.Version + "|" + m.ToxicityScorer)
}

// Idempotency returns the leaf of a completed idempotent write: which request (scope, key and the
// request's hash) it answered and with which records. Its id is a digest of the scope and the key,
// so the client's key never appears in the public log.
func Idempotency(idem *registry.Idempotency, r *registry.IdempotentResult, at time.Time) ([]byte, error) {
	dups := make([]string, len(r.Duplicate))
	for i, d := range r.Duplicate {
		dups[i] = strconv.FormatBool(d)
	}
	fields := map[string]string{
		"request": idem.RequestSHA256,
		"ids":     digest(strings.Join(r.IDs, ",")),
	}
	if len(dups) > 0 {
		fields["duplicate"] = strings.Join(dups, ",")
	}
	return ledger.Leaf(ledger.KindIdempotency, IdempotencyID(idem.Scope, idem.Key), fields, at)
}

// IdempotencyRecord returns the leaf of a stored idempotency record. Its stored leaf id must be the
// one its scope and key give, or the record is refused as tampered with.
func IdempotencyRecord(r *registry.IdempotencyRecord) ([]byte, error) {
	if want := IdempotencyID(r.Scope, r.Key); r.RecordID != want {
		return nil, registry.Tampered("the idempotency record logged at index %d is filed under id %s, not %s", r.Result.LogIndex, r.RecordID, want)
	}
	return Idempotency(&r.Idempotency, &r.Result, r.Result.CreatedAt)
}

// IdempotencyID is the record id of an idempotency record in the log.
func IdempotencyID(scope, key string) string {
	return digest(scope + "\x00" + key)
}

func optional(fields map[string]string, k, v string) {
	if v != "" {
		fields[k] = v
	}
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
