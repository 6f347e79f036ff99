package report_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/report"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// rendered is one report in all three formats.
type rendered struct {
	report         *report.Report
	json, md, html string
}

func render(tb testing.TB, s report.Subject) rendered {
	tb.Helper()
	r, err := report.Build(s)
	if err != nil {
		tb.Fatalf("Build: %v", err)
	}
	j, err := r.JSON()
	if err != nil {
		tb.Fatalf("JSON: %v", err)
	}
	return rendered{report: r, json: string(j), md: string(r.Markdown()), html: string(r.HTML())}
}

// formats returns the renderings by name, for assertions that must hold in each.
func (r rendered) formats() map[string]string {
	return map[string]string{"json": r.json, "markdown": r.md, "html": r.html}
}

func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		name    string
		subject report.Subject
	}{
		{"model", modelSubject()},
		{"mix", mixSubject()},
		{"disclosed", disclosedSubject()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := render(t, tc.subject)
			for ext, got := range map[string]string{"json": r.json, "md": r.md, "html": r.html} {
				path := filepath.Join("testdata", tc.name+"."+ext)
				if *update {
					if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test ./report -update to create it)", err)
				}
				if got != string(want) {
					t.Errorf("%s differs from the golden file; run go test ./report -update and review the diff\n%s",
						path, firstDifference(string(want), got))
				}
			}
		})
	}
}

func firstDifference(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\nwant %q\ngot  %q", i+1, wl, gl)
		}
	}
	return ""
}

// TestJSONRoundTrip checks that the JSON is the Report, field for field.
func TestJSONRoundTrip(t *testing.T) {
	r := render(t, modelSubject())
	var back report.Report
	if err := json.Unmarshal([]byte(r.json), &back); err != nil {
		t.Fatal(err)
	}
	again, err := back.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != r.json {
		t.Errorf("JSON does not round-trip:\n%s", firstDifference(r.json, string(again)))
	}
}

func TestSourceCategories(t *testing.T) {
	r := render(t, modelSubject())
	s := r.report.Sources
	if got := s.PublicDatasets.Sources; len(got) != 1 || got[0].Name != "wiki-sample" ||
		got[0].URI != "https://example.org/datasets/wiki-sample" || got[0].Tokens != 8012 {
		t.Errorf("public datasets = %+v", got)
	}
	if got := s.Crawled.TopDomains; len(got) != 2 || got[0].Name != "news.example.com" || got[1].Name != "blog.example.net" ||
		s.Crawled.Selection != "all" {
		t.Errorf("crawled = %+v", s.Crawled)
	}
	if got := s.Licensed.Sources; len(got) != 1 || got[0].Name != "press-archive" || got[0].Samples != 10 {
		t.Errorf("licensed = %+v", got)
	}
	if want := []report.Count{{Name: "CC-BY-SA-4.0", Samples: 40}, {Name: "MIT", Samples: 10}}; !slices.Equal(s.Licenses.Licenses, want) ||
		s.Licenses.Unrecorded != 80 {
		t.Errorf("licences = %+v", s.Licenses)
	}
	if s.Private.Samples != 0 || s.UserData.Samples != 0 || s.Other.Samples != 0 {
		t.Errorf("empty categories have samples: %+v %+v %+v", s.Private, s.UserData, s.Other)
	}

	present := map[string][]string{ // heading → names that must follow it
		"2.1 Publicly available datasets":                          {"wiki-sample", "https://example.org/datasets/wiki-sample", "8,012"},
		"2.2.1 Datasets commercially licensed by rightsholders":    {"press-archive", "3,001"},
		"Licences recorded on the samples":                         {"CC-BY-SA-4.0", "MIT"},
		"2.3 Data crawled and scraped from online sources":         {"news.example.com", "blog.example.net", "6,004", "all 2 domains"},
		"2.5 Synthetic AI-generated data":                          {"distilled-qa", "teacher-a@1", "teacher-b@2"},
		"2.2.2 Private datasets obtained from other third parties": {"None recorded", "listed under 2.6"},
		"2.4 User data":             {"None: the training data holds no samples of source kind", "user_data"},
		"2.6 Other sources of data": {"None: the training data holds no samples of source kind", "other"},
		"3.1 Respect of reservation of rights from text and data mining":  {"Not recorded", "robots.txt"},
		"1.3 Modalities, overall training data size and other":            {"text", report.BinUnder1B, "24,517", "130"},
		"3.2 Removal of illegal content":                                  {"max_toxicity", "128", "unscored"},
		"3.3 Other information":                                           {"Duplicates", "best_of_k", "mtld", "multi", "seed 42", "size 200", "min size 100", "synthetic ratio asked 40.0%"},
		"4. Evidence":                                                     {logOrigin, manifestSHA, "registryd verify"},
		"2.2 Private non-publicly available datasets obtained from third": {},
	}
	for _, f := range []struct{ name, text string }{{"markdown", r.md}, {"html", r.html}} {
		for heading, names := range present {
			i := strings.Index(f.text, heading)
			if i < 0 {
				t.Errorf("%s: no heading %q", f.name, heading)
				continue
			}
			section := nextSection(f.text[i+len(heading):])
			for _, n := range names {
				if !strings.Contains(section, n) {
					t.Errorf("%s: section %q does not name %q", f.name, heading, n)
				}
			}
		}
	}
}

// numberedHeading matches a Markdown or HTML heading that starts with a section number.
var numberedHeading = regexp.MustCompile(`\n(#+ |<h\d>)\d`)

// nextSection returns text up to the next numbered heading.
func nextSection(text string) string {
	if loc := numberedHeading.FindStringIndex(text); loc != nil {
		return text[:loc[0]]
	}
	return text
}

func TestGenerators(t *testing.T) {
	r := render(t, modelSubject())
	var back report.Report
	if err := json.Unmarshal([]byte(r.json), &back); err != nil {
		t.Fatal(err)
	}
	gens := back.Sources.Synthetic.Generators
	if len(gens) != 2 {
		t.Fatalf("generators = %+v", gens)
	}
	a, b := gens[0], gens[1]
	if a.Model != "teacher-a@1" || a.Samples != 30 || a.Generation != 0 || a.GenerationBasis != "declared" ||
		a.TrainingDataKnown || len(a.TrainedOn) != 0 || !strings.Contains(a.BasisMeaning, "declaration") {
		t.Errorf("teacher-a = %+v", a)
	}
	if b.Model != "teacher-b@2" || b.Samples != 20 || b.Generation != 1 || b.GenerationBasis != "mixes" ||
		!b.TrainingDataKnown || !slices.Equal(b.TrainedOn, []string{earlierMixID}) {
		t.Errorf("teacher-b = %+v", b)
	}
	if back.Sources.Synthetic.ModelGeneratedSamples != 50 {
		t.Errorf("model-generated samples = %d", back.Sources.Synthetic.ModelGeneratedSamples)
	}

	rows := map[string][]string{
		"markdown": {
			"| teacher-a@1 | 30 | 0 | declared | no |",
			"| teacher-b@2 | 20 | 1 | mixes | yes: mixes `" + earlierMixID + "` |",
			"teacher-a@1 (provider: not recorded): generation 0, basis declared: the generation rests on a registrant",
			"teacher-b@2 (provider: Example Labs): generation 1, basis mixes: the generation is derived from the registry mixes",
		},
		"html": {
			`<tr><td>teacher-a@1</td><td class="n">30</td><td class="n">0</td><td>declared</td><td>no</td></tr>`,
			`<tr><td>teacher-b@2</td><td class="n">20</td><td class="n">1</td><td>mixes</td><td>yes: mixes <code>` + earlierMixID + `</code></td></tr>`,
			"<li>teacher-a@1 (provider: not recorded): generation 0, basis declared: the generation rests on a registrant",
			"<li>teacher-b@2 (provider: Example Labs): generation 1, basis mixes: the generation is derived from the registry mixes",
		},
	}
	for name, text := range map[string]string{"markdown": r.md, "html": r.html} {
		for _, row := range rows[name] {
			if !strings.Contains(text, row) {
				t.Errorf("%s lacks %q", name, row)
			}
		}
	}
}

// TestFactsAgree checks that a handful of facts, read from the Report, are stated in every format.
func TestFactsAgree(t *testing.T) {
	r := render(t, modelSubject())
	text := r.report.General.Modalities[0]
	if text.Tokens != 24517 || text.Samples != 130 {
		t.Fatalf("text modality = %+v", text)
	}
	mp := r.report.Processing.Mixes[0]
	if mp.Policy.Ref != "default@1" {
		t.Fatalf("policy ref = %q", mp.Policy.Ref)
	}
	gens := r.report.Sources.Synthetic.Generators
	facts := []struct {
		name       string
		json, text []string // what the JSON says, and what Markdown and HTML both say
	}{
		{"token total", []string{`"tokens": 24517`}, []string{"24,517"}},
		{"sample total", []string{`"samples": 130`}, []string{"| 130 |", `<td class="n">130</td>`}},
		{"size bin", []string{`"size_bin": "` + text.SizeBin + `"`}, []string{text.SizeBin}},
		{"policy ref", []string{`"ref": "default@1"`}, []string{"Policy: default@1, sha256"}},
		{"policy hash", []string{`"sha256": "` + policySHA + `"`}, []string{policySHA}},
		{"manifest hash", []string{`"manifest_sha256": "` + manifestSHA + `"`}, []string{manifestSHA}},
		{"synthetic share", []string{`"synthetic_ratio": 0.38461538461538464`}, []string{"synthetic share 38.5%"}},
		{"checkpoint size", []string{`"size": 41`}, []string{"size 41,"}},
	}
	for _, g := range gens {
		facts = append(facts, struct {
			name       string
			json, text []string
		}{"generation of " + g.Model,
			[]string{fmt.Sprintf(`"model": %q`, g.Model), fmt.Sprintf(`"generation": %d`, g.Generation)},
			[]string{fmt.Sprintf("%s (provider: %s): generation %d, basis %s", g.Model, g.Provider, g.Generation, g.GenerationBasis)}})
	}
	for _, f := range facts {
		for _, s := range f.json {
			if !strings.Contains(r.json, s) {
				t.Errorf("%s: JSON lacks %q", f.name, s)
			}
		}
		for name, out := range map[string]string{"markdown": r.md, "html": r.html} {
			found := false
			for _, s := range f.text {
				found = found || strings.Contains(out, s)
			}
			if !found {
				t.Errorf("%s: %s lacks any of %q", f.name, name, f.text)
			}
		}
	}
}

func TestPolicyInAllFormats(t *testing.T) {
	for _, s := range []report.Subject{modelSubject(), mixSubject()} {
		r := render(t, s)
		for name, out := range r.formats() {
			if !strings.Contains(out, "default@1") {
				t.Errorf("%s report, %s: no policy default@1", r.report.Subject.Kind, name)
			}
		}
	}
}

func TestEscaping(t *testing.T) {
	const evil = `<script>alert("x")</script> | *bold* [link](javascript:alert(1))`
	s := modelSubject()
	st := &s.Mixes[0].Stats
	st.Sources["public_dataset"] = map[string]registry.SourceStat{evil: {Samples: 40, Tokens: 8012, URI: "javascript:alert(1)"}}
	r := render(t, s)

	if strings.Contains(r.html, "<script") {
		t.Error("HTML contains a script tag")
	}
	if !strings.Contains(r.html, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
		t.Error("HTML does not show the escaped dataset name")
	}
	if strings.Contains(r.html, `href="javascript:`) {
		t.Error("HTML links to a javascript: URI")
	}
	if !strings.Contains(r.md, `\<script\>alert("x")\</script\> \| \*bold\* \[link\](javascript:alert(1))`) {
		t.Errorf("Markdown does not escape the dataset name:\n%s", r.md)
	}
	var back report.Report
	if err := json.Unmarshal([]byte(r.json), &back); err != nil {
		t.Fatal(err)
	}
	if got := back.Sources.PublicDatasets.Sources[0].Name; got != evil {
		t.Errorf("JSON name = %q", got)
	}
}

// TestToxicityLimits checks that section 3.2 says whether the policy's limits bound toxicity.
func TestToxicityLimits(t *testing.T) {
	s := modelSubject()
	s.Policies[0].Limits = json.RawMessage(`{"max_generation": 2}`)
	r := render(t, s)
	if got := r.report.Processing.Mixes[0].Toxicity.PolicyLimits; len(got) != 0 {
		t.Errorf("toxicity limits = %v", got)
	}
	for name, out := range map[string]string{"markdown": r.md, "html": r.html} {
		section := nextSection(out[strings.Index(out, "3.2 Removal of illegal content"):][10:])
		if !strings.Contains(section, "whose limits name no toxicity bound") || strings.Contains(section, "max_toxicity") {
			t.Errorf("%s section 3.2:\n%s", name, section)
		}
	}
}

func TestTextSizeBin(t *testing.T) {
	for _, tc := range []struct {
		tokens int64
		want   string
	}{
		{0, report.BinUnder1B},
		{999_999_999, report.BinUnder1B},
		{1_000_000_000, report.Bin1BTo10T},
		{10_000_000_000_000, report.Bin1BTo10T},
		{10_000_000_000_001, report.BinOver10T},
	} {
		t.Run(fmt.Sprint(tc.tokens), func(t *testing.T) {
			if got := report.TextSizeBin(tc.tokens); got != tc.want {
				t.Errorf("TextSizeBin(%d) = %q, want %q", tc.tokens, got, tc.want)
			}
			s := modelSubject()
			s.Mixes[0].Stats.Tokens = tc.tokens
			r := render(t, s)
			if got := r.report.General.Modalities[0].SizeBin; got != tc.want {
				t.Errorf("report bin = %q, want %q", got, tc.want)
			}
			for name, out := range r.formats() {
				if !strings.Contains(out, tc.want) {
					t.Errorf("%s does not state the bin %q", name, tc.want)
				}
			}
		})
	}
}

func TestCrawledDomains(t *testing.T) {
	for _, tc := range []struct {
		domains, listed int
		selection       string
	}{
		{2, 2, "all"},
		{10, 10, "all"},
		{11, 10, "top_10"},
		{25, 10, "top_10"},
		{100, 10, "top_10_percent"},
		{101, 11, "top_10_percent"},
		{150, 15, "top_10_percent"},
	} {
		t.Run(fmt.Sprint(tc.domains), func(t *testing.T) {
			s := modelSubject()
			crawl := map[string]registry.SourceStat{}
			for i := range tc.domains {
				crawl[fmt.Sprintf("d%03d.example", i)] = registry.SourceStat{Samples: 1, Tokens: int64(1000 + i)}
			}
			s.Mixes[0].Stats.Sources["web_crawl"] = crawl
			r := render(t, s)
			c := r.report.Sources.Crawled
			if c.Domains != tc.domains || len(c.TopDomains) != tc.listed || c.Selection != tc.selection {
				t.Fatalf("domains %d, listed %d, selection %q; want %d, %d, %q",
					c.Domains, len(c.TopDomains), c.Selection, tc.domains, tc.listed, tc.selection)
			}
			// The largest by tokens come first, and the smallest listed outranks every one left out.
			if want := fmt.Sprintf("d%03d.example", tc.domains-1); c.TopDomains[0].Name != want {
				t.Errorf("first domain %q, want %q", c.TopDomains[0].Name, want)
			}
			if last := c.TopDomains[len(c.TopDomains)-1].Tokens; last != int64(1000+tc.domains-tc.listed) {
				t.Errorf("last listed domain has %d tokens", last)
			}
			for name, out := range map[string]string{"markdown": r.md, "html": r.html} {
				if !strings.Contains(out, c.SelectionNote) {
					t.Errorf("%s does not say which domains are listed (%q)", name, c.SelectionNote)
				}
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		code   string
		change func(*report.Subject)
	}{
		{"NoMixes", registry.EUNPROCESSABLE, func(s *report.Subject) { s.Mixes = nil; s.Model.TrainedOn = nil }},
		{"NoMixesForMix", registry.EUNPROCESSABLE, func(s *report.Subject) { s.Mixes = nil; s.Model = nil }},
		{"NilMix", registry.EINTERNAL, func(s *report.Subject) { s.Mixes = append(s.Mixes, nil) }},
		{"MixTwice", registry.EINTERNAL, func(s *report.Subject) { s.Mixes = append(s.Mixes, studentMix()) }},
		{"PolicyMissing", registry.EINTERNAL, func(s *report.Subject) { s.Policies = nil }},
		{"PolicyOtherVersion", registry.EINTERNAL, func(s *report.Subject) { s.Policies[0].Version = 2 }},
		{"PolicyHashDiffers", registry.EINTERNAL, func(s *report.Subject) { s.Policies[0].SHA256 = earlierSHA }},
		{"PolicyLimitsNotJSON", registry.EINTERNAL, func(s *report.Subject) { s.Policies[0].Limits = json.RawMessage(`{"max_generation":`) }},
		{"DecisionMissing", registry.EINTERNAL, func(s *report.Subject) { s.Decisions = nil }},
		{"DecisionOfOtherMix", registry.EINTERNAL, func(s *report.Subject) { s.Decisions[0].MixID = earlierMixID }},
		{"DecisionRefused", registry.EINTERNAL, func(s *report.Subject) { s.Decisions[0].Allowed = false }},
		{"GeneratorMissing", registry.EINTERNAL, func(s *report.Subject) { s.Generators = s.Generators[:1] }},
		{"TrainedOnOtherMix", registry.EINTERNAL, func(s *report.Subject) { s.Model.TrainedOn = []string{earlierMixID} }},
		{"TrainedOnMoreMixes", registry.EINTERNAL, func(s *report.Subject) { s.Model.TrainedOn = append(s.Model.TrainedOn, earlierMixID) }},
		{"BadGeneration", registry.EINTERNAL, func(s *report.Subject) { s.Mixes[0].Stats.Generations["x"] = 1 }},
		{"NoCheckpoint", registry.EINTERNAL, func(s *report.Subject) { s.Checkpoint = report.Checkpoint{} }},
		{"CheckpointNoteDiffers", registry.EINTERNAL, func(s *report.Subject) { s.Checkpoint.Size = 42 }},
		{"CheckpointTooSmall", registry.EINTERNAL, func(s *report.Subject) { s.Checkpoint = checkpoint(40) }},
		{"NoGenerationTime", registry.EINTERNAL, func(s *report.Subject) { s.GeneratedAt = time.Time{} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := modelSubject()
			tc.change(&s)
			r, err := report.Build(s)
			if got := registry.ErrorCode(err); got != tc.code {
				t.Fatalf("Build error %v (code %q), want code %q", err, got, tc.code)
			}
			if r != nil {
				t.Error("Build returned a report with its error")
			}
		})
	}
	t.Run("Consistent", func(t *testing.T) {
		if _, err := report.Build(modelSubject()); err != nil {
			t.Fatal(err)
		}
	})
}

// TestDeterministic builds a model trained on two mixes from records given in different orders.
func TestDeterministic(t *testing.T) {
	subject := func(reverse bool) report.Subject {
		s := modelSubject()
		s.Model.TrainedOn = []string{mixID, earlierMixID}
		s.Mixes = append(s.Mixes, earlierMix())
		s.Decisions = append(s.Decisions, earlierDecision())
		s.Policies = append(s.Policies, defaultPolicy())
		if reverse {
			slices.Reverse(s.Model.TrainedOn)
			slices.Reverse(s.Mixes)
			slices.Reverse(s.Decisions)
			slices.Reverse(s.Generators)
		}
		return s
	}
	a, b := render(t, subject(false)), render(t, subject(true))
	for name, out := range a.formats() {
		if out != b.formats()[name] {
			t.Errorf("%s depends on the order of the records:\n%s", name, firstDifference(out, b.formats()[name]))
		}
	}
	if again := render(t, subject(false)); again.html != a.html || again.md != a.md || again.json != a.json {
		t.Error("two builds of the same subject differ")
	}
	r := a.report
	text := r.General.Modalities[0]
	if text.Samples != 190 || text.Tokens != 24517+9000 || text.HumanSamples != 140 {
		t.Errorf("totals over two mixes = %+v", text)
	}
	if got := r.Sources.PublicDatasets.Sources; len(got) != 1 || got[0].Samples != 90 || got[0].Tokens != 8012+7500 {
		t.Errorf("wiki-sample summed over the mixes = %+v", got)
	}
	if r.Sources.Other.Samples != 10 {
		t.Errorf("other = %+v", r.Sources.Other)
	}
	if len(r.Processing.Mixes) != 2 || r.Processing.Mixes[0].MixID != earlierMixID || len(r.Evidence.Mixes) != 2 {
		t.Errorf("mixes not in id order: %+v", r.Processing.Mixes)
	}
	if want := "2025-07-01T16:30:00Z"; r.General.LatestDataDate == nil || r.General.LatestDataDate.Format(time.RFC3339) != want {
		t.Errorf("latest data date = %v, want %s", r.General.LatestDataDate, want)
	}
}

// TestLegacyMix covers a mix stored before the registry kept per-source statistics and a token
// total: its sources are counted by kind, its tokens recovered from the tokens metric, and a note says so.
func TestLegacyMix(t *testing.T) {
	s := mixSubject()
	st := &s.Mixes[0].Stats
	st.Sources, st.Tokens, st.LatestSample = nil, 0, nil
	r := render(t, s)
	if got := r.report.General.Modalities[0].Tokens; got != 9000 {
		t.Errorf("tokens = %d, want 9000 from 60 × 150", got)
	}
	if got := r.report.Sources.PublicDatasets; got.Samples != 50 || len(got.Sources) != 1 || got.Sources[0].Name != "" {
		t.Errorf("public datasets = %+v", got)
	}
	if len(r.report.Notes) != 3 || r.report.General.LatestDataDate != nil {
		t.Errorf("notes = %q, latest = %v", r.report.Notes, r.report.General.LatestDataDate)
	}
	for name, out := range map[string]string{"markdown": r.md, "html": r.html} {
		for _, want := range []string{"Notes on the records", "predates per-source statistics", "(no name recorded)"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s lacks %q", name, want)
			}
		}
	}
}

// TestMarkdownFencesNote checks that a signed note holding backticks cannot close its code block.
func TestMarkdownFencesNote(t *testing.T) {
	s := mixSubject()
	s.Checkpoint.Note += "```\n# injected\n"
	md := render(t, s).md
	if !strings.Contains(md, "````text\n"+s.Checkpoint.Note+"````\n") {
		t.Errorf("note not fenced safely:\n%s", md)
	}
}
