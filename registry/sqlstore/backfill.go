package sqlstore

import (
	"context"
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
	after := ""
	for {
		rows, err := tx.QueryContext(ctx, "SELECT id, text, origin, log_index FROM samples WHERE id > ? ORDER BY id LIMIT 1000", after)
		if err != nil {
			return err
		}
		var page []*registry.Sample
		for rows.Next() {
			s := &registry.Sample{}
			if err := rows.Scan(&s.ID, &s.Text, &s.Origin, &s.LogIndex); err != nil {
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
		registry.Norms(page) // computes each sample's key and sketch
		for _, s := range page {
			if _, err := tx.ExecContext(ctx, "UPDATE samples SET norm_sha256 = ? WHERE id = ?", hexBytes(s.NormSHA256), s.ID); err != nil {
				return fmt.Errorf("backfill sample %s: %w", s.ID, err)
			}
		}
		if _, err := writeBands(ctx, tx, page); err != nil {
			return err
		}
		after = page[len(page)-1].ID
	}
}
