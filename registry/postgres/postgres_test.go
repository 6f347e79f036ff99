package postgres_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/pedigreeml/pedigree/ledger"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/postgres"
	"github.com/pedigreeml/pedigree/registry/storetest"
)

// testDSN returns the database the tests may use, or skips the test.
func testDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv("PEDIGREE_TEST_POSTGRES_DSN")
	if dsn == "" {
		tb.Skip("PEDIGREE_TEST_POSTGRES_DSN not set")
	}
	return dsn
}

// NewSchema creates an empty schema, dropped when the test ends, and returns a DSN whose
// connections use it: each test gets its own registry in the one test database.
func NewSchema(tb testing.TB) string {
	tb.Helper()
	dsn := testDSN(tb)
	b := make([]byte, 8)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	// Registered first, so it runs after the stores opened on the schema are closed.
	tb.Cleanup(func() {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return withSearchPath(dsn, schema)
}

// withSearchPath adds the search_path runtime parameter to a URL or key=value DSN.
func withSearchPath(dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err == nil {
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return dsn + " search_path=" + schema
}

// MustOpen opens a store on dsn, closed when the test ends.
func MustOpen(tb testing.TB, dsn string) *postgres.Store {
	tb.Helper()
	s, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// MustOpenStore opens a store on a new, empty schema.
func MustOpenStore(tb testing.TB) *postgres.Store {
	tb.Helper()
	return MustOpen(tb, NewSchema(tb))
}

func TestContract(t *testing.T) {
	testDSN(t)
	storetest.Run(t, func(tb testing.TB) registry.Store { return MustOpenStore(tb) })
}

func TestReopenKeepsDataAndMigrationsRunOnce(t *testing.T) {
	dsn := NewSchema(t)
	ctx := context.Background()
	s, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	id := storetest.NewHarness(t, s).One(storetest.Human(storetest.Text("kept"))).ID
	s.Close()
	s = MustOpen(t, dsn)
	if _, err := s.GetSample(ctx, id); err != nil {
		t.Fatalf("sample lost on reopen: %v", err)
	}
	var n int
	if err := s.Pool().QueryRow(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil || n != 3 {
		t.Fatalf("schema_migrations holds %d rows (%v), want 3", n, err)
	}
}

// TestConcurrentOpen starts several instances at once on an empty schema: the migration lock lets
// exactly one apply each migration, and every Open succeeds.
func TestConcurrentOpen(t *testing.T) {
	dsn := NewSchema(t)
	const instances = 4
	var wg sync.WaitGroup
	errs := make([]error, instances)
	stores := make([]*postgres.Store, instances)
	for i := range instances {
		wg.Go(func() { stores[i], errs[i] = postgres.Open(context.Background(), dsn) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("instance %d: open: %v", i, err)
			continue
		}
		defer stores[i].Close()
	}
	if t.Failed() {
		return
	}
	ctx := context.Background()
	var migrations, heads int
	if err := stores[0].Pool().QueryRow(ctx, "SELECT (SELECT count(*) FROM schema_migrations), (SELECT count(*) FROM log_head)").
		Scan(&migrations, &heads); err != nil {
		t.Fatal(err)
	}
	if migrations != 3 || heads != 1 {
		t.Fatalf("%d migrations recorded and %d log heads, want 3 and 1", migrations, heads)
	}
	// Every instance works on the shared schema.
	for i, s := range stores {
		storetest.NewHarness(t, s).One(storetest.Human(storetest.Text(fmt.Sprint("instance ", i))))
	}
}

// TestConcurrentInstancesSequenceTheLog has two instances on one schema write concurrently; the log
// must hold every record once, at indexes 0..N-1, with the stored hashes of exactly that sequence of
// leaves.
func TestConcurrentInstancesSequenceTheLog(t *testing.T) {
	dsn := NewSchema(t)
	instances := []*storetest.Harness{storetest.NewHarness(t, MustOpen(t, dsn)), storetest.NewHarness(t, MustOpen(t, dsn))}
	const workers, batches, perBatch = 4, 50, 3
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, workers*batches)
	var mu sync.Mutex
	records := map[string]int64{} // record id → its log index as the store answered
	for w := range workers {
		h := instances[w%len(instances)]
		wg.Go(func() {
			for b := range batches {
				in := make([]registry.NewSample, perBatch)
				for i := range in {
					in[i] = storetest.Human(storetest.Text(fmt.Sprintf("w%d b%d s%d", w, b, i)))
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

	pool := instances[0].Store.(*postgres.Store).Pool()
	rows, err := pool.Query(ctx, "SELECT idx, record_id, leaf FROM log_leaves ORDER BY idx")
	if err != nil {
		t.Fatal(err)
	}
	var mem ledger.MemoryHashes
	var n int64
	for rows.Next() {
		var idx int64
		var id string
		var leaf []byte
		if err := rows.Scan(&idx, &id, &leaf); err != nil {
			t.Fatal(err)
		}
		if idx != n {
			t.Fatalf("log index %d follows %d: a gap or a repeat", idx, n-1)
		}
		if got, ok := records[id]; !ok || got != idx {
			t.Fatalf("leaf %d names record %s, which the store answered with log index %d", idx, id, got)
		}
		if _, err := mem.Append(leaf); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != int64(want) {
		t.Fatalf("log holds %d leaves, want %d", n, want)
	}
	var size int64
	if err := pool.QueryRow(ctx, "SELECT size FROM log_head").Scan(&size); err != nil || size != n {
		t.Fatalf("log_head size %d (%v), want %d", size, err, n)
	}
	// The stored hashes are those of the leaves in index order, whichever instance wrote them.
	count := tlog.StoredHashCount(n)
	rows, err = pool.Query(ctx, "SELECT idx, hash FROM log_hashes ORDER BY idx")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var i int64
	for ; rows.Next(); i++ {
		var idx int64
		var hash []byte
		if err := rows.Scan(&idx, &hash); err != nil {
			t.Fatal(err)
		}
		ref, err := mem.ReadHashes([]int64{i})
		if err != nil {
			t.Fatal(err)
		}
		if idx != i || !bytes.Equal(hash, ref[0][:]) {
			t.Fatalf("stored hash at row %d (index %d) differs from the recomputed log", i, idx)
		}
	}
	if i != count {
		t.Fatalf("%d stored hashes, want %d", i, count)
	}
}

// TestConcurrentDuplicatesAcrossInstances sends the same sample, and the same idempotent request,
// from many writers on two instances at once: exactly one of each is written.
func TestConcurrentDuplicatesAcrossInstances(t *testing.T) {
	dsn := NewSchema(t)
	instances := []*storetest.Harness{storetest.NewHarness(t, MustOpen(t, dsn)), storetest.NewHarness(t, MustOpen(t, dsn))}
	ctx := context.Background()
	const writers = 8
	run := func(t *testing.T, fn func(h *storetest.Harness) (*registry.InsertedSamples, error)) []*registry.InsertedSamples {
		t.Helper()
		out := make([]*registry.InsertedSamples, writers)
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() { out[w], errs[w] = fn(instances[w%2]) })
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
		res := run(t, func(h *storetest.Harness) (*registry.InsertedSamples, error) {
			return h.Svc.Ingest(ctx, []registry.NewSample{storetest.Human(storetest.Text("everyone"))}, nil)
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
		res := run(t, func(h *storetest.Harness) (*registry.InsertedSamples, error) {
			return h.Svc.Ingest(ctx, []registry.NewSample{storetest.Human(storetest.Text("idem 1")), storetest.Human(storetest.Text("idem 2"))}, idem)
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
	if n := instances[0].Count(); n != 3 {
		t.Fatalf("%d samples stored, want 3", n)
	}

	// Model text and the same text as human, at once: the human sample may only exist if it was
	// logged before the model sample.
	model := instances[0].Model("racer", 0)
	for round := range 20 {
		text := storetest.Text(fmt.Sprint("race ", round))
		var human, synthetic *registry.Sample
		var humanErr, modelErr error
		var wg sync.WaitGroup
		wg.Go(func() {
			var res *registry.InsertedSamples
			if res, humanErr = instances[0].Svc.Ingest(ctx, []registry.NewSample{storetest.Human(text)}, nil); humanErr == nil {
				human = res.Results[0].Sample
			}
		})
		wg.Go(func() {
			var res *registry.InsertedSamples
			if res, modelErr = instances[1].Svc.Ingest(ctx, []registry.NewSample{storetest.ModelOutput(text, model, "")}, nil); modelErr == nil {
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

// TestLargeBatch writes the largest batch the API accepts in one transaction.
func TestLargeBatch(t *testing.T) {
	h := storetest.NewHarness(t, MustOpenStore(t))
	prompt := h.One(storetest.Human(storetest.Text("big prompt")))
	model := h.Model("bulk", 0)
	in := make([]registry.NewSample, registry.MaxBatchSamples)
	for i := range in {
		if i%2 == 0 {
			in[i] = storetest.Human(storetest.Text(fmt.Sprint("bulk ", i)), prompt.ID)
		} else {
			in[i] = storetest.ModelOutput(storetest.Text(fmt.Sprint("bulk ", i)), model, prompt.ID)
		}
	}
	start := time.Now()
	res, err := h.Svc.Ingest(h.Ctx, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d samples in one batch: %v", len(in), time.Since(start))
	if len(res.Results) != len(in) {
		t.Fatalf("%d results", len(res.Results))
	}
	for i, r := range res.Results {
		if r.Sample.LogIndex != int64(i+2) || r.Sample.Text != *in[i].Text {
			t.Fatalf("result %d: log index %d, text %q", i, r.Sample.LogIndex, r.Sample.Text)
		}
	}
	if last := res.Results[len(in)-1].Sample; last.BestOfK == nil || last.BestOfK.K != len(in)/2 {
		t.Fatalf("best_of_k of the last candidate = %+v, want k = %d", last.BestOfK, len(in)/2)
	}
	if n := h.Count(); n != len(in)+1 {
		t.Fatalf("%d samples stored, want %d", n, len(in)+1)
	}
}

// TestNUL: PostgreSQL text cannot hold U+0000. A sample holding it is refused as invalid and
// nothing is written; a lookup by such a value finds nothing; neither is an internal error.
func TestNUL(t *testing.T) {
	h := storetest.NewHarness(t, MustOpenStore(t))
	const nul = "nul \x00 inside"
	wantCode := func(t *testing.T, err error, code string) {
		t.Helper()
		if got := registry.ErrorCode(err); got != code {
			t.Fatalf("error code = %q (%v), want %q", got, err, code)
		}
	}
	t.Run("ErrIngest", func(t *testing.T) {
		_, err := h.Svc.Ingest(h.Ctx, []registry.NewSample{storetest.Human("ok"), storetest.Human(nul)}, nil)
		wantCode(t, err, registry.EINVALID)
		if n := h.Count(); n != 0 {
			t.Fatalf("%d samples written", n)
		}
		if got := h.One(storetest.Human("ok")).LogIndex; got != 0 {
			t.Fatalf("log index after a refused batch = %d, want 0", got)
		}
	})
	t.Run("ErrLookups", func(t *testing.T) {
		_, err := h.Store.GetModel(h.Ctx, nul+"@1")
		wantCode(t, err, registry.ENOTFOUND)
		_, err = h.Store.GetKey(h.Ctx, nul)
		wantCode(t, err, registry.ENOTFOUND)
		_, err = h.Store.ListModels(h.Ctx, nul, 10)
		wantCode(t, err, registry.EINVALID)
		page, err := h.Store.ListSamples(h.Ctx, registry.SampleFilter{Dataset: nul, Limit: 10})
		if err != nil || len(page) != 0 {
			t.Fatalf("list by a NUL dataset: %d samples, %v", len(page), err)
		}
		// Validation refuses the reference before any lookup.
		_, err = h.Svc.Ingest(h.Ctx, []registry.NewSample{storetest.ModelOutput("x", nul+"@1", "")}, nil)
		wantCode(t, err, registry.EINVALID)
	})
}
