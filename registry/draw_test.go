package registry

import (
	"math"
	"strings"
	"testing"
)

// TestDrawKeyIsPinned pins the draw key to values PostgreSQL computes from its SQL form
// (registry/postgres: ('x' || left(md5(seed || ':' || id), 16))::bit(64)::bigint), so that no
// rewrite of it changes a recorded manifest.
func TestDrawKeyIsPinned(t *testing.T) {
	for _, c := range []struct {
		seed int64
		id   string
		want int64
	}{
		{42, "01930c2e-6b7a-7c3d-9f00-1a2b3c4d5e6f", -7548132454154997891},
		{-7, "", -8889869709583683910},
		{1, strings.Repeat("x", 200), 816780085256490299},
	} {
		if got := DrawKey(c.seed, c.id); got != c.want {
			t.Errorf("DrawKey(%d, %q) = %d, want %d", c.seed, c.id, got, c.want)
		}
	}
}

// TestSourceName pins how a mix's statistics name a source: a crawled sample by its URI's host,
// lower-cased, without user, port, path, query or fragment (an IPv6 host in its brackets), and
// anything else by its source's name, else its dataset.
func TestSourceName(t *testing.T) {
	for _, c := range []struct{ kind, name, uri, dataset, want string }{
		{"web_crawl", "", "https://Example.COM/a", "web", "example.com"},
		{"web_crawl", "", "http://user:pw@example.com:8080/b?q=1", "web", "example.com"},
		{"web_crawl", "", "https://[2001:DB8::1]:443/c", "web", "[2001:db8::1]"},
		{"web_crawl", "", "https://news.example.org#top", "web", "news.example.org"},
		{"web_crawl", "crawler", "not a uri", "web", "crawler"},
		{"web_crawl", "", "", "web", "web"},
		{"web_crawl", "", "mailto:someone@example.com", "web", "web"},
		{"licensed", "press", "https://example.com/", "books", "press"},
		{"licensed", "", "https://example.com/", "books", "books"},
	} {
		if got := SourceName(c.kind, c.name, c.uri, c.dataset); got != c.want {
			t.Errorf("SourceName(%q, %q, %q, %q) = %q, want %q", c.kind, c.name, c.uri, c.dataset, got, c.want)
		}
	}
}

// TestMixStatsOf folds two groups and checks every figure they give.
func TestMixStatsOf(t *testing.T) {
	if s := MixStatsOf(nil); s.Human != 0 || s.LatestSample != nil || len(s.Metrics) != 0 {
		t.Fatalf("no groups: %+v", s)
	}
	s := MixStatsOf([]StatsGroup{
		{Dataset: "books", SourceKind: "licensed", Source: "press", License: "CC-BY-4.0", Basis: BasisHuman, URI: "https://b.example/",
			Samples: 2, Tokens: 40, MinTokens: 10, MaxTokens: 30, MTLD: 120, MinMTLD: 50, MaxMTLD: 70, Scored: 1, Tox: 0.1, MinTox: 0.1, MaxTox: 0.1, Latest: 3000},
		{Dataset: "books", SourceKind: "licensed", Source: "press", Basis: BasisHuman, URI: "https://a.example/",
			Samples: 1, Tokens: 5, MinTokens: 5, MaxTokens: 5, MTLD: 10, MinMTLD: 10, MaxMTLD: 10, Latest: 1000},
		{Model: "m@1", Generation: 2, SourceKind: "synthetic", Basis: BasisDeclared,
			Samples: 1, Tokens: 15, MinTokens: 15, MaxTokens: 15, MTLD: 30, MinMTLD: 30, MaxMTLD: 30, Scored: 1, Tox: 0.3, MinTox: 0.3, MaxTox: 0.3, Latest: 2000},
	})
	if s.Human != 3 || s.Synthetic != 1 || s.SyntheticRatio != 0.25 || s.ModelShare != 0.25 || s.Models["m@1"] != 1 ||
		s.Generations["0"] != 3 || s.Generations["2"] != 1 || s.MaxGeneration != 2 || s.Datasets["books"] != 3 || len(s.Datasets) != 1 ||
		s.Licenses["CC-BY-4.0"] != 2 || len(s.Licenses) != 1 || s.Bases[BasisHuman] != 3 || s.SourceKinds["synthetic"] != 1 ||
		s.UnscoredToxic != 2 || s.Tokens != 60 || s.LatestSample.UnixMilli() != 3000 {
		t.Fatalf("counts: %+v", s)
	}
	if got := s.Sources["licensed"]["press"]; got != (SourceStat{Samples: 3, Tokens: 45, URI: "https://a.example/"}) {
		t.Errorf("licensed press: %+v", got)
	}
	if got := s.Sources["synthetic"][""]; got.Samples != 1 {
		t.Errorf("synthetic: %+v", s.Sources["synthetic"])
	}
	for name, want := range map[string]MetricSummary{
		"tokens":   {Count: 4, Min: 5, Max: 30, Mean: 15},
		"mtld":     {Count: 4, Min: 10, Max: 70, Mean: 40},
		"toxicity": {Count: 2, Min: 0.1, Max: 0.3, Mean: 0.2},
	} {
		if got := s.Metrics[name]; got.Count != want.Count || got.Min != want.Min || got.Max != want.Max || math.Abs(got.Mean-want.Mean) > 1e-12 {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
}
