package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pedigreeml/pedigree/client"
	"github.com/pedigreeml/pedigree/internal/spectest"
)

// testServer is a registryd started through run(), as the binary would be, on a random port.
type testServer struct {
	URL      string
	AdminKey string
	DataDir  string
	DB       string // --db, when the test gave one
	stdout   *syncBuffer
	stderr   *syncBuffer
	t        *testing.T
	stop     func()
}

// Stop shuts the server down and checks that it stopped cleanly; it runs at the end of the test too.
func (s *testServer) Stop() { s.stop() }

// syncBuffer is a goroutine-safe buffer that signals when a line with a prefix is written.
type syncBuffer struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	prefix string
	found  chan string
	sent   bool
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	if b.found != nil && !b.sent {
		for _, line := range strings.Split(b.buf.String(), "\n") {
			if rest, ok := strings.CutPrefix(line, b.prefix); ok && rest != "" {
				b.found <- rest
				b.sent = true // found itself never changes, so readers need no lock
				break
			}
		}
	}
	return n, err
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// env returns a getenv over a fixed map, so tests never read the real environment.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// launch runs "registryd serve" through run() on 127.0.0.1:0 with dataDir and extra arguments,
// waits until it prints its address, and returns the address, its output, and a stop that shuts it
// down and checks that it stopped cleanly (once; it also runs when the test ends).
func launch(t *testing.T, dataDir string, extra ...string) (url string, stdout, stderr *syncBuffer, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout = &syncBuffer{prefix: "listening on ", found: make(chan string, 1)}
	stderr = &syncBuffer{}
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir}, extra...)
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, env(nil), strings.NewReader(""), stdout, stderr) }()
	select {
	case url = <-stdout.found:
	case err := <-done:
		cancel()
		t.Fatalf("serve exited before listening: %v\n%s", err, stderr)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("serve did not start\n%s", stderr)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("serve returned %v after shutdown", err)
				}
			case <-time.After(20 * time.Second):
				t.Error("serve did not shut down")
			}
		})
	}
	t.Cleanup(stop)
	return url, stdout, stderr, stop
}

// startServer runs "registryd serve" on 127.0.0.1:0 with extra arguments, waits until it answers
// /readyz, and stops it (and checks it stopped cleanly) when the test ends.
func startServer(t *testing.T, dataDir string, extra ...string) *testServer {
	t.Helper()
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	url, stdout, stderr, stop := launch(t, dataDir, extra...)
	key, err := os.ReadFile(filepath.Join(dataDir, "admin.key"))
	if err != nil {
		t.Fatalf("admin key: %v", err)
	}
	db := ""
	for i, a := range extra {
		if a == "--db" && i+1 < len(extra) {
			db = extra[i+1]
		}
	}
	s := &testServer{DB: db, URL: url, AdminKey: strings.TrimSpace(string(key)), DataDir: dataDir, stdout: stdout, stderr: stderr, t: t, stop: stop}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := s.Client("").Ready(context.Background()); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("not ready: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return s
}

// Client returns a client with key whose every request and response is checked against openapi.yaml.
func (s *testServer) Client(key string) *client.Client {
	return client.New(s.URL, key, client.WithHTTPClient(&http.Client{
		Timeout:   time.Minute,
		Transport: spectest.Transport(s.t, http.DefaultTransport),
	}))
}

// Admin returns a client with the admin key.
func (s *testServer) Admin() *client.Client { return s.Client(s.AdminKey) }

// Key creates a key with role through the CLI, as an operator would, while the server runs.
func (s *testServer) Key(role string) string {
	s.t.Helper()
	var out, errb bytes.Buffer
	args := []string{"keys", "create", "--role", role, "--data-dir", s.DataDir}
	if s.DB != "" {
		args = append(args, "--db", s.DB)
	}
	err := run(context.Background(), args, env(nil), nil, &out, &errb)
	if err != nil {
		s.t.Fatalf("keys create: %v\n%s", err, errb.String())
	}
	key := out.String()
	if strings.Count(key, "\n") != 1 || !strings.HasPrefix(key, "pdg_") {
		s.t.Fatalf("keys create printed %q; want the key alone on one line", key)
	}
	return strings.TrimSpace(key)
}
