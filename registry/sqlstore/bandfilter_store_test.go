package sqlstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/pedigreeml/pedigree/metrics"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/sqlite/sqlitetest"
	"github.com/pedigreeml/pedigree/registry/storetest"
)

// TestBandFilterFollowsItsWrites checks that each write of the store moves its band filter to the
// log's new size, so that the next batch's probe uses the filter as it is. A filter left behind is
// rebuilt from the whole near-duplicate index by the next probe: correct, but a read of every band
// key per batch, which made SQLite ingest slow down with the registry's size (its rebuilds followed
// every write while the log's start was read after the flush had moved it).
func TestBandFilterFollowsItsWrites(t *testing.T) {
	ctx := context.Background()
	st := sqlitetest.OpenStore(t)
	svc := &registry.Service{Store: st, Scorer: registry.MetricsScorer{Scorer: &metrics.Scorer{}}}
	m, err := svc.CreateModel(ctx, &registry.NewModel{Name: "teacher", Version: "1", DeclaredGeneration: new(int)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for b := range 3 {
		var in []registry.NewSample
		for i := range 4 {
			text := fmt.Sprintf("Batch %d sample %d: %s.", b, i, storetest.Words(fmt.Sprint("filter ", b, i), 30))
			in = append(in, storetest.Human(text+" A person wrote this one."), storetest.ModelOutput(text, m.Ref(), ""))
		}
		if _, err := svc.Ingest(ctx, in, nil); err != nil {
			t.Fatal(err)
		}
		size, err := st.LogSize(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.BandFilterThrough(); got != size {
			t.Fatalf("after batch %d the band filter holds the keys through log size %d; the log is %d long", b, got, size)
		}
	}
}
