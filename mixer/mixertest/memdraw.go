package mixertest

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"slices"

	"github.com/google/uuid"

	"github.com/pedigreeml/pedigree/registry"
)

// MemDraw is registry.Draw over rows held in memory: the draw's rules (registry/draw.go) written
// plainly in Go, as the reference the stores' SQL is checked against (TestDrawMatchesReference)
// and as the draw of the mixer's unit tests' fake store. It is for tests: it holds the whole pool.
type MemDraw struct {
	// Rows are the admitted pool, as the store's admission query would return it.
	Rows []registry.PoolRow
	Q    registry.DrawQuery
	// All are the registry's samples, and Admit tells whether one passes a pool query: what
	// AdmittedPrior counts over. Without Admit, it counts over Rows.
	All   []registry.PoolRow
	Admit func(r *registry.PoolRow, q registry.PoolQuery) bool
	// Asked records the queries AdmittedPrior was asked.
	Asked []registry.PoolQuery

	prior  map[string]bool
	kept   []memRow
	picked []memRow
}

type memRow struct {
	*registry.PoolRow
	key   int64
	prior bool
}

// AddPrior implements registry.Draw.
func (d *MemDraw) AddPrior(_ context.Context, ids []string) (int, error) {
	if d.prior == nil {
		d.prior = map[string]bool{}
	}
	n := 0
	for _, id := range ids {
		if !d.prior[id] {
			d.prior[id] = true
			n++
		}
	}
	return n, nil
}

func (d *MemDraw) pool() []memRow {
	out := make([]memRow, len(d.Rows))
	for i := range d.Rows {
		r := &d.Rows[i]
		out[i] = memRow{PoolRow: r, key: registry.DrawKey(d.Q.Seed, r.ID), prior: r.Origin == registry.OriginHuman && d.prior[r.ID]}
	}
	return out
}

// byKey orders rows by draw key, then id.
func byKey(a, b memRow) int {
	if c := cmp.Compare(a.key, b.key); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

// dedupOrder is registry's dedup order: generation, objective, cluster head first, key, id.
func (d *MemDraw) dedupOrder(a, b memRow) int {
	if c := cmp.Compare(a.Generation, b.Generation); c != 0 {
		return c
	}
	switch d.Q.Objective {
	case registry.ObjectiveMTLD:
		if c := cmp.Compare(b.MTLD, a.MTLD); c != 0 {
			return c
		}
	case registry.ObjectiveLength:
		if c := cmp.Compare(b.Tokens, a.Tokens); c != 0 {
			return c
		}
	case registry.ObjectiveToxicity:
		if c := cmp.Compare(tox(a), tox(b)); c != 0 {
			return c
		}
	}
	if c := cmp.Compare(btoi(a.ID != cluster(a)), btoi(b.ID != cluster(b))); c != 0 {
		return c
	}
	return byKey(a, b)
}

// cluster is a row's near-duplicate cluster: its own id when it has none.
func cluster(r memRow) string {
	if r.Cluster == "" {
		return r.ID
	}
	return r.Cluster
}

func tox(r memRow) float64 {
	if r.Toxicity == nil {
		return math.Inf(1) // unscored last
	}
	return *r.Toxicity
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// firstOf keeps the first row of each group by the dedup order.
func (d *MemDraw) firstOf(rows []memRow, group func(memRow) string) []memRow {
	slices.SortFunc(rows, d.dedupOrder)
	seen := map[string]bool{}
	var out []memRow
	for _, r := range rows {
		if g := group(r); !seen[g] {
			seen[g] = true
			out = append(out, r)
		}
	}
	return out
}

// Counts implements registry.Draw.
func (d *MemDraw) Counts(context.Context) (*registry.DrawCounts, error) {
	pool := d.pool()
	c := &registry.DrawCounts{Pool: len(pool)}
	for _, r := range pool {
		c.PoolPrior += btoi(r.prior)
	}
	kept := pool
	if d.Q.Dedup != "" {
		kept = d.firstOf(kept, func(r memRow) string {
			if r.NormSHA256 == "" {
				return r.ContentSHA256
			}
			return r.NormSHA256
		})
	}
	if d.Q.Dedup == "near" {
		kept = d.firstOf(kept, cluster)
	}
	d.kept = kept
	models := map[string]int{}
	for _, r := range kept {
		if r.Origin == registry.OriginHuman {
			c.Humans++
			c.Prior += btoi(r.prior)
		} else {
			models[r.Model]++
		}
	}
	for id, n := range models {
		c.Models = append(c.Models, registry.ModelCount{ModelID: id, N: n})
	}
	slices.SortFunc(c.Models, func(a, b registry.ModelCount) int { return cmp.Compare(a.ModelID, b.ModelID) })
	return c, nil
}

// AdmittedPrior implements registry.Draw.
func (d *MemDraw) AdmittedPrior(_ context.Context, q registry.PoolQuery) (int, error) {
	d.Asked = append(d.Asked, q)
	rows := d.Rows
	if d.Admit != nil {
		rows = d.All
	}
	n := 0
	for i := range rows {
		r := &rows[i]
		if r.Origin == registry.OriginHuman && d.prior[r.ID] && (d.Admit == nil || d.Admit(r, q)) {
			n++
		}
	}
	return n, nil
}

// Select implements registry.Draw.
func (d *MemDraw) Select(_ context.Context, q registry.DrawQuota) (int, error) {
	var humans, synthetic []memRow
	for _, r := range d.kept {
		if r.Origin == registry.OriginHuman {
			humans = append(humans, r)
		} else {
			synthetic = append(synthetic, r)
		}
	}
	slices.SortFunc(humans, func(a, b memRow) int {
		if c := cmp.Compare(btoi(!a.prior), btoi(!b.prior)); c != 0 {
			return c
		}
		return byKey(a, b)
	})
	slices.SortFunc(synthetic, byKey)
	d.picked = append([]memRow(nil), humans[:min(q.Humans, len(humans))]...)
	taken := map[string]int{}
	n := 0
	for _, r := range synthetic {
		if n == q.Synthetic {
			break
		}
		if taken[r.Model] < q.PerModel {
			taken[r.Model]++
			d.picked = append(d.picked, r)
			n++
		}
	}
	slices.SortFunc(d.picked, byKey)
	return len(d.picked), nil
}

// Stats implements registry.Draw: a group of one a sample.
func (d *MemDraw) Stats(context.Context) (registry.MixStats, error) {
	groups := make([]registry.StatsGroup, len(d.picked))
	for i, r := range d.picked {
		g := registry.StatsGroup{Model: r.Model, Generation: r.Generation, Dataset: r.Dataset, SourceKind: r.SourceKind,
			Source: registry.SourceName(r.SourceKind, r.SourceName, r.SourceURI, r.Dataset), License: r.License, Basis: r.Basis,
			URI: r.SourceURI, Samples: 1, Tokens: int64(r.Tokens), MinTokens: int64(r.Tokens), MaxTokens: int64(r.Tokens),
			MTLD: r.MTLD, MinMTLD: r.MTLD, MaxMTLD: r.MTLD, Latest: r.CreatedAt.UnixMilli()}
		if r.Origin == registry.OriginHuman {
			g.Model = ""
		}
		if r.Toxicity != nil {
			g.Scored, g.Tox, g.MinTox, g.MaxTox = 1, *r.Toxicity, *r.Toxicity, *r.Toxicity
		}
		groups[i] = g
	}
	return registry.MixStatsOf(groups), nil
}

// Kept implements registry.Draw.
func (d *MemDraw) Kept(context.Context) (int, error) {
	n := 0
	for _, r := range d.picked {
		n += btoi(r.prior)
	}
	return n, nil
}

// Manifest implements registry.Draw.
func (d *MemDraw) Manifest(_ context.Context, fn func(id uuid.UUID, contentSHA256 [sha256.Size]byte) error) error {
	for _, r := range d.picked {
		u, err := uuid.Parse(r.ID)
		if err != nil {
			return err
		}
		var c [sha256.Size]byte
		if _, err := hex.Decode(c[:], []byte(r.ContentSHA256)); err != nil {
			return err
		}
		if err := fn(u, c); err != nil {
			return err
		}
	}
	return nil
}

// Close implements registry.Draw.
func (d *MemDraw) Close() error { return nil }
