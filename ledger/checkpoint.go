package ledger

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// ErrMalformedCheckpoint is wrapped by [OpenCheckpoint] when the note text is not a checkpoint of
// the exact form that [SignCheckpoint] writes.
var ErrMalformedCheckpoint = errors.New("ledger: malformed checkpoint")

// ErrCheckpointSignature is wrapped by [OpenCheckpoint] when the note is not signed by the given
// key, or by [SignCheckpoint] when the origin is not the signer's name.
var ErrCheckpointSignature = errors.New("ledger: checkpoint not signed by the log key")

// maxCheckpointSize bounds the signed notes OpenCheckpoint looks at; a checkpoint with one
// signature is under 200 bytes.
const maxCheckpointSize = 16 << 10

// ValidOrigin reports whether origin can name a log: its checkpoints carry it as their first line
// and are signed with a note key of the same name, so it must be a valid note key name:
// non-empty UTF-8 without white space (in particular no newline) or '+'. For example
// "pedigree/registry.example.com".
func ValidOrigin(origin string) error {
	if origin == "" || !utf8.ValidString(origin) || strings.IndexFunc(origin, unicode.IsSpace) >= 0 ||
		strings.Contains(origin, "+") || strings.IndexFunc(origin, unicode.IsControl) >= 0 {
		return fmt.Errorf("ledger: origin %q must be non-empty UTF-8 without spaces, control characters or '+'", origin)
	}
	return nil
}

// formatCheckpoint returns the note text of a C2SP tlog-checkpoint without extension lines.
func formatCheckpoint(origin string, t tlog.Tree) []byte {
	return fmt.Appendf(nil, "%s\n%d\n%s\n", origin, t.N, t.Hash)
}

// SignCheckpoint returns tree t as a C2SP tlog-checkpoint signed note:
//
//	<origin>
//	<size>
//	<base64 root hash>
//
//	— <origin> <base64 signature>
//
// Origin must be valid ([ValidOrigin]) and equal to the signer's key name, as the C2SP
// convention has it, so that a checkpoint names the key that must sign it.
func SignCheckpoint(s note.Signer, origin string, t tlog.Tree) ([]byte, error) {
	if err := ValidOrigin(origin); err != nil {
		return nil, err
	}
	if s.Name() != origin {
		return nil, fmt.Errorf("%w: origin %q differs from the key name %q", ErrCheckpointSignature, origin, s.Name())
	}
	if t.N < 0 {
		return nil, fmt.Errorf("ledger: checkpoint of negative size %d", t.N)
	}
	msg, err := note.Sign(&note.Note{Text: string(formatCheckpoint(origin, t))}, s)
	if err != nil {
		return nil, fmt.Errorf("ledger: sign checkpoint: %w", err)
	}
	return msg, nil
}

// OpenCheckpoint verifies a signed checkpoint with verifierKey (a note verifier key,
// "<name>+<hash>+<key>", as [LoadOrCreateKey] returns it) and returns its origin and tree.
//
// It is strict: the note text must be exactly three lines, the origin must equal the key's name,
// the size must be canonical decimal and the root canonical base64 of 32 bytes, and a valid
// signature by the key, in canonical base64, must be present. Signatures by other keys (for example witness
// cosignatures) are allowed and ignored; an invalid signature by the key is an error.
func OpenCheckpoint(msg []byte, verifierKey string) (origin string, t tlog.Tree, err error) {
	v, err := note.NewVerifier(verifierKey)
	if err != nil {
		return "", tlog.Tree{}, fmt.Errorf("ledger: verifier key: %w", err)
	}
	if len(msg) > maxCheckpointSize {
		return "", tlog.Tree{}, fmt.Errorf("%w: longer than %d bytes", ErrMalformedCheckpoint, maxCheckpointSize)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		if errors.As(err, &unverified) || errors.As(err, &invalid) {
			return "", tlog.Tree{}, fmt.Errorf("%w: %v", ErrCheckpointSignature, err)
		}
		return "", tlog.Tree{}, fmt.Errorf("%w: %v", ErrMalformedCheckpoint, err)
	}
	for _, sig := range n.Sigs {
		// note.Open decodes base64 leniently; a signature has one spelling.
		raw, err := base64.StdEncoding.DecodeString(sig.Base64)
		if err != nil || base64.StdEncoding.EncodeToString(raw) != sig.Base64 {
			return "", tlog.Tree{}, fmt.Errorf("%w: signature not in canonical base64", ErrMalformedCheckpoint)
		}
	}
	origin, t, err = parseCheckpoint(n.Text)
	if err != nil {
		return "", tlog.Tree{}, err
	}
	if origin != v.Name() {
		return "", tlog.Tree{}, fmt.Errorf("%w: origin %q differs from the key name %q", ErrCheckpointSignature, origin, v.Name())
	}
	return origin, t, nil
}

// parseCheckpoint parses note text written by formatCheckpoint, accepting nothing else.
func parseCheckpoint(text string) (string, tlog.Tree, error) {
	lines := strings.Split(text, "\n")
	if len(lines) != 4 || lines[3] != "" {
		return "", tlog.Tree{}, fmt.Errorf("%w: want 3 lines", ErrMalformedCheckpoint)
	}
	origin, size, root := lines[0], lines[1], lines[2]
	if err := ValidOrigin(origin); err != nil {
		return "", tlog.Tree{}, fmt.Errorf("%w: %v", ErrMalformedCheckpoint, err)
	}
	n, err := strconv.ParseInt(size, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != size {
		return "", tlog.Tree{}, fmt.Errorf("%w: size %q", ErrMalformedCheckpoint, size)
	}
	h, err := base64.StdEncoding.DecodeString(root)
	if err != nil || len(h) != tlog.HashSize || base64.StdEncoding.EncodeToString(h) != root {
		return "", tlog.Tree{}, fmt.Errorf("%w: root hash %q", ErrMalformedCheckpoint, root)
	}
	t := tlog.Tree{N: n}
	copy(t.Hash[:], h)
	return origin, t, nil
}
