package metrics

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Defaults and bounds of HTTPScorerConfig.
const (
	DefaultHTTPTimeout      = 5 * time.Second
	DefaultMaxResponseBytes = 1 << 20
	DefaultMaxRetries       = 2
	DefaultRetryBackoff     = 100 * time.Millisecond
	MaxHTTPRetries          = 10
	maxRetryWait            = 2 * time.Second
)

// HTTPScorerConfig configures an HTTPScorer. Zero values take the defaults.
type HTTPScorerConfig struct {
	// URL is the comments:analyze endpoint, http or https, including any API key in the query
	// (the key never appears in the scorer's ID or errors).
	URL string

	// Timeout bounds each attempt, response body included. Default DefaultHTTPTimeout.
	Timeout time.Duration

	// MaxResponseBytes caps the response body; a larger one is a failure. Default
	// DefaultMaxResponseBytes (1 MiB).
	MaxResponseBytes int64

	// MaxRetries is the number of retries after the first attempt, for timeouts, transport errors,
	// 429 and 5xx responses only. 0 means DefaultMaxRetries; a negative value means no retries; at most
	// MaxHTTPRetries.
	MaxRetries int

	// Languages are sent as the request's "languages" (e.g. "en"); empty lets the service detect them.
	Languages []string

	// Client is the HTTP client to use; nil means a client with its own transport. It is copied, and
	// the copy never follows redirects.
	Client *http.Client

	// RetryBackoff is the wait before the first retry; it doubles on each retry (with jitter, capped
	// at 2s). Default DefaultRetryBackoff.
	RetryBackoff time.Duration

	// ModelVersion, if set, is appended to the ID ("perspective@host/path+ModelVersion"), so that
	// scores from different versions of the remote model are not compared.
	ModelVersion string
}

// HTTPScorer scores toxicity with a remote service speaking the Perspective API comments:analyze
// format. It is safe for concurrent use.
type HTTPScorer struct {
	cfg    HTTPScorerConfig
	id     string
	poster *poster
}

var _ ToxicityScorer = (*HTTPScorer)(nil)

// NewHTTPScorer validates cfg, fills in defaults and returns the scorer.
func NewHTTPScorer(cfg HTTPScorerConfig) (*HTTPScorer, error) {
	for _, l := range cfg.Languages {
		if l == "" {
			return nil, errors.New("metrics: toxicity scorer language is empty")
		}
	}
	cfg.Languages = append([]string(nil), cfg.Languages...)
	p, err := newPoster(posterConfig{
		kind: "perspective", url: cfg.URL, timeout: cfg.Timeout, maxResponseBytes: cfg.MaxResponseBytes,
		maxRetries: cfg.MaxRetries, retryBackoff: cfg.RetryBackoff, client: cfg.Client,
	})
	if err != nil {
		return nil, err
	}
	cfg.Timeout, cfg.MaxResponseBytes, cfg.MaxRetries, cfg.RetryBackoff = p.timeout, p.maxResponseBytes, p.maxRetries, p.retryBackoff
	id := p.id
	if cfg.ModelVersion != "" {
		id += "+" + cfg.ModelVersion
	}
	p.id = id
	return &HTTPScorer{cfg: cfg, id: id, poster: p}, nil
}

// posterConfig is what every HTTP toxicity scorer shares: where, how long, how often.
type posterConfig struct {
	kind             string // the ID's prefix: "perspective", "tei", "openai-moderation"
	url              string
	timeout          time.Duration
	maxResponseBytes int64
	maxRetries       int
	retryBackoff     time.Duration
	client           *http.Client
	header           http.Header // extra request headers (an API key); never in IDs or errors
}

// poster sends JSON requests to one endpoint with the timeouts, size limit and bounded, jittered
// retries of HTTPScorerConfig. It is safe for concurrent use.
type poster struct {
	posterConfig
	id string // kind@host/path
}

func newPoster(cfg posterConfig) (*poster, error) {
	u, err := url.Parse(cfg.url)
	if err != nil {
		return nil, errors.New("metrics: toxicity scorer URL does not parse") // the URL may hold a key
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("metrics: toxicity scorer URL: scheme %q, want http or https", u.Scheme)
	}
	if u.Host == "" || u.Opaque != "" {
		return nil, errors.New("metrics: toxicity scorer URL has no host")
	}
	switch {
	case cfg.timeout < 0:
		return nil, errors.New("metrics: toxicity scorer timeout is negative")
	case cfg.timeout == 0:
		cfg.timeout = DefaultHTTPTimeout
	}
	switch {
	case cfg.maxResponseBytes < 0:
		return nil, errors.New("metrics: toxicity scorer MaxResponseBytes is negative")
	case cfg.maxResponseBytes == 0:
		cfg.maxResponseBytes = DefaultMaxResponseBytes
	}
	switch {
	case cfg.maxRetries > MaxHTTPRetries:
		return nil, fmt.Errorf("metrics: toxicity scorer MaxRetries %d, at most %d", cfg.maxRetries, MaxHTTPRetries)
	case cfg.maxRetries < 0:
		cfg.maxRetries = 0
	case cfg.maxRetries == 0:
		cfg.maxRetries = DefaultMaxRetries
	}
	switch {
	case cfg.retryBackoff < 0:
		return nil, errors.New("metrics: toxicity scorer RetryBackoff is negative")
	case cfg.retryBackoff == 0:
		cfg.retryBackoff = DefaultRetryBackoff
	}
	var client http.Client
	if cfg.client != nil {
		client = *cfg.client
	} else {
		client.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	cfg.client = &client
	return &poster{posterConfig: cfg, id: cfg.kind + "@" + u.Host + u.EscapedPath()}, nil
}

// ID returns "perspective@" + host + path (no query, so never a key), plus "+ModelVersion" if
// configured.
func (s *HTTPScorer) ID() string { return s.id }

type perspectiveRequest struct {
	Comment             perspectiveText     `json:"comment"`
	RequestedAttributes map[string]struct{} `json:"requestedAttributes"`
	Languages           []string            `json:"languages,omitempty"`
	DoNotStore          bool                `json:"doNotStore"`
}

type perspectiveText struct {
	Text string `json:"text"`
}

type perspectiveResponse struct {
	AttributeScores struct {
		Toxicity struct {
			SummaryScore struct {
				Value *float64 `json:"value"`
			} `json:"summaryScore"`
		} `json:"TOXICITY"`
	} `json:"attributeScores"`
}

// Toxicity asks the service for the TOXICITY summary score of text. Every failure wraps
// ErrScorerUnavailable; when ctx ends, the error also wraps ctx.Err().
func (s *HTTPScorer) Toxicity(ctx context.Context, text string, _ []string) (float64, error) {
	body, err := json.Marshal(perspectiveRequest{
		Comment:             perspectiveText{Text: text},
		RequestedAttributes: map[string]struct{}{"TOXICITY": {}},
		Languages:           s.cfg.Languages,
		DoNotStore:          true,
	})
	if err != nil {
		return 0, fmt.Errorf("%w: %s: encoding request: %w", ErrScorerUnavailable, s.id, err)
	}
	var v float64
	err = s.poster.post(ctx, body, func(data []byte) error {
		var pr perspectiveResponse
		if err := json.Unmarshal(data, &pr); err != nil {
			return &attemptError{msg: "malformed response", cause: err}
		}
		p := pr.AttributeScores.Toxicity.SummaryScore.Value
		if p == nil {
			return &attemptError{msg: "malformed response: no attributeScores.TOXICITY.summaryScore.value"}
		}
		if !(*p >= 0 && *p <= 1) {
			return &attemptError{msg: fmt.Sprintf("malformed response: toxicity %v outside [0, 1]", *p)}
		}
		v = *p
		return nil
	})
	return v, err
}

// post sends body and hands a 2xx response's body to decode, retrying timeouts, transport errors,
// 429 and 5xx responses. A decode error is not retried. Every failure wraps ErrScorerUnavailable;
// when ctx ends, the error also wraps ctx.Err().
func (s *poster) post(ctx context.Context, body []byte, decode func([]byte) error) error {
	for attempt := 0; ; attempt++ {
		retry, err := s.attempt(ctx, body, decode)
		if err == nil {
			return nil
		}
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("%w: %s: %w", ErrScorerUnavailable, s.id, cerr)
		}
		if !retry || attempt >= s.maxRetries {
			return fmt.Errorf("%w: %s: %w (after %d attempts)", ErrScorerUnavailable, s.id, err, attempt+1)
		}
		if err := sleep(ctx, s.backoff(attempt)); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrScorerUnavailable, s.id, err)
		}
	}
}

// backoff is the wait before retry number attempt+1: RetryBackoff·2^attempt, capped, with the upper
// half jittered so concurrent ingests do not retry in lockstep.
func (s *poster) backoff(attempt int) time.Duration {
	d := s.retryBackoff << min(attempt, 16)
	if d <= 0 || d > maxRetryWait {
		d = maxRetryWait
	}
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// attemptError is the failure of one attempt; its message never holds the URL.
type attemptError struct {
	msg   string
	cause error
}

func (e *attemptError) Error() string {
	if e.cause != nil {
		return e.msg + ": " + e.cause.Error()
	}
	return e.msg
}

func (e *attemptError) Unwrap() error { return e.cause }

// attempt makes one request. retry reports whether a failure is transient.
func (s *poster) attempt(ctx context.Context, body []byte, decode func([]byte) error) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return false, &attemptError{msg: "building request"}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	for k, v := range s.header {
		req.Header[k] = v
	}
	resp, err := s.client.Do(req)
	if err != nil {
		// Report the cause without the *url.Error wrapper, whose message holds the URL and key.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return true, &attemptError{msg: "request failed", cause: err}
	}
	defer resp.Body.Close()
	defer io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10)) // let the connection be reused

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		retry := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
		return retry, &attemptError{msg: "status " + strconv.Itoa(resp.StatusCode)}
	}
	limit := s.maxResponseBytes
	if resp.ContentLength > limit {
		return false, &attemptError{msg: fmt.Sprintf("response of %d bytes exceeds %d", resp.ContentLength, limit)}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return true, &attemptError{msg: "reading response", cause: err}
	}
	if int64(len(data)) > limit {
		return false, &attemptError{msg: fmt.Sprintf("response exceeds %d bytes", limit)}
	}
	return false, decode(data)
}
