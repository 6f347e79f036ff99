// Package spectest checks HTTP traffic against the REST contract, openapi.yaml, so that the spec and
// the server cannot drift apart unnoticed. It is test support: any package's tests can import it.
//
// Wrap a client's transport to check every exchange a test makes:
//
//	c := &http.Client{Transport: spectest.Transport(t, nil)}
//	resp, err := c.Get(srv.URL + "/v1/samples") // a mismatch fails t; the response is returned as usual
package spectest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/pedigreeml/pedigree"
)

// Load parses and validates the embedded OpenAPI document, failing tb if it is not a valid OpenAPI
// 3.0 document.
func Load(tb testing.TB) *openapi3.T {
	tb.Helper()
	doc, err := parse(pedigree.OpenAPI)
	if err != nil {
		tb.Fatalf("openapi.yaml: %v", err)
	}
	return doc
}

func parse(spec []byte) (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(spec)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	return doc, nil
}

// Operations lists the operations of doc as "METHOD /path/{param}", sorted.
func Operations(doc *openapi3.T) []string {
	var out []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, strings.ToUpper(method)+" "+path)
		}
	}
	sort.Strings(out)
	return out
}

var echoParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// OpenAPIPath converts a path in echo's syntax (/v1/samples/:id) to OpenAPI's (/v1/samples/{id}).
func OpenAPIPath(echoPath string) string {
	escaped := strings.ReplaceAll(echoPath, `\:`, "\x00") // an escaped colon is a literal one
	return strings.ReplaceAll(echoParam.ReplaceAllString(escaped, "{$1}"), "\x00", ":")
}

// jsonLinesTypes are the media types of JSON Lines bodies the API accepts.
var jsonLinesTypes = []string{"application/x-ndjson", "application/jsonl", "application/x-jsonlines", "application/jsonlines"}

var registerDecoders sync.Once

// registerBodyDecoders makes openapi3filter decode every content type the API uses. The registry is
// global to openapi3filter, so this runs once; JSON Lines bodies are checked line by line for JSON
// and handed to the schema as the string they are.
func registerBodyDecoders() {
	registerDecoders.Do(func() {
		openapi3filter.RegisterBodyDecoder("application/problem+json", openapi3filter.JSONBodyDecoder)
		openapi3filter.RegisterBodyDecoder("application/yaml", openapi3filter.YamlBodyDecoder)
		openapi3filter.RegisterBodyDecoder("text/markdown", openapi3filter.PlainBodyDecoder)
		openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
		openapi3filter.RegisterBodyDecoder("text/plain", openapi3filter.PlainBodyDecoder)
		openapi3filter.RegisterBodyDecoder("application/vnd.apache.parquet", openapi3filter.FileBodyDecoder)
		for _, ct := range jsonLinesTypes {
			openapi3filter.RegisterBodyDecoder(ct, jsonLinesDecoder)
		}
	})
}

func jsonLinesDecoder(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
	data, err := io.ReadAll(body)
	if err != nil {
		return nil, &openapi3filter.ParseError{Kind: openapi3filter.KindInvalidFormat, Cause: err}
	}
	for i, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) > 0 && !json.Valid(line) {
			return nil, &openapi3filter.ParseError{Kind: openapi3filter.KindInvalidFormat,
				Reason: fmt.Sprintf("line %d is not a JSON value", i+1)}
		}
	}
	return string(data), nil
}

// Transport returns a RoundTripper that sends each request through base (http.DefaultTransport if
// nil) and checks the exchange against the spec, reporting every mismatch with tb.Errorf. It always
// returns the response (bodies are buffered and restored), so tests go on asserting as usual.
//
// What it reports:
//   - a request to a method and path the spec does not have, unless the server refused it with a
//     404 or 405 problem (tests of unknown routes are legitimate);
//   - a request the spec says is invalid that the server accepted (a status below 400); an invalid
//     request the server refuses is what negative tests do, so only its response is checked;
//   - a response whose status the operation does not document, or whose headers, content type or
//     body do not match what the spec documents for that status.
//
// Authentication is not checked against the security schemes: the server's own tests do that.
func Transport(tb testing.TB, base http.RoundTripper) http.RoundTripper {
	tb.Helper()
	registerBodyDecoders()
	doc := Load(tb)
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		tb.Fatalf("openapi.yaml: router: %v", err)
	}
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{tb: tb, base: base, doc: doc, router: router}
}

type transport struct {
	tb     testing.TB
	base   http.RoundTripper
	doc    *openapi3.T
	router routers.Router
}

// options are the validation options of every exchange.
var options = &openapi3filter.Options{
	AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
	IncludeResponseStatus: true,
	MultiError:            true,
	SkipSettingDefaults:   true,
	// The report names the failing field and quotes the body; the schema dump would drown both.
	SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()},
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = b
	}
	out := req.Clone(req.Context())
	setBody(out, reqBody)

	resp, err := t.base.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))

	// Validate on a copy, so that nothing the validator does reaches the caller's request.
	check := req.Clone(context.Background())
	setBody(check, reqBody)
	if err := t.check(check, resp, respBody); err != nil {
		t.tb.Errorf("spectest: %s %s → %d: %v\nresponse body: %s", req.Method, req.URL.RequestURI(), resp.StatusCode, err, excerpt(respBody))
	}
	return resp, nil
}

func setBody(r *http.Request, body []byte) {
	if body == nil {
		r.Body = http.NoBody
		r.GetBody = func() (io.ReadCloser, error) { return http.NoBody, nil }
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	r.ContentLength = int64(len(body))
}

// check validates one exchange; it returns the mismatches found, or nil.
func (t *transport) check(req *http.Request, resp *http.Response, respBody []byte) error {
	ctx := context.Background()
	route, params, err := t.router.FindRoute(req)
	if err != nil {
		if req.Method == http.MethodHead {
			return nil // no body to check
		}
		if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed {
			return t.checkProblem(resp, respBody)
		}
		return fmt.Errorf("no operation in the spec (%v), yet the server answered %d", err, resp.StatusCode)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: options}
	var errs []error
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil && resp.StatusCode < 400 {
		errs = append(errs, fmt.Errorf("the server accepted a request the spec refuses: %w", err))
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(respBody)),
		Options:                options,
	}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		errs = append(errs, fmt.Errorf("response does not match the spec: %w", err))
	}
	return errors.Join(errs...)
}

// checkProblem validates the answer to a request that matched no operation: it must be a problem.
func (t *transport) checkProblem(resp *http.Response, body []byte) error {
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		return fmt.Errorf("no operation in the spec, and the %d is %q, not application/problem+json", resp.StatusCode, ct)
	}
	ref := t.doc.Components.Schemas["Problem"]
	if ref == nil || ref.Value == nil {
		return errors.New("the spec has no Problem schema")
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("problem body: %w", err)
	}
	if err := ref.Value.VisitJSON(v, openapi3.MultiErrors(), openapi3.VisitAsResponse(), openapi3.DisableSchemaErrorDetails()); err != nil {
		return fmt.Errorf("problem body does not match the Problem schema: %w", err)
	}
	return nil
}

func excerpt(b []byte) string {
	const max = 2000
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}
