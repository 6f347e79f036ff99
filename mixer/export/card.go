package export

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/pedigreeml/pedigree/registry"
)

// Description is what a dataset card and a Croissant description are built from. The caller reads
// it from the registry (through the checked store); the builders read nothing.
type Description struct {
	Mix      *registry.Mix
	Decision *registry.Decision
	Policy   *registry.PolicyVersion
	Models   []*registry.Model // every model whose samples are in the mix (the keys of Stats.Models)
	BaseURL  string            // the registry's address, for the links to the exports
	// Files are the digests of the downloads by format, for the Croissant description; the card
	// does not need them.
	Files map[string]Digest
}

// URL returns the registry address of path under the mix.
func (d *Description) URL(path string) string {
	return strings.TrimSuffix(d.BaseURL, "/") + "/v1/mixes/" + d.Mix.ID + path
}

// ExportURL returns the address of the mix's export in format.
func (d *Description) ExportURL(format string) string {
	return d.URL("/export?format=" + format)
}

// check refuses a description whose records do not fit together.
func (d *Description) check() error {
	switch {
	case d.Mix == nil:
		return fmt.Errorf("export: no mix to describe")
	case d.Decision == nil || d.Decision.ID != d.Mix.DecisionID:
		return fmt.Errorf("export: mix %s: its decision is missing", d.Mix.ID)
	case d.Policy == nil || d.Policy.Ref() != d.Mix.Policy:
		return fmt.Errorf("export: mix %s: its policy version is missing", d.Mix.ID)
	}
	for ref := range d.Mix.Stats.Models {
		if d.model(ref) == nil {
			return fmt.Errorf("export: mix %s: model %s is missing", d.Mix.ID, ref)
		}
	}
	return nil
}

func (d *Description) model(ref string) *registry.Model {
	for _, m := range d.Models {
		if m.Ref() == ref {
			return m
		}
	}
	return nil
}

// Counted is one value of a histogram.
type Counted struct {
	Name  string
	Count int
}

// counted returns a histogram sorted by name; numeric names (generations) sort as numbers.
func counted(m map[string]int) []Counted {
	out := make([]Counted, 0, len(m))
	for k, v := range m {
		out = append(out, Counted{k, v})
	}
	sort.Slice(out, func(i, j int) bool {
		a, aErr := strconv.Atoi(out[i].Name)
		b, bErr := strconv.Atoi(out[j].Name)
		if aErr == nil && bErr == nil {
			return a < b
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// SizeCategory returns the Hugging Face size category of a dataset of n examples.
func SizeCategory(n int) string {
	bounds := []struct {
		below int64
		label string
	}{
		{1e3, "n<1K"}, {1e4, "1K<n<10K"}, {1e5, "10K<n<100K"}, {1e6, "100K<n<1M"}, {1e7, "1M<n<10M"},
		{1e8, "10M<n<100M"}, {1e9, "100M<n<1B"}, {1e10, "1B<n<10B"}, {1e11, "10B<n<100B"}, {1e12, "100B<n<1T"},
	}
	for _, b := range bounds {
		if int64(n) < b.below {
			return b.label
		}
	}
	return "n>1T"
}

// hubLicenses are the licence identifiers the Hugging Face Hub accepts in a card's license field.
var hubLicenses = setOf(strings.Fields(`apache-2.0 mit openrail bigscience-openrail-m creativeml-openrail-m
	bigscience-bloom-rail-1.0 bigcode-openrail-m afl-3.0 artistic-2.0 bsl-1.0 bsd bsd-2-clause bsd-3-clause
	bsd-3-clause-clear c-uda cc cc0-1.0 cc-by-2.0 cc-by-2.5 cc-by-3.0 cc-by-4.0 cc-by-sa-3.0 cc-by-sa-4.0
	cc-by-nc-2.0 cc-by-nc-3.0 cc-by-nc-4.0 cc-by-nd-4.0 cc-by-nc-nd-3.0 cc-by-nc-nd-4.0 cc-by-nc-sa-2.0
	cc-by-nc-sa-3.0 cc-by-nc-sa-4.0 cdla-sharing-1.0 cdla-permissive-1.0 cdla-permissive-2.0 wtfpl ecl-2.0
	epl-1.0 epl-2.0 etalab-2.0 eupl-1.1 agpl-3.0 gfdl gpl gpl-2.0 gpl-3.0 lgpl lgpl-2.1 lgpl-3.0 isc
	lppl-1.3c ms-pl mpl-2.0 odc-by odbl openrail++ osl-3.0 postgresql ofl-1.1 ncsa unlicense zlib pddl
	lgpl-lr deepfloyd-if-license llama2 gemma`))

func setOf(list []string) map[string]bool {
	out := make(map[string]bool, len(list))
	for _, s := range list {
		out[s] = true
	}
	return out
}

// spdxToHub names SPDX identifiers whose Hub identifier is not their lower-cased form.
var spdxToHub = map[string]string{"odc-by-1.0": "odc-by", "odbl-1.0": "odbl", "pddl-1.0": "pddl",
	"gfdl-1.1": "gfdl", "gfdl-1.2": "gfdl", "gfdl-1.3": "gfdl"}

// HubLicense returns the Hugging Face Hub licence identifier of an SPDX identifier, or "other" when
// the Hub has none (an expression such as "MIT OR Apache-2.0" included).
func HubLicense(spdx string) string {
	l := strings.ToLower(strings.TrimSpace(spdx))
	for _, suffix := range []string{"-only", "-or-later"} {
		l = strings.TrimSuffix(l, suffix)
	}
	if hub, ok := spdxToHub[l]; ok {
		return hub
	}
	if hubLicenses[l] {
		return l
	}
	return "other"
}

// licensing is a mix's licences: Hub identifiers for the card's metadata and the SPDX counts.
type licensing struct {
	Hub        []string  // sorted, unique; "unknown" when some samples record none
	HubOther   []string  // the SPDX identifiers the Hub has no identifier for
	SPDX       []Counted // by SPDX identifier
	Unrecorded int       // samples without a licence
}

func licencesOf(m *registry.Mix) licensing {
	var l licensing
	total := 0
	for _, c := range counted(m.Stats.Licenses) {
		l.SPDX = append(l.SPDX, c)
		total += c.Count
		hub := HubLicense(c.Name)
		if hub == "other" {
			l.HubOther = append(l.HubOther, c.Name)
		}
		if !slices.Contains(l.Hub, hub) {
			l.Hub = append(l.Hub, hub)
		}
	}
	if l.Unrecorded = m.Size - total; l.Unrecorded > 0 && !slices.Contains(l.Hub, "unknown") {
		l.Hub = append(l.Hub, "unknown")
	}
	slices.Sort(l.Hub)
	return l
}

// languageCreators says how the texts were written, in the Hub's vocabulary: machine-generated for
// model output, and for human text what its source kinds say (a crawl or a public dataset was
// found, user data was crowdsourced, anything else is other). Source kinds are counted over the
// whole mix, so a model sample recorded with a human source kind adds that kind's term too.
func languageCreators(m *registry.Mix) []string {
	var out []string
	add := func(s string) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if m.Stats.Synthetic > 0 {
		add("machine-generated")
	}
	if m.Stats.Human > 0 {
		human := false
		for kind := range m.Stats.SourceKinds {
			switch kind {
			case "synthetic":
				continue
			case "web_crawl", "public_dataset":
				add("found")
			case "user_data":
				add("crowdsourced")
			default:
				add("other")
			}
			human = true
		}
		if !human {
			add("other")
		}
	}
	slices.Sort(out)
	return out
}

// cardModel is one generating model in the card.
type cardModel struct {
	Ref             string
	Samples         int
	Generation      int
	GenerationBasis string
	TrainedOn       []string
	Provider        string
}

// cardSource is one source in the card.
type cardSource struct {
	Kind, Name, URI string
	Samples         int
}

// cardView is what the card template prints; every value is computed here, none in the template.
type cardView struct {
	D                   *Description
	M                   *registry.Mix
	PrettyName          string
	Licenses            licensing
	SizeCategory        string
	SourceDatasets      []string
	AnnotationsCreators []string
	LanguageCreators    []string
	Tags                []string
	Origins             []Counted
	Generations         []Counted
	Models              []cardModel
	Datasets            []Counted
	SourceKinds         []Counted
	Sources             []cardSource
	Metrics             []metricRow
	Limits              string
	Strategy            string
	Files               map[string]string // format → file name
	URLs                map[string]string // format → export URL
}

type metricRow struct {
	Name           string
	Count          int
	Min, Mean, Max float64
}

func newCardView(d *Description) (*cardView, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	m := d.Mix
	v := &cardView{D: d, M: m, PrettyName: "Pedigree mix " + m.ID, Licenses: licencesOf(m), SizeCategory: SizeCategory(m.Size),
		AnnotationsCreators: []string{"machine-generated"}, LanguageCreators: languageCreators(m),
		Tags:        []string{"pedigree", "provenance"},
		Origins:     []Counted{{registry.OriginHuman, m.Stats.Human}, {registry.OriginModel, m.Stats.Synthetic}},
		Generations: counted(m.Stats.Generations), Datasets: counted(m.Stats.Datasets), SourceKinds: counted(m.Stats.SourceKinds),
		Files: map[string]string{}, URLs: map[string]string{},
	}
	if m.Stats.Synthetic > 0 {
		v.Tags = append(v.Tags, "synthetic")
	}
	for _, ds := range v.Datasets {
		v.SourceDatasets = append(v.SourceDatasets, "extended|"+ds.Name)
	}
	if len(v.SourceDatasets) == 0 {
		v.SourceDatasets = []string{"original"}
	}
	for _, c := range counted(m.Stats.Models) {
		model := d.model(c.Name)
		v.Models = append(v.Models, cardModel{Ref: c.Name, Samples: c.Count, Generation: model.Generation,
			GenerationBasis: model.GenerationBasis, TrainedOn: model.TrainedOn, Provider: model.Provider})
	}
	for _, kind := range sortedKeys(m.Stats.Sources) {
		for _, name := range sortedKeys(m.Stats.Sources[kind]) {
			st := m.Stats.Sources[kind][name]
			v.Sources = append(v.Sources, cardSource{Kind: kind, Name: name, URI: st.URI, Samples: st.Samples})
		}
	}
	for _, name := range []string{"tokens", "mtld", "toxicity"} {
		if s, ok := m.Stats.Metrics[name]; ok && s.Count > 0 {
			v.Metrics = append(v.Metrics, metricRow{Name: name, Count: s.Count, Min: s.Min, Mean: s.Mean, Max: s.Max})
		}
	}
	limits, err := compactJSON(d.Policy.Limits)
	if err != nil {
		return nil, fmt.Errorf("export: policy %s@%d limits: %w", d.Policy.Name, d.Policy.Version, err)
	}
	v.Limits = limits
	v.Strategy = m.Strategy.Name
	if m.Strategy.Name == registry.StrategyBestOfK {
		v.Strategy += fmt.Sprintf(" (objective %s, source %s)", m.Strategy.Objective, m.Strategy.Source)
	}
	for _, f := range Formats {
		v.Files[f], v.URLs[f] = FileName(m.ID, f), d.ExportURL(f)
	}
	return v, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func compactJSON(raw json.RawMessage) (string, error) {
	if len(raw) == 0 {
		return "{}", nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return "", err
	}
	return b.String(), nil
}

//go:embed templates/card.md.tmpl
var cardText string

var cardTemplate = template.Must(template.New("card").Funcs(template.FuncMap{
	"yaml": yamlString,
	"md":   markdownText,
	"code": markdownCode,
	"pct":  func(n, of int) string { return percent(n, of) },
	"num":  func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) },
	"dec":  func(f float64) string { return strconv.FormatFloat(f, 'f', 4, 64) },
	"time": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"join": strings.Join,
}).Parse(cardText))

// Card returns the mix's Hugging Face dataset card: a README.md whose YAML front matter the Hub
// reads (licences, size category, source datasets, how the texts and annotations were created,
// tags) and whose prose gives the mix's composition, how it was selected and how to verify it. The
// registry records no language, so the card states none.
func Card(d *Description) ([]byte, error) {
	v, err := newCardView(d)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := cardTemplate.Execute(&b, v); err != nil {
		return nil, fmt.Errorf("export: card: %w", err)
	}
	return b.Bytes(), nil
}

// yamlString writes s as a YAML double-quoted scalar: JSON's string syntax, which YAML 1.2 reads
// alike, so that no registrant's name can end the scalar or start a new key.
func yamlString(s string) string {
	b, _ := marshalNoEscape(s)
	return string(b)
}

func percent(n, of int) string {
	if of == 0 {
		return "0 %"
	}
	return strconv.FormatFloat(100*float64(n)/float64(of), 'f', 1, 64) + " %"
}

// markdownEscaper backslash-escapes what Markdown would read as markup in text and table cells, and
// flattens line breaks.
var markdownEscaper = strings.NewReplacer(`\`, `\\`, "`", "\\`", `*`, `\*`, `_`, `\_`, `[`, `\[`, `]`, `\]`,
	`<`, `\<`, `>`, `\>`, `|`, `\|`, `&`, `\&`, `~`, `\~`, `#`, `\#`, "\r\n", " ", "\n", " ", "\r", " ")

func markdownText(s string) string { return markdownEscaper.Replace(s) }

// markdownCode writes s as a code span fenced with one more backtick than its longest run, its
// pipes escaped (tables split cells on them even in code) and line breaks flattened.
func markdownCode(s string) string {
	if s == "" {
		return ""
	}
	s = strings.NewReplacer("|", `\|`, "\r\n", " ", "\n", " ", "\r", " ").Replace(s)
	longest, run := 0, 0
	for _, c := range s {
		if c == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}
