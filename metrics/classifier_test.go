package metrics_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pedigreeml/pedigree/metrics"
)

// classifierServer is a fake classifier server on loopback: it counts requests, keeps the last body
// and answers with respond.
type classifierServer struct {
	*httptest.Server
	requests atomic.Int32
	lastBody atomic.Value // []byte
	lastAuth atomic.Value // string
}

func newClassifierServer(t *testing.T, respond func(w http.ResponseWriter, body []byte, n int32)) *classifierServer {
	t.Helper()
	c := &classifierServer{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := c.requests.Add(1)
		body, _ := io.ReadAll(r.Body)
		c.lastBody.Store(body)
		c.lastAuth.Store(r.Header.Get("Authorization"))
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "want a JSON POST", http.StatusMethodNotAllowed)
			return
		}
		respond(w, body, n)
	}))
	t.Cleanup(c.Close)
	return c
}

// teiAnswer answers a TEI /predict batch: each input's toxicity is 0.9 if it contains "toxic"
// words, else 0.1, under the labels "toxic" and "neutral" (and "insult" at half the toxic score).
func teiAnswer(w http.ResponseWriter, body []byte, _ int32) {
	var req struct {
		Inputs   [][]string `json:"inputs"`
		Truncate bool       `json:"truncate"`
	}
	if err := json.Unmarshal(body, &req); err != nil || !req.Truncate {
		http.Error(w, "bad request", http.StatusUnprocessableEntity)
		return
	}
	out := make([][]map[string]any, len(req.Inputs))
	for i, in := range req.Inputs {
		if len(in) != 1 {
			http.Error(w, "want single texts", http.StatusUnprocessableEntity)
			return
		}
		p := 0.1
		if strings.Contains(in[0], "idiot") {
			p = 0.9
		}
		out[i] = []map[string]any{{"label": "neutral", "score": 1 - p}, {"label": "TOXIC", "score": p}, {"label": "insult", "score": p / 2}}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

func TestTEIScorerBatches(t *testing.T) {
	srv := newClassifierServer(t, teiAnswer)
	s, err := metrics.NewTEIScorer(metrics.ClassifierConfig{URL: srv.URL + "/predict", BatchSize: 2, ModelVersion: "toxic-bert@1"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.ID(), "tei@"+strings.TrimPrefix(srv.URL, "http://")+"/predict+labels=toxic+toxic-bert@1"; got != want {
		t.Errorf("ID = %q, want %q", got, want)
	}
	texts := []string{"hello", "you idiot", "fine", "idiot", "bye"}
	vs, err := s.ToxicityBatch(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{0.1, 0.9, 0.1, 0.9, 0.1}
	for i := range want {
		if vs[i] != want[i] {
			t.Errorf("text %d (%q): %v, want %v", i, texts[i], vs[i], want[i])
		}
	}
	if n := srv.requests.Load(); n != 3 {
		t.Errorf("%d requests for 5 texts in batches of 2, want 3", n)
	}
	// The last request held the fifth text alone, as a one-element array.
	if body := string(srv.lastBody.Load().([]byte)); !strings.Contains(body, `"inputs":[["bye"]]`) {
		t.Errorf("last request %s", body)
	}

	// Several labels: the largest counts.
	s2, err := metrics.NewTEIScorer(metrics.ClassifierConfig{URL: srv.URL + "/predict", Labels: []string{"insult", "neutral"}})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s2.Toxicity(context.Background(), "you idiot", nil); err != nil || v != 0.45 {
		t.Errorf("labels insult, neutral: %v, %v; want max(0.45, 0.1)", v, err)
	}
	if !strings.Contains(s2.ID(), "+labels=insult,neutral") {
		t.Errorf("ID %q does not name the labels", s2.ID())
	}
}

func TestOpenAIModerationScorer(t *testing.T) {
	srv := newClassifierServer(t, func(w http.ResponseWriter, body []byte, _ int32) {
		var req struct {
			Input []string `json:"input"`
			Model string   `json:"model"`
		}
		if err := json.Unmarshal(body, &req); err != nil || req.Model != "omni-moderation-latest" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		var results []string
		for _, in := range req.Input {
			h := 0.05
			if strings.Contains(in, "idiot") {
				h = 0.8
			}
			results = append(results, fmt.Sprintf(`{"flagged":%v,"categories":{"harassment":%v,"violence":false},"category_scores":{"harassment":%v,"violence":0.3}}`, h > 0.5, h > 0.5, h))
		}
		fmt.Fprintf(w, `{"id":"modr-1","model":"omni-moderation-latest","results":[%s]}`, strings.Join(results, ","))
	})
	for _, tt := range []struct {
		category string
		want     []float64
	}{{"", []float64{0.3, 0.8}}, {"harassment", []float64{0.05, 0.8}}} {
		s, err := metrics.NewOpenAIModerationScorer(metrics.ClassifierConfig{
			URL: srv.URL + "/v1/moderations", Model: "omni-moderation-latest", Category: tt.category, APIKey: "sk-secret",
		})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(s.ID(), "sk-secret") || !strings.Contains(s.ID(), "model=omni-moderation-latest") {
			t.Errorf("ID %q", s.ID())
		}
		vs, err := s.ToxicityBatch(context.Background(), []string{"hello", "you idiot"})
		if err != nil {
			t.Fatal(err)
		}
		if vs[0] != tt.want[0] || vs[1] != tt.want[1] {
			t.Errorf("category %q: %v, want %v", tt.category, vs, tt.want)
		}
		if got := srv.lastAuth.Load(); got != "Bearer sk-secret" {
			t.Errorf("Authorization %q", got)
		}
	}
}

// TestClassifierFailures runs both adapters against servers that fail in each way; every failure
// must wrap ErrScorerUnavailable, be retried only when transient, and never leak the API key.
func TestClassifierFailures(t *testing.T) {
	type reply func(w http.ResponseWriter, body []byte, n int32)
	status := func(code int) reply {
		return func(w http.ResponseWriter, _ []byte, _ int32) { http.Error(w, "no", code) }
	}
	raw := func(s string) reply {
		return func(w http.ResponseWriter, _ []byte, _ int32) { io.WriteString(w, s) }
	}
	tests := []struct {
		name         string
		tei, openai  reply
		wantRequests int32 // with MaxRetries 2
	}{
		{"ServerError", status(500), status(503), 3},
		{"TooManyRequests", status(429), status(429), 3},
		{"BadRequest", status(400), status(400), 1},
		{"NotJSON", raw("<html>"), raw("<html>"), 1},
		{"WrongCount", raw(`[[{"label":"toxic","score":0.5}],[{"label":"toxic","score":0.5}],[]]`),
			raw(`{"results":[{"category_scores":{"a":0.1}},{"category_scores":{"a":0.1}},{"category_scores":{"a":0.1}}]}`), 1},
		{"MissingLabelOrCategory", raw(`[[{"label":"neutral","score":0.5}],[{"label":"neutral","score":0.5}]]`),
			raw(`{"results":[{"category_scores":{}},{"category_scores":{}}]}`), 1},
		{"OutOfRange", raw(`[[{"label":"toxic","score":1.5}],[{"label":"toxic","score":0.5}]]`),
			raw(`{"results":[{"category_scores":{"a":-0.1}},{"category_scores":{"a":0.1}}]}`), 1},
		{"NullScore", raw(`[[{"label":"toxic","score":null}],[{"label":"toxic","score":0.5}]]`),
			raw(`{"results":[{"category_scores":{"a":null}},{"category_scores":{"a":0.1}}]}`), 1},
		{"Oversize", raw(`[[{"label":"toxic","score":0.5,"pad":"` + strings.Repeat("x", 2048) + `"}]]`),
			raw(`{"pad":"` + strings.Repeat("x", 2048) + `"}`), 1},
	}
	for _, tt := range tests {
		for _, kind := range []string{"tei", "openai"} {
			t.Run(tt.name+"/"+kind, func(t *testing.T) {
				respond := tt.tei
				if kind == "openai" {
					respond = tt.openai
				}
				srv := newClassifierServer(t, respond)
				cfg := metrics.ClassifierConfig{URL: srv.URL + "/x", MaxRetries: 2, RetryBackoff: time.Millisecond,
					MaxResponseBytes: 1024, APIKey: "sk-secret"}
				var s metrics.BatchToxicityScorer
				var err error
				if kind == "tei" {
					s, err = metrics.NewTEIScorer(cfg)
				} else {
					s, err = metrics.NewOpenAIModerationScorer(cfg)
				}
				if err != nil {
					t.Fatal(err)
				}
				vs, err := s.ToxicityBatch(context.Background(), []string{"a", "b"})
				if !errors.Is(err, metrics.ErrScorerUnavailable) || vs != nil {
					t.Fatalf("got %v, %v; want ErrScorerUnavailable and no scores", vs, err)
				}
				if strings.Contains(err.Error(), "sk-secret") {
					t.Errorf("error leaks the key: %v", err)
				}
				if n := srv.requests.Load(); n != tt.wantRequests {
					t.Errorf("%d requests, want %d", n, tt.wantRequests)
				}
			})
		}
	}
}

func TestClassifierRetryThenSuccess(t *testing.T) {
	srv := newClassifierServer(t, func(w http.ResponseWriter, body []byte, n int32) {
		if n == 1 {
			http.Error(w, "warming up", http.StatusServiceUnavailable)
			return
		}
		teiAnswer(w, body, n)
	})
	s, err := metrics.NewTEIScorer(metrics.ClassifierConfig{URL: srv.URL, RetryBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.Toxicity(context.Background(), "idiot", nil); err != nil || v != 0.9 {
		t.Errorf("%v, %v", v, err)
	}
	if n := srv.requests.Load(); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

// TestClassifierSlow checks the per-request timeout: a server that answers after the timeout is
// unavailable, and cancelling the context ends the call with the context's error.
func TestClassifierSlow(t *testing.T) {
	release := make(chan struct{})
	srv := newClassifierServer(t, func(w http.ResponseWriter, body []byte, n int32) {
		<-release
		teiAnswer(w, body, n)
	})
	t.Cleanup(func() { close(release) })
	s, err := metrics.NewTEIScorer(metrics.ClassifierConfig{URL: srv.URL, Timeout: 50 * time.Millisecond, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Toxicity(context.Background(), "x", nil)
	if !errors.Is(err, metrics.ErrScorerUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("timeout: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s2, _ := metrics.NewTEIScorer(metrics.ClassifierConfig{URL: srv.URL, Timeout: time.Minute})
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	if _, err := s2.Toxicity(ctx, "x", nil); !errors.Is(err, context.Canceled) || !errors.Is(err, metrics.ErrScorerUnavailable) {
		t.Errorf("cancelled: %v", err)
	}
}

// TestScoreBatch checks Scorer.ScoreBatch with a batching scorer: the other metrics match Score's,
// each text gets its own toxicity, and a failure stores null or fails as configured.
func TestScoreBatch(t *testing.T) {
	srv := newClassifierServer(t, teiAnswer)
	tei, err := metrics.NewTEIScorer(metrics.ClassifierConfig{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{"the cat sat on the mat", "you idiot, you absolute idiot", ""}
	s := &metrics.Scorer{Toxicity: tei}
	got, err := s.ScoreBatch(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.requests.Load(); n != 1 {
		t.Errorf("%d requests for 3 texts, want 1", n)
	}
	for i, text := range texts {
		one, err := s.Score(context.Background(), text)
		if err != nil {
			t.Fatal(err)
		}
		if got[i].Tokens != one.Tokens || got[i].MTLD != one.MTLD || *got[i].Toxicity != *one.Toxicity || got[i].ToxicityScorer != tei.ID() {
			t.Errorf("text %d: batch %+v, one by one %+v", i, got[i], one)
		}
	}

	down := newClassifierServer(t, func(w http.ResponseWriter, _ []byte, _ int32) { http.Error(w, "down", 500) })
	dead, _ := metrics.NewTEIScorer(metrics.ClassifierConfig{URL: down.URL, MaxRetries: -1})
	if _, err := (&metrics.Scorer{Toxicity: dead}).ScoreBatch(context.Background(), texts); !errors.Is(err, metrics.ErrScorerUnavailable) {
		t.Errorf("fail mode: %v", err)
	}
	nulls, err := (&metrics.Scorer{Toxicity: dead, NullOnUnavailable: true}).ScoreBatch(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, sc := range nulls {
		if sc.Toxicity != nil || sc.ToxicityScorer != dead.ID() || (sc.Tokens == 0) != (texts[i] == "") {
			t.Errorf("null mode, text %d: %+v", i, sc)
		}
	}
}

func TestParseToxicityScorer(t *testing.T) {
	tests := []struct {
		spec, wantID string // wantID is a prefix; "" wants an error
	}{
		{"lexicon", "lexicon/2+"},
		{"", "lexicon/2+"},
		{"lexicon/1", "lexicon/1+"},
		{"http://127.0.0.1:9/v1alpha1/comments:analyze?key=k", "perspective@127.0.0.1:9/v1alpha1/comments:analyze"},
		{"tei:http://127.0.0.1:8080/predict", "tei@127.0.0.1:8080/predict+labels=toxic"},
		{"tei:http://h/predict#labels=toxic,insult&version=unitary/toxic-bert@4d6c22e&batch=8", "tei@h/predict+labels=insult,toxic+unitary/toxic-bert@4d6c22e"},
		{"openai:http://h/v1/moderations", "openai-moderation@h/v1/moderations+category=max"},
		{"openai:https://h/v1/moderations#category=harassment&model=m1", "openai-moderation@h/v1/moderations+model=m1+category=harassment"},
		{"tei:ftp://h/predict", ""},
		{"tei:http://h/predict#category=x", ""},
		{"openai:http://h/v1/moderations#labels=x", ""},
		{"tei:http://h/predict#batch=0", ""},
		{"tei:http://h/predict#batch=5000", ""},
		{"tei:http://h/predict#labels=", ""},
		{"not a url", ""},
	}
	for _, tt := range tests {
		s, err := metrics.ParseToxicityScorer(tt.spec, time.Second)
		switch {
		case tt.wantID == "" && err == nil:
			t.Errorf("%q: no error (ID %q)", tt.spec, s.ID())
		case tt.wantID != "" && err != nil:
			t.Errorf("%q: %v", tt.spec, err)
		case tt.wantID != "" && !strings.HasPrefix(s.ID(), tt.wantID):
			t.Errorf("%q: ID %q, want prefix %q", tt.spec, s.ID(), tt.wantID)
		}
	}
}
