package postgres_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pedigreeml/pedigree/ledger"
	"github.com/pedigreeml/pedigree/metrics"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/leaves"
	"github.com/pedigreeml/pedigree/registry/postgres/pgtest"
	"github.com/pedigreeml/pedigree/registry/storetest"
)

// TestUpgradeFromSchema2 loads a registry written by an earlier schema (testdata/schema2) into a new
// schema, opens it, which migrates it, and requires its log to verify, whole and record by record,
// before and after new records are written under the new schema.
func TestUpgradeFromSchema2(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewSchema(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	schema := u.Query().Get("search_path")
	dump, err := os.ReadFile(filepath.Join("testdata", "schema2", "schema2.sql"))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	// Without arguments the dump's statements go as they are, in one round trip.
	if _, err := conn.Exec(ctx, strings.ReplaceAll(string(dump), "{{schema}}", schema)); err != nil {
		t.Fatalf("load the schema 2 registry: %v", err)
	}
	conn.Close(ctx)

	dir := t.TempDir()
	for _, name := range []string{"log.key", "log.pub"} {
		b, err := os.ReadFile(filepath.Join("testdata", "schema2", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s := pgtest.Open(t, dsn)
	signer, _, vkey, err := ledger.LoadOrCreateKey(dir, "pedigree-registry")
	if err != nil {
		t.Fatal(err)
	}
	log := ledger.NewLog(s, signer, vkey)
	res, err := log.StartupCheck(ctx, s.RecordLeaves, leaves.RecordLeaf(s))
	if err != nil {
		t.Fatalf("the upgraded registry does not verify: %v", err)
	}
	if res.Tree.N < 10 {
		t.Fatalf("the upgraded log holds %d leaves", res.Tree.N)
	}

	svc := &registry.Service{Store: s, Scorer: registry.MetricsScorer{Scorer: &metrics.Scorer{}}}
	// A sample stored before the upgrade is still found by its identity: re-sent, it is a duplicate.
	again, err := svc.Ingest(ctx, []registry.NewSample{storetest.Human(storetest.Text("idem"))}, nil)
	if err != nil || !again.Results[0].Duplicate {
		t.Fatalf("a sample stored before the upgrade, sent again: %+v, %v; want a duplicate", again, err)
	}
	if _, err := svc.Ingest(ctx, []registry.NewSample{storetest.Human(storetest.Text("after the upgrade"))},
		&registry.Idempotency{Scope: "s", Key: "new", RequestSHA256: "r"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.CreateKey(ctx, registry.RoleAuditor); err != nil {
		t.Fatal(err)
	}
	if _, _, err := log.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	tree, err := log.SelfCheck(ctx, s.RecordLeaves)
	if err != nil {
		t.Fatalf("after writing under the new schema: %v", err)
	}
	if tree.N != res.Tree.N+3 { // a sample, its idempotency record, a key
		t.Fatalf("log of %d leaves after three records; it held %d", tree.N, res.Tree.N)
	}
}
