package report_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/report"
)

// TestCorpusCountsEachSampleOnce: the sample both mixes hold counts once in sections 1 and 2.
func TestCorpusCountsEachSampleOnce(t *testing.T) {
	r := render(t, disclosedSubject()).report
	text := r.General.Modalities[0]
	if text.Samples != 11 || text.Tokens != 980 || text.HumanSamples != 9 || text.SyntheticSamples != 2 {
		t.Errorf("text modality = %+v; want 11 samples (12 streamed, one twice), 980 tokens", text)
	}
	if got := r.Sources.PublicDatasets; got.Samples != 1 || got.Tokens != 100 {
		t.Errorf("public datasets = %+v; the shared sample counted twice", got)
	}
	if !slices.ContainsFunc(r.Notes, func(n string) bool { return strings.HasPrefix(n, "1 samples are in more than one") }) {
		t.Errorf("notes %q do not say a sample is in both mixes", r.Notes)
	}
}

// TestPrivateIsTheProvidersOwn: source kind private is the provider's own data, section 2.6, never
// data obtained from third parties (2.2.2).
func TestPrivateIsTheProvidersOwn(t *testing.T) {
	rr := render(t, disclosedSubject())
	if got := rr.report.Sources.Private; got.Samples != 2 || got.Sources[0].Name != "staff-writing" {
		t.Errorf("private = %+v", got)
	}
	for name, text := range map[string]string{"markdown": rr.md, "html": rr.html} {
		third := text[strings.Index(text, "2.2.2 Private datasets"):]
		third = third[:strings.Index(third, "Licences recorded")]
		if strings.Contains(third, "staff-writing") {
			t.Errorf("%s: the provider's own data is listed as obtained from third parties", name)
		}
		other := text[strings.Index(text, "2.6 Other sources of data"):]
		other = other[:strings.Index(other, "3. Data processing")]
		if !strings.Contains(other, "staff-writing") || !strings.Contains(other, "Data the provider produced itself") {
			t.Errorf("%s: section 2.6 does not list the provider's own data:\n%s", name, other)
		}
	}
}

// TestHumanEditedModelText: text people edited on top of model output is disclosed as synthetic.
func TestHumanEditedModelText(t *testing.T) {
	rr := render(t, disclosedSubject())
	s := rr.report.Sources.Synthetic
	if s.HumanEditedSamples != 1 || s.HumanEditedTokens != 70 || s.ModelGeneratedSamples != 2 {
		t.Errorf("synthetic = %+v; want 1 human-edited sample of 70 tokens and 2 model samples", s)
	}
	for name, text := range map[string]string{"markdown": rr.md, "html": rr.html} {
		sec := text[strings.Index(text, "2.5 Synthetic AI-generated data"):]
		sec = sec[:strings.Index(sec, "2.6 Other sources")]
		if !strings.Contains(sec, "edited by people") || !strings.Contains(sec, "1 samples, 70 tokens") {
			t.Errorf("%s: 2.5 does not disclose the edited model text", name)
		}
	}
}

func TestLanguages(t *testing.T) {
	g := render(t, disclosedSubject()).report.General
	want := []report.LanguageCount{{Language: "en", Recorded: 6, Detected: 1}, {Language: "fr", Recorded: 1, Detected: 1}, {Language: "de", Recorded: 1}}
	if !slices.Equal(g.LanguageCounts, want) {
		t.Errorf("languages = %+v; want %+v", g.LanguageCounts, want)
	}
	if code, ok := report.DetectLanguage(frenchText); !ok || code != "fr" {
		t.Errorf("DetectLanguage(French) = %q, %v", code, ok)
	}
	// The detection bound: with room for one detection, the second sample without metadata.lang is
	// not examined, and the summary says so.
	c := report.NewCorpus(report.DetectLanguage, 1)
	for _, mix := range corpusSamples() {
		for _, s := range mix {
			c.Add(s)
		}
	}
	subj := disclosedSubject()
	subj.Corpus = c
	g = render(t, subj).report.General
	if !strings.Contains(g.Languages, "2 not examined") {
		t.Errorf("languages with a bound of 1: %q", g.Languages)
	}
}

func TestLatestDataDate(t *testing.T) {
	build := func(collected ...string) report.General {
		c := report.NewCorpus(nil, 0)
		for i, at := range collected {
			c.Add(corpusSample(i+1, "human", "", "other", "", "", "", 0, 1, at, "x"))
		}
		subj := disclosedSubject()
		subj.Corpus = c
		return render(t, subj).report.General
	}
	if g := build("2025-03-01T00:00:00Z", "2025-02-01T00:00:00Z"); !g.LatestDataDate.Equal(at("2025-03-01T00:00:00Z")) ||
		!strings.Contains(g.LatestDataDateBasis, "collected_at") {
		t.Errorf("all collected: %v (%s)", g.LatestDataDate, g.LatestDataDateBasis)
	}
	// Registration times of the fixture's samples are in July 2025: without collected_at they stand
	// in, and the basis says so.
	if g := build("", ""); !g.LatestDataDate.Equal(at("2025-07-01T02:00:00Z")) || !strings.Contains(g.LatestDataDateBasis, "registration time") {
		t.Errorf("none collected: %v (%s)", g.LatestDataDate, g.LatestDataDateBasis)
	}
}

func TestCompleteness(t *testing.T) {
	fields := func(c report.Completeness) []string {
		var out []string
		for _, m := range c.Missing {
			out = append(out, m.Field)
		}
		return out
	}
	if c := render(t, disclosedSubject()).report.Completeness; !c.Publishable || len(c.Missing) != 0 {
		t.Errorf("complete disclosure: %+v", c)
	}
	subj := disclosedSubject()
	subj.Disclosure = nil
	c := render(t, subj).report.Completeness
	want := []string{"general.provider", "general.provider_contact", "general.authorised_representative",
		"general.market_placement_date", "general.model_dependencies", "general.modalities.text.content_types",
		"sources.crawled.crawlers", "sources.user_data.description", "sources.description",
		"processing.tdm_opt_outs", "processing.illegal_content"}
	if c.Publishable || !slices.Equal(fields(c), want) {
		t.Errorf("no disclosure: missing %q; want %q", fields(c), want)
	}
	// A provider in the Union needs no representative; crawled data needs its crawlers.
	subj = disclosedSubject()
	inEU := true
	subj.Disclosure.AuthorisedRepresentative, subj.Disclosure.ProviderEstablishedInEU = nil, &inEU
	subj.Disclosure.Crawlers = &[]registry.Crawler{}
	if c := render(t, subj).report.Completeness; !slices.Equal(fields(c), []string{"sources.crawled.crawlers"}) {
		t.Errorf("EU provider without crawlers: missing %q", fields(c))
	}
	if c := render(t, mixSubject()).report.Completeness; c.Publishable {
		t.Errorf("a mix's summary is publishable: %+v", c)
	}
}
