package report

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/pedigreeml/pedigree/registry"
)

// Statements about what the samples say, when a Corpus is given.
const (
	countingOnce = "Tokens are the registry's word tokens (lower-cased words, as counted for MTLD at ingest), " +
		"not a model tokenizer's subword tokens. Each sample counts once, however many of the mixes hold it."
	latestCollected = "the newest collected_at stated on the samples"
	latestMixed     = "the newest of the collected_at stated on %d samples and, for the %d samples that state none, " +
		"their registration time (when the registry received them, not when their text was collected)"
	latestRegistered = "the registration time of the newest sample: no sample states collected_at, so this is when " +
		"the registry received the text, not when it was collected"
	notDisclosed = "not recorded: the provider's disclosure does not state it"
)

// fromCorpus replaces the text modality's counts and the latest data date, summed over the mixes,
// with the corpus's, each sample counted once, and fills the languages.
func fromCorpus(c *Corpus, r *Report) {
	t := &r.General.Modalities[0]
	t.Samples, t.Tokens, t.HumanSamples, t.SyntheticSamples = c.samples, c.tokens, c.human, c.synthetic
	t.SizeBin, t.Counting = TextSizeBin(c.tokens), countingOnce
	if c.repeats > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d samples are in more than one of the mixes; they are counted "+
			"once in sections 1 and 2, and once per mix in section 3.", c.repeated))
	}
	g := &r.General
	switch {
	case c.samples == 0:
	case c.collected == c.samples:
		g.LatestDataDate, g.LatestDataDateBasis = c.latestColl, latestCollected
	case c.collected == 0:
		g.LatestDataDate, g.LatestDataDateBasis = c.latestReg, latestRegistered
	default:
		g.LatestDataDate = c.latestColl
		if c.latestReg.After(*c.latestColl) {
			g.LatestDataDate = c.latestReg
		}
		g.LatestDataDateBasis = fmt.Sprintf(latestMixed, c.collected, c.samples-c.collected)
	}
	g.LanguageCounts = []LanguageCount{}
	for code, l := range c.langs {
		g.LanguageCounts = append(g.LanguageCounts, LanguageCount{Language: code, Recorded: l.recorded, Detected: l.detected})
	}
	slices.SortFunc(g.LanguageCounts, func(a, b LanguageCount) int {
		if c := cmp.Compare(b.Recorded+b.Detected, a.Recorded+a.Detected); c != 0 {
			return c
		}
		return cmp.Compare(a.Language, b.Language)
	})
	g.Languages = languagesText(c, g.LanguageCounts)
}

func languagesText(c *Corpus, counts []LanguageCount) string {
	if len(counts) == 0 {
		return "not recorded: no sample states metadata.lang and detection found no language"
	}
	codes := make([]string, len(counts))
	for i, l := range counts {
		codes[i] = l.Language
	}
	s := fmt.Sprintf("%s. %d samples state their language (metadata.lang)", strings.Join(codes, ", "), c.recorded)
	if n := c.detected + c.undetected + c.skipped; n > 0 {
		s += fmt.Sprintf("; of the %d that do not, %d were examined by language detection (whatlanggo trigram "+
			"profiles over the first %d bytes of each text, at most %d samples a summary), %d detected reliably, "+
			"%d not examined", n, c.detected+c.undetected, detectBytes, DetectSamples, c.detected, c.skipped)
	}
	return s
}

// corpusSources is section 2 from the corpus: every sample once, crawled samples by domain.
func corpusSources(ix *index, c *Corpus) Sources {
	out := Sources{
		PublicDatasets: c.sources.category(kindPublic),
		Licensed:       c.sources.category(kindLicensed),
		Private:        c.sources.category(kindPrivate),
		Licenses:       licenseCounts(c.licenses, c.samples),
		UserData:       c.sources.category(kindUserData),
		Other:          c.sources.category(kindOther),
	}
	crawl := Category{Kind: kindCrawl, Sources: []Source{}}
	for domain, d := range c.domains {
		crawl.Samples += d.samples
		crawl.Tokens += d.tokens
		crawl.Sources = append(crawl.Sources, Source{Name: domain, Samples: d.samples, Tokens: d.tokens,
			Crawls: slices.Sorted(maps.Keys(d.crawls))})
	}
	slices.SortFunc(crawl.Sources, bySize)
	out.Crawled = crawled(crawl)
	out.Crawled.CollectedFrom, out.Crawled.CollectedTo = c.crawlFrom, c.crawlTo
	syn := c.sources.category(kindSynthetic)
	out.Synthetic = Synthetic{Kind: syn.Kind, Samples: syn.Samples, Tokens: syn.Tokens, Sources: syn.Sources,
		ModelGeneratedSamples: c.synthetic, Generators: generators(ix, c.models),
		HumanEditedSamples: c.edited.Samples, HumanEditedTokens: c.editedTok, HumanEditedCounted: true}
	return out
}

// applyDisclosure fills what the provider disclosed.
func applyDisclosure(d *registry.Disclosure, r *Report) {
	g := &r.General
	if d == nil {
		return
	}
	if p := d.Provider; p != nil {
		g.Provider, g.ProviderContact = p.Name, p.Contact
	}
	switch {
	case d.AuthorisedRepresentative != nil:
		g.AuthorisedRepresentative = d.AuthorisedRepresentative.Name + " (" + d.AuthorisedRepresentative.Contact + ")"
	case d.ProviderEstablishedInEU != nil && *d.ProviderEstablishedInEU:
		g.AuthorisedRepresentative = "not applicable: the provider is established in the Union"
	}
	if d.MarketPlacementDate != "" {
		g.MarketPlacementDate = d.MarketPlacementDate
	}
	if d.Dependencies != nil {
		g.Dependencies = slices.Clone(*d.Dependencies)
		g.ModelDependencies = dependenciesText(*d.Dependencies)
	}
	var other []string
	for _, m := range d.Modalities {
		if m.Modality == "text" {
			g.Modalities[0].ContentTypes = slices.Clone(m.ContentTypes)
			g.Modalities[0].Description = m.Description
			continue
		}
		s := m.Modality
		if len(m.ContentTypes) > 0 {
			s += " (" + strings.Join(m.ContentTypes, ", ") + ")"
		}
		other = append(other, s)
	}
	if len(other) > 0 {
		g.OtherModalities = strings.Join(other, "; ") + ", as the provider discloses; the registry holds text only " +
			"and records no size for them"
	}
	r.Sources.Description = d.DataSources
	r.Sources.UserData.Description = d.UserData
	r.Sources.Synthetic.Description = d.SyntheticData
	if d.Crawlers != nil {
		r.Sources.Crawled.Crawlers = slices.Clone(*d.Crawlers)
	}
	if d.TDMOptOuts != "" {
		r.Processing.TDMOptOuts = d.TDMOptOuts
	}
	if d.IllegalContent != "" {
		r.Processing.IllegalContent = d.IllegalContent + " " + illegalContentNote
	}
	r.Processing.OtherMeasures = d.OtherMeasures
}

func dependenciesText(deps []registry.Dependency) string {
	if len(deps) == 0 {
		return "none: the model does not modify or fine-tune another general-purpose model"
	}
	parts := make([]string, len(deps))
	for i, d := range deps {
		s := strings.ReplaceAll(d.Relation, "_", " ") + " " + d.Name
		if d.Version != "" {
			s += " " + d.Version
		}
		if d.Provider != "" {
			s += " (" + d.Provider + ")"
		}
		if d.Summary != "" {
			s += ", summary: " + d.Summary
		}
		parts[i] = s
	}
	return strings.Join(parts, "; ")
}

// completeness lists what the template requires and the summary lacks.
func completeness(s Subject, r *Report) Completeness {
	var miss []Missing
	need := func(section, field, fill string) {
		miss = append(miss, Missing{Section: section, Field: field, Fill: fill})
	}
	if s.Model == nil {
		need("1.2", "subject", "a public summary is a model's: ask for ?model=")
		return Completeness{Missing: miss}
	}
	d := s.Disclosure
	if d == nil {
		d = &registry.Disclosure{}
	}
	if d.Provider == nil {
		need("1.1", "general.provider", "disclosure provider.name")
		need("1.1", "general.provider_contact", "disclosure provider.contact")
	}
	if d.AuthorisedRepresentative == nil && (d.ProviderEstablishedInEU == nil || !*d.ProviderEstablishedInEU) {
		fill := "disclosure authorised_representative (or provider_established_in_eu: true)"
		if d.ProviderEstablishedInEU != nil {
			fill = "disclosure authorised_representative: the provider is established outside the Union"
		}
		need("1.1", "general.authorised_representative", fill)
	}
	if d.MarketPlacementDate == "" {
		need("1.2", "general.market_placement_date", "disclosure market_placement_date")
	}
	if d.Dependencies == nil {
		need("1.2", "general.model_dependencies", "disclosure dependencies ([] for none)")
	}
	if len(r.General.Modalities[0].ContentTypes) == 0 {
		need("1.3", "general.modalities.text.content_types", "disclosure modalities: text with its content_types")
	}
	if len(r.General.LanguageCounts) == 0 {
		need("1.3", "general.languages", "the samples' metadata.lang")
	}
	if s.Corpus == nil || s.Corpus.collected == 0 {
		need("1.3", "general.latest_data_date", "the samples' collected_at (the registration time stands in)")
	}
	if r.Sources.Crawled.Samples > 0 && len(r.Sources.Crawled.Crawlers) == 0 {
		need("2.3", "sources.crawled.crawlers", "disclosure crawlers: name, purpose, robots_txt, other_opt_outs, collection period")
	}
	if r.Sources.UserData.Samples > 0 && d.UserData == "" {
		need("2.4", "sources.user_data.description", "disclosure user_data")
	}
	if r.Sources.Other.Samples+r.Sources.Private.Samples > 0 && d.DataSources == "" {
		need("2.6", "sources.description", "disclosure data_sources")
	}
	if d.TDMOptOuts == "" {
		need("3.1", "processing.tdm_opt_outs", "disclosure tdm_opt_outs")
	}
	if d.IllegalContent == "" {
		need("3.2", "processing.illegal_content", "disclosure illegal_content")
	}
	if miss == nil {
		miss = []Missing{}
	}
	return Completeness{Publishable: len(miss) == 0, Missing: miss}
}

// disclosureRecord is the evidence record of the disclosure a summary states.
func disclosureRecord(d *registry.Disclosure) Record {
	return Record{Kind: "disclosure", Ref: fmt.Sprintf("%s disclosure v%d", d.Model, d.Version), ID: d.ModelID, LogIndex: d.LogIndex}
}
