package registry_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/pedigreeml/pedigree/registry"
)

// FuzzDisclosureValidate decodes arbitrary JSON as a disclosure, as the API does (unknown fields
// refused), and validates it: never a panic; what passes is stored as its Document, which decodes
// back to a disclosure that passes again and encodes to the same bytes (the log leaf digests them).
func FuzzDisclosureValidate(f *testing.F) {
	for _, s := range []string{`{}`,
		`{"provider":{"name":"Labs","contact":"ai@example.com"},"market_placement_date":"2025-09-01","dependencies":[]}`,
		`{"market_placement_date":"2025-13-01"}`, `{"crawlers":[{"name":"bot"}]}`, `{"provider":{"name":"x"}}`, `[]`} {
		f.Add([]byte(s))
	}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, b []byte) {
		var n registry.NewDisclosure
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if dec.Decode(&n) != nil || n.Validate(now) != nil {
			return
		}
		doc, err := n.Document()
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		var back registry.NewDisclosure
		if err := json.Unmarshal(doc, &back); err != nil {
			t.Fatalf("%s: its document %s does not decode: %v", b, doc, err)
		}
		if err := back.Validate(now); err != nil {
			t.Fatalf("%s: its document %s no longer validates: %v", b, doc, err)
		}
		again, err := back.Document()
		if err != nil || !bytes.Equal(again, doc) {
			t.Fatalf("%s: document %s, then %s", b, doc, again)
		}
	})
}
