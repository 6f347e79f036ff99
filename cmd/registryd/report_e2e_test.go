package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pedigreeml/pedigree/client"
	"github.com/pedigreeml/pedigree/ledger"
	"github.com/pedigreeml/pedigree/registry"
)

// reportText is a sample text of n words, English unless lang says otherwise; distinct per seed.
func reportText(seed string) *string {
	s := "The library committee met on " + seed + " and agreed that the reading rooms should stay open " +
		"later in winter, because students asked for quiet places to work after their classes."
	return &s
}

// TestEUAIActSummaryEndToEnd drives a model's public summary from "not publishable" to
// "publishable" through the real server, the Go client and the report command: collection times
// and languages on samples, two mixes sharing their samples, a disclosure in versions, and the
// completeness check.
func TestEUAIActSummaryEndToEnd(t *testing.T) {
	srv := startServer(t, "")
	ctx := context.Background()
	admin := srv.Admin()
	ingestKey, auditorKey := srv.Key(registry.RoleIngest), srv.Key(registry.RoleAuditor)
	ingest, auditor := srv.Client(ingestKey), srv.Client(auditorKey)
	must[*registry.PolicyVersion](t)(func() (*registry.PolicyVersion, error) {
		pv, _, err := admin.PutPolicy(ctx, "cap", capPolicy)
		return pv, err
	}())
	teacher := must[*registry.Model](t)(ingest.CreateModel(ctx, registry.NewModel{Name: "teacher", Version: "1", DeclaredGeneration: new(int)}, ""))

	// collected_at: refused in the future and when malformed, stored to the millisecond otherwise.
	future := time.Now().Add(48 * time.Hour)
	bad := registry.NewSample{Text: reportText("a day to come"), Origin: registry.OriginHuman, CollectedAt: &future}
	if p := problemOf(t, errOf(ingest.IngestBatch(ctx, []registry.NewSample{bad}, ""))); p.Status != 400 ||
		len(p.Errors) != 1 || p.Errors[0].Field != "samples/0/collected_at" {
		t.Fatalf("a collection time in the future: %+v", p)
	}
	status, _, err := ingest.Do(ctx, client.Request{Method: http.MethodPost, Path: "/v1/samples", ContentType: "application/json",
		Body: []byte(`{"text":"x y z","origin":"human","collected_at":"yesterday"}`)})
	if status != 400 || err == nil {
		t.Fatalf("a malformed collection time: %d %v", status, err)
	}

	at := func(s string) *time.Time { v := must[time.Time](t)(time.Parse(time.RFC3339Nano, s)); return &v }
	src := func(kind, name, uri string) *registry.Source {
		return &registry.Source{Kind: kind, Name: name, URI: uri}
	}
	en := json.RawMessage(`{"lang":"en"}`)
	batch := []registry.NewSample{
		{Text: reportText("Monday"), Origin: "human", Source: src("public_dataset", "minutes", "https://example.org/minutes"), Metadata: en, CollectedAt: at("2025-03-01T10:00:00.1234Z")},
		{Text: reportText("Tuesday"), Origin: "human", Source: src("web_crawl", "crawl-2025", "https://news.example.com/a"), Metadata: en, CollectedAt: at("2025-04-02T00:00:00Z")},
		{Text: reportText("Wednesday"), Origin: "human", Source: src("web_crawl", "crawl-2025", "https://blog.example.net/b"), CollectedAt: at("2025-04-03T00:00:00Z")},
		{Text: reportText("Thursday"), Origin: "human", Source: src("private", "staff-notes", ""), Metadata: json.RawMessage(`{"lang":"fr"}`)},
		{Text: reportText("Friday"), Origin: "human", Source: src("user_data", "support", ""), Metadata: en},
	}
	humans := must[[]client.IngestedSample](t)(ingest.IngestBatch(ctx, batch, ""))
	if c := humans[0].CollectedAt; c == nil || !c.Equal(time.Date(2025, 3, 1, 10, 0, 0, 123_000_000, time.UTC)) {
		t.Fatalf("stored collection time %v; want 2025-03-01T10:00:00.123Z", c)
	}
	answer := must[*client.IngestedSample](t)(ingest.CreateSample(ctx, registry.NewSample{Text: reportText("Saturday by a model"),
		Origin: registry.OriginModel, Model: teacher.Ref(), Metadata: en}, ""))
	edited := must[*client.IngestedSample](t)(ingest.CreateSample(ctx, registry.NewSample{Text: reportText("Sunday, edited by a person"),
		Origin: registry.OriginHuman, Parents: registry.RefIDs(answer.ID), Source: src("private", "staff-notes", ""), Metadata: en}, ""))
	if edited.Generation != 1 {
		t.Fatalf("the edit of model text has generation %d", edited.Generation)
	}
	if got := must[*registry.Sample](t)(auditor.GetSample(ctx, humans[1].ID)); got.CollectedAt == nil || !got.CollectedAt.Equal(*batch[1].CollectedAt) {
		t.Fatalf("read back collected_at %v", got.CollectedAt)
	}

	// Two mixes over the same seven samples: the summary counts each sample once.
	var mixes []string
	for seed := range int64(2) {
		m := must[*registry.Mix](t)(ingest.CreateMix(ctx, registry.MixRequest{Policy: "cap", Size: 100, Seed: seed}, ""))
		if m.Stats.Human+m.Stats.Synthetic != 7 {
			t.Fatalf("mix %d holds %d samples; want all 7", seed, m.Stats.Human+m.Stats.Synthetic)
		}
		mixes = append(mixes, m.ID)
	}
	student := must[*registry.Model](t)(ingest.CreateModel(ctx, registry.NewModel{Name: "student", Version: "1", TrainedOn: mixes}, ""))

	// Before any disclosure the summary is not publishable, and the command says what is missing.
	c := must[*client.Completeness](t)(auditor.EUAIActCompleteness(ctx, student.Ref()))
	var fields []string
	for _, m := range c.Missing {
		fields = append(fields, m.Field)
	}
	for _, want := range []string{"general.provider", "general.authorised_representative", "general.market_placement_date",
		"general.model_dependencies", "sources.crawled.crawlers", "processing.tdm_opt_outs", "processing.illegal_content"} {
		if !slices.Contains(fields, want) {
			t.Errorf("completeness without a disclosure misses %q: %q", want, fields)
		}
	}
	if c.Publishable || c.DisclosureVersion != nil || slices.Contains(fields, "general.languages") || slices.Contains(fields, "general.latest_data_date") {
		t.Errorf("completeness without a disclosure: %+v", c)
	}
	for name, q := range map[string]struct {
		query  string
		status int
	}{
		"NoModel":      {"", 400},
		"AMixInstead":  {"?mix=" + mixes[0], 400},
		"UnknownModel": {"?model=nobody@1", 404},
	} {
		if status, _, err := auditor.Do(ctx, client.Request{Method: http.MethodGet, Path: "/v1/reports/eu-ai-act/completeness" + q.query}); status != q.status || err == nil {
			t.Errorf("completeness %s: %d %v", name, status, err)
		}
	}
	if _, err := ingest.EUAIActCompleteness(ctx, student.ID); client.StatusOf(err) != 403 {
		t.Errorf("an ingest key checking completeness: %v", err)
	}
	var out, errb bytes.Buffer
	check := []string{"report", "check", "--server", srv.URL, "--key", auditorKey, "--model", student.Ref()}
	err = run(ctx, check, env(nil), nil, &out, &errb)
	var np *notPublishable
	if !errors.As(err, &np) || exitCode(err) != 1 || !strings.Contains(out.String(), "processing.tdm_opt_outs") {
		t.Fatalf("report check before the disclosure: %v (exit %d)\n%s", err, exitCode(err), out.String())
	}

	// The disclosure: refusals first, nothing stored by them.
	for name, tc := range map[string]struct {
		client *client.Client
		model  string
		body   string
		status int
		field  string
	}{
		"BadDate":         {ingest, student.ID, `{"market_placement_date":"2025-02-30"}`, 400, "market_placement_date"},
		"UnknownRelation": {ingest, student.ID, `{"dependencies":[{"name":"base","relation":"cousin"}]}`, 400, "dependencies/0/relation"},
		"FutureCrawl": {ingest, student.ID, `{"crawlers":[{"name":"Bot","purpose":"p","robots_txt":"r","other_opt_outs":"o",
			"collection_start":"2025-01-01","collection_end":"2999-01-01"}]}`, 400, "crawlers/0/collection_end"},
		"UnknownField": {ingest, student.ID, `{"provider":{"name":"L","contact":"c"},"mood":"good"}`, 400, ""},
		"NotJSON":      {ingest, student.ID, `{"provider":`, 400, ""},
		"Auditor":      {auditor, student.ID, `{}`, 403, ""},
		"UnknownModel": {ingest, "nobody@1", `{}`, 404, ""},
	} {
		status, body, err := tc.client.Do(ctx, client.Request{Method: http.MethodPut, Path: "/v1/models/" + tc.model + "/disclosure",
			ContentType: "application/json", Body: []byte(tc.body)})
		if status != tc.status || err == nil {
			t.Errorf("%s: %d %v %s", name, status, err, body)
			continue
		}
		if tc.field != "" {
			if p := problemOf(t, err); len(p.Errors) == 0 || p.Errors[0].Field != tc.field {
				t.Errorf("%s: field errors %+v; want %s first", name, p.Errors, tc.field)
			}
		}
	}
	if _, err := auditor.GetDisclosure(ctx, student.ID, 0); client.StatusOf(err) != 404 {
		t.Fatalf("a refused disclosure was stored: %v", err)
	}

	inEU := true
	d := registry.NewDisclosure{
		Provider: &registry.Party{Name: "Example Labs", Contact: "ai-act@example.com"}, ProviderEstablishedInEU: &inEU,
		MarketPlacementDate: "2025-09-01", Dependencies: &[]registry.Dependency{},
		Modalities: []registry.ModalityContent{{Modality: "text", ContentTypes: []string{"minutes", "news"}}},
		Crawlers: &[]registry.Crawler{{Name: "ExampleBot", Purpose: "news text for training", RobotsTxt: "honoured",
			OtherOptOuts: "TDMRep honoured", CollectionStart: "2025-04-01", CollectionEnd: "2025-04-05"}},
		UserData: "Support chats of users who opted in.", DataSources: "Staff notes written in house.",
		TDMOptOuts: "robots.txt and TDMRep are honoured.",
	}
	v1, created, err := ingest.PutDisclosure(ctx, student.Ref(), d)
	if err != nil || !created || v1.Version != 1 || v1.ModelID != student.ID {
		t.Fatalf("first disclosure: %+v %v %v", v1, created, err)
	}
	if again, created, err := ingest.PutDisclosure(ctx, student.ID, d); err != nil || created || again.Version != 1 {
		t.Fatalf("the same disclosure again: %+v %v %v", again, created, err)
	}
	// One field short: still not publishable, and the check names exactly it.
	if c := must[*client.Completeness](t)(auditor.EUAIActCompleteness(ctx, student.ID)); c.Publishable ||
		len(c.Missing) != 1 || c.Missing[0].Field != "processing.illegal_content" || c.DisclosureVersion == nil || *c.DisclosureVersion != 1 {
		t.Fatalf("completeness of version 1: %+v", c)
	}
	d.IllegalContent = "Texts are screened against hash lists of known illegal content before registration."
	v2, created, err := ingest.PutDisclosure(ctx, student.Ref(), d)
	if err != nil || !created || v2.Version != 2 || len(v2.Versions) != 2 || v2.LogIndex <= v1.LogIndex {
		t.Fatalf("second disclosure: %+v %v %v", v2, created, err)
	}
	if got := must[*client.Disclosure](t)(auditor.GetDisclosure(ctx, student.Ref(), 0)); got.Version != 2 || got.IllegalContent != d.IllegalContent {
		t.Fatalf("latest disclosure: %+v", got)
	}
	if got := must[*client.Disclosure](t)(auditor.GetDisclosure(ctx, student.ID, 1)); got.Version != 1 || got.IllegalContent != "" {
		t.Fatalf("version 1: %+v", got)
	}
	// The version is logged: its leaf names the disclosure.
	leaf, err := ledger.ParseLeaf(must[[]byte](t)(auditor.LogEntry(ctx, v2.LogIndex)))
	if err != nil || leaf.Kind != registry.KindDisclosure || leaf.ID != student.ID+"@2" {
		t.Fatalf("leaf at %d: %+v %v", v2.LogIndex, leaf, err)
	}

	// The command states a disclosure from a file or standard input: the same content again is the
	// same version; a file with a field the disclosure has not is refused before anything is sent.
	body := must[[]byte](t)(json.Marshal(d))
	out.Reset()
	disclose := []string{"report", "disclosure", "--server", srv.URL, "--key", ingestKey, "--model", student.Ref(), "--file", "-"}
	if err := run(ctx, disclose, env(nil), bytes.NewReader(body), &out, &errb); err != nil || !strings.Contains(out.String(), `"version": 2`) {
		t.Fatalf("report disclosure of the same content: %v\n%s", err, out.String())
	}
	if err := run(ctx, disclose, env(nil), strings.NewReader(`{"mood":"good"}`), &out, &errb); err == nil || !strings.Contains(err.Error(), "mood") {
		t.Fatalf("report disclosure of an unknown field: %v", err)
	}
	out.Reset()
	if err := run(ctx, check, env(nil), nil, &out, &errb); err != nil || !strings.Contains(out.String(), "publishable") {
		t.Fatalf("report check after the disclosure: %v\n%s", err, out.String())
	}

	// The summary itself.
	var rep struct {
		General struct {
			LatestDataDateBasis string     `json:"latest_data_date_basis"`
			LatestDataDate      *time.Time `json:"latest_data_date"`
			Modalities          []struct {
				Samples      int64    `json:"samples"`
				ContentTypes []string `json:"content_types"`
			} `json:"modalities"`
			LanguageCounts []struct {
				Language           string
				Recorded, Detected int64
			} `json:"language_counts"`
		} `json:"general"`
		Sources struct {
			Private struct{ Samples int64 }
			Crawled struct {
				TopDomains []struct{ Name string } `json:"top_domains"`
				Crawlers   []registry.Crawler
			}
			Synthetic struct {
				ModelGenerated int64 `json:"model_generated_samples"`
				HumanEdited    int64 `json:"human_edited_samples"`
			}
		} `json:"sources"`
		Evidence struct {
			Records []struct {
				Kind     string
				LogIndex int64 `json:"log_index"`
			}
		}
		Completeness struct{ Publishable bool }
	}
	if err := json.Unmarshal(must[[]byte](t)(auditor.EUAIActReport(ctx, student.Ref(), "", "application/json")), &rep); err != nil {
		t.Fatal(err)
	}
	g := rep.General
	if g.Modalities[0].Samples != 7 || !slices.Equal(g.Modalities[0].ContentTypes, []string{"minutes", "news"}) {
		t.Errorf("text modality %+v; want 7 samples, counted once over two mixes", g.Modalities[0])
	}
	if !strings.Contains(g.LatestDataDateBasis, "registration time") || g.LatestDataDate == nil || !g.LatestDataDate.After(*batch[2].CollectedAt) {
		t.Errorf("latest data date %v (%s): four samples state no collected_at, so their registration time stands in", g.LatestDataDate, g.LatestDataDateBasis)
	}
	if len(g.LanguageCounts) < 2 || g.LanguageCounts[0].Language != "en" || g.LanguageCounts[0].Recorded != 5 ||
		g.LanguageCounts[0].Detected != 1 {
		t.Errorf("languages %+v; want en stated on 5 samples and detected on 1", g.LanguageCounts)
	}
	s := rep.Sources
	if s.Private.Samples != 2 || s.Synthetic.ModelGenerated != 1 || s.Synthetic.HumanEdited != 1 || len(s.Crawled.Crawlers) != 1 ||
		len(s.Crawled.TopDomains) != 2 {
		t.Errorf("sources %+v", s)
	}
	if !rep.Completeness.Publishable || !slices.ContainsFunc(rep.Evidence.Records, func(r struct {
		Kind     string
		LogIndex int64 `json:"log_index"`
	}) bool {
		return r.Kind == "disclosure" && r.LogIndex == v2.LogIndex
	}) {
		t.Errorf("evidence %+v, completeness %+v", rep.Evidence, rep.Completeness)
	}
	out.Reset()
	if err := run(ctx, []string{"report", "get", "--server", srv.URL, "--key", auditorKey, "--model", student.ID}, env(nil), nil, &out, &errb); err != nil ||
		!strings.Contains(out.String(), "ExampleBot") || !strings.Contains(out.String(), "## 5. Completeness") {
		t.Errorf("report get: %v\n%s", err, out.String())
	}
}

// errOf drops a result, keeping its error.
func errOf[T any](_ T, err error) error { return err }
