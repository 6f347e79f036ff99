// Package client is a Go client of Pedigree's REST API. The registryd command line and the end-to-end
// tests use it; every error the server returns comes back as a *Problem.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pedigreeml/pedigree/registry"
)

// Client talks to one registry with one API key.
type Client struct {
	base string
	key  string
	http *http.Client
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient replaces the default http.Client (for example to add a transport in tests).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// New returns a client of the registry at baseURL (for example http://127.0.0.1:8080) using key.
func New(baseURL, key string, opts ...Option) *Client {
	c := &Client{base: strings.TrimRight(baseURL, "/"), key: key, http: &http.Client{Timeout: 10 * time.Minute}}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Problem is an RFC 9457 problem returned by the server.
type Problem struct {
	Type       string                `json:"type"`
	Title      string                `json:"title"`
	Status     int                   `json:"status"`
	Detail     string                `json:"detail"`
	Code       string                `json:"code"`
	RequestID  string                `json:"request_id"`
	Errors     []registry.FieldError `json:"errors"`
	Violations []string              `json:"violations"`
	DecisionID string                `json:"decision_id"`
	Existing   string                `json:"existing"`
	// NearDuplicateOf and Similarity name the model sample that refused human text near-duplicates.
	NearDuplicateOf string   `json:"near_duplicate_of"`
	Similarity      *float64 `json:"similarity"`
}

// Error implements error.
func (p *Problem) Error() string {
	return fmt.Sprintf("%d %s: %s", p.Status, p.Code, p.Detail)
}

// StatusOf returns the HTTP status of a *Problem error, or 0.
func StatusOf(err error) int {
	var p *Problem
	if errors.As(err, &p) {
		return p.Status
	}
	return 0
}

// CodeOf returns the problem code of a *Problem error, or "".
func CodeOf(err error) string {
	var p *Problem
	if errors.As(err, &p) {
		return p.Code
	}
	return ""
}

// Request is a raw request, for callers that need headers or content types the typed methods do not
// cover.
type Request struct {
	Method      string
	Path        string // with query string
	Body        []byte
	ContentType string
	Header      http.Header
}

// Do sends r and returns the status and body of a 2xx response; anything else is a *Problem.
func (c *Client) Do(ctx context.Context, r Request) (int, []byte, error) {
	resp, err := c.send(ctx, r)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, fmt.Errorf("read response: %w", err)
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, body, problem(resp.StatusCode, body)
	}
	return resp.StatusCode, body, nil
}

// Stream sends r and returns the open response body of a 2xx response; the caller closes it.
func (c *Client) Stream(ctx context.Context, r Request) (io.ReadCloser, error) {
	resp, err := c.send(ctx, r)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return nil, problem(resp.StatusCode, body)
	}
	return resp.Body, nil
}

func (c *Client) send(ctx context.Context, r Request) (*http.Response, error) {
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, c.base+r.Path, body)
	if err != nil {
		return nil, err
	}
	for k, v := range r.Header {
		req.Header[k] = v
	}
	if r.Body != nil {
		ct := r.ContentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	return c.http.Do(req)
}

func problem(status int, body []byte) error {
	p := &Problem{}
	if err := json.Unmarshal(body, p); err != nil || p.Status == 0 {
		return &Problem{Status: status, Code: "unknown", Detail: strings.TrimSpace(string(body))}
	}
	return p
}

// call sends a JSON request (in may be nil) and decodes a JSON response into out (may be nil).
func (c *Client) call(ctx context.Context, method, path string, header http.Header, in, out any) (int, error) {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return 0, err
		}
	}
	status, resp, err := c.Do(ctx, Request{Method: method, Path: path, Body: body, Header: header})
	if err != nil {
		return status, err
	}
	if out != nil {
		if err := json.Unmarshal(resp, out); err != nil {
			return status, fmt.Errorf("decode %s %s response: %w", method, path, err)
		}
	}
	return status, nil
}

func idempotencyHeader(key string) http.Header {
	if key == "" {
		return nil
	}
	return http.Header{"Idempotency-Key": []string{key}}
}

// IngestedSample is a sample as an ingest returns it.
type IngestedSample struct {
	registry.Sample
	Duplicate bool `json:"duplicate"`
}

// CreateSample registers one sample. idempotencyKey may be empty.
func (c *Client) CreateSample(ctx context.Context, s registry.NewSample, idempotencyKey string) (*IngestedSample, error) {
	var out IngestedSample
	if _, err := c.call(ctx, http.MethodPost, "/v1/samples", idempotencyHeader(idempotencyKey), s, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// IngestBatch registers a batch of samples, all or nothing.
func (c *Client) IngestBatch(ctx context.Context, samples []registry.NewSample, idempotencyKey string) ([]IngestedSample, error) {
	var out struct {
		Samples []IngestedSample `json:"samples"`
	}
	in := struct {
		Samples []registry.NewSample `json:"samples"`
	}{samples}
	if _, err := c.call(ctx, http.MethodPost, "/v1/samples/batch", idempotencyHeader(idempotencyKey), in, &out); err != nil {
		return nil, err
	}
	return out.Samples, nil
}

// IngestJSONLines sends a batch already encoded as JSON Lines.
func (c *Client) IngestJSONLines(ctx context.Context, body []byte, idempotencyKey string) ([]IngestedSample, error) {
	out, _, err := c.IngestJSONLinesReplay(ctx, body, idempotencyKey)
	return out, err
}

// IngestJSONLinesReplay is IngestJSONLines that also says whether the server replayed an earlier
// request with the same Idempotency-Key (the response is then that request's).
func (c *Client) IngestJSONLinesReplay(ctx context.Context, body []byte, idempotencyKey string) ([]IngestedSample, bool, error) {
	resp, err := c.send(ctx, Request{Method: http.MethodPost, Path: "/v1/samples/batch", Body: body,
		ContentType: "application/x-ndjson", Header: idempotencyHeader(idempotencyKey)})
	if err != nil {
		return nil, false, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, false, err
	}
	if resp.StatusCode >= 300 {
		return nil, false, problem(resp.StatusCode, raw)
	}
	var out struct {
		Samples []IngestedSample `json:"samples"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, false, fmt.Errorf("decode batch response: %w", err)
	}
	return out.Samples, resp.Header.Get("Idempotent-Replayed") == "true", nil
}

// GetSample reads one sample.
func (c *Client) GetSample(ctx context.Context, id string) (*registry.Sample, error) {
	var out registry.Sample
	if _, err := c.call(ctx, http.MethodGet, "/v1/samples/"+url.PathEscape(id), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SampleQuery filters a sample listing; zero values do not filter.
type SampleQuery struct {
	Origin, Model, Dataset, PromptID string
	MinGeneration, MaxGeneration     *int
	Cursor                           string
	Limit                            int
}

// SamplePage is one page of a sample listing.
type SamplePage struct {
	Samples    []registry.Sample `json:"samples"`
	NextCursor string            `json:"next_cursor"`
}

// ListSamples lists one page of samples.
func (c *Client) ListSamples(ctx context.Context, q SampleQuery) (*SamplePage, error) {
	v := url.Values{}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("origin", q.Origin)
	set("model", q.Model)
	set("dataset", q.Dataset)
	set("prompt_id", q.PromptID)
	set("cursor", q.Cursor)
	if q.MinGeneration != nil {
		set("min_generation", strconv.Itoa(*q.MinGeneration))
	}
	if q.MaxGeneration != nil {
		set("max_generation", strconv.Itoa(*q.MaxGeneration))
	}
	if q.Limit > 0 {
		set("limit", strconv.Itoa(q.Limit))
	}
	var out SamplePage
	if _, err := c.call(ctx, http.MethodGet, "/v1/samples"+encode(v), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func encode(v url.Values) string {
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// Lineage reads the lineage graph around a sample. maxDepth 0 uses the server's default.
func (c *Client) Lineage(ctx context.Context, id, direction string, maxDepth int) (*registry.Lineage, error) {
	v := url.Values{}
	if direction != "" {
		v.Set("direction", direction)
	}
	if maxDepth > 0 {
		v.Set("max_depth", strconv.Itoa(maxDepth))
	}
	var out registry.Lineage
	if _, err := c.call(ctx, http.MethodGet, "/v1/samples/"+url.PathEscape(id)+"/lineage"+encode(v), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Candidates reads a prompt's best-of-k group ranked by objective; model restricts it to one model's
// candidates (single-source) when not empty.
func (c *Client) Candidates(ctx context.Context, promptID, objective, model string) (*registry.Candidates, error) {
	v := url.Values{}
	if objective != "" {
		v.Set("objective", objective)
	}
	if model != "" {
		v.Set("model", model)
	}
	var out registry.Candidates
	if _, err := c.call(ctx, http.MethodGet, "/v1/prompts/"+url.PathEscape(promptID)+"/candidates"+encode(v), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// LookupSamples finds the samples with the given ids, content hashes or external ids (roles ingest
// and auditor); unknown keys are left out.
func (c *Client) LookupSamples(ctx context.Context, l registry.Lookup) ([]*registry.Sample, error) {
	var out struct {
		Samples []*registry.Sample `json:"samples"`
	}
	if _, err := c.call(ctx, http.MethodPost, "/v1/samples/lookup", nil, l, &out); err != nil {
		return nil, err
	}
	return out.Samples, nil
}

// CreateModel registers a model.
func (c *Client) CreateModel(ctx context.Context, m registry.NewModel, idempotencyKey string) (*registry.Model, error) {
	var out registry.Model
	if _, err := c.call(ctx, http.MethodPost, "/v1/models", idempotencyHeader(idempotencyKey), m, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetModel reads a model by id or name@version.
func (c *Client) GetModel(ctx context.Context, ref string) (*registry.Model, error) {
	var out registry.Model
	if _, err := c.call(ctx, http.MethodGet, "/v1/models/"+url.PathEscape(ref), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ModelPage is one page of a model listing.
type ModelPage struct {
	Models     []registry.Model `json:"models"`
	NextCursor string           `json:"next_cursor"`
}

// ListModels lists one page of models.
func (c *Client) ListModels(ctx context.Context, cursor string, limit int) (*ModelPage, error) {
	v := url.Values{}
	if cursor != "" {
		v.Set("cursor", cursor)
	}
	if limit > 0 {
		v.Set("limit", strconv.Itoa(limit))
	}
	var out ModelPage
	if _, err := c.call(ctx, http.MethodGet, "/v1/models"+encode(v), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreatedKey is a new API key; Key is shown only once.
type CreatedKey struct {
	registry.APIKey
	Key string `json:"key"`
}

// CreateKey creates an API key with role.
func (c *Client) CreateKey(ctx context.Context, role string) (*CreatedKey, error) {
	var out CreatedKey
	if _, err := c.call(ctx, http.MethodPost, "/v1/keys", nil, map[string]string{"role": role}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// KeyPage is one page of a key listing.
type KeyPage struct {
	Keys       []registry.APIKey `json:"keys"`
	NextCursor string            `json:"next_cursor"`
}

// ListKeys lists one page of keys.
func (c *Client) ListKeys(ctx context.Context, cursor string, limit int) (*KeyPage, error) {
	v := url.Values{}
	if cursor != "" {
		v.Set("cursor", cursor)
	}
	if limit > 0 {
		v.Set("limit", strconv.Itoa(limit))
	}
	var out KeyPage
	if _, err := c.call(ctx, http.MethodGet, "/v1/keys"+encode(v), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RevokeKey revokes a key.
func (c *Client) RevokeKey(ctx context.Context, id string) (*registry.APIKey, error) {
	var out registry.APIKey
	if _, err := c.call(ctx, http.MethodDelete, "/v1/keys/"+url.PathEscape(id), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Ready reports whether the server answers /readyz with 200.
func (c *Client) Ready(ctx context.Context) error {
	_, _, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/readyz"})
	return err
}
