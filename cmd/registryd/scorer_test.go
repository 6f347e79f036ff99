package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/pedigreeml/pedigree/client"
	"github.com/pedigreeml/pedigree/registry"
)

// perspective is a local Perspective-compatible scorer whose behaviour the test switches.
type perspective struct {
	failing atomic.Bool
	calls   atomic.Int64
}

func (p *perspective) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.calls.Add(1)
	if p.failing.Load() {
		http.Error(w, "overloaded", http.StatusInternalServerError)
		return
	}
	var req struct {
		Comment struct {
			Text string `json:"text"`
		} `json:"comment"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Comment.Text == "" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"attributeScores":{"TOXICITY":{"summaryScore":{"value":0.25,"type":"PROBABILITY"}}}}`))
}

func TestHTTPToxicityScorerEndToEnd(t *testing.T) {
	ctx := context.Background()
	scorer := &perspective{}
	ts := httptest.NewServer(scorer)
	defer ts.Close()
	url := ts.URL + "/v1alpha1/comments:analyze"

	t.Run("FailClosed", func(t *testing.T) {
		srv := startServer(t, "", "--toxicity-scorer", url, "--toxicity-timeout", "2s")
		ingest := srv.Client(srv.Key(registry.RoleIngest))
		s := must[*client.IngestedSample](t)(ingest.CreateSample(ctx, human("scored by the remote service"), ""))
		if s.Metrics.Toxicity == nil || *s.Metrics.Toxicity != 0.25 || s.Metrics.ToxicityScorer == "" || s.Metrics.ToxicityScorer[:12] != "perspective@" {
			t.Fatalf("metrics from the HTTP scorer: %+v", s.Metrics)
		}
		scorer.failing.Store(true)
		defer scorer.failing.Store(false)
		_, err := ingest.IngestBatch(ctx, []registry.NewSample{human("one"), human("two")}, "")
		if client.StatusOf(err) != 503 || client.CodeOf(err) != registry.EUNAVAILABLE {
			t.Fatalf("scorer down: %v; want 503 unavailable", err)
		}
		page := must[*client.SamplePage](t)(srv.Client(srv.Key(registry.RoleAuditor)).ListSamples(ctx, client.SampleQuery{}))
		if len(page.Samples) != 1 {
			t.Fatalf("%d samples after a refused batch, want 1", len(page.Samples))
		}
	})
	t.Run("StoreNull", func(t *testing.T) {
		srv := startServer(t, "", "--toxicity-scorer", url, "--toxicity-on-error", "null")
		scorer.failing.Store(true)
		defer scorer.failing.Store(false)
		s := must[*client.IngestedSample](t)(srv.Client(srv.Key(registry.RoleIngest)).CreateSample(ctx, human("scored while the service is down"), ""))
		if s.Metrics.Toxicity != nil || s.Metrics.ToxicityScorer == "" {
			t.Fatalf("null mode: %+v", s.Metrics)
		}
	})
}
