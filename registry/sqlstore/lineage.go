package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/pedigreeml/pedigree/registry"
)

// Lineage walks the edges with one recursive query per direction, bounded by depth and node count.
// UNION (not UNION ALL) keeps each (sample, depth) once, so diamonds do not multiply rows. {{text}}
// is the dialect's typed text parameter.
const (
	ancestorsSQL = `WITH RECURSIVE walk(id, depth) AS (
		SELECT {{text}}, 0
		UNION
		SELECT e.parent_id, walk.depth + 1 FROM edges e JOIN walk ON e.child_id = walk.id WHERE walk.depth < ?
	)
	SELECT w.id, min(w.depth), s.origin, coalesce(s.model, ''), s.generation
	FROM walk w JOIN samples s ON s.id = w.id
	GROUP BY w.id, s.origin, s.model, s.generation ORDER BY min(w.depth), w.id LIMIT ?`
	descendantsSQL = `WITH RECURSIVE walk(id, depth) AS (
		SELECT {{text}}, 0
		UNION
		SELECT e.child_id, walk.depth + 1 FROM edges e JOIN walk ON e.parent_id = walk.id WHERE walk.depth < ?
	)
	SELECT w.id, min(w.depth), s.origin, coalesce(s.model, ''), s.generation
	FROM walk w JOIN samples s ON s.id = w.id
	GROUP BY w.id, s.origin, s.model, s.generation ORDER BY min(w.depth), w.id LIMIT ?`
)

// Lineage implements registry.Store.
func (s *Store) Lineage(ctx context.Context, id, direction string, maxDepth, maxNodes int) (*registry.Lineage, error) {
	if _, err := s.GetSample(ctx, id); err != nil {
		return nil, err
	}
	out := registry.NewLineage(id, maxNodes)
	walk := func(query string, sign int) error {
		rows, err := s.r.QueryContext(ctx, strings.ReplaceAll(query, "{{text}}", s.d.TextParam), id, maxDepth, maxNodes+1)
		if err != nil {
			return fmt.Errorf("lineage: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var n registry.LineageNode
			if err := rows.Scan(&n.ID, &n.Depth, &n.Origin, &n.Model, &n.Generation); err != nil {
				return err
			}
			out.Add(n, sign)
		}
		return rows.Err()
	}
	if direction == registry.DirectionAncestors || direction == registry.DirectionBoth {
		if err := walk(ancestorsSQL, -1); err != nil {
			return nil, err
		}
	}
	if direction == registry.DirectionDescendants || direction == registry.DirectionBoth {
		if err := walk(descendantsSQL, 1); err != nil {
			return nil, err
		}
	}
	ids := out.IDs()
	// Edges among the returned nodes: both ends must be in the graph.
	err := batches(s.d, ids, 500, func(part []string) error {
		cond, args := in(s.d, "child_id", part)
		rows, err := s.r.QueryContext(ctx, "SELECT parent_id, child_id, kind FROM edges WHERE "+cond+" ORDER BY child_id, parent_id", args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e registry.LineageEdge
			if err := rows.Scan(&e.From, &e.To, &e.Kind); err != nil {
				return err
			}
			out.AddEdge(e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("lineage edges: %w", err)
	}
	return out, nil
}
