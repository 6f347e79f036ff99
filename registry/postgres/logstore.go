package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/pedigreeml/pedigree/ledger"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/leaves"
)

var _ ledger.Storage = (*Store)(nil)

// The log is read without the sequencer lock: a writer commits its leaves, their stored hashes and
// the new head together, and committed leaves and hashes never change, so every statement sees a
// complete log of some size.

// LogSize implements ledger.Storage: the number of leaves committed.
func (s *Store) LogSize(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, "SELECT coalesce(max(idx) + 1, 0) FROM log_leaves").Scan(&n)
	return n, err
}

// ReadLogHashes implements ledger.Storage.
func (s *Store) ReadLogHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error) {
	return hashReader{ctx: ctx, q: s.pool}.ReadHashes(indexes)
}

// ReadLogLeaves implements ledger.Storage: the leaves at from, from+1, …, n of them or fewer where
// the log ends. A leaf missing before the end is an *ledger.AuditError, never a shorter or shifted
// page.
func (s *Store) ReadLogLeaves(ctx context.Context, from int64, n int) ([][]byte, error) {
	if n <= 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, "SELECT idx, leaf FROM log_leaves WHERE idx >= $1 ORDER BY idx LIMIT $2", from, n)
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
	if len(indexes) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, "SELECT idx, leaf FROM log_leaves WHERE idx = ANY($1)", indexes)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byIdx := make(map[int64][]byte, len(indexes))
	for rows.Next() {
		var idx int64
		var leaf []byte
		if err := rows.Scan(&idx, &leaf); err != nil {
			return nil, err
		}
		byIdx[idx] = leaf
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([][]byte, len(indexes))
	for i, x := range indexes {
		out[i] = byIdx[x]
	}
	return out, nil
}

// LatestCheckpoint implements ledger.Storage.
func (s *Store) LatestCheckpoint(ctx context.Context) ([]byte, error) {
	var note []byte
	err := s.pool.QueryRow(ctx, "SELECT note FROM log_checkpoints ORDER BY size DESC LIMIT 1").Scan(&note)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return note, err
}

// SaveCheckpoint implements ledger.Storage; a checkpoint of a size already stored, by this instance
// or another, is kept as it was. It appends no leaf, so it does not take the sequencer lock.
func (s *Store) SaveCheckpoint(ctx context.Context, t tlog.Tree, note []byte) error {
	_, err := s.pool.Exec(ctx, "INSERT INTO log_checkpoints (size, root, note, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (size) DO NOTHING",
		t.N, t.Hash[:], note, time.Now().UnixMilli())
	return err
}

// recordPage is how many records RecordLeaves reads with one query. Each query is closed before fn
// runs, and a page holds records without their texts, so memory stays constant whatever the
// number of records.
const recordPage = 500

// RecordLeaves re-derives every record's log leaf from the record as stored (a ledger.RecordLeaves),
// with the same leaves as every other store (registry/leaves). Samples are also checked against
// their content hash, so an edited text is found too, and the sequencer's head against the log, so
// that a head moved by hand is found before it breaks the next write.
func (s *Store) RecordLeaves(ctx context.Context, fn func(index int64, leaf []byte) error) error {
	for _, walk := range []func(context.Context, func(int64, []byte) error) error{
		s.checkHead, s.sampleLeaves, s.modelLeaves, s.keyLeaves, s.policyLeaves, s.decisionLeaves, s.mixLeaves, s.idempotencyLeaves, s.manifests,
	} {
		if err := walk(ctx, fn); err != nil {
			return err
		}
	}
	return nil
}

// checkHead checks that log_head counts the leaves stored.
func (s *Store) checkHead(ctx context.Context, _ func(int64, []byte) error) error {
	var head, leaves int64
	if err := s.pool.QueryRow(ctx, `SELECT coalesce((SELECT size FROM log_head WHERE id = 1), -1),
		(SELECT coalesce(max(idx) + 1, 0) FROM log_leaves)`).Scan(&head, &leaves); err != nil {
		return fmt.Errorf("read the log head: %w", err)
	}
	if head != leaves {
		return &ledger.AuditError{Leaf: -1, StoredIndex: -1,
			Reason: fmt.Sprintf("the sequencer's head counts %d leaves, the log holds %d", head, leaves)}
	}
	return nil
}

func emit(fn func(int64, []byte) error, index int64, leaf []byte, err error) error {
	if err != nil {
		return err
	}
	return fn(index, leaf)
}

// sampleLeaves walks samples by id, a page at a time: each text is hashed as its row arrives and
// then dropped (leaves hold the content hash, and texts may be up to 1 MiB each); the parents of the
// page are read once its query is closed.
func (s *Store) sampleLeaves(ctx context.Context, fn func(int64, []byte) error) error {
	for after := ""; ; {
		page, err := samplePage(ctx, s.pool, after)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		if err := parents(ctx, s.pool, page); err != nil {
			return err
		}
		for _, smp := range page {
			leaf, err := leaves.Sample(smp)
			if err := emit(fn, smp.LogIndex, leaf, err); err != nil {
				return err
			}
		}
		if len(page) < recordPage {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

// samplePage reads the samples after the given id, checking each text against its content hash and
// dropping it. The metadata stays: the leaf covers it (at most 16 KiB a sample).
func samplePage(ctx context.Context, q queryer, after string) ([]*registry.Sample, error) {
	rows, err := q.Query(ctx, "SELECT "+sampleColumns+" FROM samples WHERE id > $1 ORDER BY id LIMIT $2", after, recordPage)
	if err != nil {
		return nil, fmt.Errorf("read samples: %w", err)
	}
	defer rows.Close()
	page := make([]*registry.Sample, 0, recordPage)
	h := sha256.New()
	for rows.Next() {
		smp, err := scanSample(rows)
		if err != nil {
			return nil, fmt.Errorf("read samples: %w", err)
		}
		h.Reset()
		io.WriteString(h, smp.Text)
		if hex.EncodeToString(h.Sum(nil)) != smp.ContentSHA256 {
			return nil, &ledger.AuditError{Leaf: smp.LogIndex, StoredIndex: -1,
				Reason: "sample " + smp.ID + "'s text no longer matches its content hash"}
		}
		smp.Text = ""
		page = append(page, smp)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read samples: %w", err)
	}
	return page, nil
}

func (s *Store) modelLeaves(ctx context.Context, fn func(int64, []byte) error) error {
	return leaves.WalkModels(ctx, s.ListModels, fn)
}

func (s *Store) keyLeaves(ctx context.Context, fn func(int64, []byte) error) error {
	return leaves.WalkKeys(ctx, s.ListKeys, fn)
}

// indexedLeaf is a record's re-derived leaf and the log index the record names.
type indexedLeaf struct {
	index int64
	leaf  []byte
}

// leafPage runs query, turns each row into its record's leaf as the row arrives (so that a page holds
// leaves, not records), closes the query and only then calls fn, which reads the log. It returns the
// number of rows.
func (s *Store) leafPage(ctx context.Context, fn func(int64, []byte) error, derive func(pgx.Rows) (int64, []byte, error),
	query string, args ...any) (int, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	page := make([]indexedLeaf, 0, recordPage)
	for rows.Next() {
		index, leaf, err := derive(rows)
		if err != nil {
			return 0, err
		}
		page = append(page, indexedLeaf{index, leaf})
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	rows.Close()
	for _, l := range page {
		if err := fn(l.index, l.leaf); err != nil {
			return 0, err
		}
	}
	return len(page), nil
}

func (s *Store) policyLeaves(ctx context.Context, fn func(int64, []byte) error) error {
	name, version := "", math.MinInt32 // before every (name, version)
	derive := func(rows pgx.Rows) (int64, []byte, error) {
		p, err := scanPolicy(rows)
		if err != nil {
			return 0, nil, fmt.Errorf("read policies: %w", err)
		}
		name, version = p.Name, p.Version
		leaf, err := leaves.PolicyVersion(p)
		return p.LogIndex, leaf, err
	}
	for {
		n, err := s.leafPage(ctx, fn, derive, "SELECT "+policyColumns+
			" FROM policy_versions WHERE (name, version) > ($1, $2) ORDER BY name, version LIMIT $3", name, version, recordPage)
		if err != nil || n < recordPage {
			return err
		}
	}
}

func (s *Store) decisionLeaves(ctx context.Context, fn func(int64, []byte) error) error {
	after := ""
	derive := func(rows pgx.Rows) (int64, []byte, error) {
		d, err := scanDecision(rows)
		if err != nil {
			return 0, nil, fmt.Errorf("read decisions: %w", err)
		}
		after = d.ID
		leaf, err := leaves.Decision(d)
		return d.LogIndex, leaf, err
	}
	for {
		n, err := s.leafPage(ctx, fn, derive, "SELECT "+decisionColumns+
			" FROM decisions WHERE id > $1 ORDER BY id LIMIT $2", after, recordPage)
		if err != nil || n < recordPage {
			return err
		}
	}
}

// mixLeaves derives each mix's leaf from its request as stored, byte for byte: the leaf holds
// its digest.
func (s *Store) mixLeaves(ctx context.Context, fn func(int64, []byte) error) error {
	after := ""
	derive := func(rows pgx.Rows) (int64, []byte, error) {
		var request string
		m, err := scanMix(scanPrefix{rows, &request})
		if err != nil {
			return 0, nil, fmt.Errorf("read mixes: %w", err)
		}
		after = m.ID
		leaf, err := leaves.Mix(m, []byte(request))
		return m.LogIndex, leaf, err
	}
	for {
		n, err := s.leafPage(ctx, fn, derive, "SELECT request, "+mixColumns+
			" FROM mixes WHERE id > $1 ORDER BY id LIMIT $2", after, recordPage)
		if err != nil || n < recordPage {
			return err
		}
	}
}

// scanPrefix scans a leading extra column before the ones a scan function expects.
type scanPrefix struct {
	rows  pgx.Rows
	first any
}

func (p scanPrefix) Scan(dest ...any) error { return p.rows.Scan(append([]any{p.first}, dest...)...) }

// idempotencyLeaves re-derives the leaf of every stored idempotency record.
func (s *Store) idempotencyLeaves(ctx context.Context, fn func(int64, []byte) error) error {
	return leaves.WalkIdempotency(ctx, s.ListIdempotency, fn)
}

// ListIdempotency returns the idempotency records whose leaf ids follow after, in leaf id order.
func (s *Store) ListIdempotency(ctx context.Context, after string, limit int) ([]*registry.IdempotencyRecord, error) {
	return s.idempotencyRecords(ctx, "record_id > $1 ORDER BY record_id LIMIT $2", after, limit)
}

// IdempotencyRecord returns the idempotency record whose log leaf has the given id (see
// leaves.IdempotencyID), or an error wrapping ledger.ErrNoRecord.
func (s *Store) IdempotencyRecord(ctx context.Context, recordID string) (*registry.IdempotencyRecord, error) {
	list, err := s.idempotencyRecords(ctx, "record_id = $1", recordID)
	if err != nil {
		return nil, err
	}
	if len(list) != 1 {
		return nil, fmt.Errorf("idempotency record %s: %w", recordID, ledger.ErrNoRecord)
	}
	return list[0], nil
}

func (s *Store) idempotencyRecords(ctx context.Context, where string, args ...any) ([]*registry.IdempotencyRecord, error) {
	rows, err := s.pool.Query(ctx, "SELECT record_id, scope, key, request_sha256, result, created_at, log_index FROM idempotency WHERE "+where, args...)
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
