package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// A NoteStore keeps one signed note outside the database: a copy of the log's latest checkpoint (a
// witness, see [WithWitnesses]) or the audit watermark ([WithWatermark]). What it keeps is signed
// by the log's key and checked on every load, so a NoteStore need not be trusted with integrity,
// only with keeping what it was given: a store that loses its note, or hands back an older one,
// weakens rollback detection; one that forges a note is caught.
type NoteStore interface {
	// Load returns the note last saved, or nil and no error if there is none yet.
	Load(ctx context.Context) ([]byte, error)
	// Save replaces the note, durably, before it returns.
	Save(ctx context.Context, note []byte) error
	// String names the place for messages, without credentials.
	String() string
}

// Files kept in a registry's data directory, next to the key files.
const (
	CheckpointFile = "log/checkpoint" // a copy of the latest signed checkpoint
	WatermarkFile  = "log/audited"    // the watermark: the last tree that a full check verified
)

// maxNoteSize bounds what a NoteStore loads: a checkpoint or a watermark with a few signatures is
// under a kilobyte.
const maxNoteSize = maxCheckpointSize

// A NoteFile keeps a note in one file. Save writes it to a temporary file in the same directory,
// syncs it, renames it into place and syncs the directory, so a crash leaves the old note or the
// new one, never a mix. The directory is created (mode 0700) if needed; the file is mode 0644, as
// everything it holds is public.
type NoteFile struct {
	Path string
}

var _ NoteStore = (*NoteFile)(nil)

// Load implements [NoteStore]; a missing file is no note.
func (f *NoteFile) Load(ctx context.Context) ([]byte, error) {
	file, err := os.Open(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	defer file.Close()
	b, err := io.ReadAll(io.LimitReader(file, maxNoteSize+1))
	if err != nil {
		return nil, fmt.Errorf("ledger: read %s: %w", f.Path, err)
	}
	if len(b) > maxNoteSize {
		return nil, fmt.Errorf("ledger: %s is longer than %d bytes", f.Path, maxNoteSize)
	}
	return b, nil
}

// Save implements [NoteStore].
func (f *NoteFile) Save(ctx context.Context, note []byte) error {
	if err := writeFileAtomic(f.Path, note, 0o644); err != nil {
		return fmt.Errorf("ledger: save %s: %w", f.Path, err)
	}
	return nil
}

// String implements [NoteStore].
func (f *NoteFile) String() string { return f.Path }

// writeFileAtomic replaces path with data: temporary file, fsync, rename, fsync of the directory.
func writeFileAtomic(path string, data []byte, perm fs.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing left to remove
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(perm)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return syncDirStrict(dir)
}

// syncDirStrict makes a rename durable. Windows cannot sync a directory (and does not need to);
// elsewhere a failure is an error.
func syncDirStrict(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// A NoteURL keeps a note at an HTTP(S) URL: Save PUTs it (text/plain) and wants a 2xx answer, Load
// GETs it, and a 404 means no note yet. Any server that stores what is PUT and returns it on GET
// will do: a WebDAV share, an object store's pre-signed URL, a small service on another machine.
type NoteURL struct {
	URL    string
	Client *http.Client // http.Client with a 10 s timeout if nil
}

var _ NoteStore = (*NoteURL)(nil)

// NewNoteURL returns a NoteURL for an http or https URL.
func NewNoteURL(rawURL string, client *http.Client) (*NoteURL, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("ledger: %q is not an http or https URL", rawURL)
	}
	return &NoteURL{URL: rawURL, Client: client}, nil
}

func (n *NoteURL) client() *http.Client {
	if n.Client != nil {
		return n.Client
	}
	return &http.Client{Timeout: 10 * time.Second}
}

// Load implements [NoteStore].
func (n *NoteURL) Load(ctx context.Context) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("ledger: %s: %w", n, err)
	}
	resp, err := n.client().Do(req)
	if err != nil {
		return nil, fmt.Errorf("ledger: GET %s: %w", n, redactURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("ledger: GET %s: %s", n, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxNoteSize+1))
	if err != nil {
		return nil, fmt.Errorf("ledger: GET %s: %w", n, err)
	}
	if len(b) > maxNoteSize {
		return nil, fmt.Errorf("ledger: GET %s: longer than %d bytes", n, maxNoteSize)
	}
	return b, nil
}

// Save implements [NoteStore].
func (n *NoteURL) Save(ctx context.Context, note []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, n.URL, bytes.NewReader(note))
	if err != nil {
		return fmt.Errorf("ledger: %s: %w", n, err)
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	resp, err := n.client().Do(req)
	if err != nil {
		return fmt.Errorf("ledger: PUT %s: %w", n, redactURLError(err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("ledger: PUT %s: %s", n, resp.Status)
	}
	return nil
}

// String implements [NoteStore], hiding a password in the URL.
func (n *NoteURL) String() string {
	if u, err := url.Parse(n.URL); err == nil {
		return u.Redacted()
	}
	return "(invalid URL)"
}

// redactURLError drops the URL from a client error (the caller names the place, redacted).
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
