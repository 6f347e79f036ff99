package ledger

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Key file names inside the data directory.
const (
	KeyFile       = "log.key" // the note signer key, mode 0600
	PublicKeyFile = "log.pub" // the note verifier key, for auditors
)

// LoadOrCreateKey returns the log's Ed25519 note signer and verifier and the verifier key text
// ("<name>+<hash>+<base64 key>", what auditors pass to [OpenCheckpoint]).
//
// The signer key lives in <dataDir>/log.key. On first use LoadOrCreateKey generates it and
// writes it with mode 0600 (creating dataDir with mode 0700 if needed); afterwards it reads it
// back. It fails if the file is accessible to group or others (on systems with Unix permissions),
// if it is not a note signer key, or if it was made for another name: the name is the log's
// origin ([ValidOrigin]) and is bound into every signature. Every call also writes the verifier
// key to <dataDir>/log.pub.
//
// Several registry instances sharing one database must share one key file.
func LoadOrCreateKey(dataDir, name string) (note.Signer, note.Verifier, string, error) {
	if err := ValidOrigin(name); err != nil {
		return nil, nil, "", err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, nil, "", fmt.Errorf("ledger: data directory: %w", err)
	}
	path := filepath.Join(dataDir, KeyFile)
	skey, err := readKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		skey, err = createKeyFile(dataDir, path, name)
	}
	if err != nil {
		return nil, nil, "", err
	}
	signer, verifier, vkey, err := parseSignerKey(skey)
	if err != nil {
		return nil, nil, "", fmt.Errorf("ledger: %s: %w", path, err)
	}
	if signer.Name() != name {
		return nil, nil, "", fmt.Errorf("ledger: %s is the key of %q, not %q", path, signer.Name(), name)
	}
	if err := writePublicKey(filepath.Join(dataDir, PublicKeyFile), vkey); err != nil {
		return nil, nil, "", err
	}
	return signer, verifier, vkey, nil
}

// LoadKey is like [LoadOrCreateKey] for a data directory that must already hold the key: it reads
// <dataDir>/log.key whatever its name (the log's origin), and never creates or writes anything.
// A missing key file is an error wrapping fs.ErrNotExist.
func LoadKey(dataDir string) (note.Signer, note.Verifier, string, error) {
	path := filepath.Join(dataDir, KeyFile)
	skey, err := readKeyFile(path)
	if err != nil {
		return nil, nil, "", fmt.Errorf("ledger: log key: %w", err)
	}
	signer, verifier, vkey, err := parseSignerKey(skey)
	if err != nil {
		return nil, nil, "", fmt.Errorf("ledger: %s: %w", path, err)
	}
	return signer, verifier, vkey, nil
}

// readKeyFile reads the signer key text, refusing files others may read.
func readKeyFile(path string) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !info.Mode().IsRegular() {
		return "", fmt.Errorf("ledger: %s is not a regular file", path)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("ledger: %s has mode %#o; it holds the log's private key and must not be accessible to group or others (chmod 600)", path, info.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("ledger: read log key: %w", err)
	}
	return strings.TrimSuffix(string(b), "\n"), nil
}

// createKeyFile generates a key and publishes it at path atomically: it is written and synced
// under a temporary name, then hard-linked into place, which fails if another process got there
// first (that process's key is then used).
func createKeyFile(dir, path, name string) (string, error) {
	skey, _, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return "", fmt.Errorf("ledger: generate log key: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".log.key-*") // CreateTemp uses mode 0600
	if err != nil {
		return "", fmt.Errorf("ledger: create log key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(skey + "\n"); err != nil {
		tmp.Close()
		return "", fmt.Errorf("ledger: write log key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", fmt.Errorf("ledger: write log key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("ledger: write log key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readKeyFile(path)
		}
		return "", fmt.Errorf("ledger: install log key: %w", err)
	}
	syncDir(dir)
	return skey, nil
}

// parseSignerKey builds the signer and its verifier from a note signer key
// ("PRIVATE+KEY+<name>+<hash>+<base64 of 0x01 || Ed25519 seed>").
func parseSignerKey(skey string) (note.Signer, note.Verifier, string, error) {
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, nil, "", fmt.Errorf("not a note signer key: %w", err)
	}
	// note.Signer does not expose its public key; derive it from the seed, which NewSigner has
	// already checked to be a 32-byte Ed25519 seed matching the key hash.
	// The base64 key may itself contain '+': it is everything after the fourth '+'.
	parts := strings.SplitN(skey, "+", 5)
	if len(parts) != 5 {
		return nil, nil, "", errors.New("not an Ed25519 note signer key")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize {
		return nil, nil, "", errors.New("not an Ed25519 note signer key")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(signer.Name(), pub)
	if err != nil {
		return nil, nil, "", err
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, nil, "", err
	}
	if verifier.KeyHash() != signer.KeyHash() {
		return nil, nil, "", errors.New("verifier key hash differs from the signer's")
	}
	return signer, verifier, vkey, nil
}

// writePublicKey writes the verifier key to path unless it already holds it, replacing the file
// atomically.
func writePublicKey(path, vkey string) error {
	want := []byte(vkey + "\n")
	if have, err := os.ReadFile(path); err == nil && bytes.Equal(have, want) {
		return nil
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".log.pub-*")
	if err != nil {
		return fmt.Errorf("ledger: write public key: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(want)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("ledger: write public key: %w", err)
	}
	syncDir(dir)
	return nil
}

// syncDir makes a new directory entry durable where the platform allows it; failures are
// ignored because the file itself is already synced.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
