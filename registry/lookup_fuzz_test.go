package registry

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzLookupValidate decodes arbitrary JSON as a lookup request, as the API does (unknown fields
// refused), and validates it: never a panic; what passes names between 1 and MaxLookupKeys keys, every
// content hash is 64 lowercase hex digits, no content key names a batch item, and validating again
// gives the same answer.
func FuzzLookupValidate(f *testing.F) {
	for _, s := range []string{`{"ids":["01900000-0000-7000-8000-000000000000"]}`,
		`{"external_ids":[{"dataset":"d","external_id":"q1"}]}`,
		`{"contents":[{"content_sha256":"` + string(bytes.Repeat([]byte("a"), 64)) + `"}]}`,
		`{"contents":[{"content_sha256":"` + string(bytes.Repeat([]byte("0"), 64)) + `","origin":"model","model":"m@1","prompt_id":{"dataset":"p","external_id":"q"}}]}`,
		`{"contents":[{"content_sha256":"x","prompt_id":{"item":0}}]}`, `{}`, `{"contents":[{}]}`, `[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var l Lookup
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if dec.Decode(&l) != nil {
			return
		}
		err := l.Validate()
		if (l.Validate() == nil) != (err == nil) {
			t.Fatalf("%s: validated twice, differently", b)
		}
		if err != nil {
			return
		}
		if n := len(l.IDs) + len(l.ExternalIDs) + len(l.Contents); n < 1 || n > MaxLookupKeys {
			t.Fatalf("%s: %d keys passed", b, n)
		}
		for _, k := range l.Contents {
			if !validSHA256(k.ContentSHA256) {
				t.Fatalf("%s: content hash %q passed", b, k.ContentSHA256)
			}
			n := k.newSample()
			rs, _ := refs(&n)
			for _, r := range rs {
				if r.Item != nil {
					t.Fatalf("%s: an item reference passed", b)
				}
			}
		}
	})
}
