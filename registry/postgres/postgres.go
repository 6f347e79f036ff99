// Package postgres opens the registry's Store (registry/sqlstore) on PostgreSQL, through pgx and its
// database/sql adapter. Several registryd instances may share one database.
//
// The log's sequencer is a row lock: every write transaction first locks the single row of
// log_head (SELECT … FOR UPDATE), then checks and writes its records, appends their leaves and
// commits. Writers from every instance therefore run one after another, leaves are numbered 0, 1,
// 2, … in commit order without gaps, and the duplicate, provenance and idempotency checks of a writer
// see everything committed before it (transactions run at READ COMMITTED, so each statement after
// the lock sees the previous writer's commit). The UNIQUE constraints stay as a backstop. Reads take
// no lock.
//
// A batch's bulk rows (samples, their band keys and edges, the log's leaves and stored hashes) go
// through COPY (pgx's CopyFrom) on the write transaction's own connection, inside that transaction:
// a failed COPY fails the write, which rolls back whole, rows and leaves together.
//
// Migrations are embedded, run one transaction each, and are serialised across instances with a
// transaction-scoped advisory lock keyed on the schema, so that instances starting together never
// apply one twice.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLockClass is the first key of the advisory lock that serialises migrations; the
// second is a hash of the schema, so that registries in different schemas do not wait on each
// other.
const migrationLockClass = 0x70656467 // "pedg"

// Store is the registry's store on PostgreSQL: the shared SQL store, and the pgx pool under it.
type Store struct {
	*sqlstore.Store
	pool *pgxpool.Pool
}

// Benchmarks insert rows raw with the store's own statements.
var SampleArgs = sqlstore.SampleArgs

// dialect is PostgreSQL's: numbered placeholders, a row lock as the sequencer, an advisory lock
// around migrations, text typed with the "C" collation that every text column uses, and COPY for
// bulk inserts.
func dialect() *sqlstore.Dialect {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the embedded directory exists
	}
	return &sqlstore.Dialect{
		Name:       "postgres",
		Numbered:   true,
		Arrays:     true,
		LockSuffix: " FOR UPDATE",
		TextParam:  `CAST(? AS TEXT) COLLATE "C"`,
		Migrations: sub,
		LockMigrations: func(ctx context.Context, tx *sql.Tx) error {
			// Held until commit: a second instance waits here, then finds the version recorded.
			_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1, hashtext(coalesce(current_schema(), '')))", int32(migrationLockClass))
			return err
		},
		MapError: mapError,
		CopyFrom: copyFrom,
		// registry.DrawKey: the first 16 hex digits of the MD5, read as a signed 64-bit integer.
		DrawKey:       `('x' || left(md5(CAST(? AS TEXT) || ':' || s.id), 16))::bit(64)::bigint`,
		Unhex:         `decode(%s, 'hex')`,
		DrawIsolation: sql.LevelRepeatableRead,
		Fence:         " OFFSET 0",
	}
}

// copyFrom copies rows into table with COPY … FROM STDIN (binary) on the pgx connection under
// driverConn, in the transaction open on it.
func copyFrom(ctx context.Context, driverConn any, table string, cols []string, rows [][]any) (int64, error) {
	c, ok := driverConn.(*stdlib.Conn)
	if !ok {
		return 0, fmt.Errorf("postgres: COPY needs a pgx connection, not %T", driverConn)
	}
	return c.Conn().CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows))
}

// PoolSQL returns the candidate-pool query in PostgreSQL's placeholders, for benchmarks that run it
// bare.
func PoolSQL(q registry.PoolQuery) (string, []any) {
	query, args := sqlstore.PoolSQL(q)
	return dialect().Rebind(query), args
}

// Options are how Open may differ from its default.
type Options struct {
	// NoCopy inserts a batch's bulk rows with one INSERT … SELECT FROM unnest(…) statement a table
	// instead of COPY: the same rows in the same transaction. For benchmarks that compare the two.
	NoCopy bool
}

// Open connects to the database at dsn (a postgres:// URL or key=value string, as pgx accepts;
// runtime parameters such as search_path pass through) and applies pending migrations.
func Open(ctx context.Context, dsn string) (*Store, error) {
	return OpenWith(ctx, dsn, Options{})
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, dsn string, o Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse dsn: %w", err)
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "registryd"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if err := checkServer(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	db := stdlib.OpenDBFromPool(pool)
	d := dialect()
	if o.NoCopy {
		d.CopyFrom = nil
	}
	st, err := sqlstore.New(ctx, db, db, d)
	if err != nil {
		db.Close()
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	st.LimitDraws(int(cfg.MaxConns) - 1)
	return &Store{Store: st, pool: pool}, nil
}

// checkServer refuses a database whose encoding is not UTF-8: texts are stored as they were
// received, and any other encoding would change or refuse them.
func checkServer(ctx context.Context, pool *pgxpool.Pool) error {
	var enc string
	if err := pool.QueryRow(ctx, "SHOW server_encoding").Scan(&enc); err != nil {
		return fmt.Errorf("postgres: connect: %w", err)
	}
	if enc != "UTF8" {
		return fmt.Errorf("postgres: the database encoding is %s; the registry needs UTF8", enc)
	}
	return nil
}

// Close closes the store and its connection pool.
func (s *Store) Close() error {
	err := s.Store.Close()
	s.pool.Close()
	return err
}

// Pool returns the connection pool, for benchmarks and tests that need raw access.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// mapError gives client-safe codes to the database errors that bad input can cause.
func mapError(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "22021" { // character_not_in_repertoire
		// PostgreSQL text cannot hold U+0000; every other UTF-8 text is stored as received.
		return &registry.Error{Code: registry.EINVALID,
			Message: "text fields must not contain the NUL character (U+0000)", Err: err}
	}
	return err
}
