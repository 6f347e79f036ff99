package openlineage_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/pedigreeml/pedigree/mixer/export"
	"github.com/pedigreeml/pedigree/openlineage"
	"github.com/pedigreeml/pedigree/openlineage/oltest"
	"github.com/pedigreeml/pedigree/registry"
)

var (
	at     = time.Date(2026, 11, 30, 12, 34, 56, 789_000_000, time.UTC)
	policy = registry.PolicyRef{Name: "default", Version: 3, SHA256: strings.Repeat("ab", 32)}
)

func newID(t *testing.T) string {
	t.Helper()
	return uuid.Must(uuid.NewV7()).String()
}

// allowed returns a stored decision and the mix it allowed: 6 samples, 2 synthetic, from two
// datasets and one sample without a dataset.
func allowed(t *testing.T) (*registry.Decision, *registry.Mix) {
	stats := registry.MixStats{Human: 4, Synthetic: 2, SyntheticRatio: 2.0 / 6, Generations: map[string]int{"0": 4, "1": 2},
		Models: map[string]int{"teacher@1": 2}, Datasets: map[string]int{"wiki": 3, "answers": 2}}
	d := &registry.Decision{ID: newID(t), Policy: policy, Allowed: true, Violations: []string{}, Input: json.RawMessage(`{}`), EvaluatedAt: at}
	m := &registry.Mix{ID: newID(t), Policy: policy, DecisionID: d.ID, Size: 6, Seed: 7, Stats: stats,
		ManifestSHA256: strings.Repeat("cd", 32), CreatedAt: at}
	d.MixID = m.ID
	return d, m
}

// refusedDecision returns a stored refusal whose input proposed 3 samples, all synthetic.
func refusedDecision(t *testing.T) *registry.Decision {
	input := `{"size":3,"strategy":{"name":"random"},"stats":{"human":0,"synthetic":3,"synthetic_ratio":1,
		"generations":{"2":3},"models":{"teacher@1":3},"datasets":{"answers":3}},"request":{"size":10,"seed":42}}`
	return &registry.Decision{ID: newID(t), Policy: policy, Allowed: false,
		Violations: []string{"synthetic share 1 exceeds 0.5", "generation 2 exceeds 1"}, Input: json.RawMessage(input), EvaluatedAt: at}
}

func encode(t *testing.T, events []openlineage.RunEvent) [][]byte {
	t.Helper()
	out := make([][]byte, len(events))
	for i, ev := range events {
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = b
	}
	return out
}

// decoded is an event as a consumer reads it.
type decoded struct {
	EventTime string `json:"eventTime"`
	EventType string `json:"eventType"`
	Run       struct {
		RunID  string                     `json:"runId"`
		Facets map[string]json.RawMessage `json:"facets"`
	} `json:"run"`
	Job struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	} `json:"job"`
	Inputs  []decodedDataset `json:"inputs"`
	Outputs []decodedDataset `json:"outputs"`
}

type decodedDataset struct {
	Namespace    string                     `json:"namespace"`
	Name         string                     `json:"name"`
	Facets       map[string]json.RawMessage `json:"facets"`
	InputFacets  map[string]json.RawMessage `json:"inputFacets"`
	OutputFacets map[string]json.RawMessage `json:"outputFacets"`
}

func decode(t *testing.T, b []byte) decoded {
	t.Helper()
	var d decoded
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func facet[T any](t *testing.T, facets map[string]json.RawMessage, key string) T {
	t.Helper()
	var v T
	raw, ok := facets[key]
	if !ok {
		t.Fatalf("no facet %q in %v", key, facets)
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

type mixFacet struct {
	DecisionID     string         `json:"decisionId"`
	Allowed        bool           `json:"allowed"`
	MixID          string         `json:"mixId"`
	Policy         map[string]any `json:"policy"`
	Size           int            `json:"size"`
	Seed           int64          `json:"seed"`
	SyntheticRatio float64        `json:"syntheticRatio"`
	Generations    map[string]int `json:"generations"`
	Models         map[string]int `json:"models"`
	ManifestSHA256 string         `json:"manifestSha256"`
	Violations     []string       `json:"violations"`
	Producer       string         `json:"_producer"`
}

func TestMixEventsAllowed(t *testing.T) {
	v := oltest.New(t)
	d, m := allowed(t)
	cfg := openlineage.Config{Namespace: "team-a"}
	events, err := cfg.MixEvents(d, m)
	if err != nil {
		t.Fatal(err)
	}
	raw := encode(t, events)
	v.Validate(t, raw...)
	if len(raw) != 2 {
		t.Fatalf("%d events; want START and COMPLETE", len(raw))
	}
	start, end := decode(t, raw[0]), decode(t, raw[1])
	if start.EventType != "START" || end.EventType != "COMPLETE" {
		t.Errorf("event types %s, %s; want START, COMPLETE", start.EventType, end.EventType)
	}
	for _, ev := range []decoded{start, end} {
		if ev.Run.RunID != d.ID || ev.Job.Namespace != "team-a" || ev.Job.Name != "pedigree/mix" {
			t.Errorf("run %s job %s/%s; want run %s, job team-a/pedigree/mix", ev.Run.RunID, ev.Job.Namespace, ev.Job.Name, d.ID)
		}
		if ev.EventTime != "2026-11-30T12:34:56.789Z" {
			t.Errorf("eventTime %s; want the decision's time", ev.EventTime)
		}
		var names []string
		for _, in := range ev.Inputs {
			names = append(names, in.Namespace+"/"+in.Name+"="+string(in.InputFacets["inputStatistics"]))
			if _, ok := in.Facets["schema"]; !ok {
				t.Errorf("input %s has no schema facet", in.Name)
			}
			if ds := facet[map[string]any](t, in.Facets, "dataSource"); ds["name"] != "team-a" {
				t.Errorf("input %s dataSource %v", in.Name, ds)
			}
		}
		want := []string{"team-a/datasets/answers", "team-a/datasets/wiki", "team-a/samples"}
		for i, n := range names {
			if !strings.HasPrefix(n, want[i]+"=") {
				t.Errorf("input %d is %s; want %s", i, n, want[i])
			}
		}
		for i, rows := range []int{2, 3, 1} {
			if got := facet[map[string]any](t, ev.Inputs[i].InputFacets, "inputStatistics")["rowCount"]; got != float64(rows) {
				t.Errorf("input %s rowCount %v; want %d", ev.Inputs[i].Name, got, rows)
			}
		}
		if len(ev.Outputs) != 1 || ev.Outputs[0].Name != "mixes/"+m.ID {
			t.Fatalf("outputs %+v; want the mix", ev.Outputs)
		}
		out := ev.Outputs[0]
		if got := facet[map[string]any](t, out.Facets, "version")["datasetVersion"]; got != m.ManifestSHA256 {
			t.Errorf("mix version %v; want the manifest hash", got)
		}
		if got := facet[map[string]any](t, out.OutputFacets, "outputStatistics")["rowCount"]; got != float64(6) {
			t.Errorf("mix rowCount %v; want 6", got)
		}
		f := facet[mixFacet](t, ev.Run.Facets, "pedigree_mix")
		if f.DecisionID != d.ID || !f.Allowed || f.MixID != m.ID || f.ManifestSHA256 != m.ManifestSHA256 || f.Size != 6 || f.Seed != 7 ||
			f.SyntheticRatio != 2.0/6 || f.Generations["1"] != 2 || f.Models["teacher@1"] != 2 || f.Policy["version"] != float64(3) ||
			len(f.Violations) != 0 || f.Producer != openlineage.DefaultProducer {
			t.Errorf("pedigree_mix facet %+v", f)
		}
		if _, ok := ev.Run.Facets["errorMessage"]; ok {
			t.Error("an allowed mix carries an errorMessage facet")
		}
	}
	again, err := cfg.MixEvents(d, m)
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range encode(t, again) {
		if !bytes.Equal(b, raw[i]) {
			t.Errorf("event %d differs the second time:\n%s\n%s", i, raw[i], b)
		}
	}
}

func TestMixEventsRefused(t *testing.T) {
	v := oltest.New(t)
	d := refusedDecision(t)
	events, err := openlineage.Config{}.MixEvents(d, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw := encode(t, events)
	v.Validate(t, raw...)
	start, fail := decode(t, raw[0]), decode(t, raw[1])
	if start.EventType != "START" || fail.EventType != "FAIL" || start.Run.RunID != d.ID || fail.Run.RunID != d.ID {
		t.Fatalf("events %s %s, run %s %s; want START, FAIL of run %s", start.EventType, fail.EventType, start.Run.RunID, fail.Run.RunID, d.ID)
	}
	if start.Job.Namespace != "pedigree" {
		t.Errorf("namespace %q; want the default, pedigree", start.Job.Namespace)
	}
	if len(fail.Outputs) != 0 || len(fail.Inputs) != 1 || fail.Inputs[0].Name != "datasets/answers" {
		t.Errorf("inputs %+v outputs %+v; want the proposed mix's one dataset and no output", fail.Inputs, fail.Outputs)
	}
	f := facet[mixFacet](t, fail.Run.Facets, "pedigree_mix")
	if f.Allowed || f.MixID != "" || f.ManifestSHA256 != "" || f.Size != 3 || f.Seed != 42 || f.Models["teacher@1"] != 3 ||
		!slices.Equal(f.Violations, d.Violations) {
		t.Errorf("pedigree_mix facet %+v", f)
	}
	msg := facet[map[string]any](t, fail.Run.Facets, "errorMessage")["message"]
	if msg != "the policy refused the mix: synthetic share 1 exceeds 0.5; generation 2 exceeds 1" {
		t.Errorf("errorMessage %q", msg)
	}
	if _, ok := start.Run.Facets["errorMessage"]; ok {
		t.Error("START carries the refusal")
	}
}

func TestMixEventsRefuseInconsistentRecords(t *testing.T) {
	d, m := allowed(t)
	other, _ := allowed(t)
	refused := refusedDecision(t)
	for name, tc := range map[string]struct {
		d *registry.Decision
		m *registry.Mix
	}{
		"NoDecision":          {nil, m},
		"UnstoredDecision":    {&registry.Decision{Allowed: true}, m},
		"AllowedWithoutMix":   {d, nil},
		"RefusedWithMix":      {refused, m},
		"MixOfOtherDecision":  {other, m},
		"RefusalWithBadInput": {&registry.Decision{ID: newID(t), Input: json.RawMessage(`[`)}, nil},
	} {
		t.Run(name, func(t *testing.T) {
			if events, err := (openlineage.Config{}).MixEvents(tc.d, tc.m); err == nil {
				t.Errorf("built %d events from inconsistent records", len(events))
			}
		})
	}
}

func TestModelEvents(t *testing.T) {
	v := oltest.New(t)
	mixes := []string{newID(t), newID(t)}
	m := &registry.Model{ID: newID(t), Name: "student", Version: "2", Provider: "lab", TrainedOn: mixes,
		Generation: 2, GenerationBasis: registry.BasisMixes, CreatedAt: at}
	cfg := openlineage.Config{Namespace: "ns", Producer: "https://example.org/pedigree/v1"}
	raw := encode(t, cfg.ModelEvents(m))
	v.Validate(t, raw...)
	if len(raw) != 2 {
		t.Fatalf("%d events; want 2", len(raw))
	}
	for i, want := range []string{"START", "COMPLETE"} {
		ev := decode(t, raw[i])
		if ev.EventType != want || ev.Run.RunID != m.ID || ev.Job.Name != "pedigree/model" || ev.Job.Namespace != "ns" {
			t.Errorf("event %d: %s run %s job %s/%s", i, ev.EventType, ev.Run.RunID, ev.Job.Namespace, ev.Job.Name)
		}
		if len(ev.Inputs) != 2 || ev.Inputs[0].Name != "mixes/"+mixes[0] || ev.Inputs[1].Name != "mixes/"+mixes[1] {
			t.Errorf("inputs %+v; want the two mixes", ev.Inputs)
		}
		for _, in := range ev.Inputs {
			if _, ok := in.Facets["schema"]; !ok {
				t.Errorf("the mix %s has no schema facet", in.Name)
			}
		}
		if len(ev.Outputs) != 1 || ev.Outputs[0].Name != "models/student@2" {
			t.Fatalf("outputs %+v; want the model", ev.Outputs)
		}
		if typ := facet[map[string]any](t, ev.Outputs[0].Facets, "datasetType")["datasetType"]; typ != "MODEL" {
			t.Errorf("datasetType %v; want MODEL", typ)
		}
		f := facet[map[string]any](t, ev.Run.Facets, "pedigree_model")
		if f["modelId"] != m.ID || f["generation"] != float64(2) || f["generationBasis"] != "mixes" || f["_producer"] != cfg.Producer {
			t.Errorf("pedigree_model facet %v", f)
		}
	}
	if got := cfg.ModelEvents(&registry.Model{ID: newID(t), Name: "base", Version: "1", CreatedAt: at}); got != nil {
		t.Errorf("a model without trained_on has %d events; want none", len(got))
	}
}

// TestValidatorCatchesInvalidEvents makes sure the schema check can fail: each case breaks a valid
// event in one way the spec or a facet schema forbids.
func TestValidatorCatchesInvalidEvents(t *testing.T) {
	v := oltest.New(t)
	d, m := allowed(t)
	events, err := openlineage.Config{}.MixEvents(d, m)
	if err != nil {
		t.Fatal(err)
	}
	good := encode(t, events)[1]
	if err := v.Check(good); err != nil {
		t.Fatalf("the valid event fails: %v", err)
	}
	for name, edit := range map[string]func(map[string]any){
		"RunIDNotUUID": func(e map[string]any) { e["run"].(map[string]any)["runId"] = "mix-1" },
		"NoJobName":    func(e map[string]any) { delete(e["job"].(map[string]any), "name") },
		"BadEventType": func(e map[string]any) { e["eventType"] = "DONE" },
		"BadEventTime": func(e map[string]any) { e["eventTime"] = "yesterday" },
		"FacetWithoutProducer": func(e map[string]any) {
			delete(e["run"].(map[string]any)["facets"].(map[string]any)["pedigree_mix"].(map[string]any), "_producer")
		},
		"CustomFacetMissingField": func(e map[string]any) {
			delete(e["run"].(map[string]any)["facets"].(map[string]any)["pedigree_mix"].(map[string]any), "decisionId")
		},
		"CustomFacetAllowedWithoutMix": func(e map[string]any) {
			delete(e["run"].(map[string]any)["facets"].(map[string]any)["pedigree_mix"].(map[string]any), "mixId")
		},
		"WrongSchemaURL": func(e map[string]any) {
			out := e["outputs"].([]any)[0].(map[string]any)
			out["facets"].(map[string]any)["version"].(map[string]any)["_schemaURL"] = "https://openlineage.io/spec/facets/1-0-0/DatasetVersionDatasetFacet.json"
		},
		"UnknownFacet": func(e map[string]any) {
			e["job"].(map[string]any)["facets"].(map[string]any)["mystery"] = map[string]any{"_producer": "https://x.org", "_schemaURL": "https://x.org/s.json"}
		},
		"SchemaFieldWithoutName": func(e map[string]any) {
			in := e["inputs"].([]any)[0].(map[string]any)
			in["facets"].(map[string]any)["schema"].(map[string]any)["fields"] = []any{map[string]any{"type": "STRING"}}
		},
	} {
		t.Run(name, func(t *testing.T) {
			var e map[string]any
			if err := json.Unmarshal(good, &e); err != nil {
				t.Fatal(err)
			}
			edit(e)
			b, _ := json.Marshal(e)
			if err := v.Check(b); err == nil {
				t.Errorf("the broken event passes:\n%s", b)
			}
		})
	}
}

// TestSchemaFacetFollowsTheExport keeps the schema facet's fields the columns of a mix's export.
func TestSchemaFacetFollowsTheExport(t *testing.T) {
	d, m := allowed(t)
	events, err := openlineage.Config{}.MixEvents(d, m)
	if err != nil {
		t.Fatal(err)
	}
	ev := decode(t, encode(t, events)[0])
	fields := facet[struct {
		Fields []struct {
			Name string `json:"name"`
		} `json:"fields"`
	}](t, ev.Outputs[0].Facets, "schema").Fields
	var names []string
	for _, f := range fields {
		names = append(names, f.Name)
	}
	if want := export.ColumnNames(); !slices.Equal(names, want) {
		t.Errorf("schema facet fields %v; the export's columns are %v", names, want)
	}
}
