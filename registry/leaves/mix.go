package leaves

import (
	"strconv"
	"strings"

	"github.com/pedigreeml/pedigree/ledger"
	"github.com/pedigreeml/pedigree/registry"
)

// PolicyVersion returns the leaf of a stored policy version.
func PolicyVersion(p *registry.PolicyVersion) ([]byte, error) {
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

// Mix returns the leaf of a mix: its manifest hash and how it was made.
func Mix(m *registry.Mix, request []byte) ([]byte, error) {
	return ledger.Leaf(ledger.KindMix, m.ID, map[string]string{
		"manifest_sha256": m.ManifestSHA256,
		"size":            strconv.Itoa(m.Size),
		"policy":          m.Policy.Name + "@" + strconv.Itoa(m.Policy.Version),
		"sha256":          m.Policy.SHA256,
		"decision_id":     m.DecisionID,
		"seed":            strconv.FormatInt(m.Seed, 10),
		"request":         digest(string(request)),
	}, m.CreatedAt)
}
