package registry

// The log leaf of each kind of record: what the tamper-evident log holds for it. Every store writes
// these leaves and every check re-derives them from stored records, so a record has the same leaf
// whichever database holds it and a changed value is found.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/pedigreeml/pedigree/ledger"
)

// SampleLeaf returns the leaf of a sample: its content hash and every provenance field that the
// registry derives or the client sets, so that changing any of them in the database is detected.
// The near-duplicate fields and the collection time appear only when set (a cluster only when it is not the sample's own),
// so samples logged before they existed keep their leaves, and setting one on such a sample changes
// its leaf. The normalized key and the band keys are not in the leaf: they are functions of the
// text, which the checks re-derive (CheckDerived). A re-scored sample's leaf carries the metrics it
// was logged with (IngestMetrics), so that its proof still holds; see CheckRescores.
func SampleLeaf(s *Sample) ([]byte, error) {
	fields := map[string]string{
		"hash":             s.ContentSHA256,
		"identity":         s.IdentitySHA256,
		"origin":           s.Origin,
		"generation":       strconv.Itoa(s.Generation),
		"generation_basis": s.GenerationBasis,
		"source_kind":      s.Source.Kind,
		"metrics":          MetricsDigest(s.Metrics),
	}
	if s.IngestMetrics != "" {
		// Re-scored: the leaf is the one logged at ingest; the re-scores' own leaves cover Metrics.
		fields["metrics"] = s.IngestMetrics
	}
	optional(fields, "model", s.Model)
	optional(fields, "prompt_id", s.PromptID)
	optional(fields, "dataset", s.Dataset)
	optional(fields, "external_id", s.ExternalID)
	optional(fields, "license", s.Source.License)
	if s.Cluster != "" && s.Cluster != s.ID {
		fields["cluster"] = s.Cluster
	}
	optional(fields, "near_duplicate_of", s.NearDuplicateOf)
	if s.Similarity != nil {
		fields["similarity"] = strconv.FormatFloat(*s.Similarity, 'g', -1, 64)
	}
	if s.CollectedAt != nil {
		fields["collected_at"] = strconv.FormatInt(s.CollectedAt.UnixMilli(), 10)
	}
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
	// LeafFieldsV1 is the set written before keys' hashes and mixes' stats were covered.
	LeafFieldsV1 = 1
	// LeafFieldsV2 adds a key's hash to its creation leaf, and a mix's stats, deepest generation and
	// weakest basis to its leaf.
	LeafFieldsV2 = 2
	// CurrentLeafFields is the set new records are written with.
	CurrentLeafFields = LeafFieldsV2
)

// ModelLeaf returns the leaf of a model.
func ModelLeaf(m *Model) ([]byte, error) {
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

// KeyCreatedLeaf returns the leaf of a new API key: its id and role and, from LeafFieldsV2, the SHA-256 of
// its stored hash, so that authorization rests only on logged values. The key itself never appears,
// and its hash only hashed again: a leaf is public, and the stored hash is what a presented key is
// compared with.
func KeyCreatedLeaf(k *APIKey) ([]byte, error) {
	fields := map[string]string{"role": k.Role}
	if k.LeafFields >= LeafFieldsV2 {
		fields["hash"] = digest(string(k.Hash))
	}
	return ledger.Leaf(ledger.KindKeyCreated, k.ID, fields, k.CreatedAt)
}

// KeyRevokedLeaf returns the leaf of a key revocation.
func KeyRevokedLeaf(k *APIKey, at time.Time) ([]byte, error) {
	return ledger.Leaf(ledger.KindKeyRevoked, k.ID, map[string]string{"role": k.Role}, at)
}

// MetricsDigest is a short, stable text of the stored scores and what computed them.
func MetricsDigest(m Metrics) string {
	tox := "null"
	if m.Toxicity != nil {
		tox = strconv.FormatFloat(*m.Toxicity, 'g', -1, 64)
	}
	return digest(strconv.Itoa(m.Tokens) + "|" + strconv.FormatFloat(m.MTLD, 'g', -1, 64) + "|" + tox + "|" +
		m.Version + "|" + m.ToxicityScorer)
}

// IdempotencyLeaf returns the leaf of a completed idempotent write: which request (scope, key and the
// request's hash) it answered and with which records. Its id is a digest of the scope and the key,
// so the client's key never appears in the public log.
func IdempotencyLeaf(idem *Idempotency, r *IdempotentResult, at time.Time) ([]byte, error) {
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

// IdempotencyRecordLeaf returns the leaf of a stored idempotency record. Its stored leaf id must be the
// one its scope and key give, or the record is refused as tampered with.
func IdempotencyRecordLeaf(r *IdempotencyRecord) ([]byte, error) {
	if want := IdempotencyID(r.Scope, r.Key); r.RecordID != want {
		return nil, Tampered("the idempotency record logged at index %d is filed under id %s, not %s", r.Result.LogIndex, r.RecordID, want)
	}
	return IdempotencyLeaf(&r.Idempotency, &r.Result, r.Result.CreatedAt)
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

// PolicyVersionLeaf returns the leaf of a stored policy version. The module text itself is checked
// against the version's SHA-256 here, so that every derivation of the leaf (the audits, and the
// check before a version is evaluated) also finds a module edited in place.
func PolicyVersionLeaf(p *PolicyVersion) ([]byte, error) {
	if sum := sha256.Sum256([]byte(p.Module)); hex.EncodeToString(sum[:]) != p.SHA256 {
		return nil, Tampered("the module text of policy %s@%d no longer has its logged SHA-256", p.Name, p.Version)
	}
	return ledger.Leaf(ledger.KindPolicyVersion, p.Name+"@"+strconv.Itoa(p.Version), map[string]string{
		"name": p.Name, "version": strconv.Itoa(p.Version), "sha256": p.SHA256, "limits": digest(string(p.Limits)),
	}, p.CreatedAt)
}

// DecisionLeaf returns the leaf of a policy decision: the policy version, the outcome, and digests of the
// messages and of the input the policy saw.
func DecisionLeaf(d *Decision) ([]byte, error) {
	fields := map[string]string{
		"policy":     d.Policy.Name + "@" + strconv.Itoa(d.Policy.Version),
		"sha256":     d.Policy.SHA256,
		"allowed":    strconv.FormatBool(d.Allowed),
		"violations": digest(strings.Join(d.Violations, "\n")),
		"input":      digest(string(d.Input)),
	}
	optional(fields, "mix_id", d.MixID)
	optional(fields, "error", d.Error)
	return ledger.Leaf(ledger.KindDecision, d.ID, fields, d.EvaluatedAt)
}

// MixLeaf returns the leaf of a mix: its manifest hash and how it was made and, from LeafFieldsV2, its
// stats (what responses, reports and policies read) and the deepest generation and weakest basis
// that models trained on it inherit.
func MixLeaf(m *Mix, request []byte) ([]byte, error) {
	fields := map[string]string{
		"manifest_sha256": m.ManifestSHA256,
		"size":            strconv.Itoa(m.Size),
		"policy":          m.Policy.Name + "@" + strconv.Itoa(m.Policy.Version),
		"sha256":          m.Policy.SHA256,
		"decision_id":     m.DecisionID,
		"seed":            strconv.FormatInt(m.Seed, 10),
		"request":         digest(string(request)),
	}
	if m.LeafFields >= LeafFieldsV2 {
		// Stats are encoded again rather than hashed as stored: encoding/json writes maps in key order
		// and floats so that they decode to the same value, so equal stats give equal bytes.
		stats, err := json.Marshal(m.Stats)
		if err != nil {
			return nil, err
		}
		fields["stats"] = digest(string(stats))
		fields["max_generation"] = strconv.Itoa(m.MaxGeneration)
		fields["generation_basis"] = m.GenerationBasis
	}
	return ledger.Leaf(ledger.KindMix, m.ID, fields, m.CreatedAt)
}

// SetMixLineage sets the deepest generation and weakest basis of a new mix from its stats.
func SetMixLineage(m *Mix) {
	m.MaxGeneration = m.Stats.MaxGeneration
	m.GenerationBasis = BasisHuman
	for b := range m.Stats.Bases {
		m.GenerationBasis = WeakerBasis(m.GenerationBasis, b)
	}
}
