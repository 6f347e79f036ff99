package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/pedigreeml/pedigree/ledger"
	"github.com/pedigreeml/pedigree/registry"
)

// A statGroup is what a mix's statistics count a sample by (registry.StatsGroup's key fields): a
// row of stat_groups, which each sample names in its stat_group column, so that a draw groups its
// selection by one integer (draw.Stats). The fields never change once a sample is stored.
type statGroup struct {
	model, dataset, kind, source, license, basis, uri string
	generation                                        int
}

// statGroupOf is a sample's statistics group. Its source is named as the statistics name it
// (registry.SourceName); its URI is kept for every kind but web_crawl, whose sources are hosts and
// whose statistics name no URI.
func statGroupOf(s *registry.Sample) statGroup {
	g := statGroup{model: s.Model, generation: s.Generation, dataset: s.Dataset, kind: s.Source.Kind,
		source:  registry.SourceName(s.Source.Kind, s.Source.Name, s.Source.URI, s.Dataset),
		license: s.Source.License, basis: s.GenerationBasis}
	if s.Source.Kind != "web_crawl" {
		g.uri = s.Source.URI
	}
	return g
}

// key is the SHA-256 of the group's fields, each length-prefixed: the unique key a group is found
// by at ingest.
func (g statGroup) key() [32]byte {
	h := sha256.New()
	for _, f := range []string{g.model, strconv.Itoa(g.generation), g.dataset, g.kind, g.source, g.license, g.basis, g.uri} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// statGroupColumns are stat_groups' columns in statGroup.args order.
const statGroupColumns = "model, generation, dataset, source_kind, source, license, generation_basis, uri"

func (g statGroup) args() []any {
	return []any{g.model, g.generation, g.dataset, g.kind, g.source, g.license, g.basis, g.uri}
}

// statGroups finds or creates the statistics group of each sample, in the write transaction tx:
// one query for the batch's groups (a batch usually has a handful), and an insert for each group
// not stored yet. Writes hold the sequencer, so no other writer adds a group meanwhile.
func statGroups(ctx context.Context, tx *txn, samples []*registry.Sample) ([]int64, error) {
	keys := make([][32]byte, len(samples))
	byKey := map[[32]byte]statGroup{}
	for i, smp := range samples {
		g := statGroupOf(smp)
		keys[i] = g.key()
		byKey[keys[i]] = g
	}
	lookup := make([][]byte, 0, len(byKey))
	for k := range byKey {
		lookup = append(lookup, k[:])
	}
	ids := make(map[[32]byte]int64, len(byKey))
	err := batches(tx.d, lookup, 500, func(part [][]byte) error {
		cond, args := in(tx.d, "fields_sha256", part)
		rows, err := tx.QueryContext(ctx, "SELECT id, fields_sha256 FROM stat_groups WHERE "+cond, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var k []byte
			if err := rows.Scan(&id, &k); err != nil {
				return err
			}
			ids[[32]byte(k)] = id
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("find statistics groups: %w", err)
	}
	for k, g := range byKey {
		if _, ok := ids[k]; ok {
			continue
		}
		var id int64
		if err := tx.QueryRowContext(ctx, "INSERT INTO stat_groups ("+statGroupColumns+", fields_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
			append(g.args(), k[:])...).Scan(&id); err != nil {
			return nil, fmt.Errorf("add a statistics group: %w", err)
		}
		ids[k] = id
	}
	out := make([]int64, len(samples))
	for i, k := range keys {
		out[i] = ids[k]
	}
	return out, nil
}

// backfillStatGroups gives every sample its statistics group: the samples stored before the
// "stat_groups" migration, or rows a test inserted raw (FillStatGroups); a sample that has its
// group gets the same one again. Each page's samples are updated a group at a time. It pages by id
// alone: a filter on the groups not yet set (stat_group IS NULL) led PostgreSQL, on a table without
// planner statistics, to scan the table for every page (1,000,000 samples in 7.7 minutes).
func backfillStatGroups(ctx context.Context, tx *txn) error {
	const cols = "id, coalesce(model, ''), generation, dataset, source_kind, source_name, source_uri, license, generation_basis"
	scan := func(rows *sql.Rows, s *registry.Sample) error {
		return rows.Scan(&s.ID, &s.Model, &s.Generation, &s.Dataset, &s.Source.Kind, &s.Source.Name, &s.Source.URI,
			&s.Source.License, &s.GenerationBasis)
	}
	return samplePages(ctx, tx, cols, scan, func(page []*registry.Sample) error {
		groups, err := statGroups(ctx, tx, page)
		if err != nil {
			return err
		}
		members := map[int64][]string{}
		for i, s := range page {
			members[groups[i]] = append(members[groups[i]], s.ID)
		}
		for g, ids := range members {
			cond, args := in(tx.d, "id", ids)
			if _, err := tx.ExecContext(ctx, "UPDATE samples SET stat_group = ? WHERE "+cond, append([]any{g}, args...)...); err != nil {
				return fmt.Errorf("backfill statistics groups: %w", err)
			}
		}
		return nil
	})
}

// FillStatGroups gives every sample its statistics group, as the migration does, for tests that
// insert rows raw (SampleArgs has no group).
func (s *Store) FillStatGroups(ctx context.Context) error {
	return s.tx(ctx, func(tx *txn) error { return backfillStatGroups(ctx, tx) })
}

// checkStatGroups checks that each sample of a page names the statistics group its own fields
// derive, so that a sample moved to another group, or a group's fields edited, which would change
// what a mix's statistics (and the EU AI Act summary built from them) say, is found.
func (s *Store) checkStatGroups(ctx context.Context, page []*registry.Sample, groups []*int64) error {
	var ids []int64
	seen := map[int64]bool{}
	for _, g := range groups {
		if g != nil && !seen[*g] {
			seen[*g] = true
			ids = append(ids, *g)
		}
	}
	stored := make(map[int64]statGroup, len(ids))
	err := batches(s.d, ids, 500, func(part []int64) error {
		cond, args := in(s.d, "id", part)
		rows, err := s.r.QueryContext(ctx, "SELECT id, "+statGroupColumns+" FROM stat_groups WHERE "+cond, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var g statGroup
			if err := rows.Scan(&id, &g.model, &g.generation, &g.dataset, &g.kind, &g.source, &g.license, &g.basis, &g.uri); err != nil {
				return err
			}
			stored[id] = g
		}
		return rows.Err()
	})
	if err != nil {
		return fmt.Errorf("read statistics groups: %w", err)
	}
	for i, smp := range page {
		if groups[i] == nil {
			return &ledger.AuditError{Leaf: smp.LogIndex, StoredIndex: -1, Reason: "the sample names no statistics group"}
		}
		if g, ok := stored[*groups[i]]; !ok || g != statGroupOf(smp) {
			return &ledger.AuditError{Leaf: smp.LogIndex, StoredIndex: -1,
				Reason: fmt.Sprintf("the sample's statistics group %d does not hold its fields", *groups[i])}
		}
	}
	return nil
}
