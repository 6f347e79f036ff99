package ledger

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// A Watermark is the last tree that a full check ([Log.FullCheck]) verified: every stored hash of
// the tree recomputed from its leaves and every record whose leaf it holds re-derived. The start-up
// check ([Log.StartupCheck]) trusts the tree below it and re-derives only the records after it.
type Watermark struct {
	Tree tlog.Tree
	Time time.Time // when the full check finished (UTC, millisecond precision)
}

// watermarkHeader is the first line of a watermark note. It makes the note something no checkpoint
// parser accepts, and no watermark parser accepts a checkpoint: a signed checkpoint copied into
// the watermark file cannot make a start-up check skip records that no full check has seen.
const watermarkHeader = "pedigree audit watermark"

// signWatermark returns w as a note signed by s:
//
//	pedigree audit watermark
//	<origin>
//	<size>
//	<base64 root hash>
//	<time, 2006-01-02T15:04:05.000Z>
func signWatermark(s note.Signer, origin string, w Watermark) ([]byte, error) {
	text := fmt.Sprintf("%s\n%s\n%d\n%s\n%s\n", watermarkHeader, origin, w.Tree.N, w.Tree.Hash,
		w.Time.UTC().Truncate(time.Millisecond).Format(leafTimeLayout))
	msg, err := note.Sign(&note.Note{Text: text}, s)
	if err != nil {
		return nil, fmt.Errorf("ledger: sign watermark: %w", err)
	}
	return msg, nil
}

// openWatermark verifies a watermark note with the log's verifier key and origin.
func openWatermark(msg []byte, verifierKey, origin string) (Watermark, error) {
	v, err := note.NewVerifier(verifierKey)
	if err != nil {
		return Watermark{}, fmt.Errorf("ledger: verifier key: %w", err)
	}
	if len(msg) > maxNoteSize {
		return Watermark{}, fmt.Errorf("%w: watermark longer than %d bytes", ErrMalformedCheckpoint, maxNoteSize)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return Watermark{}, fmt.Errorf("%w: watermark: %v", ErrCheckpointSignature, err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) != 6 || lines[0] != watermarkHeader || lines[5] != "" {
		return Watermark{}, fmt.Errorf("%w: not a watermark", ErrMalformedCheckpoint)
	}
	if lines[1] != origin {
		return Watermark{}, fmt.Errorf("%w: watermark of origin %q, not %q", ErrCheckpointSignature, lines[1], origin)
	}
	size, err := strconv.ParseInt(lines[2], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[2] {
		return Watermark{}, fmt.Errorf("%w: watermark size %q", ErrMalformedCheckpoint, lines[2])
	}
	h, err := base64.StdEncoding.DecodeString(lines[3])
	if err != nil || len(h) != tlog.HashSize || base64.StdEncoding.EncodeToString(h) != lines[3] {
		return Watermark{}, fmt.Errorf("%w: watermark root %q", ErrMalformedCheckpoint, lines[3])
	}
	t, err := time.Parse(leafTimeLayout, lines[4])
	if err != nil {
		return Watermark{}, fmt.Errorf("%w: watermark time %q", ErrMalformedCheckpoint, lines[4])
	}
	w := Watermark{Tree: tlog.Tree{N: size}, Time: t}
	copy(w.Tree.Hash[:], h)
	return w, nil
}
