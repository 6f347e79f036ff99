package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/pedigreeml/pedigree/ledger"
	"github.com/pedigreeml/pedigree/registry"
)

// RunInstances runs the contract of several instances writing to one database at once, as
// registryd instances behind a load balancer do on PostgreSQL, and as a registryd command does on
// the SQLite file of a running server: each store's transactions serialise every rule (versions,
// duplicates, idempotency) and the log's sequence across instances, not only within one.
func RunInstances(t *testing.T, b Backend) {
	t.Run("PolicyVersionsAcrossInstances", func(t *testing.T) { testPolicyVersionsAcrossInstances(t, b) })
	t.Run("ConcurrentWritersKeepTheLogComplete", func(t *testing.T) { testConcurrentWriters(t, b) })
	t.Run("ConcurrentInstancesSequenceTheLog", func(t *testing.T) { testInstancesSequenceTheLog(t, b) })
	t.Run("ConcurrentDuplicatesAcrossInstances", func(t *testing.T) { testDuplicatesAcrossInstances(t, b) })
}

// instances opens n stores on one new database and returns them with its location.
func instances(t *testing.T, b Backend, n int) ([]LoggedStore, string) {
	first, location := b.New(t)
	out := []LoggedStore{first}
	for len(out) < n {
		out = append(out, b.Reopen(t, location))
	}
	return out, location
}

// testPolicyVersionsAcrossInstances uploads versions of one policy from two instances on one
// database at once: every upload gets its own version number, 1 … n, and its own log index.
func testPolicyVersionsAcrossInstances(t *testing.T, b Backend) {
	stores, location := instances(t, b, 2)
	const each = 8
	var mu sync.Mutex
	var versions []int
	var idx []int64
	var wg sync.WaitGroup
	errs := make(chan error, 2*each)
	for i, s := range stores {
		wg.Go(func() {
			for j := range each {
				module := fmt.Sprintf("m-%d-%d", i, j)
				p := &registry.PolicyVersion{Name: "shared", SHA256: moduleSHA256(module), Module: module,
					Limits: json.RawMessage(`{}`), CreatedAt: time.Now()}
				if _, err := registry.WritePolicyVersion(context.Background(), s, p); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				versions, idx = append(versions, p.Version), append(idx, p.LogIndex)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	sort.Ints(versions)
	for i, v := range versions {
		if v != i+1 {
			t.Fatalf("versions %v, want 1 … %d", versions, 2*each)
		}
	}
	wantGapless(t, b, location, stores[0], idx)
}

// testConcurrentWriters ingests batches on one instance while another saves mixes drawn from the
// pool on the same database, then checks that the log holds exactly the records at indexes 0..N-1
// and that the self-check passes on both instances: every record has its leaf, every leaf its
// record, and the tree verifies.
func testConcurrentWriters(t *testing.T, b Backend) {
	ctx := context.Background()
	stores, location := instances(t, b, 2)
	ingester, builder := stores[0], stores[1]
	h := NewHarness(t, ingester)
	pv := &registry.PolicyVersion{Name: "open", SHA256: digest(OpenPolicy), Module: OpenPolicy, Limits: json.RawMessage(`{}`),
		CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
	if _, err := registry.WritePolicyVersion(ctx, builder, pv); err != nil {
		t.Fatal(err)
	}
	indexes := []int64{pv.LogIndex}
	indexes = append(indexes, h.Ingest(Human(Text("seed")))[0].Sample.LogIndex)

	const mixes, minBatches, perBatch = 25, 20, 50
	var mixesDone atomic.Bool
	type outcome struct {
		indexes []int64
		err     error
	}
	ingested, built := make(chan outcome, 1), make(chan outcome, 1)
	go func() { // until the mixes are built, and at least minBatches batches
		var out outcome
		defer func() { ingested <- out }()
		for i := 0; i < minBatches || !mixesDone.Load(); i++ {
			batch := make([]registry.NewSample, perBatch)
			for j := range batch {
				batch[j] = Human(Text(fmt.Sprint("concurrent ", i, " ", j)))
			}
			res, err := h.Svc.Ingest(ctx, batch, nil)
			if err != nil {
				out.err = err
				return
			}
			for _, r := range res.Results {
				if r.Duplicate {
					out.err = fmt.Errorf("batch %d: sample %s reported as a duplicate", i, r.Sample.ID)
					return
				}
				out.indexes = append(out.indexes, r.Sample.LogIndex)
			}
		}
	}()
	go func() {
		var out outcome
		defer func() { mixesDone.Store(true); built <- out }()
		for i := range mixes {
			d, m, err := saveDrawnMix(ctx, builder, pv, 100, i)
			if err != nil {
				out.err = err
				return
			}
			out.indexes = append(out.indexes, d.LogIndex, m.LogIndex)
		}
	}()
	for _, c := range []chan outcome{ingested, built} {
		out := <-c
		if out.err != nil {
			t.Fatal(out.err)
		}
		indexes = append(indexes, out.indexes...)
	}
	wantGapless(t, b, location, builder, indexes)

	keyDir := t.TempDir()
	signer, _, vkey, err := ledger.LoadOrCreateKey(keyDir, "pedigree-test")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []LoggedStore{ingester, builder} {
		tree, err := ledger.NewLog(s, signer, vkey).SelfCheck(ctx, s.RecordLeaves)
		if err != nil {
			t.Fatal(err)
		}
		if tree.N != int64(len(indexes)) {
			t.Fatalf("self-check verified a log of %d leaves, want %d", tree.N, len(indexes))
		}
	}
}

// saveDrawnMix does what a mix build does to the store: it reads the whole pool, takes up to size
// samples in an order of the seed's, and saves the decision and the mix.
func saveDrawnMix(ctx context.Context, s LoggedStore, pv *registry.PolicyVersion, size, seed int) (*registry.Decision, *registry.Mix, error) {
	type drawn struct{ id, content string }
	var pool []drawn
	err := s.MixPool(ctx, registry.PoolQuery{Where: "TRUE"}, func(r *registry.PoolRow) error {
		pool = append(pool, drawn{r.ID, r.ContentSHA256})
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	slices.SortFunc(pool, func(a, b drawn) int { return strings.Compare(a.id, b.id) })
	rand.New(rand.NewPCG(uint64(seed), 1)).Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	pool = pool[:min(size, len(pool))]
	manifest := make([]string, len(pool))
	hash := registry.NewManifestHash()
	for i, d := range pool {
		manifest[i] = d.id
		if err := hash.Add(d.id, d.content); err != nil {
			return nil, nil, err
		}
	}
	req := registry.MixRequest{Policy: "open", Size: size, Seed: int64(seed), Strategy: registry.MixStrategy{Name: registry.StrategyRandom}}
	stats := registry.MixStats{Human: len(pool), Generations: map[string]int{"0": len(pool)}, Bases: map[string]int{registry.BasisHuman: len(pool)}}
	input, err := json.Marshal(mixSummary{Size: len(pool), Strategy: req.Strategy, Stats: stats, Request: req})
	if err != nil {
		return nil, nil, err
	}
	at := time.Now().UTC().Truncate(time.Millisecond)
	d := &registry.Decision{ID: newID(), Policy: pv.Ref(), Allowed: true, Violations: []string{}, Input: input, EvaluatedAt: at}
	m := &registry.Mix{ID: newID(), Policy: pv.Ref(), DecisionID: d.ID, Size: len(pool), Seed: req.Seed,
		Strategy: req.Strategy, Request: req, Stats: stats, ManifestSHA256: hash.Sum(), CreatedAt: at}
	return d, m, registry.WriteMix(ctx, s, d, m, registry.ManifestOf(manifest), nil)
}

// testInstancesSequenceTheLog has two instances on one database write concurrently; the log must
// hold every record once, at indexes 0..N-1, with the stored hashes of exactly that sequence of
// leaves.
func testInstancesSequenceTheLog(t *testing.T, b Backend) {
	stores, location := instances(t, b, 2)
	hs := []*Harness{NewHarness(t, stores[0]), NewHarness(t, stores[1])}
	const workers, batches, perBatch = 4, 50, 3
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, workers*batches)
	var mu sync.Mutex
	records := map[string]int64{} // record id → its log index as the store answered
	for w := range workers {
		h := hs[w%len(hs)]
		wg.Go(func() {
			for b := range batches {
				in := make([]registry.NewSample, perBatch)
				for i := range in {
					in[i] = Human(Text(fmt.Sprintf("w%d b%d s%d", w, b, i)))
				}
				res, err := h.Svc.Ingest(ctx, in, nil)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				for _, r := range res.Results {
					records[r.Sample.ID] = r.Sample.LogIndex
				}
				mu.Unlock()
				if b%10 == 0 { // other kinds of record interleave
					_, k, err := h.Svc.CreateKey(ctx, registry.RoleIngest)
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					records[k.ID] = k.LogIndex
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want := workers*batches*perBatch + workers*(batches/10)
	if len(records) != want {
		t.Fatalf("%d records, want %d", len(records), want)
	}

	all, err := stores[0].ReadLogLeaves(ctx, 0, want+1)
	if err != nil {
		t.Fatal(err)
	}
	var mem ledger.MemoryHashes
	for idx, leaf := range all {
		r, err := ledger.ParseLeaf(leaf)
		if err != nil {
			t.Fatalf("leaf %d: %v", idx, err)
		}
		if got, ok := records[r.ID]; !ok || got != int64(idx) {
			t.Fatalf("leaf %d names record %s, which the store answered with log index %d", idx, r.ID, got)
		}
		if _, err := mem.Append(leaf); err != nil {
			t.Fatal(err)
		}
	}
	n := int64(len(all))
	if n != int64(want) {
		t.Fatalf("log holds %d leaves, want %d", n, want)
	}
	indexes := make([]int64, 0, want)
	for _, idx := range records {
		indexes = append(indexes, idx)
	}
	wantGapless(t, b, location, stores[1], indexes)
	// The stored hashes are those of the leaves in index order, whichever instance wrote them, and
	// there are no others.
	count := tlog.StoredHashCount(n)
	hashIdx := make([]int64, count)
	for i := range hashIdx {
		hashIdx[i] = int64(i)
	}
	stored, err := stores[1].ReadLogHashes(ctx, hashIdx)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := mem.ReadHashes(hashIdx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range hashIdx {
		if !bytes.Equal(stored[i][:], ref[i][:]) {
			t.Fatalf("stored hash %d differs from the recomputed log", i)
		}
	}
	var rows int64
	b.Query(t, location, "SELECT count(*) FROM log_hashes", &rows)
	if rows != count {
		t.Fatalf("%d stored hashes, want %d", rows, count)
	}
}

// testDuplicatesAcrossInstances sends the same sample, and the same idempotent request, from many
// writers on two instances at once: exactly one of each is written.
func testDuplicatesAcrossInstances(t *testing.T, b Backend) {
	stores, _ := instances(t, b, 2)
	hs := []*Harness{NewHarness(t, stores[0]), NewHarness(t, stores[1])}
	ctx := context.Background()
	const writers = 8
	run := func(t *testing.T, fn func(h *Harness) (*registry.InsertedSamples, error)) []*registry.InsertedSamples {
		t.Helper()
		out := make([]*registry.InsertedSamples, writers)
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() { out[w], errs[w] = fn(hs[w%2]) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		return out
	}

	t.Run("SameSample", func(t *testing.T) {
		res := run(t, func(h *Harness) (*registry.InsertedSamples, error) {
			return h.Svc.Ingest(ctx, []registry.NewSample{Human(Text("everyone"))}, nil)
		})
		fresh := 0
		for _, r := range res {
			if !r.Results[0].Duplicate {
				fresh++
			}
			if r.Results[0].Sample.ID != res[0].Results[0].Sample.ID {
				t.Fatal("writers got different ids for one sample")
			}
		}
		if fresh != 1 {
			t.Fatalf("%d writers stored the sample, want 1", fresh)
		}
	})
	t.Run("SameIdempotencyKey", func(t *testing.T) {
		idem := &registry.Idempotency{Scope: "k", Key: "once", RequestSHA256: "cc"}
		res := run(t, func(h *Harness) (*registry.InsertedSamples, error) {
			return h.Svc.Ingest(ctx, []registry.NewSample{Human(Text("idem 1")), Human(Text("idem 2"))}, idem)
		})
		first := 0
		for _, r := range res {
			if !r.Replayed {
				first++
			}
			if r.Results[1].Sample.ID != res[0].Results[1].Sample.ID {
				t.Fatal("writers got different ids for one idempotent request")
			}
		}
		if first != 1 {
			t.Fatalf("%d writers ran the request, want 1", first)
		}
	})
	if n := hs[0].Count(); n != 3 {
		t.Fatalf("%d samples stored, want 3", n)
	}

	// Model text and the same text as human, at once: the human sample may only exist if it was
	// logged before the model sample.
	model := hs[0].Model("racer", 0)
	for round := range 20 {
		text := Text(fmt.Sprint("race ", round))
		var human, synthetic *registry.Sample
		var humanErr, modelErr error
		var wg sync.WaitGroup
		wg.Go(func() {
			var res *registry.InsertedSamples
			if res, humanErr = hs[0].Svc.Ingest(ctx, []registry.NewSample{Human(text)}, nil); humanErr == nil {
				human = res.Results[0].Sample
			}
		})
		wg.Go(func() {
			var res *registry.InsertedSamples
			if res, modelErr = hs[1].Svc.Ingest(ctx, []registry.NewSample{ModelOutput(text, model, "")}, nil); modelErr == nil {
				synthetic = res.Results[0].Sample
			}
		})
		wg.Wait()
		if modelErr != nil {
			t.Fatal(modelErr)
		}
		switch {
		case humanErr != nil && registry.ErrorCode(humanErr) != registry.EPROVENANCECONFLICT:
			t.Fatal(humanErr)
		case humanErr == nil && human.LogIndex > synthetic.LogIndex:
			t.Fatalf("round %d: human text registered after the same text as model output", round)
		}
	}
}
