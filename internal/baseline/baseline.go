// Package baseline holds what the benchmarks and the load driver measure Pedigree against, written
// once so that every figure compares with the same thing: the minimal table a user would write
// without Pedigree, the texts both are fed, and raw inserts into the registry's own schema.
package baseline

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"

	"github.com/google/uuid"

	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/sqlite"
	"github.com/pedigreeml/pedigree/registry/sqlstore"
)

// Vocabulary is a deterministic set of n word-like strings, which Texts draws Zipf-like so that
// texts have the repetition of real prose.
func Vocabulary(n int) []string {
	r := rand.New(rand.NewPCG(1, 2))
	words := make([]string, n)
	for i := range words {
		b := make([]byte, 2+r.IntN(8))
		for j := range b {
			b[j] = byte('a' + r.IntN(26))
		}
		words[i] = string(b)
	}
	return words
}

// Texts returns n texts of about words words drawn from vocab, deterministic for a label and batch
// and distinct across them and within one: each starts with label, the batch and its number, and
// the words are drawn from a seed of both (texts of two labels with one batch number would
// otherwise share their words: near-duplicates, which the registry refuses as human text when one
// is model output).
func Texts(vocab []string, label string, batch, n, words int) []string {
	h := fnv.New64a()
	h.Write([]byte(label))
	r := rand.New(rand.NewPCG(uint64(batch), h.Sum64()))
	z := rand.NewZipf(r, 1.1, 2, uint64(len(vocab)-1))
	out := make([]string, n)
	var sb strings.Builder
	for i := range out {
		sb.Reset()
		fmt.Fprintf(&sb, "%s %d of batch %d:", label, i, batch)
		for w := 0; w < words; w++ {
			sb.WriteByte(' ')
			sb.WriteString(vocab[z.Uint64()])
			if w%15 == 14 {
				sb.WriteByte('.')
			}
		}
		out[i] = sb.String()
	}
	return out
}

// MinimalTable is the bare baseline that matters to a user: the table they would write without
// Pedigree. A UUIDv7 id (the registry's id form) stored as 16 bytes, the text, and its SHA-256, 32
// bytes, unique so that a re-sent text is not stored twice; the registry's pragmas (sqlite.DSN: WAL,
// synchronous=FULL, IMMEDIATE transactions) and one writer connection, as the registry has.
type MinimalTable struct {
	db    *sql.DB
	stmts map[int]*sql.Stmt // prepared INSERTs by row count
}

// MinimalSchema is the minimal table.
const MinimalSchema = `CREATE TABLE IF NOT EXISTS samples (
	id             BLOB PRIMARY KEY,
	text           TEXT NOT NULL,
	content_sha256 BLOB NOT NULL UNIQUE
)`

// OpenMinimal opens (creating if needed) the minimal table in the SQLite file at path.
func OpenMinimal(ctx context.Context, path string) (*MinimalTable, error) {
	db, err := sql.Open("sqlite", sqlite.DSN(path, false))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, MinimalSchema); err != nil {
		db.Close()
		return nil, err
	}
	return &MinimalTable{db: db, stmts: map[int]*sql.Stmt{}}, nil
}

// Close closes the table's database.
func (m *MinimalTable) Close() error {
	for _, s := range m.stmts {
		s.Close()
	}
	return m.db.Close()
}

// Insert does what the user's code would: an id and a hash per text, then one prepared multi-row
// INSERT in one transaction, skipping texts already stored.
func (m *MinimalTable) Insert(ctx context.Context, texts []string) error {
	stmt, ok := m.stmts[len(texts)]
	if !ok {
		q := "INSERT INTO samples (id, text, content_sha256) VALUES " +
			strings.TrimSuffix(strings.Repeat("(?, ?, ?),", len(texts)), ",") + " ON CONFLICT (content_sha256) DO NOTHING"
		var err error
		if stmt, err = m.db.PrepareContext(ctx, q); err != nil {
			return err
		}
		m.stmts[len(texts)] = stmt
	}
	args := make([]any, 0, 3*len(texts))
	for _, t := range texts {
		id := uuid.Must(uuid.NewV7())
		sum := sha256.Sum256([]byte(t))
		args = append(args, id[:], t, sum[:])
	}
	tx, err := m.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.StmtContext(ctx, stmt).ExecContext(ctx, args...); err != nil {
		return err
	}
	return tx.Commit()
}

// InsertSampleRows writes fully built sample rows straight into a store's samples table, one
// prepared statement a row in one transaction, with the store's own statement and arguments: no
// checks, no log, no statistics group (a mix build refuses such rows until sqlstore's
// FillStatGroups gives them theirs). Benchmarks use it to fill a large registry quickly, and as the
// own-schema baseline.
func InsertSampleRows(ctx context.Context, s *sqlstore.Store, rows []*registry.Sample) error {
	tx, err := s.DB().BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, s.Rebind(sqlstore.InsertSQL))
	if err != nil {
		return err
	}
	for _, r := range rows {
		if _, err := stmt.ExecContext(ctx, sqlstore.SampleArgs(r)...); err != nil {
			return err
		}
	}
	return tx.Commit()
}
