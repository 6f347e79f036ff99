package sqlstore

import (
	"context"
	"fmt"
	"time"
)

// SetWriteWaitObserver makes every write report how long it waited before it could write: for the
// process's write queue (one write transaction at a time), then for the database's write lock and
// the log's sequencer row. The server feeds this to /metrics. fn must be quick and safe for
// concurrent use; nil stops the reports.
func (s *Store) SetWriteWaitObserver(fn func(time.Duration)) {
	if fn == nil {
		s.onWriteWait.Store(nil)
		return
	}
	s.onWriteWait.Store(&fn)
}

// CountSamples calls fn with the number of stored samples of each origin and generation: one
// grouped query over the samples table, for /metrics, which runs it at start-up and every so often
// (never on a scrape) and counts its own ingests in between.
func (s *Store) CountSamples(ctx context.Context, fn func(origin string, generation int, n int64)) error {
	rows, err := s.r.QueryContext(ctx, "SELECT origin, generation, COUNT(*) FROM samples GROUP BY origin, generation")
	if err != nil {
		return fmt.Errorf("count samples: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var origin string
		var generation int
		var n int64
		if err := rows.Scan(&origin, &generation, &n); err != nil {
			return fmt.Errorf("count samples: %w", err)
		}
		fn(origin, generation, n)
	}
	return rows.Err()
}
