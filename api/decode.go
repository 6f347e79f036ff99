package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/pedigreeml/pedigree/registry"
)

// readBody checks the request's Content-Type against the media types the route accepts (415
// otherwise) and reads the whole body, refusing more than limit bytes (413). It returns the body and
// its media type ("" when a request without a Content-Type has no body either). Whether the bytes
// are UTF-8 is for the decoder of the media type to say: decodeStrict names the JSON field at fault.
func readBody(c echo.Context, limit int64, accepted []string) ([]byte, string, error) {
	mt, err := mediaType(c.Request(), accepted)
	if err != nil {
		return nil, "", err
	}
	r := http.MaxBytesReader(c.Response(), c.Request().Body, limit)
	body, err := io.ReadAll(r)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, "", registry.Errorf(registry.ETOOLARGE, "the request body is larger than %d bytes", limit)
	}
	if err != nil {
		return nil, "", registry.Errorf(registry.EINVALID, "could not read the request body")
	}
	return body, mt, nil
}

// decodeStrict decodes exactly one JSON value from body into v, refusing unknown fields, trailing
// data, and what encoding/json would silently change (bytes that are not UTF-8, lone surrogate
// escapes), and turns decoder errors into field-level 400s.
func decodeStrict(body []byte, v any, prefix string) error {
	if err := textError(body, prefix); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, prefix)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return registry.Errorf(registry.EINVALID, "%sthe body must hold a single JSON value", prefix)
	}
	return nil
}

// jsonError explains a JSON decoding error without echoing Go type names.
func jsonError(err error, prefix string) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return registry.Errorf(registry.EINVALID, "%sthe body is empty; a JSON object is required", prefix)
	case errors.As(err, &se):
		return registry.Errorf(registry.EINVALID, "%smalformed JSON at byte %d: %s", prefix, se.Offset, se.Error())
	case errors.As(err, &te):
		field := strings.ReplaceAll(te.Field, ".", "/")
		if field == "" {
			return registry.Errorf(registry.EINVALID, "%sexpected a JSON object", prefix)
		}
		return &registry.Error{Code: registry.EINVALID, Message: prefix + field + ": has the wrong type (" + te.Value + ")",
			Fields: []registry.FieldError{{Field: prefix + field, Message: "has the wrong type (" + te.Value + ")"}}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &registry.Error{Code: registry.EINVALID, Message: prefix + name + ": unknown field",
			Fields: []registry.FieldError{{Field: prefix + name, Message: "unknown field"}}}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return registry.Errorf(registry.EINVALID, "%smalformed JSON: unexpected end of input", prefix)
	}
	return registry.Errorf(registry.EINVALID, "%smalformed JSON: %s", prefix, err.Error())
}

// decodeJSONLines decodes one sample per non-blank line. Only JSON's own whitespace makes a line
// blank: a line of other Unicode spaces is a malformed line, not an empty one.
func decodeJSONLines(body []byte) ([]registry.NewSample, error) {
	var out []registry.NewSample
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), len(body)+1)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.Trim(sc.Bytes(), " \t\r")
		if len(b) == 0 {
			continue
		}
		if len(out) == registry.MaxBatchSamples {
			return nil, registry.Errorf(registry.ETOOLARGE, "a batch holds at most %d samples", registry.MaxBatchSamples)
		}
		var s registry.NewSample
		if err := decodeStrict(b, &s, fmt.Sprintf("line %d: ", line)); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, registry.Errorf(registry.EINVALID, "could not read JSON Lines: %v", err)
	}
	return out, nil
}

// pathParam returns a path parameter unescaped: echo leaves %2F in "org%2Fmodel@1" as is.
func pathParam(c echo.Context, name string) (string, error) {
	v, err := url.PathUnescape(c.Param(name))
	if err != nil {
		return "", registry.Errorf(registry.ENOTFOUND, "%s %q is not a valid path segment", name, c.Param(name))
	}
	return v, nil
}

// query reads and checks query parameters: unknown ones are refused, so a misspelt filter does not
// silently match everything, and so are a parameter given twice, a bad % escape, a ';' separator
// and text that is not UTF-8, which url.ParseQuery would silently drop or keep. Every handler
// starts with newQuery, naming the parameters its operation in openapi.yaml documents (none for
// most), and reads them only through it.
type query struct {
	v   url.Values
	err *registry.Error
}

func newQuery(c echo.Context, allowed ...string) (*query, error) {
	v := url.Values{}
	raw := c.Request().URL.RawQuery
	for _, pair := range strings.Split(raw, "&") {
		if pair == "" {
			continue
		}
		rawKey, rawValue, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(rawKey)
		if err != nil || !utf8.ValidString(key) {
			return nil, registry.Errorf(registry.EINVALID, "the query parameter name %q is not a valid %%-escaped UTF-8 name", rawKey)
		}
		if !contains(allowed, key) {
			if len(allowed) == 0 {
				return nil, registry.FieldErrorf(key, "unknown query parameter (this operation takes none)")
			}
			return nil, registry.FieldErrorf(key, "unknown query parameter (allowed: %s)", strings.Join(allowed, ", "))
		}
		if strings.Contains(rawValue, ";") {
			return nil, registry.FieldErrorf(key, "holds a ';', which is not a separator of query parameters (use '&') and must be escaped as %%3B in a value")
		}
		value, err := url.QueryUnescape(rawValue)
		if err != nil {
			return nil, registry.FieldErrorf(key, "has a bad %% escape (%%XX, two hexadecimal digits)")
		}
		if !utf8.ValidString(value) {
			return nil, registry.FieldErrorf(key, "is not valid UTF-8")
		}
		if _, dup := v[key]; dup {
			return nil, registry.FieldErrorf(key, "is given more than once")
		}
		v[key] = []string{value}
	}
	return &query{v: v}, nil
}

// noQuery is newQuery for the operations that take no query parameter.
func noQuery(c echo.Context) error {
	_, err := newQuery(c)
	return err
}

func (q *query) str(name string) string { return q.v.Get(name) }

// intp returns the parameter as an int in [lo, hi], or nil if absent. The value must be written in
// canonical decimal (see decimal): "+5", "05" and " 5" are refused rather than read as 5.
func (q *query) intp(name string, lo, hi int) *int {
	s, present := q.v[name]
	if !present || q.err != nil {
		return nil
	}
	n, ok := decimal(s[0])
	if !ok || n < int64(lo) || n > int64(hi) {
		q.err = registry.FieldErrorf(name, "must be an integer from %d to %d, in decimal digits without a sign or leading zeros", lo, hi)
		return nil
	}
	i := int(n)
	return &i
}

// decimal parses s as a non-negative integer written canonically: one or more ASCII digits, no
// sign, no leading zero (but "0" itself), no spaces. A canonical number too large for an int64 is
// -1 with ok true, so that callers can tell "not a number" (400) from "no such index" (404).
func decimal(s string) (n int64, ok bool) {
	if s == "" || len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return -1, true
	}
	return n, true
}

func (q *query) intOr(name string, def, lo, hi int) int {
	if p := q.intp(name, lo, hi); p != nil {
		return *p
	}
	return def
}

func (q *query) oneOf(name, def string, values ...string) string {
	s := q.v.Get(name)
	if s == "" {
		return def
	}
	if !contains(values, s) && q.err == nil {
		q.err = registry.FieldErrorf(name, "must be one of %s", strings.Join(values, ", "))
	}
	return s
}

// done returns the first problem found while reading parameters.
func (q *query) done() error {
	if q.err != nil {
		return q.err
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// writeJSON writes v as JSON with the given content type.
func writeJSON(c echo.Context, status int, contentType string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.Blob(status, contentType, b)
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
