package leaves

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/pedigreeml/pedigree/ledger"
	"github.com/pedigreeml/pedigree/registry"
)

// PolicyVersion returns the leaf of a stored policy version. The module text itself is checked
// against the version's SHA-256 here, so that every derivation of the leaf (the audits, and the
// check before a version is evaluated) also finds a module edited in place.
func PolicyVersion(p *registry.PolicyVersion) ([]byte, error) {
	if sum := sha256.Sum256([]byte(p.Module)); hex.EncodeToString(sum[:]) != p.SHA256 {
		return nil, registry.Tampered("the module text of policy %s@%d no longer has its logged SHA-256", p.Name, p.Version)
	}
	return ledger.Leaf(ledger.KindPolicyVersion, p.Name+"@"+strconv.Itoa(p.Version), map[string]string{
		"name": p.Name, "version": strconv.Itoa(p.Version), "sha256": p.SHA256, "limits": digest(string(p.Limits)),
	}, p.CreatedAt)
}

// Decision returns the leaf of a policy decision: the policy version, the outcome, and digests of the
// messages and of the input the policy saw.
func Decision(d *registry.Decision) ([]byte, error) {
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

// Mix returns the leaf of a mix: its manifest hash and how it was made and, from FieldsV2, its
// stats (what responses, reports and policies read) and the deepest generation and weakest basis
// that models trained on it inherit.
func Mix(m *registry.Mix, request []byte) ([]byte, error) {
	fields := map[string]string{
		"manifest_sha256": m.ManifestSHA256,
		"size":            strconv.Itoa(m.Size),
		"policy":          m.Policy.Name + "@" + strconv.Itoa(m.Policy.Version),
		"sha256":          m.Policy.SHA256,
		"decision_id":     m.DecisionID,
		"seed":            strconv.FormatInt(m.Seed, 10),
		"request":         digest(string(request)),
	}
	if m.LeafFields >= FieldsV2 {
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

// MixLineage sets the deepest generation and weakest basis of a new mix from its stats.
func MixLineage(m *registry.Mix) {
	m.MaxGeneration = m.Stats.MaxGeneration
	m.GenerationBasis = registry.BasisHuman
	for b := range m.Stats.Bases {
		m.GenerationBasis = registry.WeakerBasis(m.GenerationBasis, b)
	}
}
