package ledger

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const testOrigin = "pedigree/test.example"

// deterministicKey returns a note signer and verifier key for name from a fixed seed byte, so
// that fuzz seeds stay valid. (Since Go 1.26, GenerateKey ignores its random source.)
func deterministicKey(tb testing.TB, name string, seed byte) (note.Signer, string) {
	tb.Helper()
	skey, vkey := deterministicKeyText(tb, name, seed)
	s, err := note.NewSigner(skey)
	if err != nil {
		tb.Fatal(err)
	}
	return s, vkey
}

// deterministicKeyText returns the signer and verifier key text for name and a fixed seed.
func deterministicKeyText(tb testing.TB, name string, seed byte) (skey, vkey string) {
	tb.Helper()
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
	vkey, err := note.NewEd25519VerifierKey(name, priv.Public().(ed25519.PublicKey))
	if err != nil {
		tb.Fatal(err)
	}
	hash := strings.Split(vkey, "+")[1]
	skey = fmt.Sprintf("PRIVATE+KEY+%s+%s+%s", name, hash,
		base64.StdEncoding.EncodeToString(append([]byte{1}, priv.Seed()...)))
	return skey, vkey
}

var testTree = tlog.Tree{N: 20852163, Hash: tlog.Hash{0: 0x0a, 1: 0xc5, 31: 0x62}}

// signText signs arbitrary note text, bypassing SignCheckpoint's checks.
func signText(tb testing.TB, text string, signers ...note.Signer) []byte {
	tb.Helper()
	msg, err := note.Sign(&note.Note{Text: text}, signers...)
	if err != nil {
		tb.Fatal(err)
	}
	return msg
}

func TestCheckpointRoundTrip(t *testing.T) {
	s, vkey := deterministicKey(t, testOrigin, 1)
	for _, tree := range []tlog.Tree{testTree, {N: 0, Hash: newRFC6962(nil).mth(0, 0)}, {N: 1 << 62}} {
		msg, err := SignCheckpoint(s, testOrigin, tree)
		if err != nil {
			t.Fatal(err)
		}
		wantText := fmt.Sprintf("%s\n%d\n%s\n\n— %s ", testOrigin, tree.N, tree.Hash, testOrigin)
		if !strings.HasPrefix(string(msg), wantText) || !strings.HasSuffix(string(msg), "\n") || strings.Count(string(msg), "\n") != 5 {
			t.Fatalf("checkpoint is not a C2SP tlog-checkpoint:\n%s", msg)
		}
		origin, got, err := OpenCheckpoint(msg, vkey)
		if err != nil {
			t.Fatal(err)
		}
		if origin != testOrigin || got != tree {
			t.Fatalf("OpenCheckpoint = %q %v, want %q %v", origin, got, testOrigin, tree)
		}
	}
}

func TestOpenCheckpointRejects(t *testing.T) {
	s, vkey := deterministicKey(t, testOrigin, 1)
	msg, err := SignCheckpoint(s, testOrigin, testTree)
	if err != nil {
		t.Fatal(err)
	}
	other, otherVkey := deterministicKey(t, testOrigin, 2)
	elsewhere, elsewhereVkey := deterministicKey(t, "pedigree/elsewhere", 3)
	root := testTree.Hash.String()
	text := func(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

	tests := []struct {
		name string
		msg  []byte
		vkey string
		want error
	}{
		{"WrongKeySameName", msg, otherVkey, ErrCheckpointSignature},
		{"WrongKeyOtherName", msg, elsewhereVkey, ErrCheckpointSignature},
		{"SignedByOtherKey", signText(t, text(testOrigin, "20852163", root), other), vkey, ErrCheckpointSignature},
		{"WrongOrigin", signText(t, text("pedigree/elsewhere", "20852163", root), s), vkey, ErrCheckpointSignature},
		{"OriginOfOtherKey", signText(t, text("pedigree/elsewhere", "20852163", root), elsewhere), vkey, ErrCheckpointSignature},
		{"ExtraLine", signText(t, text(testOrigin, "20852163", root, "extension"), s), vkey, ErrMalformedCheckpoint},
		{"MissingRoot", signText(t, text(testOrigin, "20852163"), s), vkey, ErrMalformedCheckpoint},
		{"MissingSize", signText(t, text(testOrigin, root), s), vkey, ErrMalformedCheckpoint},
		{"LeadingZero", signText(t, text(testOrigin, "020852163", root), s), vkey, ErrMalformedCheckpoint},
		{"PlusSign", signText(t, text(testOrigin, "+20852163", root), s), vkey, ErrMalformedCheckpoint},
		{"NegativeSize", signText(t, text(testOrigin, "-1", root), s), vkey, ErrMalformedCheckpoint},
		{"HugeSize", signText(t, text(testOrigin, "9223372036854775808", root), s), vkey, ErrMalformedCheckpoint},
		{"ShortRoot", signText(t, text(testOrigin, "1", root[:40]+"="), s), vkey, ErrMalformedCheckpoint},
		{"UnpaddedRoot", signText(t, text(testOrigin, "1", strings.TrimRight(root, "=")), s), vkey, ErrMalformedCheckpoint},
		{"NonCanonicalRoot", signText(t, text(testOrigin, "1", root[:42]+"j="), s), vkey, ErrMalformedCheckpoint},
		{"URLBase64Root", signText(t, text(testOrigin, "1", base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xff}, 32))), s), vkey, ErrMalformedCheckpoint},
		{"NoSignatures", []byte(text(testOrigin, "1", root) + "\n"), vkey, ErrMalformedCheckpoint},
		{"NoBlankLine", []byte(strings.Replace(string(msg), "\n\n", "\n", 1)), vkey, ErrMalformedCheckpoint},
		{"Empty", nil, vkey, ErrMalformedCheckpoint},
		{"TooLarge", append(bytes.Repeat([]byte("x"), maxCheckpointSize), msg...), vkey, ErrMalformedCheckpoint},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if origin, tree, err := OpenCheckpoint(tt.msg, tt.vkey); !errors.Is(err, tt.want) {
				t.Fatalf("OpenCheckpoint = %q %v, %v; want %v", origin, tree, err, tt.want)
			}
		})
	}
	t.Run("BadVerifierKey", func(t *testing.T) {
		if _, _, err := OpenCheckpoint(msg, "pedigree+00000000+AAAA"); err == nil {
			t.Fatal("accepted a malformed verifier key")
		}
	})
}

// TestOpenCheckpointTampering changes every byte of a signed checkpoint in turn, the body and
// the signature line alike, and expects each change to be refused.
func TestOpenCheckpointTampering(t *testing.T) {
	s, vkey := deterministicKey(t, testOrigin, 1)
	msg, err := SignCheckpoint(s, testOrigin, testTree)
	if err != nil {
		t.Fatal(err)
	}
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range msg {
		for _, bit := range []byte{0x01, 0x02, 0x20} {
			bad := bytes.Clone(msg)
			bad[i] ^= bit
			if _, _, err := OpenCheckpoint(bad, vkey); err == nil {
				t.Fatalf("accepted the checkpoint with byte %d xor %#x:\n%s", i, bit, bad)
			}
		}
	}
	// Replace each signature character with every other base64 character.
	sigStart := bytes.LastIndexByte(msg[:len(msg)-1], ' ') + 1
	for i := sigStart; i < len(msg)-1; i++ {
		if msg[i] == '=' {
			continue
		}
		for _, c := range []byte(b64) {
			if c == msg[i] {
				continue
			}
			bad := bytes.Clone(msg)
			bad[i] = c
			if _, _, err := OpenCheckpoint(bad, vkey); err == nil {
				t.Fatalf("accepted the checkpoint with signature character %d changed to %q", i-sigStart, c)
			}
		}
	}
}

func TestOpenCheckpointIgnoresCosignatures(t *testing.T) {
	s, vkey := deterministicKey(t, testOrigin, 1)
	witness, _ := deterministicKey(t, "witness.example", 9)
	msg := signText(t, string(formatCheckpoint(testOrigin, testTree)), witness, s)
	origin, tree, err := OpenCheckpoint(msg, vkey)
	if err != nil || origin != testOrigin || tree != testTree {
		t.Fatalf("OpenCheckpoint with a witness cosignature = %q %v, %v", origin, tree, err)
	}
}

func TestSignCheckpointRejects(t *testing.T) {
	s, _ := deterministicKey(t, testOrigin, 1)
	for _, origin := range []string{"", "pedigree/other", testOrigin + "\n5", "pedigree test", "a+b", "bad\xff"} {
		if msg, err := SignCheckpoint(s, origin, testTree); err == nil {
			t.Errorf("SignCheckpoint(origin %q) = %q", origin, msg)
		}
	}
	if _, err := SignCheckpoint(s, testOrigin, tlog.Tree{N: -1}); err == nil {
		t.Error("SignCheckpoint of a negative size succeeded")
	}
}

func TestValidOrigin(t *testing.T) {
	for _, o := range []string{"pedigree/host", "example.com/behind-the-sofa", "pedigree/höst:8080"} {
		if err := ValidOrigin(o); err != nil {
			t.Errorf("ValidOrigin(%q) = %v", o, err)
		}
	}
	for _, o := range []string{"", "a\nb", "a b", "a\tb", "a+b", "\xff", "a\u00a0b", "a\x7fb"} {
		if err := ValidOrigin(o); err == nil {
			t.Errorf("ValidOrigin(%q) accepted", o)
		}
	}
}
