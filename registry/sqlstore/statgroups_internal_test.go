package sqlstore

import (
	"testing"

	"github.com/pedigreeml/pedigree/registry"
)

// TestStatGroupOf checks what a sample's statistics group holds: the source named as the statistics
// name it, and the URI for every kind but web_crawl (whose sources are hosts); and that the group's
// key tells apart fields that concatenate alike.
func TestStatGroupOf(t *testing.T) {
	crawl := &registry.Sample{Dataset: "web", Generation: 0, GenerationBasis: registry.BasisHuman,
		Source: registry.Source{Kind: "web_crawl", Name: "crawl", URI: "https://News.Example.com:8443/a?b", License: "CC-BY-4.0"}}
	if g := statGroupOf(crawl); g.source != "news.example.com" || g.uri != "" || g.dataset != "web" || g.license != "CC-BY-4.0" {
		t.Fatalf("a crawled sample's group: %+v", g)
	}
	lic := &registry.Sample{Model: "m@1", Generation: 2, Dataset: "books", GenerationBasis: registry.BasisDeclared,
		Source: registry.Source{Kind: "licensed", URI: "https://press.example/catalogue"}}
	if g := statGroupOf(lic); g.source != "books" || g.uri != "https://press.example/catalogue" || g.model != "m@1" || g.generation != 2 {
		t.Fatalf("a licensed sample's group: %+v", g)
	}
	base := statGroupOf(lic)
	keys := map[[32]byte]string{base.key(): "base"}
	for name, g := range map[string]statGroup{
		"model":      {model: "m@2", generation: 2, dataset: "books", kind: "licensed", source: "books", basis: "declared", uri: base.uri},
		"generation": {model: "m@1", generation: 3, dataset: "books", kind: "licensed", source: "books", basis: "declared", uri: base.uri},
		"shifted":    {model: "m@1", generation: 2, dataset: "book", kind: "slicensed", source: "books", basis: "declared", uri: base.uri},
		"license":    {model: "m@1", generation: 2, dataset: "books", kind: "licensed", source: "books", license: "MIT", basis: "declared", uri: base.uri},
		"uri":        {model: "m@1", generation: 2, dataset: "books", kind: "licensed", source: "books", basis: "declared"},
	} {
		if other, ok := keys[g.key()]; ok {
			t.Fatalf("groups %s and %s share a key", name, other)
		}
		keys[g.key()] = name
	}
	if base.key() != statGroupOf(lic).key() {
		t.Fatal("a group's key changes between calls")
	}
}
