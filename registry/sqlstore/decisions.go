package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/pedigreeml/pedigree/registry"
)

// decisionColumns are the columns scanDecision reads, in its order.
const decisionColumns = `id, policy_name, policy_version, policy_sha256, allowed, violations, error, input,
		mix_id, evaluated_at, log_index`

// scanDecision reads one row of decisionColumns.
func scanDecision(row interface{ Scan(...any) error }) (*registry.Decision, error) {
	var d registry.Decision
	var violations, input string
	var mix sql.NullString
	var at int64
	if err := row.Scan(&d.ID, &d.Policy.Name, &d.Policy.Version, &d.Policy.SHA256, &d.Allowed, &violations, &d.Error,
		&input, &mix, &at, &d.LogIndex); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(violations), &d.Violations); err != nil {
		return nil, fmt.Errorf("decision %s violations: %w", d.ID, err)
	}
	d.Input, d.MixID, d.EvaluatedAt = json.RawMessage(input), mix.String, fromMillis(at)
	if d.Violations == nil {
		d.Violations = []string{}
	}
	return &d, nil
}

// ListDecisions implements registry.MixStore.
func (s *Store) ListDecisions(ctx context.Context, f registry.DecisionFilter) ([]*registry.Decision, error) {
	if !storable(f.After) {
		return nil, invalidCursor()
	}
	q, args := "SELECT "+decisionColumns+" FROM decisions WHERE id > ?", []any{f.After}
	if f.Allowed != nil {
		q, args = q+" AND allowed = ?", append(args, *f.Allowed)
	}
	rows, err := s.r.QueryContext(ctx, q+" ORDER BY id LIMIT ?", append(args, f.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("list decisions: %w", err)
	}
	defer rows.Close()
	var out []*registry.Decision
	for rows.Next() {
		d, err := scanDecision(rows)
		if err != nil {
			return nil, fmt.Errorf("list decisions: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
