package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5"

	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/postgres"
	"github.com/pedigreeml/pedigree/registry/sqlite"
)

// fillStore is what the in-process fill needs of a store: the registry's Store, a count of its
// samples, and Close.
type fillStore interface {
	registry.Store
	CountSamples(ctx context.Context, fn func(origin string, generation int, n int64)) error
	Close() error
}

// backend is the database the registry lives in.
type backend interface {
	// open opens the registry's store in this process, for a fill.
	open(ctx context.Context) (fillStore, error)
	// afterFill runs after a fill, before the server starts (PostgreSQL: ANALYZE, as autovacuum
	// would sooner or later).
	afterFill(ctx context.Context) error
	// serveArgs are the arguments that point registryd serve at the database.
	serveArgs() []string
	// footprint returns the bytes the registry takes in the database and the samples it holds,
	// with the server stopped.
	footprint(ctx context.Context) (bytes, samples int64, err error)
	close()
}

func openBackend(ctx context.Context, o *options, dataDir string) (backend, error) {
	if o.db == "" {
		return &sqliteBackend{path: filepath.Join(dataDir, "registry.db")}, nil
	}
	return newPostgresBackend(ctx, o.db)
}

// countSamples adds up the samples of a store.
func countSamples(ctx context.Context, s fillStore) (int64, error) {
	var n int64
	err := s.CountSamples(ctx, func(_ string, _ int, k int64) { n += k })
	return n, err
}

// sqliteBackend is the registry's default database: registry.db in the data directory.
type sqliteBackend struct{ path string }

func (b *sqliteBackend) open(ctx context.Context) (fillStore, error) { return sqlite.Open(ctx, b.path) }

func (b *sqliteBackend) afterFill(context.Context) error { return nil }

// serveArgs is empty: registryd's default database is registry.db in its data directory.
func (b *sqliteBackend) serveArgs() []string { return nil }

// footprint counts the samples, closes the store (the last connection checkpoints the WAL into the
// database file), and adds up the database and what is left of its WAL.
func (b *sqliteBackend) footprint(ctx context.Context) (int64, int64, error) {
	s, err := b.open(ctx)
	if err != nil {
		return 0, 0, err
	}
	n, err := countSamples(ctx, s)
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, 0, err
	}
	var size int64
	for _, suffix := range []string{"", "-wal"} {
		st, err := os.Stat(b.path + suffix)
		if errors.Is(err, os.ErrNotExist) && suffix != "" {
			continue
		}
		if err != nil {
			return 0, 0, err
		}
		size += st.Size()
	}
	return size, n, nil
}

func (b *sqliteBackend) close() {}

// postgresBackend is a registry in a schema of its own, created for the run and dropped at its end.
type postgresBackend struct {
	schema string
	dsn    string    // the URL with search_path set to the schema
	admin  *pgx.Conn // on the URL as given: creates, measures and drops the schema
}

func newPostgresBackend(ctx context.Context, db string) (*postgresBackend, error) {
	tag := make([]byte, 4)
	rand.Read(tag)
	schema := "pedigree_growth_" + hex.EncodeToString(tag)
	u, err := url.Parse(db)
	if err != nil {
		return nil, errors.New("--db must be a postgres:// URL")
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	admin, err := pgx.Connect(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("--db: %w", err)
	}
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("--db: create schema: %w", err)
	}
	return &postgresBackend{schema: schema, dsn: u.String(), admin: admin}, nil
}

func (b *postgresBackend) open(ctx context.Context) (fillStore, error) {
	return postgres.Open(ctx, b.dsn)
}

func (b *postgresBackend) afterFill(ctx context.Context) error {
	rows, err := b.admin.Query(ctx, "SELECT tablename FROM pg_tables WHERE schemaname = $1", b.schema)
	if err != nil {
		return err
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, t := range tables {
		if _, err := b.admin.Exec(ctx, "ANALYZE "+pgx.Identifier{b.schema, t}.Sanitize()); err != nil {
			return fmt.Errorf("analyze %s: %w", t, err)
		}
	}
	return nil
}

func (b *postgresBackend) serveArgs() []string { return []string{"--db", b.dsn} }

// footprint is the size of every table of the schema with its indexes and TOAST, and the samples.
func (b *postgresBackend) footprint(ctx context.Context) (int64, int64, error) {
	var size, n int64
	err := b.admin.QueryRow(ctx, `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
		FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
		WHERE ns.nspname = $1 AND c.relkind IN ('r', 'p', 'm')`, b.schema).Scan(&size)
	if err != nil {
		return 0, 0, err
	}
	if err := b.admin.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{b.schema, "samples"}.Sanitize()).Scan(&n); err != nil {
		return 0, 0, err
	}
	return size, n, nil
}

// close drops the schema, whatever the context's state.
func (b *postgresBackend) close() {
	ctx := context.Background()
	b.admin.Exec(ctx, "DROP SCHEMA "+b.schema+" CASCADE")
	b.admin.Close(ctx)
}
