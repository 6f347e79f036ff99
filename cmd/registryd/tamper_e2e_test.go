package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/pedigreeml/pedigree/client"
	"github.com/pedigreeml/pedigree/policy"
	"github.com/pedigreeml/pedigree/registry"
)

// TestEditsUnderARunningServerAreCaughtAtUse edits the database of a running registry, as an
// attacker with the database file would, and requires the registry to refuse to serve what was
// edited when it next reads it, and from then on to refuse writes and fail its readiness.
func TestEditsUnderARunningServerAreCaughtAtUse(t *testing.T) {
	const permissive = "package pedigree.mix\n\nlimits := {}\n"
	for _, tc := range []struct {
		name string
		// edit returns the statements; use makes the request that reads what was edited.
		edit func(f *tamperFixture) []string
		use  func(ctx context.Context, f *tamperFixture) error
	}{{
		name: "EditedText",
		edit: func(f *tamperFixture) []string {
			return []string{fmt.Sprintf("UPDATE samples SET text = 'rewritten' WHERE id = '%s'", f.sample.ID)}
		},
		use: func(ctx context.Context, f *tamperFixture) error {
			_, err := f.auditor.GetSample(ctx, f.sample.ID)
			return err
		},
	}, {
		name: "RelabelledOrigin",
		edit: func(f *tamperFixture) []string {
			return []string{fmt.Sprintf("UPDATE samples SET generation = 0, generation_basis = 'human' WHERE id = '%s'", f.answer.ID)}
		},
		use: func(ctx context.Context, f *tamperFixture) error {
			_, err := f.auditor.GetSample(ctx, f.answer.ID)
			return err
		},
	}, {
		// A permissive module in place of the default policy's must not decide a mix.
		name: "SwappedPolicyModule",
		edit: func(f *tamperFixture) []string {
			return []string{fmt.Sprintf("UPDATE policy_versions SET module = '%s' WHERE name = '%s'", permissive, policy.DefaultName)}
		},
		use: func(ctx context.Context, f *tamperFixture) error {
			_, _, err := f.ingest.Do(ctx, client.Request{Method: http.MethodPost, Path: "/v1/mixes",
				Body: []byte(`{"size":10,"strategy":{"name":"random"}}`), ContentType: "application/json"})
			return err
		},
	}, {
		// A hash planted on the admin key's row must not let a made-up key in.
		name: "PlantedKeyHash",
		edit: func(f *tamperFixture) []string {
			sum := sha256.Sum256([]byte(f.forged))
			return []string{fmt.Sprintf("UPDATE api_keys SET hash = X'%s' WHERE role = 'admin'", hex.EncodeToString(sum[:]))}
		},
		use: func(ctx context.Context, f *tamperFixture) error {
			_, err := f.srv.Client(f.forged).ListKeys(ctx, "", 10)
			return err
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := newTamperFixture(t)
			if err := tc.use(ctx, f); client.StatusOf(err) == http.StatusInternalServerError {
				t.Fatalf("before the edit: %v", err)
			}
			execSQL(t, f.srv.DataDir, tc.edit(f)...)
			err := tc.use(ctx, f)
			if client.StatusOf(err) != http.StatusInternalServerError {
				t.Fatalf("after the edit the registry answers %v; want a 500 problem", err)
			}
			if !strings.Contains(f.srv.stderr.String(), registry.ErrTampered.Error()) {
				t.Fatalf("the server's log does not report the tampering:\n%s", f.srv.stderr)
			}
			// From then on it is not ready and refuses writes.
			if err := f.srv.Client("").Ready(ctx); err == nil {
				t.Fatal("/readyz still passes")
			}
			_, err = f.ingest.CreateSample(ctx, human("written after tampering was found"), "")
			if client.StatusOf(err) != http.StatusServiceUnavailable {
				t.Fatalf("a sample written after tampering was found: %v; want 503", err)
			}
			_, err = f.ingest.CreateModel(ctx, registry.NewModel{Name: "late", Version: "1"}, "")
			if client.StatusOf(err) != http.StatusServiceUnavailable {
				t.Fatalf("a model registered after tampering was found: %v; want 503", err)
			}
		})
	}
}

// tamperFixture is a running registry with a human sample, a model's answer and keys.
type tamperFixture struct {
	srv             *testServer
	ingest, auditor *client.Client
	sample, answer  *registry.Sample
	forged          string // a key of the admin key's id with a secret the attacker chose
}

func newTamperFixture(t *testing.T) *tamperFixture {
	t.Helper()
	ctx := context.Background()
	srv := startServer(t, "", "--audit-interval", "0")
	f := &tamperFixture{srv: srv, ingest: srv.Client(srv.Key(registry.RoleIngest)), auditor: srv.Client(srv.Key(registry.RoleAuditor))}
	prompt, err := f.ingest.CreateSample(ctx, human("Write one sentence about the sea, please."), "")
	if err != nil {
		t.Fatal(err)
	}
	m, err := f.ingest.CreateModel(ctx, registry.NewModel{Name: "teacher", Version: "1"}, "")
	if err != nil {
		t.Fatal(err)
	}
	answer, err := f.ingest.CreateSample(ctx, modelOut("The sea keeps its own counsel under a grey sky.", m.Ref(), prompt.ID), "")
	if err != nil {
		t.Fatal(err)
	}
	f.sample, f.answer = &prompt.Sample, &answer.Sample
	// The admin key's id is in its text: pdg_<id hex>_<secret>.
	id := strings.SplitN(strings.TrimPrefix(srv.AdminKey, "pdg_"), "_", 2)[0]
	f.forged = "pdg_" + id + "_" + strings.Repeat("A", 43)
	return f
}
