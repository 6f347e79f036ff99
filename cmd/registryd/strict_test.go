package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pedigreeml/pedigree/client"
	"github.com/pedigreeml/pedigree/internal/spectest"
	"github.com/pedigreeml/pedigree/registry"
)

// The tests here send requests exactly as written, with no Content-Type or escaping the test did
// not put there, and check that each refusal is a problem and that it wrote nothing.

// registryState is what a refused request must leave as it was: the log's size (every record
// appends a leaf) and the number of samples.
type registryState struct {
	logSize int64
	samples int
}

func (s *testServer) state(t *testing.T) registryState {
	t.Helper()
	ctx := context.Background()
	admin := s.Admin()
	note, err := admin.Checkpoint(ctx)
	if err != nil {
		t.Fatalf("checkpoint: %v", err)
	}
	lines := strings.Split(string(note), "\n")
	if len(lines) < 2 {
		t.Fatalf("checkpoint %q", note)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		t.Fatalf("checkpoint size %q: %v", lines[1], err)
	}
	st := registryState{logSize: size}
	for cursor := ""; ; {
		page, err := admin.ListSamples(ctx, client.SampleQuery{Cursor: cursor, Limit: 1000})
		if err != nil {
			t.Fatalf("list samples: %v", err)
		}
		st.samples += len(page.Samples)
		if cursor = page.NextCursor; cursor == "" {
			return st
		}
	}
}

// unchanged fails t if the registry is not as it was in before.
func (s *testServer) unchanged(t *testing.T, before registryState) {
	t.Helper()
	if after := s.state(t); after != before {
		t.Fatalf("refused requests wrote: log size %d → %d, samples %d → %d", before.logSize, after.logSize, before.samples, after.samples)
	}
}

// send makes one request as given (target is the path and query, sent as is), through the
// transport that checks every exchange against openapi.yaml, and returns the response and its body.
func (s *testServer) send(t *testing.T, key, method, target string, header http.Header, body []byte) (*http.Response, []byte) {
	t.Helper()
	var r io.Reader = http.NoBody
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL+target, r)
	if err != nil {
		t.Fatalf("request %s %s: %v", method, target, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	hc := &http.Client{Timeout: time.Minute, Transport: spectest.Transport(t, http.DefaultTransport)}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read: %v", method, target, err)
	}
	return resp, out
}

// wantProblem fails t unless the response is an application/problem+json with status and code,
// and, when field is not empty, with an error on that field.
func wantProblem(t *testing.T, resp *http.Response, body []byte, status int, code, field string) *client.Problem {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("%d with Content-Type %q, want application/problem+json: %s", resp.StatusCode, ct, body)
	}
	var p client.Problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("problem body %s: %v", body, err)
	}
	if resp.StatusCode != status || p.Status != status || p.Code != code {
		t.Fatalf("got %d (%d %s: %s), want %d %s", resp.StatusCode, p.Status, p.Code, p.Detail, status, code)
	}
	if p.Type != "https://pedigree.dev/problems/"+code || p.Title == "" || p.Detail == "" || p.RequestID == "" {
		t.Fatalf("incomplete problem: %+v", p)
	}
	if field != "" && !slices.ContainsFunc(p.Errors, func(e registry.FieldError) bool { return e.Field == field }) {
		t.Fatalf("errors %+v do not name %q (%s)", p.Errors, field, p.Detail)
	}
	return &p
}

var jsonType = http.Header{"Content-Type": {"application/json"}}

const missingID = "01900000-0000-7000-8000-000000000000"

// specPath fills the path parameters of an operation in openapi.yaml with values that route.
func specPath(path string) string {
	return strings.NewReplacer("{id}", missingID, "{name}", "default", "{version}", "1", "{index}", "0").Replace(path)
}

// TestEveryOperationRefusesUnknownQueryParameters sends every operation in openapi.yaml (which
// TestRoutesMatchSpec keeps one to one with the routes) an unknown query parameter, and each of the
// query parameters the spec documents for it: the first is a 400 naming the parameter, before any
// lookup or body; the others are never refused as unknown.
func TestEveryOperationRefusesUnknownQueryParameters(t *testing.T) {
	srv := startServer(t, "")
	before := srv.state(t)
	doc := spectest.Load(t)
	ops := 0
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		for method, op := range item.Operations() {
			ops++
			t.Run(method+" "+path, func(t *testing.T) {
				resp, body := srv.send(t, srv.AdminKey, method, specPath(path)+"?zz_unknown=1", nil, nil)
				p := wantProblem(t, resp, body, http.StatusBadRequest, registry.EINVALID, "zz_unknown")
				if !strings.Contains(p.Detail, "unknown query parameter") {
					t.Fatalf("detail %q", p.Detail)
				}
				for _, ref := range slices.Concat(item.Parameters, op.Parameters) {
					if ref.Value.In != "query" {
						continue
					}
					name := ref.Value.Name
					resp, body := srv.send(t, srv.AdminKey, method, specPath(path)+"?"+name+"=1", nil, nil)
					if resp.StatusCode >= 400 && bytes.Contains(body, []byte("unknown query parameter")) {
						t.Errorf("documented parameter %s refused as unknown: %s", name, body)
					}
				}
			})
		}
	}
	if ops < 30 {
		t.Fatalf("only %d operations in the spec", ops)
	}
	srv.unchanged(t, before)
}

// TestQueryStringsAreParsedStrictly covers what url.ParseQuery would drop or keep silently.
func TestQueryStringsAreParsedStrictly(t *testing.T) {
	srv := startServer(t, "")
	auditor := srv.Key(registry.RoleAuditor)
	for _, tc := range []struct {
		name, target, field string
	}{
		{"BadEscapeInValue", "/v1/samples?origin=%zz", "origin"},
		{"BadEscapeInName", "/v1/samples?%zz=1", ""},
		{"Semicolon", "/v1/samples?origin=human;dataset=x", "origin"},
		{"ValueNotUTF8", "/v1/samples?dataset=%ff", "dataset"},
		{"GivenTwice", "/v1/samples?limit=1&limit=2", "limit"},
		{"EmptyName", "/v1/samples?=1", ""},
		{"UnknownOnSingleResource", "/v1/samples/" + missingID + "?foo=1", "foo"},
		{"UnknownOnExport", "/v1/mixes/" + missingID + "/samples?foo=1", "foo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := srv.send(t, auditor, "GET", tc.target, nil, nil)
			wantProblem(t, resp, body, http.StatusBadRequest, registry.EINVALID, tc.field)
		})
	}
}

// TestIntegerParametersMustBeCanonical refuses integers written with a sign, leading zeros, spaces
// or other notations in paths and queries, instead of reading "+1" or "01" as 1.
func TestIntegerParametersMustBeCanonical(t *testing.T) {
	srv := startServer(t, "")
	auditor := srv.Key(registry.RoleAuditor)
	ingest := srv.Key(registry.RoleIngest)
	if _, err := srv.Client(ingest).CreateSample(context.Background(), human("a sample to find the lineage of"), ""); err != nil {
		t.Fatal(err)
	}
	before := srv.state(t)
	cases := []struct {
		name, target string
		status       int
		field        string
	}{
		{"VersionPlus", "/v1/policies/default/versions/+1", 400, "version"},
		{"VersionEscapedPlus", "/v1/policies/default/versions/%2B1", 400, "version"},
		{"VersionLeadingZero", "/v1/policies/default/versions/01", 400, "version"},
		{"VersionSpace", "/v1/policies/default/versions/%201", 400, "version"},
		{"VersionFraction", "/v1/policies/default/versions/1.0", 400, "version"},
		{"VersionWord", "/v1/policies/default/versions/latest", 400, "version"},
		{"VersionZero", "/v1/policies/default/versions/0", 404, ""},
		{"VersionHuge", "/v1/policies/default/versions/99999999999999999999", 404, ""},
		{"VersionOne", "/v1/policies/default/versions/1", 200, ""},
		{"EntryPlus", "/v1/log/entries/+0", 400, "index"},
		{"EntryLeadingZero", "/v1/log/entries/00", 400, "index"},
		{"EntryNegative", "/v1/log/entries/-1", 400, "index"},
		{"EntryHex", "/v1/log/entries/0x0", 400, "index"},
		{"EntryHuge", "/v1/log/entries/99999999999999999999", 404, ""},
		{"EntryZero", "/v1/log/entries/0", 200, ""},
		{"LimitLeadingZero", "/v1/samples?limit=05", 400, "limit"},
		{"LimitEscapedPlus", "/v1/samples?limit=%2B5", 400, "limit"},
		{"LimitPlusIsSpace", "/v1/samples?limit=+5", 400, "limit"},
		{"LimitEmpty", "/v1/samples?limit=", 400, "limit"},
		{"LimitExponent", "/v1/samples?limit=1e2", 400, "limit"},
		{"LimitFraction", "/v1/samples?limit=5.0", 400, "limit"},
		{"Limit", "/v1/samples?limit=5", 200, ""},
		{"MinGenerationNegativeZero", "/v1/samples?min_generation=-0", 400, "min_generation"},
		{"MaxGenerationLeadingZero", "/v1/samples?max_generation=00", 400, "max_generation"},
		{"MaxDepthLeadingZero", "/v1/samples/" + missingID + "/lineage?max_depth=01", 400, "max_depth"},
		{"MaxNodesPlus", "/v1/samples/" + missingID + "/lineage?max_nodes=%2B1", 400, "max_nodes"},
		{"InclusionIndexLeadingZero", "/v1/log/proof/inclusion?index=00&size=1", 400, "index"},
		{"InclusionSizePlus", "/v1/log/proof/inclusion?index=0&size=%2B1", 400, "size"},
		{"Inclusion", "/v1/log/proof/inclusion?index=0&size=1", 200, ""},
		{"ConsistencyToLeadingZero", "/v1/log/proof/consistency?from=1&to=01", 400, "to"},
		{"ConsistencyFromNegative", "/v1/log/proof/consistency?from=-1&to=1", 400, "from"},
		{"ModelsLimit", "/v1/models?limit=010", 400, "limit"},
		{"MixesLimit", "/v1/mixes?limit=%2B1", 400, "limit"},
		{"KeysLimit", "/v1/keys?limit=0x10", 400, "limit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := auditor
			if strings.HasPrefix(tc.target, "/v1/keys") {
				key = srv.AdminKey
			}
			resp, body := srv.send(t, key, "GET", tc.target, nil, nil)
			if tc.status == 200 {
				if resp.StatusCode != 200 {
					t.Fatalf("%d: %s", resp.StatusCode, body)
				}
				return
			}
			code := registry.EINVALID
			if tc.status == 404 {
				code = registry.ENOTFOUND
			}
			wantProblem(t, resp, body, tc.status, code, tc.field)
		})
	}
	srv.unchanged(t, before)
}

// TestJSONBodiesRefuseWhatDecodingWouldChange: a lone surrogate escape or a byte that is not UTF-8
// would be stored as U+FFFD, a text other than the one sent. Every JSON body the API decodes refuses
// them, naming the field; a surrogate pair is one character and is stored as sent.
func TestJSONBodiesRefuseWhatDecodingWouldChange(t *testing.T) {
	srv := startServer(t, "")
	ctx := context.Background()
	ingest := srv.Key(registry.RoleIngest)
	ndjson := http.Header{"Content-Type": {"application/x-ndjson"}}
	before := srv.state(t)
	for _, tc := range []struct {
		name, key, method, path string
		header                  http.Header
		body                    string
		field                   string
	}{
		{"SampleLoneHigh", ingest, "POST", "/v1/samples", jsonType, `{"text":"lone \ud800 x","origin":"human"}`, "text"},
		{"SampleLoneLow", ingest, "POST", "/v1/samples", jsonType, `{"text":"lone \udc00 x","origin":"human"}`, "text"},
		{"SampleReversedPair", ingest, "POST", "/v1/samples", jsonType, `{"text":"\ude00\ud83d","origin":"human"}`, "text"},
		{"SampleHighThenLetter", ingest, "POST", "/v1/samples", jsonType, `{"text":"\ud800\u0041","origin":"human"}`, "text"},
		{"SampleNotUTF8", ingest, "POST", "/v1/samples", jsonType, "{\"text\":\"caf\xe9\",\"origin\":\"human\"}", "text"},
		{"SampleMetadataValue", ingest, "POST", "/v1/samples", jsonType, `{"text":"a","origin":"human","metadata":{"k":"\ud800"}}`, "metadata/k"},
		{"SampleMetadataKey", ingest, "POST", "/v1/samples", jsonType, `{"text":"a","origin":"human","metadata":{"\udbff":1}}`, "metadata"},
		{"SampleMetadataNotUTF8", ingest, "POST", "/v1/samples", jsonType, "{\"text\":\"a\",\"origin\":\"human\",\"metadata\":{\"k\":\"\xff\"}}", "metadata/k"},
		{"SampleSourceName", ingest, "POST", "/v1/samples", jsonType, `{"text":"a","origin":"human","source":{"kind":"web","name":"\ud800"}}`, "source/name"},
		{"BatchLone", ingest, "POST", "/v1/samples/batch", jsonType, `{"samples":[{"text":"ok","origin":"human"},{"text":"\ud800","origin":"human"}]}`, "samples/1/text"},
		{"BatchNotUTF8", ingest, "POST", "/v1/samples/batch", jsonType, "{\"samples\":[{\"text\":\"\xc3\",\"origin\":\"human\"}]}", "samples/0/text"},
		{"JSONLinesLone", ingest, "POST", "/v1/samples/batch", ndjson, "{\"text\":\"ok\",\"origin\":\"human\"}\n{\"text\":\"\\ud800\",\"origin\":\"human\"}\n", "line 2: text"},
		{"JSONLinesNotUTF8", ingest, "POST", "/v1/samples/batch", ndjson, "{\"text\":\"\xe9\",\"origin\":\"human\"}\n", "line 1: text"},
		{"ModelName", ingest, "POST", "/v1/models", jsonType, `{"name":"m\ud800","version":"1"}`, "name"},
		{"ModelProviderNotUTF8", ingest, "POST", "/v1/models", jsonType, "{\"name\":\"m\",\"version\":\"1\",\"provider\":\"\xfe\"}", "provider"},
		{"MixDataset", ingest, "POST", "/v1/mixes", jsonType, `{"size":10,"filter":{"datasets":["\ud800"]}}`, "filter/datasets/0"},
		{"DryRunDataset", ingest, "POST", "/v1/mixes:dry-run", jsonType, `{"size":10,"filter":{"datasets":["ok","\udc00"]}}`, "filter/datasets/1"},
		{"KeyRole", srv.AdminKey, "POST", "/v1/keys", jsonType, `{"role":"\ud800"}`, "role"},
		{"PolicyNotUTF8", srv.AdminKey, "PUT", "/v1/policies/strict", http.Header{"Content-Type": {"text/plain"}}, "package pedigree.mix\n# caf\xe9\n", "module"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := srv.send(t, tc.key, tc.method, tc.path, tc.header, []byte(tc.body))
			wantProblem(t, resp, body, http.StatusBadRequest, registry.EINVALID, tc.field)
		})
	}
	srv.unchanged(t, before)

	// What is accepted is stored as sent.
	for _, tc := range []struct{ name, body, text string }{
		{"SurrogatePair", `{"text":"pair \ud83d\ude00 x","origin":"human"}`, "pair 😀 x"},
		{"SurrogatePairUpperCase", `{"text":"\uD83D\uDE00 upper","origin":"human"}`, "😀 upper"},
		{"EscapedBackslash", `{"text":"\\ud800 is six characters","origin":"human"}`, `\ud800 is six characters`},
		{"ReplacementCharacterSent", `{"text":"sent \ufffd and ` + "\uFFFD" + `","origin":"human"}`, "sent \uFFFD and \uFFFD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := srv.send(t, ingest, "POST", "/v1/samples", jsonType, []byte(tc.body))
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("%d: %s", resp.StatusCode, body)
			}
			var s registry.Sample
			if err := json.Unmarshal(body, &s); err != nil {
				t.Fatal(err)
			}
			got, err := srv.Admin().GetSample(ctx, s.ID)
			if err != nil || got.Text != tc.text {
				t.Fatalf("stored %q (%v), want %q", got.Text, err, tc.text)
			}
		})
	}
}

// TestWriteRoutesRefuseOtherMediaTypes: a body whose Content-Type the route does not take (or that
// has none, or is compressed) is a 415 before it is read.
func TestWriteRoutesRefuseOtherMediaTypes(t *testing.T) {
	srv := startServer(t, "")
	ctx := context.Background()
	ingest := srv.Key(registry.RoleIngest)
	ct := func(v ...string) http.Header { return http.Header{"Content-Type": v} }
	sample := `{"text":"a sample in the wrong wrapping","origin":"human"}`
	batch := `{"samples":[` + sample + `]}`
	before := srv.state(t)
	for _, tc := range []struct {
		name, key, method, path string
		header                  http.Header
		body                    string
	}{
		{"BatchAsTextPlain", ingest, "POST", "/v1/samples/batch", ct("text/plain"), batch},
		{"BatchAsXML", ingest, "POST", "/v1/samples/batch", ct("application/xml"), batch},
		{"BatchWithoutContentType", ingest, "POST", "/v1/samples/batch", nil, batch},
		{"BatchUTF16", ingest, "POST", "/v1/samples/batch", ct("application/json; charset=utf-16"), batch},
		{"BatchGzip", ingest, "POST", "/v1/samples/batch", http.Header{"Content-Type": {"application/json"}, "Content-Encoding": {"gzip"}}, batch},
		{"SampleAsTextPlain", ingest, "POST", "/v1/samples", ct("text/plain"), sample},
		{"SampleAsForm", ingest, "POST", "/v1/samples", ct("application/x-www-form-urlencoded"), sample},
		{"SampleAsJSONLines", ingest, "POST", "/v1/samples", ct("application/x-ndjson"), sample},
		{"SampleWithoutContentType", ingest, "POST", "/v1/samples", nil, sample},
		{"SampleTwoContentTypes", ingest, "POST", "/v1/samples", ct("application/json", "text/plain"), sample},
		{"SampleMalformedContentType", ingest, "POST", "/v1/samples", ct("application/json; charset"), sample},
		{"ModelAsTextPlain", ingest, "POST", "/v1/models", ct("text/plain"), `{"name":"m","version":"1"}`},
		{"MixAsTextPlain", ingest, "POST", "/v1/mixes", ct("text/plain"), `{"size":10}`},
		{"DryRunAsTextPlain", ingest, "POST", "/v1/mixes:dry-run", ct("text/plain"), `{"size":10}`},
		{"KeyAsTextPlain", srv.AdminKey, "POST", "/v1/keys", ct("text/plain"), `{"role":"auditor"}`},
		{"PolicyAsJSON", srv.AdminKey, "PUT", "/v1/policies/strict", ct("application/json"), "package pedigree.mix\n"},
		{"PolicyAsForm", srv.AdminKey, "PUT", "/v1/policies/strict", ct("application/x-www-form-urlencoded"), "package pedigree.mix\n"},
		{"PolicyWithoutContentType", srv.AdminKey, "PUT", "/v1/policies/strict", nil, "package pedigree.mix\n"},
		{"PolicyLatin1", srv.AdminKey, "PUT", "/v1/policies/strict", ct("text/plain; charset=iso-8859-1"), "package pedigree.mix\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := srv.send(t, tc.key, tc.method, tc.path, tc.header, []byte(tc.body))
			wantProblem(t, resp, body, http.StatusUnsupportedMediaType, "unsupported_media_type", "")
		})
	}
	// No body and no Content-Type is not a media type problem: the empty body is the 400.
	resp, body := srv.send(t, ingest, "POST", "/v1/samples", nil, nil)
	wantProblem(t, resp, body, http.StatusBadRequest, registry.EINVALID, "")
	srv.unchanged(t, before)

	// The types each route documents are taken, with or without a UTF-8 charset.
	for _, tc := range []struct {
		name, method, path, ctype, body string
	}{
		{"SampleJSONCharset", "POST", "/v1/samples", "application/json; charset=UTF-8", `{"text":"with a charset","origin":"human"}`},
		{"BatchJSONLines", "POST", "/v1/samples/batch", "application/jsonl", `{"text":"a JSON Lines sample","origin":"human"}`},
		{"PolicyText", "PUT", "/v1/policies/plain", "text/plain", "package pedigree.mix\n"},
		{"PolicyOctets", "PUT", "/v1/policies/octets", "application/octet-stream", "package pedigree.mix\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := ingest
			if tc.method == "PUT" {
				key = srv.AdminKey
			}
			resp, body := srv.send(t, key, tc.method, tc.path, http.Header{"Content-Type": {tc.ctype}}, []byte(tc.body))
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("%d: %s", resp.StatusCode, body)
			}
		})
	}
	if _, _, err := srv.Admin().PutPolicy(ctx, "client", "package pedigree.mix\n"); err != nil {
		t.Fatalf("the Go client's policy upload: %v", err)
	}
}

// TestOverlongRequestTargets: a path and query over 8 KiB is a 414 problem, whatever the route.
func TestOverlongRequestTargets(t *testing.T) {
	srv := startServer(t, "")
	auditor, ingest := srv.Key(registry.RoleAuditor), srv.Key(registry.RoleIngest)
	before := srv.state(t)
	long := strings.Repeat("a", 9000)
	for _, tc := range []struct {
		name, key, method, target string
		body                      string
	}{
		{"ListQuery", auditor, "GET", "/v1/samples?dataset=" + long, ""},
		{"SinglePath", auditor, "GET", "/v1/samples/" + long, ""},
		{"Write", ingest, "POST", "/v1/samples?x=" + long, `{"text":"never stored","origin":"human"}`},
		{"Operations", "", "GET", "/healthz?" + long, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var header http.Header
			if tc.body != "" {
				header = jsonType
			}
			resp, body := srv.send(t, tc.key, tc.method, tc.target, header, []byte(tc.body))
			wantProblem(t, resp, body, http.StatusRequestURITooLong, "uri_too_long", "")
		})
	}
	t.Run("AtTheLimit", func(t *testing.T) {
		target := "/v1/samples?dataset="
		target += strings.Repeat("a", 8<<10-len(target))
		if resp, body := srv.send(t, auditor, "GET", target, nil, nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("a target of exactly 8 KiB: %d %s", resp.StatusCode, body)
		}
	})
	srv.unchanged(t, before)
}

// TestNetHTTPAnswersBeforeTheAPI pins what the README says Go's HTTP server answers itself, in
// plain text, before the API sees the request: a bad % escape in the path and a request line with
// headers over 1 MiB. If one of these ever reaches the API, it answers a problem and this test
// says the README is out of date.
func TestNetHTTPAnswersBeforeTheAPI(t *testing.T) {
	srv := startServer(t, "")
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, request string
		status        int
	}{
		{"BadEscapeInPath", "GET /v1/samples/%zz HTTP/1.1\r\nHost: x\r\n\r\n", http.StatusBadRequest},
		{"HeadersOver1MiB", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 1<<20+8192) + "\r\n\r\n", http.StatusRequestHeaderFieldsTooLarge},
		{"URLOver1MiB", "GET /healthz?" + strings.Repeat("a", 1<<20+8192) + " HTTP/1.1\r\nHost: x\r\n\r\n", http.StatusRequestHeaderFieldsTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", u.Host)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(30 * time.Second))
			go io.WriteString(conn, tc.request) // the server may answer before it has read everything
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
				t.Fatalf("%d %q; the README says net/http answers %d in plain text", resp.StatusCode, resp.Header.Get("Content-Type"), tc.status)
			}
		})
	}
}
