// Package openlineage describes what the registry does in OpenLineage (https://openlineage.io), the
// open standard for lineage that Marquez, DataHub and other catalogs read: each mix build is a run of
// the job "pedigree/mix" whose inputs are the datasets the mix drew from and whose output is the mix;
// each model registered with trained_on is a run of "pedigree/model" from its mixes to the model.
//
// Events are built from stored records only (a decision, a mix, a model), so the same record always
// gives the same events: the run id is the decision's (or the model's) id, a UUIDv7 as the spec
// recommends, and the event time is the time the registry recorded it. Publisher sends them to an
// OpenLineage HTTP endpoint from a bounded background queue.
package openlineage

import "time"

// SpecVersion is the version of the OpenLineage spec the events follow.
const SpecVersion = "2-0-2"

// EventSchemaURL is the schemaURL of every event: the RunEvent of the spec version.
const EventSchemaURL = "https://openlineage.io/spec/" + SpecVersion + "/OpenLineage.json#/$defs/RunEvent"

// DefaultProducer is the producer URI of events and facets when Config names none.
const DefaultProducer = "https://github.com/pedigreeml/pedigree"

// DefaultNamespace is the namespace of jobs and datasets when Config names none.
const DefaultNamespace = "pedigree"

// Job names.
const (
	MixJob   = "pedigree/mix"
	ModelJob = "pedigree/model"
)

// Event types of a run: every run has one START and one COMPLETE or FAIL.
const (
	EventStart    = "START"
	EventComplete = "COMPLETE"
	EventFail     = "FAIL"
)

// RunEvent is one OpenLineage run event.
type RunEvent struct {
	EventTime string    `json:"eventTime"`
	EventType string    `json:"eventType"`
	Producer  string    `json:"producer"`
	SchemaURL string    `json:"schemaURL"`
	Run       Run       `json:"run"`
	Job       Job       `json:"job"`
	Inputs    []Dataset `json:"inputs"`
	Outputs   []Dataset `json:"outputs"`
}

// Run identifies the run an event belongs to, with its facets.
type Run struct {
	RunID  string         `json:"runId"`
	Facets map[string]any `json:"facets,omitempty"`
}

// Job identifies the job a run instantiates.
type Job struct {
	Namespace string         `json:"namespace"`
	Name      string         `json:"name"`
	Facets    map[string]any `json:"facets,omitempty"`
}

// Dataset is an input or output dataset of a run. InputFacets go with inputs only, OutputFacets
// with outputs only.
type Dataset struct {
	Namespace    string         `json:"namespace"`
	Name         string         `json:"name"`
	Facets       map[string]any `json:"facets,omitempty"`
	InputFacets  map[string]any `json:"inputFacets,omitempty"`
	OutputFacets map[string]any `json:"outputFacets,omitempty"`
}

// eventTime writes t as the spec's date-time: RFC 3339 in UTC with milliseconds, the precision the
// registry stores.
func eventTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}
