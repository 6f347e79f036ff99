package registry

import (
	"encoding/json"
	"testing"
)

func TestRefJSON(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Ref
		msg  string // what validate says, "" for a valid reference
	}{
		{`"01900000-0000-7000-8000-000000000001"`, Ref{ID: "01900000-0000-7000-8000-000000000001"}, ""},
		{`{"item": 0}`, RefItem(0), ""},
		{`{"external_id": "q1"}`, Ref{ExternalID: "q1"}, ""},
		{`{"dataset": "p", "external_id": "q1"}`, Ref{Dataset: "p", ExternalID: "q1"}, ""},
		{`"not-an-id"`, Ref{ID: "not-an-id"}, "is not a sample id"},
		{`{"item": -1}`, RefItem(-1), "item must be the index of an earlier sample of the batch"},
		{`{"dataset": "p"}`, Ref{Dataset: "p"}, "names a dataset without an external_id"},
		{`{"item": 0, "external_id": "q"}`, Ref{ExternalID: "q", Item: RefItem(0).Item}, "must name a sample one way: an id, an external_id (with its dataset), or an item of the batch"},
		{`{"external_id": " q"}`, Ref{ExternalID: " q"}, "external_id starts or ends with a space"},
		{`{}`, Ref{}, "must name a sample one way: an id, an external_id (with its dataset), or an item of the batch"},
	} {
		var r Ref
		if err := json.Unmarshal([]byte(tc.in), &r); err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if r.ID != tc.want.ID || r.Dataset != tc.want.Dataset || r.ExternalID != tc.want.ExternalID || (r.Item == nil) != (tc.want.Item == nil) {
			t.Fatalf("%s: got %+v", tc.in, r)
		}
		if got := r.validate(); got != tc.msg {
			t.Errorf("%s: validate %q, want %q", tc.in, got, tc.msg)
		}
	}
	for _, bad := range []string{`{"externalid": "q"}`, `3`, `[]`, `{"item": "0"}`, `null`} {
		var r Ref
		if err := json.Unmarshal([]byte(bad), &r); err == nil && bad != `null` {
			t.Errorf("%s decoded as %+v", bad, r)
		}
	}
	// An id alone encodes as the id string, the other forms as objects.
	b, _ := json.Marshal([]Ref{RefID("x"), RefItem(2), {ExternalID: "q"}})
	if string(b) != `["x",{"item":2},{"external_id":"q"}]` {
		t.Fatalf("encoded %s", b)
	}
}

func FuzzRefJSON(f *testing.F) {
	for _, s := range []string{`"01900000-0000-7000-8000-000000000001"`, `{"item":3}`, `{"dataset":"d","external_id":"e"}`, `{"item":1,"id":"x"}`, `"\u0000"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var r Ref
		if err := json.Unmarshal([]byte(in), &r); err != nil {
			return
		}
		if r.validate() != "" {
			return
		}
		// A valid reference survives a round trip as itself.
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var back Ref
		if err := json.Unmarshal(b, &back); err != nil || back.ID != r.ID || back.Dataset != r.Dataset ||
			back.ExternalID != r.ExternalID || (back.Item == nil) != (r.Item == nil) || r.Item != nil && *back.Item != *r.Item {
			t.Fatalf("%s → %s → %+v (%v)", in, b, back, err)
		}
	})
}
