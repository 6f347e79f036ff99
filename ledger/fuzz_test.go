package ledger

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzParseLeaf checks that ParseLeaf never panics, fails only with ErrMalformedLeaf, and that
// every leaf it accepts re-encodes to exactly the same bytes. Seeds: testdata/fuzz/FuzzParseLeaf.
func FuzzParseLeaf(f *testing.F) {
	f.Add(testLeaf(f, 1))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseLeaf(b)
		if err != nil {
			if !errors.Is(err, ErrMalformedLeaf) {
				t.Fatalf("ParseLeaf error %v does not wrap ErrMalformedLeaf", err)
			}
			return
		}
		again, err := r.Bytes()
		if err != nil {
			t.Fatalf("ParseLeaf accepted %q, whose record does not encode: %v", b, err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("ParseLeaf accepted %q, which re-encodes as %q", b, again)
		}
	})
}

// FuzzOpenCheckpoint checks that OpenCheckpoint never panics, fails only with its two errors, and
// that a checkpoint it accepts carries the canonical text of what it returns and, when signed by
// the log key alone, is byte for byte what SignCheckpoint writes. The key is fixed so that the
// seeds in testdata/fuzz/FuzzOpenCheckpoint stay valid.
func FuzzOpenCheckpoint(f *testing.F) {
	s, vkey := deterministicKey(f, testOrigin, 1)
	msg, err := SignCheckpoint(s, testOrigin, testTree)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(msg)
	f.Fuzz(func(t *testing.T, msg []byte) {
		origin, tree, err := OpenCheckpoint(msg, vkey)
		if err != nil {
			if !errors.Is(err, ErrMalformedCheckpoint) && !errors.Is(err, ErrCheckpointSignature) {
				t.Fatalf("OpenCheckpoint error %v wraps neither ErrMalformedCheckpoint nor ErrCheckpointSignature", err)
			}
			return
		}
		if origin != testOrigin {
			t.Fatalf("opened a checkpoint of origin %q with the key of %q", origin, testOrigin)
		}
		text := formatCheckpoint(origin, tree)
		if !bytes.HasPrefix(msg, append(text, '\n')) {
			t.Fatalf("opened %q, whose text is not the canonical %q", msg, text)
		}
		if bytes.Count(msg, []byte("\n— ")) == 1 {
			want, err := SignCheckpoint(s, origin, tree)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(msg, want) {
				t.Fatalf("opened %q, which SignCheckpoint writes as %q", msg, want)
			}
		}
	})
}
