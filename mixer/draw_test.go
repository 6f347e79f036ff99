package mixer_test

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/pedigreeml/pedigree/mixer/mixertest"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/postgres/pgtest"
	"github.com/pedigreeml/pedigree/registry/sqlite/sqlitetest"
	"github.com/pedigreeml/pedigree/registry/storetest"
)

// drawFixture stores one set of records, ids and times included, in a store: humans in two
// datasets from sources of every kind (crawled pages whose hosts differ in case, port, user and
// form), texts equal after normalization, prompts answered by two models with near-duplicate and
// exactly duplicated answers, so that every dedup rule, objective and stratum has work to do.
func drawFixture(t *testing.T, s registry.Store) (*mixertest.MixHarness, []string) {
	t.Helper()
	m := mixertest.NewMixHarness(t, s)
	n := 0
	m.Svc.NewID = func() string {
		n++
		sum := sha256.Sum256([]byte(fmt.Sprint("draw fixture ", n)))
		u, _ := uuid.FromBytes(sum[:16])
		u[6] = u[6]&0x0f | 0x70 // version 7
		u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
		return u.String()
	}
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	tick := 0
	m.Svc.Now = func() time.Time { tick++; return start.Add(time.Duration(tick) * time.Second) }
	a, b := m.Model("drawer-a", 0), m.Model("drawer-b", 1)

	hosts := []string{"https://Example.com/a", "http://user@example.com:8080/b?q=1", "https://[2001:db8::1]/c",
		"https://news.example.org#top", "not a uri", ""}
	var humans []registry.NewSample
	for i := range 48 {
		text := fmt.Sprintf("Human record %d: %s.", i, storetest.Words(fmt.Sprint("draw human ", i), 16))
		if i%8 == 7 { // equal to the previous human text after normalization
			text = strings.ToLower(*humans[i-1].Text) + "!!"
		}
		h := storetest.Human(text)
		h.Dataset = []string{"books", "web"}[i%2]
		switch i % 4 {
		case 1, 3:
			h.Source = &registry.Source{Kind: "web_crawl", URI: hosts[i%len(hosts)]}
		case 2:
			h.Source = &registry.Source{Kind: "licensed", Name: []string{"", "press"}[i%3%2], URI: hosts[(i+1)%len(hosts)], License: "CC-BY-4.0"}
		}
		humans = append(humans, h)
	}
	var ids []string
	for _, r := range m.Ingest(humans...) {
		ids = append(ids, r.Sample.ID)
	}
	var answers []registry.NewSample
	for p := range 16 {
		base := storetest.Words(fmt.Sprint("draw answer ", p), 30)
		for k, model := range []string{a, a, b, b} {
			text := fmt.Sprintf("Answer %d/%d: %s.", p, k, storetest.Words(fmt.Sprint("draw answer ", p, k), 24))
			switch {
			case p%3 == 0 && k == 1: // a near duplicate of the first answer: one word changed
				text = "Answer to " + base + " again."
			case p%3 == 0 && k == 0:
				text = "Answer to " + base + "."
			case p%4 == 1 && k == 2: // model b repeats model a's first answer, up to case
				text = strings.ToUpper(*answers[len(answers)-2].Text)
			}
			answers = append(answers, storetest.ModelOutput(text, model, ids[p]))
		}
	}
	m.Ingest(answers...)
	return m, ids
}

// TestDrawMatchesReference draws with every dedup rule and objective, with and without best-of-k
// and the base model's human data, on SQLite and on PostgreSQL holding the same records: each
// store's draw must give the reference draw's counts, manifest and statistics (mixertest.MemDraw,
// the rules in plain Go over the store's own admitted pool), and the two stores the same manifests.
// drawStore is a store the draw tests run on.
type drawStore struct {
	name string
	open func(t *testing.T) registry.Store
}

// drawStores are SQLite, and PostgreSQL when its DSN is set.
func drawStores(t *testing.T) []drawStore {
	stores := []drawStore{{"SQLite", func(t *testing.T) registry.Store { return sqlitetest.OpenStore(t) }}}
	if os.Getenv(pgtest.DSNVariable) != "" {
		stores = append(stores, drawStore{"PostgreSQL", func(t *testing.T) registry.Store { return pgtest.OpenStore(t) }})
	} else {
		t.Log("PostgreSQL not set: SQLite against the reference only")
	}
	return stores
}

// TestBareDrawIsTheKeyOrder checks the benchmarks' bare-draw baseline: on each store it returns the
// first n admitted samples in registry.DrawKey order, the order a build's manifest follows.
func TestBareDrawIsTheKeyOrder(t *testing.T) {
	for _, st := range drawStores(t) {
		t.Run(st.name, func(t *testing.T) {
			ctx := context.Background()
			s := st.open(t).(interface {
				registry.Store
				BareDrawSQL(registry.PoolQuery, int64, int) (string, []any)
				DB() *sql.DB
			})
			drawFixture(t, s)
			const seed = 42
			var all []string
			rows, err := s.DB().QueryContext(ctx, "SELECT id FROM samples WHERE origin = 'human'")
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					t.Fatal(err)
				}
				all = append(all, id)
			}
			if err := rows.Err(); err != nil || len(all) < 20 {
				t.Fatalf("%d humans, %v", len(all), err)
			}
			slices.SortFunc(all, func(a, b string) int {
				if c := cmp.Compare(registry.DrawKey(seed, a), registry.DrawKey(seed, b)); c != 0 {
					return c
				}
				return strings.Compare(a, b)
			})
			n := len(all) / 2
			query, args := s.BareDrawSQL(registry.PoolQuery{Where: "s.origin = 'human'"}, seed, n)
			rows, err = s.DB().QueryContext(ctx, query, args...)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for rows.Next() {
				var id, content string
				if err := rows.Scan(&id, &content); err != nil {
					t.Fatal(err)
				}
				got = append(got, id)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, all[:n]) {
				t.Fatalf("bare draw:\n got %v\nwant %v", got, all[:n])
			}
		})
	}
}

func TestDrawMatchesReference(t *testing.T) {
	stores := drawStores(t)
	manifests := map[string][]string{} // case → the first store's manifest
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			ctx := context.Background()
			s := st.open(t)
			_, humans := drawFixture(t, s)
			for _, dedup := range []string{"", "exact", "near"} {
				for _, objective := range []string{"", registry.ObjectiveMTLD, registry.ObjectiveLength, registry.ObjectiveToxicity} {
					for _, bestOfK := range []bool{false, true} {
						for _, prior := range []bool{false, true} {
							if objective == "" && bestOfK {
								continue
							}
							name := fmt.Sprintf("dedup=%q/objective=%q/bestofk=%v/prior=%v", dedup, objective, bestOfK, prior)
							q := registry.DrawQuery{Pool: registry.PoolQuery{Where: "TRUE"}, Seed: int64(len(name)), Dedup: dedup, Objective: objective}
							if bestOfK {
								q.Pool.BestOfK = &registry.BestOfKPool{Objective: objective, KeepHumans: true}
							}
							got := drawOnce(t, ctx, s, q, prior, humans)
							if first, ok := manifests[name]; !ok {
								manifests[name] = got
							} else if !slices.Equal(first, got) {
								t.Errorf("%s: %s drew %v, %s drew %v", name, stores[0].name, first, st.name, got)
							}
						}
					}
				}
			}
		})
	}
}

// drawOnce draws q on s and with the reference over the pool s admits, compares them, and returns
// the store's manifest.
func drawOnce(t *testing.T, ctx context.Context, s registry.Store, q registry.DrawQuery, prior bool, humans []string) []string {
	t.Helper()
	d, err := s.OpenDraw(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ref := &mixertest.MemDraw{Q: q}
	if err := s.MixPool(ctx, q.Pool, func(r *registry.PoolRow) error { ref.Rows = append(ref.Rows, *r); return nil }); err != nil {
		t.Fatal(err)
	}
	if prior {
		marked := append(append([]string{}, humans[:12]...), humans[3]) // one twice
		for _, dr := range []registry.Draw{d, ref} {
			if n, err := dr.AddPrior(ctx, marked); err != nil || n != 12 {
				t.Fatalf("AddPrior: %d new, %v; want 12", n, err)
			}
		}
	}
	gc, err := d.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wc, _ := ref.Counts(ctx)
	if gc.Pool != wc.Pool || gc.PoolPrior != wc.PoolPrior || gc.Humans != wc.Humans || gc.Prior != wc.Prior ||
		gc.Synthetic() != wc.Synthetic() || len(gc.Models) != len(wc.Models) {
		t.Fatalf("%+v: counts %+v, reference %+v", q, gc, wc)
	}
	if q.Dedup == "" && gc.Pool != gc.Humans+gc.Synthetic() || q.Dedup != "" && gc.Pool == gc.Humans+gc.Synthetic() {
		t.Fatalf("%+v: dedup %q removed %d of %d", q, q.Dedup, gc.Pool-gc.Humans-gc.Synthetic(), gc.Pool)
	}
	quota := registry.DrawQuota{Humans: gc.Humans * 2 / 3, PerModel: 7, Synthetic: 11}
	gn, err := d.Select(ctx, quota)
	if err != nil {
		t.Fatal(err)
	}
	wn, _ := ref.Select(ctx, quota)
	var got, want []string
	d.Manifest(ctx, func(id uuid.UUID, _ [sha256.Size]byte) error { got = append(got, id.String()); return nil })
	ref.Manifest(ctx, func(id uuid.UUID, _ [sha256.Size]byte) error { want = append(want, id.String()); return nil })
	if gn != wn || gn != len(got) || !slices.Equal(got, want) {
		t.Fatalf("%+v: selected %d %v, reference %d %v", q, gn, got, wn, want)
	}
	gs, err := d.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ws, _ := ref.Stats(ctx)
	if g, w := statsJSON(t, gs), statsJSON(t, ws); g != w {
		t.Fatalf("%+v: statistics\n%s\nreference\n%s", q, g, w)
	}
	gk, err := d.Kept(ctx)
	if wk, _ := ref.Kept(ctx); err != nil || gk != wk || prior && gk == 0 {
		t.Fatalf("%+v: kept %d (%v), reference %d", q, gk, err, wk)
	}
	return got
}

// statsJSON is the statistics as JSON, with means to nine digits: the stores sum in their own order.
func statsJSON(t *testing.T, s registry.MixStats) string {
	for k, m := range s.Metrics {
		m.Mean = math.Round(m.Mean*1e9) / 1e9
		s.Metrics[k] = m
	}
	b, err := json.MarshalIndent(s, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestConcurrentBuilds builds more mixes at once than the store's pool has connections, each of a
// base model's successor under accumulate (which reads the base model's mixes while its draw is
// open): a draw holds a connection while its mix is written and its prior data read through others,
// so the store must not let the draws take every connection. PostgreSQL runs on a pool of 2.
func TestConcurrentBuilds(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) {
		concurrentBuilds(t, sqlitetest.OpenStore(t))
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		concurrentBuilds(t, pgtest.Open(t, pgtest.NewSchema(t)+"&pool_max_conns=2"))
	})
	t.Run("PostgreSQLPoolOfOne", func(t *testing.T) {
		m := mixertest.NewMixHarness(t, pgtest.Open(t, pgtest.NewSchema(t)+"&pool_max_conns=1"))
		m.Humans(3, "people")
		m.Policy("open", mixertest.Limits(`{}`, ""))
		_, err := m.Builder.Build(m.Ctx, registry.MixRequest{Policy: "open", Size: 3}, false, nil)
		if registry.ErrorCode(err) != registry.EUNAVAILABLE || !strings.Contains(err.Error(), "needs two database connections") {
			t.Fatalf("a build on a pool of one connection: %v; want a refusal that says why", err)
		}
	})
}

func concurrentBuilds(t *testing.T, s registry.Store) {
	m := mixertest.NewMixHarness(t, s)
	m.Humans(40, "people")
	m.Policy("open", mixertest.Limits(`{"accumulate": true}`, ""))
	base := m.Allowed(registry.MixRequest{Policy: "open", Size: 20})
	if _, err := m.Svc.CreateModel(m.Ctx, &registry.NewModel{Name: "base", Version: "1", TrainedOn: []string{base.ID}}, nil); err != nil {
		t.Fatal(err)
	}
	builds := 12
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	errs := make(chan error, builds)
	for i := range builds {
		go func() {
			res, err := m.Builder.Build(ctx, registry.MixRequest{Policy: "open", Size: 30, Seed: int64(i), BaseModel: "base@1"}, false, nil)
			if err == nil && (res.Mix == nil || res.Mix.Stats.Accumulated == nil || res.Mix.Stats.Accumulated.Kept != 20) {
				err = fmt.Errorf("decision %v, mix %+v", res.Decision.Violations, res.Mix)
			}
			errs <- err
		}()
	}
	for range builds {
		if err := <-errs; err != nil {
			t.Fatalf("one of %d builds at once: %v", builds, err)
		}
	}
}

// TestDrawAdmission: a store admits its pool's size less one draws at a time (4 SQLite readers here:
// 3 draws); one more waits, gives up with its context, and is admitted once a draw closes.
func TestDrawAdmission(t *testing.T) {
	ctx := context.Background()
	s := sqlitetest.OpenStore(t)
	q := registry.DrawQuery{Pool: registry.PoolQuery{Where: "TRUE"}}
	limit := max(4, 2*runtime.GOMAXPROCS(0)) - 1
	var open []registry.Draw
	for range limit {
		d, err := s.OpenDraw(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, d)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if d, err := s.OpenDraw(short, q); !errors.Is(err, context.DeadlineExceeded) {
		if d != nil {
			d.Close()
		}
		t.Fatalf("draw %d of a limit of %d: %v; want it to wait and give up with its context", limit+1, limit, err)
	}
	if err := open[0].Close(); err != nil {
		t.Fatal(err)
	}
	d, err := s.OpenDraw(ctx, q)
	if err != nil {
		t.Fatalf("a draw after one closed: %v", err)
	}
	if _, err := d.Counts(ctx); err != nil {
		t.Fatalf("the admitted draw counts: %v", err)
	}
	for _, d := range append(open[1:], d) {
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
