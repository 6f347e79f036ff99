package api

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/pedigreeml/pedigree/registry"
)

// FuzzDecodeSample feeds arbitrary bodies to the strict decoder and the domain validation: neither may
// panic, every refusal is a registry error with a code, whatever decodes re-encodes to an equivalent
// request, and no U+FFFD appears in the text that the body did not spell (encoding/json puts one in
// for each byte that is not UTF-8 and each lone surrogate escape, which decodeStrict must refuse).
func FuzzDecodeSample(f *testing.F) {
	for _, seed := range []string{
		`{"text":"hello","origin":"human"}`,
		`{"text":"a","origin":"model","model":"m@1","prompt_id":"01900000-0000-7000-8000-000000000000","parents":[]}`,
		`{"text":"a","origin":"human","source":{"kind":"licensed","license":"CC-BY-4.0"},"metadata":{"k":[1,2]}}`,
		`{"text":"a","origin":"human","unknown":1}`,
		`{"text":"\ud800","origin":"human"}`,
		`{"text":"lone \ud800 x","origin":"human"}`,
		`{"text":"\udc00\ud800","origin":"human"}`,
		`{"text":"pair \ud83d\ude00 x","origin":"human"}`,
		`{"text":"\\ud800 is six characters","origin":"human"}`,
		`{"text":"\ufffd and ` + "\uFFFD" + `","origin":"human"}`,
		"{\"text\":\"caf\xe9\",\"origin\":\"human\"}",
		`{"text":"a"} {"text":"b"}`,
		`[]`, `null`, `{"text":null}`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in registry.NewSample
		err := decodeStrict(body, &in, "")
		if err != nil {
			if registry.ErrorCode(err) == registry.EINTERNAL {
				t.Fatalf("decode error without a code: %v", err)
			}
			return
		}
		if in.Text != nil {
			spelt := bytes.Count(body, []byte("\uFFFD")) + bytes.Count(bytes.ToLower(body), []byte(`\ufffd`))
			if got := strings.Count(*in.Text, "\uFFFD"); got > spelt {
				t.Fatalf("text %q holds %d U+FFFD, the body %q spells %d", *in.Text, got, body, spelt)
			}
		}
		if err := in.Validate(""); err != nil && registry.ErrorCode(err) == registry.EINTERNAL {
			t.Fatalf("validation error without a code: %v", err)
		}
		again, err := json.Marshal(in)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		var back registry.NewSample
		if err := decodeStrict(again, &back, ""); err != nil {
			t.Fatalf("re-decode of %s: %v", again, err)
		}
		if !reflect.DeepEqual(normalize(in), normalize(back)) {
			t.Fatalf("round trip changed the request:\n%+v\n%+v", in, back)
		}
	})
}

// normalize clears what a JSON round trip legitimately changes (metadata whitespace).
func normalize(s registry.NewSample) registry.NewSample {
	if len(s.Metadata) > 0 {
		var v any
		if json.Unmarshal(s.Metadata, &v) == nil {
			s.Metadata, _ = json.Marshal(v)
		}
	}
	if len(s.Parents) == 0 {
		s.Parents = nil
	}
	return s
}

// FuzzDecodeJSONLines checks the JSON Lines batch decoder: no panic, coded errors only, and never more
// samples than non-blank lines.
func FuzzDecodeJSONLines(f *testing.F) {
	f.Add([]byte("{\"text\":\"a\",\"origin\":\"human\"}\n\n{\"text\":\"b\",\"origin\":\"human\"}\n"))
	f.Add([]byte("{\"text\":\"a\"}\r\n{\"text\":"))
	f.Add([]byte("\n\n\n"))
	f.Add([]byte("{\"text\":\"a\",\"origin\":\"human\"}\n{\"text\":\"lone \\ud800 x\",\"origin\":\"human\"}\n"))
	f.Add([]byte("{\"text\":\"pair \\ud83d\\ude00\",\"origin\":\"human\"}\n\u00a0\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		out, err := decodeJSONLines(body)
		if err != nil {
			if registry.ErrorCode(err) == registry.EINTERNAL {
				t.Fatalf("error without a code: %v", err)
			}
			return
		}
		lines := 0
		for _, b := range splitLines(body) {
			if len(b) > 0 {
				lines++
			}
		}
		if len(out) > lines {
			t.Fatalf("%d samples from %d non-blank lines", len(out), lines)
		}
	})
}

func splitLines(b []byte) [][]byte {
	var out [][]byte
	start := 0
	for i, c := range b {
		if c == '\n' {
			out = append(out, trim(b[start:i]))
			start = i + 1
		}
	}
	return append(out, trim(b[start:]))
}

func trim(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
