package metrics_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pedigreeml/pedigree/metrics"
)

const analyzePath = "/v1alpha1/comments:analyze"

// perspective is a fake comments:analyze service on loopback. Each request is counted, its body
// kept, and answered by respond.
type perspective struct {
	*httptest.Server
	attempts atomic.Int32
	lastBody atomic.Value // []byte
	respond  func(w http.ResponseWriter, r *http.Request, attempt int32)
}

func newPerspective(t *testing.T, respond func(w http.ResponseWriter, r *http.Request, attempt int32)) *perspective {
	t.Helper()
	p := &perspective{respond: respond}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := p.attempts.Add(1)
		body, _ := io.ReadAll(r.Body)
		p.lastBody.Store(body)
		p.respond(w, r, n)
	}))
	t.Cleanup(p.Close)
	return p
}

func scoreBody(v any) string {
	return fmt.Sprintf(`{"attributeScores":{"TOXICITY":{"spanScores":[],"summaryScore":{"value":%v,"type":"PROBABILITY"}}},"languages":["en"]}`, v)
}

func replyJSON(body string) func(http.ResponseWriter, *http.Request, int32) {
	return func(w http.ResponseWriter, _ *http.Request, _ int32) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, body)
	}
}

func replyStatus(code int) func(http.ResponseWriter, *http.Request, int32) {
	return func(w http.ResponseWriter, _ *http.Request, _ int32) {
		http.Error(w, `{"error":{"code":`+fmt.Sprint(code)+`}}`, code)
	}
}

// newScorer returns an HTTPScorer for url with test-friendly settings (1ms backoff), changed by mod.
func newScorer(t *testing.T, url string, mod func(*metrics.HTTPScorerConfig)) *metrics.HTTPScorer {
	t.Helper()
	cfg := metrics.HTTPScorerConfig{URL: url, Timeout: 2 * time.Second, MaxRetries: 2, RetryBackoff: time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	s, err := metrics.NewHTTPScorer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestHTTPScorerSuccess(t *testing.T) {
	p := newPerspective(t, replyJSON(scoreBody(0.42)))
	s := newScorer(t, p.URL+analyzePath+"?key=SECRET", func(c *metrics.HTTPScorerConfig) {
		c.Languages = []string{"en", "fr"}
	})
	text := "Some <text> & \"quotes\" — ünïcode"
	v, err := s.Toxicity(context.Background(), text, nil)
	if err != nil || v != 0.42 {
		t.Fatalf("Toxicity = %v, %v; want 0.42", v, err)
	}
	if n := p.attempts.Load(); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
	if want := "perspective@" + strings.TrimPrefix(p.URL, "http://") + analyzePath; s.ID() != want {
		t.Errorf("ID() = %q, want %q", s.ID(), want)
	}

	t.Run("RequestShape", func(t *testing.T) {
		var got map[string]any
		if err := json.Unmarshal(p.lastBody.Load().([]byte), &got); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{
			"comment":             map[string]any{"text": text},
			"requestedAttributes": map[string]any{"TOXICITY": map[string]any{}},
			"languages":           []any{"en", "fr"},
			"doNotStore":          true,
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("request body %v, want %v", got, want)
		}
	})
	t.Run("RequestHeadersAndURL", func(t *testing.T) {
		p.respond = func(w http.ResponseWriter, r *http.Request, _ int32) {
			if r.Method != http.MethodPost || r.URL.Path != analyzePath || r.URL.Query().Get("key") != "SECRET" ||
				r.Header.Get("Content-Type") != "application/json" {
				http.Error(w, "bad request", http.StatusBadRequest)
				return
			}
			io.WriteString(w, scoreBody(0))
		}
		if v, err := s.Toxicity(context.Background(), "x", nil); err != nil || v != 0 {
			t.Errorf("Toxicity = %v, %v", v, err)
		}
	})
	t.Run("NoLanguagesOmitted", func(t *testing.T) {
		p.respond = replyJSON(scoreBody(1))
		s := newScorer(t, p.URL+analyzePath, nil)
		if v, err := s.Toxicity(context.Background(), "x", nil); err != nil || v != 1 {
			t.Fatalf("Toxicity = %v, %v", v, err)
		}
		if body := string(p.lastBody.Load().([]byte)); strings.Contains(body, "languages") {
			t.Errorf("body %s has languages", body)
		}
	})
}

func TestHTTPScorerFailures(t *testing.T) {
	slow := func(w http.ResponseWriter, r *http.Request, _ int32) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}
	tests := []struct {
		name         string
		respond      func(http.ResponseWriter, *http.Request, int32)
		mod          func(*metrics.HTTPScorerConfig)
		wantAttempts int32
		wantIs       error // also wrapped, besides ErrScorerUnavailable
	}{
		{"Timeout", slow, func(c *metrics.HTTPScorerConfig) { c.Timeout = 50 * time.Millisecond; c.MaxRetries = 1 },
			2, context.DeadlineExceeded},
		{"ServerError", replyStatus(500), func(c *metrics.HTTPScorerConfig) { c.MaxRetries = 3 }, 4, nil},
		{"Unavailable", replyStatus(503), nil, 3, nil},
		{"TooManyRequests", replyStatus(429), nil, 3, nil},
		{"NoRetriesWhenNegative", replyStatus(500), func(c *metrics.HTTPScorerConfig) { c.MaxRetries = -1 }, 1, nil},
		{"BadRequestNotRetried", replyStatus(400), nil, 1, nil},
		{"ForbiddenNotRetried", replyStatus(403), nil, 1, nil},
		{"NotFoundNotRetried", replyStatus(404), nil, 1, nil},
		{"MalformedJSON", replyJSON(`{"attributeScores":`), nil, 1, nil},
		{"NotJSON", replyJSON(`<html>oops</html>`), nil, 1, nil},
		{"MissingScore", replyJSON(`{"attributeScores":{"INSULT":{"summaryScore":{"value":0.5}}}}`), nil, 1, nil},
		{"NullScore", replyJSON(scoreBody("null")), nil, 1, nil},
		{"StringScore", replyJSON(scoreBody(`"0.5"`)), nil, 1, nil},
		{"ScoreAboveOne", replyJSON(scoreBody(1.5)), nil, 1, nil},
		{"ScoreBelowZero", replyJSON(scoreBody(-0.1)), nil, 1, nil},
		{"OversizeWithLength", replyJSON(scoreBody(0.5) + strings.Repeat(" ", 200)),
			func(c *metrics.HTTPScorerConfig) { c.MaxResponseBytes = 150 }, 1, nil},
		{"OversizeChunked", func(w http.ResponseWriter, _ *http.Request, _ int32) {
			io.WriteString(w, scoreBody(0.5))
			w.(http.Flusher).Flush() // no Content-Length: the limit applies while reading
			io.WriteString(w, strings.Repeat(" ", 200))
		}, func(c *metrics.HTTPScorerConfig) { c.MaxResponseBytes = 150 }, 1, nil},
		{"OversizeDefaultLimit", replyJSON(scoreBody(0.5) + strings.Repeat(" ", 1<<20)), nil, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPerspective(t, tt.respond)
			s := newScorer(t, p.URL+analyzePath+"?key=SECRET", tt.mod)
			v, err := s.Toxicity(context.Background(), "some text", nil)
			if !errors.Is(err, metrics.ErrScorerUnavailable) {
				t.Fatalf("Toxicity = %v, %v; want ErrScorerUnavailable", v, err)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v does not wrap %v", err, tt.wantIs)
			}
			if n := p.attempts.Load(); n != tt.wantAttempts {
				t.Errorf("%d attempts, want %d", n, tt.wantAttempts)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error leaks the key: %v", err)
			}
		})
	}
}

func TestHTTPScorerRetryThenSuccess(t *testing.T) {
	p := newPerspective(t, func(w http.ResponseWriter, r *http.Request, n int32) {
		if n < 3 {
			replyStatus(502)(w, r, n)
			return
		}
		io.WriteString(w, scoreBody(0.25))
	})
	s := newScorer(t, p.URL+analyzePath, nil)
	if v, err := s.Toxicity(context.Background(), "x", nil); err != nil || v != 0.25 {
		t.Fatalf("Toxicity = %v, %v", v, err)
	}
	if n := p.attempts.Load(); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
}

func TestHTTPScorerExactLimit(t *testing.T) {
	body := scoreBody(0.5)
	p := newPerspective(t, replyJSON(body))
	s := newScorer(t, p.URL, func(c *metrics.HTTPScorerConfig) { c.MaxResponseBytes = int64(len(body)) })
	if v, err := s.Toxicity(context.Background(), "x", nil); err != nil || v != 0.5 {
		t.Fatalf("Toxicity = %v, %v", v, err)
	}
}

func TestHTTPScorerNoRedirects(t *testing.T) {
	for _, code := range []int{301, 302, 303, 307, 308} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			var followed atomic.Int32
			mux := http.NewServeMux()
			mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) {
				followed.Add(1)
				io.WriteString(w, scoreBody(0.1))
			})
			mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "/ok", code)
			})
			srv := httptest.NewServer(mux)
			t.Cleanup(srv.Close)
			// Even a caller's client that would follow redirects must not.
			follower := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return nil }}
			for _, client := range []*http.Client{nil, follower} {
				s := newScorer(t, srv.URL+"/analyze", func(c *metrics.HTTPScorerConfig) { c.Client = client })
				if v, err := s.Toxicity(context.Background(), "x", nil); !errors.Is(err, metrics.ErrScorerUnavailable) {
					t.Errorf("Toxicity = %v, %v; want ErrScorerUnavailable", v, err)
				}
			}
			if n := followed.Load(); n != 0 {
				t.Errorf("redirect followed %d times", n)
			}
			if follower.CheckRedirect == nil {
				t.Error("caller's client was modified")
			}
		})
	}
}

func TestHTTPScorerContext(t *testing.T) {
	started := make(chan struct{}, 10)
	p := newPerspective(t, func(w http.ResponseWriter, r *http.Request, _ int32) {
		started <- struct{}{}
		<-r.Context().Done()
	})
	s := newScorer(t, p.URL, func(c *metrics.HTTPScorerConfig) { c.MaxRetries = 5 })
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	_, err := s.Toxicity(ctx, "x", nil)
	if !errors.Is(err, metrics.ErrScorerUnavailable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v; want ErrScorerUnavailable and context.Canceled", err)
	}
	if n := p.attempts.Load(); n != 1 {
		t.Errorf("%d attempts after cancellation, want 1", n)
	}
}

func TestHTTPScorerConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/analyze?key=SECRET"
	srv.Close()
	s := newScorer(t, url, func(c *metrics.HTTPScorerConfig) { c.MaxRetries = 1 })
	_, err := s.Toxicity(context.Background(), "x", nil)
	if !errors.Is(err, metrics.ErrScorerUnavailable) {
		t.Fatalf("err = %v; want ErrScorerUnavailable", err)
	}
	if strings.Contains(err.Error(), "SECRET") {
		t.Errorf("error leaks the key: %v", err)
	}
}

func TestNewHTTPScorer(t *testing.T) {
	bad := []struct {
		name string
		cfg  metrics.HTTPScorerConfig
	}{
		{"Empty", metrics.HTTPScorerConfig{}},
		{"NoScheme", metrics.HTTPScorerConfig{URL: "example.com/analyze"}},
		{"FTP", metrics.HTTPScorerConfig{URL: "ftp://example.com/analyze"}},
		{"File", metrics.HTTPScorerConfig{URL: "file:///etc/passwd"}},
		{"Opaque", metrics.HTTPScorerConfig{URL: "http:example.com"}},
		{"NoHost", metrics.HTTPScorerConfig{URL: "http:///analyze"}},
		{"Unparsable", metrics.HTTPScorerConfig{URL: "http://exa mple.com/%zz?key=SECRET"}},
		{"NegativeTimeout", metrics.HTTPScorerConfig{URL: "https://example.com", Timeout: -1}},
		{"NegativeMaxResponse", metrics.HTTPScorerConfig{URL: "https://example.com", MaxResponseBytes: -1}},
		{"TooManyRetries", metrics.HTTPScorerConfig{URL: "https://example.com", MaxRetries: metrics.MaxHTTPRetries + 1}},
		{"NegativeBackoff", metrics.HTTPScorerConfig{URL: "https://example.com", RetryBackoff: -1}},
		{"EmptyLanguage", metrics.HTTPScorerConfig{URL: "https://example.com", Languages: []string{""}}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			s, err := metrics.NewHTTPScorer(tt.cfg)
			if err == nil {
				t.Fatalf("NewHTTPScorer(%+v) = %v, want error", tt.cfg, s.ID())
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error leaks the key: %v", err)
			}
		})
	}
	t.Run("ID", func(t *testing.T) {
		for url, want := range map[string]string{
			"https://commentanalyzer.googleapis.com/v1alpha1/comments:analyze?key=SECRET": "perspective@commentanalyzer.googleapis.com/v1alpha1/comments:analyze",
			"http://user:pw@localhost:8080/analyze#frag":                                  "perspective@localhost:8080/analyze",
		} {
			s, err := metrics.NewHTTPScorer(metrics.HTTPScorerConfig{URL: url})
			if err != nil {
				t.Errorf("NewHTTPScorer(%q): %v", url, err)
			} else if s.ID() != want {
				t.Errorf("NewHTTPScorer(%q).ID() = %q, want %q", url, s.ID(), want)
			}
		}
		s, err := metrics.NewHTTPScorer(metrics.HTTPScorerConfig{URL: "https://h/p", ModelVersion: "2024-05"})
		if err != nil {
			t.Fatal(err)
		}
		if s.ID() != "perspective@h/p+2024-05" {
			t.Errorf("with ModelVersion: ID() = %q", s.ID())
		}
	})
}
