package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/pedigreeml/pedigree/ledger"
	"github.com/pedigreeml/pedigree/registry"
)

const keyColumns = "id, role, hash, created_at, revoked_at, log_index, revoked_log_index, leaf_fields"

func scanKey(sc interface{ Scan(...any) error }) (*registry.APIKey, error) {
	var k registry.APIKey
	var created int64
	var revoked, revokedIdx sql.NullInt64
	if err := sc.Scan(&k.ID, &k.Role, &k.Hash, &created, &revoked, &k.LogIndex, &revokedIdx, &k.LeafFields); err != nil {
		return nil, err
	}
	if revokedIdx.Valid {
		k.RevokedLogIndex = &revokedIdx.Int64
	}
	k.CreatedAt = fromMillis(created)
	if revoked.Valid {
		t := fromMillis(revoked.Int64)
		k.RevokedAt = &t
	}
	return &k, nil
}

// WriteKey implements registry.Tx.
func (t writeTx) WriteKey(ctx context.Context, k *registry.APIKey) error {
	k.LeafFields = registry.CurrentLeafFields
	leaf, err := registry.KeyCreatedLeaf(k)
	if err != nil {
		return err
	}
	if k.LogIndex, err = t.log.add(ledger.KindKeyCreated, k.ID, leaf); err != nil {
		return err
	}
	if _, err := t.tx.ExecContext(ctx, "INSERT INTO api_keys ("+keyColumns+") VALUES (?,?,?,?,NULL,?,NULL,?)",
		k.ID, k.Role, k.Hash, millis(k.CreatedAt), k.LogIndex, k.LeafFields); err != nil {
		return fmt.Errorf("insert key: %w", err)
	}
	return nil
}

// GetKey implements registry.Tx.
func (t writeTx) GetKey(ctx context.Context, id string) (*registry.APIKey, error) {
	return getKey(ctx, t.tx, id)
}

// GetKey implements registry.Store.
func (s *Store) GetKey(ctx context.Context, id string) (*registry.APIKey, error) {
	return getKey(ctx, s.r, id)
}

func getKey(ctx context.Context, q queryer, id string) (*registry.APIKey, error) {
	if !storable(id) {
		return nil, registry.Errorf(registry.ENOTFOUND, "key %q not found", id)
	}
	k, err := scanKey(q.QueryRowContext(ctx, "SELECT "+keyColumns+" FROM api_keys WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, registry.Errorf(registry.ENOTFOUND, "key %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	return k, nil
}

// ListKeys implements registry.Store.
func (s *Store) ListKeys(ctx context.Context, after string, limit int) ([]*registry.APIKey, error) {
	if !storable(after) {
		return nil, invalidCursor()
	}
	rows, err := s.r.QueryContext(ctx, "SELECT "+keyColumns+" FROM api_keys WHERE id > ? ORDER BY id LIMIT ?", after, limit)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	defer rows.Close()
	var out []*registry.APIKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// WriteRevocation implements registry.Tx.
func (t writeTx) WriteRevocation(ctx context.Context, k *registry.APIKey, at time.Time) error {
	leaf, err := registry.KeyRevokedLeaf(k, at)
	if err != nil {
		return err
	}
	idx, err := t.log.add(ledger.KindKeyRevoked, k.ID, leaf)
	if err != nil {
		return err
	}
	if _, err := t.tx.ExecContext(ctx, "UPDATE api_keys SET revoked_at = ?, revoked_log_index = ? WHERE id = ?", millis(at), idx, k.ID); err != nil {
		return fmt.Errorf("revoke key: %w", err)
	}
	at = at.UTC()
	k.RevokedAt, k.RevokedLogIndex = &at, &idx
	return nil
}

// CountKeys implements registry.Store: every key ever created, revoked or not, so that revoking the
// last admin key never makes a restart mint a new one.
func (s *Store) CountKeys(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM api_keys").Scan(&n)
	return n, err
}
