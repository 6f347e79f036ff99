package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/pedigreeml/pedigree/ledger"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/leaves"
)

const policyColumns = "name, version, sha256, module, limits, created_at, log_index"

func scanPolicy(sc interface{ Scan(...any) error }) (*registry.PolicyVersion, error) {
	var p registry.PolicyVersion
	var limits string
	var created int64
	if err := sc.Scan(&p.Name, &p.Version, &p.SHA256, &p.Module, &limits, &created, &p.LogIndex); err != nil {
		return nil, err
	}
	p.Limits, p.CreatedAt = []byte(limits), fromMillis(created)
	return &p, nil
}

// CreatePolicyVersion implements registry.MixStore: the next version number, unless the latest
// version already has this text, which is then returned with created false. The latest version is
// read under the sequencer lock, so concurrent uploads on any instance number one after another.
func (s *Store) CreatePolicyVersion(ctx context.Context, p *registry.PolicyVersion) (bool, error) {
	created := false
	err := s.write(ctx, func(tx pgx.Tx, log *logWriter) error {
		latest, err := scanPolicy(tx.QueryRow(ctx, "SELECT "+policyColumns+" FROM policy_versions WHERE name = $1 ORDER BY version DESC LIMIT 1", p.Name))
		switch {
		case err == nil && latest.SHA256 == p.SHA256:
			*p = *latest
			return nil
		case err == nil:
			p.Version = latest.Version + 1
		case errors.Is(err, pgx.ErrNoRows):
			p.Version = 1
		default:
			return fmt.Errorf("read policy: %w", err)
		}
		leaf, err := leaves.PolicyVersion(p)
		if err != nil {
			return fmt.Errorf("log leaf of policy: %w", err)
		}
		if p.LogIndex, err = log.add(ledger.KindPolicyVersion, p.Name+"@"+strconv.Itoa(p.Version), leaf); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "INSERT INTO policy_versions ("+policyColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7)",
			p.Name, p.Version, p.SHA256, p.Module, string(p.Limits), millis(p.CreatedAt), p.LogIndex); err != nil {
			return fmt.Errorf("insert policy: %w", err)
		}
		created = true
		return nil
	})
	if err != nil {
		return false, err
	}
	return created, nil
}

// GetPolicyVersion implements registry.MixStore; version 0 is the latest.
func (s *Store) GetPolicyVersion(ctx context.Context, name string, version int) (*registry.PolicyVersion, error) {
	notFound := func() error {
		if version == 0 {
			return registry.Errorf(registry.ENOTFOUND, "policy %q not found", name)
		}
		return registry.Errorf(registry.ENOTFOUND, "policy %s@%d not found", name, version)
	}
	if !storable(name) {
		return nil, notFound()
	}
	var row pgx.Row
	if version == 0 {
		row = s.pool.QueryRow(ctx, "SELECT "+policyColumns+" FROM policy_versions WHERE name = $1 ORDER BY version DESC LIMIT 1", name)
	} else {
		row = s.pool.QueryRow(ctx, "SELECT "+policyColumns+" FROM policy_versions WHERE name = $1 AND version = $2", name, version)
	}
	p, err := scanPolicy(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound()
	}
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	return p, nil
}

// ListPolicyVersions implements registry.MixStore: the versions of name after the given one, oldest
// first; with name "", the latest version of every policy, by name, skipping the first after.
func (s *Store) ListPolicyVersions(ctx context.Context, name string, after, limit int) ([]*registry.PolicyVersion, error) {
	if !storable(name) {
		return nil, nil
	}
	var rows pgx.Rows
	var err error
	if name == "" {
		rows, err = s.pool.Query(ctx, "SELECT DISTINCT ON (name) "+policyColumns+
			" FROM policy_versions ORDER BY name, version DESC LIMIT $1 OFFSET $2", limit, max(after, 0))
	} else {
		rows, err = s.pool.Query(ctx, "SELECT "+policyColumns+" FROM policy_versions WHERE name = $1 AND version > $2 ORDER BY version LIMIT $3",
			name, after, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("list policies: %w", err)
	}
	defer rows.Close()
	var out []*registry.PolicyVersion
	for rows.Next() {
		p, err := scanPolicy(rows)
		if err != nil {
			return nil, fmt.Errorf("list policies: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list policies: %w", err)
	}
	return out, nil
}
