package export_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pedigreeml/pedigree/mixer/export"
	"github.com/pedigreeml/pedigree/registry"
	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const (
	fixtureMix      = "01980000-0000-7000-8000-00000000e002"
	fixtureDecision = "01980000-0000-7000-8000-00000000d002"
	fixtureEarlier  = "01980000-0000-7000-8000-00000000e001"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// description is a mix of 130 samples: 80 human (a public dataset with a URI, two crawled domains,
// a licensed collection under MIT, 10 with no licence) and 50 from two teachers, one trained on an
// earlier mix; names with Markdown and YAML syntax in them.
func description() *export.Description {
	policy := &registry.PolicyVersion{Name: "default", Version: 3, SHA256: strings.Repeat("5d", 32),
		Limits: json.RawMessage(`{"max_synthetic_ratio": 0.5, "max_generation": 2}`)}
	m := &registry.Mix{
		ID: fixtureMix, Policy: policy.Ref(), DecisionID: fixtureDecision, Size: 130, Seed: 42,
		Strategy: registry.MixStrategy{Name: registry.StrategyBestOfK, Objective: "mtld", Source: registry.SourceMulti},
		Request:  registry.MixRequest{Policy: "default", Size: 200, Seed: 42},
		Stats: registry.MixStats{
			Human: 80, Synthetic: 50, SyntheticRatio: 50.0 / 130, MaxGeneration: 2,
			Generations: map[string]int{"0": 80, "1": 30, "2": 20, "10": 0},
			Models:      map[string]int{"teacher-a@1": 30, "teacher-b@2": 20},
			Metrics: map[string]registry.MetricSummary{
				"tokens":   {Count: 130, Min: 12, Max: 900, Mean: 188.6},
				"mtld":     {Count: 130, Min: 8.5, Max: 120.25, Mean: 61.75},
				"toxicity": {Count: 128, Min: 0, Max: 0.4375, Mean: 0.0625},
			},
			Datasets:    map[string]int{"wiki-sample": 40, "crawl|2025": 30, "press_archive *old*": 10, "distilled-qa": 50},
			SourceKinds: map[string]int{"public_dataset": 40, "web_crawl": 30, "licensed": 10, "synthetic": 50},
			Licenses:    map[string]int{"CC-BY-SA-4.0": 40, "MIT": 10, "LicenseRef-Press": 20},
			Pool:        412,
			Sources: map[string]map[string]registry.SourceStat{
				"public_dataset": {"wiki-sample": {Samples: 40, URI: "https://example.org/datasets/wiki-sample"}},
				"web_crawl":      {"news.example.com": {Samples: 20}, "blog.example.net": {Samples: 10}},
				"licensed":       {"press-archive": {Samples: 10}},
				"synthetic":      {"distilled-qa": {Samples: 50}},
			},
		},
		ManifestSHA256: strings.Repeat("9f", 32), CreatedAt: at("2025-07-02T09:15:00Z"), LogIndex: 38,
	}
	zero := 0
	return &export.Description{
		Mix:      m,
		Decision: &registry.Decision{ID: fixtureDecision, Policy: policy.Ref(), Allowed: true, MixID: fixtureMix, EvaluatedAt: at("2025-07-02T09:15:00Z")},
		Policy:   policy,
		Models: []*registry.Model{
			{Name: "teacher-a", Version: "1", DeclaredGeneration: &zero, Generation: 0, GenerationBasis: registry.BasisDeclared, TrainedOn: []string{}},
			{Name: "teacher-b", Version: "2", Provider: "Example Labs", Generation: 1, GenerationBasis: registry.BasisMixes, TrainedOn: []string{fixtureEarlier}},
		},
		BaseURL: "https://registry.example",
		Files: map[string]export.Digest{
			export.FormatJSONL:   {SHA256: strings.Repeat("ab", 32), Size: 123456},
			export.FormatParquet: {SHA256: strings.Repeat("cd", 32), Size: 65432},
		},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from the golden file (go test -update rewrites it):\n%s", name, got)
	}
}

// frontMatter returns the card's YAML front matter, parsed by a YAML parser.
func frontMatter(t *testing.T, card []byte) map[string]any {
	t.Helper()
	rest, ok := bytes.CutPrefix(card, []byte("---\n"))
	if !ok {
		t.Fatal("the card does not start with YAML front matter")
	}
	yml, _, ok := bytes.Cut(rest, []byte("\n---\n"))
	if !ok {
		t.Fatal("the front matter is not closed")
	}
	var meta map[string]any
	if err := yaml.Unmarshal(yml, &meta); err != nil {
		t.Fatalf("front matter: %v\n%s", err, yml)
	}
	return meta
}

func list(v any) []string {
	var out []string
	for _, e := range v.([]any) {
		out = append(out, e.(string))
	}
	return out
}

func TestCard(t *testing.T) {
	card, err := export.Card(description())
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "card.md", card)
	meta := frontMatter(t, card)
	for key, want := range map[string][]string{
		"license":              {"cc-by-sa-4.0", "mit", "other", "unknown"},
		"size_categories":      {"n<1K"},
		"source_datasets":      {"extended|crawl|2025", "extended|distilled-qa", "extended|press_archive *old*", "extended|wiki-sample"},
		"annotations_creators": {"machine-generated"},
		"language_creators":    {"found", "machine-generated", "other"},
		"tags":                 {"pedigree", "provenance", "synthetic"},
	} {
		if got := list(meta[key]); !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", key, got, want)
		}
	}
	if meta["license_name"] != "LicenseRef-Press" || meta["pretty_name"] != "Pedigree mix "+fixtureMix {
		t.Errorf("license_name %v, pretty_name %v", meta["license_name"], meta["pretty_name"])
	}
	if _, ok := meta["language"]; ok {
		t.Error("the card states a language the registry does not record")
	}
	for _, want := range []string{strings.Repeat("9f", 32), "registryd verify --server https://registry.example", "--mix " + fixtureMix,
		"`default@3`", "| teacher-b@2 | 20 | 1 | mixes |", "press\\_archive \\*old\\*", "crawl\\|2025"} {
		if !bytes.Contains(card, []byte(want)) {
			t.Errorf("the card lacks %q", want)
		}
	}

	t.Run("HumanOnly", func(t *testing.T) {
		d := description()
		d.Mix.Stats = registry.MixStats{Human: 130, Generations: map[string]int{"0": 130}, Licenses: map[string]int{"CC0-1.0": 130},
			SourceKinds: map[string]int{"user_data": 130}}
		d.Models = nil
		card, err := export.Card(d)
		if err != nil {
			t.Fatal(err)
		}
		meta := frontMatter(t, card)
		if got := list(meta["license"]); !slices.Equal(got, []string{"cc0-1.0"}) {
			t.Errorf("license %v", got)
		}
		if got := list(meta["language_creators"]); !slices.Equal(got, []string{"crowdsourced"}) {
			t.Errorf("language_creators %v", got)
		}
		if got := list(meta["tags"]); slices.Contains(got, "synthetic") {
			t.Errorf("a human-only mix is tagged %v", got)
		}
		if got := list(meta["source_datasets"]); !slices.Equal(got, []string{"original"}) {
			t.Errorf("source_datasets %v", got)
		}
		if _, ok := meta["license_name"]; ok {
			t.Error("license_name without an unknown licence")
		}
	})
	t.Run("MissingModel", func(t *testing.T) {
		d := description()
		d.Models = d.Models[:1]
		if _, err := export.Card(d); err == nil {
			t.Fatal("a card without teacher-b@2's record")
		}
	})
}

func TestSizeCategory(t *testing.T) {
	for n, want := range map[int]string{0: "n<1K", 999: "n<1K", 1000: "1K<n<10K", 9999: "1K<n<10K", 10_000: "10K<n<100K",
		500_000: "100K<n<1M", 1_000_000: "1M<n<10M", 10_000_000: "10M<n<100M"} {
		if got := export.SizeCategory(n); got != want {
			t.Errorf("SizeCategory(%d) = %s, want %s", n, got, want)
		}
	}
}

func TestHubLicense(t *testing.T) {
	for spdx, want := range map[string]string{"MIT": "mit", "Apache-2.0": "apache-2.0", "CC-BY-4.0": "cc-by-4.0", "CC0-1.0": "cc0-1.0",
		"GPL-3.0-only": "gpl-3.0", "LGPL-2.1-or-later": "lgpl-2.1", "ODC-By-1.0": "odc-by", "ODbL-1.0": "odbl",
		"MIT OR Apache-2.0": "other", "LicenseRef-x": "other", "CC-BY-4.0-x": "other"} {
		if got := export.HubLicense(spdx); got != want {
			t.Errorf("HubLicense(%q) = %s, want %s", spdx, got, want)
		}
	}
}

func TestCroissant(t *testing.T) {
	d := description()
	doc, err := export.Croissant(d)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "croissant.jsonld", doc)
	if err := export.CheckCroissant(doc); err != nil {
		t.Fatalf("the description fails the check:\n%v", err)
	}
	var got struct {
		Distribution []struct {
			ID     string `json:"@id"`
			URL    string `json:"contentUrl"`
			SHA256 string `json:"sha256"`
		} `json:"distribution"`
		RecordSet []struct {
			Field []struct {
				Name string `json:"name"`
			} `json:"field"`
		} `json:"recordSet"`
		DerivedFrom  []map[string]any `json:"prov:wasDerivedFrom"`
		GeneratedBy  []map[string]any `json:"prov:wasGeneratedBy"`
		License      []any            `json:"license"`
		CollectTypes []string         `json:"rai:dataCollectionType"`
	}
	if err := json.Unmarshal(doc, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Distribution) != 2 || got.Distribution[0].URL != d.ExportURL("jsonl") || got.Distribution[0].SHA256 != d.Files["jsonl"].SHA256 ||
		got.Distribution[1].SHA256 != d.Files["parquet"].SHA256 {
		t.Errorf("distribution %+v", got.Distribution)
	}
	var names []string
	for _, f := range got.RecordSet[0].Field {
		names = append(names, f.Name)
	}
	if !slices.Equal(names, export.ColumnNames()) {
		t.Errorf("record set fields %v, want the jsonl columns %v", names, export.ColumnNames())
	}
	// Four datasets and four non-synthetic sources; two models and the mix's selection.
	if len(got.DerivedFrom) != 8 || len(got.GeneratedBy) != 3 {
		t.Errorf("%d derivedFrom, %d generatedBy", len(got.DerivedFrom), len(got.GeneratedBy))
	}
	if !slices.Equal(got.CollectTypes, []string{"Others", "Secondary Data analysis", "Web Scraping"}) {
		t.Errorf("rai:dataCollectionType %v", got.CollectTypes)
	}
	if len(got.License) != 4 || got.License[0] != "https://spdx.org/licenses/CC-BY-SA-4.0.html" {
		t.Errorf("license %v", got.License)
	}

	t.Run("NeedsChecksums", func(t *testing.T) {
		d := description()
		delete(d.Files, export.FormatParquet)
		if _, err := export.Croissant(d); err == nil {
			t.Fatal("a description without the parquet checksum")
		}
	})
}

// TestCheckCroissantFindsWhatIsMissing removes or breaks each required piece of a valid
// description in turn: the check must name it.
func TestCheckCroissantFindsWhatIsMissing(t *testing.T) {
	doc, err := export.Croissant(description())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(d map[string]any)
		want string
	}{
		{"NoContext", func(d map[string]any) { delete(d, "@context") }, "@context"},
		{"NoRAIPrefix", func(d map[string]any) { delete(d["@context"].(map[string]any), "rai") }, "prefix rai:"},
		{"NotADataset", func(d map[string]any) { d["@type"] = "sc:Thing" }, "@type"},
		{"OldVersion", func(d map[string]any) { d["conformsTo"] = "http://mlcommons.org/croissant/1.0" }, "conformsTo"},
		{"NoName", func(d map[string]any) { delete(d, "name") }, "name"},
		{"NoDescription", func(d map[string]any) { d["description"] = " " }, "description"},
		{"NoLicense", func(d map[string]any) { d["license"] = []any{} }, "license"},
		{"NoURL", func(d map[string]any) { delete(d, "url") }, "url"},
		{"NoCreator", func(d map[string]any) { delete(d, "creator") }, "creator"},
		{"NoDate", func(d map[string]any) { d["datePublished"] = "July" }, "datePublished"},
		{"NoDistribution", func(d map[string]any) { delete(d, "distribution") }, "distribution"},
		{"NoChecksum", func(d map[string]any) { delete(file(d, 0), "sha256") }, "neither sha256 nor md5"},
		{"BadChecksum", func(d map[string]any) { file(d, 1)["sha256"] = "abc" }, "sha256"},
		{"NoEncoding", func(d map[string]any) { delete(file(d, 0), "encodingFormat") }, "encodingFormat"},
		{"NoRecordSet", func(d map[string]any) { delete(d, "recordSet") }, "recordSet"},
		{"FieldWithoutType", func(d map[string]any) { delete(field(d, 0), "dataType") }, "dataType"},
		{"FieldFromNowhere", func(d map[string]any) {
			field(d, 0)["source"] = map[string]any{"fileObject": map[string]any{"@id": "elsewhere"}, "extract": map[string]any{"column": "id"}}
		}, "not in the distribution"},
		{"FieldOutsideItsSet", func(d map[string]any) { field(d, 1)["@id"] = "other/origin" }, "does not start with"},
		{"GuessedRAITerm", func(d map[string]any) { d["rai:hasSyntheticData"] = true }, "not a term of the Croissant RAI vocabulary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d map[string]any
			if err := json.Unmarshal(doc, &d); err != nil {
				t.Fatal(err)
			}
			tc.edit(d)
			b, _ := json.Marshal(d)
			err := export.CheckCroissant(b)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error naming %q", err, tc.want)
			}
		})
	}
}

func file(d map[string]any, i int) map[string]any {
	return d["distribution"].([]any)[i].(map[string]any)
}

func field(d map[string]any, i int) map[string]any {
	return d["recordSet"].([]any)[0].(map[string]any)["field"].([]any)[i].(map[string]any)
}
