package export

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"

	"github.com/pedigreeml/pedigree/registry"
)

// Digest is the SHA-256 and size of one format's output.
type Digest struct {
	SHA256 string
	Size   int64
}

// Summer computes, in one pass over a mix's samples, the Digest of each format's output: the
// SHA-256 a client finds when it downloads the export, for the Croissant description to state.
// Every format's bytes depend only on the samples and their order, so the sums are those of any
// download of the same mix from the same registry version.
type Summer struct {
	formats []string
	writers []Writer
	sums    []*counter
}

// counter hashes and counts what is written to it.
type counter struct {
	h hash.Hash
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.h.Write(p)
}

// NewSummer returns a Summer of formats.
func NewSummer(opts Options, formats ...string) (*Summer, error) {
	s := &Summer{formats: formats}
	for _, f := range formats {
		c := &counter{h: sha256.New()}
		w, err := New(f, c, opts)
		if err != nil {
			return nil, err
		}
		s.writers, s.sums = append(s.writers, w), append(s.sums, c)
	}
	return s, nil
}

// Write adds a sample to every format.
func (s *Summer) Write(smp *registry.Sample) error {
	for _, w := range s.writers {
		if err := w.Write(smp); err != nil {
			return err
		}
	}
	return nil
}

// Sums completes every format and returns their digests by format.
func (s *Summer) Sums() (map[string]Digest, error) {
	out := make(map[string]Digest, len(s.formats))
	for i, w := range s.writers {
		if err := w.Close(); err != nil {
			return nil, err
		}
		out[s.formats[i]] = Digest{SHA256: hex.EncodeToString(s.sums[i].h.Sum(nil)), Size: s.sums[i].n}
	}
	return out, nil
}
