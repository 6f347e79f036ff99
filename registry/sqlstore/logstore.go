package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/pedigreeml/pedigree/ledger"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/leaves"
	"golang.org/x/mod/sumdb/tlog"
)

var _ ledger.Storage = (*Store)(nil)

// LogSize implements ledger.Storage.
func (s *Store) LogSize(ctx context.Context) (int64, error) {
	var n int64
	err := s.r.QueryRowContext(ctx, "SELECT coalesce(max(idx) + 1, 0) FROM log_leaves").Scan(&n)
	return n, err
}

// ReadLogHashes implements ledger.Storage.
func (s *Store) ReadLogHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error) {
	var out []tlog.Hash
	for len(indexes) > 0 {
		k := min(500, len(indexes))
		part, err := hashReader{ctx: ctx, q: s.r}.ReadHashes(indexes[:k])
		if err != nil {
			return nil, err
		}
		out = append(out, part...)
		indexes = indexes[k:]
	}
	return out, nil
}

// ReadLogLeaves implements ledger.Storage: the leaves at from, from+1, …, n of them or fewer where
// the log ends. A leaf missing before the end is an *ledger.AuditError, never a shorter or shifted
// page.
func (s *Store) ReadLogLeaves(ctx context.Context, from int64, n int) ([][]byte, error) {
	if n <= 0 {
		return nil, nil
	}
	rows, err := s.r.QueryContext(ctx, "SELECT idx, leaf FROM log_leaves WHERE idx >= ? ORDER BY idx LIMIT ?", from, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([][]byte, 0, n)
	for rows.Next() {
		var idx int64
		var leaf []byte
		if err := rows.Scan(&idx, &leaf); err != nil {
			return nil, err
		}
		if want := from + int64(len(out)); idx != want {
			return nil, &ledger.AuditError{Leaf: want, StoredIndex: -1, Reason: "the leaf is missing from the stored log"}
		}
		out = append(out, leaf)
	}
	return out, rows.Err()
}

// ReadLogLeavesAt implements ledger.Storage; a missing leaf is nil.
func (s *Store) ReadLogLeavesAt(ctx context.Context, indexes []int64) ([][]byte, error) {
	cond, args := in(s.d, "idx", indexes)
	rows, err := s.r.QueryContext(ctx, "SELECT idx, leaf FROM log_leaves WHERE "+cond, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byIdx := make(map[int64][]byte, len(indexes))
	for rows.Next() {
		var i int64
		var b []byte
		if err := rows.Scan(&i, &b); err != nil {
			return nil, err
		}
		byIdx[i] = b
	}
	out := make([][]byte, len(indexes))
	for i, x := range indexes {
		out[i] = byIdx[x]
	}
	return out, rows.Err()
}

// LatestCheckpoint implements ledger.Storage.
func (s *Store) LatestCheckpoint(ctx context.Context) ([]byte, error) {
	var note []byte
	err := s.r.QueryRowContext(ctx, "SELECT note FROM log_checkpoints ORDER BY size DESC LIMIT 1").Scan(&note)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return note, err
}

// SaveCheckpoint implements ledger.Storage; a checkpoint of a size already stored is kept as it was.
func (s *Store) SaveCheckpoint(ctx context.Context, t tlog.Tree, note []byte) error {
	return s.tx(ctx, func(tx *txn) error { // appends no leaf, so takes no sequencer
		_, err := tx.ExecContext(ctx, "INSERT INTO log_checkpoints (size, root, note, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (size) DO NOTHING",
			t.N, t.Hash[:], note, time.Now().UnixMilli())
		return err
	})
}

// RecordLeaves re-derives every record's log leaf from the record as stored (a ledger.RecordLeaves),
// with the same leaves as every other store (registry/leaves). Samples are also checked against
// their content hash and mixes' manifests against theirs, so an edited text or manifest is found
// too, and the sequencer's head against the log.
func (s *Store) RecordLeaves(ctx context.Context, fn func(index int64, leaf []byte) error) error {
	for _, walk := range []func(context.Context, func(int64, []byte) error) error{
		s.checkHead, s.sampleLeaves, s.modelLeaves, s.keyLeaves, s.policyLeaves, s.decisionLeaves, s.mixLeaves, s.idempotencyLeaves, s.manifests, s.disclosureLeaves,
		s.rescoreLeaves,
	} {
		if err := walk(ctx, fn); err != nil {
			return err
		}
	}
	return nil
}

func emit(fn func(int64, []byte) error, index int64, leaf []byte, err error) error {
	if err != nil {
		return err
	}
	return fn(index, leaf)
}

// recordPage is how many records a walk reads with one query; each query is closed before fn runs.
const recordPage = 500

// sampleLeaves walks samples by id, a page at a time: each text is hashed as its row arrives and
// then dropped (leaves hold the content hash, and texts may be up to 1 MiB each), so memory stays
// constant whatever the number of samples; the parents of the page are read once its query is
// closed.
func (s *Store) sampleLeaves(ctx context.Context, fn func(int64, []byte) error) error {
	var bands int64
	for after := ""; ; {
		page, err := s.samplePage(ctx, after)
		if err != nil {
			return err
		}
		for _, smp := range page {
			bands += int64(len(registry.DistinctBands(smp)))
		}
		if len(page) == 0 {
			return s.checkBandCount(ctx, bands)
		}
		if err := parents(ctx, s.r, page); err != nil { // leaves need parents, not ranks
			return err
		}
		if err := s.checkRescored(ctx, page); err != nil {
			return err
		}
		for _, smp := range page {
			if reason := registry.IdentityMismatch(smp); reason != "" {
				return &ledger.AuditError{Leaf: smp.LogIndex, StoredIndex: -1, Reason: reason}
			}
			leaf, err := registry.SampleLeaf(smp)
			if err := emit(fn, smp.LogIndex, leaf, err); err != nil {
				return err
			}
		}
		if len(page) < recordPage {
			return s.checkBandCount(ctx, bands)
		}
		after = page[len(page)-1].ID
	}
}

// checkRescored checks that each re-scored sample of a page holds its latest re-score's metrics,
// and that no sample claims a re-score it does not have.
func (s *Store) checkRescored(ctx context.Context, page []*registry.Sample) error {
	var ids []string
	for _, smp := range page {
		if smp.IngestMetrics != "" {
			ids = append(ids, smp.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	latest, err := s.LatestRescores(ctx, ids)
	if err != nil {
		return err
	}
	for _, smp := range page {
		if smp.IngestMetrics == "" {
			continue
		}
		if err := registry.CheckLatestRescore(smp, latest[smp.ID]); err != nil {
			return &ledger.AuditError{Leaf: smp.LogIndex, StoredIndex: -1, Reason: err.Error(), Err: err}
		}
	}
	return nil
}

// samplePage reads the samples after the given id, checking each text against its content hash and
// dropping it. The metadata stays: the leaf covers it (at most 16 KiB a sample).
func (s *Store) samplePage(ctx context.Context, after string) ([]*registry.Sample, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT "+sampleColumns+", stat_group FROM samples WHERE id > ? ORDER BY id LIMIT ?", after, recordPage)
	if err != nil {
		return nil, fmt.Errorf("read samples: %w", err)
	}
	defer rows.Close()
	page := make([]*registry.Sample, 0, recordPage)
	groups := make([]*int64, 0, recordPage)
	for rows.Next() {
		var group *int64
		smp, err := scanSample(scanAlso{rows, []any{&group}})
		if err != nil {
			return nil, fmt.Errorf("read samples: %w", err)
		}
		groups = append(groups, group)
		if reason := registry.DerivedMismatch(smp); reason != "" {
			return nil, &ledger.AuditError{Leaf: smp.LogIndex, StoredIndex: -1, Reason: reason}
		}
		if smp.Origin == registry.OriginModel {
			smp.PrepareDedup() // the band keys the index must hold for it
		}
		smp.Text = ""
		page = append(page, smp)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	if err := s.checkStatGroups(ctx, page, groups); err != nil {
		return nil, err
	}
	return page, s.checkBands(ctx, page)
}

// scanAlso scans a row into a scanner's destinations, then into more.
type scanAlso struct {
	rows *sql.Rows
	more []any
}

func (s scanAlso) Scan(dest ...any) error { return s.rows.Scan(append(dest, s.more...)...) }

// checkBands checks that the near-duplicate index holds every band key of the page's model samples,
// so that a deleted row, which would let laundered text past the check, is found. checkBandCount
// finds planted rows.
func (s *Store) checkBands(ctx context.Context, page []*registry.Sample) error {
	want := map[int64][]string{}
	var keys []int64
	for _, smp := range page {
		for _, b := range registry.DistinctBands(smp) {
			if len(want[b]) == 0 {
				keys = append(keys, b)
			}
			want[b] = append(want[b], smp.ID)
		}
	}
	have := map[[2]int64]bool{}
	err := batches(s.d, keys, 500, func(part []int64) error {
		cond, args := in(s.d, "band", part)
		rows, err := s.r.QueryContext(ctx, "SELECT band, log_index FROM sample_bands WHERE "+cond, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var b, idx int64
			if err := rows.Scan(&b, &idx); err != nil {
				return err
			}
			have[[2]int64{b, idx}] = true
		}
		return rows.Err()
	})
	if err != nil {
		return fmt.Errorf("read band keys: %w", err)
	}
	for _, smp := range page {
		for _, b := range registry.DistinctBands(smp) {
			if !have[[2]int64{b, smp.LogIndex}] {
				return &ledger.AuditError{Leaf: smp.LogIndex, StoredIndex: -1,
					Reason: "the near-duplicate index lacks a band key of sample " + smp.ID}
			}
		}
	}
	return nil
}

// checkBandCount checks that the near-duplicate index holds no more rows than the band keys of its
// model samples (want, counted by the walk): with checkBands, exactly those.
func (s *Store) checkBandCount(ctx context.Context, want int64) error {
	var n int64
	if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM sample_bands").Scan(&n); err != nil {
		return fmt.Errorf("count band keys: %w", err)
	}
	if n != want {
		return &ledger.AuditError{Leaf: -1, StoredIndex: -1,
			Reason: fmt.Sprintf("the near-duplicate index holds %d band keys, its model samples have %d", n, want)}
	}
	return nil
}

// checkHead checks that the sequencer's head counts the leaves stored, so that a head moved by hand
// is found before it breaks the next write.
func (s *Store) checkHead(ctx context.Context, _ func(int64, []byte) error) error {
	var head, n int64
	if err := s.r.QueryRowContext(ctx, `SELECT coalesce((SELECT size FROM log_head WHERE id = 1), -1),
		(SELECT coalesce(max(idx) + 1, 0) FROM log_leaves)`).Scan(&head, &n); err != nil {
		return fmt.Errorf("read the log head: %w", err)
	}
	if head != n {
		return &ledger.AuditError{Leaf: -1, StoredIndex: -1,
			Reason: fmt.Sprintf("the sequencer's head counts %d leaves, the log holds %d", head, n)}
	}
	return nil
}

// scanPrefix scans a leading extra column before the ones a scan function expects.
type scanPrefix struct {
	rows  *sql.Rows
	first any
}

func (p scanPrefix) Scan(dest ...any) error { return p.rows.Scan(append([]any{p.first}, dest...)...) }

func (s *Store) modelLeaves(ctx context.Context, fn func(int64, []byte) error) error {
	return leaves.WalkModels(ctx, s.ListModels, fn)
}

func (s *Store) keyLeaves(ctx context.Context, fn func(int64, []byte) error) error {
	return leaves.WalkKeys(ctx, s.ListKeys, fn)
}

func (s *Store) policyLeaves(ctx context.Context, fn func(int64, []byte) error) error {
	rows, err := s.r.QueryContext(ctx, "SELECT "+policyColumns+" FROM policy_versions ORDER BY name, version")
	if err != nil {
		return err
	}
	var list []*registry.PolicyVersion
	for rows.Next() {
		p, err := scanPolicy(rows)
		if err != nil {
			rows.Close()
			return err
		}
		list = append(list, p)
	}
	rows.Close()
	for _, p := range list {
		leaf, err := registry.PolicyVersionLeaf(p)
		if err := emit(fn, p.LogIndex, leaf, err); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (s *Store) decisionLeaves(ctx context.Context, fn func(int64, []byte) error) error {
	for after := ""; ; {
		var ids []string
		rows, err := s.r.QueryContext(ctx, "SELECT id FROM decisions WHERE id > ? ORDER BY id LIMIT 500", after)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		for _, id := range ids {
			d, err := s.GetDecision(ctx, id)
			if err != nil {
				return err
			}
			leaf, err := registry.DecisionLeaf(d)
			if err := emit(fn, d.LogIndex, leaf, err); err != nil {
				return err
			}
		}
		if len(ids) < 500 {
			return rows.Err()
		}
		after = ids[len(ids)-1]
	}
}

func (s *Store) mixLeaves(ctx context.Context, fn func(int64, []byte) error) error {
	for after := ""; ; {
		list, err := s.ListMixes(ctx, after, 500)
		if err != nil {
			return err
		}
		for _, m := range list {
			var request string
			if err := s.r.QueryRowContext(ctx, "SELECT request FROM mixes WHERE id = ?", m.ID).Scan(&request); err != nil {
				return err
			}
			leaf, err := registry.MixLeaf(m, []byte(request))
			if err := emit(fn, m.LogIndex, leaf, err); err != nil {
				return err
			}
		}
		if len(list) < 500 {
			return nil
		}
		after = list[len(list)-1].ID
	}
}

// idempotencyLeaves re-derives the leaf of every stored idempotency record.
func (s *Store) idempotencyLeaves(ctx context.Context, fn func(int64, []byte) error) error {
	return leaves.WalkIdempotency(ctx, s.ListIdempotency, fn)
}

// ListIdempotency returns the idempotency records whose leaf ids follow after, in leaf id order.
func (s *Store) ListIdempotency(ctx context.Context, after string, limit int) ([]*registry.IdempotencyRecord, error) {
	return s.idempotencyRecords(ctx, "record_id > ? ORDER BY record_id LIMIT ?", after, limit)
}

// IdempotencyRecord returns the idempotency record whose log leaf has the given id (see
// leaves.IdempotencyID), or an error wrapping ledger.ErrNoRecord.
func (s *Store) IdempotencyRecord(ctx context.Context, recordID string) (*registry.IdempotencyRecord, error) {
	list, err := s.idempotencyRecords(ctx, "record_id = ?", recordID)
	if err != nil {
		return nil, err
	}
	if len(list) != 1 {
		return nil, fmt.Errorf("idempotency record %s: %w", recordID, ledger.ErrNoRecord)
	}
	return list[0], nil
}

func (s *Store) idempotencyRecords(ctx context.Context, where string, args ...any) ([]*registry.IdempotencyRecord, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT record_id, scope, key, request_sha256, result, created_at, log_index FROM idempotency WHERE "+where, args...)
	if err != nil {
		return nil, fmt.Errorf("read idempotency records: %w", err)
	}
	defer rows.Close()
	var out []*registry.IdempotencyRecord
	for rows.Next() {
		var id, scope, key, request, result string
		var created, index int64
		if err := rows.Scan(&id, &scope, &key, &request, &result, &created, &index); err != nil {
			return nil, fmt.Errorf("read idempotency records: %w", err)
		}
		r, err := registry.NewIdempotencyRecord(id, scope, key, request, result, fromMillis(created), index)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// manifests checks every mix's manifest against its logged hash.
func (s *Store) manifests(ctx context.Context, _ func(int64, []byte) error) error {
	return leaves.CheckManifests(ctx, s)
}
