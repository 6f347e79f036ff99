package mixer

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pedigreeml/pedigree/policy"
	"github.com/pedigreeml/pedigree/registry"
)

// PolicyStore is what policy versions need from a store: writes, and reads of versions.
type PolicyStore interface {
	registry.Writer
	GetPolicyVersion(ctx context.Context, name string, version int) (*registry.PolicyVersion, error)
}

// Policies stores policy versions and hands out their compiled form, compiled once per process.
type Policies struct {
	Store PolicyStore
	Cache *policy.Cache
	Now   func() time.Time
}

// NewPolicies returns Policies over store with a fresh cache.
func NewPolicies(store PolicyStore) *Policies {
	return &Policies{Store: store, Cache: policy.NewCache(), Now: time.Now}
}

// Put checks module fully (policy.Compile: parse, translation of include, test_ rules) and stores it
// as the next version of name. Uploading the text of the latest version again creates nothing and
// returns that version with created false.
func (p *Policies) Put(ctx context.Context, name, module string) (*registry.PolicyVersion, bool, error) {
	compiled, err := p.Cache.Get(ctx, name, module)
	if err != nil {
		return nil, false, err
	}
	limits, err := json.Marshal(compiled.Limits())
	if err != nil {
		return nil, false, fmt.Errorf("policy limits: %w", err)
	}
	pv := &registry.PolicyVersion{Name: name, SHA256: compiled.SHA256(), Module: module, Limits: limits,
		CreatedAt: p.Now().UTC().Truncate(time.Millisecond)}
	created, err := registry.WritePolicyVersion(ctx, p.Store, pv)
	if err != nil {
		return nil, false, err
	}
	return pv, created, nil
}

// EnsureDefault stores the embedded default policy as version 1 of "default" when the registry has no
// policy of that name. Once it exists, "default" belongs to the operators: a version they upload is
// never replaced by the built-in text.
func (p *Policies) EnsureDefault(ctx context.Context) error {
	_, err := p.Store.GetPolicyVersion(ctx, policy.DefaultName, 0)
	if registry.ErrorCode(err) != registry.ENOTFOUND {
		return err
	}
	_, _, err = p.Put(ctx, policy.DefaultName, policy.DefaultModule())
	return err
}

// ParseRef splits "name" or "name@version"; version 0 means the latest.
func ParseRef(ref string) (string, int, error) {
	if ref == "" {
		return policy.DefaultName, 0, nil
	}
	name, v, found := strings.Cut(ref, "@")
	if !found {
		return name, 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return "", 0, registry.FieldErrorf("policy", "must be a name or name@version with a version from 1")
	}
	return name, n, nil
}

// Resolve returns the stored version that ref names and its compiled policy.
func (p *Policies) Resolve(ctx context.Context, ref string) (*policy.Policy, *registry.PolicyVersion, error) {
	name, version, err := ParseRef(ref)
	if err != nil {
		return nil, nil, err
	}
	pv, err := p.Store.GetPolicyVersion(ctx, name, version)
	if registry.ErrorCode(err) == registry.ENOTFOUND {
		return nil, nil, &registry.Error{Code: registry.EUNPROCESSABLE, Message: registry.ErrorMessage(err),
			Fields: []registry.FieldError{{Field: "policy", Message: registry.ErrorMessage(err)}}}
	}
	if err != nil {
		return nil, nil, err
	}
	compiled, err := p.Cache.Get(ctx, pv.Name, pv.Module)
	if err != nil {
		// A stored version always compiled once; failing now is the registry's fault, not the client's.
		return nil, nil, fmt.Errorf("compile stored policy %s@%d: %w", pv.Name, pv.Version, err)
	}
	return compiled, pv, nil
}
