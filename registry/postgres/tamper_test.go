package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pedigreeml/pedigree/registry/storetest"
)

// backend opens PostgreSQL stores for the log contract; a location is a DSN whose search path is a
// schema of its own.
var backend = storetest.Backend{
	Dialect: "postgres",
	New: func(tb testing.TB) (storetest.LoggedStore, string) {
		dsn := NewSchema(tb)
		return MustOpen(tb, dsn), dsn
	},
	Reopen: func(tb testing.TB, dsn string) storetest.LoggedStore { return MustOpen(tb, dsn) },
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
}

func TestLogContract(t *testing.T) {
	testDSN(t)
	storetest.RunLog(t, backend)
}
