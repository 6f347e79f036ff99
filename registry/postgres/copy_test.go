package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/postgres"
	"github.com/pedigreeml/pedigree/registry/postgres/pgtest"
	"github.com/pedigreeml/pedigree/registry/storetest"
)

// openNoCopy opens a store on a new schema that inserts its bulk rows with INSERT … unnest.
func openNoCopy(tb testing.TB) *postgres.Store {
	tb.Helper()
	s, err := postgres.OpenWith(context.Background(), pgtest.NewSchema(tb), postgres.Options{NoCopy: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// copiedTables are the tables a batch fills in bulk, and the log's head.
var copiedTables = []string{"samples", "edges", "sample_bands", "log_leaves", "log_hashes", "log_head", "models"}

// dump returns every row of table as text, sorted.
func dump(t *testing.T, s *postgres.Store, table string) string {
	t.Helper()
	var out string
	q := fmt.Sprintf("SELECT coalesce(string_agg(r::text, E'\\n' ORDER BY r::text), '') FROM %s r", pgx.Identifier{table}.Sanitize())
	if err := s.Pool().QueryRow(context.Background(), q).Scan(&out); err != nil {
		t.Fatalf("dump %s: %v", table, err)
	}
	return out
}

// copyBatches returns two batches: human texts, then human children of the first batch's samples
// and model answers to them (which index band keys), enough of each for COPY (sqlstore's
// copyMinRows, 100 rows).
func copyBatches(tag string, first []registry.IngestResult, model string) []registry.NewSample {
	if first == nil {
		out := make([]registry.NewSample, 120)
		for i := range out {
			out[i] = storetest.Human(storetest.Words(fmt.Sprintf("%s-human-%d", tag, i), 40))
		}
		return out
	}
	var out []registry.NewSample
	for i, r := range first[:60] {
		out = append(out, storetest.Human(storetest.Words(fmt.Sprintf("%s-child-%d", tag, i), 40), r.Sample.ID, first[i+60].Sample.ID))
		out = append(out, storetest.ModelOutput(storetest.Words(fmt.Sprintf("%s-answer-%d", tag, i), 60), model, r.Sample.ID))
	}
	return out
}

// TestCopyWritesWhatInsertWrites writes the same records through COPY and through INSERT … unnest:
// every row of the bulk tables, the log's leaves, stored hashes and head come out the same.
func TestCopyWritesWhatInsertWrites(t *testing.T) {
	pgtest.DSN(t)
	ctx := context.Background()
	c, u := pgtest.OpenStore(t), openNoCopy(t)
	h := storetest.NewHarness(t, c)
	ref := h.Model("copy-model", 0)
	m, err := c.GetModel(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	m2 := *m
	if err := registry.WriteModel(ctx, u, &m2, nil); err != nil {
		t.Fatal(err)
	}
	var first []registry.IngestResult
	for round := 0; round < 2; round++ {
		res := h.Ingest(copyBatches("same", first, ref)...)
		// The very samples the service built, written again through the other path.
		again := make([]*registry.Sample, len(res))
		for i, r := range res {
			cp := *r.Sample
			cp.LogIndex = 0
			again[i] = &cp
		}
		if _, err := registry.WriteSamples(ctx, u, registry.InsertSamples{Samples: again}); err != nil {
			t.Fatalf("round %d: write through unnest: %v", round, err)
		}
		first = res
	}
	var bands int
	if err := c.Pool().QueryRow(ctx, "SELECT count(*) FROM sample_bands").Scan(&bands); err != nil || bands < 100 {
		t.Fatalf("%d band rows (%v): the fixture must index enough band keys to COPY them", bands, err)
	}
	for _, table := range copiedTables {
		if a, b := dump(t, c, table), dump(t, u, table); a != b {
			t.Errorf("%s differs between COPY and INSERT … unnest:\nCOPY:\n%.2000s\nunnest:\n%.2000s", table, a, b)
		}
	}
}

// logState is what a failed batch must leave as it was.
type logState struct {
	samples, edges, bands, leaves, hashes, head int64
}

func readLogState(t *testing.T, s *postgres.Store) logState {
	t.Helper()
	var st logState
	err := s.Pool().QueryRow(context.Background(), `SELECT (SELECT count(*) FROM samples), (SELECT count(*) FROM edges),
		(SELECT count(*) FROM sample_bands), (SELECT count(*) FROM log_leaves), (SELECT count(*) FROM log_hashes),
		(SELECT size FROM log_head WHERE id = 1)`).Scan(&st.samples, &st.edges, &st.bands, &st.leaves, &st.hashes, &st.head)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// checkLog recomputes the log's stored hashes from its leaves and compares them, and the head,
// with what the database holds.
func checkLog(t *testing.T, s *postgres.Store) {
	t.Helper()
	ctx := context.Background()
	var size int64
	if err := s.Pool().QueryRow(ctx, "SELECT size FROM log_head WHERE id = 1").Scan(&size); err != nil {
		t.Fatal(err)
	}
	rows, err := s.Pool().Query(ctx, "SELECT idx, leaf FROM log_leaves ORDER BY idx")
	if err != nil {
		t.Fatal(err)
	}
	var hashes []tlog.Hash
	read := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = hashes[x]
		}
		return out, nil
	})
	n := int64(0)
	for rows.Next() {
		var idx int64
		var leaf []byte
		if err := rows.Scan(&idx, &leaf); err != nil {
			t.Fatal(err)
		}
		if idx != n {
			t.Fatalf("leaf %d where %d was due: the log has a gap", idx, n)
		}
		hs, err := tlog.StoredHashes(n, leaf, read)
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, hs...)
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != size {
		t.Fatalf("%d leaves under a head of %d", n, size)
	}
	stored, err := s.Pool().Query(ctx, "SELECT idx, hash FROM log_hashes ORDER BY idx")
	if err != nil {
		t.Fatal(err)
	}
	k := 0
	for stored.Next() {
		var idx int64
		var hash []byte
		if err := stored.Scan(&idx, &hash); err != nil {
			t.Fatal(err)
		}
		if idx != int64(k) || k >= len(hashes) || string(hash) != string(hashes[k][:]) {
			t.Fatalf("stored hash %d is not the hash recomputed from the leaves", idx)
		}
		k++
	}
	if err := stored.Err(); err != nil || k != len(hashes) {
		t.Fatalf("%d stored hashes, %d recomputed (%v)", k, len(hashes), err)
	}
}

// TestCopyFailureRollsBackTheBatch breaks a constraint in the middle of a batch's COPY, first in
// the samples' rows, then in the log's leaves (after the samples' rows were copied): each time the
// batch fails whole, nothing of it is written and the log is as it was; the same batch then
// succeeds where the constraint is gone, its leaves following the earlier ones without a gap.
func TestCopyFailureRollsBackTheBatch(t *testing.T) {
	pgtest.DSN(t)
	ctx := context.Background()
	s := pgtest.OpenStore(t)
	h := storetest.NewHarness(t, s)
	ref := h.Model("rollback-model", 0)
	first := h.Ingest(copyBatches("kept", nil, ref)...)
	before := readLogState(t, s)
	exec := func(q string) {
		t.Helper()
		if _, err := s.Pool().Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}

	batch := copyBatches("failed", first, ref)
	poisoned := *batch[61].Text + " poison"
	batch[61].Text = &poisoned
	exec(`ALTER TABLE samples ADD CONSTRAINT no_poison CHECK (text NOT LIKE '%poison%')`)
	_, err := h.Svc.Ingest(ctx, batch, nil)
	if err == nil || !strings.Contains(err.Error(), "copy into samples") || !strings.Contains(err.Error(), "no_poison") {
		t.Fatalf("ingest with a sample the table refuses: %v, want the samples' COPY to fail on no_poison", err)
	}
	if got := readLogState(t, s); got != before {
		t.Fatalf("after a failed COPY into samples: %+v, want %+v as before", got, before)
	}
	exec(`ALTER TABLE samples DROP CONSTRAINT no_poison`)

	// Leaf before.head+70 is refused: the samples, bands and edges were copied by then.
	batch = copyBatches("failed", first, ref)
	exec(fmt.Sprintf(`ALTER TABLE log_leaves ADD CONSTRAINT no_leaf CHECK (idx <> %d)`, before.head+70))
	_, err = h.Svc.Ingest(ctx, batch, nil)
	if err == nil || !strings.Contains(err.Error(), "copy into log_leaves") {
		t.Fatalf("ingest whose leaf the log refuses: %v, want the leaves' COPY to fail", err)
	}
	if got := readLogState(t, s); got != before {
		t.Fatalf("after a failed COPY into log_leaves: %+v, want %+v as before", got, before)
	}
	exec(`ALTER TABLE log_leaves DROP CONSTRAINT no_leaf`)

	res := h.Ingest(batch...)
	for i, r := range res {
		if r.Duplicate || r.Sample.LogIndex != before.head+int64(i) {
			t.Fatalf("sample %d: log index %d (duplicate %v), want %d: the failed batches left a trace", i, r.Sample.LogIndex, r.Duplicate, before.head+int64(i))
		}
	}
	after := readLogState(t, s)
	if after.samples != before.samples+int64(len(batch)) || after.head != before.head+int64(len(batch)) || after.edges <= before.edges || after.bands <= before.bands {
		t.Fatalf("after the batch: %+v, from %+v and %d samples", after, before, len(batch))
	}
	checkLog(t, s)
}

// TestCopyRefusesNULAsInvalid writes a batch large enough for COPY with a NUL character in the
// middle, straight to the store (the service refuses it before): PostgreSQL text cannot hold it, the
// COPY fails, and the refusal is the client's EINVALID that the INSERT path gives, with nothing
// written.
func TestCopyRefusesNULAsInvalid(t *testing.T) {
	pgtest.DSN(t)
	ctx := context.Background()
	built, s := pgtest.OpenStore(t), pgtest.OpenStore(t)
	res := storetest.NewHarness(t, built).Ingest(copyBatches("nul", nil, "")...)
	samples := make([]*registry.Sample, len(res))
	for i, r := range res {
		cp := *r.Sample
		samples[i] = &cp
	}
	samples[50].Text += " \x00 end"
	before := readLogState(t, s)
	_, err := registry.WriteSamples(ctx, s, registry.InsertSamples{Samples: samples})
	if registry.ErrorCode(err) != registry.EINVALID || !strings.Contains(err.Error(), "U+0000") || !strings.Contains(err.Error(), "copy into samples") {
		t.Fatalf("batch with a NUL character: %v (code %q), want EINVALID naming U+0000 from the samples' COPY", err, registry.ErrorCode(err))
	}
	if got := readLogState(t, s); got != before {
		t.Fatalf("after the refused batch: %+v, want %+v as before", got, before)
	}
}
