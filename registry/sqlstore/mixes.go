package sqlstore

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/pedigreeml/pedigree/ledger"
	"github.com/pedigreeml/pedigree/registry"
)

var _ registry.MixStore = (*Store)(nil)

// Dialect implements registry.MixStore.
func (s *Store) Dialect() string { return s.d.Name }

// poolColumns are read for every admitted sample, in scanPoolRow's order.
const poolColumns = `s.id, s.content_sha256, s.origin, coalesce(s.model, ''), s.generation, s.generation_basis,
	s.dataset, s.source_kind, s.source_name, s.source_uri, s.license, s.tokens, s.mtld, s.toxicity, s.created_at,
	s.norm_sha256, coalesce(s.cluster, s.id)`

// PoolSQL returns the candidate-pool query and its arguments. Benchmarks run it bare, as the
// baseline of building a mix.
func PoolSQL(q registry.PoolQuery) (string, []any) {
	where, args := poolWhere(q)
	return "SELECT " + poolColumns + " FROM samples s WHERE " + where, args
}

// BareDrawSQL returns what a user's own script would run for a seeded sample of n admitted rows
// without the registry: q's admission ordered by the draw key (registry.DrawKey) and cut at n, with
// no strata, quotas, dedup, statistics or log. Benchmarks run it as the baseline that does the same
// kind of work as a build in bounded memory (a sort inside the database), beside PoolSQL's scan.
func (s *Store) BareDrawSQL(q registry.PoolQuery, seed int64, n int) (string, []any) {
	where, args := poolWhere(q)
	query := "SELECT s.id, s.content_sha256 FROM samples s WHERE " + where + " ORDER BY " + s.d.DrawKey + ", s.id LIMIT ?"
	args = append(append(args, strconv.FormatInt(seed, 10)), n)
	return s.d.rebind(query), args
}

// poolWhere is the condition over alias s that admits q's samples, and its arguments.
func poolWhere(q registry.PoolQuery) (string, []any) {
	where := []string{"(" + q.Where + ")"}
	var args []any
	in := func(col string, vals []string) {
		vals = storableOnly(vals) // a value the database cannot hold matches nothing
		where = append(where, col+" IN ("+inList(len(vals))+")")
		args = append(args, anys(vals)...)
	}
	if q.MaxGeneration != nil {
		where = append(where, "s.generation <= ?")
		args = append(args, *q.MaxGeneration)
	}
	if len(q.Datasets) > 0 {
		in("s.dataset", q.Datasets)
	}
	if len(q.Origins) > 0 {
		in("s.origin", q.Origins)
	}
	if len(q.ModelIDs) > 0 {
		ids := storableOnly(q.ModelIDs)
		where = append(where, "(s.origin = 'human' OR s.model_id IN ("+inList(len(ids))+"))")
		args = append(args, anys(ids)...)
	}
	if q.AsOf != nil {
		where = append(where, "s.created_at <= ?")
		args = append(args, millis(*q.AsOf))
	}
	if b := q.BestOfK; b != nil {
		partition := "prompt_id"
		if b.PerModel {
			partition = "prompt_id, model_id"
		}
		inner := []string{"prompt_id IS NOT NULL"}
		var innerArgs []any
		if len(b.ModelIDs) > 0 {
			ids := storableOnly(b.ModelIDs)
			cond := "model_id IN (" + inList(len(ids)) + ")"
			if b.KeepHumans {
				cond = "(" + cond + " OR origin = 'human')"
			}
			inner = append(inner, cond)
			innerArgs = append(innerArgs, anys(ids)...)
		}
		if q.AsOf != nil {
			inner = append(inner, "created_at <= ?")
			innerArgs = append(innerArgs, millis(*q.AsOf))
		}
		where = append(where, "(s.prompt_id IS NULL OR s.id IN (SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY "+
			partition+" ORDER BY "+rankOrder[b.Objective]+") AS rk FROM samples WHERE "+strings.Join(inner, " AND ")+") ranked WHERE rk = 1))")
		args = append(args, innerArgs...)
	}
	return strings.Join(where, " AND "), args
}

// MixPool implements registry.MixStore: it streams the admitted samples, one reused row at a time.
func (s *Store) MixPool(ctx context.Context, q registry.PoolQuery, fn func(*registry.PoolRow) error) error {
	query, args := PoolSQL(q)
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("mix pool: %w", err)
	}
	defer rows.Close()
	var r registry.PoolRow
	var tox sql.NullFloat64
	var created int64
	var normKey []byte
	for rows.Next() {
		if err := rows.Scan(&r.ID, &r.ContentSHA256, &r.Origin, &r.Model, &r.Generation, &r.Basis, &r.Dataset,
			&r.SourceKind, &r.SourceName, &r.SourceURI, &r.License, &r.Tokens, &r.MTLD, &tox, &created,
			&normKey, &r.Cluster); err != nil {
			return err
		}
		r.NormSHA256 = hex.EncodeToString(normKey)
		r.CreatedAt = fromMillis(created)
		r.Toxicity = nil
		if tox.Valid {
			v := tox.Float64
			r.Toxicity = &v
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// manifestChunk is how many sample ids one manifest row packs.
const manifestChunk = 4096

// UnpackIDs unpacks a manifest row: 16 bytes a sample id.
func UnpackIDs(b []byte) ([]string, error) {
	if len(b)%16 != 0 {
		return nil, fmt.Errorf("manifest chunk of %d bytes", len(b))
	}
	out := make([]string, len(b)/16)
	for i := range out {
		var u uuid.UUID
		copy(u[:], b[16*i:])
		out[i] = u.String()
	}
	return out, nil
}

// WriteDecision implements registry.Tx.
func (t writeTx) WriteDecision(ctx context.Context, d *registry.Decision) error {
	leaf, err := registry.DecisionLeaf(d)
	if err != nil {
		return err
	}
	if d.LogIndex, err = t.log.add(ledger.KindDecision, d.ID, leaf); err != nil {
		return err
	}
	violations, _ := json.Marshal(d.Violations)
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO decisions (id, policy_name, policy_version, policy_sha256, allowed,
		violations, error, input, mix_id, evaluated_at, log_index) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
		d.ID, d.Policy.Name, d.Policy.Version, d.Policy.SHA256, d.Allowed, string(violations), d.Error, string(d.Input),
		nullString(d.MixID), millis(d.EvaluatedAt), d.LogIndex); err != nil {
		return fmt.Errorf("insert decision: %w", err)
	}
	return nil
}

// WriteMix implements registry.Tx.
func (t writeTx) WriteMix(ctx context.Context, m *registry.Mix, manifest registry.Manifest) error {
	return insertMix(ctx, t.tx, t.log, m, manifest)
}

func insertMix(ctx context.Context, tx *txn, log *logWriter, m *registry.Mix, manifest registry.Manifest) error {
	strategy, _ := json.Marshal(m.Strategy)
	request, _ := json.Marshal(m.Request)
	stats, _ := json.Marshal(m.Stats)
	registry.SetMixLineage(m)
	m.LeafFields = registry.CurrentLeafFields
	leaf, err := registry.MixLeaf(m, request)
	if err != nil {
		return err
	}
	if m.LogIndex, err = log.add(ledger.KindMix, m.ID, leaf); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO mixes (id, policy_name, policy_version, policy_sha256, decision_id, size, seed,
		strategy, request, stats, manifest_sha256, max_generation, generation_basis, created_at, log_index, leaf_fields)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		m.ID, m.Policy.Name, m.Policy.Version, m.Policy.SHA256, m.DecisionID, m.Size, m.Seed, string(strategy), string(request),
		string(stats), m.ManifestSHA256, m.MaxGeneration, m.GenerationBasis, millis(m.CreatedAt), m.LogIndex, m.LeafFields); err != nil {
		return fmt.Errorf("insert mix: %w", err)
	}
	if manifest == nil {
		return nil
	}
	// The manifest is packed manifestChunk ids a row as it streams in: memory holds one chunk.
	chunk, n := 0, 0
	packed := make([]byte, 0, 16*manifestChunk)
	flush := func() error {
		if len(packed) == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO mix_manifest (mix_id, chunk, sample_ids) VALUES (?, ?, ?)", m.ID, chunk, packed); err != nil {
			return fmt.Errorf("insert manifest: %w", err)
		}
		chunk++
		packed = packed[:0]
		return nil
	}
	err = manifest(func(id uuid.UUID) error {
		packed = append(packed, id[:]...)
		n++
		if len(packed) == cap(packed) {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err == nil && n != m.Size {
		err = fmt.Errorf("the manifest of mix %s holds %d samples, not its size %d", m.ID, n, m.Size)
	}
	return err
}

const mixColumns = `id, policy_name, policy_version, policy_sha256, decision_id, size, seed, strategy, request, stats,
	manifest_sha256, created_at, log_index, max_generation, generation_basis, leaf_fields`

func scanMix(sc interface{ Scan(...any) error }) (*registry.Mix, error) {
	var m registry.Mix
	var strategy, request, stats string
	var created int64
	if err := sc.Scan(&m.ID, &m.Policy.Name, &m.Policy.Version, &m.Policy.SHA256, &m.DecisionID, &m.Size, &m.Seed,
		&strategy, &request, &stats, &m.ManifestSHA256, &created, &m.LogIndex, &m.MaxGeneration, &m.GenerationBasis, &m.LeafFields); err != nil {
		return nil, err
	}
	m.CreatedAt = fromMillis(created)
	if err := m.DecodeDocuments([]byte(strategy), []byte(request), []byte(stats)); err != nil {
		return nil, err
	}
	return &m, nil
}

// GetMix implements registry.MixStore.
func (s *Store) GetMix(ctx context.Context, id string) (*registry.Mix, error) {
	if !storable(id) {
		return nil, registry.Errorf(registry.ENOTFOUND, "mix %q not found", id)
	}
	m, err := scanMix(s.r.QueryRowContext(ctx, "SELECT "+mixColumns+" FROM mixes WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, registry.Errorf(registry.ENOTFOUND, "mix %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read mix: %w", err)
	}
	return m, nil
}

// ListMixes implements registry.MixStore.
func (s *Store) ListMixes(ctx context.Context, after string, limit int) ([]*registry.Mix, error) {
	if !storable(after) {
		return nil, invalidCursor()
	}
	rows, err := s.r.QueryContext(ctx, "SELECT "+mixColumns+" FROM mixes WHERE id > ? ORDER BY id LIMIT ?", after, limit)
	if err != nil {
		return nil, fmt.Errorf("list mixes: %w", err)
	}
	defer rows.Close()
	var out []*registry.Mix
	for rows.Next() {
		m, err := scanMix(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// GetDecision implements registry.MixStore.
func (s *Store) GetDecision(ctx context.Context, id string) (*registry.Decision, error) {
	if !storable(id) {
		return nil, registry.Errorf(registry.ENOTFOUND, "decision %q not found", id)
	}
	d, err := scanDecision(s.r.QueryRowContext(ctx, "SELECT "+decisionColumns+" FROM decisions WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, registry.Errorf(registry.ENOTFOUND, "decision %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read decision: %w", err)
	}
	return d, nil
}

// exportChunk bounds how many samples (texts up to 1 MiB each) an export holds at once.
const exportChunk = 64

// ExportMix implements registry.MixStore. It reads one manifest row at a time and the samples of a
// few ids at a time, with their parents (an export names them), so memory stays constant whatever
// the mix's size.
func (s *Store) ExportMix(ctx context.Context, id string, fn func(*registry.Sample) error) error {
	m, err := s.GetMix(ctx, id)
	if err != nil {
		return err
	}
	exported := 0
	for chunk := 0; ; chunk++ {
		var packed []byte
		err := s.r.QueryRowContext(ctx, "SELECT sample_ids FROM mix_manifest WHERE mix_id = ? AND chunk = ?", id, chunk).Scan(&packed)
		if errors.Is(err, sql.ErrNoRows) {
			if exported != m.Size {
				return registry.Tampered("mix %s: the manifest holds %d samples, the mix %d", id, exported, m.Size)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("read manifest: %w", err)
		}
		ids, err := UnpackIDs(packed)
		if err != nil {
			return err
		}
		for len(ids) > 0 {
			part := ids[:min(exportChunk, len(ids))]
			ids = ids[len(part):]
			samples, err := samplesByIDsPlain(ctx, s.r, part)
			if err != nil {
				return err
			}
			if err := parents(ctx, s.r, samples); err != nil {
				return err
			}
			exported += len(samples)
			for _, smp := range samples {
				if err := fn(smp); err != nil {
					return err
				}
			}
		}
	}
}

// samplesByIDsPlain reads samples in the order of ids, without parents or ranks.
func samplesByIDsPlain(ctx context.Context, q queryer, ids []string) ([]*registry.Sample, error) {
	cond, args := in(q.dialect(), "id", ids)
	rows, err := q.QueryContext(ctx, "SELECT "+sampleColumns+" FROM samples WHERE "+cond, args...)
	if err != nil {
		return nil, fmt.Errorf("read samples: %w", err)
	}
	defer rows.Close()
	byID := make(map[string]*registry.Sample, len(ids))
	for rows.Next() {
		smp, err := scanSample(rows)
		if err != nil {
			return nil, err
		}
		byID[smp.ID] = smp
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]*registry.Sample, len(ids))
	for i, id := range ids {
		if out[i] = byID[id]; out[i] == nil {
			return nil, fmt.Errorf("manifest names sample %s, which is missing", id)
		}
	}
	return out, nil
}
