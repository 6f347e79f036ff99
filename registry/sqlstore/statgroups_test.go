package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"testing"

	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/sqlstore"
	"github.com/pedigreeml/pedigree/registry/storetest"
)

// drawStats draws everything s admits and returns the selection's statistics.
func drawStats(t *testing.T, s *sqlstore.Store) (registry.MixStats, error) {
	t.Helper()
	ctx := context.Background()
	d, c := openCounted(t, s, registry.DrawQuery{Pool: registry.PoolQuery{Where: "TRUE"}, Seed: 1}, nil)
	defer d.Close()
	all := c.Humans + c.Synthetic()
	if _, err := d.Select(ctx, registry.DrawQuota{Humans: c.Humans, PerModel: all, Synthetic: all}); err != nil {
		t.Fatal(err)
	}
	return d.Stats(ctx)
}

// TestStatsNeedTheirGroups checks that a build's statistics refuse a selection holding samples that
// name no statistics group (rows written around the store, as an attacker or a raw insert writes
// them), rather than leave them out of the counts; and that FillStatGroups, what the migration
// runs, gives them the groups ingest would; and that a sample pointed at a group that does not
// exist is refused as well.
func TestStatsNeedTheirGroups(t *testing.T) {
	for name, open := range boundStores(t) {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			fillStrata(t, s, 30, 2, 20) // raw rows: no statistics group
			if _, err := drawStats(t, s); !errors.Is(err, registry.ErrTampered) {
				t.Fatalf("statistics of samples without a group: %v, want ErrTampered", err)
			}
			if err := s.FillStatGroups(context.Background()); err != nil {
				t.Fatal(err)
			}
			st, err := drawStats(t, s)
			if err != nil {
				t.Fatal(err)
			}
			if st.Human != 30 || st.Synthetic != 40 || st.SourceKinds["public_dataset"] != 30 || st.SourceKinds["synthetic"] != 40 ||
				st.Sources["public_dataset"]["bounded"].Samples != 30 || len(st.Models) != 2 || st.Metrics["tokens"].Count != 70 {
				t.Fatalf("statistics after the groups were filled in: %+v", st)
			}
			// A sample pointed at a group that does not exist is refused too.
			if _, err := s.DB().ExecContext(context.Background(), "UPDATE samples SET stat_group = 999999 WHERE id = (SELECT min(id) FROM samples)"); err != nil {
				t.Fatal(err)
			}
			if _, err := drawStats(t, s); !errors.Is(err, registry.ErrTampered) {
				t.Fatalf("statistics of a sample with a dangling group: %v, want ErrTampered", err)
			}
		})
	}
}

// TestFilledGroupsAreIngestsGroups checks that the groups the migration's backfill gives samples
// stored before it are those ingest gives: a registry ingested with crawled, licensed and model
// data, its groups removed and filled in again, draws the same statistics.
func TestFilledGroupsAreIngestsGroups(t *testing.T) {
	for name, open := range boundStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			h := storetest.NewHarness(t, s)
			model := h.Model("grouped", 1)
			uris := []string{"https://News.example.com/a", "http://user@news.example.com:8080/b", "https://[2001:db8::1]/c", "not a uri", ""}
			var batch []registry.NewSample
			for i := range 40 {
				smp := storetest.Human(storetest.Text(fmt.Sprint("grouped ", i)))
				smp.Dataset = []string{"books", "web"}[i%2]
				switch i % 4 {
				case 1:
					smp.Source = &registry.Source{Kind: "web_crawl", Name: "crawl", URI: uris[i%len(uris)], License: "CC-BY-4.0"}
				case 2:
					smp.Source = &registry.Source{Kind: "licensed", Name: []string{"", "press"}[i%3%2], URI: uris[(i+1)%len(uris)], License: "MIT"}
				case 3:
					smp.Source = &registry.Source{Kind: "public_dataset", Name: "fortunes", URI: "https://example.org/" + fmt.Sprint(i%3)}
				}
				batch = append(batch, smp)
			}
			first := h.Ingest(batch...)
			for i := range 12 {
				h.Ingest(storetest.ModelOutput(storetest.Text(fmt.Sprint("grouped answer ", i)), model, first[i].Sample.ID))
			}
			want, err := drawStats(t, s)
			if err != nil {
				t.Fatal(err)
			}
			if len(want.Sources["web_crawl"]) != 3 || want.Sources["licensed"]["press"].URI == "" || want.Synthetic != 12 {
				t.Fatalf("the fixture's statistics do not exercise the groups: %+v", want)
			}
			if _, err := s.DB().ExecContext(ctx, "UPDATE samples SET stat_group = NULL"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.DB().ExecContext(ctx, "DELETE FROM stat_groups"); err != nil {
				t.Fatal(err)
			}
			if err := s.FillStatGroups(ctx); err != nil {
				t.Fatal(err)
			}
			got, err := drawStats(t, s)
			if err != nil {
				t.Fatal(err)
			}
			// The groups may be numbered otherwise, and so summed in another order: the means agree
			// to the last bits.
			for k, m := range got.Metrics {
				if w := want.Metrics[k]; math.Abs(m.Mean-w.Mean) > 1e-9*math.Abs(w.Mean) {
					t.Fatalf("%s: mean %v, as ingested %v", k, m.Mean, w.Mean)
				}
				m.Mean = want.Metrics[k].Mean
				got.Metrics[k] = m
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("statistics with the groups filled in\n%+v\nas ingested\n%+v", got, want)
			}
		})
	}
}
