package sqlite_test

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/pedigreeml/pedigree/internal/baseline"
	"github.com/pedigreeml/pedigree/metrics"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/sqlite"
)

// BenchmarkLineageDepth10 measures Store.Lineage with max_depth 10 inside a registry of
// PEDIGREE_BENCH_POOL samples (default 200,000; the figure in BENCHMARKS.md uses 1,000,000), against
// the bare baseline of the same recursive walk over a minimal edges table (child and parent as 16-byte
// UUIDs, a primary key on (child, parent) and an index on (parent, child), the registry's pragmas),
// each query run on both, alternating, in the same run. It reports p50 and p99 of each, the p99 ratio
// and the nodes a query returns. The registry holds chains of 11 samples (a human text and ten model
// rewrites, each the parent of the next: depth 10) and, for one in every 50,000 samples, a binary tree
// of depth 10 (2,047 samples), all ingested through registry.Service in batches of up to 10,000.
//
//	PEDIGREE_BENCH_POOL=1000000 go test ./registry/sqlite -run '^$' -bench LineageDepth10 -benchtime 2000x -timeout 30m
func BenchmarkLineageDepth10(b *testing.B) {
	ctx := context.Background()
	f := fillLineage(b, benchPool())
	shapes := []struct {
		name, direction string
		targets         []string
	}{
		{"chain_ancestors", registry.DirectionAncestors, f.tails},
		{"chain_descendants", registry.DirectionDescendants, f.roots},
		{"tree_ancestors", registry.DirectionAncestors, f.treeLeaves},
		{"tree_descendants", registry.DirectionDescendants, f.treeRoots},
	}
	for _, sh := range shapes {
		b.Run(sh.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(5, 6))
			var reg, bare []time.Duration
			nodes := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				id := sh.targets[r.IntN(len(sh.targets))]
				var l *registry.Lineage
				var n int
				runs := []func() error{
					func() error {
						t0 := time.Now()
						var err error
						l, err = f.store.Lineage(ctx, id, sh.direction, 10, registry.MaxLineageNodes)
						reg = append(reg, time.Since(t0))
						return err
					},
					func() error {
						t0 := time.Now()
						var err error
						n, err = f.bare.walk(ctx, id, sh.direction, 10)
						bare = append(bare, time.Since(t0))
						return err
					},
				}
				if i%2 == 1 {
					runs[0], runs[1] = runs[1], runs[0]
				}
				for _, run := range runs {
					if err := run(); err != nil {
						b.Fatal(err)
					}
				}
				if len(l.Nodes) != n || l.Truncated {
					b.Fatalf("lineage of %s: the registry returned %d nodes (truncated %v), the bare walk %d", id, len(l.Nodes), l.Truncated, n)
				}
				nodes = n
			}
			b.StopTimer()
			p := func(d []time.Duration, q int) float64 {
				slices.Sort(d)
				return float64(d[min(len(d)-1, len(d)*q/100)].Microseconds()) / 1000
			}
			b.ReportMetric(p(reg, 50), "p50_ms")
			b.ReportMetric(p(reg, 99), "p99_ms")
			b.ReportMetric(p(bare, 50), "bare_p50_ms")
			b.ReportMetric(p(bare, 99), "bare_p99_ms")
			b.ReportMetric(p(reg, 99)/p(bare, 99), "p99_ratio")
			b.ReportMetric(float64(nodes), "nodes")
		})
	}
}

// lineageFixture is a registry of chains and trees, the ids to query, and the bare edges table holding
// the same edges.
type lineageFixture struct {
	store                 *sqlite.Store
	bare                  *bareEdges
	roots, tails          []string // the chains' first and last samples
	treeRoots, treeLeaves []string
}

// fillLineage ingests about n samples into a new store, in chains of depth 10 and binary trees of
// depth 10, and the same edges into a bare edges table.
func fillLineage(b *testing.B, n int) *lineageFixture {
	b.Helper()
	ctx := context.Background()
	started := time.Now()
	f := &lineageFixture{store: MustOpenStore(b), bare: openBareEdges(b, filepath.Join(b.TempDir(), "edges.db"))}
	svc := &registry.Service{Store: f.store, Scorer: registry.MetricsScorer{Scorer: &metrics.Scorer{}}}
	model, err := svc.CreateModel(ctx, &registry.NewModel{Name: "bench-rewriter", Version: "1"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	count, batches := 0, 0
	vocab := baseline.Vocabulary(5000)
	// level ingests one sample per entry of parents ("" for a human root, else a model rewrite of
	// that parent), in batches of at most registry.MaxBatchSamples, and returns their ids in order.
	level := func(parents []string) []string {
		ids := make([]string, 0, len(parents))
		for lo := 0; lo < len(parents); lo += registry.MaxBatchSamples {
			part := parents[lo:min(len(parents), lo+registry.MaxBatchSamples)]
			batch := make([]registry.NewSample, len(part))
			// Distinct short texts: texts that differed only in a number would be near-duplicates,
			// which the registry refuses as human text once their model rewrites are stored.
			texts := baseline.Texts(vocab, "Lineage", batches, len(part), 20)
			batches++
			for i, p := range part {
				count++
				batch[i] = registry.NewSample{Text: &texts[i], Origin: registry.OriginHuman, Dataset: "lineage"}
				if p != "" {
					batch[i].Origin, batch[i].Model, batch[i].Parents = registry.OriginModel, model.Ref(), registry.RefIDs(p)
				}
			}
			res, err := svc.Ingest(ctx, batch, nil)
			if err != nil {
				b.Fatal(err)
			}
			edges := make([][2]string, 0, len(part))
			for i, r := range res.Results {
				ids = append(ids, r.Sample.ID)
				if part[i] != "" {
					edges = append(edges, [2]string{r.Sample.ID, part[i]})
				}
			}
			if err := f.bare.insert(ctx, edges); err != nil {
				b.Fatal(err)
			}
		}
		return ids
	}
	const treeSize = 1<<11 - 1 // a binary tree of depth 10
	trees := max(1, n/50_000)
	prev := level(make([]string, trees))
	f.treeRoots = prev
	for d := 1; d <= 10; d++ {
		parents := make([]string, 0, 2*len(prev))
		for _, p := range prev {
			parents = append(parents, p, p)
		}
		prev = level(parents)
	}
	f.treeLeaves = prev
	chains := max(1, (n-trees*treeSize)/11)
	for done := 0; done < chains; done += registry.MaxBatchSamples {
		prev := level(make([]string, min(registry.MaxBatchSamples, chains-done)))
		f.roots = append(f.roots, prev...)
		for d := 1; d <= 10; d++ {
			prev = level(prev)
		}
		f.tails = append(f.tails, prev...)
	}
	b.Logf("registry of %d samples (%d chains of 11, %d trees of %d) ingested in %s", count, chains, trees, treeSize, time.Since(started).Round(time.Second))
	return f
}

// bareEdges is the baseline of a lineage query: the edges alone, as a user would keep them without
// Pedigree, walked by the same recursive query with no node attributes to join.
type bareEdges struct {
	w, r *sql.DB
}

func openBareEdges(tb testing.TB, path string) *bareEdges {
	tb.Helper()
	w, err := sql.Open("sqlite", sqlite.DSN(path, false))
	if err != nil {
		tb.Fatal(err)
	}
	w.SetMaxOpenConns(1)
	tb.Cleanup(func() { w.Close() })
	if _, err := w.Exec(`CREATE TABLE edges (
		child  BLOB NOT NULL,
		parent BLOB NOT NULL,
		PRIMARY KEY (child, parent)
	) WITHOUT ROWID;
	CREATE INDEX edges_parent ON edges (parent, child)`); err != nil {
		tb.Fatal(err)
	}
	r, err := sql.Open("sqlite", sqlite.DSN(path, true))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close() })
	return &bareEdges{w: w, r: r}
}

// insert stores (child, parent) edges in one transaction.
func (e *bareEdges) insert(ctx context.Context, edges [][2]string) error {
	tx, err := e.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, "INSERT INTO edges (child, parent) VALUES (?, ?)")
	if err != nil {
		return err
	}
	for _, ed := range edges {
		c, p := uuid.MustParse(ed[0]), uuid.MustParse(ed[1])
		if _, err := stmt.ExecContext(ctx, c[:], p[:]); err != nil {
			return err
		}
	}
	return tx.Commit()
}

const (
	bareAncestors = `WITH RECURSIVE walk(id, depth) AS (
		SELECT ?, 0
		UNION
		SELECT e.parent, walk.depth + 1 FROM edges e JOIN walk ON e.child = walk.id WHERE walk.depth < ?
	) SELECT id, min(depth) FROM walk GROUP BY id`
	bareDescendants = `WITH RECURSIVE walk(id, depth) AS (
		SELECT ?, 0
		UNION
		SELECT e.child, walk.depth + 1 FROM edges e JOIN walk ON e.parent = walk.id WHERE walk.depth < ?
	) SELECT id, min(depth) FROM walk GROUP BY id`
)

// walk returns the number of samples within maxDepth of id in direction, id included.
func (e *bareEdges) walk(ctx context.Context, id, direction string, maxDepth int) (int, error) {
	q := bareAncestors
	if direction == registry.DirectionDescendants {
		q = bareDescendants
	}
	u := uuid.MustParse(id)
	rows, err := e.r.QueryContext(ctx, q, u[:], maxDepth)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	var node []byte
	var depth int
	for rows.Next() {
		if err := rows.Scan(&node, &depth); err != nil {
			return 0, err
		}
		n++
	}
	return n, rows.Err()
}
