// Package oltest checks OpenLineage events against the official JSON schemas, offline: the copies of
// the spec and of the facet schemas in openlineage/testdata/openlineage-spec (Apache-2.0, see the
// LICENSE there), and the registry's own facet schemas in openlineage/facets. It is test support:
// any package's tests can import it.
package oltest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// facetSchemas maps each facet key the registry emits to its schema file, relative to the
// openlineage directory. A facet under any other key fails the check: every facet is validated.
var facetSchemas = map[string]string{
	"schema":           "testdata/openlineage-spec/facets/SchemaDatasetFacet.json",
	"dataSource":       "testdata/openlineage-spec/facets/DatasourceDatasetFacet.json",
	"datasetType":      "testdata/openlineage-spec/facets/DatasetTypeDatasetFacet.json",
	"version":          "testdata/openlineage-spec/facets/DatasetVersionDatasetFacet.json",
	"inputStatistics":  "testdata/openlineage-spec/facets/InputStatisticsInputDatasetFacet.json",
	"outputStatistics": "testdata/openlineage-spec/facets/OutputStatisticsOutputDatasetFacet.json",
	"errorMessage":     "testdata/openlineage-spec/facets/ErrorMessageRunFacet.json",
	"jobType":          "testdata/openlineage-spec/facets/JobTypeJobFacet.json",
	"documentation":    "testdata/openlineage-spec/facets/DocumentationJobFacet.json",
	"pedigree_mix":     "facets/1-0-0/PedigreeMixRunFacet.json",
	"pedigree_model":   "facets/1-0-0/PedigreeModelRunFacet.json",
}

const specFile = "testdata/openlineage-spec/OpenLineage.json"

// Validator checks events. It is safe for concurrent use.
type Validator struct {
	event  *jsonschema.Schema
	facets map[string]facetSchema
}

type facetSchema struct {
	schema    *jsonschema.Schema
	schemaURL string // what the facet's _schemaURL must say: the file's $id and its definition
}

var (
	once    sync.Once
	loaded  *Validator
	errLoad error
)

// New returns the validator, loading and compiling the schemas once; a schema that does not load
// fails tb.
func New(tb testing.TB) *Validator {
	tb.Helper()
	once.Do(func() { loaded, errLoad = load() })
	if errLoad != nil {
		tb.Fatalf("OpenLineage schemas: %v", errLoad)
	}
	return loaded
}

// dir is the openlineage package's directory, found from this file's.
func dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

func load() (*Validator, error) {
	c := jsonschema.NewCompiler()
	c.AssertFormat() // runId must be a uuid, eventTime a date-time, producer a uri
	ids := map[string]string{}
	add := func(rel string) (string, map[string]any, error) {
		b, err := os.ReadFile(filepath.Join(dir(), rel))
		if err != nil {
			return "", nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return "", nil, fmt.Errorf("%s: %w", rel, err)
		}
		m, _ := doc.(map[string]any)
		id, _ := m["$id"].(string)
		if id == "" {
			return "", nil, fmt.Errorf("%s has no $id", rel)
		}
		if err := c.AddResource(id, doc); err != nil {
			return "", nil, fmt.Errorf("%s: %w", rel, err)
		}
		ids[rel] = id
		return id, m, nil
	}
	specID, _, err := add(specFile)
	if err != nil {
		return nil, err
	}
	defs := map[string]string{}
	for key, rel := range facetSchemas {
		_, m, err := add(rel)
		if err != nil {
			return nil, err
		}
		// The file's one property is the facet's key; its $ref names the definition.
		props, _ := m["properties"].(map[string]any)
		prop, _ := props[key].(map[string]any)
		ref, _ := prop["$ref"].(string)
		if !strings.HasPrefix(ref, "#/$defs/") {
			return nil, fmt.Errorf("%s does not define the facet %q", rel, key)
		}
		defs[key] = ref
	}
	v := &Validator{facets: map[string]facetSchema{}}
	if v.event, err = c.Compile(specID); err != nil {
		return nil, fmt.Errorf("%s: %w", specFile, err)
	}
	for key, rel := range facetSchemas {
		s, err := c.Compile(ids[rel])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", rel, err)
		}
		v.facets[key] = facetSchema{schema: s, schemaURL: ids[rel] + defs[key]}
	}
	return v, nil
}

// Check validates one event's JSON: the event against the spec's schema, and each facet against its
// own facet schema, with the _schemaURL that schema's $id names. It returns every problem found.
func (v *Validator) Check(event []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(event))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	var problems []string
	if err := v.event.Validate(inst); err != nil {
		problems = append(problems, fmt.Sprintf("the event: %v", err))
	}
	var ev struct {
		Run struct {
			Facets map[string]json.RawMessage `json:"facets"`
		} `json:"run"`
		Job struct {
			Facets map[string]json.RawMessage `json:"facets"`
		} `json:"job"`
		Inputs  []dataset `json:"inputs"`
		Outputs []dataset `json:"outputs"`
	}
	if err := json.Unmarshal(event, &ev); err != nil {
		return err
	}
	check := func(where string, facets map[string]json.RawMessage) {
		keys := make([]string, 0, len(facets))
		for k := range facets {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if err := v.checkFacet(k, facets[k]); err != nil {
				problems = append(problems, fmt.Sprintf("%s facet %q: %v", where, k, err))
			}
		}
	}
	check("run", ev.Run.Facets)
	check("job", ev.Job.Facets)
	for i, d := range ev.Inputs {
		check(fmt.Sprintf("inputs/%d", i), d.Facets)
		check(fmt.Sprintf("inputs/%d input", i), d.InputFacets)
	}
	for i, d := range ev.Outputs {
		check(fmt.Sprintf("outputs/%d", i), d.Facets)
		check(fmt.Sprintf("outputs/%d output", i), d.OutputFacets)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "\n"))
	}
	return nil
}

type dataset struct {
	Facets       map[string]json.RawMessage `json:"facets"`
	InputFacets  map[string]json.RawMessage `json:"inputFacets"`
	OutputFacets map[string]json.RawMessage `json:"outputFacets"`
}

func (v *Validator) checkFacet(key string, raw json.RawMessage) error {
	fs, ok := v.facets[key]
	if !ok {
		return fmt.Errorf("no schema is known for it")
	}
	wrapped, err := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(`{"` + key + `":` + string(raw) + `}`)))
	if err != nil {
		return err
	}
	if err := fs.schema.Validate(wrapped); err != nil {
		return err
	}
	var b struct {
		SchemaURL string `json:"_schemaURL"`
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		return err
	}
	if b.SchemaURL != fs.schemaURL {
		return fmt.Errorf("_schemaURL is %q; the schema it follows is %q", b.SchemaURL, fs.schemaURL)
	}
	return nil
}

// Validate fails tb unless every event in events is valid.
func (v *Validator) Validate(tb testing.TB, events ...[]byte) {
	tb.Helper()
	for i, ev := range events {
		if err := v.Check(ev); err != nil {
			tb.Errorf("event %d is not a valid OpenLineage event:\n%v\n%s", i, err, ev)
		}
	}
}
