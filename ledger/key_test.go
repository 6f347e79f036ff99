package ledger

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

func TestLoadOrCreateKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "nested")
	s1, v1, vkey1, err := LoadOrCreateKey(dir, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(dir, KeyFile)
	info, err := os.Stat(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %#o, want 0600", KeyFile, info.Mode().Perm())
	}
	if b, err := os.ReadFile(keyPath); err != nil || !strings.HasPrefix(string(b), "PRIVATE+KEY+"+testOrigin+"+") {
		t.Errorf("%s = %q, %v; want a note signer key", KeyFile, b, err)
	}
	if pub, err := os.ReadFile(filepath.Join(dir, PublicKeyFile)); err != nil || string(pub) != vkey1+"\n" {
		t.Errorf("%s = %q, %v; want %q", PublicKeyFile, pub, err, vkey1)
	}
	if s1.Name() != testOrigin || v1.Name() != testOrigin || v1.KeyHash() != s1.KeyHash() {
		t.Errorf("signer %s %08x, verifier %s %08x", s1.Name(), s1.KeyHash(), v1.Name(), v1.KeyHash())
	}
	if _, err := note.NewVerifier(vkey1); err != nil {
		t.Errorf("verifier key %q: %v", vkey1, err)
	}

	// The second call reuses the key, and restores a deleted public key file.
	if err := os.Remove(filepath.Join(dir, PublicKeyFile)); err != nil {
		t.Fatal(err)
	}
	s2, _, vkey2, err := LoadOrCreateKey(dir, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	if vkey2 != vkey1 {
		t.Fatalf("second call made a new key: %q, first %q", vkey2, vkey1)
	}
	if pub, err := os.ReadFile(filepath.Join(dir, PublicKeyFile)); err != nil || string(pub) != vkey1+"\n" {
		t.Errorf("%s not restored: %q, %v", PublicKeyFile, pub, err)
	}
	msg, err := SignCheckpoint(s2, testOrigin, testTree)
	if err != nil {
		t.Fatal(err)
	}
	if _, tree, err := OpenCheckpoint(msg, vkey1); err != nil || tree != testTree {
		t.Fatalf("a checkpoint signed after reloading does not open with the first key: %v", err)
	}
}

// TestLoadOrCreateKeyConcurrent starts several first calls at once on an empty directory; they
// must all end up with the one key that was installed.
func TestLoadOrCreateKeyConcurrent(t *testing.T) {
	dir := t.TempDir()
	const n = 8
	vkeys := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { _, _, vkeys[i], errs[i] = LoadOrCreateKey(dir, testOrigin) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || vkeys[i] != vkeys[0] {
			t.Fatalf("call %d: %q, %v; call 0: %q", i, vkeys[i], errs[i], vkeys[0])
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("data directory holds %d entries, want log.key and log.pub only", len(entries))
	}
}

// TestLoadKeyWithPlusInBase64 loads key files whose base64 key contains '+', the separator of the
// key's other parts.
func TestLoadKeyWithPlusInBase64(t *testing.T) {
	found := 0
	for seed := range 256 {
		skey, vkey := deterministicKeyText(t, testOrigin, byte(seed))
		if !strings.Contains(strings.SplitN(skey, "+", 5)[4], "+") {
			continue
		}
		found++
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, KeyFile), []byte(skey+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, _, got, err := LoadOrCreateKey(dir, testOrigin)
		if err != nil || got != vkey {
			t.Fatalf("seed %d: LoadOrCreateKey = %q, %v; want %q", seed, got, err, vkey)
		}
	}
	if found == 0 {
		t.Fatal("no test key has a '+' in its base64")
	}
}

func TestLoadOrCreateKeyRejects(t *testing.T) {
	setup := func(t *testing.T) string {
		t.Helper()
		dir := t.TempDir()
		if _, _, _, err := LoadOrCreateKey(dir, testOrigin); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	t.Run("OtherName", func(t *testing.T) {
		dir := setup(t)
		if _, _, _, err := LoadOrCreateKey(dir, "pedigree/other"); err == nil {
			t.Fatal("loaded the key under another name")
		}
	})
	t.Run("InvalidName", func(t *testing.T) {
		if _, _, _, err := LoadOrCreateKey(t.TempDir(), "bad name"); err == nil {
			t.Fatal("accepted a name with a space")
		}
	})
	t.Run("WidePermissions", func(t *testing.T) {
		if runtime.GOOS == "windows" {
			t.Skip("no Unix permissions")
		}
		dir := setup(t)
		if err := os.Chmod(filepath.Join(dir, KeyFile), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := LoadOrCreateKey(dir, testOrigin); err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Fatalf("loaded a world-readable key: %v", err)
		}
	})
	t.Run("Garbage", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, KeyFile), []byte("not a key\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := LoadOrCreateKey(dir, testOrigin); err == nil {
			t.Fatal("loaded garbage as a key")
		}
		if b, _ := os.ReadFile(filepath.Join(dir, KeyFile)); string(b) != "not a key\n" {
			t.Fatal("overwrote an existing key file")
		}
	})
	t.Run("Directory", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Mkdir(filepath.Join(dir, KeyFile), 0o700); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := LoadOrCreateKey(dir, testOrigin); err == nil {
			t.Fatal("accepted a directory as the key file")
		}
	})
	t.Run("DataDirIsFile", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := LoadOrCreateKey(file, testOrigin); err == nil {
			t.Fatal("used a file as the data directory")
		}
	})
}

func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	if _, _, _, err := LoadKey(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("LoadKey of an empty directory = %v, want fs.ErrNotExist", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("LoadKey wrote %v", entries)
	}
	s1, _, vkey1, err := LoadOrCreateKey(dir, "pedigree/loaded")
	if err != nil {
		t.Fatal(err)
	}
	s2, _, vkey2, err := LoadKey(dir)
	if err != nil || s2.Name() != s1.Name() || vkey2 != vkey1 {
		t.Fatalf("LoadKey = %q, %q, %v; want %q, %q", s2.Name(), vkey2, err, s1.Name(), vkey1)
	}
}
