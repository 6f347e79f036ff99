package spectest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// recorder is a testing.TB that records Errorf calls instead of failing the test.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) errors() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errs...)
}

const (
	sampleID = "0190f5a2-7c1e-7b3a-9f00-3c5e8d2a1b4c"
	modelID  = "0190f5a2-7c1e-7b3a-9f00-3c5e8d2a1b4d"

	validSample = `{"id":"` + sampleID + `","text":"hi","content_sha256":"8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4",
		"origin":"human","parents":[],"source":{"kind":"other"},"generation":0,"generation_basis":"human",
		"metrics":{"tokens":1,"mtld":1,"toxicity":null,"metrics_version":"1","toxicity_scorer":"lexicon"},
		"created_at":"2026-01-02T03:04:05.678Z","log_index":3,"duplicate":false}`
	validModel = `{"id":"` + modelID + `","name":"m","version":"1","trained_on":[],"declared_generation":2,"generation":2,
		"generation_basis":"declared","created_at":"2026-01-02T03:04:05Z","log_index":1}`
	// modelNoGeneration lacks the required field generation.
	modelNoGeneration = `{"id":"` + modelID + `","name":"m","version":"1","trained_on":[],"generation_basis":"declared",
		"created_at":"2026-01-02T03:04:05Z","log_index":1}`
	notFound = `{"type":"https://pedigree.dev/problems/not_found","title":"Not Found","status":404,"code":"not_found",
		"detail":"sample not found","request_id":"r1"}`
)

// answer is what the fake server sends back.
type answer struct {
	status      int
	contentType string
	body        string
}

func TestTransport(t *testing.T) {
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        string
		answer      answer
		wantErr     string // a substring of the reported error; "" means no error may be reported
	}{
		{name: "ValidHealthz", method: "GET", path: "/healthz",
			answer: answer{200, "application/json; charset=utf-8", `{"status":"ok"}`}},
		{name: "ValidModel", method: "GET", path: "/v1/models/" + modelID,
			answer: answer{200, "application/json", validModel}},
		{name: "ValidProblem", method: "GET", path: "/v1/samples/" + sampleID,
			answer: answer{404, "application/problem+json", notFound}},
		{name: "ValidCreate", method: "POST", path: "/v1/samples", contentType: "application/json",
			body:   `{"text":"hi","origin":"human"}`,
			answer: answer{201, "application/json", validSample}},
		{name: "ValidJSONLines", method: "POST", path: "/v1/samples/batch", contentType: "application/x-ndjson",
			body:   "{\"text\":\"hi\",\"origin\":\"human\"}\n\n{\"text\":\"ho\",\"origin\":\"human\"}\n",
			answer: answer{201, "application/json", `{"samples":[` + validSample + `]}`}},
		{name: "ValidMetrics", method: "GET", path: "/metrics",
			answer: answer{200, "text/plain; version=0.0.4; charset=utf-8; escaping=underscores", "# HELP x y\nx 1\n"}},
		{name: "ValidSpec", method: "GET", path: "/openapi.yaml",
			answer: answer{200, "application/yaml", "openapi: 3.0.3\n"}},
		{name: "InvalidRequestRefused", method: "POST", path: "/v1/samples", contentType: "application/json",
			body: `{"text":"hi"}`,
			answer: answer{400, "application/problem+json", `{"type":"https://pedigree.dev/problems/invalid","title":"Bad Request",
				"status":400,"code":"invalid","errors":[{"field":"origin","message":"is required"}]}`}},
		{name: "UnknownRouteRefused", method: "GET", path: "/v1/nothing",
			answer: answer{404, "application/problem+json", notFound}},

		{name: "MissingRequiredField", method: "GET", path: "/v1/models/" + modelID,
			answer:  answer{200, "application/json", modelNoGeneration},
			wantErr: `property "generation" is missing`},
		{name: "UndocumentedStatus", method: "GET", path: "/healthz",
			answer:  answer{418, "application/json", `{"status":"ok"}`},
			wantErr: "status is not supported"},
		{name: "UndocumentedProblemStatus", method: "GET", path: "/v1/samples",
			answer:  answer{404, "application/problem+json", notFound},
			wantErr: "status is not supported"},
		{name: "WrongProblemCode", method: "GET", path: "/v1/samples/" + sampleID,
			answer: answer{404, "application/problem+json", `{"type":"https://pedigree.dev/problems/invalid","title":"Not Found",
				"status":404,"code":"invalid"}`},
			wantErr: "response body doesn't match"},
		{name: "WrongContentType", method: "GET", path: "/healthz",
			answer:  answer{200, "text/html", `<p>ok</p>`},
			wantErr: "text/html"},
		{name: "InvalidRequestAccepted", method: "POST", path: "/v1/samples", contentType: "application/json",
			body:    `{"text":"hi","origin":"human","surprise":1}`,
			answer:  answer{201, "application/json", validSample},
			wantErr: "the server accepted a request the spec refuses"},
		{name: "UnknownRouteServed", method: "GET", path: "/v1/nothing",
			answer:  answer{200, "application/json", `{}`},
			wantErr: "no operation in the spec"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotBody string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				gotBody = string(b)
				w.Header().Set("Content-Type", tt.answer.contentType)
				w.WriteHeader(tt.answer.status)
				io.WriteString(w, tt.answer.body)
			}))
			defer srv.Close()

			rec := &recorder{TB: t}
			c := &http.Client{Transport: Transport(rec, nil)}
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()

			// The transport restores both bodies.
			if gotBody != tt.body {
				t.Errorf("server got body %q, want %q", gotBody, tt.body)
			}
			if string(got) != tt.answer.body || resp.StatusCode != tt.answer.status {
				t.Errorf("client got %d %q, want %d %q", resp.StatusCode, got, tt.answer.status, tt.answer.body)
			}

			errs := rec.errors()
			if tt.wantErr == "" {
				for _, e := range errs {
					t.Errorf("reported a mismatch on a valid exchange: %s", e)
				}
				return
			}
			if len(errs) == 0 {
				t.Fatalf("no mismatch reported, want one containing %q", tt.wantErr)
			}
			if !strings.Contains(errs[0], tt.wantErr) {
				t.Errorf("reported %q, want it to contain %q", errs[0], tt.wantErr)
			}
			if !strings.Contains(errs[0], tt.method+" "+tt.path) {
				t.Errorf("report %q does not name the request %s %s", errs[0], tt.method, tt.path)
			}
		})
	}
}

func TestOpenAPIPath(t *testing.T) {
	for in, want := range map[string]string{
		"/v1/samples":                    "/v1/samples",
		"/v1/samples/:id":                "/v1/samples/{id}",
		"/v1/samples/:id/lineage":        "/v1/samples/{id}/lineage",
		"/v1/policies/:name/versions/:n": "/v1/policies/{name}/versions/{n}",
	} {
		if got := OpenAPIPath(in); got != want {
			t.Errorf("OpenAPIPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOperations(t *testing.T) {
	ops := Operations(Load(t))
	want := map[string]bool{"POST /v1/samples": false, "GET /v1/samples/{id}": false, "GET /healthz": false}
	for _, op := range ops {
		if _, ok := want[op]; ok {
			want[op] = true
		}
	}
	for op, found := range want {
		if !found {
			t.Errorf("Operations lacks %q; got %v", op, ops)
		}
	}
}
