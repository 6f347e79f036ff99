package storetest

import (
	"context"
	"strings"
	"testing"

	"github.com/pedigreeml/pedigree/ledger"
	"github.com/pedigreeml/pedigree/metrics"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/leaves"
)

// CheckUpgrade is the contract of a store opened on a registry that an earlier schema wrote (and so
// just migrated), whose log is signed with the key in keyDir: its log verifies, whole and record by
// record; a sample it held is still found by its identity (the fixture holds the human sample
// fixtureText);
// and new records, written with the new leaves next to the old ones, verify too.
// fixtureText is the text of a human sample in the schema-2 fixtures (what Text("idem") gave when they
// were written).
const fixtureText = "This is sample idem, written to test the registry with a handful of distinct words."

// fixtureModelText is the text of the fixtures' model sample (Text("answer") when they were written).
const fixtureModelText = "This is sample answer, written to test the registry with a handful of distinct words."

func CheckUpgrade(t *testing.T, s LoggedStore, keyDir string) {
	t.Helper()
	ctx := context.Background()
	signer, _, vkey, err := ledger.LoadOrCreateKey(keyDir, "pedigree-registry")
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
	again, err := svc.Ingest(ctx, []registry.NewSample{Human(fixtureText)}, nil)
	if err != nil || !again.Results[0].Duplicate {
		t.Fatalf("a sample stored before the upgrade, sent again: %+v, %v; want a duplicate", again, err)
	}
	// The model answer stored before the upgrade got its normalized key and band keys from the
	// migration: copies of it are refused as human text.
	for _, copy := range []string{strings.ToUpper(fixtureModelText), strings.Replace(fixtureModelText, "handful", "few", 1)} {
		if _, err := svc.Ingest(ctx, []registry.NewSample{Human(copy)}, nil); registry.ErrorCode(err) != registry.EPROVENANCECONFLICT {
			t.Fatalf("a copy of model text stored before the upgrade, as human: %v", err)
		}
	}
	if _, err := svc.Ingest(ctx, []registry.NewSample{Human(Text("after the upgrade"))},
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
