package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pedigreeml/pedigree/ledger"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/sqlite"
	"golang.org/x/mod/sumdb/tlog"
)

// runAudit runs "registryd audit" on a data directory, as an operator would.
func runAudit(t *testing.T, dir string, extra ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	err = run(context.Background(), append([]string{"audit", "--data-dir", dir}, extra...), env(nil), nil, &out, &errb)
	return out.String(), errb.String(), err
}

// execSQL runs statements on a stopped registry's SQLite database.
func execSQL(t *testing.T, dir string, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for _, q := range stmts {
		if _, err := store.DB().ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// rollBackSQL deletes the samples logged from index from on, their leaves and hashes, and every
// stored checkpoint: a consistent rollback, as an old backup or a careful attacker leaves it.
func rollBackSQL(from int64) []string {
	return []string{
		fmt.Sprintf("DELETE FROM samples WHERE log_index >= %d", from),
		fmt.Sprintf("DELETE FROM log_leaves WHERE idx >= %d", from),
		fmt.Sprintf("DELETE FROM log_hashes WHERE idx >= %d", tlog.StoredHashCount(from)),
		"DELETE FROM log_checkpoints",
	}
}

// restart runs "registryd serve" on a data directory and returns its error if it refuses to start;
// one that starts is stopped at once and fails the test.
func restart(t *testing.T, dir string, extra ...string) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	found := make(chan string, 1) // read here, not through stdout.found, which Write clears
	stdout := &syncBuffer{prefix: "listening on ", found: found}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir}, extra...), env(nil), nil, stdout, io.Discard)
	}()
	select {
	case err := <-done:
		return err
	case <-found:
		cancel()
		<-done
		t.Fatal("the registry started")
	case <-time.After(60 * time.Second):
		t.Fatal("serve neither started nor refused")
	}
	return nil
}

// startUnready runs "registryd serve" and waits until it listens, not until it is ready: for a
// registry that is expected to fail its readiness.
func startUnready(t *testing.T, dir string, extra ...string) (url string, logs *syncBuffer, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	found := make(chan string, 1)
	stdout := &syncBuffer{prefix: "listening on ", found: found}
	logs = &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir}, extra...), env(nil), nil, stdout, logs)
	}()
	select {
	case url = <-found:
	case err := <-done:
		cancel()
		t.Fatalf("serve exited: %v\n%s", err, logs)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("serve did not start")
	}
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			err = <-done
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return url, logs, stop
}

// seeded returns the data directory of a registry that served, with 10 human samples, and the log
// indexes of those samples; the background audit is off so that the watermark is where the test puts it.
func seeded(t *testing.T) (dir, ingestKey string, idx []int64) {
	t.Helper()
	dir = t.TempDir()
	srv := startServer(t, dir, "--audit-interval", "0")
	ingestKey = srv.Key(registry.RoleIngest)
	idx = ingestSome(t, srv, ingestKey, "seeded", 10)
	srv.Stop()
	return dir, ingestKey, idx
}

func watermarkOf(t *testing.T, dir string) (ledger.Watermark, bool) {
	t.Helper()
	signer, _, vkey, err := ledger.LoadKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	wm, ok, err := ledger.NewLog(nil, signer, vkey,
		ledger.WithWatermark(&ledger.NoteFile{Path: filepath.Join(dir, ledger.WatermarkFile)})).Watermark(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return wm, ok
}

func TestAuditCommand(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, dir string, idx []int64)
		fails  bool
		says   string
	}{
		{name: "Honest", tamper: func(t *testing.T, dir string, idx []int64) {}},
		{
			name: "EditedText",
			tamper: func(t *testing.T, dir string, idx []int64) {
				execSQL(t, dir, "UPDATE samples SET text = 'edited' WHERE rowid = 1")
			},
			fails: true, says: "MISMATCH",
		},
		{
			name: "EditedOldHash",
			tamper: func(t *testing.T, dir string, idx []int64) {
				execSQL(t, dir, "UPDATE log_hashes SET hash = zeroblob(32) WHERE idx = 0")
			},
			fails: true, says: "at leaf 0",
		},
		{
			name:   "RolledBack",
			tamper: func(t *testing.T, dir string, idx []int64) { execSQL(t, dir, rollBackSQL(idx[5])...) },
			fails:  true, says: "rolled back or replaced",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, _, idx := seeded(t)
			tc.tamper(t, dir, idx)
			out, errs, err := runAudit(t, dir)
			if !tc.fails {
				if err != nil {
					t.Fatalf("audit of an honest registry: %v\n%s%s", err, out, errs)
				}
				if !strings.Contains(out, "verified: ") || !strings.Contains(out, "consistent with the checkpoint kept in ") {
					t.Fatalf("audit printed:\n%s", out)
				}
				if !strings.Contains(errs, "records re-derived: ") {
					t.Fatalf("audit printed no progress:\n%s", errs)
				}
				// The watermark moved up to the whole log.
				if wm, ok := watermarkOf(t, dir); !ok || wm.Tree.N != idx[9]+1 {
					t.Fatalf("watermark %+v after the audit, want %d leaves", wm, idx[9]+1)
				}
				return
			}
			if err == nil || exitCode(err) != 1 {
				t.Fatalf("audit of a tampered registry: err %v (exit %d)\n%s", err, exitCode(err), out)
			}
			if !strings.Contains(out, tc.says) {
				t.Fatalf("audit output does not say %q:\n%s", tc.says, out)
			}
		})
	}
	t.Run("NoKey", func(t *testing.T) {
		if _, _, err := runAudit(t, t.TempDir()); err == nil || !strings.Contains(err.Error(), "no log key") {
			t.Fatalf("audit of an empty directory: %v", err)
		}
	})
	t.Run("Help", func(t *testing.T) {
		_, errs, err := runAudit(t, t.TempDir(), "--help")
		if err != nil || !strings.Contains(errs, "-checkpoint-mirror") || !strings.Contains(errs, "Exit status") {
			t.Fatalf("audit --help: %v\n%s", err, errs)
		}
	})
}

// TestRestartRefusesRollback deletes the newest records with their leaves and hashes and every
// checkpoint row, so that the database is a consistent, shorter log: only a checkpoint kept outside
// the database shows it.
func TestRestartRefusesRollback(t *testing.T) {
	mirror := newCheckpointMirror(t)
	for _, tc := range []struct {
		name   string
		flags  []string
		remove []string // kept copies removed with the rollback, relative to the data directory
		says   string
	}{
		{name: "DataDirectoryCopy", says: filepath.Join("log", "checkpoint") + " covers"},
		{name: "MirrorDirectory", flags: []string{"--checkpoint-mirror", "MIRROR"}, remove: []string{"log/checkpoint"}, says: "checkpoint covers"},
		{name: "MirrorURL", flags: []string{"--checkpoint-mirror", "URL"}, remove: []string{"log/checkpoint"}, says: "/mirror/checkpoint covers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			flags := slicesReplace(tc.flags, map[string]string{"MIRROR": t.TempDir(), "URL": mirror.URL + "/mirror/checkpoint"})
			srv := startServer(t, dir, append([]string{"--audit-interval", "0"}, flags...)...)
			idx := ingestSome(t, srv, srv.Key(registry.RoleIngest), "rolled back", 10)
			srv.Stop()

			execSQL(t, dir, rollBackSQL(idx[5])...)
			for _, f := range tc.remove {
				os.Remove(filepath.Join(dir, f))
			}
			err := restart(t, dir, flags...)
			want := fmt.Sprintf("the database holds %d leaves but the checkpoint kept in ", idx[5])
			if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), tc.says) ||
				!strings.Contains(err.Error(), "rolled back or replaced") {
				t.Fatalf("restart after a rollback: %v; want %q … %q", err, want, tc.says)
			}
		})
	}
	t.Run("ForgedCopy", func(t *testing.T) {
		dir, _, _ := seeded(t)
		path := filepath.Join(dir, ledger.CheckpointFile)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)-10] ^= 1
		os.WriteFile(path, b, 0o644)
		if err := restart(t, dir); err == nil || !strings.Contains(err.Error(), "does not verify with this registry's key") {
			t.Fatalf("restart with a forged checkpoint copy: %v", err)
		}
	})
}

func slicesReplace(in []string, m map[string]string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		if r, ok := m[s]; ok {
			s = r
		}
		out[i] = s
	}
	return out
}

// newCheckpointMirror is an HTTP server on loopback that keeps what is PUT at each path.
func newCheckpointMirror(t *testing.T) *httptest.Server {
	var mu sync.Mutex
	notes := map[string][]byte{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch r.Method {
		case http.MethodPut:
			notes[r.URL.Path], _ = io.ReadAll(r.Body)
			w.WriteHeader(http.StatusNoContent)
		case http.MethodGet:
			if b, ok := notes[r.URL.Path]; ok {
				w.Write(b)
				return
			}
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestStartupCheckIsIncremental: after an audit, a restart re-derives only the records logged since,
// and a record altered after the watermark still stops the start.
func TestStartupCheckIsIncremental(t *testing.T) {
	dir, key, _ := seeded(t)
	if _, _, err := runAudit(t, dir); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, dir, "--audit-interval", "0")
	ingestSome(t, srv, key, "after the audit", 4)
	srv.Stop()
	logs := srv.stderr.String()
	if !regexp.MustCompile(`msg="log verified".* rederived=0 full=false`).MatchString(logs) {
		t.Fatalf("the restart after an audit re-derived records below the watermark:\n%s", logs)
	}

	srv = startServer(t, dir, "--audit-interval", "0")
	srv.Stop()
	if !regexp.MustCompile(`msg="log verified".* rederived=4 full=false`).MatchString(srv.stderr.String()) {
		t.Fatalf("the restart re-derived other than the 4 records after the watermark:\n%s", srv.stderr)
	}

	execSQL(t, dir, "UPDATE samples SET dataset = 'relabelled' WHERE text LIKE 'after the audit%'")
	if err := restart(t, dir); err == nil || !strings.Contains(err.Error(), "refusing to start") {
		t.Fatalf("restart with a record altered after the watermark: %v", err)
	}
}

// TestBackgroundAuditFailsClosed alters a record below the watermark, which the start-up check
// trusts: the registry starts, its background audit finds the record, and from then on /readyz
// fails and writes are refused while reads are served. The next start is a full check, and refuses.
func TestBackgroundAuditFailsClosed(t *testing.T) {
	dir, key, idx := seeded(t)
	if _, _, err := runAudit(t, dir); err != nil {
		t.Fatal(err)
	}
	execSQL(t, dir, fmt.Sprintf("UPDATE samples SET dataset = 'relabelled' WHERE log_index = %d", idx[2]))

	url, logs, stop := startUnready(t, dir, "--audit-interval", "1h", "--audit-rate", "0")
	get := func(path, key string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, url+path, nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, _ := get("/readyz", "")
		if code == http.StatusServiceUnavailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still answers %d\n%s", code, logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, _ := get("/healthz", ""); code != http.StatusOK {
		t.Fatalf("/healthz = %d", code)
	}

	body, _ := json.Marshal(human("a sample written after the audit failed"))
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/samples", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var p struct{ Code string }
	json.NewDecoder(resp.Body).Decode(&p)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || p.Code != registry.EUNAVAILABLE ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("POST after a failed audit: %d %s %+v", resp.StatusCode, resp.Header.Get("Content-Type"), p)
	}

	auditor := runKeysCreate(t, dir, registry.RoleAuditor)
	if code, b := get("/v1/samples?limit=5", auditor); code != http.StatusOK {
		t.Fatalf("GET after a failed audit: %d %s", code, b)
	}
	_, metrics := get("/metrics", "")
	for _, want := range []string{"pedigree_log_audit_mismatches_total 1", "pedigree_log_healthy 0"} {
		if !strings.Contains(metrics, want) {
			t.Fatalf("/metrics lacks %q", want)
		}
	}
	if !strings.Contains(logs.String(), "the background audit found the tamper-evident log or a record altered") ||
		!strings.Contains(logs.String(), fmt.Sprintf("leaf=%d", idx[2])) {
		t.Fatalf("the log does not say where:\n%s", logs)
	}
	if err := stop(); err != nil {
		t.Fatalf("serve returned %v", err)
	}
	// The failed pass withdrew the watermark: the next start checks everything, and refuses.
	if err := restart(t, dir); err == nil || !strings.Contains(err.Error(), "refusing to start") {
		t.Fatalf("restart after a failed background audit: %v", err)
	}
}

// TestBackgroundAuditPasses: on an honest registry a pass completes, is counted in /metrics, and
// moves the watermark.
func TestBackgroundAuditPasses(t *testing.T) {
	dir, key, _ := seeded(t)
	srv := startServer(t, dir, "--audit-interval", "1h", "--audit-rate", "100000")
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(srv.stderr.String(), `msg="background audit pass verified"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no audit pass completed:\n%s", srv.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"pedigree_log_audit_passes_total 1", "pedigree_log_audit_mismatches_total 0", "pedigree_log_healthy 1",
		`pedigree_log_audit_leaves_checked{phase="records"}`} {
		if !strings.Contains(string(b), want) {
			t.Fatalf("/metrics lacks %q", want)
		}
	}
	if wm, ok := watermarkOf(t, dir); !ok || wm.Tree.N < 12 {
		t.Fatalf("watermark after a pass: %+v", wm)
	}
	ingestSome(t, srv, key, "still writable", 1)
}

func runKeysCreate(t *testing.T, dir, role string) string {
	t.Helper()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"keys", "create", "--role", role, "--data-dir", dir}, env(nil), nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out.String())
}
