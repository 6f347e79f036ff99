package api

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/pedigreeml/pedigree/registry"
)

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
