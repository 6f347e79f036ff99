package report_test

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/report"
)

// Identifiers of the fixture's records.
const (
	earlierMixID  = "01980000-0000-7000-8000-00000000e001"
	earlierDecID  = "01980000-0000-7000-8000-00000000d001"
	mixID         = "01980000-0000-7000-8000-00000000e002"
	decisionID    = "01980000-0000-7000-8000-00000000d002"
	studentID     = "01980000-0000-7000-8000-00000000a003"
	teacherAID    = "01980000-0000-7000-8000-00000000a001"
	teacherBID    = "01980000-0000-7000-8000-00000000a002"
	policySHA     = "5d41402abc4b2a76b9719d911017c592a5d41402abc4b2a76b9719d911017c59"
	manifestSHA   = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	earlierSHA    = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
	logOrigin     = "pedigree.example/log"
	logRoot       = "q0n1h3bQ0zG8eV1lZ5m0y2b3Yw9Zk8Yb1cJm6o4m0nA="
	checkpointSig = "— pedigree.example/log 8Zq1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/AbCdEfGhIjKlMnOpQrStUvWxYz01234567==\n"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func ptr[T any](v T) *T { return &v }

func defaultPolicy() *registry.PolicyVersion {
	return &registry.PolicyVersion{Name: "default", Version: 1, SHA256: policySHA,
		Limits: json.RawMessage(`{"max_synthetic_ratio": 0.5, "max_generation": 2, "min_human_samples": 50,
			"max_model_share": 0.25, "max_toxicity": 0.5}`),
		CreatedAt: at("2025-06-01T08:00:00Z"), LogIndex: 1}
}

func teacherA() *registry.Model {
	return &registry.Model{ID: teacherAID, Name: "teacher-a", Version: "1", TrainedOn: []string{},
		DeclaredGeneration: ptr(0), Generation: 0, GenerationBasis: registry.BasisDeclared,
		CreatedAt: at("2025-06-01T09:00:00Z"), LogIndex: 3}
}

func teacherB() *registry.Model {
	return &registry.Model{ID: teacherBID, Name: "teacher-b", Version: "2", Provider: "Example Labs",
		TrainedOn: []string{earlierMixID}, Generation: 1, GenerationBasis: registry.BasisMixes,
		CreatedAt: at("2025-06-10T09:00:00Z"), LogIndex: 12}
}

// earlierMix is the human-only mix teacher-b was trained on: public data and other text, nothing
// crawled, licensed or synthetic.
func earlierMix() *registry.Mix {
	return &registry.Mix{
		ID: earlierMixID, Policy: defaultPolicy().Ref(), DecisionID: earlierDecID, Size: 60, Seed: 7,
		Strategy: registry.MixStrategy{Name: registry.StrategyRandom},
		Request: registry.MixRequest{Size: 60, Strategy: registry.MixStrategy{Name: registry.StrategyRandom},
			Filter: registry.MixFilter{Origins: []string{"human"}, AsOf: ptr(at("2025-06-05T00:00:00Z"))}, Seed: 7},
		Stats: registry.MixStats{
			Human: 60, Generations: map[string]int{"0": 60}, Models: map[string]int{},
			Metrics: map[string]registry.MetricSummary{
				"tokens":   {Count: 60, Min: 20, Max: 400, Mean: 150},
				"mtld":     {Count: 60, Min: 10, Max: 90, Mean: 55.5},
				"toxicity": {Count: 60, Min: 0, Max: 0.2, Mean: 0.03125},
			},
			Datasets: map[string]int{"wiki-sample": 50, "notes": 10}, SourceKinds: map[string]int{"public_dataset": 50, "other": 10},
			Licenses: map[string]int{"CC-BY-SA-4.0": 50}, Bases: map[string]int{"human": 60}, Pool: 75, Tokens: 9000,
			LatestSample: ptr(at("2025-06-04T10:00:00Z")),
			Sources: map[string]map[string]registry.SourceStat{
				"public_dataset": {"wiki-sample": {Samples: 50, Tokens: 7500, URI: "https://example.org/datasets/wiki-sample"}},
				"other":          {"notes": {Samples: 10, Tokens: 1500}},
			},
		},
		ManifestSHA256: earlierSHA, CreatedAt: at("2025-06-05T12:00:00Z"), LogIndex: 10,
	}
}

func earlierDecision() *registry.Decision {
	return &registry.Decision{ID: earlierDecID, Policy: defaultPolicy().Ref(), Allowed: true, Violations: []string{},
		MixID: earlierMixID, EvaluatedAt: at("2025-06-05T12:00:00Z"), LogIndex: 9}
}

// studentMix is the mix the student was trained on: 80 human samples (a public dataset with a URI,
// two crawled domains, a licensed collection under MIT) and 50 synthetic ones from two teachers.
func studentMix() *registry.Mix {
	return &registry.Mix{
		ID: mixID, Policy: defaultPolicy().Ref(), DecisionID: decisionID, Size: 130, Seed: 42,
		Strategy: registry.MixStrategy{Name: registry.StrategyBestOfK, Objective: "mtld", Source: registry.SourceMulti},
		Request: registry.MixRequest{Policy: "default", Size: 200, MinSize: 100, SyntheticRatio: ptr(0.4),
			Strategy: registry.MixStrategy{Name: registry.StrategyBestOfK, Objective: "mtld"}, Seed: 42},
		Stats: registry.MixStats{
			Human: 80, Synthetic: 50, SyntheticRatio: 50.0 / 130, ModelShare: 30.0 / 130, MaxGeneration: 2,
			Generations: map[string]int{"0": 80, "1": 30, "2": 20},
			Models:      map[string]int{"teacher-a@1": 30, "teacher-b@2": 20},
			Metrics: map[string]registry.MetricSummary{
				"tokens":   {Count: 130, Min: 12, Max: 900, Mean: 24517.0 / 130},
				"mtld":     {Count: 130, Min: 8.5, Max: 120.25, Mean: 61.75},
				"toxicity": {Count: 128, Min: 0.0012, Max: 0.4375, Mean: 0.0625},
			},
			Datasets:      map[string]int{"wiki-sample": 40, "crawl-2025": 30, "press-archive": 10, "distilled-qa": 50},
			SourceKinds:   map[string]int{"public_dataset": 40, "web_crawl": 30, "licensed": 10, "synthetic": 50},
			Licenses:      map[string]int{"CC-BY-SA-4.0": 40, "MIT": 10},
			Bases:         map[string]int{"human": 80, "declared": 30, "mixes": 20},
			UnscoredToxic: 2, Pool: 412, Tokens: 24517,
			LatestSample: ptr(at("2025-07-01T16:30:00Z")),
			Sources: map[string]map[string]registry.SourceStat{
				"public_dataset": {"wiki-sample": {Samples: 40, Tokens: 8012, URI: "https://example.org/datasets/wiki-sample"}},
				"web_crawl": {
					"news.example.com": {Samples: 20, Tokens: 6004},
					"blog.example.net": {Samples: 10, Tokens: 2000},
				},
				"licensed":  {"press-archive": {Samples: 10, Tokens: 3001}},
				"synthetic": {"distilled-qa": {Samples: 50, Tokens: 5500}},
			},
		},
		ManifestSHA256: manifestSHA, CreatedAt: at("2025-07-02T09:15:00Z"), LogIndex: 38,
	}
}

func studentDecision() *registry.Decision {
	return &registry.Decision{ID: decisionID, Policy: defaultPolicy().Ref(), Allowed: true, Violations: []string{},
		MixID: mixID, EvaluatedAt: at("2025-07-02T09:15:00Z"), LogIndex: 37}
}

func student() *registry.Model {
	return &registry.Model{ID: studentID, Name: "student", Version: "1", Provider: "Example Labs",
		TrainedOn: []string{mixID}, Generation: 2, GenerationBasis: registry.BasisDeclared,
		CreatedAt: at("2025-07-10T09:00:00Z"), LogIndex: 40}
}

func checkpoint(size int64) report.Checkpoint {
	return report.Checkpoint{Origin: logOrigin, Size: size, RootHash: logRoot,
		Note: logOrigin + "\n" + strconv.FormatInt(size, 10) + "\n" + logRoot + "\n\n" + checkpointSig}
}

// modelSubject is the student model's report subject.
func modelSubject() report.Subject {
	return report.Subject{
		Model:       student(),
		Mixes:       []*registry.Mix{studentMix()},
		Policies:    []*registry.PolicyVersion{defaultPolicy()},
		Decisions:   []*registry.Decision{studentDecision()},
		Generators:  []*registry.Model{teacherA(), teacherB()},
		Checkpoint:  checkpoint(41),
		GeneratedAt: at("2025-08-01T12:00:00Z"),
	}
}

// mixSubject is the report of the earlier, human-only mix.
func mixSubject() report.Subject {
	return report.Subject{
		Mixes:       []*registry.Mix{earlierMix()},
		Policies:    []*registry.PolicyVersion{defaultPolicy()},
		Decisions:   []*registry.Decision{earlierDecision()},
		Checkpoint:  checkpoint(11),
		GeneratedAt: at("2025-08-01T12:00:00Z"),
	}
}

// Identifiers of the disclosed fixture's records.
const (
	secondMixID = "01980000-0000-7000-8000-00000000e003"
	secondDecID = "01980000-0000-7000-8000-00000000d003"
	graduateID  = "01980000-0000-7000-8000-00000000a004"
)

// secondMix is a small mix that shares samples with studentMix: the graduate was trained on both.
func secondMix() *registry.Mix {
	m := studentMix()
	m.ID, m.DecisionID, m.LogIndex, m.CreatedAt = secondMixID, secondDecID, 44, at("2025-07-20T10:00:00Z")
	return m
}

func secondDecision() *registry.Decision {
	d := studentDecision()
	d.ID, d.MixID, d.LogIndex = secondDecID, secondMixID, 43
	return d
}

func graduate() *registry.Model {
	return &registry.Model{ID: graduateID, Name: "graduate", Version: "1", Provider: "Example Labs",
		TrainedOn: []string{mixID, secondMixID}, Generation: 2, GenerationBasis: registry.BasisDeclared,
		CreatedAt: at("2025-07-21T09:00:00Z"), LogIndex: 45}
}

// corpusSample is one sample of the disclosed fixture.
func corpusSample(n int, origin, model, kind, name, uri, meta string, gen, tokens int, collected string, text string) *registry.Sample {
	s := &registry.Sample{ID: "01980000-0000-7000-8000-" + strconv.FormatInt(int64(0xb00000000000+n), 16),
		Text: text, Origin: origin, Model: model, Generation: gen, Source: registry.Source{Kind: kind, Name: name, URI: uri},
		Metrics: registry.Metrics{Tokens: tokens}, CreatedAt: at("2025-07-01T00:00:00Z").Add(time.Duration(n) * time.Hour)}
	if meta != "" {
		s.Metadata = json.RawMessage(meta)
	}
	if collected != "" {
		s.CollectedAt = ptr(at(collected))
	}
	if kind == "licensed" {
		s.Source.License = "MIT"
	}
	return s
}

const (
	englishText = "The committee published its annual report on the state of the public libraries, noting that " +
		"visitors borrowed more books than in any previous year and that the reading rooms were often full."
	frenchText = "Le comité a publié son rapport annuel sur l'état des bibliothèques publiques, en notant que les " +
		"visiteurs ont emprunté plus de livres que jamais et que les salles de lecture étaient souvent pleines."
)

// corpusSamples are the samples of both mixes, in the order an export streams them: every source
// kind, two crawled domains, an edit of model text by a person, languages stated and not, and one
// sample in both mixes.
func corpusSamples() [][]*registry.Sample {
	en := `{"lang":"en"}`
	shared := corpusSample(1, "human", "", "public_dataset", "wiki-sample", "https://example.org/datasets/wiki-sample", en, 0, 100, "2025-05-01T00:00:00Z", "a")
	first := []*registry.Sample{
		shared,
		corpusSample(2, "human", "", "web_crawl", "crawl-2025", "https://news.example.com/a/1", en, 0, 300, "2025-04-02T08:00:00Z", "b"),
		corpusSample(3, "human", "", "web_crawl", "crawl-2025", "https://news.example.com/a/2", `{"lang":"DE"}`, 0, 200, "2025-04-20T08:00:00Z", "c"),
		corpusSample(4, "human", "", "web_crawl", "crawl-2025", "https://blog.example.net/post", en, 0, 50, "2025-03-15T00:00:00Z", "d"),
		corpusSample(5, "human", "", "licensed", "press-archive", "", en, 0, 80, "", "e"),
		corpusSample(6, "human", "", "private", "staff-writing", "", en, 0, 60, "", englishText),
		corpusSample(7, "model", "teacher-a@1", "synthetic", "distilled-qa", "", "", 1, 40, "", englishText),
		corpusSample(8, "model", "teacher-b@2", "synthetic", "distilled-qa", "", "", 2, 45, "", frenchText),
	}
	second := []*registry.Sample{
		shared,
		corpusSample(9, "human", "", "private", "staff-writing", "", `{"lang":"en"}`, 1, 70, "", "an edit of model output"),
		corpusSample(10, "human", "", "user_data", "support-chats", "", `{"lang":"fr"}`, 0, 30, "", "f"),
		corpusSample(11, "human", "", "other", "", "", `{"topic":"misc"}`, 0, 5, "", "zz"),
	}
	return [][]*registry.Sample{first, second}
}

// disclosure is the graduate's complete disclosure.
func disclosure() *registry.Disclosure {
	inEU := false
	return &registry.Disclosure{ModelID: graduateID, Model: "graduate@1", Version: 2, CreatedAt: at("2025-07-25T00:00:00Z"), LogIndex: 46,
		NewDisclosure: registry.NewDisclosure{
			Provider:                 &registry.Party{Name: "Example Labs Inc.", Contact: "ai-act@example.com, 1 Example Way, Springfield"},
			ProviderEstablishedInEU:  &inEU,
			AuthorisedRepresentative: &registry.Party{Name: "Example Labs Europe B.V.", Contact: "eu-rep@example.eu"},
			MarketPlacementDate:      "2025-09-01",
			Dependencies:             &[]registry.Dependency{{Name: "teacher-b", Version: "2", Provider: "Example Labs", Relation: "fine_tuned_from"}},
			Modalities:               []registry.ModalityContent{{Modality: "text", ContentTypes: []string{"non-fiction", "news", "dialogue"}}},
			Crawlers: &[]registry.Crawler{{Name: "ExampleBot", UserAgent: "ExampleBot/1.0", Purpose: "collecting news text for training",
				RobotsTxt:    "Honours Disallow rules for ExampleBot and *; fetches robots.txt before each host.",
				OtherOptOuts: "Honours the TDM Reservation Protocol (tdmrep.json) and ai.txt.", CollectionStart: "2025-03-01", CollectionEnd: "2025-04-30"}},
			DataSources:    "Staff writing produced in house, and a small set of miscellaneous notes.",
			UserData:       "Support conversations of users who opted in; personal data removed before registration.",
			SyntheticData:  "Question-answer pairs generated by the teacher models, some edited by staff.",
			TDMOptOuts:     "The crawler honours robots.txt and the TDM Reservation Protocol; licensed data is used under its licence.",
			IllegalContent: "Texts are screened with a CSAM hash list and a classifier for terrorist content before registration.",
			OtherMeasures:  "Personal data is pseudonymised before registration.",
		}}
}

// disclosedSubject is the graduate's subject: two mixes sharing a sample, the samples streamed
// into a Corpus, and a complete disclosure.
func disclosedSubject() report.Subject {
	c := report.NewCorpus(report.DetectLanguage, report.DetectSamples)
	for _, mix := range corpusSamples() {
		for _, s := range mix {
			c.Add(s)
		}
	}
	return report.Subject{
		Model:       graduate(),
		Mixes:       []*registry.Mix{studentMix(), secondMix()},
		Policies:    []*registry.PolicyVersion{defaultPolicy()},
		Decisions:   []*registry.Decision{studentDecision(), secondDecision()},
		Generators:  []*registry.Model{teacherA(), teacherB()},
		Disclosure:  disclosure(),
		Corpus:      c,
		Checkpoint:  checkpoint(47),
		GeneratedAt: at("2025-08-01T12:00:00Z"),
	}
}
