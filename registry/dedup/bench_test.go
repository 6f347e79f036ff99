package dedup

import (
	"crypto/sha256"
	"strings"
	"testing"
)

// BenchmarkIngestWork is what ingest computes for each text, on every scoring core: the normalized
// form and its SHA-256, and the sketch; against hashing the text alone (the content hash every
// sample already gets), in the same run.
func BenchmarkIngestWork(b *testing.B) {
	text := strings.Repeat("The committee reviewed the proposal carefully, and agreed at last. ", 12) // ~120 words
	b.Run("content_hash", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			sha256.Sum256([]byte(text))
		}
	})
	b.Run("normalize_key_sketch", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			norm, _ := Prepare(text)
			sha256.Sum256([]byte(norm))
		}
	})
}
