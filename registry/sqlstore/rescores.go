package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/leaves"
)

// rescoreSelect reads re-scores in scanRescore's order.
const rescoreSelect = `SELECT sample_id, seq, from_metrics, tokens, mtld, toxicity, metrics_version, toxicity_scorer,
	created_at, log_index FROM rescores`

var _ registry.RescoreTx = writeTx{}

func scanRescore(sc interface{ Scan(...any) error }) (*registry.Rescore, error) {
	var r registry.Rescore
	var tox sql.NullFloat64
	var created int64
	if err := sc.Scan(&r.SampleID, &r.Seq, &r.From, &r.Metrics.Tokens, &r.Metrics.MTLD, &tox, &r.Metrics.Version,
		&r.Metrics.ToxicityScorer, &created, &r.LogIndex); err != nil {
		return nil, err
	}
	if tox.Valid {
		v := tox.Float64
		r.Metrics.Toxicity = &v
	}
	r.CreatedAt = fromMillis(created)
	return &r, nil
}

func queryRescores(ctx context.Context, q queryer, query string, args ...any) ([]*registry.Rescore, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read re-scores: %w", err)
	}
	defer rows.Close()
	var out []*registry.Rescore
	for rows.Next() {
		r, err := scanRescore(rows)
		if err != nil {
			return nil, fmt.Errorf("read re-scores: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func getRescore(ctx context.Context, q queryer, sampleID string, seq int) (*registry.Rescore, error) {
	if !storable(sampleID) {
		return nil, registry.Errorf(registry.ENOTFOUND, "sample %q has no re-score", sampleID)
	}
	var row *sql.Row
	if seq == 0 {
		row = q.QueryRowContext(ctx, rescoreSelect+" WHERE sample_id = ? ORDER BY seq DESC LIMIT 1", sampleID)
	} else {
		row = q.QueryRowContext(ctx, rescoreSelect+" WHERE sample_id = ? AND seq = ?", sampleID, seq)
	}
	r, err := scanRescore(row)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, registry.Errorf(registry.ENOTFOUND, "sample %s has no re-score %d", sampleID, seq)
	case err != nil:
		return nil, fmt.Errorf("read re-score: %w", err)
	}
	return r, nil
}

// candidateWhere is the condition of registry.RescoreFilter, with its arguments.
func candidateWhere(f registry.RescoreFilter) (string, []any) {
	if f.OnlyNull {
		return "log_index > ? AND toxicity IS NULL", []any{f.After}
	}
	return "log_index > ? AND (toxicity IS NULL OR toxicity_scorer <> ? OR metrics_version <> ?)", []any{f.After, f.Scorer, f.Version}
}

// RescoreCandidates implements registry.RescoreStore.
func (s *Store) RescoreCandidates(ctx context.Context, f registry.RescoreFilter) ([]*registry.Sample, error) {
	if !storable(f.Scorer, f.Version) {
		return nil, registry.FieldErrorf("toxicity_scorer", "is not valid")
	}
	where, args := candidateWhere(f)
	rows, err := s.r.QueryContext(ctx, "SELECT "+sampleColumns+" FROM samples WHERE "+where+" ORDER BY log_index LIMIT ?", append(args, f.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("list re-score candidates: %w", err)
	}
	defer rows.Close()
	var out []*registry.Sample
	for rows.Next() {
		smp, err := scanSample(rows)
		if err != nil {
			return nil, fmt.Errorf("list re-score candidates: %w", err)
		}
		out = append(out, smp)
	}
	return out, rows.Err()
}

// CountRescoreCandidates implements registry.RescoreStore.
func (s *Store) CountRescoreCandidates(ctx context.Context, f registry.RescoreFilter) (int, error) {
	if !storable(f.Scorer, f.Version) {
		return 0, registry.FieldErrorf("toxicity_scorer", "is not valid")
	}
	where, args := candidateWhere(f)
	var n int
	if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM samples WHERE "+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count re-score candidates: %w", err)
	}
	return n, nil
}

// GetRescore implements registry.RescoreStore.
func (s *Store) GetRescore(ctx context.Context, sampleID string, seq int) (*registry.Rescore, error) {
	return getRescore(ctx, s.r, sampleID, seq)
}

// LatestRescores implements registry.RescoreStore.
func (s *Store) LatestRescores(ctx context.Context, sampleIDs []string) (map[string]*registry.Rescore, error) {
	out := map[string]*registry.Rescore{}
	ids := storableOnly(sampleIDs)
	for len(ids) > 0 {
		k := min(500, len(ids))
		cond, args := in(s.d, "r.sample_id", ids[:k])
		rs, err := queryRescores(ctx, s.r, `SELECT r.sample_id, r.seq, r.from_metrics, r.tokens, r.mtld, r.toxicity, r.metrics_version,
			r.toxicity_scorer, r.created_at, r.log_index FROM rescores r
			WHERE `+cond+` AND r.seq = (SELECT max(seq) FROM rescores m WHERE m.sample_id = r.sample_id)`, args...)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			out[r.SampleID] = r
		}
		ids = ids[k:]
	}
	return out, nil
}

// SampleRescores implements registry.RescoreStore.
func (s *Store) SampleRescores(ctx context.Context, sampleID string) ([]*registry.Rescore, error) {
	if !storable(sampleID) {
		return nil, nil
	}
	return queryRescores(ctx, s.r, rescoreSelect+" WHERE sample_id = ? ORDER BY seq", sampleID)
}

// ListRescores implements registry.RescoreStore.
func (s *Store) ListRescores(ctx context.Context, afterSample string, afterSeq, limit int) ([]*registry.Rescore, error) {
	if !storable(afterSample) {
		return nil, invalidCursor()
	}
	return queryRescores(ctx, s.r, rescoreSelect+` WHERE sample_id > ? OR (sample_id = ? AND seq > ?)
		ORDER BY sample_id, seq LIMIT ?`, afterSample, afterSample, afterSeq, limit)
}

// LatestRescore implements registry.RescoreTx.
func (t writeTx) LatestRescore(ctx context.Context, sampleID string) (*registry.Rescore, error) {
	r, err := getRescore(ctx, t.tx, sampleID, 0)
	if registry.ErrorCode(err) == registry.ENOTFOUND {
		return nil, nil
	}
	return r, err
}

// WriteRescore implements registry.RescoreTx: the leaf, the row, and the sample's metric columns,
// in the write transaction.
func (t writeTx) WriteRescore(ctx context.Context, smp *registry.Sample, r *registry.Rescore) error {
	leaf, err := registry.RescoreLeaf(r)
	if err != nil {
		return fmt.Errorf("log leaf of re-score: %w", err)
	}
	if r.LogIndex, err = t.log.add(registry.KindRescore, registry.RescoreLeafID(r.SampleID, r.Seq), leaf); err != nil {
		return err
	}
	m := r.Metrics
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO rescores (sample_id, seq, from_metrics, tokens, mtld, toxicity, metrics_version,
		toxicity_scorer, created_at, log_index) VALUES (?,?,?,?,?,?,?,?,?,?)`,
		r.SampleID, r.Seq, r.From, m.Tokens, m.MTLD, nullFloat(m.Toxicity), m.Version, m.ToxicityScorer, millis(r.CreatedAt), r.LogIndex); err != nil {
		return fmt.Errorf("insert re-score: %w", err)
	}
	res, err := t.tx.ExecContext(ctx, `UPDATE samples SET tokens = ?, mtld = ?, toxicity = ?, metrics_version = ?, toxicity_scorer = ?,
		ingest_metrics = ? WHERE id = ?`, m.Tokens, m.MTLD, nullFloat(m.Toxicity), m.Version, m.ToxicityScorer, smp.IngestMetrics, smp.ID)
	if err != nil {
		return fmt.Errorf("update re-scored sample: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("update re-scored sample %s: %d rows, %v", smp.ID, n, err)
	}
	return nil
}

// rescoreLeaves re-derives the leaf of every stored re-score and checks each re-scored sample's
// metrics against its re-scores.
func (s *Store) rescoreLeaves(ctx context.Context, fn func(int64, []byte) error) error {
	return leaves.WalkRescores(ctx, s, fn)
}
