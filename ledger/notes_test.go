package ledger

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// mirrorServer is an HTTP server on loopback that keeps what is PUT and returns it on GET, as a
// checkpoint mirror would; fail makes it answer 500.
type mirrorServer struct {
	*httptest.Server
	mu   sync.Mutex
	note []byte
	puts int
	fail bool
}

func newMirror(t *testing.T) *mirrorServer {
	t.Helper()
	m := &mirrorServer{}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.fail {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		switch r.Method {
		case http.MethodGet:
			if m.note == nil {
				http.NotFound(w, r)
				return
			}
			w.Write(m.note)
		case http.MethodPut:
			b, _ := io.ReadAll(r.Body)
			m.note, m.puts = b, m.puts+1
			w.WriteHeader(http.StatusNoContent)
		default:
			w.WriteHeader(http.StatusMethodNotAllowed)
		}
	}))
	t.Cleanup(m.Close)
	return m
}

func (m *mirrorServer) setFail(fail bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fail = fail
}

func (m *mirrorServer) held() ([]byte, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.note, m.puts
}

func TestNoteStores(t *testing.T) {
	mirror := newMirror(t)
	url, err := NewNoteURL(mirror.URL+"/checkpoint", mirror.Client())
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]NoteStore{
		"File": &NoteFile{Path: filepath.Join(t.TempDir(), "sub", "dir", "checkpoint")},
		"URL":  url,
	} {
		t.Run(name, func(t *testing.T) {
			if b, err := s.Load(t.Context()); err != nil || b != nil {
				t.Fatalf("Load of nothing = %q, %v; want nil, nil", b, err)
			}
			for _, note := range []string{"first\n", "second, longer\n", "3\n"} {
				if err := s.Save(t.Context(), []byte(note)); err != nil {
					t.Fatal(err)
				}
				if b, err := s.Load(t.Context()); err != nil || string(b) != note {
					t.Fatalf("Load = %q, %v; want %q", b, err, note)
				}
			}
			if err := s.Save(t.Context(), bytes.Repeat([]byte("x"), maxNoteSize+1)); err == nil {
				if _, err := s.Load(t.Context()); err == nil {
					t.Fatal("Load of an oversized note passed")
				}
			}
		})
	}
}

func TestNoteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	f := &NoteFile{Path: filepath.Join(dir, "checkpoint")}
	if err := f.Save(t.Context(), []byte("a\n")); err != nil {
		t.Fatal(err)
	}
	if err := f.Save(t.Context(), []byte("b\n")); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "checkpoint" {
		t.Fatalf("directory holds %v, want only the note", entries)
	}
	// A directory in the way is an error, not an empty note.
	if _, err := (&NoteFile{Path: dir}).Load(t.Context()); err == nil {
		t.Fatal("Load of a directory passed")
	}
	if err := (&NoteFile{Path: filepath.Join(f.Path, "below-a-file")}).Save(t.Context(), []byte("x")); err == nil {
		t.Fatal("Save below a file passed")
	}
}

func TestNoteURLErrors(t *testing.T) {
	mirror := newMirror(t)
	mirror.setFail(true)
	u, _ := NewNoteURL(mirror.URL, mirror.Client())
	if _, err := u.Load(t.Context()); err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("Load from a failing mirror = %v", err)
	}
	if err := u.Save(t.Context(), []byte("x\n")); err == nil {
		t.Fatal("Save to a failing mirror passed")
	}
	for _, bad := range []string{"", "ftp://example.com/x", "/a/path", "http://"} {
		if _, err := NewNoteURL(bad, nil); err == nil {
			t.Errorf("NewNoteURL(%q) passed", bad)
		}
	}
	secret, _ := NewNoteURL("https://user:hunter2@mirror.example/cp", nil)
	if strings.Contains(secret.String(), "hunter2") {
		t.Fatalf("String() = %q shows the password", secret)
	}
}

func TestMirrorWitness(t *testing.T) {
	mirror := newMirror(t)
	u, _ := NewNoteURL(mirror.URL+"/pedigree/checkpoint", mirror.Client())
	r := newTestRegistry(t, 100)
	l := r.serve(t, u)
	note, puts := mirror.held()
	if puts != 1 {
		t.Fatalf("%d PUTs to the mirror, want 1", puts)
	}
	if _, tree, err := OpenCheckpoint(note, r.vkey); err != nil || tree.N != 100 {
		t.Fatalf("mirror holds %d leaves (%v)", tree.N, err)
	}
	r.st.add(t, 20)
	if _, _, err := l.Checkpoint(t.Context()); err != nil {
		t.Fatal(err)
	}

	// The database and the local copy rolled back together: the mirror still knows.
	r.st.rollBack(100)
	r.st.dropCheckpoints()
	os.Remove(r.checkpointFile().Path)
	_, _, err := r.startup(t, u)
	wantFault(t, err, ErrRolledBack)
	if !strings.Contains(err.Error(), "kept in "+mirror.URL) || !strings.Contains(err.Error(), "covers 120") {
		t.Fatalf("error %q does not name the mirror and its size", err)
	}

	// A mirror that cannot be read at start-up stops the start: it might hold a larger checkpoint.
	mirror.setFail(true)
	if _, _, err := r.startup(t, u); err == nil || !strings.Contains(err.Error(), "reading the checkpoint kept in") {
		t.Fatalf("start-up with the mirror down = %v", err)
	}
}
