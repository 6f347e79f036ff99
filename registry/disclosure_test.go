package registry_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pedigreeml/pedigree/registry"
)

func TestDisclosureValidate(t *testing.T) {
	now := time.Date(2025, 8, 1, 12, 0, 0, 0, time.UTC)
	crawler := func(edit func(*registry.Crawler)) *registry.NewDisclosure {
		c := registry.Crawler{Name: "ExampleBot", Purpose: "training", RobotsTxt: "honoured", OtherOptOuts: "TDMRep",
			CollectionStart: "2025-01-01", CollectionEnd: "2025-02-01"}
		edit(&c)
		return &registry.NewDisclosure{Crawlers: &[]registry.Crawler{c}}
	}
	for _, tc := range []struct {
		name  string
		in    *registry.NewDisclosure
		field string // "" when valid
	}{
		{"Empty", &registry.NewDisclosure{}, ""},
		{"Complete", crawler(func(*registry.Crawler) {}), ""},
		{"ProviderWithoutContact", &registry.NewDisclosure{Provider: &registry.Party{Name: "Labs"}}, "provider/contact"},
		{"LongProviderName", &registry.NewDisclosure{Provider: &registry.Party{Name: strings.Repeat("x", 257), Contact: "c"}}, "provider/name"},
		{"BadMarketDate", &registry.NewDisclosure{MarketPlacementDate: "2025-13-01"}, "market_placement_date"},
		{"DateTimeAsDate", &registry.NewDisclosure{MarketPlacementDate: "2025-09-01T00:00:00Z"}, "market_placement_date"},
		{"FutureMarketDate", &registry.NewDisclosure{MarketPlacementDate: "2026-01-01"}, ""},
		{"UnknownRelation", &registry.NewDisclosure{Dependencies: &[]registry.Dependency{{Name: "base", Relation: "inspired_by"}}}, "dependencies/0/relation"},
		{"UnknownModality", &registry.NewDisclosure{Modalities: []registry.ModalityContent{{Modality: "smell"}}}, "modalities/0/modality"},
		{"ModalityTwice", &registry.NewDisclosure{Modalities: []registry.ModalityContent{{Modality: "text"}, {Modality: "text"}}}, "modalities/1/modality"},
		{"EmptyContentType", &registry.NewDisclosure{Modalities: []registry.ModalityContent{{Modality: "text", ContentTypes: []string{" "}}}}, "modalities/0/content_types/0"},
		{"CrawlerWithoutPurpose", crawler(func(c *registry.Crawler) { c.Purpose = "" }), "crawlers/0/purpose"},
		{"CrawlerWithoutRobots", crawler(func(c *registry.Crawler) { c.RobotsTxt = "" }), "crawlers/0/robots_txt"},
		{"CollectionInTheFuture", crawler(func(c *registry.Crawler) { c.CollectionEnd = "2025-08-02" }), "crawlers/0/collection_end"},
		{"CollectionBackwards", crawler(func(c *registry.Crawler) { c.CollectionEnd = "2024-12-31" }), "crawlers/0/collection_end"},
		{"NoCollectionStart", crawler(func(c *registry.Crawler) { c.CollectionStart = "" }), "crawlers/0/collection_start"},
		{"LongNarrative", &registry.NewDisclosure{TDMOptOuts: strings.Repeat("x", 16<<10+1)}, "tdm_opt_outs"},
		{"NulInNarrative", &registry.NewDisclosure{IllegalContent: "a\x00b"}, "illegal_content"},
		{"NoCrawlers", &registry.NewDisclosure{Crawlers: &[]registry.Crawler{}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.in.Validate(now)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if registry.ErrorCode(err) != registry.EINVALID {
				t.Fatalf("Validate: %v; want %s", err, registry.EINVALID)
			}
			e := err.(*registry.Error)
			if e.Fields[0].Field != tc.field {
				t.Errorf("first field %q; want %q (%v)", e.Fields[0].Field, tc.field, err)
			}
		})
	}
}

func TestDisclosureLeafID(t *testing.T) {
	id := "01980000-0000-7000-8000-00000000a004"
	m, v, ok := registry.ParseDisclosureLeafID(registry.DisclosureLeafID(id, 12))
	if !ok || m != id || v != 12 {
		t.Errorf("round trip: %q %d %v", m, v, ok)
	}
	for _, bad := range []string{id, id + "@0", id + "@01", "x@1", id + "@-1"} {
		if _, _, ok := registry.ParseDisclosureLeafID(bad); ok {
			t.Errorf("ParseDisclosureLeafID(%q) accepted", bad)
		}
	}
}
