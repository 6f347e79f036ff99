package leaves

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/pedigreeml/pedigree/ledger"
	"github.com/pedigreeml/pedigree/registry"
)

// A Prover checks that leaf is the log's leaf at index, in a tree the registry trusts, and is told
// of faults found before any proof: the log's [ledger.Log.VerifyLeaf] and [ledger.Log.Fail], which
// mark the log failed so that the registry refuses writes until it is restarted and checked again.
type Prover interface {
	VerifyLeaf(ctx context.Context, index int64, leaf []byte) error
	// VerifyLeaves is VerifyLeaf for many leaves at once.
	VerifyLeaves(ctx context.Context, indexes []int64, leaves [][]byte) error
	Fail(cause error)
}

// Store is the whole store a registry serves from.
type Store = registry.Store

// Checked is a Store that checks each record at the point of use: every sample, model, key, policy
// version, mix, decision and idempotency record it returns has had its leaf re-derived from the
// stored row and proven in the log (a re-scored sample's latest re-score too), and an export's texts are checked against the mix's logged
// manifest as they stream. An edit made to the database under a running registry is so refused
// when the record is next read, not only at the next start. Listings, lineage graphs and candidate
// groups are not checked row by row: the start-up check and the continuous audit cover them.
//
// A mismatch is an error wrapping [registry.ErrTampered], and is reported to the prover. Proofs already made are remembered by log
// index and leaf hash: a leaf never changes once logged, so a record whose re-derived leaf is the
// one already proven needs no new proof.
type Checked struct {
	Store
	prover Prover

	mu     sync.Mutex
	proven map[int64][sha256.Size]byte
}

// proveChunk is how many exported samples are proven together.
const proveChunk = 256

// maxProven bounds the memory of proofs made: past it the memory starts again (about 50 bytes an
// entry).
const maxProven = 1 << 20

// NewChecked returns st checked against the log that prover reads.
func NewChecked(st Store, prover Prover) *Checked {
	return &Checked{Store: st, prover: prover, proven: make(map[int64][sha256.Size]byte)}
}

// prove checks that leaf (or the error deriving it) is the log's leaf at index.
func (c *Checked) prove(ctx context.Context, what string, index int64, leaf []byte, err error) error {
	if err != nil {
		if errors.Is(err, registry.ErrTampered) {
			c.prover.Fail(err)
			return err
		}
		return fmt.Errorf("%s: derive its log leaf: %w", what, err)
	}
	sum := sha256.Sum256(leaf)
	c.mu.Lock()
	done := c.proven[index] == sum
	c.mu.Unlock()
	if done {
		return nil
	}
	if err := c.prover.VerifyLeaf(ctx, index, leaf); err != nil {
		var ae *ledger.AuditError
		if errors.As(err, &ae) || errors.Is(err, registry.ErrTampered) {
			return registry.Tampered("%s, logged at index %d: %v", what, index, err)
		}
		return fmt.Errorf("%s: prove its log leaf: %w", what, err)
	}
	c.mu.Lock()
	if len(c.proven) >= maxProven {
		clear(c.proven)
	}
	c.proven[index] = sum
	c.mu.Unlock()
	return nil
}

// proveSamples proves the leaves of samples in one batch, skipping those proven before.
func (c *Checked) proveSamples(ctx context.Context, samples []*registry.Sample) error {
	var indexes []int64
	var leaves [][]byte
	var sums [][sha256.Size]byte
	for _, s := range samples {
		leaf, err := registry.SampleLeaf(s)
		if err != nil {
			return fmt.Errorf("sample %s: derive its log leaf: %w", s.ID, err)
		}
		sum := sha256.Sum256(leaf)
		c.mu.Lock()
		done := c.proven[s.LogIndex] == sum
		c.mu.Unlock()
		if !done {
			indexes, leaves, sums = append(indexes, s.LogIndex), append(leaves, leaf), append(sums, sum)
		}
	}
	if err := c.prover.VerifyLeaves(ctx, indexes, leaves); err != nil {
		var ae *ledger.AuditError
		if errors.As(err, &ae) {
			return registry.Tampered("a sample of the export, logged at index %d: %v", ae.Leaf, err)
		}
		return fmt.Errorf("prove the export's samples: %w", err)
	}
	c.mu.Lock()
	if len(c.proven)+len(indexes) >= maxProven {
		clear(c.proven)
	}
	for i, index := range indexes {
		c.proven[index] = sums[i]
	}
	c.mu.Unlock()
	return c.proveRescored(ctx, samples)
}

// proveRescored proves, for each re-scored sample, its latest re-score's leaf and that the sample's
// metrics are that re-score's: a re-scored sample's own leaf carries the metrics it was logged with,
// so its current ones rest on the re-score's leaf.
func (c *Checked) proveRescored(ctx context.Context, samples []*registry.Sample) error {
	var ids []string
	for _, s := range samples {
		if s.IngestMetrics != "" {
			ids = append(ids, s.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	latest, err := c.Store.LatestRescores(ctx, ids)
	if err != nil {
		return err
	}
	for _, s := range samples {
		if s.IngestMetrics == "" {
			continue
		}
		r := latest[s.ID]
		if err := registry.CheckLatestRescore(s, r); err != nil {
			return c.fail(err)
		}
		leaf, err := registry.RescoreLeaf(r)
		if err := c.prove(ctx, fmt.Sprintf("re-score %d of sample %s", r.Seq, s.ID), r.LogIndex, leaf, err); err != nil {
			if errors.Is(err, registry.ErrTampered) {
				c.prover.Fail(err)
			}
			return err
		}
	}
	return nil
}

// GetSamples implements registry.Store: each sample proven, in one batch.
func (c *Checked) GetSamples(ctx context.Context, ids []string) ([]*registry.Sample, error) {
	samples, err := c.Store.GetSamples(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, s := range samples {
		if err := registry.CheckDerived(s); err != nil {
			c.prover.Fail(err)
			return nil, err
		}
	}
	if err := c.proveSamples(ctx, samples); err != nil {
		if errors.Is(err, registry.ErrTampered) {
			c.prover.Fail(err)
		}
		return nil, err
	}
	return samples, nil
}

// Resolve implements registry.Store: the generations that new samples and models derive theirs from
// are read from proven records — the referenced samples in one batch, each model by GetModel — so
// that an edited parent cannot pass its edit on to a child whose leaf would then vouch for it.
func (c *Checked) Resolve(ctx context.Context, sampleIDs, modelRefs []string) (*registry.Resolution, error) {
	res, err := c.Store.Resolve(ctx, sampleIDs, modelRefs)
	if err != nil {
		return nil, err
	}
	if err := c.proveFacts(ctx, res.Samples); err != nil {
		return nil, err
	}
	for ref, m := range res.Models {
		proven, err := c.GetModel(ctx, m.ID)
		if err != nil {
			return nil, err
		}
		res.Models[ref] = proven
	}
	return res, nil
}

// LookupExternal implements registry.Store: the samples found are proven, as Resolve's are, and
// each must have the external id it was found by; its generation and identity are the proven ones.
func (c *Checked) LookupExternal(ctx context.Context, keys []registry.ExternalKey) (map[registry.ExternalKey]registry.ExternalSample, error) {
	found, err := c.Store.LookupExternal(ctx, keys)
	if err != nil || len(found) == 0 {
		return found, err
	}
	byID, err := provenByID(ctx, c, found, func(e registry.ExternalSample) string { return e.ID })
	if err != nil {
		return nil, err
	}
	out := make(map[registry.ExternalKey]registry.ExternalSample, len(found))
	for k, e := range found {
		s, ok := byID[e.ID]
		if !ok {
			continue // gone since: unknown, not trusted
		}
		if s.Dataset != k.Dataset || s.ExternalID != k.ExternalID {
			return nil, c.fail(registry.Tampered("the external-id index names sample %s for %s, but its logged record has %s",
				s.ID, registry.Ref{Dataset: k.Dataset, ExternalID: k.ExternalID}, registry.Ref{Dataset: s.Dataset, ExternalID: s.ExternalID}))
		}
		out[k] = registry.ExternalSample{ID: s.ID, Identity: registry.Identity(s),
			GenerationFact: registry.GenerationFact{Generation: s.Generation, Basis: s.GenerationBasis}}
	}
	return out, nil
}

// Identities implements registry.Store: each sample found is proven and must have the identity it
// was found by.
func (c *Checked) Identities(ctx context.Context, identities []string) (map[string]string, error) {
	found, err := c.Store.Identities(ctx, identities)
	if err != nil || len(found) == 0 {
		return found, err
	}
	byID, err := provenByID(ctx, c, found, func(id string) string { return id })
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(found))
	for ident, id := range found {
		s, ok := byID[id]
		if !ok {
			continue
		}
		if registry.Identity(s) != ident {
			return nil, c.fail(registry.Tampered("the identity index names sample %s for a record its logged text and provenance do not make", s.ID))
		}
		out[ident] = id
	}
	return out, nil
}

// provenByID reads the samples that found names, proven in one batch.
func provenByID[K comparable, V any](ctx context.Context, c *Checked, found map[K]V, id func(V) string) (map[string]*registry.Sample, error) {
	ids := make([]string, 0, len(found))
	for _, v := range found {
		ids = append(ids, id(v))
	}
	samples, err := c.GetSamples(ctx, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*registry.Sample, len(samples))
	for _, s := range samples {
		byID[s.ID] = s
	}
	return byID, nil
}

// fail reports a mismatch to the prover and returns it.
func (c *Checked) fail(err error) error {
	c.prover.Fail(err)
	return err
}

// proveFacts replaces each sample's generation fact with the one its proven record holds.
func (c *Checked) proveFacts(ctx context.Context, facts map[string]registry.GenerationFact) error {
	if len(facts) == 0 {
		return nil
	}
	ids := make([]string, 0, len(facts))
	for id := range facts {
		ids = append(ids, id)
	}
	samples, err := c.GetSamples(ctx, ids)
	if err != nil {
		return err
	}
	clear(facts) // a sample gone since is unknown, not trusted
	for _, s := range samples {
		facts[s.ID] = registry.GenerationFact{Generation: s.Generation, Basis: s.GenerationBasis}
	}
	return nil
}

// Lineage implements registry.Store: every node of the graph is proven (its samples in one batch),
// and its origin, model and generation, and every edge, must be what the proven samples say.
func (c *Checked) Lineage(ctx context.Context, id, direction string, maxDepth, maxNodes int) (*registry.Lineage, error) {
	l, err := c.Store.Lineage(ctx, id, direction, maxDepth, maxNodes)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(l.Nodes))
	for i, n := range l.Nodes {
		ids[i] = n.ID
	}
	samples, err := c.GetSamples(ctx, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*registry.Sample, len(samples))
	for _, s := range samples {
		byID[s.ID] = s
	}
	fail := func(format string, args ...any) error {
		err := registry.Tampered(format, args...)
		c.prover.Fail(err)
		return err
	}
	for _, n := range l.Nodes {
		s, ok := byID[n.ID]
		if !ok {
			return nil, fail("lineage node %s has no sample", n.ID)
		}
		if n.Origin != s.Origin || n.Model != s.Model || n.Generation != s.Generation {
			return nil, fail("lineage node %s differs from its logged sample", n.ID)
		}
	}
	for _, e := range l.Edges {
		child, ok := byID[e.To]
		if !ok || !slices.Contains(child.Parents, e.From) {
			return nil, fail("the lineage edge from %s to %s is not in the logged sample's parents", e.From, e.To)
		}
		if err := registry.CheckEdge(child, e.From, e.Kind); err != nil {
			c.prover.Fail(err)
			return nil, err
		}
	}
	return l, nil
}

// GetSample implements registry.Store.
func (c *Checked) GetSample(ctx context.Context, id string) (*registry.Sample, error) {
	s, err := c.Store.GetSample(ctx, id)
	if errors.Is(err, registry.ErrTampered) { // an edge whose kind contradicts the logged prompt
		c.prover.Fail(err)
	}
	if err != nil {
		return nil, err
	}
	if err := registry.CheckDerived(s); err != nil {
		c.prover.Fail(err)
		return nil, err
	}
	leaf, err := registry.SampleLeaf(s)
	if err := c.prove(ctx, "sample "+s.ID, s.LogIndex, leaf, err); err != nil {
		return s, err
	}
	return s, c.proveRescored(ctx, []*registry.Sample{s})
}

// GetModel implements registry.Store.
func (c *Checked) GetModel(ctx context.Context, ref string) (*registry.Model, error) {
	m, err := c.Store.GetModel(ctx, ref)
	if err != nil {
		return nil, err
	}
	leaf, err := registry.ModelLeaf(m)
	return m, c.prove(ctx, "model "+m.ID, m.LogIndex, leaf, err)
}

// GetKey implements registry.Store. A revoked key is returned unchecked: it authorizes nothing. A
// key revoked in the log but not in its row is found by the audits, which claim every leaf.
func (c *Checked) GetKey(ctx context.Context, id string) (*registry.APIKey, error) {
	k, err := c.Store.GetKey(ctx, id)
	if err != nil || k.RevokedAt != nil {
		return k, err
	}
	leaf, err := registry.KeyCreatedLeaf(k)
	return k, c.prove(ctx, "key "+k.ID, k.LogIndex, leaf, err)
}

// GetPolicyVersion implements registry.MixStore: the module about to be evaluated is the one logged.
func (c *Checked) GetPolicyVersion(ctx context.Context, name string, version int) (*registry.PolicyVersion, error) {
	p, err := c.Store.GetPolicyVersion(ctx, name, version)
	if err != nil {
		return nil, err
	}
	leaf, err := registry.PolicyVersionLeaf(p)
	return p, c.prove(ctx, fmt.Sprintf("policy %s@%d", p.Name, p.Version), p.LogIndex, leaf, err)
}

// GetDisclosure implements registry.DisclosureStore: the disclosure a summary states is the one
// logged.
func (c *Checked) GetDisclosure(ctx context.Context, modelID string, version int) (*registry.Disclosure, error) {
	d, err := c.Store.GetDisclosure(ctx, modelID, version)
	if errors.Is(err, registry.ErrTampered) {
		c.prover.Fail(err)
	}
	if err != nil {
		return nil, err
	}
	leaf, err := registry.DisclosureLeaf(d)
	return d, c.prove(ctx, fmt.Sprintf("disclosure %s@%d", d.ModelID, d.Version), d.LogIndex, leaf, err)
}

// GetDecision implements registry.MixStore.
func (c *Checked) GetDecision(ctx context.Context, id string) (*registry.Decision, error) {
	d, err := c.Store.GetDecision(ctx, id)
	if err != nil {
		return nil, err
	}
	leaf, err := registry.DecisionLeaf(d)
	return d, c.prove(ctx, "decision "+d.ID, d.LogIndex, leaf, err)
}

// GetMix implements registry.MixStore.
func (c *Checked) GetMix(ctx context.Context, id string) (*registry.Mix, error) {
	m, err := c.Store.GetMix(ctx, id)
	if err != nil {
		return nil, err
	}
	return m, c.checkMix(ctx, m)
}

func (c *Checked) checkMix(ctx context.Context, m *registry.Mix) error {
	request, err := m.RequestDocument()
	if err != nil {
		return err
	}
	leaf, err := registry.MixLeaf(m, request)
	return c.prove(ctx, "mix "+m.ID, m.LogIndex, leaf, err)
}

// Idempotent implements registry.Store: a replay answers with the records the logged request did.
func (c *Checked) Idempotent(ctx context.Context, scope, key string) (*registry.IdempotentResult, error) {
	r, err := c.Store.Idempotent(ctx, scope, key)
	if err != nil || r == nil {
		return r, err
	}
	leaf, err := registry.IdempotencyLeaf(&registry.Idempotency{Scope: scope, Key: key, RequestSHA256: r.RequestSHA256}, r, r.CreatedAt)
	return r, c.prove(ctx, "an idempotency record", r.LogIndex, leaf, err)
}

// ExportMix implements registry.MixStore: the mix is checked first, then its samples as they stream
// (see [ExportManifest]), each proven in the log as GetSample proves one, so that every column an
// export carries — licence, source, origin, model, generation, parents — is the logged one. A
// mismatch ends the stream with an error, so a client reading it sees an incomplete export, never a
// silently altered one.
func (c *Checked) ExportMix(ctx context.Context, id string, fn func(*registry.Sample) error) error {
	m, err := c.GetMix(ctx, id)
	if err != nil {
		return err
	}
	// Samples are proven a chunk at a time, and handed on only once proven.
	var chunk []*registry.Sample
	flush := func() error {
		if err := c.proveSamples(ctx, chunk); err != nil {
			return err
		}
		for _, s := range chunk {
			if err := fn(s); err != nil {
				return err
			}
		}
		chunk = chunk[:0]
		return nil
	}
	err = ExportManifest(ctx, c.Store, m, func(s *registry.Sample) error {
		if chunk = append(chunk, s); len(chunk) == proveChunk {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if errors.Is(err, registry.ErrTampered) {
		c.prover.Fail(err)
	}
	return err
}

// ExportManifest streams the samples of mix m from st, checking each text against its content hash
// and, at the end, the ids and content hashes streamed against the mix's logged manifest hash. The
// audits run it with a no-op fn, so that a manifest edited in the database is found too.
func ExportManifest(ctx context.Context, st registry.MixStore, m *registry.Mix, fn func(*registry.Sample) error) error {
	manifest := registry.NewManifestHash()
	err := st.ExportMix(ctx, m.ID, func(s *registry.Sample) error {
		if err := registry.CheckDerived(s); err != nil {
			return err
		}
		if err := manifest.Add(s.ID, s.ContentSHA256); err != nil {
			return err
		}
		return fn(s)
	})
	if err != nil {
		return err
	}
	if got := manifest.Sum(); got != m.ManifestSHA256 {
		return registry.Tampered("the samples of mix %s hash to manifest %s; the log holds %s", m.ID, got, m.ManifestSHA256)
	}
	return nil
}
