package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/pedigreeml/pedigree/registry"
)

// A draw (registry.Draw) runs on one connection of the read pool, in one transaction: the
// transaction's snapshot makes the counts, the selection and the statistics agree, and the scratch
// tables the draw writes are TEMP tables of that connection, dropped when the transaction rolls
// back. Nothing the draw does is visible to another connection or stays behind it.
//
// The scratch tables:
//
//	draw_prior (id)                               the base model's human data (AddPrior)
//	draw_pick (pos, id, content_sha256, prior,    the selection in manifest order (Select), with
//	           model_id, k, stat_group, tokens,    its stratum and draw key, and what the
//	           mtld, toxicity, created_at)         statistics read: its statistics group
//	                                               (statgroups.go) and metrics
//
// Go holds no row of the pool: the pool, dedup and the quotas' cut are window functions over the
// samples table (the rules are registry's, in draw.go), and the manifest streams from draw_pick.

var _ registry.Draw = (*draw)(nil)

type draw struct {
	s    *Store
	conn *sql.Conn
	tx   *sql.Tx
	q    registry.DrawQuery
	seed string
	// counts are the pool's strata once Counts has counted them; Select bounds the keys by them.
	counts *registry.DrawCounts
}

// OpenDraw implements registry.MixStore.
func (s *Store) OpenDraw(ctx context.Context, q registry.DrawQuery) (registry.Draw, error) {
	if s.noDraws {
		return nil, &registry.Error{Code: registry.EUNAVAILABLE,
			Message: "building a mix needs two database connections, and this registry's pool has one (pool_max_conns in its --db)"}
	}
	if s.draws != nil {
		select {
		case s.draws <- struct{}{}:
		case <-ctx.Done():
			return nil, fmt.Errorf("draw: waiting for another mix build: %w", ctx.Err())
		}
	}
	conn, err := s.r.DB.Conn(ctx)
	if err != nil {
		s.release()
		return nil, fmt.Errorf("draw: %w", err)
	}
	w := &draw{s: s, conn: conn, q: q, seed: strconv.FormatInt(q.Seed, 10)}
	if err := w.open(ctx); err != nil {
		return nil, errors.Join(err, w.Close())
	}
	return w, nil
}

func (w *draw) open(ctx context.Context) error {
	d := w.s.d
	if d.ScratchOn != "" {
		if _, err := w.conn.ExecContext(ctx, d.ScratchOn); err != nil {
			return fmt.Errorf("draw: %w", err)
		}
	}
	tx, err := w.conn.BeginTx(ctx, &sql.TxOptions{Isolation: d.DrawIsolation})
	if err != nil {
		return fmt.Errorf("draw: %w", err)
	}
	w.tx = tx
	pos := "BIGINT"
	if d.IntegerRowid {
		pos = "INTEGER" // the rowid: rows kept in one B-tree, not a second one for the key
	}
	for _, ddl := range []string{
		"CREATE TEMP TABLE draw_prior (id TEXT PRIMARY KEY)",
		"CREATE TEMP TABLE draw_pick (pos " + pos + " PRIMARY KEY, id TEXT NOT NULL, content_sha256 TEXT NOT NULL," +
			" prior INTEGER NOT NULL, model_id TEXT, k BIGINT NOT NULL, stat_group BIGINT, tokens BIGINT NOT NULL," +
			" mtld DOUBLE PRECISION NOT NULL, toxicity DOUBLE PRECISION, created_at BIGINT NOT NULL)",
	} {
		if _, err := tx.ExecContext(ctx, ddl); err != nil {
			return fmt.Errorf("draw: %w", err)
		}
	}
	return nil
}

// Close rolls the draw's transaction back, which drops its scratch tables, and returns the
// connection to the pool.
func (w *draw) Close() error {
	var errs []error
	if w.tx != nil {
		if err := w.tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
			errs = append(errs, err)
		}
	}
	if off := w.s.d.ScratchOff; off != "" {
		if _, err := w.conn.ExecContext(context.Background(), off); err != nil {
			// A connection that could not be made read-only again must not serve reads.
			_ = w.conn.Raw(func(any) error { return driver.ErrBadConn })
			errs = append(errs, err)
		}
	}
	errs = append(errs, w.conn.Close())
	w.s.release()
	return errors.Join(errs...)
}

// release gives back a draw's admission.
func (s *Store) release() {
	if s.draws != nil {
		<-s.draws
	}
}

func (w *draw) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return w.tx.ExecContext(ctx, w.s.d.rebind(q), args...)
}

func (w *draw) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return w.tx.QueryContext(ctx, w.s.d.rebind(q), args...)
}

// AddPrior implements registry.Draw.
func (w *draw) AddPrior(ctx context.Context, ids []string) (int, error) {
	added := 0
	err := chunks(ids, 500, func(part []string) error {
		q := "INSERT INTO draw_prior (id) VALUES (" + strings.Repeat("?), (", len(part)-1) + "?) ON CONFLICT DO NOTHING"
		res, err := w.exec(ctx, q, anys(part)...)
		if err != nil {
			return fmt.Errorf("draw: mark the base model's human data: %w", err)
		}
		n, err := res.RowsAffected()
		added += int(n)
		return err
	})
	return added, err
}

// kept is the WITH clause that defines kept: the admitted samples after dedup, each with its draw
// key k and its prior mark. With fence, the pool's keys are computed once a row even where the
// query filters on them (Select's bounds); without, a query that does not read k computes none.
func (w *draw) kept(fence bool) (string, []any) {
	d := w.s.d
	where, args := poolWhere(w.q.Pool)
	cols := "s.id, s.content_sha256, s.model_id, s.stat_group, s.tokens, s.mtld, s.toxicity, s.created_at, "
	if w.q.Dedup != "" { // what dedup partitions and orders by
		cols += "s.generation, coalesce(s.norm_sha256, " + fmt.Sprintf(d.Unhex, "s.content_sha256") +
			") AS norm, coalesce(s.cluster, s.id) AS cluster, "
	}
	cte := "WITH pool AS (SELECT " + cols + d.DrawKey + " AS k," +
		" CASE WHEN s.origin = 'human' AND s.id IN (SELECT id FROM draw_prior) THEN 1 ELSE 0 END AS prior" +
		" FROM samples s WHERE " + where
	if fence {
		cte += d.Fence
	}
	cte += ")"
	args = append([]any{w.seed}, args...)
	order := "generation, " + objectiveOrder[w.q.Objective] + "CASE WHEN id = cluster THEN 0 ELSE 1 END, k, id"
	switch w.q.Dedup {
	case "":
		cte += ", kept AS (SELECT * FROM pool)"
	case "exact":
		cte += ", d1 AS (SELECT pool.*, row_number() OVER (PARTITION BY norm ORDER BY " + order + ") AS rn FROM pool)" +
			", kept AS (SELECT * FROM d1 WHERE rn = 1)"
	default: // near
		cte += ", d1 AS (SELECT pool.*, row_number() OVER (PARTITION BY norm ORDER BY " + order + ") AS rn FROM pool)" +
			", d2 AS (SELECT d1.*, row_number() OVER (PARTITION BY cluster ORDER BY " + order + ") AS rc FROM d1 WHERE rn = 1)" +
			", kept AS (SELECT * FROM d2 WHERE rc = 1)"
	}
	return cte, args
}

// objectiveOrder orders dedup's candidates best first by a best-of-k objective (unscored toxicity
// last), before the draw key.
var objectiveOrder = map[string]string{
	"":                         "",
	registry.ObjectiveMTLD:     "mtld DESC, ",
	registry.ObjectiveLength:   "tokens DESC, ",
	registry.ObjectiveToxicity: "toxicity IS NULL, toxicity, ",
}

// Counts implements registry.Draw: one pass over kept, and one over pool when dedup removes some.
func (w *draw) Counts(ctx context.Context) (*registry.DrawCounts, error) {
	cte, args := w.kept(false)
	c, err := w.countFiltered(ctx, cte, args)
	if err != nil {
		return nil, err
	}
	if c == nil {
		if c, err = w.countGrouped(ctx, cte, args); err != nil {
			return nil, err
		}
	}
	c.Pool, c.PoolPrior = c.Humans+c.Synthetic(), c.Prior
	if w.q.Dedup != "" {
		if err := w.tx.QueryRowContext(ctx, w.s.d.rebind(cte+" SELECT count(*), coalesce(sum(prior), 0) FROM pool"), args...).
			Scan(&c.Pool, &c.PoolPrior); err != nil {
			return nil, fmt.Errorf("draw: count the pool: %w", err)
		}
	}
	w.counts = c
	return c, nil
}

// maxModelColumns is how many models a draw gives a column each, in its counts (a FILTER a
// registered model, countFiltered) and its selection (a running count a model of the pool,
// inOrder). Each column costs every row of the pool a comparison; past 8 the GROUP BY and the
// partitioned window are cheaper. At 200,000 samples on SQLite (BenchmarkDrawPhases with
// PEDIGREE_BENCH_MODELS, BENCHMARKS.md): counts 0.11 s with 2 models, 0.15 s with 8, 0.32 s with
// 9 by group; selection 1.16, 1.57 and 2.04 s.
const maxModelColumns = 8

// countFiltered counts kept's strata in one aggregate with a FILTER for each registered model: a
// single pass, where a GROUP BY sorts the pool first (SQLite has no hashed aggregate). It returns
// nil when there are more than Store.modelColumns models, or when the strata do not add up to the
// pool (a sample whose model is not registered, which the schema's foreign key refuses), for
// countGrouped to count.
func (w *draw) countFiltered(ctx context.Context, cte string, args []any) (*registry.DrawCounts, error) {
	models, err := w.modelIDs(ctx, w.s.modelColumns+1)
	if err != nil || len(models) > w.s.modelColumns {
		return nil, err
	}
	q := cte + " SELECT count(*), count(*) FILTER (WHERE model_id IS NULL), coalesce(sum(prior) FILTER (WHERE model_id IS NULL), 0)" +
		strings.Repeat(", count(*) FILTER (WHERE model_id = ?)", len(models)) + " FROM kept"
	var total int
	c := &registry.DrawCounts{}
	counts := make([]int, len(models))
	dest := []any{&total, &c.Humans, &c.Prior}
	for i := range counts {
		dest = append(dest, &counts[i])
	}
	if err := w.tx.QueryRowContext(ctx, w.s.d.rebind(q), append(args, anys(models)...)...).Scan(dest...); err != nil {
		return nil, fmt.Errorf("draw: count the pool: %w", err)
	}
	for i, n := range counts {
		if n > 0 {
			c.Models = append(c.Models, registry.ModelCount{ModelID: models[i], N: n})
		}
	}
	if c.Humans+c.Synthetic() != total {
		return nil, nil
	}
	return c, nil
}

// modelIDs returns the ids of the registered models in order, at most limit of them.
func (w *draw) modelIDs(ctx context.Context, limit int) ([]string, error) {
	rows, err := w.query(ctx, "SELECT id FROM models ORDER BY id LIMIT ?", limit)
	if err != nil {
		return nil, fmt.Errorf("draw: count the pool: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// countGrouped counts kept's strata with a GROUP BY, however many models there are.
func (w *draw) countGrouped(ctx context.Context, cte string, args []any) (*registry.DrawCounts, error) {
	rows, err := w.query(ctx, cte+" SELECT model_id, count(*), sum(prior) FROM kept GROUP BY model_id ORDER BY model_id", args...)
	if err != nil {
		return nil, fmt.Errorf("draw: count the pool: %w", err)
	}
	defer rows.Close()
	c := &registry.DrawCounts{}
	for rows.Next() {
		var model sql.NullString
		var n, prior int
		if err := rows.Scan(&model, &n, &prior); err != nil {
			return nil, err
		}
		if model.Valid {
			c.Models = append(c.Models, registry.ModelCount{ModelID: model.String, N: n})
		} else {
			c.Humans, c.Prior = n, prior
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("draw: count the pool: %w", err)
	}
	return c, nil
}

// AdmittedPrior implements registry.Draw.
func (w *draw) AdmittedPrior(ctx context.Context, q registry.PoolQuery) (int, error) {
	where, args := poolWhere(q)
	var n int
	err := w.tx.QueryRowContext(ctx, w.s.d.rebind("SELECT count(*) FROM samples s WHERE "+where+
		" AND s.origin = 'human' AND s.id IN (SELECT id FROM draw_prior)"), args...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("draw: count the admitted human data of the base model: %w", err)
	}
	return n, nil
}

// Select implements registry.Draw: each stratum's rows ranked by (prior first,) draw key and id,
// cut at the quotas, into draw_pick in manifest order. Once Counts has counted the strata, the rows
// above their stratum's key bound (registry.DrawBounds) are left out before the ranking; if the
// bounds did not hold, the selection is drawn again without them.
func (w *draw) Select(ctx context.Context, q registry.DrawQuota) (int, error) {
	if w.counts != nil {
		if b := w.s.drawBounds(w.counts, q); b.Bounded() {
			b = oneModelBound(b)
			n, err := w.selectRows(ctx, q, &b)
			if err != nil {
				return 0, err
			}
			picked, err := w.picked(ctx)
			if err != nil {
				return 0, err
			}
			if b.Held(w.counts, q, picked) {
				return n, nil
			}
			w.s.unboundedDraws.Add(1)
			if _, err := w.exec(ctx, "DELETE FROM draw_pick"); err != nil {
				return 0, fmt.Errorf("draw: select: %w", err)
			}
		}
	}
	return w.selectRows(ctx, q, nil)
}

// maxModelBounds is how many models' bounds a selection names; with more models, every model
// takes the largest of their bounds, which leaves out less but keeps the query short.
const maxModelBounds = 64

func oneModelBound(b registry.DrawBounds) registry.DrawBounds {
	if len(b.Models) <= maxModelBounds {
		return b
	}
	top := int64(math.MinInt64)
	for _, k := range b.Models {
		top = max(top, k)
	}
	one := make(map[string]int64, len(b.Models))
	for id := range b.Models {
		one[id] = top
	}
	return registry.DrawBounds{Humans: b.Humans, Models: one}
}

// selectRows fills draw_pick, under bounds b if not nil.
func (w *draw) selectRows(ctx context.Context, q registry.DrawQuota, b *registry.DrawBounds) (int, error) {
	cte, args := w.kept(b != nil)
	from := "kept"
	if b != nil {
		// The base model's human data is never bounded: it is taken first whatever its key.
		from += " WHERE prior = 1 OR k <= CASE WHEN model_id IS NULL THEN CAST(? AS BIGINT)"
		args = append(args, b.Humans)
		others := int64(math.MaxInt64) // the bound of the models not named
		if len(b.Models) <= maxModelBounds {
			for _, id := range slices.Sorted(maps.Keys(b.Models)) {
				from += " WHEN model_id = ? THEN CAST(? AS BIGINT)"
				args = append(args, id, b.Models[id])
			}
		} else {
			others = slices.Max(slices.Collect(maps.Values(b.Models)))
		}
		from += " ELSE CAST(? AS BIGINT) END"
		args = append(args, others)
	}
	var sel string
	if w.counts != nil && len(w.counts.Models) <= w.s.modelColumns {
		sel, args = w.inOrder(from, q, args)
	} else {
		sel, args = w.byStratum(from, q, args)
	}
	// The selection, each row with its place in manifest order (pos: ascending in key order, not
	// necessarily consecutive), written to draw_pick.
	const insert = " INSERT INTO draw_pick (pos, " + pickColumns + ") SELECT pos, " + pickColumns + " FROM sel"
	query := cte + sel + insert
	res, err := w.exec(ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("draw: select: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// pickColumns are the columns of draw_pick that a selection carries from the pool.
const pickColumns = "id, content_sha256, prior, model_id, k, stat_group, tokens, mtld, toxicity, created_at"

// The selection takes every quota as a prefix in key order of what it ranks, so it is one window
// pass in key order over the candidates (from) with running counts, and a sample is taken while
// they are within the quotas:
//
//   - a human while its rank among the humans, the base model's data first, is within the humans'
//     quota;
//   - a model's sample while its rank among its model's samples is within the per-model quota, and
//     the model samples up to it that their own models' quota takes are within the synthetic quota.
//
// The row_number of that pass is the sample's place in the manifest. inOrder and byStratum differ
// only in how they rank within a stratum; each extends the WITH clause of kept with sel (pos and
// the columns of draw_pick), and args with their arguments.

// inOrder ranks within the strata by running counts in the same pass, for a pool of few models (a
// column each): of the base model's data, of the other humans (after the base model's data, which
// Counts counted and no bound leaves out), and of each model's samples.
func (w *draw) inOrder(from string, q registry.DrawQuota, args []any) (string, []any) {
	var counts, own string
	var capped []string // what the per-model quota takes up to a row: each model's count, at most the quota
	var countArgs, ownArgs, cappedArgs []any
	for i, m := range w.counts.Models {
		counts += fmt.Sprintf(", sum(CASE WHEN model_id = ? THEN 1 ELSE 0 END) OVER win AS c%d", i)
		own += fmt.Sprintf(" WHEN model_id = ? THEN c%d", i)
		capped = append(capped, fmt.Sprintf("CASE WHEN c%d < ? THEN c%d ELSE ? END", i, i))
		countArgs, ownArgs = append(countArgs, m.ModelID), append(ownArgs, m.ModelID)
		cappedArgs = append(cappedArgs, q.PerModel, q.PerModel)
	}
	synthetic, syntheticArgs := "1 = 0", []any(nil) // no model in the pool
	if len(capped) > 0 {
		synthetic = "CASE" + own + " END <= ? AND " + strings.Join(capped, " + ") + " <= ?"
		syntheticArgs = append(append(append(ownArgs, q.PerModel), cappedArgs...), q.Synthetic)
	}
	sel := ", cand AS (SELECT * FROM " + from + ")" +
		", run AS (SELECT row_number() OVER win AS pos, " + pickColumns + ", sum(prior) OVER win AS pr," +
		" sum(CASE WHEN model_id IS NULL AND prior = 0 THEN 1 ELSE 0 END) OVER win AS hn" + counts +
		" FROM cand WINDOW win AS (ORDER BY k, id ROWS UNBOUNDED PRECEDING))" +
		", sel AS (SELECT pos, " + pickColumns + " FROM run WHERE CASE WHEN model_id IS NULL" +
		" THEN (prior = 1 AND pr <= ?) OR (prior = 0 AND hn <= ?) ELSE " + synthetic + " END)"
	args = append(append(args, countArgs...), q.Humans, q.Humans-w.counts.Prior)
	return sel, append(args, syntheticArgs...)
}

// byStratum ranks within the strata by a window partitioned by model (one sort) before the pass
// in key order (another), however many models the pool holds.
func (w *draw) byStratum(from string, q registry.DrawQuota, args []any) (string, []any) {
	sel := ", ranked AS (SELECT " + pickColumns + "," +
		" row_number() OVER (PARTITION BY model_id ORDER BY prior DESC, k, id) AS r FROM " + from + ")" +
		", run AS (SELECT ranked.*, row_number() OVER win AS pos," +
		" sum(CASE WHEN model_id IS NOT NULL AND r <= ? THEN 1 ELSE 0 END) OVER win AS taken" +
		" FROM ranked WINDOW win AS (ORDER BY k, id ROWS UNBOUNDED PRECEDING))" +
		", sel AS (SELECT pos, " + pickColumns + " FROM run" +
		" WHERE CASE WHEN model_id IS NULL THEN r <= ? ELSE r <= ? AND taken <= ? END)"
	return sel, append(args, q.PerModel, q.Humans, q.PerModel, q.Synthetic)
}

// picked is what the selection took of each stratum (Select calls it once Counts has counted
// them): with few models in one pass, a pair of columns a stratum as countFiltered counts them,
// where a GROUP BY would sort the selection first on SQLite; with more, by a GROUP BY.
func (w *draw) picked(ctx context.Context) ([]registry.PickedStratum, error) {
	models := w.counts.Models
	if len(models) > w.s.modelColumns {
		return w.pickedGrouped(ctx)
	}
	q := "SELECT count(*) FILTER (WHERE model_id IS NULL), coalesce(max(k) FILTER (WHERE model_id IS NULL), 0)" +
		strings.Repeat(", count(*) FILTER (WHERE model_id = ?), coalesce(max(k) FILTER (WHERE model_id = ?), 0)", len(models)) +
		" FROM draw_pick"
	var args []any
	out := make([]registry.PickedStratum, 1+len(models))
	dest := []any{&out[0].N, &out[0].MaxKey}
	for i, m := range models {
		args = append(args, m.ModelID, m.ModelID)
		out[i+1].ModelID = m.ModelID
		dest = append(dest, &out[i+1].N, &out[i+1].MaxKey)
	}
	if err := w.tx.QueryRowContext(ctx, w.s.d.rebind(q), args...).Scan(dest...); err != nil {
		return nil, fmt.Errorf("draw: select: %w", err)
	}
	return slices.DeleteFunc(out, func(p registry.PickedStratum) bool { return p.N == 0 }), nil
}

// pickedGrouped is picked by a GROUP BY, however many models there are.
func (w *draw) pickedGrouped(ctx context.Context) ([]registry.PickedStratum, error) {
	rows, err := w.tx.QueryContext(ctx, "SELECT coalesce(model_id, ''), count(*), max(k) FROM draw_pick GROUP BY model_id")
	if err != nil {
		return nil, fmt.Errorf("draw: select: %w", err)
	}
	defer rows.Close()
	var out []registry.PickedStratum
	for rows.Next() {
		var p registry.PickedStratum
		if err := rows.Scan(&p.ModelID, &p.N, &p.MaxKey); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Stats implements registry.Draw: the selection grouped by its statistics groups (one integer a
// row, no read of samples), then by the fields the groups name, each source with its smallest URI.
// A selected sample that names no group, which only an edit of the database makes, is refused.
func (w *draw) Stats(ctx context.Context) (registry.MixStats, error) {
	query := "WITH g AS (SELECT stat_group, count(*) AS n, sum(tokens) AS tokens, min(tokens) AS min_tokens, max(tokens) AS max_tokens," +
		" sum(mtld) AS mtld, min(mtld) AS min_mtld, max(mtld) AS max_mtld, count(toxicity) AS scored, coalesce(sum(toxicity), 0) AS tox," +
		" min(toxicity) AS min_tox, max(toxicity) AS max_tox, max(created_at) AS latest FROM draw_pick GROUP BY stat_group)" +
		" SELECT coalesce(k.model, ''), coalesce(k.generation, 0), coalesce(k.dataset, ''), coalesce(k.source_kind, ''), coalesce(k.source, ''), coalesce(k.license, ''), coalesce(k.generation_basis, '')," +
		" coalesce(min(CASE WHEN k.uri <> '' THEN k.uri END), ''), sum(CASE WHEN k.id IS NULL THEN g.n ELSE 0 END), sum(g.n), sum(g.tokens), min(g.min_tokens), max(g.max_tokens)," +
		" sum(g.mtld), min(g.min_mtld), max(g.max_mtld), sum(g.scored), sum(g.tox), coalesce(min(g.min_tox), 0), coalesce(max(g.max_tox), 0), max(g.latest)" +
		" FROM g LEFT JOIN stat_groups k ON k.id = g.stat_group GROUP BY 1, 2, 3, 4, 5, 6, 7"
	rows, err := w.query(ctx, query)
	if err != nil {
		return registry.MixStats{}, fmt.Errorf("draw: statistics: %w", err)
	}
	defer rows.Close()
	var groups []registry.StatsGroup
	for rows.Next() {
		var g registry.StatsGroup
		var unnamed int
		if err := rows.Scan(&g.Model, &g.Generation, &g.Dataset, &g.SourceKind, &g.Source, &g.License, &g.Basis, &g.URI, &unnamed,
			&g.Samples, &g.Tokens, &g.MinTokens, &g.MaxTokens, &g.MTLD, &g.MinMTLD, &g.MaxMTLD,
			&g.Scored, &g.Tox, &g.MinTox, &g.MaxTox, &g.Latest); err != nil {
			return registry.MixStats{}, err
		}
		if unnamed > 0 {
			return registry.MixStats{}, registry.Tampered("%d selected samples name no statistics group", unnamed)
		}
		groups = append(groups, g)
	}
	if err := rows.Err(); err != nil {
		return registry.MixStats{}, fmt.Errorf("draw: statistics: %w", err)
	}
	return registry.MixStatsOf(groups), nil
}

// Kept implements registry.Draw.
func (w *draw) Kept(ctx context.Context) (int, error) {
	var n int
	if err := w.tx.QueryRowContext(ctx, "SELECT count(*) FROM draw_pick WHERE prior = 1").Scan(&n); err != nil {
		return 0, fmt.Errorf("draw: %w", err)
	}
	return n, nil
}

// Manifest implements registry.Draw. The columns are read into reused buffers and parsed in place:
// a manifest of millions of rows allocates nothing a row.
func (w *draw) Manifest(ctx context.Context, fn func(id uuid.UUID, contentSHA256 [sha256.Size]byte) error) error {
	rows, err := w.tx.QueryContext(ctx, "SELECT id, content_sha256 FROM draw_pick ORDER BY pos")
	if err != nil {
		return fmt.Errorf("draw: manifest: %w", err)
	}
	defer rows.Close()
	var id, content sql.RawBytes
	var c [sha256.Size]byte
	for rows.Next() {
		if err := rows.Scan(&id, &content); err != nil {
			return err
		}
		u, err := uuid.ParseBytes(id)
		if err != nil || len(id) != 36 || !lowerHex(id) {
			return fmt.Errorf("draw: manifest: sample id %q is not a canonical UUID", id)
		}
		if n, err := hex.Decode(c[:], content); err != nil || n != sha256.Size || len(content) != 2*sha256.Size || !lowerHex(content) {
			return fmt.Errorf("draw: manifest: content hash %q of sample %s is not lower-case hex SHA-256", content, u)
		}
		if err := fn(u, c); err != nil {
			return err
		}
	}
	return rows.Err()
}

// lowerHex reports whether b holds no upper-case letter: of hexadecimal text, that it is in the
// canonical lower case that manifests hash (registry.ManifestHash).
func lowerHex(b []byte) bool {
	for _, c := range b {
		if 'A' <= c && c <= 'Z' {
			return false
		}
	}
	return true
}
