package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/pedigreeml/pedigree/ledger"
	"github.com/pedigreeml/pedigree/registry"
)

const modelColumns = "id, name, version, provider, declared_generation, generation, generation_basis, created_at, log_index"

func scanModel(sc interface{ Scan(...any) error }) (*registry.Model, error) {
	var m registry.Model
	var declared sql.NullInt64
	var created int64
	if err := sc.Scan(&m.ID, &m.Name, &m.Version, &m.Provider, &declared, &m.Generation, &m.GenerationBasis, &created, &m.LogIndex); err != nil {
		return nil, err
	}
	if declared.Valid {
		d := int(declared.Int64)
		m.DeclaredGeneration = &d
	}
	m.CreatedAt = fromMillis(created)
	m.TrainedOn = []string{}
	return &m, nil
}

// getModel reads a model by id or name@version.
func getModel(ctx context.Context, q queryer, ref string) (*registry.Model, error) {
	if !storable(ref) {
		return nil, registry.Errorf(registry.ENOTFOUND, "model %q not found", ref)
	}
	var row *sql.Row
	if registry.ValidID(ref) {
		row = q.QueryRowContext(ctx, "SELECT "+modelColumns+" FROM models WHERE id = ?", ref)
	} else if name, version, ok := registry.SplitModelRef(ref); ok {
		row = q.QueryRowContext(ctx, "SELECT "+modelColumns+" FROM models WHERE name = ? AND version = ?", name, version)
	} else {
		return nil, registry.Errorf(registry.ENOTFOUND, "model %q not found: refer to a model by id or name@version", ref)
	}
	m, err := scanModel(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, registry.Errorf(registry.ENOTFOUND, "model %q not found", ref)
	}
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	if err := modelTraining(ctx, q, []*registry.Model{m}); err != nil {
		return nil, err
	}
	return m, nil
}

// modelTraining fills TrainedOn for models.
func modelTraining(ctx context.Context, q queryer, models []*registry.Model) error {
	if len(models) == 0 {
		return nil
	}
	byID := map[string]*registry.Model{}
	ids := make([]string, len(models))
	for i, m := range models {
		byID[m.ID], ids[i] = m, m.ID
	}
	cond, args := in(q.dialect(), "model_id", ids)
	rows, err := q.QueryContext(ctx, "SELECT model_id, mix_id FROM model_training WHERE "+cond+" ORDER BY model_id, ord", args...)
	if err != nil {
		return fmt.Errorf("read model training: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var mid, mix string
		if err := rows.Scan(&mid, &mix); err != nil {
			return err
		}
		byID[mid].TrainedOn = append(byID[mid].TrainedOn, mix)
	}
	return rows.Err()
}

// GetModel implements registry.Store.
func (s *Store) GetModel(ctx context.Context, ref string) (*registry.Model, error) {
	return getModel(ctx, s.r, ref)
}

// ListModels implements registry.Store.
func (s *Store) ListModels(ctx context.Context, after string, limit int) ([]*registry.Model, error) {
	if !storable(after) {
		return nil, invalidCursor()
	}
	rows, err := s.r.QueryContext(ctx, "SELECT "+modelColumns+" FROM models WHERE id > ? ORDER BY id LIMIT ?", after, limit)
	if err != nil {
		return nil, fmt.Errorf("list models: %w", err)
	}
	var out []*registry.Model
	for rows.Next() {
		m, err := scanModel(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, modelTraining(ctx, s.r, out)
}

// GetModel implements registry.Tx.
func (t writeTx) GetModel(ctx context.Context, ref string) (*registry.Model, error) {
	return getModel(ctx, t.tx, ref)
}

// WriteModel implements registry.Tx.
func (t writeTx) WriteModel(ctx context.Context, m *registry.Model) error {
	leaf, err := registry.ModelLeaf(m)
	if err != nil {
		return fmt.Errorf("log leaf of model: %w", err)
	}
	if m.LogIndex, err = t.log.add(ledger.KindModel, m.ID, leaf); err != nil {
		return err
	}
	var declared any
	if m.DeclaredGeneration != nil {
		declared = *m.DeclaredGeneration
	}
	if _, err := t.tx.ExecContext(ctx, "INSERT INTO models ("+modelColumns+") VALUES (?,?,?,?,?,?,?,?,?)",
		m.ID, m.Name, m.Version, m.Provider, declared, m.Generation, m.GenerationBasis, millis(m.CreatedAt), m.LogIndex); err != nil {
		return fmt.Errorf("insert model: %w", err)
	}
	for i, mix := range m.TrainedOn {
		if _, err := t.tx.ExecContext(ctx, "INSERT INTO model_training (model_id, mix_id, ord) VALUES (?, ?, ?)", m.ID, mix, i); err != nil {
			return fmt.Errorf("insert model training: %w", err)
		}
	}
	return nil
}

// MixGenerations implements registry.Store: one query for the mixes that exist.
func (s *Store) MixGenerations(ctx context.Context, mixIDs []string) (map[string]registry.GenerationFact, error) {
	out := make(map[string]registry.GenerationFact, len(mixIDs))
	// An id the database cannot hold names no mix: it is absent from the answer.
	cond, args := in(s.d, "id", storableOnly(mixIDs))
	rows, err := s.r.QueryContext(ctx, "SELECT id, max_generation, generation_basis FROM mixes WHERE "+cond, args...)
	if err != nil {
		return nil, fmt.Errorf("mix generations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var f registry.GenerationFact
		if err := rows.Scan(&id, &f.Generation, &f.Basis); err != nil {
			return nil, fmt.Errorf("mix generations: %w", err)
		}
		out[id] = f
	}
	return out, rows.Err()
}
