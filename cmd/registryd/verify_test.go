package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pedigreeml/pedigree/client"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/sqlite"
)

func runVerify(t *testing.T, srv *testServer, key, logKey, state string, extra ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	args := append([]string{"verify", "--server", srv.URL, "--key", key, "--log-key", logKey, "--state", state}, extra...)
	err := run(context.Background(), args, env(nil), nil, &out, &errb)
	return out.String() + errb.String(), err
}

func ingestSome(t *testing.T, srv *testServer, key, tag string, n int) []int64 {
	t.Helper()
	var batch []registry.NewSample
	for i := range n {
		batch = append(batch, human(fmt.Sprintf("%s sample %d, for the log.", tag, i)))
	}
	res := must[[]client.IngestedSample](t)(srv.Client(key).IngestBatch(context.Background(), batch, ""))
	var idx []int64
	for _, r := range res {
		idx = append(idx, r.LogIndex)
	}
	return idx
}

func TestVerifyEndToEnd(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir)
	ingestKey, auditorKey := srv.Key(registry.RoleIngest), srv.Key(registry.RoleAuditor)
	logKey := filepath.Join(dir, "log.pub")
	served, err := srv.Client(auditorKey).LogKey(context.Background())
	if b, _ := os.ReadFile(logKey); err != nil || strings.TrimSpace(string(b)) != served {
		t.Fatalf("GET /v1/log/key %q differs from %s: %v", served, logKey, err)
	}
	state := filepath.Join(t.TempDir(), "state")

	idx := ingestSome(t, srv, ingestKey, "first", 20)
	out, err := runVerify(t, srv, auditorKey, logKey, state, "--index", fmt.Sprint(idx[0], ",", idx[19]))
	if err != nil || !strings.Contains(out, "signature verified") {
		t.Fatalf("first verify: %v\n%s", err, out)
	}
	ingestSome(t, srv, ingestKey, "second", 20)
	out, err = runVerify(t, srv, auditorKey, logKey, state)
	if err != nil || !strings.Contains(out, "consistent with the last verified checkpoint") {
		t.Fatalf("second verify: %v\n%s", err, out)
	}

	// A key that is not the registry's fails the signature.
	other := filepath.Join(t.TempDir(), "other.pub")
	os.WriteFile(other, []byte("pedigree-registry+00000000+AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGh\n"), 0o600)
	if out, err := runVerify(t, srv, auditorKey, other, filepath.Join(t.TempDir(), "s")); err == nil {
		t.Fatalf("verify with a foreign key passed:\n%s", out)
	}
	// An index beyond the log fails.
	if out, err := runVerify(t, srv, auditorKey, logKey, state, "--index", "100000"); err == nil {
		t.Fatalf("verify of a missing entry passed:\n%s", out)
	}

	// A rewritten history: another registry signing with the same key (as someone holding the key
	// who rebuilt the database would) but with a different past, longer than what was verified.
	forged := t.TempDir()
	for _, f := range []string{"log.key", "log.pub"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(forged, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	fake := startServer(t, forged)
	ingestSome(t, fake, fake.Key(registry.RoleIngest), "forged", 60)
	out, err = runVerify(t, fake, fake.Key(registry.RoleAuditor), logKey, state)
	if err == nil || !strings.Contains(err.Error(), "not consistent") {
		t.Fatalf("verify against a rewritten history: %v\n%s", err, out)
	}
}

// TestRestartRefusesAlteredRecords runs with the background audit off, so no full check has moved
// the watermark past the records: the restart re-derives all of them. (A record altered below the
// watermark is found by the background audit instead: TestBackgroundAuditFailsClosed.)
func TestRestartRefusesAlteredRecords(t *testing.T) {
	for _, tc := range []struct{ name, sql string }{
		{"EditedText", "UPDATE samples SET text = 'a different text' WHERE rowid = 1"},
		{"RelabelledAsHuman", "UPDATE samples SET origin = 'human', model_id = NULL, model = NULL WHERE origin = 'model'"},
		{"RemovedLeafHash", "UPDATE log_hashes SET hash = zeroblob(32) WHERE idx = 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			srv := startServer(t, dir, "--audit-interval", "0")
			ctx := context.Background()
			ingest := srv.Client(srv.Key(registry.RoleIngest))
			zero := 0
			m := must[*registry.Model](t)(ingest.CreateModel(ctx, registry.NewModel{Name: "m", Version: "1", DeclaredGeneration: &zero}, ""))
			ingestSome(t, srv, srv.Key(registry.RoleIngest), "kept", 5)
			must[*client.IngestedSample](t)(ingest.CreateSample(ctx, modelOut("generated text to relabel", m.Ref(), ""), ""))
			srv.Stop()

			store, err := sqlite.Open(ctx, filepath.Join(dir, "registry.db"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := store.DB().ExecContext(ctx, tc.sql); err != nil {
				t.Fatal(err)
			}
			store.Close()

			var out, errb bytes.Buffer
			err = run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir}, env(nil), nil, &out, &errb)
			if err == nil || !strings.Contains(err.Error(), "refusing to start") {
				t.Fatalf("restart after %q: %v", tc.sql, err)
			}
			if strings.Contains(out.String(), "listening") {
				t.Fatal("the altered registry served")
			}
		})
	}
}

func TestIngestCommandResumes(t *testing.T) {
	srv := startServer(t, "")
	key := srv.Key(registry.RoleIngest)
	path := filepath.Join(t.TempDir(), "samples.jsonl")
	write := func(n int) {
		var b bytes.Buffer
		for i := range n {
			fmt.Fprintf(&b, "{\"text\":\"line %d of a file to ingest\",\"origin\":\"human\",\"dataset\":\"file\"}\n", i)
			if i%100 == 0 {
				b.WriteString("\n") // blank lines are skipped
			}
		}
		if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ingest := func() string {
		t.Helper()
		var out, errb bytes.Buffer
		if err := run(context.Background(), []string{"ingest", path, "--server", srv.URL, "--key", key, "--batch", "400"}, env(nil), nil, &out, &errb); err != nil {
			t.Fatalf("ingest: %v\n%s", err, errb.String())
		}
		return out.String()
	}
	write(1000)
	if out := ingest(); !strings.Contains(out, "ingested 1000 samples in 3 batches: 1000 new, 0 already") {
		t.Fatalf("first run: %s", out)
	}
	// The file grew (an interrupted export finished): a second run writes only what is new.
	write(1300)
	if out := ingest(); !strings.Contains(out, "ingested 1300 samples in 4 batches: 300 new, 1000 already") {
		t.Fatalf("resumed run: %s", out)
	}
	auditor := srv.Client(srv.Key(registry.RoleAuditor))
	n, cursor := 0, ""
	for {
		page := must[*client.SamplePage](t)(auditor.ListSamples(context.Background(), client.SampleQuery{Limit: 1000, Cursor: cursor}))
		n += len(page.Samples)
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if n != 1300 {
		t.Fatalf("%d samples registered, want 1300", n)
	}
}

// TestVerifyMixContents checks a mix's export against the manifest hash in its log entry, and catches
// a manifest reordered in the database while the server runs.
func TestVerifyMixContents(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir)
	ctx := context.Background()
	ingestSome(t, srv, srv.Key(registry.RoleIngest), "mix source", 150)
	mix := must[*registry.Mix](t)(srv.Client(srv.Key(registry.RoleIngest)).CreateMix(ctx, registry.MixRequest{Size: 120, Seed: 3}, ""))
	auditor, logKey := srv.Key(registry.RoleAuditor), filepath.Join(dir, "log.pub")
	out, err := runVerify(t, srv, auditor, logKey, filepath.Join(t.TempDir(), "s"), "--mix", mix.ID)
	if err != nil || !strings.Contains(out, "120 exported samples match") {
		t.Fatalf("verify --mix: %v\n%s", err, out)
	}

	store, err := sqlite.Open(ctx, filepath.Join(dir, "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	var packed []byte
	if err := store.DB().QueryRowContext(ctx, "SELECT sample_ids FROM mix_manifest WHERE mix_id = ? AND chunk = 0", mix.ID).Scan(&packed); err != nil {
		t.Fatal(err)
	}
	reversed := make([]byte, len(packed))
	for i := 0; i < len(packed); i += 16 {
		copy(reversed[len(packed)-16-i:], packed[i:i+16])
	}
	if _, err := store.DB().ExecContext(ctx, "UPDATE mix_manifest SET sample_ids = ? WHERE mix_id = ? AND chunk = 0", reversed, mix.ID); err != nil {
		t.Fatal(err)
	}
	store.Close()
	// The server finds the reordering too, at the end of the export, and breaks the export off;
	// verify fails either way.
	out, err = runVerify(t, srv, auditor, logKey, filepath.Join(t.TempDir(), "s"), "--mix", mix.ID)
	if err == nil || !strings.Contains(err.Error(), "contents changed") && !strings.Contains(err.Error(), "broke off") {
		t.Fatalf("verify --mix after reordering its manifest: %v\n%s", err, out)
	}
}

func TestIngestCommandRefusals(t *testing.T) {
	srv := startServer(t, "")
	key := srv.Key(registry.RoleIngest)
	path := filepath.Join(t.TempDir(), "bad.jsonl")
	os.WriteFile(path, []byte("{\"text\":\"fine\",\"origin\":\"human\"}\n{\"text\":\"\",\"origin\":\"human\"}\n"), 0o600)
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"ingest", path, "--server", srv.URL, "--key", key}, env(nil), nil, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "400") {
		t.Fatalf("a file with an empty text: %v", err)
	}
	err = run(context.Background(), []string{"ingest", filepath.Join(t.TempDir(), "missing.jsonl"), "--server", srv.URL, "--key", key}, env(nil), nil, &out, &errb)
	if err == nil || exitCode(err) != 1 {
		t.Fatalf("a missing file: %v", err)
	}
	page := must[*client.SamplePage](t)(srv.Client(srv.Key(registry.RoleAuditor)).ListSamples(context.Background(), client.SampleQuery{}))
	if len(page.Samples) != 0 {
		t.Fatalf("a refused batch wrote %d samples", len(page.Samples))
	}
}

// TestIngestCommandIDsOut ingests a file whose answers name their prompts by external_id, across
// requests, and checks --ids-out: one line per sample with its file line, external_id, id and
// whether it was already registered; a second run answers with the same ids, all duplicates.
func TestIngestCommandIDsOut(t *testing.T) {
	srv := startServer(t, "")
	ctx := context.Background()
	key := srv.Key(registry.RoleIngest)
	zero := 0
	teacher := must[*registry.Model](t)(srv.Client(key).CreateModel(ctx, registry.NewModel{Name: "teacher", Version: "1", DeclaredGeneration: &zero}, ""))
	dir := t.TempDir()
	path := filepath.Join(dir, "pipeline.jsonl")
	var b bytes.Buffer
	for q := range 3 {
		fmt.Fprintf(&b, "{\"text\":\"Question %d: what colour is the sea at dusk?\",\"origin\":\"human\",\"dataset\":\"prompts\",\"external_id\":\"q%d\"}\n", q, q)
		b.WriteString("\n")
		fmt.Fprintf(&b, "{\"text\":\"Answer to question %d: a deep grey-blue.\",\"origin\":\"model\",\"model\":%q,\"dataset\":\"answers\",\"external_id\":\"q%d/a\",\"prompt_id\":{\"dataset\":\"prompts\",\"external_id\":\"q%d\"}}\n", q, teacher.Ref(), q, q)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	read := func(out string) []idLine {
		t.Helper()
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		var lines []idLine
		for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			var x idLine
			if err := json.Unmarshal([]byte(l), &x); err != nil {
				t.Fatalf("%q: %v", l, err)
			}
			lines = append(lines, x)
		}
		return lines
	}
	var first []idLine
	for run := range 2 {
		out := filepath.Join(dir, fmt.Sprint("ids-", run, ".jsonl"))
		var stdout, errb bytes.Buffer
		// --batch 1: every sample its own request, so an answer names a prompt stored before it.
		if err := run2(ctx, []string{"ingest", path, "--server", srv.URL, "--key", key, "--batch", "1", "--ids-out", out}, &stdout, &errb); err != nil {
			t.Fatalf("run %d: %v\n%s", run, err, errb.String())
		}
		got := read(out)
		if len(got) != 6 {
			t.Fatalf("run %d: %d id lines, want 6", run, len(got))
		}
		for i, l := range got {
			wantLine := 3*(i/2) + 1 + 2*(i%2) // a prompt, a blank line, its answer
			if l.Line != wantLine || l.Duplicate != (run == 1) || !registry.ValidID(l.ID) {
				t.Fatalf("run %d, sample %d: %+v (want line %d)", run, i, l, wantLine)
			}
		}
		if run == 0 {
			first = got
			answer := must[[]*registry.Sample](t)(srv.Client(key).LookupSamples(ctx, registry.Lookup{IDs: []string{got[1].ID}}))
			if len(answer) != 1 || answer[0].PromptID != got[0].ID || got[1].ExternalID != "q0/a" {
				t.Fatalf("the answer's prompt: %+v, ids %+v", answer, got[:2])
			}
		} else {
			for i := range got {
				if got[i].ID != first[i].ID {
					t.Fatalf("sample %d: id %s on the second run, %s on the first", i, got[i].ID, first[i].ID)
				}
			}
		}
	}
}

func run2(ctx context.Context, args []string, stdout, stderr *bytes.Buffer) error {
	return run(ctx, args, env(nil), nil, stdout, stderr)
}
