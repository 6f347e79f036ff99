package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pedigreeml/pedigree/ledger"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/leaves"
)

var _ registry.MixStore = (*Store)(nil)

// Dialect implements registry.MixStore: policy include fragments for this store are PostgreSQL.
func (s *Store) Dialect() string { return "postgres" }

// poolColumns are read for every admitted sample, in MixPool's scan order.
const poolColumns = `s.id, s.content_sha256, s.origin, coalesce(s.model, ''), s.generation, s.generation_basis,
	s.dataset, s.source_kind, s.source_name, s.source_uri, s.license, s.tokens, s.mtld, s.toxicity, s.created_at`

// PoolSQL returns the candidate-pool query and its arguments. The policy's fragment q.Where carries
// no placeholders, so the filters' placeholders are numbered from $1. Benchmarks run it bare, as the
// baseline of building a mix.
func PoolSQL(q registry.PoolQuery) (string, []any) {
	where := []string{"(" + q.Where + ")"}
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if q.MaxGeneration != nil {
		where = append(where, "s.generation <= "+arg(*q.MaxGeneration))
	}
	if len(q.Datasets) > 0 {
		where = append(where, "s.dataset = ANY("+arg(storableOnly(q.Datasets))+")")
	}
	if len(q.Origins) > 0 {
		where = append(where, "s.origin = ANY("+arg(storableOnly(q.Origins))+")")
	}
	if len(q.ModelIDs) > 0 {
		where = append(where, "(s.origin = 'human' OR s.model_id = ANY("+arg(storableOnly(q.ModelIDs))+"))")
	}
	if q.AsOf != nil {
		where = append(where, "s.created_at <= "+arg(millis(*q.AsOf)))
	}
	if b := q.BestOfK; b != nil {
		partition := "prompt_id"
		if b.PerModel {
			partition = "prompt_id, model_id"
		}
		// The ranks are those of the whole prompt group (as sample reads report them), frozen at
		// AsOf, not ranks within what the other filters leave.
		inner := []string{"prompt_id IS NOT NULL"}
		if len(b.ModelIDs) > 0 {
			cond := "model_id = ANY(" + arg(storableOnly(b.ModelIDs)) + ")"
			if b.KeepHumans {
				cond = "(" + cond + " OR origin = 'human')"
			}
			inner = append(inner, cond)
		}
		if q.AsOf != nil {
			inner = append(inner, "created_at <= "+arg(millis(*q.AsOf)))
		}
		where = append(where, "(s.prompt_id IS NULL OR s.id IN (SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY "+
			partition+" ORDER BY "+rankOrder[b.Objective]+") AS rk FROM samples WHERE "+strings.Join(inner, " AND ")+
			") AS ranked WHERE rk = 1))")
	}
	return "SELECT " + poolColumns + " FROM samples s WHERE " + strings.Join(where, " AND "), args
}

// storableOnly drops the values PostgreSQL text cannot hold: no stored value equals them. The list
// may become empty, and then matches nothing, as it should; it never turns into "no filter".
func storableOnly(vals []string) []string {
	out := make([]string, 0, len(vals))
	for _, v := range vals {
		if storable(v) {
			out = append(out, v)
		}
	}
	return out
}

// MixPool implements registry.MixStore: it streams the admitted samples, one reused row at a time.
// fn must not use the store: the query's connection stays busy until the last row.
func (s *Store) MixPool(ctx context.Context, q registry.PoolQuery, fn func(*registry.PoolRow) error) error {
	query, args := PoolSQL(q)
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("mix pool: %w", err)
	}
	defer rows.Close()
	var r registry.PoolRow
	for rows.Next() {
		var tox *float64 // a new one per row: fn may keep r.Toxicity
		var created int64
		if err := rows.Scan(&r.ID, &r.ContentSHA256, &r.Origin, &r.Model, &r.Generation, &r.Basis, &r.Dataset,
			&r.SourceKind, &r.SourceName, &r.SourceURI, &r.License, &r.Tokens, &r.MTLD, &tox, &created); err != nil {
			return fmt.Errorf("mix pool: %w", err)
		}
		r.Toxicity, r.CreatedAt = tox, time.UnixMilli(created).UTC()
		if err := fn(&r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("mix pool: %w", err)
	}
	return nil
}

// manifestChunk is how many sample ids one manifest row packs.
const manifestChunk = 4096

// packIDs packs UUID strings into their 16 bytes each, as the SQLite store does.
func packIDs(ids []string) ([]byte, error) {
	out := make([]byte, 0, 16*len(ids))
	for _, id := range ids {
		u, err := uuid.Parse(id)
		if err != nil {
			return nil, fmt.Errorf("manifest id %q: %w", id, err)
		}
		out = append(out, u[:]...)
	}
	return out, nil
}

// unpackIDs is the inverse of packIDs.
func unpackIDs(b []byte) ([]string, error) {
	if len(b)%16 != 0 {
		return nil, fmt.Errorf("manifest chunk of %d bytes", len(b))
	}
	out := make([]string, len(b)/16)
	for i := range out {
		out[i] = uuid.UUID(b[16*i : 16*i+16]).String()
	}
	return out, nil
}

// SaveMix implements registry.MixStore. The decision's leaf comes first, then the mix's.
func (s *Store) SaveMix(ctx context.Context, d *registry.Decision, m *registry.Mix, manifest []string, idem *registry.Idempotency) error {
	return s.write(ctx, func(tx pgx.Tx, log *logWriter) error {
		if idem != nil {
			prev, err := replayIdempotent(ctx, tx, idem)
			if err != nil {
				return err
			}
			if prev != nil {
				return registry.Errorf(registry.ECONFLICT, "a request with Idempotency-Key %q has completed meanwhile; send it again to read its result", idem.Key)
			}
		}
		if m != nil {
			d.MixID = m.ID
		}
		if err := insertDecision(ctx, tx, log, d); err != nil {
			return err
		}
		result := registry.IdempotentResult{IDs: []string{d.ID}}
		if m != nil {
			if err := insertMix(ctx, tx, log, m, manifest); err != nil {
				return err
			}
			result.IDs = append(result.IDs, m.ID)
		}
		if idem != nil {
			return recordIdempotent(ctx, tx, log, idem, result)
		}
		return nil
	})
}

func insertDecision(ctx context.Context, tx pgx.Tx, log *logWriter, d *registry.Decision) error {
	violations, err := json.Marshal(d.Violations)
	if err != nil {
		return fmt.Errorf("decision violations: %w", err)
	}
	leaf, err := leaves.Decision(d)
	if err != nil {
		return fmt.Errorf("log leaf of decision: %w", err)
	}
	if d.LogIndex, err = log.add(ledger.KindDecision, d.ID, leaf); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO decisions (id, policy_name, policy_version, policy_sha256, allowed,
		violations, error, input, mix_id, evaluated_at, log_index) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		d.ID, d.Policy.Name, d.Policy.Version, d.Policy.SHA256, d.Allowed, string(violations), d.Error, string(d.Input),
		nullable(d.MixID), millis(d.EvaluatedAt), d.LogIndex); err != nil {
		return fmt.Errorf("insert decision: %w", err)
	}
	return nil
}

func insertMix(ctx context.Context, tx pgx.Tx, log *logWriter, m *registry.Mix, manifest []string) error {
	var docs [3][]byte
	for i, v := range []any{m.Strategy, m.Request, m.Stats} {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("mix %s: %w", m.ID, err)
		}
		docs[i] = b
	}
	strategy, request, stats := docs[0], docs[1], docs[2]
	leaves.MixLineage(m)
	m.LeafFields = leaves.CurrentFields
	leaf, err := leaves.Mix(m, request)
	if err != nil {
		return fmt.Errorf("log leaf of mix: %w", err)
	}
	if m.LogIndex, err = log.add(ledger.KindMix, m.ID, leaf); err != nil {
		return err
	}
	// What a model trained on the mix inherits, kept so that MixGenerations reads one row a mix.
	if _, err := tx.Exec(ctx, `INSERT INTO mixes (id, policy_name, policy_version, policy_sha256, decision_id, size, seed,
		strategy, request, stats, manifest_sha256, max_generation, generation_basis, created_at, log_index, leaf_fields)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		m.ID, m.Policy.Name, m.Policy.Version, m.Policy.SHA256, m.DecisionID, m.Size, m.Seed, string(strategy), string(request),
		string(stats), m.ManifestSHA256, m.MaxGeneration, m.GenerationBasis, millis(m.CreatedAt), m.LogIndex, m.LeafFields); err != nil {
		return fmt.Errorf("insert mix: %w", err)
	}
	// COPY packs one chunk at a time as it sends, so a large manifest is never held twice.
	chunk := 0
	rows := pgx.CopyFromFunc(func() ([]any, error) {
		if chunk*manifestChunk >= len(manifest) {
			return nil, nil
		}
		b, err := packIDs(manifest[chunk*manifestChunk : min(len(manifest), (chunk+1)*manifestChunk)])
		if err != nil {
			return nil, err
		}
		chunk++
		return []any{m.ID, chunk - 1, b}, nil
	})
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"mix_manifest"}, []string{"mix_id", "chunk", "sample_ids"}, rows); err != nil {
		return fmt.Errorf("insert manifest: %w", err)
	}
	return nil
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
	m, err := scanMix(s.pool.QueryRow(ctx, "SELECT "+mixColumns+" FROM mixes WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
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
	rows, err := s.pool.Query(ctx, "SELECT "+mixColumns+" FROM mixes WHERE id > $1 ORDER BY id LIMIT $2", after, limit)
	if err != nil {
		return nil, fmt.Errorf("list mixes: %w", err)
	}
	defer rows.Close()
	var out []*registry.Mix
	for rows.Next() {
		m, err := scanMix(rows)
		if err != nil {
			return nil, fmt.Errorf("list mixes: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list mixes: %w", err)
	}
	return out, nil
}

const decisionColumns = `id, policy_name, policy_version, policy_sha256, allowed, violations, error, input, mix_id,
	evaluated_at, log_index`

func scanDecision(sc interface{ Scan(...any) error }) (*registry.Decision, error) {
	var d registry.Decision
	var violations, input string
	var mix *string
	var at int64
	if err := sc.Scan(&d.ID, &d.Policy.Name, &d.Policy.Version, &d.Policy.SHA256, &d.Allowed, &violations, &d.Error,
		&input, &mix, &at, &d.LogIndex); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(violations), &d.Violations); err != nil {
		return nil, fmt.Errorf("decision %s: %w", d.ID, err)
	}
	d.Input, d.MixID, d.EvaluatedAt = json.RawMessage(input), deref(mix), fromMillis(at)
	if d.Violations == nil {
		d.Violations = []string{}
	}
	return &d, nil
}

// GetDecision implements registry.MixStore.
func (s *Store) GetDecision(ctx context.Context, id string) (*registry.Decision, error) {
	if !storable(id) {
		return nil, registry.Errorf(registry.ENOTFOUND, "decision %q not found", id)
	}
	d, err := scanDecision(s.pool.QueryRow(ctx, "SELECT "+decisionColumns+" FROM decisions WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, registry.Errorf(registry.ENOTFOUND, "decision %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read decision: %w", err)
	}
	return d, nil
}

// exportChunk bounds how many samples (texts up to 1 MiB each) an export holds at once.
const exportChunk = 64

// ExportMix implements registry.MixStore. It reads one manifest row at a time and the samples of at
// most exportChunk ids at a time, and calls fn only with no query open, so memory stays constant
// whatever the mix's size and fn may itself use the store.
func (s *Store) ExportMix(ctx context.Context, id string, fn func(*registry.Sample) error) error {
	m, err := s.GetMix(ctx, id)
	if err != nil {
		return err
	}
	n := 0
	for chunk := 0; ; chunk++ {
		var packed []byte
		err := s.pool.QueryRow(ctx, "SELECT sample_ids FROM mix_manifest WHERE mix_id = $1 AND chunk = $2", id, chunk).Scan(&packed)
		if errors.Is(err, pgx.ErrNoRows) {
			break
		}
		if err != nil {
			return fmt.Errorf("read manifest: %w", err)
		}
		ids, err := unpackIDs(packed)
		if err != nil {
			return fmt.Errorf("mix %s: %w", id, err)
		}
		for len(ids) > 0 {
			part := ids[:min(exportChunk, len(ids))]
			ids = ids[len(part):]
			samples, err := samplesByIDsPlain(ctx, s.pool, part)
			if err != nil {
				return err
			}
			for _, smp := range samples {
				if err := fn(smp); err != nil {
					return err
				}
			}
			n += len(part)
		}
	}
	if n != m.Size {
		return registry.Tampered("mix %s: the manifest holds %d samples, the mix %d", id, n, m.Size)
	}
	return nil
}

// samplesByIDsPlain reads samples in the order of ids, without parents or ranks, and closes its
// query before it returns.
func samplesByIDsPlain(ctx context.Context, q queryer, ids []string) ([]*registry.Sample, error) {
	rows, err := q.Query(ctx, "SELECT "+sampleColumns+" FROM samples WHERE id = ANY($1)", ids)
	if err != nil {
		return nil, fmt.Errorf("read samples: %w", err)
	}
	defer rows.Close()
	byID := make(map[string]*registry.Sample, len(ids))
	for rows.Next() {
		smp, err := scanSample(rows)
		if err != nil {
			return nil, fmt.Errorf("read samples: %w", err)
		}
		byID[smp.ID] = smp
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read samples: %w", err)
	}
	out := make([]*registry.Sample, len(ids))
	for i, id := range ids {
		if out[i] = byID[id]; out[i] == nil {
			return nil, fmt.Errorf("manifest names sample %s, which is missing", id)
		}
	}
	return out, nil
}
