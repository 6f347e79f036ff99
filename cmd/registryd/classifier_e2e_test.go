package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pedigreeml/pedigree/client"
	"github.com/pedigreeml/pedigree/registry"
)

// classifierFake is a local TEI /predict and OpenAI /v1/moderations server: a text containing
// "idiot" scores 0.9, any other 0.1. It counts requests and can be switched to fail.
type classifierFake struct {
	failing  atomic.Bool
	requests atomic.Int64
	texts    atomic.Int64
}

func (c *classifierFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.requests.Add(1)
	if c.failing.Load() {
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
		return
	}
	score := func(text string) float64 {
		if strings.Contains(text, "idiot") {
			return 0.9
		}
		return 0.1
	}
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/predict":
		var req struct {
			Inputs [][]string `json:"inputs"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, "bad request", http.StatusUnprocessableEntity)
			return
		}
		c.texts.Add(int64(len(req.Inputs)))
		out := make([][]map[string]any, len(req.Inputs))
		for i, in := range req.Inputs {
			p := score(in[0])
			out[i] = []map[string]any{{"label": "toxic", "score": p}, {"label": "neutral", "score": 1 - p}}
		}
		json.NewEncoder(w).Encode(out)
	case "/v1/moderations":
		var req struct {
			Input []string `json:"input"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		c.texts.Add(int64(len(req.Input)))
		var results []string
		for _, in := range req.Input {
			results = append(results, fmt.Sprintf(`{"flagged":false,"category_scores":{"harassment":%v,"violence":0.05}}`, score(in)))
		}
		fmt.Fprintf(w, `{"id":"modr-1","model":"m","results":[%s]}`, strings.Join(results, ","))
	default:
		http.NotFound(w, r)
	}
}

// TestClassifierToxicityScorersEndToEnd runs registryd with each classifier adapter: a batch ingest
// is scored in one request, each sample keeps its own score and the scorer's ID, and a server that
// is down fails the ingest or stores null as --toxicity-on-error says.
func TestClassifierToxicityScorersEndToEnd(t *testing.T) {
	ctx := context.Background()
	fake := &classifierFake{}
	ts := httptest.NewServer(fake)
	defer ts.Close()
	host := strings.TrimPrefix(ts.URL, "http://")
	for _, tt := range []struct {
		name, spec, wantID string
	}{
		{"TEI", "tei:" + ts.URL + "/predict#version=toxic-bert@1", "tei@" + host + "/predict+labels=toxic+toxic-bert@1"},
		{"OpenAI", "openai:" + ts.URL + "/v1/moderations#category=harassment", "openai-moderation@" + host + "/v1/moderations+category=harassment"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, "", "--toxicity-scorer", tt.spec, "--toxicity-timeout", "2s")
			ingest := srv.Client(srv.Key(registry.RoleIngest))
			before, beforeTexts := fake.requests.Load(), fake.texts.Load()
			got, err := ingest.IngestBatch(ctx, []registry.NewSample{human("a kind word"), human("you idiot"), human("a third text")}, "")
			if err != nil {
				t.Fatal(err)
			}
			if n, k := fake.requests.Load()-before, fake.texts.Load()-beforeTexts; n != 1 || k != 3 {
				t.Errorf("%d requests for %d texts, want 1 request for 3", n, k)
			}
			want := []float64{0.1, 0.9, 0.1}
			for i, s := range got {
				if s.Metrics.Toxicity == nil || *s.Metrics.Toxicity != want[i] || s.Metrics.ToxicityScorer != tt.wantID {
					t.Errorf("sample %d: toxicity %v by %q, want %v by %q", i, s.Metrics.Toxicity, s.Metrics.ToxicityScorer, want[i], tt.wantID)
				}
			}

			fake.failing.Store(true)
			defer fake.failing.Store(false)
			_, err = ingest.IngestBatch(ctx, []registry.NewSample{human("one more"), human("and another")}, "")
			if client.StatusOf(err) != 503 || client.CodeOf(err) != registry.EUNAVAILABLE {
				t.Fatalf("scorer down: %v; want 503 unavailable", err)
			}

			nullSrv := startServer(t, "", "--toxicity-scorer", tt.spec, "--toxicity-on-error", "null")
			s := must[*client.IngestedSample](t)(nullSrv.Client(nullSrv.Key(registry.RoleIngest)).CreateSample(ctx, human("scored while the server is down"), ""))
			if s.Metrics.Toxicity != nil || s.Metrics.ToxicityScorer != tt.wantID {
				t.Fatalf("null mode: %+v", s.Metrics)
			}
		})
	}
	t.Run("BadSpec", func(t *testing.T) {
		err := run(ctx, []string{"serve", "--toxicity-scorer", "tei:http://h/predict#batch=0"}, func(string) string { return "" }, strings.NewReader(""), &strings.Builder{}, &strings.Builder{})
		if err == nil || !strings.Contains(err.Error(), "--toxicity-scorer") {
			t.Errorf("bad --toxicity-scorer: %v", err)
		}
	})
}
