package sqlite_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pedigreeml/pedigree/metrics"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/sqlite"
	"github.com/pedigreeml/pedigree/registry/storetest"
)

// TestBandFilterSeesAnotherWriter opens two stores on one database, as a second process would: model
// text registered through one, after the other built its band filter, is still found by the other,
// and human copies of it are refused there.
func TestBandFilterSeesAnotherWriter(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "registry.db")
	open := func() *registry.Service {
		s, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return &registry.Service{Store: s, Scorer: registry.MetricsScorer{Scorer: &metrics.Scorer{}}}
	}
	a, b := open(), open()
	hb := storetest.NewHarness(t, b.Store)
	m := hb.Model("writer-b", 0)
	first := storetest.Text("first model text") + " " + storetest.Words("first", 20)
	hb.One(storetest.ModelOutput(first, m, ""))
	ha := storetest.NewHarness(t, a.Store)
	ha.One(storetest.Human(storetest.Text("a human text") + " " + storetest.Words("human", 20))) // a builds its filter
	second := storetest.Text("second model text") + " " + storetest.Words("second", 20)
	hb.One(storetest.ModelOutput(second, m, ""))
	for _, text := range []string{first, second} {
		edited := strings.Replace(text, "Sample", "Example", 1)
		if _, err := a.Ingest(ctx, []registry.NewSample{storetest.Human(edited)}, nil); registry.ErrorCode(err) != registry.EPROVENANCECONFLICT {
			t.Fatalf("a near copy of model text written by the other store: %v", err)
		}
	}
}
