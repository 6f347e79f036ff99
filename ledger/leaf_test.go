package ledger

import (
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"
)

var leafTime = time.Date(2026, 11, 22, 3, 0, 0, 123_456_789, time.UTC)

func TestLeafGolden(t *testing.T) {
	tests := []struct {
		name   string
		kind   string
		id     string
		fields map[string]string
		time   time.Time
		want   string
	}{{
		name: "Sample",
		kind: KindSample, id: "0190a3b2-7c1d-7000-8000-000000000001",
		fields: map[string]string{"content_sha256": "ab12", "origin": "human", "generation": "0"},
		time:   leafTime,
		want:   `{"content_sha256":"ab12","generation":"0","id":"0190a3b2-7c1d-7000-8000-000000000001","kind":"sample","origin":"human","t":"2026-11-22T03:00:00.123Z","v":"1"}`,
	}, {
		name: "NoFieldsOtherZone",
		kind: KindKeyRevoked, id: "k1",
		time: time.Date(2026, 11, 22, 4, 0, 0, 5_000_000, time.FixedZone("CET", 3600)),
		want: `{"id":"k1","kind":"key_revoked","t":"2026-11-22T03:00:00.005Z","v":"1"}`,
	}, {
		name: "EscapesAsRFC8785",
		kind: KindMix, id: `m"1\`,
		fields: map[string]string{"a": "q\"b\\n\n\t\r\b\f\x00\x1f\x7f<>&é\u2028/"},
		time:   time.Date(1, 1, 1, 0, 0, 0, 1_999_999, time.UTC),
		want:   `{"a":"q\"b\\n\n\t\r\b\f\u0000\u001f` + "\x7f<>&é\u2028/" + `","id":"m\"1\\","kind":"mix","t":"0001-01-01T00:00:00.001Z","v":"1"}`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Leaf(tt.kind, tt.id, tt.fields, tt.time)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("Leaf =\n%s\nwant\n%s", got, tt.want)
			}
			// Any JSON reader gets the same strings back.
			var m map[string]string
			if err := json.Unmarshal(got, &m); err != nil {
				t.Fatal(err)
			}
			if m["id"] != tt.id || m["kind"] != tt.kind {
				t.Fatalf("decoded id %q kind %q", m["id"], m["kind"])
			}
			for k, v := range tt.fields {
				if m[k] != v {
					t.Fatalf("decoded %s = %q, want %q", k, m[k], v)
				}
			}
		})
	}
}

// TestLeafMapOrder builds the same fields in many insertion orders; Go randomizes map iteration,
// so a leaf that followed it would differ between runs.
func TestLeafMapOrder(t *testing.T) {
	keys := strings.Fields("zeta alpha content_sha256 model origin parents_sha256 dataset b a9 a_")
	var want []byte
	for round := range 50 {
		m := map[string]string{}
		for i := range keys {
			k := keys[(i*7+round)%len(keys)]
			m[k] = "value of " + k
		}
		got, err := Leaf(KindSample, "x", m, leafTime)
		if err != nil {
			t.Fatal(err)
		}
		if round == 0 {
			want = got
		} else if string(got) != string(want) {
			t.Fatalf("round %d:\n%s\nwant\n%s", round, got, want)
		}
	}
}

func TestParseLeafRoundTrip(t *testing.T) {
	records := []LeafRecord{
		{Kind: KindSample, ID: "s1", Fields: map[string]string{"content_sha256": strings.Repeat("ab", 32), "origin": "model", "model": "llama@3.1", "parents": "a,b"}, Time: leafTime},
		{Kind: KindDecision, ID: "d1", Fields: map[string]string{}, Time: time.Unix(0, 0)},
		{Kind: "future_kind", ID: "é\n\"", Fields: map[string]string{"x": "", "y_2": "\u2028\x00"}, Time: time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC)},
	}
	for _, r := range records {
		b, err := r.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseLeaf(b)
		if err != nil {
			t.Fatalf("ParseLeaf(%s): %v", b, err)
		}
		wantTime := r.Time.UTC().Truncate(time.Millisecond)
		if got.Kind != r.Kind || got.ID != r.ID || !maps.Equal(got.Fields, r.Fields) || !got.Time.Equal(wantTime) || got.Time.Location() != time.UTC {
			t.Fatalf("ParseLeaf(%s) = %+v, want %+v at %v", b, got, r, wantTime)
		}
		again, err := got.Bytes()
		if err != nil || string(again) != string(b) {
			t.Fatalf("re-encoded %s, %v; want %s", again, err, b)
		}
	}
}

func TestParseLeafRejects(t *testing.T) {
	valid := `{"id":"s1","kind":"sample","origin":"human","t":"2026-11-22T03:00:00.123Z","v":"1"}`
	if _, err := ParseLeaf([]byte(valid)); err != nil {
		t.Fatalf("the valid leaf does not parse: %v", err)
	}
	tests := map[string]string{
		"Empty":            ``,
		"Null":             `null`,
		"Array":            `[]`,
		"EmptyObject":      `{}`,
		"Truncated":        valid[:len(valid)-1],
		"TrailingNewline":  valid + "\n",
		"Space":            strings.Replace(valid, `"id":`, `"id": `, 1),
		"KeyOrder":         `{"kind":"sample","id":"s1","origin":"human","t":"2026-11-22T03:00:00.123Z","v":"1"}`,
		"DuplicateKey":     `{"id":"s0","id":"s1","kind":"sample","origin":"human","t":"2026-11-22T03:00:00.123Z","v":"1"}`,
		"NeedlessEscape":   `{"id":"\u0073\u0031","kind":"sample","origin":"human","t":"2026-11-22T03:00:00.123Z","v":"1"}`,
		"EscapedSlash":     `{"id":"s\/1","kind":"sample","origin":"human","t":"2026-11-22T03:00:00.123Z","v":"1"}`,
		"InvalidUTF8":      "{\"id\":\"s\xff\",\"kind\":\"sample\",\"t\":\"2026-11-22T03:00:00.123Z\",\"v\":\"1\"}",
		"NumberValue":      `{"generation":0,"id":"s1","kind":"sample","t":"2026-11-22T03:00:00.123Z","v":"1"}`,
		"NestedValue":      `{"id":"s1","kind":"sample","m":{},"t":"2026-11-22T03:00:00.123Z","v":"1"}`,
		"NoVersion":        `{"id":"s1","kind":"sample","t":"2026-11-22T03:00:00.123Z"}`,
		"Version2":         `{"id":"s1","kind":"sample","t":"2026-11-22T03:00:00.123Z","v":"2"}`,
		"NoTime":           `{"id":"s1","kind":"sample","v":"1"}`,
		"TimeSeconds":      `{"id":"s1","kind":"sample","t":"2026-11-22T03:00:00Z","v":"1"}`,
		"TimeNanos":        `{"id":"s1","kind":"sample","t":"2026-11-22T03:00:00.123456789Z","v":"1"}`,
		"TimeOffset":       `{"id":"s1","kind":"sample","t":"2026-11-22T04:00:00.123+01:00","v":"1"}`,
		"NoKind":           `{"id":"s1","t":"2026-11-22T03:00:00.123Z","v":"1"}`,
		"UpperKind":        `{"id":"s1","kind":"Sample","t":"2026-11-22T03:00:00.123Z","v":"1"}`,
		"EmptyID":          `{"id":"","kind":"sample","t":"2026-11-22T03:00:00.123Z","v":"1"}`,
		"NoID":             `{"kind":"sample","t":"2026-11-22T03:00:00.123Z","v":"1"}`,
		"BadFieldName":     `{"Origin":"human","id":"s1","kind":"sample","t":"2026-11-22T03:00:00.123Z","v":"1"}`,
		"UnescapedControl": "{\"id\":\"s\t1\",\"kind\":\"sample\",\"t\":\"2026-11-22T03:00:00.123Z\",\"v\":\"1\"}",
		"TooLarge":         `{"a":"` + strings.Repeat("x", MaxLeafSize) + `","id":"s1","kind":"sample","t":"2026-11-22T03:00:00.123Z","v":"1"}`,
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			if r, err := ParseLeaf([]byte(in)); !errors.Is(err, ErrMalformedLeaf) {
				t.Fatalf("ParseLeaf = %+v, %v; want ErrMalformedLeaf", r, err)
			}
		})
	}
}

func TestLeafRejects(t *testing.T) {
	tests := map[string]LeafRecord{
		"EmptyKind":     {ID: "x", Time: leafTime},
		"BadKind":       {Kind: "Sample", ID: "x", Time: leafTime},
		"EmptyID":       {Kind: KindSample, Time: leafTime},
		"InvalidID":     {Kind: KindSample, ID: "\xff", Time: leafTime},
		"ReservedV":     {Kind: KindSample, ID: "x", Fields: map[string]string{"v": "2"}, Time: leafTime},
		"ReservedKind":  {Kind: KindSample, ID: "x", Fields: map[string]string{"kind": "model"}, Time: leafTime},
		"ReservedID":    {Kind: KindSample, ID: "x", Fields: map[string]string{"id": "y"}, Time: leafTime},
		"ReservedTime":  {Kind: KindSample, ID: "x", Fields: map[string]string{"t": "now"}, Time: leafTime},
		"FieldName":     {Kind: KindSample, ID: "x", Fields: map[string]string{"content-sha256": "ab"}, Time: leafTime},
		"EmptyField":    {Kind: KindSample, ID: "x", Fields: map[string]string{"": "ab"}, Time: leafTime},
		"LongFieldName": {Kind: KindSample, ID: "x", Fields: map[string]string{strings.Repeat("a", 65): "ab"}, Time: leafTime},
		"InvalidValue":  {Kind: KindSample, ID: "x", Fields: map[string]string{"a": "\xc3"}, Time: leafTime},
		"Year10000":     {Kind: KindSample, ID: "x", Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		"ZeroTime":      {Kind: KindSample, ID: "x"},
		"Year0":         {Kind: KindSample, ID: "x", Time: time.Date(0, 12, 31, 0, 0, 0, 0, time.UTC)},
		"TooLarge":      {Kind: KindSample, ID: "x", Fields: map[string]string{"a": strings.Repeat("\x00", MaxLeafSize/6)}, Time: leafTime},
	}
	for name, r := range tests {
		t.Run(name, func(t *testing.T) {
			if b, err := r.Bytes(); !errors.Is(err, ErrMalformedLeaf) {
				t.Fatalf("Bytes = %q, %v; want ErrMalformedLeaf", b, err)
			}
		})
	}
}
