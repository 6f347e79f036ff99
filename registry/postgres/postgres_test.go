package postgres_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/postgres"
	"github.com/pedigreeml/pedigree/registry/postgres/pgtest"
	"github.com/pedigreeml/pedigree/registry/storetest"
)

// MustOpenStore opens a store on a new, empty schema.
func MustOpenStore(tb testing.TB) *postgres.Store {
	tb.Helper()
	return pgtest.OpenStore(tb)
}

func TestContract(t *testing.T) {
	pgtest.DSN(t)
	storetest.Run(t, func(tb testing.TB) registry.Store { return MustOpenStore(tb) })
}

// TestConcurrentOpen starts several instances at once on an empty schema: the migration lock lets
// exactly one apply each migration, and every Open succeeds.
func TestConcurrentOpen(t *testing.T) {
	dsn := pgtest.NewSchema(t)
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
	var migrations, heads int
	query(t, dsn, "SELECT (SELECT count(*) FROM schema_migrations), (SELECT count(*) FROM log_head)", &migrations, &heads)
	files, err := filepath.Glob(filepath.Join("migrations", "*.sql"))
	if err != nil {
		t.Fatal(err)
	}
	if migrations != len(files) || heads != 1 {
		t.Fatalf("%d migrations recorded and %d log heads, want %d (one a file) and 1", migrations, heads, len(files))
	}
	// Every instance works on the shared schema.
	for i, s := range stores {
		storetest.NewHarness(t, s).One(storetest.Human(storetest.Text(fmt.Sprint("instance ", i))))
	}
}

// TestNUL: PostgreSQL text cannot hold U+0000. A sample holding it is refused as invalid and
// nothing is written; a lookup by such a value finds nothing; neither is an internal error.
func TestNUL(t *testing.T) {
	s := MustOpenStore(t)
	h := storetest.NewHarness(t, s)
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
		_, err = s.ListMixes(h.Ctx, nul, 10)
		wantCode(t, err, registry.EINVALID)
		// Validation refuses the reference before any lookup.
		_, err = h.Svc.Ingest(h.Ctx, []registry.NewSample{storetest.ModelOutput("x", nul+"@1", "")}, nil)
		wantCode(t, err, registry.EINVALID)
	})
	t.Run("ErrPolicyModule", func(t *testing.T) {
		module := "bad\x00"
		sum := sha256.Sum256([]byte(module))
		_, err := registry.WritePolicyVersion(h.Ctx, s, &registry.PolicyVersion{Name: "r", SHA256: hex.EncodeToString(sum[:]), Module: module,
			Limits: json.RawMessage(`{}`), CreatedAt: time.Now()})
		wantCode(t, err, registry.EINVALID)
		if n, err := s.LogSize(h.Ctx); err != nil || n != 1 {
			t.Fatalf("log size after a refused policy version = %d, %v; want 1", n, err)
		}
	})
}
