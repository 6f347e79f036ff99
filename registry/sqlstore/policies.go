package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/pedigreeml/pedigree/ledger"
	"github.com/pedigreeml/pedigree/registry"
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

// LatestPolicyVersion implements registry.Tx.
func (t writeTx) LatestPolicyVersion(ctx context.Context, name string) (*registry.PolicyVersion, error) {
	p, err := scanPolicy(t.tx.QueryRowContext(ctx, "SELECT "+policyColumns+" FROM policy_versions WHERE name = ? ORDER BY version DESC LIMIT 1", name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, registry.Errorf(registry.ENOTFOUND, "policy %q not found", name)
	}
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	return p, nil
}

// WritePolicyVersion implements registry.Tx.
func (t writeTx) WritePolicyVersion(ctx context.Context, p *registry.PolicyVersion) error {
	leaf, err := registry.PolicyVersionLeaf(p)
	if err != nil {
		return err
	}
	if p.LogIndex, err = t.log.add(ledger.KindPolicyVersion, p.Name+"@"+strconv.Itoa(p.Version), leaf); err != nil {
		return err
	}
	if _, err := t.tx.ExecContext(ctx, "INSERT INTO policy_versions ("+policyColumns+") VALUES (?,?,?,?,?,?,?)",
		p.Name, p.Version, p.SHA256, p.Module, string(p.Limits), millis(p.CreatedAt), p.LogIndex); err != nil {
		return fmt.Errorf("insert policy: %w", err)
	}
	return nil
}

// GetPolicyVersion implements registry.MixStore.
func (s *Store) GetPolicyVersion(ctx context.Context, name string, version int) (*registry.PolicyVersion, error) {
	if !storable(name) {
		return nil, registry.Errorf(registry.ENOTFOUND, "policy %q not found", name)
	}
	var row *sql.Row
	if version == 0 {
		row = s.r.QueryRowContext(ctx, "SELECT "+policyColumns+" FROM policy_versions WHERE name = ? ORDER BY version DESC LIMIT 1", name)
	} else {
		row = s.r.QueryRowContext(ctx, "SELECT "+policyColumns+" FROM policy_versions WHERE name = ? AND version = ?", name, version)
	}
	p, err := scanPolicy(row)
	if errors.Is(err, sql.ErrNoRows) {
		if version == 0 {
			return nil, registry.Errorf(registry.ENOTFOUND, "policy %q not found", name)
		}
		return nil, registry.Errorf(registry.ENOTFOUND, "policy %s@%d not found", name, version)
	}
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	return p, nil
}

// ListPolicyVersions implements registry.MixStore: the versions of name after the given one, oldest
// first; with name "", the latest version of every policy, by name.
func (s *Store) ListPolicyVersions(ctx context.Context, name string, after, limit int) ([]*registry.PolicyVersion, error) {
	if !storable(name) {
		return nil, nil
	}
	var rows *sql.Rows
	var err error
	if name == "" {
		rows, err = s.r.QueryContext(ctx, "SELECT "+policyColumns+` FROM policy_versions p
			WHERE version = (SELECT max(version) FROM policy_versions WHERE name = p.name) ORDER BY name LIMIT ? OFFSET ?`, limit, after)
	} else {
		rows, err = s.r.QueryContext(ctx, "SELECT "+policyColumns+" FROM policy_versions WHERE name = ? AND version > ? ORDER BY version LIMIT ?", name, after, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("list policies: %w", err)
	}
	defer rows.Close()
	var out []*registry.PolicyVersion
	for rows.Next() {
		p, err := scanPolicy(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
