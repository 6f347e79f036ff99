package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pedigreeml/pedigree/client"
	"github.com/pedigreeml/pedigree/openlineage/oltest"
	"github.com/pedigreeml/pedigree/registry"
)

// lineageReceiver is an OpenLineage endpoint on loopback (as Marquez's /api/v1/lineage): it answers
// each POST with fail(n) for the n-th request (from 1), and keeps the bodies it accepted, in order.
type lineageReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	requests int
	events   [][]byte
}

func newLineageReceiver(t *testing.T, answer func(n int) int) *lineageReceiver {
	t.Helper()
	r := &lineageReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil || req.Method != http.MethodPost || req.URL.Path != "/api/v1/lineage" ||
			req.Header.Get("Content-Type") != "application/json" {
			t.Errorf("the receiver got %s %s (%s): %v", req.Method, req.URL.Path, req.Header.Get("Content-Type"), err)
		}
		r.mu.Lock()
		r.requests++
		status := answer(r.requests)
		if status/100 == 2 {
			r.events = append(r.events, body)
		}
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

// received waits until the receiver has accepted n events and returns them with the number of
// requests it answered.
func (r *lineageReceiver) received(t *testing.T, n int) ([][]byte, int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r.mu.Lock()
		events, requests := append([][]byte(nil), r.events...), r.requests
		r.mu.Unlock()
		if len(events) >= n {
			return events, requests
		}
		if time.Now().After(deadline) {
			t.Fatalf("the receiver accepted %d events in %d requests; want %d", len(events), requests, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// lineageFixture registers two teachers, 30 human samples in two datasets and 80 model answers in a
// third, and the capPolicy (synthetic share at most 0.5); it returns an ingest and an auditor client.
func lineageFixture(t *testing.T, srv *testServer) (ingest, auditor *client.Client) {
	t.Helper()
	ctx := context.Background()
	if _, _, err := srv.Admin().PutPolicy(ctx, "cap", capPolicy); err != nil {
		t.Fatal(err)
	}
	ingest = srv.Client(srv.Key(registry.RoleIngest))
	auditor = srv.Client(srv.Key(registry.RoleAuditor))
	zero := 0
	var teachers []string
	for _, name := range []string{"teacher-a", "teacher-b"} {
		m := must[*registry.Model](t)(ingest.CreateModel(ctx, registry.NewModel{Name: name, Version: "1", DeclaredGeneration: &zero}, ""))
		teachers = append(teachers, m.Ref())
	}
	var batch []registry.NewSample
	for i, s := range humans("A person wrote this about rivers", 30) {
		s.Dataset = "wiki"
		if i%3 == 0 {
			s.Dataset = "forum"
		}
		batch = append(batch, s)
	}
	for i := range 80 {
		s := modelOut(fmt.Sprintf("Model answer %d, generated about rivers and their deltas today.", i), teachers[i%2], "")
		s.Dataset = "synthetic-qa"
		batch = append(batch, s)
	}
	must[[]client.IngestedSample](t)(ingest.IngestBatch(ctx, batch, ""))
	return ingest, auditor
}

// openLineageRun reads a run's events from the API.
func openLineageRun(t *testing.T, c *client.Client, path string) []json.RawMessage {
	t.Helper()
	_, body, err := c.Do(context.Background(), client.Request{Method: http.MethodGet, Path: path})
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	var run struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(body, &run); err != nil {
		t.Fatal(err)
	}
	return run.Events
}

// sameJSON says whether two JSON texts hold the same value.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}

// olEvent is what the test reads of an event.
type olEvent struct {
	EventType string `json:"eventType"`
	Run       struct {
		RunID  string `json:"runId"`
		Facets struct {
			Mix *struct {
				DecisionID     string         `json:"decisionId"`
				MixID          string         `json:"mixId"`
				Allowed        bool           `json:"allowed"`
				Policy         map[string]any `json:"policy"`
				SyntheticRatio float64        `json:"syntheticRatio"`
				Generations    map[string]int `json:"generations"`
				Models         map[string]int `json:"models"`
				ManifestSHA256 string         `json:"manifestSha256"`
				Violations     []string       `json:"violations"`
			} `json:"pedigree_mix"`
			Model *struct {
				ModelID string `json:"modelId"`
			} `json:"pedigree_model"`
			Error *struct {
				Message string `json:"message"`
			} `json:"errorMessage"`
		} `json:"facets"`
	} `json:"run"`
	Job struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	} `json:"job"`
	Inputs []struct {
		Name string `json:"name"`
	} `json:"inputs"`
	Outputs []struct {
		Name   string `json:"name"`
		Facets struct {
			DatasetType *struct {
				DatasetType string `json:"datasetType"`
			} `json:"datasetType"`
		} `json:"facets"`
	} `json:"outputs"`
}

func readEvent(t *testing.T, b []byte) olEvent {
	t.Helper()
	var e olEvent
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

func names(e olEvent) (in, out []string) {
	for _, d := range e.Inputs {
		in = append(in, d.Name)
	}
	for _, d := range e.Outputs {
		out = append(out, d.Name)
	}
	return in, out
}

func TestOpenLineageEndToEnd(t *testing.T) {
	v := oltest.New(t)
	rcv := newLineageReceiver(t, func(int) int { return http.StatusCreated })
	srv := startServer(t, "", "--openlineage-url", rcv.URL+"/api/v1/lineage", "--openlineage-namespace", "team-a")
	ctx := context.Background()
	ingest, auditor := lineageFixture(t, srv)

	// A mix the policy allows, one its limits cannot fill (min_size), one whose request asks for
	// more synthetic text than the policy allows, a dry run (no events) and a model trained on the
	// first mix.
	mix := must[*registry.Mix](t)(ingest.CreateMix(ctx, registry.MixRequest{Policy: "cap", Size: 40, Seed: 1}, ""))
	_, err := ingest.CreateMix(ctx, registry.MixRequest{Policy: "cap", Size: 200, MinSize: 150, Seed: 1}, "")
	short := problemOf(t, err)
	ratio := 0.9
	_, err = ingest.CreateMix(ctx, registry.MixRequest{Policy: "cap", Size: 10, SyntheticRatio: &ratio, Seed: 1}, "")
	greedy := problemOf(t, err)
	if short.Status != 422 || greedy.Status != 422 || short.DecisionID == "" || greedy.DecisionID == "" {
		t.Fatalf("refusals: %+v %+v", short, greedy)
	}
	must[*client.DryRun](t)(ingest.DryRunMix(ctx, registry.MixRequest{Policy: "cap", Size: 40, Seed: 2}))
	student := must[*registry.Model](t)(ingest.CreateModel(ctx, registry.NewModel{Name: "student", Version: "1", TrainedOn: []string{mix.ID}}, ""))
	must[*registry.Model](t)(ingest.CreateModel(ctx, registry.NewModel{Name: "base", Version: "1"}, "")) // no mixes: no run

	got, requests := rcv.received(t, 8)
	if len(got) != 8 || requests != 8 {
		t.Fatalf("the receiver got %d events in %d requests; want 8 (4 runs of 2)", len(got), requests)
	}
	v.Validate(t, got...)

	// The events arrive in the order the records were made, START before the end of each run, and
	// are the ones the API answers for the same records.
	runs := []struct {
		id, path, end string
	}{
		{mix.DecisionID, "/v1/mixes/" + mix.ID + "/openlineage", "COMPLETE"},
		{short.DecisionID, "/v1/decisions/" + short.DecisionID + "/openlineage", "FAIL"},
		{greedy.DecisionID, "/v1/decisions/" + greedy.DecisionID + "/openlineage", "FAIL"},
		{student.ID, "", "COMPLETE"},
	}
	for i, r := range runs {
		start, end := readEvent(t, got[2*i]), readEvent(t, got[2*i+1])
		if start.EventType != "START" || end.EventType != r.end || start.Run.RunID != r.id || end.Run.RunID != r.id {
			t.Errorf("run %d: %s %s of runs %s %s; want START, %s of run %s", i, start.EventType, end.EventType,
				start.Run.RunID, end.Run.RunID, r.end, r.id)
		}
		if start.Job.Namespace != "team-a" {
			t.Errorf("run %d: namespace %q; want team-a", i, start.Job.Namespace)
		}
		if r.path == "" {
			continue
		}
		api := openLineageRun(t, auditor, r.path)
		v.Validate(t, rawEvents(api)...)
		if len(api) != 2 || !sameJSON(t, api[0], got[2*i]) || !sameJSON(t, api[1], got[2*i+1]) {
			t.Errorf("GET %s answers other events than were sent:\n%s\nsent\n%s\n%s", r.path, api, got[2*i], got[2*i+1])
		}
	}
	if api := openLineageRun(t, auditor, "/v1/models/"+student.ID+"/openlineage"); len(api) != 2 || !sameJSON(t, api[0], got[6]) || !sameJSON(t, api[1], got[7]) {
		t.Errorf("GET /v1/models/{id}/openlineage answers other events than were sent:\n%s", api)
	}
	if api := openLineageRun(t, auditor, "/v1/models/base@1/openlineage"); len(api) != 0 {
		t.Errorf("a model without trained_on has %d events; want none", len(api))
	}
	if again := openLineageRun(t, auditor, "/v1/decisions/"+mix.DecisionID+"/openlineage"); !sameJSON(t, again[1], got[1]) {
		t.Errorf("the mix's run read by its decision differs: %s", again[1])
	}

	// The allowed mix: its datasets in, the mix out, its numbers in the pedigree_mix facet.
	done := readEvent(t, got[1])
	in, out := names(done)
	if want := []string{"datasets/forum", "datasets/synthetic-qa", "datasets/wiki"}; !reflect.DeepEqual(in, want) {
		t.Errorf("inputs %v; want %v", in, want)
	}
	if want := []string{"mixes/" + mix.ID}; !reflect.DeepEqual(out, want) || done.Job.Name != "pedigree/mix" {
		t.Errorf("job %s outputs %v; want pedigree/mix to %v", done.Job.Name, out, want)
	}
	f := done.Run.Facets.Mix
	if f == nil || f.DecisionID != mix.DecisionID || f.MixID != mix.ID || !f.Allowed || f.ManifestSHA256 != mix.ManifestSHA256 ||
		f.SyntheticRatio != mix.Stats.SyntheticRatio || !reflect.DeepEqual(f.Models, mix.Stats.Models) ||
		!reflect.DeepEqual(f.Generations, mix.Stats.Generations) || f.Policy["version"] != float64(mix.Policy.Version) || f.Policy["name"] != "cap" {
		t.Errorf("pedigree_mix facet %+v; the mix is %+v", f, mix)
	}

	// The refusal drawn from the pool: the datasets it would have drawn from, no output, the reason.
	fail := readEvent(t, got[3])
	in, out = names(fail)
	if len(in) == 0 || len(out) != 0 || fail.Run.Facets.Error == nil || !strings.Contains(fail.Run.Facets.Error.Message, "min_size 150") ||
		fail.Run.Facets.Mix == nil || fail.Run.Facets.Mix.Allowed || !reflect.DeepEqual(fail.Run.Facets.Mix.Violations, short.Violations) {
		t.Errorf("the refusal's FAIL: inputs %v outputs %v facets %+v; the 422 said %v", in, out, fail.Run.Facets, short.Violations)
	}
	// The refused request drew nothing: no inputs.
	if in, out := names(readEvent(t, got[5])); len(in) != 0 || len(out) != 0 {
		t.Errorf("the refused request's FAIL has inputs %v outputs %v; it drew no mix", in, out)
	}

	// The model: the mix in, the model out as a dataset of type MODEL.
	trained := readEvent(t, got[7])
	in, out = names(trained)
	if trained.Job.Name != "pedigree/model" || !reflect.DeepEqual(in, []string{"mixes/" + mix.ID}) ||
		!reflect.DeepEqual(out, []string{"models/student@1"}) || trained.Outputs[0].Facets.DatasetType == nil ||
		trained.Outputs[0].Facets.DatasetType.DatasetType != "MODEL" || trained.Run.Facets.Model == nil || trained.Run.Facets.Model.ModelID != student.ID {
		t.Errorf("the model's run: %+v", trained)
	}

	// Reading is the auditor's; unknown ids are 404s.
	if _, _, err := ingest.Do(ctx, client.Request{Method: http.MethodGet, Path: "/v1/mixes/" + mix.ID + "/openlineage"}); client.StatusOf(err) != 403 {
		t.Errorf("an ingest key reading the events: %v; want 403", err)
	}
	for _, path := range []string{"/v1/mixes/" + short.DecisionID + "/openlineage", "/v1/decisions/" + mix.ID + "/openlineage", "/v1/models/" + mix.ID + "/openlineage"} {
		if _, _, err := auditor.Do(ctx, client.Request{Method: http.MethodGet, Path: path}); client.StatusOf(err) != 404 {
			t.Errorf("GET %s: %v; want 404", path, err)
		}
	}
	if _, _, err := auditor.Do(ctx, client.Request{Method: http.MethodGet, Path: "/v1/mixes/" + mix.ID + "/openlineage?x=1"}); client.StatusOf(err) != 400 {
		t.Errorf("an unknown query parameter: %v; want 400", err)
	}
	fams := scrape(t, srv.Client(""))
	wantSample(t, fams, "pedigree_openlineage_events_delivered_total", nil, 8)
	wantSample(t, fams, "pedigree_openlineage_events_dropped_total", map[string]string{"reason": "retries"}, 0)
}

func rawEvents(events []json.RawMessage) [][]byte {
	out := make([][]byte, len(events))
	for i, e := range events {
		out[i] = e
	}
	return out
}

// TestOpenLineageReceiverDown: a receiver that is down never fails or delays a mix or a model; each
// event is tried 1 + --openlineage-retries times, then dropped, counted and logged.
func TestOpenLineageReceiverDown(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	url := down.URL + "/api/v1/lineage"
	down.Close() // nothing listens there any more
	srv := startServer(t, "", "--openlineage-url", url, "--openlineage-retries", "2", "--openlineage-backoff", "5ms")
	ctx := context.Background()
	ingest, auditor := lineageFixture(t, srv)
	mix := must[*registry.Mix](t)(ingest.CreateMix(ctx, registry.MixRequest{Policy: "cap", Size: 40, Seed: 1}, ""))
	must[*registry.Model](t)(ingest.CreateModel(ctx, registry.NewModel{Name: "student", Version: "1", TrainedOn: []string{mix.ID}}, ""))

	deadline := time.Now().Add(30 * time.Second)
	for {
		fams := scrape(t, srv.Client(""))
		if n, _ := sample(fams, "pedigree_openlineage_events_dropped_total", map[string]string{"reason": "retries"}); n == 4 {
			wantSample(t, fams, "pedigree_openlineage_delivery_retries_total", nil, 8) // 2 for each of the 4 events
			wantSample(t, fams, "pedigree_openlineage_events_delivered_total", nil, 0)
			wantSample(t, fams, "pedigree_openlineage_queue_events", nil, 0)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the 4 events were not dropped:\n%s", srv.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := strings.Count(srv.stderr.String(), "openlineage: event dropped"); n != 4 {
		t.Errorf("%d drops logged; want 4\n%s", n, srv.stderr)
	}
	// The events are still there for whoever asks.
	v := oltest.New(t)
	v.Validate(t, rawEvents(openLineageRun(t, auditor, "/v1/mixes/"+mix.ID+"/openlineage"))...)
}

// TestOpenLineageReceiverRecovers: a receiver that fails a few times and then recovers gets every
// event, in order, and the retries are counted.
func TestOpenLineageReceiverRecovers(t *testing.T) {
	rcv := newLineageReceiver(t, func(n int) int {
		if n <= 3 {
			return http.StatusServiceUnavailable
		}
		return http.StatusCreated
	})
	srv := startServer(t, "", "--openlineage-url", rcv.URL+"/api/v1/lineage", "--openlineage-backoff", "5ms")
	ctx := context.Background()
	ingest, auditor := lineageFixture(t, srv)
	mix := must[*registry.Mix](t)(ingest.CreateMix(ctx, registry.MixRequest{Policy: "cap", Size: 40, Seed: 1}, ""))
	got, requests := rcv.received(t, 2)
	if len(got) != 2 || requests != 5 {
		t.Fatalf("the receiver accepted %d events in %d requests; want 2 in 5", len(got), requests)
	}
	api := openLineageRun(t, auditor, "/v1/mixes/"+mix.ID+"/openlineage")
	if !sameJSON(t, api[0], got[0]) || !sameJSON(t, api[1], got[1]) {
		t.Errorf("the events delivered after the retries differ from the mix's:\n%s\n%s", got[0], got[1])
	}
	fams := scrape(t, srv.Client(""))
	wantSample(t, fams, "pedigree_openlineage_events_delivered_total", nil, 2)
	wantSample(t, fams, "pedigree_openlineage_delivery_retries_total", nil, 3)
	wantSample(t, fams, "pedigree_openlineage_events_dropped_total", map[string]string{"reason": "retries"}, 0)
}

func TestOpenLineageFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--openlineage-url", "marquez:5000/api/v1/lineage"},
		{"--openlineage-url", "ftp://marquez/api/v1/lineage"},
		{"--openlineage-namespace", ""},
		{"--openlineage-retries", "-1"},
		{"--openlineage-retries", "many"},
		{"--openlineage-backoff", "0s"},
	} {
		dir := t.TempDir()
		var out, errb strings.Builder
		err := run(context.Background(), append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir + "/data"}, args...),
			env(nil), strings.NewReader(""), &out, &errb)
		var ue *usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), strings.TrimPrefix(args[0], "--")) {
			t.Errorf("serve %v: %v; want a usage error naming the flag", args, err)
		}
	}
}
