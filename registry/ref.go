package registry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Ref names a sample that a new sample descends from or answers: by its id; by the client's
// external_id, within dataset (the referring sample's own when empty); or by Item, the position of
// an earlier sample in the same batch. On the wire an id alone is a string, and the other forms are
// objects: {"dataset": "prompts", "external_id": "q-17"} or {"item": 0}.
type Ref struct {
	ID         string `json:"id,omitempty"`
	Dataset    string `json:"dataset,omitempty"`
	ExternalID string `json:"external_id,omitempty"`
	Item       *int   `json:"item,omitempty"`
}

// RefID is a reference by id.
func RefID(id string) Ref { return Ref{ID: id} }

// RefIDs are references by ids.
func RefIDs(ids ...string) []Ref {
	out := make([]Ref, len(ids))
	for i, id := range ids {
		out[i] = Ref{ID: id}
	}
	return out
}

// RefItem is a reference to the item at index i of the same batch.
func RefItem(i int) Ref { return Ref{Item: &i} }

// IsZero reports whether r names nothing (an absent prompt_id).
func (r Ref) IsZero() bool {
	return r.ID == "" && r.ExternalID == "" && r.Dataset == "" && r.Item == nil
}

// MarshalJSON writes a reference by id as the id string, the others as objects.
func (r Ref) MarshalJSON() ([]byte, error) {
	if r.ExternalID == "" && r.Dataset == "" && r.Item == nil {
		return json.Marshal(r.ID)
	}
	type plain Ref
	return json.Marshal(plain(r))
}

// UnmarshalJSON reads a string (an id) or an object with exactly one form; unknown keys are refused.
func (r *Ref) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		*r = Ref{}
		return json.Unmarshal(b, &r.ID)
	}
	if len(b) == 0 || b[0] != '{' {
		return fmt.Errorf("a sample reference is an id string or an object with external_id (and dataset) or item")
	}
	type plain Ref
	var p plain
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return fmt.Errorf("a sample reference: %w", err)
	}
	*r = Ref(p)
	return nil
}

// validate says what is wrong with r as the reference at field, or "".
func (r Ref) validate() string {
	forms := 0
	if r.ID != "" {
		forms++
		if !ValidID(r.ID) {
			return "is not a sample id"
		}
	}
	if r.ExternalID != "" || r.Dataset != "" {
		forms++
		if r.ExternalID == "" {
			return "names a dataset without an external_id"
		}
		if msg := checkExternalID(r.ExternalID); msg != "" {
			return "external_id " + msg
		}
		if len(r.Dataset) > maxNameLen || strings.IndexByte(r.Dataset, 0) >= 0 {
			return "dataset is longer than 256 bytes or contains U+0000"
		}
	}
	if r.Item != nil {
		forms++
		if *r.Item < 0 {
			return "item must be the index of an earlier sample of the batch"
		}
	}
	if forms != 1 {
		return "must name a sample one way: an id, an external_id (with its dataset), or an item of the batch"
	}
	return ""
}

// key is how two references to the same sample compare within one sample's parents.
func (r Ref) key(dataset string) string {
	switch {
	case r.Item != nil:
		return "item:" + strconv.Itoa(*r.Item)
	case r.ExternalID != "":
		return "ext:" + strconv.Quote(r.dataset(dataset)) + ":" + r.ExternalID
	}
	return "id:" + r.ID
}

// dataset is the dataset an external reference looks in.
func (r Ref) dataset(own string) string {
	if r.Dataset != "" {
		return r.Dataset
	}
	return own
}

// String names the reference for messages.
func (r Ref) String() string {
	switch {
	case r.Item != nil:
		return "item " + strconv.Itoa(*r.Item) + " of the batch"
	case r.ExternalID != "":
		return "external_id " + strconv.Quote(r.ExternalID) + " in dataset " + strconv.Quote(r.Dataset)
	}
	return "sample " + r.ID
}

// MaxExternalIDBytes bounds a client's external_id.
const MaxExternalIDBytes = 256

// checkExternalID says what is wrong with an external_id, or "".
func checkExternalID(s string) string {
	switch {
	case len(s) > MaxExternalIDBytes:
		return "is longer than 256 bytes"
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	case strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
		return "contains a control character"
	case strings.TrimSpace(s) != s:
		return "starts or ends with a space"
	}
	return ""
}

// ExternalKey is a sample's client-chosen identity: its external_id within its dataset.
type ExternalKey struct {
	Dataset    string `json:"dataset"`
	ExternalID string `json:"external_id"`
}
