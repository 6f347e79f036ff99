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

// TestMixStatsFold folds three samples and checks every figure they give.
func TestMixStatsFold(t *testing.T) {
	f := NewMixStatsFold()
	if s := f.Stats(); s.Human != 0 || s.LatestSample != nil || len(s.Metrics) != 0 {
		t.Fatalf("empty fold: %+v", s)
	}
	for _, r := range []SelectedSample{
		{Model: "", Generation: 0, Dataset: "books", SourceKind: "licensed", SourceName: "press", SourceURI: "https://b.example/",
			License: "CC-BY-4.0", Basis: BasisHuman, Tokens: 10, MTLD: 50, Toxicity: new(0.1), CreatedAt: 1000},
		{Model: "", Generation: 0, Dataset: "books", SourceKind: "licensed", SourceName: "press", SourceURI: "https://a.example/",
			Basis: BasisHuman, Tokens: 30, MTLD: 70, CreatedAt: 3000},
		{Model: "m@1", Generation: 2, SourceKind: "synthetic", Basis: BasisDeclared, Tokens: 20, MTLD: 30, Toxicity: new(0.3), CreatedAt: 2000},
	} {
		f.Add(&r)
	}
	s := f.Stats()
	if s.Human != 2 || s.Synthetic != 1 || s.SyntheticRatio != 1.0/3 || s.ModelShare != 1.0/3 || s.Models["m@1"] != 1 ||
		s.Generations["0"] != 2 || s.Generations["2"] != 1 || s.MaxGeneration != 2 || s.Datasets["books"] != 2 || len(s.Datasets) != 1 ||
		s.Licenses["CC-BY-4.0"] != 1 || len(s.Licenses) != 1 || s.Bases[BasisHuman] != 2 || s.SourceKinds["synthetic"] != 1 ||
		s.UnscoredToxic != 1 || s.Tokens != 60 || s.LatestSample.UnixMilli() != 3000 {
		t.Fatalf("counts: %+v", s)
	}
	if got := s.Sources["licensed"]["press"]; got != (SourceStat{Samples: 2, Tokens: 40, URI: "https://a.example/"}) {
		t.Errorf("licensed press: %+v", got)
	}
	if got := s.Sources["synthetic"][""]; got.Samples != 1 {
		t.Errorf("synthetic: %+v", s.Sources["synthetic"])
	}
	for name, want := range map[string]MetricSummary{
		"tokens":   {Count: 3, Min: 10, Max: 30, Mean: 20},
		"mtld":     {Count: 3, Min: 30, Max: 70, Mean: 50},
		"toxicity": {Count: 2, Min: 0.1, Max: 0.3, Mean: 0.2},
	} {
		if got := s.Metrics[name]; got.Count != want.Count || got.Min != want.Min || got.Max != want.Max || math.Abs(got.Mean-want.Mean) > 1e-12 {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
}
