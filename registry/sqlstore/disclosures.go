package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/leaves"
)

// disclosureSelect reads disclosure versions with their model's name@version.
const disclosureSelect = `SELECT d.model_id, m.name, m.version, d.version, d.document, d.created_at, d.log_index
	FROM model_disclosures d JOIN models m ON m.id = d.model_id`

var _ registry.DisclosureTx = writeTx{}

func scanDisclosure(sc interface{ Scan(...any) error }) (*registry.Disclosure, error) {
	var d registry.Disclosure
	var name, version, doc string
	var created int64
	if err := sc.Scan(&d.ModelID, &name, &version, &d.Version, &doc, &created, &d.LogIndex); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(doc), &d.NewDisclosure); err != nil {
		return nil, registry.Tampered("the disclosure of model %s, version %d, logged at index %d, is not valid JSON", d.ModelID, d.Version, d.LogIndex)
	}
	d.Model, d.CreatedAt = name+"@"+version, fromMillis(created)
	return &d, nil
}

func getDisclosure(ctx context.Context, q queryer, modelID string, version int) (*registry.Disclosure, error) {
	if !storable(modelID) {
		return nil, registry.Errorf(registry.ENOTFOUND, "model %q has no disclosure", modelID)
	}
	var row *sql.Row
	if version == 0 {
		row = q.QueryRowContext(ctx, disclosureSelect+" WHERE d.model_id = ? ORDER BY d.version DESC LIMIT 1", modelID)
	} else {
		row = q.QueryRowContext(ctx, disclosureSelect+" WHERE d.model_id = ? AND d.version = ?", modelID, version)
	}
	d, err := scanDisclosure(row)
	switch {
	case errors.Is(err, sql.ErrNoRows) && version == 0:
		return nil, registry.Errorf(registry.ENOTFOUND, "model %s has no disclosure", modelID)
	case errors.Is(err, sql.ErrNoRows):
		return nil, registry.Errorf(registry.ENOTFOUND, "model %s has no disclosure version %d", modelID, version)
	case err != nil && !errors.Is(err, registry.ErrTampered):
		return nil, fmt.Errorf("read disclosure: %w", err)
	}
	return d, err
}

// GetDisclosure implements registry.DisclosureStore.
func (s *Store) GetDisclosure(ctx context.Context, modelID string, version int) (*registry.Disclosure, error) {
	return getDisclosure(ctx, s.r, modelID, version)
}

// ListDisclosureVersions implements registry.DisclosureStore.
func (s *Store) ListDisclosureVersions(ctx context.Context, modelID string) ([]registry.DisclosureVersion, error) {
	out := []registry.DisclosureVersion{}
	if !storable(modelID) {
		return out, nil
	}
	rows, err := s.r.QueryContext(ctx, "SELECT version, created_at, log_index FROM model_disclosures WHERE model_id = ? ORDER BY version", modelID)
	if err != nil {
		return nil, fmt.Errorf("list disclosures: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v registry.DisclosureVersion
		var created int64
		if err := rows.Scan(&v.Version, &created, &v.LogIndex); err != nil {
			return nil, fmt.Errorf("list disclosures: %w", err)
		}
		v.CreatedAt = fromMillis(created)
		out = append(out, v)
	}
	return out, rows.Err()
}

// ListDisclosures implements registry.DisclosureStore.
func (s *Store) ListDisclosures(ctx context.Context, afterModel string, afterVersion, limit int) ([]*registry.Disclosure, error) {
	if !storable(afterModel) {
		return nil, invalidCursor()
	}
	rows, err := s.r.QueryContext(ctx, disclosureSelect+` WHERE d.model_id > ? OR (d.model_id = ? AND d.version > ?)
		ORDER BY d.model_id, d.version LIMIT ?`, afterModel, afterModel, afterVersion, limit)
	if err != nil {
		return nil, fmt.Errorf("list disclosures: %w", err)
	}
	defer rows.Close()
	var out []*registry.Disclosure
	for rows.Next() {
		d, err := scanDisclosure(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// LatestDisclosure implements registry.DisclosureTx.
func (t writeTx) LatestDisclosure(ctx context.Context, modelID string) (*registry.Disclosure, error) {
	d, err := getDisclosure(ctx, t.tx, modelID, 0)
	if registry.ErrorCode(err) == registry.ENOTFOUND {
		return nil, nil
	}
	return d, err
}

// WriteDisclosure implements registry.DisclosureTx.
func (t writeTx) WriteDisclosure(ctx context.Context, d *registry.Disclosure) error {
	doc, err := d.Document()
	if err != nil {
		return err
	}
	leaf, err := registry.DisclosureLeaf(d)
	if err != nil {
		return fmt.Errorf("log leaf of disclosure: %w", err)
	}
	if d.LogIndex, err = t.log.add(registry.KindDisclosure, registry.DisclosureLeafID(d.ModelID, d.Version), leaf); err != nil {
		return err
	}
	if _, err := t.tx.ExecContext(ctx, "INSERT INTO model_disclosures (model_id, version, document, created_at, log_index) VALUES (?,?,?,?,?)",
		d.ModelID, d.Version, string(doc), millis(d.CreatedAt), d.LogIndex); err != nil {
		return fmt.Errorf("insert disclosure: %w", err)
	}
	return nil
}

// disclosureLeaves re-derives the leaf of every stored disclosure version.
func (s *Store) disclosureLeaves(ctx context.Context, fn func(int64, []byte) error) error {
	return leaves.WalkDisclosures(ctx, s, fn)
}
