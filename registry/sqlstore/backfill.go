package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/pedigreeml/pedigree/registry"
)

// backfills are the parts of migrations that SQL cannot do, by the name a migration file has after
// its number (the same name in every dialect). Each runs in its migration's transaction, after the
// file's SQL.
var backfills = map[string]func(ctx context.Context, tx *txn) error{
	"dedup":       backfillDedup,
	"stat_groups": backfillStatGroups,
}

// backfillDedup fills in the normalized keys of the samples stored before the "dedup" migration, and
// indexes the band keys of their model samples. Their clusters stay their own: clustering them would
// change nothing that their logged leaves hold, so the log could not vouch for it.
func backfillDedup(ctx context.Context, tx *txn) error {
	scan := func(rows *sql.Rows, s *registry.Sample) error {
		return rows.Scan(&s.ID, &s.Text, &s.Origin, &s.LogIndex)
	}
	return samplePages(ctx, tx, "id, text, origin, log_index", scan, func(page []*registry.Sample) error {
		registry.Norms(page) // computes each sample's key and sketch
		for _, s := range page {
			if _, err := tx.ExecContext(ctx, "UPDATE samples SET norm_sha256 = ? WHERE id = ?", hexBytes(s.NormSHA256), s.ID); err != nil {
				return fmt.Errorf("backfill sample %s: %w", s.ID, err)
			}
		}
		_, err := writeBands(ctx, tx, page)
		return err
	})
}

// samplePages calls fn with every sample, in id order, 1,000 at a time: each read by scan from the
// columns cols, the id first. fn may update the page's rows.
func samplePages(ctx context.Context, tx *txn, cols string, scan func(*sql.Rows, *registry.Sample) error, fn func([]*registry.Sample) error) error {
	for after := ""; ; {
		rows, err := tx.QueryContext(ctx, "SELECT "+cols+" FROM samples WHERE id > ? ORDER BY id LIMIT 1000", after)
		if err != nil {
			return err
		}
		var page []*registry.Sample
		for rows.Next() {
			s := &registry.Sample{}
			if err := scan(rows, s); err != nil {
				rows.Close()
				return err
			}
			page = append(page, s)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		if err := fn(page); err != nil {
			return err
		}
		after = page[len(page)-1].ID
	}
}
