package ledger_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/pedigreeml/pedigree/ledger"
)

// Example shows a store's use of the package: append in a transaction, sign a checkpoint, serve a
// proof, verify it offline, and audit at start-up. MemoryHashes stands in for the store's tables.
func Example() {
	dataDir, err := os.MkdirTemp("", "ledger-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dataDir)
	const origin = "pedigree/registry.example"
	signer, _, verifierKey, err := ledger.LoadOrCreateKey(dataDir, origin)
	if err != nil {
		log.Fatal(err)
	}

	// One write transaction: size read under the sequencer lock, leaves appended, rows inserted.
	store := new(ledger.MemoryHashes)
	a := ledger.NewAppender(store.Size(), store)
	var leaves [][]byte
	for _, id := range []string{"s1", "s2", "s3"} {
		leaf, err := ledger.Leaf(ledger.KindSample, id, map[string]string{"origin": "human"}, time.Unix(1_800_000_000, 0))
		if err != nil {
			log.Fatal(err)
		}
		index, err := a.Append(leaf) // the record's log_index
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(id, "log_index", index)
		leaves = append(leaves, leaf)
	}
	if err := store.Commit(leaves, a.Hashes()); err != nil { // INSERT leaves and hashes
		log.Fatal(err)
	}

	// GET /v1/log/checkpoint.
	tree, err := store.Tree()
	if err != nil {
		log.Fatal(err)
	}
	checkpoint, err := ledger.SignCheckpoint(signer, origin, tree)
	if err != nil {
		log.Fatal(err)
	}

	// GET /v1/log/proof/inclusion?index=1&size=3, then the auditor's check.
	proof, err := ledger.ProveInclusion(store, tree.N, 1)
	if err != nil {
		log.Fatal(err)
	}
	_, signed, err := ledger.OpenCheckpoint(checkpoint, verifierKey)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("inclusion:", ledger.CheckInclusion(proof, signed, 1, leaves[1]))

	// Start-up self-check against the last signed checkpoint.
	_, err = ledger.Audit(context.Background(), store, store, signed)
	fmt.Println("audit:", err)
	// Output:
	// s1 log_index 0
	// s2 log_index 1
	// s3 log_index 2
	// inclusion: <nil>
	// audit: <nil>
}
