package sqlstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/pedigreeml/pedigree/internal/baseline"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/postgres/pgtest"
	"github.com/pedigreeml/pedigree/registry/sqlite/sqlitetest"
	"github.com/pedigreeml/pedigree/registry/sqlstore"
	"github.com/pedigreeml/pedigree/registry/storetest"
)

// boundStores are SQLite, and PostgreSQL when its DSN is set.
func boundStores(t *testing.T) map[string]func(t *testing.T) *sqlstore.Store {
	stores := map[string]func(t *testing.T) *sqlstore.Store{"SQLite": func(t *testing.T) *sqlstore.Store { return sqlitetest.OpenStore(t) }}
	if os.Getenv(pgtest.DSNVariable) != "" {
		stores["PostgreSQL"] = func(t *testing.T) *sqlstore.Store { return pgtest.OpenStore(t).Store }
	}
	return stores
}

// fillStrata writes humans human rows and perModel rows of each of models new models straight
// into s, and returns the humans' ids.
func fillStrata(t *testing.T, s *sqlstore.Store, humans, models, perModel int) []string {
	t.Helper()
	ctx := context.Background()
	h := storetest.NewHarness(t, s)
	var ids []*registry.Model
	for i := range models {
		m, err := s.GetModel(ctx, h.Model(fmt.Sprint("bounded-", i), 0))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m)
	}
	var rows []*registry.Sample
	var humanIDs []string
	add := func(m *registry.Model) {
		text := fmt.Sprint("Bounded draw sample ", len(rows))
		sum := sha256.Sum256([]byte(text))
		ident := sha256.Sum256([]byte("identity " + text))
		norm := sha256.Sum256([]byte("normalized " + text))
		smp := &registry.Sample{ID: uuid.Must(uuid.NewV7()).String(), Text: text, ContentSHA256: hex.EncodeToString(sum[:]),
			IdentitySHA256: hex.EncodeToString(ident[:]), NormSHA256: hex.EncodeToString(norm[:]), Origin: registry.OriginHuman, Dataset: "bounded",
			Source: registry.Source{Kind: "public_dataset"}, GenerationBasis: registry.BasisHuman,
			Metrics: registry.Metrics{Tokens: 5, MTLD: 10, Version: "test", ToxicityScorer: "test"}, CreatedAt: time.Now().UTC(),
			LogIndex: int64(len(rows))}
		if m != nil {
			smp.Origin, smp.ModelID, smp.Model, smp.Generation, smp.GenerationBasis = registry.OriginModel, m.ID, m.Ref(), 1, registry.BasisDeclared
			smp.Source.Kind = "synthetic"
		} else {
			humanIDs = append(humanIDs, smp.ID)
		}
		rows = append(rows, smp)
	}
	for range humans {
		add(nil)
	}
	for _, m := range ids {
		for range perModel {
			add(m)
		}
	}
	if err := baseline.InsertSampleRows(ctx, s, rows); err != nil {
		t.Fatal(err)
	}
	return humanIDs
}

// drawManifest draws q on s with prior humans marked as the base model's data, selects quota and
// returns the manifest.
func drawManifest(t *testing.T, s *sqlstore.Store, q registry.DrawQuery, prior []string, quota func(*registry.DrawCounts) registry.DrawQuota) []string {
	t.Helper()
	ctx := context.Background()
	d, c := openCounted(t, s, q, prior)
	defer d.Close()
	n, err := d.Select(ctx, quota(c))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	if err := d.Manifest(ctx, func(id uuid.UUID, _ [sha256.Size]byte) error { ids = append(ids, id.String()); return nil }); err != nil {
		t.Fatal(err)
	}
	if n != len(ids) || n == 0 {
		t.Fatalf("selected %d, manifest of %d", n, len(ids))
	}
	return ids
}

// TestDrawBounds checks that a draw's key bounds never change a manifest: with the bounds the store
// computes (which must apply and hold here), with bounds too tight to hold (which the store must
// detect, and draw again without them), and with none, each store draws the same manifest, under
// quotas where the synthetic quota cuts the models' candidates and where it does not, with the base
// model's human data marked, with more models than a selection names bounds for, and with none.
// Without bounds, it also checks that the two ways of selecting (in one pass in key order, and each
// stratum ranked by a window) draw the same manifest.
func TestDrawBounds(t *testing.T) {
	unbounded := func(*registry.DrawCounts, registry.DrawQuota) registry.DrawBounds {
		return registry.DrawBounds{Humans: math.MaxInt64}
	}
	// tight bounds keep about half of each stratum's quota: they cannot hold.
	tight := func(c *registry.DrawCounts, q registry.DrawQuota) registry.DrawBounds {
		half := func(n, want int) int64 { return int64(math.Ldexp(float64(want)/2/float64(n), 64) - math.Ldexp(1, 63)) }
		b := registry.DrawBounds{Humans: half(c.Humans-c.Prior, q.Humans-c.Prior), Models: map[string]int64{}}
		for _, m := range c.Models {
			b.Models[m.ModelID] = half(m.N, min(q.PerModel, m.N))
		}
		return b
	}
	cases := []struct {
		name                    string
		humans, models, rows    int
		quota                   registry.DrawQuota
		dedup                   string
		tightFails, wantBounded bool
	}{
		{"synthetic quota cuts", 1500, 2, 1000, registry.DrawQuota{Humans: 120, PerModel: 150, Synthetic: 200}, "", true, true},
		{"synthetic quota does not cut", 1500, 2, 1000, registry.DrawQuota{Humans: 120, PerModel: 150, Synthetic: 400}, "exact", true, true},
		{"only the base model's humans", 1500, 2, 1000, registry.DrawQuota{Humans: 30, PerModel: 150, Synthetic: 200}, "", true, true},
		{"many models", 200, 70, 100, registry.DrawQuota{Humans: 150, PerModel: 2, Synthetic: 100}, "", true, true},
		{"no model", 300, 0, 0, registry.DrawQuota{Humans: 100, PerModel: 10, Synthetic: 10}, "", true, true},
	}
	for name, open := range boundStores(t) {
		t.Run(name, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					s := open(t)
					humans := fillStrata(t, s, tc.humans, tc.models, tc.rows)
					prior := humans[:40]
					for seed := range int64(3) {
						q := registry.DrawQuery{Pool: registry.PoolQuery{Where: "TRUE"}, Seed: seed, Dedup: tc.dedup}
						quota := func(*registry.DrawCounts) registry.DrawQuota { return tc.quota }

						s.SetDrawBounds(unbounded)
						want := drawManifest(t, s, q, prior, quota)
						// The other way to select: each stratum ranked by a window, counted by group.
						s.SetModelColumns(0)
						byWindow := drawManifest(t, s, q, prior, quota)
						s.SetModelColumns(sqlstore.MaxModelColumns)
						if !slices.Equal(byWindow, want) {
							t.Fatalf("seed %d: ranked by windows the store drew\n%v\nin one pass\n%v", seed, byWindow, want)
						}

						bounded := false
						s.SetDrawBounds(func(c *registry.DrawCounts, q registry.DrawQuota) registry.DrawBounds {
							b := registry.BoundsFor(c, q)
							bounded = b.Bounded()
							return b
						})
						before := s.UnboundedDraws()
						if got := drawManifest(t, s, q, prior, quota); !slices.Equal(got, want) {
							t.Fatalf("seed %d: with its bounds the store drew\n%v\nwithout\n%v", seed, got, want)
						}
						if bounded != tc.wantBounded || s.UnboundedDraws() != before {
							t.Fatalf("seed %d: bounded %v (want %v), drawn again %d times", seed, bounded, tc.wantBounded, s.UnboundedDraws()-before)
						}

						s.SetDrawBounds(tight)
						before = s.UnboundedDraws()
						if got := drawManifest(t, s, q, prior, quota); !slices.Equal(got, want) {
							t.Fatalf("seed %d: with tight bounds the store drew\n%v\nwithout\n%v", seed, got, want)
						}
						if again := s.UnboundedDraws() - before; (again == 1) != tc.tightFails {
							t.Fatalf("seed %d: tight bounds drawn again %d times", seed, again)
						}
					}
				})
			}
		})
	}
}

// TestDrawCounts checks a draw's stratum counts on each store: with a few models (one aggregate
// with a filter a model), with more than it names filters for (a GROUP BY), with a registered model that
// has no sample (left out, as a GROUP BY leaves it out), and the base model's human data.
func TestDrawCounts(t *testing.T) {
	for name, open := range boundStores(t) {
		for _, models := range []int{3, 9} { // with the model of no samples: 4 and 10 registered
			t.Run(fmt.Sprint(name, "/", models, "_models"), func(t *testing.T) {
				s := open(t)
				humans := fillStrata(t, s, 40, models, 2)
				storetest.NewHarness(t, s).Model("no-samples", 0)
				c := drawCounts(t, s, humans[:7])
				if c.Humans != 40 || c.Prior != 7 || c.Pool != 40+2*models || c.PoolPrior != 7 || len(c.Models) != models {
					t.Fatalf("counts %+v, want 40 humans (7 of the base model), %d models of 2", c, models)
				}
				for i, m := range c.Models {
					if m.N != 2 || (i > 0 && c.Models[i-1].ModelID >= m.ModelID) {
						t.Fatalf("model %d: %+v; want 2 samples each, in the order of the ids", i, c.Models)
					}
				}
			})
		}
	}
}

// TestDrawCountsOfAnUnregisteredModel plants, with the foreign keys off, a model sample whose model
// is not registered: the filtered count misses it, sees that the strata do not add up, and counts
// again by group, so the draw still counts every sample it may select.
func TestDrawCountsOfAnUnregisteredModel(t *testing.T) {
	ctx := context.Background()
	s := sqlitetest.OpenStore(t)
	fillStrata(t, s, 10, 2, 3)
	conn, err := s.DB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"PRAGMA foreign_keys = OFF",
		"UPDATE samples SET model_id = 'unregistered' WHERE rowid = (SELECT max(rowid) FROM samples)",
		"PRAGMA foreign_keys = ON"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	conn.Close()
	c := drawCounts(t, s, nil)
	last := c.Models[len(c.Models)-1]
	if c.Pool != 16 || len(c.Models) != 3 || last != (registry.ModelCount{ModelID: "unregistered", N: 1}) || c.Models[1].N != 2 {
		t.Fatalf("counts %+v; want the planted sample counted under its model", c)
	}
}

// openCounted opens a draw of q on s, for the caller to close, marks prior as the base model's
// human data and counts its strata.
func openCounted(t *testing.T, s *sqlstore.Store, q registry.DrawQuery, prior []string) (registry.Draw, *registry.DrawCounts) {
	t.Helper()
	ctx := context.Background()
	d, err := s.OpenDraw(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.AddPrior(ctx, prior); err != nil {
		d.Close()
		t.Fatal(err)
	}
	c, err := d.Counts(ctx)
	if err != nil {
		d.Close()
		t.Fatal(err)
	}
	return d, c
}

// drawCounts counts the strata of a draw of every sample on s, with prior as the base model's data.
func drawCounts(t *testing.T, s *sqlstore.Store, prior []string) *registry.DrawCounts {
	t.Helper()
	d, c := openCounted(t, s, registry.DrawQuery{Pool: registry.PoolQuery{Where: "1 = 1"}}, prior)
	d.Close()
	return c
}

// TestManifestRefusesNonCanonicalRows checks that a draw's manifest refuses a selected row whose id
// or content hash is not in the canonical form a manifest hashes, as only an edit of the database
// writes them, rather than hash another form of it.
func TestManifestRefusesNonCanonicalRows(t *testing.T) {
	for name, open := range boundStores(t) {
		t.Run(name, func(t *testing.T) {
			for _, edit := range []string{
				"UPDATE samples SET content_sha256 = upper(content_sha256) WHERE id = (SELECT min(id) FROM samples)",
				"UPDATE samples SET content_sha256 = substr(content_sha256, 1, 62) WHERE id = (SELECT min(id) FROM samples)",
				"UPDATE samples SET id = upper(id) WHERE id = (SELECT min(id) FROM samples)",
			} {
				s := open(t)
				fillStrata(t, s, 20, 0, 0)
				if _, err := s.DB().ExecContext(context.Background(), edit); err != nil {
					t.Fatal(err)
				}
				d, c := openCounted(t, s, registry.DrawQuery{Pool: registry.PoolQuery{Where: "TRUE"}, Seed: 1}, nil)
				if _, err := d.Select(context.Background(), registry.DrawQuota{Humans: c.Humans}); err != nil {
					t.Fatal(err)
				}
				n := 0
				err := d.Manifest(context.Background(), func(uuid.UUID, [sha256.Size]byte) error { n++; return nil })
				d.Close()
				if err == nil || n >= 20 {
					t.Fatalf("after %q the manifest streamed %d rows, error %v", edit, n, err)
				}
			}
		})
	}
}
