package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/pedigreeml/pedigree/ledger"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/leaves"
)

const modelColumns = "id, name, version, provider, declared_generation, generation, generation_basis, created_at, log_index"

func scanModel(sc interface{ Scan(...any) error }) (*registry.Model, error) {
	var m registry.Model
	var created int64
	if err := sc.Scan(&m.ID, &m.Name, &m.Version, &m.Provider, &m.DeclaredGeneration, &m.Generation, &m.GenerationBasis, &created, &m.LogIndex); err != nil {
		return nil, err
	}
	m.CreatedAt = fromMillis(created)
	m.TrainedOn = []string{}
	return &m, nil
}

// getModel reads a model by id or name@version.
func getModel(ctx context.Context, q queryer, ref string) (*registry.Model, error) {
	var row pgx.Row
	if !storable(ref) {
		return nil, registry.Errorf(registry.ENOTFOUND, "model %q not found", ref)
	}
	if registry.ValidID(ref) {
		row = q.QueryRow(ctx, "SELECT "+modelColumns+" FROM models WHERE id = $1", ref)
	} else if name, version, ok := registry.SplitModelRef(ref); ok {
		row = q.QueryRow(ctx, "SELECT "+modelColumns+" FROM models WHERE name = $1 AND version = $2", name, version)
	} else {
		return nil, registry.Errorf(registry.ENOTFOUND, "model %q not found: refer to a model by id or name@version", ref)
	}
	m, err := scanModel(row)
	if errors.Is(err, pgx.ErrNoRows) {
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
	rows, err := q.Query(ctx, "SELECT model_id, mix_id FROM model_training WHERE model_id = ANY($1) ORDER BY model_id, ord", ids)
	if err != nil {
		return fmt.Errorf("read model training: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var mid, mix string
		if err := rows.Scan(&mid, &mix); err != nil {
			return fmt.Errorf("read model training: %w", err)
		}
		byID[mid].TrainedOn = append(byID[mid].TrainedOn, mix)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read model training: %w", err)
	}
	return nil
}

// GetModel implements registry.Store.
func (s *Store) GetModel(ctx context.Context, ref string) (*registry.Model, error) {
	return getModel(ctx, s.pool, ref)
}

// ListModels implements registry.Store.
func (s *Store) ListModels(ctx context.Context, after string, limit int) ([]*registry.Model, error) {
	if !storable(after) {
		return nil, invalidCursor()
	}
	rows, err := s.pool.Query(ctx, "SELECT "+modelColumns+" FROM models WHERE id > $1 ORDER BY id LIMIT $2", after, limit)
	if err != nil {
		return nil, fmt.Errorf("list models: %w", err)
	}
	var out []*registry.Model
	for rows.Next() {
		m, err := scanModel(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("list models: %w", err)
		}
		out = append(out, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list models: %w", err)
	}
	return out, modelTraining(ctx, s.pool, out)
}

// CreateModel implements registry.Store.
func (s *Store) CreateModel(ctx context.Context, m *registry.Model, idem *registry.Idempotency) error {
	return s.write(ctx, func(tx pgx.Tx, log *logWriter) error {
		if idem != nil {
			prev, err := replayIdempotent(ctx, tx, idem)
			if err != nil {
				return err
			}
			if prev != nil && len(prev.IDs) == 1 {
				got, err := getModel(ctx, tx, prev.IDs[0])
				if err != nil {
					return err
				}
				*m = *got
				return nil
			}
		}
		var taken string
		err := tx.QueryRow(ctx, "SELECT id FROM models WHERE name = $1 AND version = $2", m.Name, m.Version).Scan(&taken)
		if err == nil {
			return &registry.Error{Code: registry.ECONFLICT, Message: "model " + m.Ref() + " is already registered", Existing: taken}
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("read model: %w", err)
		}
		leaf, err := leaves.Model(m)
		if err != nil {
			return fmt.Errorf("log leaf of model: %w", err)
		}
		if m.LogIndex, err = log.add(ledger.KindModel, m.ID, leaf); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "INSERT INTO models ("+modelColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
			m.ID, m.Name, m.Version, m.Provider, m.DeclaredGeneration, m.Generation, m.GenerationBasis, millis(m.CreatedAt), m.LogIndex)
		if isUniqueViolation(err) { // the sequencer lock makes this unreachable; the constraint stays the backstop
			return &registry.Error{Code: registry.ECONFLICT, Message: "model " + m.Ref() + " is already registered", Err: err}
		}
		if err != nil {
			return fmt.Errorf("insert model: %w", err)
		}
		if len(m.TrainedOn) > 0 {
			ord := make([]int, len(m.TrainedOn))
			for i := range ord {
				ord[i] = i
			}
			if _, err := tx.Exec(ctx, `INSERT INTO model_training (model_id, mix_id, ord)
				SELECT $1, mix, ord FROM unnest($2::text[], $3::int[]) AS t (mix, ord)`, m.ID, m.TrainedOn, ord); err != nil {
				return fmt.Errorf("insert model training: %w", err)
			}
		}
		if idem != nil {
			return recordIdempotent(ctx, tx, log, idem, registry.IdempotentResult{IDs: []string{m.ID}})
		}
		return nil
	})
}

// MixGenerations implements registry.Store: the deepest generation and the weakest basis among the
// samples of the mixes, as each mix recorded them when it was saved.
func (s *Store) MixGenerations(ctx context.Context, mixIDs []string) (registry.GenerationFact, error) {
	fact := registry.GenerationFact{Basis: registry.BasisHuman}
	ids := make([]string, 0, len(mixIDs))
	for _, id := range mixIDs {
		if storable(id) { // an id PostgreSQL cannot hold names no mix: it is reported missing below
			ids = append(ids, id)
		}
	}
	rows, err := s.pool.Query(ctx, "SELECT id, max_generation, generation_basis FROM mixes WHERE id = ANY($1)", ids)
	if err != nil {
		return fact, fmt.Errorf("mix generations: %w", err)
	}
	found := map[string]bool{}
	for rows.Next() {
		var id string
		var f registry.GenerationFact
		if err := rows.Scan(&id, &f.Generation, &f.Basis); err != nil {
			rows.Close()
			return fact, fmt.Errorf("mix generations: %w", err)
		}
		found[id] = true
		fact.Generation = max(fact.Generation, f.Generation)
		fact.Basis = registry.WeakerBasis(fact.Basis, f.Basis)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fact, fmt.Errorf("mix generations: %w", err)
	}
	var missing []string
	for _, id := range mixIDs {
		if !found[id] {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return registry.GenerationFact{Basis: registry.BasisHuman}, &registry.Error{Code: registry.EUNPROCESSABLE,
			Message: "mix " + strings.Join(missing, ", ") + " does not exist",
			Fields:  []registry.FieldError{{Field: "trained_on", Message: "unknown mix " + missing[0]}}}
	}
	return fact, nil
}
