// Package report renders the EU AI Act public summary of training content (Article 53(1)(d), in the
// sections of the AI Office's template of July 2025) for a model, through the mixes it was trained
// on, or for a single mix.
//
// The package is pure: the caller gathers the registry records into a Subject, Build checks that
// they fit together and computes every fact once into a Report, and the JSON, Markdown and HTML
// renderings all print that one Report, so the three formats state the same facts.
package report

import (
	"encoding/json"
	"time"

	"github.com/pedigreeml/pedigree/registry"
)

// Checkpoint is the log's signed checkpoint when the report was generated.
type Checkpoint struct {
	Origin   string `json:"origin"`
	Size     int64  `json:"size"`
	RootHash string `json:"root_hash"` // base64
	Note     string `json:"note"`      // the signed note text, as GET /v1/log/checkpoint returns it
}

// Subject is everything a report is built from. The caller fetches it from the registry; Build
// fetches nothing.
type Subject struct {
	Model      *registry.Model           // nil for a mix report
	Mixes      []*registry.Mix           // the model's trained_on mixes, or the one mix
	Policies   []*registry.PolicyVersion // every policy version the mixes name, with Limits
	Decisions  []*registry.Decision      // each mix's decision
	Generators []*registry.Model         // every model whose samples are in the mixes (MixStats.Models keys)
	// Disclosure is the model's latest disclosure, if its provider stated one; nil for a mix.
	Disclosure *registry.Disclosure
	// Corpus holds the facts of the mixes' samples, each counted once. Without it the summary falls
	// back to the mixes' statistics, summed over the mixes, and says so.
	Corpus      *Corpus
	Checkpoint  Checkpoint // the log's signed checkpoint at generation time
	GeneratedAt time.Time  // the only time the report states as "now"
}

// Text size bins of the template's section 1.3, in tokens.
const (
	BinUnder1B  = "less than 1 billion tokens"
	Bin1BTo10T  = "1 billion to 10 trillion tokens"
	BinOver10T  = "more than 10 trillion tokens"
	notRecorded = "not recorded by the registry"
)

// TextSizeBin returns the template's size bin for a text modality of tokens tokens. The bounds are
// inclusive of the middle bin: 1 billion and 10 trillion tokens are both "1 billion to 10 trillion".
func TextSizeBin(tokens int64) string {
	switch {
	case tokens < 1_000_000_000:
		return BinUnder1B
	case tokens <= 10_000_000_000_000:
		return Bin1BTo10T
	default:
		return BinOver10T
	}
}

// Report is the public summary, with stable JSON field names. Sections follow the template's
// numbering: General is section 1, Sources section 2, Processing section 3; Evidence is the registry's
// own addition (the log checkpoint and the records' log indexes).
type Report struct {
	Title       string      `json:"title"`
	Template    string      `json:"template"`
	GeneratedAt time.Time   `json:"generated_at"`
	Subject     SubjectInfo `json:"subject"`
	General     General     `json:"general"`
	Sources     Sources     `json:"sources"`
	Processing  Processing  `json:"processing"`
	Evidence    Evidence    `json:"evidence"`
	// Completeness names every field the template requires that the summary still lacks.
	Completeness Completeness `json:"completeness"`
	// Notes are caveats about the records themselves, for example mixes built before the registry
	// kept per-source statistics.
	Notes []string `json:"notes"`
}

// SubjectInfo says what the report is about.
type SubjectInfo struct {
	Kind string `json:"kind"` // "model" or "mix"
	ID   string `json:"id"`
	Name string `json:"name"` // "name@version", or "mix <id>"
}

// General is section 1 of the template: provider, model and the training data's size per modality.
type General struct {
	Provider        string `json:"provider"`         // 1.1
	ProviderContact string `json:"provider_contact"` // 1.1
	// AuthorisedRepresentative is the provider's representative in the Union (1.1), with contact.
	AuthorisedRepresentative string                `json:"authorised_representative"`
	Dependencies             []registry.Dependency `json:"dependencies"`          // 1.2, as disclosed
	ModelName                string                `json:"model_name"`            // 1.2: the model's name, or "mix <id>"
	ModelVersion             string                `json:"model_version"`         // 1.2; empty for a mix
	ModelDependencies        string                `json:"model_dependencies"`    // 1.2
	MarketPlacementDate      string                `json:"market_placement_date"` // 1.2
	Modalities               []Modality            `json:"modalities"`            // 1.3
	OtherModalities          string                `json:"other_modalities"`      // 1.3: image, audio, video, other
	LatestDataDate           *time.Time            `json:"latest_data_date"`      // 1.3
	LatestDataDateBasis      string                `json:"latest_data_date_basis"`
	Languages                string                `json:"languages"` // 1.3
	// LanguageCounts counts samples by language: stated in metadata.lang, or detected.
	LanguageCounts []LanguageCount `json:"language_counts"`
}

// LanguageCount is how many samples are in one language, by how the language is known.
type LanguageCount struct {
	Language string `json:"language"`
	Recorded int64  `json:"recorded"` // metadata.lang states it
	Detected int64  `json:"detected"` // detected from the text
}

// Modality is the training data of one modality: the template's size bin and the exact counts.
type Modality struct {
	Modality         string `json:"modality"`
	SizeBin          string `json:"size_bin"`
	Samples          int64  `json:"samples"`
	Tokens           int64  `json:"tokens"`
	HumanSamples     int64  `json:"human_samples"`
	SyntheticSamples int64  `json:"synthetic_samples"`
	// ContentTypes and Description are the provider's, from the disclosure.
	ContentTypes []string `json:"content_types"`
	Description  string   `json:"description"`
	// Counting says what the numbers count: word tokens, and samples summed over the mixes.
	Counting string `json:"counting"`
}

// Sources is section 2 of the template: the data by source category.
type Sources struct {
	PublicDatasets Category  `json:"public_datasets"` // 2.1
	Licensed       Category  `json:"licensed"`        // 2.2.1
	Private        Category  `json:"private"`         // 2.6: data the provider produced itself
	Licenses       Licenses  `json:"licenses"`        // 2.2: the licences recorded on the samples
	Crawled        Crawled   `json:"crawled"`         // 2.3
	UserData       Category  `json:"user_data"`       // 2.4
	Synthetic      Synthetic `json:"synthetic"`       // 2.5
	Other          Category  `json:"other"`           // 2.6
	// Description is the provider's narrative of its data sources (section 2), from the disclosure.
	Description string `json:"description"`
}

// Category is one source kind's share of the training data, source by source, largest first.
type Category struct {
	Kind    string   `json:"kind"`
	Samples int64    `json:"samples"`
	Tokens  int64    `json:"tokens"`
	Sources []Source `json:"sources"`
	// Description is the provider's narrative of the category, where the template asks for one.
	Description string `json:"description,omitempty"`
}

// Source is one named source: a dataset, a licensed collection, a crawled domain.
type Source struct {
	Name    string `json:"name"`
	URI     string `json:"uri,omitempty"`
	Samples int64  `json:"samples"`
	Tokens  int64  `json:"tokens"`
	// Crawls are the source names of the crawls that fetched a crawled domain.
	Crawls []string `json:"crawls,omitempty"`
}

// Licenses counts samples by the SPDX licence their registrant recorded, over every category.
type Licenses struct {
	Licenses   []Count `json:"licenses"`
	Unrecorded int64   `json:"unrecorded"` // samples with no licence recorded
}

// Count is a number of samples under one name.
type Count struct {
	Name    string `json:"name"`
	Samples int64  `json:"samples"`
}

// Crawled is section 2.3: crawled data, with the most relevant domains by tokens.
type Crawled struct {
	Kind    string `json:"kind"`
	Samples int64  `json:"samples"`
	Tokens  int64  `json:"tokens"`
	Domains int    `json:"domains"`
	// Selection says which domains TopDomains lists: "all", "top_10" (10 % of the domains would be
	// fewer than 10) or "top_10_percent".
	Selection     string   `json:"selection"`
	SelectionNote string   `json:"selection_note"`
	TopDomains    []Source `json:"top_domains"`
	// Crawlers are the provider's crawlers, as disclosed: name, purpose, robots.txt and other opt-out
	// handling, and collection period.
	Crawlers []registry.Crawler `json:"crawlers"`
	// CollectedFrom and CollectedTo are the range of the crawled samples' collected_at, where stated.
	CollectedFrom *time.Time `json:"collected_from"`
	CollectedTo   *time.Time `json:"collected_to"`
}

// Synthetic is section 2.5: samples recorded as synthetic, and every model-generated sample with the
// model that generated it.
type Synthetic struct {
	Kind    string   `json:"kind"`
	Samples int64    `json:"samples"` // samples whose source kind is synthetic
	Tokens  int64    `json:"tokens"`
	Sources []Source `json:"sources"`
	// ModelGeneratedSamples counts samples of origin "model", whatever source kind they were filed
	// under.
	ModelGeneratedSamples int64       `json:"model_generated_samples"`
	Generators            []Generator `json:"generators"`
	// HumanEditedSamples are samples of origin "human" whose generation is 1 or more: text people
	// wrote or edited on top of model output, synthetic in part.
	HumanEditedSamples int64 `json:"human_edited_samples"`
	HumanEditedTokens  int64 `json:"human_edited_tokens"`
	// HumanEditedCounted is false when the summary rests on the mixes' statistics alone, which do
	// not tell people's edits of model text from other human text.
	HumanEditedCounted bool `json:"human_edited_counted"`
	// Description is the provider's narrative of its synthetic data, from the disclosure.
	Description string `json:"description"`
}

// Generator is a model whose output is in the training data.
type Generator struct {
	Model              string   `json:"model"` // name@version
	ID                 string   `json:"id"`
	Provider           string   `json:"provider"`
	Samples            int64    `json:"samples"`
	Generation         int      `json:"generation"`
	GenerationBasis    string   `json:"generation_basis"`
	BasisMeaning       string   `json:"basis_meaning"`
	DeclaredGeneration *int     `json:"declared_generation,omitempty"`
	TrainingDataKnown  bool     `json:"training_data_known"`
	TrainedOn          []string `json:"trained_on"` // mix ids, when the training data is known
	LogIndex           int64    `json:"log_index"`
}

// Processing is section 3 of the template.
type Processing struct {
	TDMOptOuts      string          `json:"tdm_opt_outs"`    // 3.1
	IllegalContent  string          `json:"illegal_content"` // 3.2
	ToxicityScoring string          `json:"toxicity_scoring"`
	Deduplication   string          `json:"deduplication"`  // 3.3
	OtherMeasures   string          `json:"other_measures"` // 3.3, from the disclosure
	Mixes           []MixProcessing `json:"mixes"`          // 3.2 and 3.3, mix by mix
}

// MixProcessing is how one mix was selected: its policy, request and the composition that resulted.
type MixProcessing struct {
	MixID           string            `json:"mix_id"`
	Policy          PolicyInfo        `json:"policy"`
	Limits          []Limit           `json:"limits"`
	Request         Request           `json:"request"`
	Samples         int64             `json:"samples"`
	HumanSamples    int64             `json:"human_samples"`
	Synthetic       int64             `json:"synthetic_samples"`
	SyntheticRatio  float64           `json:"synthetic_ratio"`
	PoolSize        int64             `json:"pool_size"` // samples the policy admitted before selection
	Generations     []GenerationCount `json:"generations"`
	GenerationBases []Count           `json:"generation_bases"`
	Toxicity        Toxicity          `json:"toxicity"`
}

// PolicyInfo identifies one immutable policy version.
type PolicyInfo struct {
	Ref      string `json:"ref"` // name@version
	Name     string `json:"name"`
	Version  int    `json:"version"`
	SHA256   string `json:"sha256"`
	LogIndex int64  `json:"log_index"`
}

// Limit is one entry of a policy's limits object, with its JSON value.
type Limit struct {
	Name  string          `json:"name"`
	Value json.RawMessage `json:"value"`
}

// Request is what the mix's requester asked for.
type Request struct {
	Policy         string               `json:"policy"` // as requested; empty for the default policy
	Size           int                  `json:"size"`
	MinSize        int                  `json:"min_size"`
	SyntheticRatio *float64             `json:"synthetic_ratio"`
	Strategy       registry.MixStrategy `json:"strategy"`
	Filter         registry.MixFilter   `json:"filter"`
	Seed           int64                `json:"seed"`
}

// GenerationCount is how many samples of one generation a mix holds.
type GenerationCount struct {
	Generation int   `json:"generation"`
	Samples    int64 `json:"samples"`
}

// Toxicity is what a mix says about toxicity: the policy's toxicity limits and the scores of the
// selected samples.
type Toxicity struct {
	PolicyLimits []Limit  `json:"policy_limits"` // the limits whose names mention toxicity
	Scored       int64    `json:"scored"`
	Unscored     int64    `json:"unscored"`
	Min          *float64 `json:"min"`
	Max          *float64 `json:"max"`
	Mean         *float64 `json:"mean"`
}

// Evidence ties the summary to the tamper-evident log.
type Evidence struct {
	Checkpoint    Checkpoint    `json:"checkpoint"`
	Mixes         []MixEvidence `json:"mixes"`
	Records       []Record      `json:"records"` // the model, policy versions and generators
	LogIndexes    []int64       `json:"log_indexes"`
	VerifyCommand string        `json:"verify_command"`
	Verification  string        `json:"verification"`
}

// MixEvidence is a mix's place in the log and its decision's.
type MixEvidence struct {
	MixID            string    `json:"mix_id"`
	ManifestSHA256   string    `json:"manifest_sha256"`
	LogIndex         int64     `json:"log_index"`
	CreatedAt        time.Time `json:"created_at"`
	DecisionID       string    `json:"decision_id"`
	DecisionLogIndex int64     `json:"decision_log_index"`
}

// Record is another logged record the summary rests on.
type Record struct {
	Kind     string `json:"kind"` // "model", "disclosure", "policy_version" or "generator"
	Ref      string `json:"ref"`
	ID       string `json:"id,omitempty"`
	LogIndex int64  `json:"log_index"`
}

// Completeness says whether the summary can be published: every field the template requires that
// neither the registry's records nor the provider's disclosure fill is listed in Missing.
type Completeness struct {
	Publishable bool      `json:"publishable"`
	Missing     []Missing `json:"missing"`
}

// Missing is one required field the summary lacks, and where to fill it.
type Missing struct {
	Section string `json:"section"` // the template's section, e.g. "1.1"
	Field   string `json:"field"`   // the summary's field
	// Fill says what supplies it: a disclosure field (PUT /v1/models/{id}/disclosure) or a sample field.
	Fill string `json:"fill"`
}
