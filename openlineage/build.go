package openlineage

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/pedigreeml/pedigree/registry"
)

// Config names what the events are about.
type Config struct {
	// Namespace holds the jobs and the datasets (the registry's datasets, mixes and models);
	// DefaultNamespace if empty. One registry is one namespace.
	Namespace string
	// Producer is the URI in every event's producer and facet's _producer; DefaultProducer if empty.
	Producer string
}

func (c Config) namespace() string {
	if c.Namespace == "" {
		return DefaultNamespace
	}
	return c.Namespace
}

func (c Config) producer() string {
	if c.Producer == "" {
		return DefaultProducer
	}
	return c.Producer
}

func (c Config) base(schemaURL string) base {
	return base{Producer: c.producer(), SchemaURL: schemaURL}
}

// Dataset names in the namespace.
const (
	datasetPrefix = "datasets/"
	mixPrefix     = "mixes/"
	modelPrefix   = "models/"
	// noDataset names the input of samples registered without a dataset.
	noDataset = "samples"
)

// DatasetName is the OpenLineage name of a registry dataset (the dataset field of samples).
func DatasetName(dataset string) string { return datasetPrefix + dataset }

// MixName is the OpenLineage name of a mix.
func MixName(id string) string { return mixPrefix + id }

// ModelName is the OpenLineage name of a model, by its name@version.
func ModelName(ref string) string { return modelPrefix + ref }

// sampleFields are the columns of a mix's export (and of the registry's samples): the schema facet of
// every dataset but a model. A test keeps the names in step with mixer/export.
var sampleFields = []SchemaField{
	{Name: "id", Type: "STRING", Description: "The sample's id, a UUIDv7 the registry assigned."},
	{Name: "external_id", Type: "STRING", Description: "The pipeline's own id of the sample; null if none was given."},
	{Name: "origin", Type: "STRING", Description: "human or model."},
	{Name: "model", Type: "STRING", Description: "The generating model as name@version; null for human text."},
	{Name: "generation", Type: "INTEGER", Description: "How many model passes separate the text from human writing."},
	{Name: "generation_basis", Type: "STRING", Description: "What the generation rests on: human, mixes or declared."},
	{Name: "dataset", Type: "STRING", Description: "The collection the sample arrived in; null if none."},
	{Name: "source", Type: "STRUCT", Description: "Where the sample was obtained and under which licence.", Fields: []SchemaField{
		{Name: "kind", Type: "STRING"}, {Name: "name", Type: "STRING"}, {Name: "uri", Type: "STRING"},
		{Name: "license", Type: "STRING", Description: "An SPDX expression."},
	}},
	{Name: "parents", Type: "ARRAY<STRING>", Description: "Ids of the samples this one was derived from."},
	{Name: "prompt_id", Type: "STRING", Description: "The prompt sample this one answers; null if none."},
	{Name: "metrics", Type: "STRUCT", Description: "Scores computed by the registry at ingest.", Fields: []SchemaField{
		{Name: "tokens", Type: "INTEGER"}, {Name: "mtld", Type: "DOUBLE"},
		{Name: "toxicity", Type: "DOUBLE", Description: "null if the scorer was unavailable."},
		{Name: "metrics_version", Type: "STRING"}, {Name: "toxicity_scorer", Type: "STRING"},
	}},
	{Name: "collected_at", Type: "TIMESTAMP", Description: "When the text was collected, as its registrant stated it; null if unknown."},
	{Name: "text", Type: "STRING", Description: "The sample's text (UTF-8)."},
}

// proposal is the part of a stored decision's input (mixer.Summary) that the events need: the
// proposed mix's size and statistics, and the request's seed.
type proposal struct {
	Size    int               `json:"size"`
	Stats   registry.MixStats `json:"stats"`
	Request struct {
		Seed int64 `json:"seed"`
	} `json:"request"`
}

// MixEvents returns the run of a mix build: START, then COMPLETE for a mix the policy allowed (m is
// the mix) or FAIL for a refusal (m is nil; the decision's input holds the proposed mix). The run id
// is the decision's id. A stored decision and mix always give the same events.
func (c Config) MixEvents(d *registry.Decision, m *registry.Mix) ([]RunEvent, error) {
	if d == nil || d.ID == "" {
		return nil, errors.New("openlineage: a mix run needs a stored decision")
	}
	if d.Allowed != (m != nil) {
		return nil, fmt.Errorf("openlineage: decision %s allowed=%v does not match the mix given", d.ID, d.Allowed)
	}
	facet := MixRunFacet{base: c.base(mixRunFacetURL), DecisionID: d.ID, Allowed: d.Allowed,
		Policy: PolicyRef{Name: d.Policy.Name, Version: d.Policy.Version, SHA256: d.Policy.SHA256}}
	var stats registry.MixStats
	if m != nil {
		if m.DecisionID != d.ID {
			return nil, fmt.Errorf("openlineage: mix %s was decided by %s, not %s", m.ID, m.DecisionID, d.ID)
		}
		stats = m.Stats
		facet.MixID, facet.Size, facet.Seed, facet.ManifestSHA256 = m.ID, m.Size, m.Seed, m.ManifestSHA256
	} else {
		var p proposal
		if err := json.Unmarshal(d.Input, &p); err != nil {
			return nil, fmt.Errorf("openlineage: decision %s input: %w", d.ID, err)
		}
		stats = p.Stats
		facet.Size, facet.Seed, facet.Violations = p.Size, p.Request.Seed, d.Violations
	}
	facet.Human, facet.Synthetic, facet.SyntheticRatio = stats.Human, stats.Synthetic, stats.SyntheticRatio
	facet.Generations, facet.Models = nonNil(stats.Generations), nonNil(stats.Models)

	ns := c.namespace()
	job := Job{Namespace: ns, Name: MixJob, Facets: map[string]any{
		"jobType": jobTypeFacet{base: c.base(jobTypeFacetURL), ProcessingType: "BATCH", Integration: "PEDIGREE", JobType: "MIX"},
		"documentation": documentationFacet{base: c.base(documentationJobFacetURL), ContentType: "text/plain",
			Description: "Builds a training mix: admits samples with a policy version, selects them by strategy within the policy's limits, and records the policy's decision."},
	}}
	inputs := c.mixInputs(stats, facet.Size)
	var outputs []Dataset
	if m != nil {
		outputs = []Dataset{{Namespace: ns, Name: MixName(m.ID),
			Facets: map[string]any{
				"schema":     schemaFacet{base: c.base(schemaFacetURL), Fields: sampleFields},
				"dataSource": c.dataSource(),
				"version":    datasetVersionFacet{base: c.base(datasetVersionFacetURL), DatasetVersion: m.ManifestSHA256},
			},
			OutputFacets: map[string]any{"outputStatistics": statisticsFacet{base: c.base(outputStatisticsFacetURL), RowCount: int64(m.Size)}},
		}}
	}
	at := eventTime(d.EvaluatedAt)
	start := RunEvent{EventTime: at, EventType: EventStart, Producer: c.producer(), SchemaURL: EventSchemaURL,
		Run: Run{RunID: d.ID, Facets: map[string]any{mixRunFacetName: facet}}, Job: job, Inputs: inputs, Outputs: outputs}
	if outputs == nil {
		start.Outputs = []Dataset{}
	}
	end := start
	end.EventType = EventComplete
	if m == nil {
		end.EventType = EventFail
		end.Run = Run{RunID: d.ID, Facets: map[string]any{mixRunFacetName: facet,
			"errorMessage": errorMessageFacet{base: c.base(errorMessageFacetURL), Message: refusal(d), ProgrammingLanguage: programmingLanguageForErr}}}
	}
	return []RunEvent{start, end}, nil
}

// refusal says why the policy refused a mix, as the API's 422 does.
func refusal(d *registry.Decision) string {
	if len(d.Violations) == 0 {
		return "the policy refused the mix"
	}
	return "the policy refused the mix: " + strings.Join(d.Violations, "; ")
}

// mixInputs lists the datasets a mix drew from, by name, with the samples it took from each; samples
// without a dataset are one more input.
func (c Config) mixInputs(stats registry.MixStats, size int) []Dataset {
	names := make([]string, 0, len(stats.Datasets))
	rest := size
	for name, n := range stats.Datasets {
		names = append(names, name)
		rest -= n
	}
	slices.Sort(names)
	out := make([]Dataset, 0, len(names)+1)
	add := func(name string, n int) {
		out = append(out, Dataset{Namespace: c.namespace(), Name: name,
			Facets: map[string]any{
				"schema":     schemaFacet{base: c.base(schemaFacetURL), Fields: sampleFields},
				"dataSource": c.dataSource(),
			},
			InputFacets: map[string]any{"inputStatistics": statisticsFacet{base: c.base(inputStatisticsFacetURL), RowCount: int64(n)}},
		})
	}
	for _, name := range names {
		add(DatasetName(name), stats.Datasets[name])
	}
	if rest > 0 {
		add(noDataset, rest)
	}
	return out
}

// dataSource is the data source of every dataset the events name: the registry, by its namespace.
func (c Config) dataSource() dataSourceFacet {
	return dataSourceFacet{base: c.base(dataSourceFacetURL), Name: c.namespace()}
}

// ModelEvents returns the run that links a model to the mixes it was trained on: START and COMPLETE
// of the job "pedigree/model", the mixes as inputs and the model as the output, a dataset of type
// MODEL. The run id is the model's id. A model without trained_on has no run: it returns nil.
func (c Config) ModelEvents(m *registry.Model) []RunEvent {
	if m == nil || len(m.TrainedOn) == 0 {
		return nil
	}
	ns := c.namespace()
	inputs := make([]Dataset, len(m.TrainedOn))
	for i, id := range m.TrainedOn {
		inputs[i] = Dataset{Namespace: ns, Name: MixName(id), Facets: map[string]any{
			"schema":     schemaFacet{base: c.base(schemaFacetURL), Fields: sampleFields},
			"dataSource": c.dataSource(),
		}}
	}
	output := Dataset{Namespace: ns, Name: ModelName(m.Ref()), Facets: map[string]any{
		"datasetType": datasetTypeFacet{base: c.base(datasetTypeFacetURL), DatasetType: datasetTypeModel},
		"dataSource":  c.dataSource(),
		"version":     datasetVersionFacet{base: c.base(datasetVersionFacetURL), DatasetVersion: m.Version},
	}}
	facet := ModelRunFacet{base: c.base(modelRunFacetURL), ModelID: m.ID, Name: m.Name, Version: m.Version, Provider: m.Provider,
		Generation: m.Generation, GenerationBasis: m.GenerationBasis, TrainedOn: m.TrainedOn}
	job := Job{Namespace: ns, Name: ModelJob, Facets: map[string]any{
		"jobType": jobTypeFacet{base: c.base(jobTypeFacetURL), ProcessingType: "BATCH", Integration: "PEDIGREE", JobType: "MODEL"},
		"documentation": documentationFacet{base: c.base(documentationJobFacetURL), ContentType: "text/plain",
			Description: "Registers a model in Pedigree as trained on these mixes (the training itself ran elsewhere); the model's generation is derived from them."},
	}}
	start := RunEvent{EventTime: eventTime(m.CreatedAt), EventType: EventStart, Producer: c.producer(), SchemaURL: EventSchemaURL,
		Run: Run{RunID: m.ID, Facets: map[string]any{modelRunFacetName: facet}}, Job: job, Inputs: inputs, Outputs: []Dataset{output}}
	end := start
	end.EventType = EventComplete
	return []RunEvent{start, end}
}

func nonNil(m map[string]int) map[string]int {
	if m == nil {
		return map[string]int{}
	}
	return m
}
