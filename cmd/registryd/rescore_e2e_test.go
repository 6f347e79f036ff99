package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pedigreeml/pedigree/client"
	"github.com/pedigreeml/pedigree/ledger"
	"github.com/pedigreeml/pedigree/registry"
)

// rescoreSummary is what `registryd rescore` prints.
type rescoreSummary struct {
	Candidates int    `json:"candidates"`
	Rescored   int    `json:"rescored"`
	Skipped    int    `json:"skipped"`
	NextAfter  int64  `json:"next_after"`
	Scorer     string `json:"toxicity_scorer"`
	DryRun     bool   `json:"dry_run"`
}

func runRescore(t *testing.T, srv *testServer, key string, extra ...string) (rescoreSummary, error) {
	t.Helper()
	var out, errb bytes.Buffer
	args := append([]string{"rescore", "--server", srv.URL, "--key", key}, extra...)
	err := run(context.Background(), args, env(nil), nil, &out, &errb)
	var s rescoreSummary
	if err == nil {
		if jerr := json.Unmarshal(out.Bytes(), &s); jerr != nil {
			t.Fatalf("rescore printed %q: %v\n%s", out.String(), jerr, errb.String())
		}
	}
	return s, err
}

// TestRescoreEndToEnd: samples stored with a null toxicity while the HTTP scorer was down are
// re-scored through the CLI once it is back, in pages; each re-score is a new logged record, the
// samples carry the new score and scorer, and their proofs, `registryd verify`, a restart's check
// and `registryd audit` all still pass; a second run re-scores nothing. On SQLite and PostgreSQL.
func TestRescoreEndToEnd(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) { testRescoreEndToEnd(t, "") })
	t.Run("PostgreSQL", func(t *testing.T) { testRescoreEndToEnd(t, postgresDSN(t)) })
}

func testRescoreEndToEnd(t *testing.T, db string) {
	ctx := context.Background()
	scorer := &perspective{}
	ts := httptest.NewServer(scorer)
	defer ts.Close()
	dir := t.TempDir()
	var onDB []string
	if db != "" {
		onDB = []string{"--db", db}
	}
	start := func(flags ...string) *testServer { return startServer(t, dir, append(flags, onDB...)...) }
	srv := start("--toxicity-scorer", ts.URL+"/v1alpha1/comments:analyze", "--toxicity-on-error", "null", "--toxicity-timeout", "2s")
	ingestKey, auditorKey := srv.Key(registry.RoleIngest), srv.Key(registry.RoleAuditor)
	ingest, auditor := srv.Client(ingestKey), srv.Client(auditorKey)

	// Five samples stored while the scorer is down, with a null toxicity; one after it is back.
	scorer.failing.Store(true)
	var nulls []client.IngestedSample
	for i := range 5 {
		nulls = append(nulls, *must[*client.IngestedSample](t)(ingest.CreateSample(ctx, human(fmt.Sprintf("written while the scorer was down, number %d", i)), "")))
		if nulls[i].Metrics.Toxicity != nil {
			t.Fatalf("stored with the scorer down: %+v", nulls[i].Metrics)
		}
	}
	scorer.failing.Store(false)
	scored := must[*client.IngestedSample](t)(ingest.CreateSample(ctx, human("written once the scorer was back"), ""))
	if scored.Metrics.Toxicity == nil {
		t.Fatal("the scorer is back but the sample has no score")
	}

	// While the scorer is still down, a re-score writes nothing: no null over null, and no record.
	scorer.failing.Store(true)
	sum, err := runRescore(t, srv, srv.AdminKey, "--limit", "2")
	if err != nil || sum.Candidates != 5 || sum.Rescored != 0 || sum.Skipped != 5 {
		t.Fatalf("re-score with the scorer down: %+v, %v", sum, err)
	}
	scorer.failing.Store(false)
	logKey, err := os.ReadFile(filepath.Join(dir, "log.pub"))
	if err != nil {
		t.Fatal(err)
	}
	size := func() int64 {
		note, err := auditor.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, tree, err := ledger.OpenCheckpoint(note, strings.TrimSpace(string(logKey)))
		if err != nil {
			t.Fatal(err)
		}
		return tree.N
	}
	before := size()

	// A dry run counts; then the CLI re-scores in pages of two.
	if sum, err := runRescore(t, srv, srv.AdminKey, "--dry-run"); err != nil || sum.Candidates != 5 || !sum.DryRun || sum.Rescored != 0 {
		t.Fatalf("dry run: %+v, %v", sum, err)
	}
	// As a run interrupted after the first two samples goes on: --after the index it printed.
	sum, err = runRescore(t, srv, srv.AdminKey, "--limit", "2", "--after", fmt.Sprint(nulls[1].LogIndex))
	if err != nil || sum.Candidates != 3 || sum.Rescored != 3 || sum.Skipped != 0 || sum.NextAfter != nulls[4].LogIndex ||
		sum.Scorer != scored.Metrics.ToxicityScorer {
		t.Fatalf("re-score after %d: %+v, %v", nulls[1].LogIndex, sum, err)
	}
	// From the start, only the first two are left.
	sum, err = runRescore(t, srv, srv.AdminKey, "--limit", "2")
	if err != nil || sum.Candidates != 2 || sum.Rescored != 2 || sum.NextAfter != nulls[1].LogIndex {
		t.Fatalf("re-score from the start: %+v, %v", sum, err)
	}
	after := size()
	if after != before+5 {
		t.Fatalf("the log grew from %d to %d entries; want one re-score leaf a sample", before, after)
	}
	rescoredAt := map[string]int64{}
	for i := before; i < after; i++ {
		leaf := must[[]byte](t)(auditor.LogEntry(ctx, i))
		r, err := ledger.ParseLeaf(leaf)
		if err != nil || r.Kind != registry.KindRescore {
			t.Fatalf("entry %d: %+v, %v", i, r, err)
		}
		rescoredAt[r.Fields["sample_id"]] = i
	}
	for _, n := range nulls {
		got := must[*registry.Sample](t)(auditor.GetSample(ctx, n.ID)) // read proven
		if got.Metrics.Toxicity == nil || *got.Metrics.Toxicity != 0.25 || got.Metrics.ToxicityScorer != scored.Metrics.ToxicityScorer {
			t.Fatalf("sample %s after the re-score: %+v", n.ID, got.Metrics)
		}
		if got.LogIndex != n.LogIndex {
			t.Fatalf("sample %s moved from log index %d to %d", n.ID, n.LogIndex, got.LogIndex)
		}
		if _, ok := rescoredAt[n.ID]; !ok {
			t.Fatalf("sample %s has no re-score leaf", n.ID)
		}
	}
	// The samples' own entries and their re-scores' are proven included in the signed log.
	state := filepath.Join(t.TempDir(), "state")
	out, err := runVerify(t, srv, auditorKey, filepath.Join(dir, "log.pub"), state, "--index",
		fmt.Sprint(nulls[0].LogIndex, ",", nulls[4].LogIndex, ",", rescoredAt[nulls[0].ID], ",", after-1))
	if err != nil || !strings.Contains(out, "signature verified") {
		t.Fatalf("verify: %v\n%s", err, out)
	}

	// A second run finds nothing to do.
	if sum, err := runRescore(t, srv, srv.AdminKey); err != nil || sum.Candidates != 0 || sum.Rescored != 0 {
		t.Fatalf("second run: %+v, %v", sum, err)
	}
	if size() != after {
		t.Fatal("a run with nothing to re-score wrote to the log")
	}
	// The API itself (its answers checked against openapi.yaml): a page from the start, nothing left.
	last := nulls[4].LogIndex
	for _, req := range []registry.RescoreRequest{{}, {DryRun: true, OnlyNull: true, Limit: 1000}, {After: &last}} {
		res := must[*registry.RescoreResult](t)(srv.Admin().Rescore(ctx, req))
		if res.Candidates != 0 || res.Rescored != 0 || res.Remaining != 0 || res.Scorer != scored.Metrics.ToxicityScorer {
			t.Fatalf("POST /v1/admin/rescore %+v: %+v", req, res)
		}
	}

	// Refusals: not an admin key, bad bodies, bad flags.
	_, err = ingest.Rescore(ctx, registry.RescoreRequest{})
	if client.StatusOf(err) != http.StatusForbidden {
		t.Fatalf("re-score with an ingest key: %v; want 403", err)
	}
	if _, err := auditor.Rescore(ctx, registry.RescoreRequest{}); client.StatusOf(err) != http.StatusForbidden {
		t.Fatalf("re-score with an auditor key: %v; want 403", err)
	}
	for _, body := range []string{`{"limit": -1}`, `{"limit": 1001}`, `{"after": -2}`, `{"dry_run": "yes"}`, `{"bogus": 1}`, ``, `[]`} {
		status, resp, _ := srv.Admin().Do(ctx, client.Request{Method: http.MethodPost, Path: "/v1/admin/rescore", Body: []byte(body),
			ContentType: "application/json"})
		if status != http.StatusBadRequest || !strings.Contains(string(resp), `"invalid"`) {
			t.Fatalf("body %q: %d %s; want 400 invalid", body, status, resp)
		}
	}
	for _, args := range [][]string{{"rescore", "--server", srv.URL}, {"rescore", "--key", srv.AdminKey, "--limit", "0"},
		{"rescore", "--key", srv.AdminKey, "--after", "-5"}} {
		var o, e bytes.Buffer
		if err := run(ctx, args, env(nil), nil, &o, &e); exitCode(err) != 2 {
			t.Fatalf("%v: %v; want a usage error", args, err)
		}
	}

	// A restart checks the log against the records (re-scores included), and so does the audit.
	srv.Stop()
	srv = start("--toxicity-scorer", "lexicon")
	// The built-in lexicon is another scorer: every sample is a candidate again, the null ones none.
	if sum, err := runRescore(t, srv, srv.AdminKey, "--dry-run"); err != nil || sum.Candidates != 6 || sum.Scorer == scored.Metrics.ToxicityScorer {
		t.Fatalf("dry run under another scorer: %+v, %v", sum, err)
	}
	if sum, err := runRescore(t, srv, srv.AdminKey, "--only-null"); err != nil || sum.Candidates != 0 {
		t.Fatalf("only null: %+v, %v", sum, err)
	}
	srv.Stop()
	if out, errOut, err := runAudit(t, dir, onDB...); err != nil {
		t.Fatalf("audit after re-scoring: %v\n%s%s", err, out, errOut)
	}
}
