package openlineage

// The _schemaURL of each facet: the facet schema's $id (the version kept in testdata/openlineage-spec)
// and the JSON pointer to its definition.
const (
	schemaFacetURL            = "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"
	dataSourceFacetURL        = "https://openlineage.io/spec/facets/1-0-1/DatasourceDatasetFacet.json#/$defs/DatasourceDatasetFacet"
	datasetTypeFacetURL       = "https://openlineage.io/spec/facets/1-0-1/DatasetTypeDatasetFacet.json#/$defs/DatasetTypeDatasetFacet"
	datasetVersionFacetURL    = "https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet"
	inputStatisticsFacetURL   = "https://openlineage.io/spec/facets/1-0-0/InputStatisticsInputDatasetFacet.json#/$defs/InputStatisticsInputDatasetFacet"
	outputStatisticsFacetURL  = "https://openlineage.io/spec/facets/1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet"
	errorMessageFacetURL      = "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet"
	jobTypeFacetURL           = "https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet"
	documentationJobFacetURL  = "https://openlineage.io/spec/facets/1-1-0/DocumentationJobFacet.json#/$defs/DocumentationJobFacet"
	customFacetSchemaBase     = "https://raw.githubusercontent.com/pedigreeml/pedigree/main/openlineage/facets/1-0-0/"
	mixRunFacetURL            = customFacetSchemaBase + "PedigreeMixRunFacet.json#/$defs/PedigreeMixRunFacet"
	modelRunFacetURL          = customFacetSchemaBase + "PedigreeModelRunFacet.json#/$defs/PedigreeModelRunFacet"
	mixRunFacetName           = "pedigree_mix"
	modelRunFacetName         = "pedigree_model"
	datasetTypeModel          = "MODEL"
	programmingLanguageForErr = "GO"
)

// base is what every facet carries: who produced it and the schema it follows.
type base struct {
	Producer  string `json:"_producer"`
	SchemaURL string `json:"_schemaURL"`
}

// SchemaField is one field of a dataset's schema facet; Fields holds a struct's fields.
type SchemaField struct {
	Name        string        `json:"name"`
	Type        string        `json:"type,omitempty"`
	Description string        `json:"description,omitempty"`
	Fields      []SchemaField `json:"fields,omitempty"`
}

type schemaFacet struct {
	base
	Fields []SchemaField `json:"fields"`
}

type dataSourceFacet struct {
	base
	Name string `json:"name"`
	URI  string `json:"uri,omitempty"`
}

type datasetTypeFacet struct {
	base
	DatasetType string `json:"datasetType"`
}

type datasetVersionFacet struct {
	base
	DatasetVersion string `json:"datasetVersion"`
}

type statisticsFacet struct {
	base
	RowCount int64 `json:"rowCount"`
}

type errorMessageFacet struct {
	base
	Message             string `json:"message"`
	ProgrammingLanguage string `json:"programmingLanguage"`
}

type jobTypeFacet struct {
	base
	ProcessingType string `json:"processingType"`
	Integration    string `json:"integration"`
	JobType        string `json:"jobType"`
}

type documentationFacet struct {
	base
	Description string `json:"description"`
	ContentType string `json:"contentType,omitempty"`
}

// PolicyRef names the policy version that decided a mix.
type PolicyRef struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
	SHA256  string `json:"sha256"`
}

// MixRunFacet is the run facet "pedigree_mix": what the registry decided about a mix and what the
// mix holds. Its schema is facets/1-0-0/PedigreeMixRunFacet.json.
type MixRunFacet struct {
	base
	DecisionID     string         `json:"decisionId"`
	Allowed        bool           `json:"allowed"`
	MixID          string         `json:"mixId,omitempty"`
	Policy         PolicyRef      `json:"policy"`
	Size           int            `json:"size"`
	Seed           int64          `json:"seed"`
	Human          int            `json:"human"`
	Synthetic      int            `json:"synthetic"`
	SyntheticRatio float64        `json:"syntheticRatio"`
	Generations    map[string]int `json:"generations"`
	Models         map[string]int `json:"models"`
	ManifestSHA256 string         `json:"manifestSha256,omitempty"`
	Violations     []string       `json:"violations,omitempty"`
}

// ModelRunFacet is the run facet "pedigree_model": the registered model and the generation the
// registry derived for it. Its schema is facets/1-0-0/PedigreeModelRunFacet.json.
type ModelRunFacet struct {
	base
	ModelID         string   `json:"modelId"`
	Name            string   `json:"name"`
	Version         string   `json:"version"`
	Provider        string   `json:"provider,omitempty"`
	Generation      int      `json:"generation"`
	GenerationBasis string   `json:"generationBasis"`
	TrainedOn       []string `json:"trainedOn"`
}
