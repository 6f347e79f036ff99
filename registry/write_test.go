package registry_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pedigreeml/pedigree/registry"
)

// memTx is an in-memory registry.Tx, for the write rules' unit tests; the store contract suite runs
// the same rules over the real stores.
type memTx struct {
	registry.BatchTx // unused by these tests
	idem             map[string]*registry.IdempotentResult
	models           map[string]*registry.Model // by id and by name@version
	keys             map[string]*registry.APIKey
	policies         map[string][]*registry.PolicyVersion
	decisions        []*registry.Decision
	mixes            []*registry.Mix
	next             int64 // the next log index
}

func newMemTx() *memTx {
	return &memTx{idem: map[string]*registry.IdempotentResult{}, models: map[string]*registry.Model{},
		keys: map[string]*registry.APIKey{}, policies: map[string][]*registry.PolicyVersion{}}
}

// Write implements registry.Writer: fn's changes stay only if it returns nil, as a transaction's.
func (m *memTx) Write(ctx context.Context, fn func(registry.Tx) error) error {
	saved := *m
	if err := fn(m); err != nil {
		*m = saved
		return err
	}
	return nil
}

func (m *memTx) Idempotent(_ context.Context, scope, key string) (*registry.IdempotentResult, error) {
	return m.idem[scope+"/"+key], nil
}

func (m *memTx) WriteIdempotent(_ context.Context, idem *registry.Idempotency, r registry.IdempotentResult) error {
	r.RequestSHA256, r.LogIndex = idem.RequestSHA256, m.append()
	m.idem = clone(m.idem)
	m.idem[idem.Scope+"/"+idem.Key] = &r
	return nil
}

func (m *memTx) GetModel(_ context.Context, ref string) (*registry.Model, error) {
	if x, ok := m.models[ref]; ok {
		return x, nil
	}
	return nil, registry.Errorf(registry.ENOTFOUND, "model %s not found", ref)
}

func (m *memTx) WriteModel(_ context.Context, x *registry.Model) error {
	x.LogIndex = m.append()
	m.models = clone(m.models)
	m.models[x.ID], m.models[x.Ref()] = x, x
	return nil
}

func (m *memTx) GetKey(_ context.Context, id string) (*registry.APIKey, error) {
	if k, ok := m.keys[id]; ok {
		return k, nil
	}
	return nil, registry.Errorf(registry.ENOTFOUND, "key %s not found", id)
}

func (m *memTx) WriteKey(_ context.Context, k *registry.APIKey) error {
	k.LogIndex = m.append()
	m.keys = clone(m.keys)
	m.keys[k.ID] = k
	return nil
}

func (m *memTx) WriteRevocation(_ context.Context, k *registry.APIKey, at time.Time) error {
	idx := m.append()
	k.RevokedAt, k.RevokedLogIndex = &at, &idx
	return nil
}

func (m *memTx) LatestPolicyVersion(_ context.Context, name string) (*registry.PolicyVersion, error) {
	vs := m.policies[name]
	if len(vs) == 0 {
		return nil, registry.Errorf(registry.ENOTFOUND, "policy %s not found", name)
	}
	return vs[len(vs)-1], nil
}

func (m *memTx) WritePolicyVersion(_ context.Context, p *registry.PolicyVersion) error {
	p.LogIndex = m.append()
	m.policies = clone(m.policies)
	m.policies[p.Name] = append(m.policies[p.Name][:len(m.policies[p.Name]):len(m.policies[p.Name])], p)
	return nil
}

func (m *memTx) WriteDecision(_ context.Context, d *registry.Decision) error {
	d.LogIndex = m.append()
	m.decisions = append(m.decisions[:len(m.decisions):len(m.decisions)], d)
	return nil
}

func (m *memTx) WriteMix(_ context.Context, x *registry.Mix, _ registry.Manifest) error {
	x.LogIndex = m.append()
	m.mixes = append(m.mixes[:len(m.mixes):len(m.mixes)], x)
	return nil
}

func (m *memTx) append() int64 { m.next++; return m.next - 1 }

func clone[K comparable, V any](in map[K]V) map[K]V {
	out := make(map[K]V, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}

func TestWriteModel(t *testing.T) {
	ctx := context.Background()
	tx := newMemTx()
	idem := &registry.Idempotency{Scope: "k", Key: "m1", RequestSHA256: "r1"}
	first := &registry.Model{ID: "id-1", Name: "m", Version: "1"}
	if err := registry.WriteModel(ctx, tx, first, idem); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		m    *registry.Model
		idem *registry.Idempotency
		code string
		want string // the id answered
	}{
		{"ReplayAnswersTheFirst", &registry.Model{ID: "id-2", Name: "m", Version: "1"}, idem, "", "id-1"},
		{"ErrKeyReusedForAnotherRequest", &registry.Model{ID: "id-3", Name: "n", Version: "1"},
			&registry.Idempotency{Scope: "k", Key: "m1", RequestSHA256: "other"}, registry.EUNPROCESSABLE, ""},
		{"ErrNameTaken", &registry.Model{ID: "id-4", Name: "m", Version: "1"}, nil, registry.ECONFLICT, ""},
		{"NewVersion", &registry.Model{ID: "id-5", Name: "m", Version: "2"}, nil, "", "id-5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := tx.next
			err := registry.WriteModel(ctx, tx, tc.m, tc.idem)
			if got := registry.ErrorCode(err); got != tc.code {
				t.Fatalf("error %v, want code %q", err, tc.code)
			}
			if tc.code != "" {
				if tx.next != before {
					t.Fatal("a refused write appended to the log")
				}
				return
			}
			if tc.m.ID != tc.want {
				t.Fatalf("answered model %s, want %s", tc.m.ID, tc.want)
			}
		})
	}
	if err := registry.WriteModel(ctx, tx, &registry.Model{ID: "id-6", Name: "m", Version: "1"}, nil); registry.ErrorCode(err) != registry.ECONFLICT {
		t.Fatalf("taken name: %v", err)
	} else if e := err.(*registry.Error); e.Existing != "id-1" {
		t.Fatalf("the conflict names %q, want the model holding the name", e.Existing)
	}
}

func TestWritePolicyVersion(t *testing.T) {
	ctx := context.Background()
	tx := newMemTx()
	put := func(name, sha string) (int, bool) {
		t.Helper()
		p := &registry.PolicyVersion{Name: name, SHA256: sha}
		created, err := registry.WritePolicyVersion(ctx, tx, p)
		if err != nil {
			t.Fatal(err)
		}
		return p.Version, created
	}
	for i, tc := range []struct {
		name, sha string
		version   int
		created   bool
	}{
		{"p", "a", 1, true},
		{"p", "b", 2, true},
		{"p", "b", 2, false}, // the latest text again: nothing new
		{"p", "a", 3, true},  // back to an older text: a new version
		{"q", "a", 1, true},  // numbered per policy
	} {
		if v, created := put(tc.name, tc.sha); v != tc.version || created != tc.created {
			t.Errorf("%d: %s %s → version %d (created %v), want %d (%v)", i, tc.name, tc.sha, v, created, tc.version, tc.created)
		}
	}
}

func TestRevokeKey(t *testing.T) {
	ctx := context.Background()
	tx := newMemTx()
	if err := registry.WriteKey(ctx, tx, &registry.APIKey{ID: "k1", Role: registry.RoleIngest}); err != nil {
		t.Fatal(err)
	}
	at := time.UnixMilli(1_700_000_000_000).UTC()
	k, err := registry.RevokeKey(ctx, tx, "k1", at)
	if err != nil || k.RevokedAt == nil || !k.RevokedAt.Equal(at) {
		t.Fatalf("revoke: %+v %v", k, err)
	}
	logged := tx.next
	again, err := registry.RevokeKey(ctx, tx, "k1", at.Add(time.Hour))
	if err != nil || !again.RevokedAt.Equal(at) || tx.next != logged {
		t.Fatalf("revoking twice changed the key or the log: %+v %v (log %d → %d)", again, err, logged, tx.next)
	}
	if _, err := registry.RevokeKey(ctx, tx, "missing", at); registry.ErrorCode(err) != registry.ENOTFOUND {
		t.Fatalf("unknown key: %v", err)
	}
}

func TestWriteMix(t *testing.T) {
	ctx := context.Background()
	tx := newMemTx()
	idem := &registry.Idempotency{Scope: "k", Key: "mix", RequestSHA256: "r"}
	d, m := &registry.Decision{ID: "d1", Allowed: true}, &registry.Mix{ID: "m1"}
	if err := registry.WriteMix(ctx, tx, d, m, registry.ManifestOf([]string{"s"}), idem); err != nil {
		t.Fatal(err)
	}
	if d.MixID != "m1" || len(tx.mixes) != 1 || tx.idem["k/mix"] == nil || fmt.Sprint(tx.idem["k/mix"].IDs) != "[d1 m1]" {
		t.Fatalf("allowed mix: decision %+v, mixes %d, idempotency %+v", d, len(tx.mixes), tx.idem["k/mix"])
	}
	refused := &registry.Decision{ID: "d2"}
	if err := registry.WriteMix(ctx, tx, refused, nil, nil, nil); err != nil || refused.MixID != "" || len(tx.mixes) != 1 {
		t.Fatalf("a refused mix stores its decision alone: %+v %v", refused, err)
	}
	for _, tc := range []struct {
		name string
		idem *registry.Idempotency
		code string
	}{
		{"ErrCompletedMeanwhile", idem, registry.ECONFLICT},
		{"ErrKeyReusedForAnotherRequest", &registry.Idempotency{Scope: "k", Key: "mix", RequestSHA256: "other"}, registry.EUNPROCESSABLE},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := tx.next
			err := registry.WriteMix(ctx, tx, &registry.Decision{ID: "d3"}, &registry.Mix{ID: "m3"}, nil, tc.idem)
			if registry.ErrorCode(err) != tc.code || tx.next != before {
				t.Fatalf("%v (log %d → %d), want code %s and nothing written", err, before, tx.next, tc.code)
			}
		})
	}
}
