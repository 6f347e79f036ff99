// Package postgres is the registry's Store on PostgreSQL, through pgx. Several registryd instances
// may share one database.
//
// The log's sequencer is a row lock: every write transaction first locks the single row of
// log_head (SELECT … FOR UPDATE), then reads the log size, checks and writes its records, appends
// their leaves and commits. Writers from every instance therefore run one after another, leaves
// are numbered 0, 1, 2, … in commit order without gaps, and the duplicate, provenance and
// idempotency checks of a writer see everything committed before it (transactions run at READ
// COMMITTED, so each statement after the lock sees the previous writer's commit). The UNIQUE
// constraints stay as a backstop. Within one instance, writers also queue in Go before taking a
// connection, so that waiting writers do not hold the connections reads need. Reads take no lock.
//
// Migrations are embedded, run one transaction each, and are serialised across instances with a
// transaction-scoped advisory lock keyed on the schema, so that instances starting together never
// apply one twice.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pedigreeml/pedigree/registry"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLockClass is the first key of the advisory lock that serialises migrations; the
// second is a hash of the schema, so that registries in different schemas do not wait on each
// other.
const migrationLockClass = 0x70656467 // "pedg"

// Store is the PostgreSQL implementation of registry.Store.
type Store struct {
	pool *pgxpool.Pool
	// writer admits one write transaction of this instance at a time. The row lock alone would
	// serialise them too, but each waiter would hold a pooled connection that reads need.
	writer chan struct{}
}

var _ registry.Store = (*Store)(nil)

// Open connects to the database at dsn (a postgres:// URL or key=value string, as pgx accepts;
// runtime parameters such as search_path pass through) and applies pending migrations.
func Open(ctx context.Context, dsn string) (*Store, error) {
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
	s := &Store{pool: pool, writer: make(chan struct{}, 1)}
	if err := s.checkServer(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	return s, nil
}

// checkServer refuses a database whose encoding is not UTF-8: texts are stored as they were
// received, and any other encoding would change or refuse them.
func (s *Store) checkServer(ctx context.Context) error {
	var enc string
	if err := s.pool.QueryRow(ctx, "SHOW server_encoding").Scan(&enc); err != nil {
		return fmt.Errorf("postgres: connect: %w", err)
	}
	if enc != "UTF8" {
		return fmt.Errorf("postgres: the database encoding is %s; the registry needs UTF8", enc)
	}
	return nil
}

// Close closes the connection pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Ping checks that the database answers a query.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.pool.QueryRow(ctx, "SELECT 1").Scan(&one)
}

// Pool returns the connection pool, for benchmarks and tests that need raw access.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

func (s *Store) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a number", base)
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		err = s.tx(ctx, func(tx pgx.Tx) error {
			// Held until commit: a second instance waits here, then finds the version recorded.
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, hashtext(coalesce(current_schema(), '')))",
				int32(migrationLockClass)); err != nil {
				return fmt.Errorf("migration lock: %w", err)
			}
			if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
				version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
				return err
			}
			var n int
			if err := tx.QueryRow(ctx, "SELECT count(*) FROM schema_migrations WHERE version = $1", version).Scan(&n); err != nil || n > 0 {
				return err
			}
			// Without arguments pgx sends the simple protocol, which runs a file of statements.
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return fmt.Errorf("migration %s: %w", base, err)
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
				version, base, time.Now().UnixMilli())
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// tx runs fn in a READ COMMITTED transaction and commits it if fn returns nil.
func (s *Store) tx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx) // after Commit, a no-op; on a cancelled ctx pgx closes the connection, which aborts
	if err := fn(tx); err != nil {
		return dbError(err)
	}
	if err := tx.Commit(ctx); err != nil {
		return dbError(fmt.Errorf("commit: %w", err))
	}
	return nil
}

// write runs fn in a write transaction that holds the log's sequencer lock from its first
// statement to its commit. fn gets the log to append to; its leaves are written before commit.
func (s *Store) write(ctx context.Context, fn func(tx pgx.Tx, log *logWriter) error) error {
	select {
	case s.writer <- struct{}{}:
		defer func() { <-s.writer }()
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		log, err := lockLog(ctx, tx)
		if err != nil {
			return err
		}
		if err := fn(tx, log); err != nil {
			return err
		}
		return log.flush()
	})
}

// dbError gives client-safe codes to the database errors that bad input can cause.
func dbError(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "22021" { // character_not_in_repertoire
		// PostgreSQL text cannot hold U+0000; every other UTF-8 text is stored as received.
		return &registry.Error{Code: registry.EINVALID,
			Message: "text fields must not contain the NUL character (U+0000)", Err: err}
	}
	return err
}

// queryer is what read helpers need: the pool or a transaction.
type queryer interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// storable reports whether PostgreSQL text can hold every one of ss: it cannot hold U+0000. Nothing
// stored can equal a value that cannot be stored, so lookups by such a value find nothing, without
// asking the database (which would refuse the value with an error).
func storable(ss ...string) bool {
	for _, s := range ss {
		if strings.IndexByte(s, 0) >= 0 {
			return false
		}
	}
	return true
}

// invalidCursor is the error of a pagination cursor that no stored id can follow.
func invalidCursor() error {
	return registry.FieldErrorf("cursor", "is not valid")
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// nullable returns nil for "" and a pointer to s otherwise, for nullable text columns.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
