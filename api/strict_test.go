package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/pedigreeml/pedigree/registry"
)

// TestTextError checks the refusal of what encoding/json would silently turn into U+FFFD, and that
// it names the field at fault.
func TestTextError(t *testing.T) {
	for _, tc := range []struct {
		name  string
		body  string
		field string // "" with refused: refused without a field
		ok    bool
	}{
		{"LoneHigh", `{"text":"lone \ud800 x","origin":"human"}`, "text", false},
		{"LoneHighUpperCase", `{"text":"\uD83D","origin":"human"}`, "text", false},
		{"LoneLow", `{"text":"\udc00","origin":"human"}`, "text", false},
		{"HighThenBMP", `{"text":"\ud800\u0041","origin":"human"}`, "text", false},
		{"HighThenHigh", `{"text":"\ud800\ud800\udc00"}`, "text", false},
		{"HighAtEnd", `{"text":"x\ud800"}`, "text", false},
		{"HighThenLiteralLow", `{"text":"\ud800udc00"}`, "text", false},
		{"HighThenEscapedBackslash", `{"text":"\ud800\\udc00"}`, "text", false},
		{"InBatch", `{"samples":[{"text":"ok","origin":"human"},{"text":"\udfff","origin":"human"}]}`, "samples/1/text", false},
		{"InMetadataValue", `{"text":"a","metadata":{"k":[1,{"x":"\ud800"}]}}`, "metadata/k/1/x", false},
		{"InMetadataKey", `{"text":"a","metadata":{"\ud800":1}}`, "metadata", false},
		{"InTopLevelKey", `{"te\udc00xt":"a"}`, "", false},
		{"AfterNestedValues", `{"a":{"b":[1,2,{"c":null}]},"d":[true,"\ud800"]}`, "d/1", false},
		{"NotUTF8", "{\"text\":\"caf\xe9\",\"origin\":\"human\"}", "text", false},
		{"UTF8EncodedSurrogate", "{\"text\":\"\xed\xa0\x80\"}", "text", false},
		{"NotUTF8InBatch", "{\"samples\":[{\"text\":\"ok\"},{\"text\":\"\xff\"}]}", "samples/1/text", false},
		{"NotUTF8OutsideStrings", "{\"text\":\"a\"}\xff", "", false},
		{"Pair", `{"text":"pair \ud83d\ude00 x","origin":"human"}`, "", true},
		{"PairUpperCase", `{"text":"\uD83D\uDE00"}`, "", true},
		{"EscapedBackslashBeforeU", `{"text":"\\ud800"}`, "", true},
		{"ReplacementCharacterSent", `{"text":"\ufffd and ` + "\uFFFD" + `"}`, "", true},
		{"OtherEscapes", `{"text":"\"\\\/\b\f\n\r\t\u00e9"}`, "", true},
		{"NoEscapes", `{"text":"plain"}`, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := textError([]byte(tc.body), "")
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var re *registry.Error
			if !asRegistryError(err, &re) || re.Code != registry.EINVALID {
				t.Fatalf("got %v, want an invalid error", err)
			}
			switch {
			case tc.field == "" && len(re.Fields) != 0:
				t.Fatalf("fields %+v, want none", re.Fields)
			case tc.field != "" && (len(re.Fields) != 1 || re.Fields[0].Field != tc.field):
				t.Fatalf("fields %+v, want %s", re.Fields, tc.field)
			}
		})
	}
}

// TestDecodeStrictRefusesWhatJSONWouldReplace checks that decodeStrict itself, which every JSON
// body goes through, refuses a lone surrogate (naming the field with the JSON Lines prefix) and keeps
// a surrogate pair.
func TestDecodeStrictRefusesWhatJSONWouldReplace(t *testing.T) {
	var in registry.NewSample
	err := decodeStrict([]byte(`{"text":"lone \ud800 x","origin":"human"}`), &in, "line 2: ")
	var re *registry.Error
	if !asRegistryError(err, &re) || len(re.Fields) != 1 || re.Fields[0].Field != "line 2: text" {
		t.Fatalf("lone surrogate: %v", err)
	}
	if err := decodeStrict([]byte(`{"text":"\ud83d\ude00","origin":"human"}`), &in, ""); err != nil || *in.Text != "😀" {
		t.Fatalf("surrogate pair: %v, text %q", err, *in.Text)
	}
	_, err = decodeJSONLines([]byte("{\"text\":\"ok\",\"origin\":\"human\"}\n{\"text\":\"\\udc00\",\"origin\":\"human\"}\n"))
	if !asRegistryError(err, &re) || len(re.Fields) != 1 || re.Fields[0].Field != "line 2: text" {
		t.Fatalf("JSON Lines: %v", err)
	}
	// A line of Unicode spaces is not blank to JSON: it is refused, not skipped.
	if _, err := decodeJSONLines([]byte("{\"text\":\"ok\",\"origin\":\"human\"}\n\u00a0\n")); registry.ErrorCode(err) != registry.EINVALID {
		t.Fatalf("a line of U+00A0: %v", err)
	}
}

func asRegistryError(err error, re **registry.Error) bool {
	e, ok := err.(*registry.Error)
	*re = e
	return ok
}

func TestDecimal(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int64
		ok   bool
		note string
	}{
		{"0", 0, true, ""},
		{"1", 1, true, ""},
		{"1000", 1000, true, ""},
		{"9223372036854775807", 1<<63 - 1, true, "largest int64"},
		{"9223372036854775808", -1, true, "canonical, beyond int64"},
		{"", 0, false, "empty"},
		{"+1", 0, false, "sign"},
		{"-1", 0, false, "sign"},
		{"-0", 0, false, "sign"},
		{"01", 0, false, "leading zero"},
		{"00", 0, false, "leading zero"},
		{" 1", 0, false, "space"},
		{"1 ", 0, false, "space"},
		{"1e3", 0, false, "exponent"},
		{"1.0", 0, false, "fraction"},
		{"0x1", 0, false, "hexadecimal"},
		{"1_000", 0, false, "underscore"},
		{"١", 0, false, "a non-ASCII digit"},
	} {
		n, ok := decimal(tc.in)
		if n != tc.n || ok != tc.ok {
			t.Errorf("decimal(%q) = %d, %v; want %d, %v (%s)", tc.in, n, ok, tc.n, tc.ok, tc.note)
		}
	}
}

func TestNewQuery(t *testing.T) {
	for _, tc := range []struct {
		name  string
		query string
		field string // the parameter the refusal names; "" for a refusal that cannot name one
		ok    bool
	}{
		{"None", "", "", true},
		{"Allowed", "limit=5&cursor=abc", "", true},
		{"EmptyPairs", "&&limit=5&", "", true},
		{"PlusIsSpace", "dataset=a+b", "", true},
		{"Unknown", "limit=5&foo=1", "foo", false},
		{"UnknownWithoutValue", "foo", "foo", false},
		{"EmptyName", "=1", "", false},
		{"Twice", "limit=1&limit=2", "limit", false},
		{"BadEscapeInValue", "dataset=%zz", "dataset", false},
		{"TruncatedEscape", "dataset=%2", "dataset", false},
		{"BadEscapeInName", "%zz=1", "", false},
		{"Semicolon", "dataset=a;limit=5", "dataset", false},
		{"ValueNotUTF8", "dataset=%ff", "dataset", false},
		{"NameNotUTF8", "%ff=1", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := echo.New().NewContext(httptest.NewRequest(http.MethodGet, "/x?"+tc.query, nil), httptest.NewRecorder())
			_, err := newQuery(c, "limit", "cursor", "dataset")
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var re *registry.Error
			if !asRegistryError(err, &re) || re.Code != registry.EINVALID {
				t.Fatalf("got %v, want an invalid error", err)
			}
			if tc.field != "" && (len(re.Fields) != 1 || re.Fields[0].Field != tc.field) {
				t.Fatalf("fields %+v, want %s", re.Fields, tc.field)
			}
		})
	}
	c := echo.New().NewContext(httptest.NewRequest(http.MethodGet, "/x?limit=07", nil), httptest.NewRecorder())
	q, err := newQuery(c, "limit")
	if err != nil {
		t.Fatal(err)
	}
	if q.intOr("limit", 100, 1, 1000); q.done() == nil {
		t.Fatal("limit=07 was read as a number")
	}
}

func TestMediaType(t *testing.T) {
	for _, tc := range []struct {
		name     string
		header   http.Header
		body     string
		accepted []string
		want     string // the media type; "415" for a refusal
	}{
		{"JSON", http.Header{"Content-Type": {"application/json"}}, "{}", typesJSON, "application/json"},
		{"JSONUTF8", http.Header{"Content-Type": {"application/json; charset=UTF-8"}}, "{}", typesJSON, "application/json"},
		{"JSONCaseInsensitive", http.Header{"Content-Type": {"Application/JSON"}}, "{}", typesJSON, "application/json"},
		{"JSONLines", http.Header{"Content-Type": {"application/x-ndjson"}}, "{}", typesBatch, "application/x-ndjson"},
		{"RegoText", http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, "package p", typesRego, "text/plain"},
		{"RegoOctets", http.Header{"Content-Type": {"application/octet-stream"}}, "package p", typesRego, "application/octet-stream"},
		{"IdentityEncoding", http.Header{"Content-Type": {"application/json"}, "Content-Encoding": {"identity"}}, "{}", typesJSON, "application/json"},
		{"NoTypeNoBody", http.Header{}, "", typesJSON, ""},
		{"NoTypeWithBody", http.Header{}, "{}", typesJSON, "415"},
		{"TextForJSON", http.Header{"Content-Type": {"text/plain"}}, "{}", typesJSON, "415"},
		{"JSONLinesForJSON", http.Header{"Content-Type": {"application/x-ndjson"}}, "{}", typesJSON, "415"},
		{"JSONForRego", http.Header{"Content-Type": {"application/json"}}, "package p", typesRego, "415"},
		{"FormForRego", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, "package p", typesRego, "415"},
		{"OtherCharset", http.Header{"Content-Type": {"application/json; charset=utf-16"}}, "{}", typesJSON, "415"},
		{"Latin1Rego", http.Header{"Content-Type": {"text/plain; charset=iso-8859-1"}}, "package p", typesRego, "415"},
		{"Malformed", http.Header{"Content-Type": {"application/json; charset"}}, "{}", typesJSON, "415"},
		{"Empty", http.Header{"Content-Type": {""}}, "{}", typesJSON, "415"},
		{"Twice", http.Header{"Content-Type": {"application/json", "application/json"}}, "{}", typesJSON, "415"},
		{"Gzip", http.Header{"Content-Type": {"application/json"}, "Content-Encoding": {"gzip"}}, "{}", typesJSON, "415"},
		{"StructuredSuffix", http.Header{"Content-Type": {"application/problem+json"}}, "{}", typesJSON, "415"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(tc.body))
			r.Header = tc.header
			mt, err := mediaType(r, tc.accepted)
			if tc.want == "415" {
				var he *echo.HTTPError
				if e, ok := err.(*echo.HTTPError); ok {
					he = e
				}
				if he == nil || he.Code != http.StatusUnsupportedMediaType {
					t.Fatalf("got %q, %v; want a 415", mt, err)
				}
				return
			}
			if err != nil || mt != tc.want {
				t.Fatalf("got %q, %v; want %q", mt, err, tc.want)
			}
		})
	}
}

// TestHTTPLevelProblems checks, on a server without a store, that the API's own HTTP refusals (an
// over-long request target, an unknown query parameter) are problems with their codes.
func TestHTTPLevelProblems(t *testing.T) {
	srv := New(Config{MaxURIBytes: 64}, Deps{})
	for _, tc := range []struct {
		name, target string
		status       int
		code         string
	}{
		{"AtTheLimit", "/healthz?" + strings.Repeat("a", 64-len("/healthz?")), http.StatusBadRequest, registry.EINVALID},
		{"OverTheLimit", "/healthz?" + strings.Repeat("a", 65-len("/healthz?")), http.StatusRequestURITooLong, codeURITooLong},
		{"LongUnknownRoute", "/" + strings.Repeat("a", 100), http.StatusRequestURITooLong, codeURITooLong},
		{"UnknownParameter", "/healthz?a=1", http.StatusBadRequest, registry.EINVALID},
		{"Plain", "/healthz", http.StatusOK, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.target, nil))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if tc.code == "" {
				return
			}
			var p Problem
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("Content-Type %q", ct)
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Code != tc.code || p.Status != tc.status ||
				p.Type != problemTypeBase+tc.code || p.Detail == "" {
				t.Fatalf("problem %+v (%v)", p, err)
			}
		})
	}
}
