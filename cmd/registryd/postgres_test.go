package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/pedigreeml/pedigree/client"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/postgres/pgtest"
)

// postgresDSN returns a DSN for a fresh schema of the test database, dropped when the test ends. The
// test is skipped only when PEDIGREE_TEST_POSTGRES_DSN is unset.
func postgresDSN(t *testing.T) string {
	t.Helper()
	return pgtest.NewSchema(t)
}

// TestServeOnPostgres runs the server on PostgreSQL: ingest, a mix, the log, and a restart that
// re-checks the log.
func TestServeOnPostgres(t *testing.T) {
	dsn := postgresDSN(t)
	dir := t.TempDir()
	ctx := context.Background()
	srv := startServer(t, dir, "--db", dsn)
	ingest := srv.Client(srv.Key(registry.RoleIngest))
	zero := 0
	m := must[*registry.Model](t)(ingest.CreateModel(ctx, registry.NewModel{Name: "pg", Version: "1", DeclaredGeneration: &zero}, ""))
	p := must[*client.IngestedSample](t)(ingest.CreateSample(ctx, human("A prompt stored in PostgreSQL."), ""))
	a := must[*client.IngestedSample](t)(ingest.CreateSample(ctx, modelOut("An answer stored in PostgreSQL.", m.Ref(), p.ID), ""))
	if a.Generation != 1 || a.BestOfK == nil || a.BestOfK.K != 1 {
		t.Fatalf("answer: %+v", a)
	}
	var batch []registry.NewSample
	for i := range 120 {
		batch = append(batch, human(fmt.Sprintf("Human text %d kept in PostgreSQL.", i)))
	}
	must[[]client.IngestedSample](t)(ingest.IngestBatch(ctx, batch, "pg-batch"))
	mix := must[*registry.Mix](t)(ingest.CreateMix(ctx, registry.MixRequest{Size: 200, Seed: 1}, ""))
	if mix.Stats.Human < 100 {
		t.Fatalf("mix under the default policy: %+v", mix.Stats)
	}
	auditor := srv.Key(registry.RoleAuditor)
	srv.Stop()

	again := startServer(t, dir, "--db", dsn) // the self-check runs on the PostgreSQL log
	out, err := runVerify(t, again, auditor, dir+"/log.pub", t.TempDir()+"/state", "--index", fmt.Sprint(mix.LogIndex))
	if err != nil {
		t.Fatalf("verify: %v\n%s", err, out)
	}
}

// TestMixOnAPoolOfOneConnection: a registry whose PostgreSQL pool holds one connection cannot draw
// a mix (the draw holds a connection while the mix is written through another) and answers 503
// with the reason, as openapi.yaml says, instead of waiting forever; ingest still works.
func TestMixOnAPoolOfOneConnection(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, t.TempDir(), "--db", postgresDSN(t)+"&pool_max_conns=1")
	ingest := srv.Client(srv.Key(registry.RoleIngest))
	must[*client.IngestedSample](t)(ingest.CreateSample(ctx, human("A sample in a registry of one connection."), ""))
	_, err := ingest.CreateMix(ctx, registry.MixRequest{Size: 10, Seed: 1}, "")
	var p *client.Problem
	if !errors.As(err, &p) || p.Status != http.StatusServiceUnavailable || !strings.Contains(p.Detail, "two database connections") {
		t.Fatalf("a mix on a pool of one connection: %v; want 503 saying why", err)
	}
}
