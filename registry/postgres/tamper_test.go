package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pedigreeml/pedigree/registry/postgres/pgtest"
	"github.com/pedigreeml/pedigree/registry/storetest"
)

// backend opens PostgreSQL stores for the log, mix store and instances contracts; a location is a
// DSN whose search path is a schema of its own.
var backend = storetest.Backend{
	Dialect: "postgres",
	New: func(tb testing.TB) (storetest.LoggedStore, string) {
		dsn := pgtest.NewSchema(tb)
		return pgtest.Open(tb, dsn), dsn
	},
	Reopen: func(tb testing.TB, dsn string) storetest.LoggedStore { return pgtest.Open(tb, dsn) },
	OneConnection: func(tb testing.TB, dsn string) storetest.LoggedStore {
		tb.Helper()
		s := pgtest.Open(tb, dsn+"&pool_max_conns=1")
		if n := s.Pool().Config().MaxConns; n != 1 {
			tb.Fatalf("the pool has %d connections", n)
		}
		return s
	},
	Exec: func(tb testing.TB, dsn, statements string) {
		tb.Helper()
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			tb.Fatal(err)
		}
		defer conn.Close(ctx)
		// Foreign keys are triggers; a replica session does not fire them, as an attacker with the
		// superuser's access to the database would not.
		if _, err := conn.Exec(ctx, "SET session_replication_role = replica; "+statements); err != nil {
			tb.Fatalf("%s: %v", statements, err)
		}
	},
	Query: query,
}

func query(tb testing.TB, dsn, query string, dest ...any) {
	tb.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, query).Scan(dest...); err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
}

func TestLogContract(t *testing.T) {
	pgtest.DSN(t)
	storetest.RunLog(t, backend)
}

func TestMixStoreContract(t *testing.T) {
	pgtest.DSN(t)
	storetest.RunMixStore(t, backend)
}

func TestInstancesContract(t *testing.T) {
	pgtest.DSN(t)
	storetest.RunInstances(t, backend)
}
