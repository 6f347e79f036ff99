package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/pedigreeml/pedigree/ledger"
	"github.com/pedigreeml/pedigree/metrics"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/leaves"
)

// LoggedStore is a store with its tamper-evident log: what a registry serves from.
type LoggedStore interface {
	leaves.RecordStore
	ledger.Storage
	RecordLeaves(ctx context.Context, fn func(index int64, leaf []byte) error) error
}

// Backend opens one kind of store for the contracts that need more than a fresh store: the log's,
// which restarts stores and edits their databases behind their backs as an attacker with the
// database file would; the mix store's, which reads how a manifest is stored; and the instances',
// which open several stores on one database.
type Backend struct {
	// New opens a store on a new, empty database and returns it with the database's location.
	New func(tb testing.TB) (LoggedStore, string)
	// Reopen opens the database at location again, as a restarted registry, or a second instance
	// beside the first, would.
	Reopen func(tb testing.TB, location string) LoggedStore
	// OneConnection, if set, opens the database at location as Reopen does, on a single
	// connection: a store that held a query open while calling back would wait on itself.
	OneConnection func(tb testing.TB, location string) LoggedStore
	// Exec runs statements on the database at location, with foreign keys not enforced, as an
	// attacker editing the file would.
	Exec func(tb testing.TB, location, statements string)
	// Query runs a query of one row on the database at location and scans the row into dest.
	Query func(tb testing.TB, location, query string, dest ...any)
	// Dialect is "sqlite" or "postgres", for the few statements that differ.
	Dialect string
}

// Filled is a registry holding every kind of record with every optional field set.
type Filled struct {
	Location string
	Store    LoggedStore
	Log      *ledger.Log
	KeyDir   string

	Prompt, Seed, Answer, Unscored, Edited *registry.Sample
	// Flagged is human text stored under --laundering=flag, a near-duplicate of Answer; Copied is
	// model output equal to Answer's after normalization, in Answer's cluster.
	Flagged, Copied                 *registry.Sample
	Base, Tuned                     *registry.Model
	AdminKey, IngestKey, RevokedKey string // key texts
	AdminKeyID                      string
	Mix                             *registry.Mix
	Refused                         *registry.Decision
	OpenPolicy                      string // the permissive module of the "open" policy
	// Disclosure is the second, latest version of Tuned's disclosure.
	Disclosure *registry.Disclosure
	// Rescored was stored with a null toxicity, then re-scored twice: by the built-in lexicon, then
	// by lexicon/1.
	Rescored *registry.Sample
}

// unscoredMarker marks the texts that nullScorer leaves without a toxicity score, as an unavailable
// HTTP scorer with --toxicity-on-error=null does.
const unscoredMarker = "[unscored]"

type nullScorer struct{ registry.MetricsScorer }

func (s nullScorer) Score(ctx context.Context, text string) (registry.Metrics, error) {
	m, err := s.MetricsScorer.Score(ctx, text)
	if err == nil && strings.Contains(text, unscoredMarker) {
		m.Toxicity, m.ToxicityScorer = nil, "http:unavailable"
	}
	return m, err
}

// OpenPolicy admits everything and sets no limits.
const OpenPolicy = "package pedigree.mix\n\nlimits := {}\n"

// refusingPolicy refuses every mix, with a message.
const refusingPolicy = "package pedigree.mix\n\nlimits := {}\n\ndeny contains \"no mixes today\" if { input.mix.size >= 0 }\n"

// Fill writes one of every kind of record, with every optional field set, and signs a checkpoint of
// the log. Samples, models and keys go through the registry's service; policy versions, decisions and
// the mix through the domain's write functions over the store (registry.WritePolicyVersion and
// registry.WriteMix, as the mixer writes them), with real module texts and their SHA-256, and a
// manifest hash computed over the samples' ids and content hashes.
func Fill(t *testing.T, b Backend) *Filled {
	t.Helper()
	ctx := context.Background()
	st, loc := b.New(t)
	f := &Filled{Location: loc, Store: st, KeyDir: t.TempDir(), OpenPolicy: OpenPolicy}
	svc := &registry.Service{Store: st, Scorer: nullScorer{registry.MetricsScorer{Scorer: &metrics.Scorer{}}}}
	h := &Harness{tb: t, Store: st, Svc: svc, Ctx: ctx}

	declared := 1
	base, err := svc.CreateModel(ctx, &registry.NewModel{Name: "teacher", Version: "2024-06", Provider: "Example Labs",
		DeclaredGeneration: &declared}, &registry.Idempotency{Scope: "fill", Key: "model-1", RequestSHA256: digest("model-1")})
	if err != nil {
		t.Fatalf("model: %v", err)
	}
	f.Base = base

	text := func(s string) *string { return &s }
	src := func(kind, name, uri, lic string) *registry.Source {
		return &registry.Source{Kind: kind, Name: name, URI: uri, License: lic}
	}
	collected := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	res, err := svc.Ingest(ctx, []registry.NewSample{
		{Text: text(Text("prompt")), Origin: registry.OriginHuman, Dataset: "prompts",
			Source:   src("public_dataset", "fortunes", "https://example.org/fortunes", "BSD-3-Clause"),
			Metadata: []byte(`{"lang":"en","topic":"wit"}`)},
		{Text: text(Text("seed")), Origin: registry.OriginHuman, Dataset: "seeds",
			Source:   src("web_crawl", "crawl-2024", "https://news.example.com/a/1", "CC-BY-4.0"),
			Metadata: []byte(`{"lang":"en"}`), CollectedAt: &collected},
	}, &registry.Idempotency{Scope: "fill", Key: "batch-1", RequestSHA256: digest("batch-1")})
	if err != nil {
		t.Fatalf("ingest: %v", err)
	}
	f.Prompt, f.Seed = res.Results[0].Sample, res.Results[1].Sample
	f.Answer = h.One(registry.NewSample{Text: text(Text("answer")), Origin: registry.OriginModel, Model: base.Ref(),
		PromptID: registry.RefID(f.Prompt.ID), Parents: registry.RefIDs(f.Seed.ID), Dataset: "answers",
		Source: src("synthetic", "teacher runs", "s3://bucket/answers.jsonl", "Apache-2.0"), Metadata: []byte(`{"temperature":0.7}`)})
	f.Unscored = h.One(registry.NewSample{Text: text(Text("second answer " + unscoredMarker)), Origin: registry.OriginModel,
		Model: base.Ref(), PromptID: registry.RefID(f.Prompt.ID), Dataset: "answers"})
	if f.Unscored.Metrics.Toxicity != nil {
		t.Fatal("the unscored answer has a toxicity score")
	}
	f.Edited = h.One(registry.NewSample{Text: text(Text("edited by a person")), Origin: registry.OriginHuman,
		Parents: registry.RefIDs(f.Answer.ID), Dataset: "edits", Source: src("private", "editors", "", "LicenseRef-internal"),
		Metadata: []byte(`{"editor":"a person"}`)})

	flagging := *svc
	flagging.Near.Flag = true
	laundered := strings.Replace(*text(Text("answer")), "Sample", "Example", 1)
	f.Flagged = (&Harness{tb: t, Store: st, Svc: &flagging, Ctx: ctx}).One(registry.NewSample{Text: &laundered,
		Origin: registry.OriginHuman, Dataset: "flagged"})
	f.Copied = h.One(registry.NewSample{Text: text(strings.ToUpper(Text("answer"))), Origin: registry.OriginModel,
		Model: base.Ref(), Dataset: "copies"})
	if f.Flagged.NearDuplicateOf != f.Answer.ID || f.Copied.Cluster != f.Answer.ID {
		t.Fatalf("flagged near_duplicate_of %q, copy's cluster %q; want %s", f.Flagged.NearDuplicateOf, f.Copied.Cluster, f.Answer.ID)
	}

	var admin *registry.APIKey
	if f.AdminKey, admin, err = svc.CreateKey(ctx, registry.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	f.AdminKeyID = admin.ID
	if f.IngestKey, _, err = svc.CreateKey(ctx, registry.RoleIngest); err != nil {
		t.Fatal(err)
	}
	var revoked *registry.APIKey
	if f.RevokedKey, revoked, err = svc.CreateKey(ctx, registry.RoleIngest); err != nil {
		t.Fatal(err)
	}
	if _, err := registry.RevokeKey(ctx, st, revoked.ID, time.Now()); err != nil {
		t.Fatal(err)
	}

	// Policy versions, decisions and the mix are written as the mixer writes them, without it: the
	// mixer's own contract runs over real stores in mixer/mixertest.
	at := time.Now().UTC().Truncate(time.Millisecond)
	var versions []*registry.PolicyVersion
	for _, m := range []struct{ name, module string }{{"open", OpenPolicy}, {"refusing", refusingPolicy}, {"open", OpenPolicy + "# v2\n"}} {
		pv := &registry.PolicyVersion{Name: m.name, SHA256: digest(m.module), Module: m.module, Limits: json.RawMessage(`{}`), CreatedAt: at}
		if created, err := registry.WritePolicyVersion(ctx, st, pv); err != nil || !created {
			t.Fatalf("policy %s: created %v, %v", m.name, created, err)
		}
		versions = append(versions, pv)
	}
	open, refusing := versions[0], versions[1]

	// The mix holds every sample, in an order of its own (a seed's draw), with the stats, request
	// and decision input a build under open@1 makes.
	req := registry.MixRequest{Policy: "open@1", Size: 10, Seed: 7}
	if err := req.Validate(); err != nil {
		t.Fatal(err)
	}
	drawn := []*registry.Sample{f.Answer, f.Prompt, f.Edited, f.Seed, f.Unscored}
	stats := statsOf(drawn)
	manifest := make([]string, len(drawn))
	hash := registry.NewManifestHash()
	for i, s := range drawn {
		manifest[i] = s.ID
		if err := hash.Add(s.ID, s.ContentSHA256); err != nil {
			t.Fatal(err)
		}
	}
	input, err := json.Marshal(mixSummary{Size: len(drawn), Strategy: req.Strategy, Stats: stats, Request: req})
	if err != nil {
		t.Fatal(err)
	}
	allowed := &registry.Decision{ID: newID(), Policy: open.Ref(), Allowed: true, Violations: []string{}, Input: input, EvaluatedAt: at}
	f.Mix = &registry.Mix{ID: newID(), Policy: open.Ref(), DecisionID: allowed.ID, Size: len(drawn), Seed: req.Seed,
		Strategy: req.Strategy, Request: req, Stats: stats, ManifestSHA256: hash.Sum(), CreatedAt: at}
	if err := registry.WriteMix(ctx, st, allowed, f.Mix, registry.ManifestOf(manifest),
		&registry.Idempotency{Scope: "fill", Key: "mix-1", RequestSHA256: digest("mix-1")}); err != nil {
		t.Fatalf("mix: %v", err)
	}
	if f.Mix.MaxGeneration != 2 || f.Mix.GenerationBasis != registry.BasisDeclared || allowed.MixID != f.Mix.ID {
		t.Fatalf("saved mix: deepest generation %d, basis %q, decision's mix %q", f.Mix.MaxGeneration, f.Mix.GenerationBasis, allowed.MixID)
	}
	refusedReq := registry.MixRequest{Policy: "refusing", Size: 10}
	if err := refusedReq.Validate(); err != nil {
		t.Fatal(err)
	}
	if input, err = json.Marshal(mixSummary{Size: len(drawn), Strategy: refusedReq.Strategy, Stats: stats, Request: refusedReq}); err != nil {
		t.Fatal(err)
	}
	f.Refused = &registry.Decision{ID: newID(), Policy: refusing.Ref(), Allowed: false, Violations: []string{"no mixes today"},
		Input: input, EvaluatedAt: at}
	if err := registry.WriteMix(ctx, st, f.Refused, nil, nil, nil); err != nil {
		t.Fatalf("refused mix: %v", err)
	}
	if f.Tuned, err = svc.CreateModel(ctx, &registry.NewModel{Name: "student", Version: "1", Provider: "Example Labs",
		TrainedOn: []string{f.Mix.ID}}, nil); err != nil {
		t.Fatalf("trained model: %v", err)
	}
	// Two versions of the trained model's disclosure: every version is logged.
	for i, name := range []string{"Example Labs", "Example Labs Inc."} {
		d, created, err := registry.WriteDisclosure(ctx, st, f.Tuned.Ref(), &registry.NewDisclosure{
			Provider: &registry.Party{Name: name, Contact: "ai-act@example.com"}, MarketPlacementDate: "2025-09-01",
			Dependencies: &[]registry.Dependency{}, TDMOptOuts: "robots.txt is honoured."}, time.Now())
		if err != nil || !created || d.Version != i+1 {
			t.Fatalf("disclosure %d: version %v, created %v, %v", i+1, d, created, err)
		}
		f.Disclosure = d
	}

	// A sample stored with a null toxicity, re-scored twice.
	f.Rescored = h.One(registry.NewSample{Text: text(Text("rescored " + unscoredMarker)), Origin: registry.OriginHuman, Dataset: "rescored"})
	for _, sc := range []*metrics.Scorer{{}, {Toxicity: metrics.NewLexiconV1Scorer()}} {
		m, err := registry.MetricsScorer{Scorer: sc}.Score(ctx, f.Rescored.Text)
		if err != nil {
			t.Fatal(err)
		}
		written, _, err := registry.WriteRescores(ctx, st, []registry.RescoreItem{{SampleID: f.Rescored.ID,
			From: registry.MetricsDigest(f.Rescored.Metrics), Metrics: m}}, time.Now())
		if err != nil || len(written) != 1 {
			t.Fatalf("re-score: %v, %v", written, err)
		}
		if f.Rescored, err = st.GetSample(ctx, f.Rescored.ID); err != nil {
			t.Fatal(err)
		}
	}

	f.Log = f.OpenLog(t)
	if _, _, err := f.Log.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	return f
}

// OpenLog returns a Log over the filled store, signed with the key in KeyDir, which keeps its
// checkpoints and audit watermark in KeyDir as a registry's data directory does.
func (f *Filled) OpenLog(t testing.TB) *ledger.Log {
	t.Helper()
	signer, _, vkey, err := ledger.LoadOrCreateKey(f.KeyDir, "pedigree-test")
	if err != nil {
		t.Fatal(err)
	}
	return ledger.NewLog(f.Store, signer, vkey,
		ledger.WithWitnesses(&ledger.NoteFile{Path: filepath.Join(f.KeyDir, ledger.CheckpointFile)}),
		ledger.WithWatermark(&ledger.NoteFile{Path: filepath.Join(f.KeyDir, ledger.WatermarkFile)}))
}

// StartupCheck runs the start-up check a registry runs before it serves.
func (f *Filled) StartupCheck(ctx context.Context) (ledger.CheckResult, error) {
	return f.Log.StartupCheck(ctx, f.Store.RecordLeaves, leaves.RecordLeaf(f.Store))
}

// Restart closes the store and opens the same database again, with a new Log.
func (f *Filled) Restart(t *testing.T, b Backend) {
	t.Helper()
	f.Store.Close()
	f.Store = b.Reopen(t, f.Location)
	f.Log = f.OpenLog(t)
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// RunLog runs the contract of the tamper-evident log: the store reads back the leaves, hashes and
// checkpoints it wrote; a registry holding every kind of record with every optional field restarts and verifies; each edit
// an attacker with the database could make is found.
func RunLog(t *testing.T, b Backend) {
	t.Run("LogStorage", func(t *testing.T) { testLogStorage(t, b) })
	t.Run("ReopenKeepsDataAndMigrationsRunOnce", func(t *testing.T) { testReopen(t, b) })
	t.Run("RestartWithEveryField", func(t *testing.T) { testRestartWithEveryField(t, b) })
	t.Run("Tamper", func(t *testing.T) { testTamper(t, b) })
	t.Run("Rollback", func(t *testing.T) { testRollback(t, b) })
}

func testRestartWithEveryField(t *testing.T, b Backend) {
	ctx := context.Background()
	f := Fill(t, b)
	f.Restart(t, b)
	// The first start has no watermark: it checks every record.
	first, err := f.StartupCheck(ctx)
	if err != nil {
		t.Fatalf("the start-up check of an honest registry with every field set failed after a restart: %v", err)
	}
	if !first.Full {
		t.Fatalf("the first start-up check was not a full one: %+v", first)
	}
	tree, err := f.Log.SelfCheck(ctx, f.Store.RecordLeaves)
	if err != nil {
		t.Fatalf("the full check of an honest registry with every field set failed after a restart: %v", err)
	}
	if err := checkEveryLeaf(ctx, f); err != nil {
		t.Fatalf("re-deriving each leaf's record after a restart: %v", err)
	}
	if tree.N < 15 {
		t.Fatalf("log of %d leaves; every record should have one", tree.N)
	}
	// The records read back whole after the restart.
	got, err := f.Store.GetSample(ctx, f.Answer.ID)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Metadata) != `{"temperature":0.7}` || got.Source != f.Answer.Source || got.PromptID != f.Prompt.ID ||
		len(got.Parents) != 2 {
		t.Fatalf("answer after restart: %+v", got)
	}
	if u, err := f.Store.GetSample(ctx, f.Unscored.ID); err != nil || u.Metrics.Toxicity != nil {
		t.Fatalf("unscored answer after restart: %+v, %v", u, err)
	}
}

// A tamperCase is one edit of the database. sql holds the statements, with {{dialect}} variants in
// bySQL when they differ.
type tamperCase struct {
	name     string
	sql      string
	postgres string // the PostgreSQL statements, when they differ from sql
	// use reads what the edit changed through a checked store, as a running registry would to
	// answer a request; it must fail with registry.ErrTampered. Nil where no single read shows
	// the edit (the audits find those).
	use func(ctx context.Context, f *Filled, c *leaves.Checked) error
	// treeOnly marks edits of the tree itself, which re-deriving records from their leaves cannot
	// see: the tree check finds them.
	treeOnly bool
	// index marks edits of what is derived from the samples' texts and held in no leaf (the
	// near-duplicate index, the normalized key): the full check, not a leaf's re-derivation, finds
	// them.
	index bool
}

// checkEveryLeaf re-derives, leaf by leaf, the record each leaf names (leaves.RecordLeaf, what the
// start-up check does for the leaves since the last full audit) and requires it to claim that index
// with exactly those bytes.
func checkEveryLeaf(ctx context.Context, f *Filled) error {
	size, err := f.Store.LogSize(ctx)
	if err != nil {
		return err
	}
	all, err := f.Store.ReadLogLeaves(ctx, 0, int(size))
	if err != nil {
		return err
	}
	record := leaves.RecordLeaf(f.Store)
	for i, leaf := range all {
		r, err := ledger.ParseLeaf(leaf)
		if err != nil {
			return fmt.Errorf("leaf %d: %w", i, err)
		}
		claims, err := record(ctx, r.Kind, r.ID)
		if err != nil {
			return fmt.Errorf("leaf %d (%s %s): %w", i, r.Kind, r.ID, err)
		}
		if !bytes.Equal(claims[int64(i)], leaf) {
			return fmt.Errorf("leaf %d (%s %s): the record derives %q", i, r.Kind, r.ID, claims[int64(i)])
		}
	}
	return nil
}

func (c tamperCase) statements(dialect string) string {
	if dialect == "postgres" && c.postgres != "" {
		return c.postgres
	}
	return c.sql
}

// Reads through a checked store, for tamperCase.use.
func getSample(s func(*Filled) *registry.Sample) func(context.Context, *Filled, *leaves.Checked) error {
	return func(ctx context.Context, f *Filled, c *leaves.Checked) error {
		_, err := c.GetSample(ctx, s(f).ID)
		return err
	}
}

var (
	usePrompt  = getSample(func(f *Filled) *registry.Sample { return f.Prompt })
	useSeed    = getSample(func(f *Filled) *registry.Sample { return f.Seed })
	useAnswer  = getSample(func(f *Filled) *registry.Sample { return f.Answer })
	useEdited  = getSample(func(f *Filled) *registry.Sample { return f.Edited })
	useFlagged = getSample(func(f *Filled) *registry.Sample { return f.Flagged })
	// useAsParent ingests, through the checked store, an edit of the model answer: its generation
	// derives from the answer's, which must be the logged one.
	useAsParent = func(ctx context.Context, f *Filled, c *leaves.Checked) error {
		svc := &registry.Service{Store: c, Scorer: registry.MetricsScorer{Scorer: &metrics.Scorer{}}}
		text := Text("an edit of the answer, made after the database was opened") + " " + Words("as parent", 12)
		_, err := svc.Ingest(ctx, []registry.NewSample{Human(text, f.Answer.ID)}, nil)
		return err
	}
	useCopied = getSample(func(f *Filled) *registry.Sample { return f.Copied })
	// useContentLookup finds the prompt by its content, as a pipeline linking its work does.
	useContentLookup = func(ctx context.Context, f *Filled, c *leaves.Checked) error {
		svc := &registry.Service{Store: c}
		found, err := svc.Lookup(ctx, &registry.Lookup{Contents: []registry.ContentKey{{ContentSHA256: f.Prompt.ContentSHA256}}})
		if err == nil && (len(found) != 1 || found[0].ID != f.Prompt.ID) {
			return fmt.Errorf("a content lookup of the prompt found %d samples", len(found))
		}
		return err
	}
	// useLineage reads the lineage graph around the answer, as an auditor's console does.
	useLineage = func(ctx context.Context, f *Filled, c *leaves.Checked) error {
		_, err := c.Lineage(ctx, f.Answer.ID, registry.DirectionBoth, 10, 100)
		return err
	}
	useModel = func(ctx context.Context, f *Filled, c *leaves.Checked) error {
		_, err := c.GetModel(ctx, f.Base.ID)
		return err
	}
	useMix = func(ctx context.Context, f *Filled, c *leaves.Checked) error {
		_, err := c.GetMix(ctx, f.Mix.ID)
		return err
	}
	useExport = func(ctx context.Context, f *Filled, c *leaves.Checked) error {
		return c.ExportMix(ctx, f.Mix.ID, func(*registry.Sample) error { return nil })
	}
	useDisclosure = func(ctx context.Context, f *Filled, c *leaves.Checked) error {
		_, err := c.GetDisclosure(ctx, f.Tuned.ID, 0)
		return err
	}
	useRefusal = func(ctx context.Context, f *Filled, c *leaves.Checked) error {
		_, err := c.GetDecision(ctx, f.Refused.ID)
		return err
	}
	// useRefusingPolicy reads the refusing policy as a mix request would before evaluating it: the
	// checked store proves the version, and its module against its logged SHA-256.
	useRefusingPolicy = func(ctx context.Context, f *Filled, c *leaves.Checked) error {
		_, err := c.GetPolicyVersion(ctx, "refusing", 0)
		return err
	}
	useRescored = func(ctx context.Context, f *Filled, c *leaves.Checked) error {
		_, err := c.GetSample(ctx, f.Rescored.ID)
		return err
	}
	useRescoredInABatch = func(ctx context.Context, f *Filled, c *leaves.Checked) error {
		_, err := c.GetSamples(ctx, []string{f.Prompt.ID, f.Rescored.ID})
		return err
	}
	useReplay = func(ctx context.Context, f *Filled, c *leaves.Checked) error {
		_, err := c.Idempotent(ctx, "fill", "model-1")
		return err
	}
	authenticate = func(key func(*Filled) string) func(context.Context, *Filled, *leaves.Checked) error {
		return func(ctx context.Context, f *Filled, c *leaves.Checked) error {
			_, err := registry.Authenticate(ctx, c, key(f))
			return err
		}
	}
)

// attackerKey is a key an attacker made up for the admin key's id, whose hash PlantedKeyHash puts
// on that key's row.
func attackerKey(f *Filled) string {
	return "pdg_" + strings.ReplaceAll(f.AdminKeyID, "-", "") + "_" + strings.Repeat("A", 43)
}

func testTamper(t *testing.T, b Backend) {
	ctx := context.Background()
	cases := []tamperCase{
		{name: "EditedText", sql: "UPDATE samples SET text = 'rewritten' WHERE dataset = 'prompts'", use: usePrompt},
		{name: "RelabelledGeneration", sql: "UPDATE samples SET generation = 0, generation_basis = 'human' WHERE origin = 'model'", use: useAnswer},
		{name: "RelabelledGenerationOfAParent", sql: "UPDATE samples SET generation = 0, generation_basis = 'human' WHERE origin = 'model'", use: useAsParent},
		{name: "RelabelledOrigin", sql: "UPDATE samples SET origin = 'human', model_id = NULL, model = NULL WHERE origin = 'model'", use: useAnswer},
		{name: "ChangedContentHashAndText", sql: "UPDATE samples SET text = 'x', content_sha256 = '2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881' WHERE dataset = 'prompts'", use: usePrompt},
		{name: "ChangedScores", sql: "UPDATE samples SET mtld = mtld + 1", use: usePrompt},
		{name: "ScoredTheUnscored", sql: "UPDATE samples SET toxicity = 0.01 WHERE toxicity IS NULL"},
		{name: "ChangedMetadata", sql: `UPDATE samples SET metadata = '{"lang":"fr"}' WHERE dataset = 'prompts'`, use: usePrompt},
		{name: "ChangedSourceURI", sql: "UPDATE samples SET source_uri = 'https://elsewhere.example/' WHERE dataset = 'seeds'", use: useSeed},
		{name: "ChangedSourceName", sql: "UPDATE samples SET source_name = 'other' WHERE dataset = 'answers'", use: useAnswer},
		{name: "ChangedLicense", sql: "UPDATE samples SET license = 'MIT'", use: usePrompt},
		{name: "ChangedDataset", sql: "UPDATE samples SET dataset = 'moved' WHERE dataset = 'edits'", use: useEdited},
		{name: "RemovedLineage", sql: "DELETE FROM edges WHERE kind = 'parent'", use: useAnswer},
		{name: "RemovedLineageInAGraph", sql: "DELETE FROM edges WHERE kind = 'parent'", use: useLineage},
		{name: "RelabelledGenerationInAGraph", sql: "UPDATE samples SET generation = 0, generation_basis = 'human' WHERE dataset = 'edits'", use: useLineage},
		{name: "PromptEdgeMadeParent", sql: "UPDATE edges SET kind = 'parent' WHERE kind = 'prompt'", use: useAnswer},
		{name: "ParentEdgeMadePrompt", sql: "UPDATE edges SET kind = 'prompt' WHERE kind = 'parent'", use: useAnswer},
		{name: "AddedEdge", sql: "INSERT INTO edges (child_id, parent_id, kind) SELECT e.id, p.id, 'parent' FROM samples e, samples p WHERE e.dataset = 'edits' AND p.dataset = 'seeds'", use: useEdited},
		{name: "ChangedModelGeneration", sql: "UPDATE models SET generation = 0, generation_basis = 'human'", use: useModel},
		{name: "ChangedModelProvider", sql: "UPDATE models SET provider = 'Someone Else'", use: useModel},
		{name: "ChangedTraining", sql: "DELETE FROM model_training"},
		{name: "UnrevokedKey", sql: "UPDATE api_keys SET revoked_at = NULL, revoked_log_index = NULL"},
		{name: "ChangedRole", sql: "UPDATE api_keys SET role = 'admin' WHERE role = 'ingest'", use: authenticate(func(f *Filled) string { return f.IngestKey })},
		{name: "PlantedKeyHash", sql: "UPDATE api_keys SET hash = X'{{planted}}' WHERE role = 'admin'",
			postgres: "UPDATE api_keys SET hash = decode('{{planted}}', 'hex') WHERE role = 'admin'", use: authenticate(attackerKey)},
		{name: "EditedExportedText", sql: "UPDATE samples SET text = 'rewritten' WHERE dataset = 'seeds'", use: useExport},
		{name: "DroppedManifest", sql: "DELETE FROM mix_manifest", use: useExport},
		{name: "DowngradedKeyLeaf", sql: "UPDATE api_keys SET leaf_fields = 1", use: authenticate(func(f *Filled) string { return f.AdminKey })},
		{name: "ChangedPolicyLimits", sql: `UPDATE policy_versions SET limits = '{"max_generation":9}'`, use: useRefusingPolicy},
		{name: "ChangedPolicyModule", sql: "UPDATE policy_versions SET module = '" + OpenPolicy + "' WHERE name = 'refusing'", use: useRefusingPolicy},
		{name: "ChangedPolicyModuleAndHash", sql: "UPDATE policy_versions SET module = '" + OpenPolicy + "', sha256 = '" + digest(OpenPolicy) + "' WHERE name = 'refusing'", use: useRefusingPolicy},
		{name: "ChangedDecision", sql: "UPDATE decisions SET allowed = NOT allowed", use: useRefusal},
		{name: "ChangedViolations", sql: `UPDATE decisions SET violations = '[]' WHERE violations <> '[]'`, use: useRefusal},
		{name: "ChangedDecisionInput", sql: `UPDATE decisions SET input = '{}'`, use: useRefusal},
		{name: "ChangedManifestHash", sql: "UPDATE mixes SET manifest_sha256 = 'ff'", use: useMix},
		{name: "ChangedMixRequest", sql: `UPDATE mixes SET request = replace(request, '"seed":7', '"seed":8')`, use: useMix},
		{name: "ChangedMixStats", sql: `UPDATE mixes SET stats = '{"human":0}'`, use: useMix},
		{name: "ChangedMixGeneration", sql: "UPDATE mixes SET max_generation = 0, generation_basis = 'human'", use: useMix},
		{name: "DowngradedMixLeaf", sql: "UPDATE mixes SET leaf_fields = 1", use: useMix},
		{name: "ChangedIdempotentResult", sql: `UPDATE idempotency SET result = '{"ids":["00000000-0000-7000-8000-000000000000"]}' WHERE key = 'model-1'`, use: useReplay},
		{name: "ChangedIdempotentRequest", sql: `UPDATE idempotency SET request_sha256 = 'ff'`, use: useReplay},
		{name: "DeletedIdempotency", sql: "DELETE FROM idempotency"},
		{name: "ChangedLeaf", sql: "UPDATE log_leaves SET leaf = CAST('{}' AS BLOB) WHERE idx = 2",
			postgres: "UPDATE log_leaves SET leaf = '{}'::bytea WHERE idx = 2"},
		{name: "ChangedHash", sql: "UPDATE log_hashes SET hash = zeroblob(32) WHERE idx = 3",
			postgres: "UPDATE log_hashes SET hash = decode(repeat('00', 32), 'hex') WHERE idx = 3", treeOnly: true},
		{name: "DeletedRecord", sql: "DELETE FROM api_keys WHERE role = 'ingest'"},
		{name: "DeletedRecordAndItsLeaves", sql: "DELETE FROM log_leaves WHERE kind LIKE 'key%'; DELETE FROM api_keys"},
		{name: "UnflaggedLaundering", sql: "UPDATE samples SET near_duplicate_of = NULL, near_similarity = NULL WHERE dataset = 'flagged'", use: useFlagged},
		{name: "RaisedSimilarity", sql: "UPDATE samples SET near_similarity = 0.99 WHERE dataset = 'flagged'", use: useFlagged},
		{name: "ChangedCollectedAt", sql: "UPDATE samples SET collected_at = collected_at + 86400000 WHERE dataset = 'seeds'", use: useSeed},
		{name: "RemovedCollectedAt", sql: "UPDATE samples SET collected_at = NULL WHERE dataset = 'seeds'", use: useSeed},
		{name: "AddedCollectedAt", sql: "UPDATE samples SET collected_at = 0 WHERE dataset = 'prompts'", use: usePrompt},
		{name: "ChangedDisclosure", sql: "UPDATE model_disclosures SET document = replace(document, 'Example Labs Inc.', 'Someone Else') WHERE version = 2", use: useDisclosure},
		{name: "RenumberedDisclosure", sql: "UPDATE model_disclosures SET version = version + 10", use: useDisclosure},
		{name: "UnparsableDisclosure", sql: "UPDATE model_disclosures SET document = 'not json' WHERE version = 2", use: useDisclosure},
		{name: "DeletedDisclosureVersion", sql: "DELETE FROM model_disclosures WHERE version = 2"},
		{name: "ChangedRescoredToxicity", sql: "UPDATE samples SET toxicity = 0.99 WHERE dataset = 'rescored'", use: useRescored},
		{name: "RolledBackRescoredScorer", sql: "UPDATE samples SET toxicity_scorer = 'lexicon/2' WHERE dataset = 'rescored'", use: useRescoredInABatch},
		{name: "DroppedIngestMetrics", sql: "UPDATE samples SET ingest_metrics = NULL WHERE dataset = 'rescored'", use: useRescored},
		{name: "ClaimedRescore", sql: "UPDATE samples SET ingest_metrics = 'ff' WHERE dataset = 'prompts'", use: usePrompt},
		{name: "ChangedRescore", sql: "UPDATE rescores SET toxicity = 0.01 WHERE seq = 2; UPDATE samples SET toxicity = 0.01 WHERE dataset = 'rescored'", use: useRescored},
		{name: "RenumberedRescore", sql: "UPDATE rescores SET seq = seq + 10", use: useRescored},
		{name: "DeletedRescore", sql: "DELETE FROM rescores WHERE seq = 2", use: useRescored},
		{name: "DeletedRescores", sql: "DELETE FROM rescores", use: useRescoredInABatch},
		{name: "MovedCluster", sql: "UPDATE samples SET cluster = NULL WHERE dataset = 'copies'", use: useCopied},
		{name: "JoinedCluster", sql: "UPDATE samples SET cluster = (SELECT id FROM samples WHERE dataset = 'answers' AND toxicity IS NOT NULL) WHERE dataset = 'seeds'", use: useSeed},
		// The normalized key is no read's to serve: the audits re-derive it.
		{name: "ChangedNormalizedKey", sql: "UPDATE samples SET norm_sha256 = zeroblob(32) WHERE dataset = 'answers'",
			postgres: "UPDATE samples SET norm_sha256 = decode(repeat('00', 32), 'hex') WHERE dataset = 'answers'", index: true},
		{name: "DeletedBandKeys", sql: "DELETE FROM sample_bands", index: true},
		// The identity index made to answer the seed for the prompt's content: a lookup proves what
		// it finds, and the audits re-derive every identity.
		{name: "MovedIdentity", sql: `CREATE TEMP TABLE moved AS SELECT identity_sha256 AS i FROM samples WHERE dataset = 'prompts';
			UPDATE samples SET identity_sha256 = zeroblob(32) WHERE dataset = 'prompts';
			UPDATE samples SET identity_sha256 = (SELECT i FROM moved) WHERE dataset = 'seeds'`,
			postgres: `CREATE TEMP TABLE moved AS SELECT identity_sha256 AS i FROM samples WHERE dataset = 'prompts';
			UPDATE samples SET identity_sha256 = decode(repeat('00', 32), 'hex') WHERE dataset = 'prompts';
			UPDATE samples SET identity_sha256 = (SELECT i FROM moved) WHERE dataset = 'seeds'`, use: useContentLookup, index: true},
		// A sample's statistics group names what a mix's statistics (and the EU AI Act summary built
		// from them) count it as: the audits re-derive it from the sample's own fields.
		{name: "MovedStatGroup", sql: "UPDATE samples SET stat_group = (SELECT min(stat_group) FROM samples WHERE dataset = 'prompts') WHERE dataset = 'answers'", index: true},
		{name: "RelabelledStatGroup", sql: "UPDATE stat_groups SET license = 'MIT' WHERE license <> 'MIT'", index: true},
		{name: "RenamedCrawledSource", sql: "UPDATE stat_groups SET source = 'elsewhere.example' WHERE source_kind = 'web_crawl'", index: true},
		{name: "RemovedStatGroup", sql: "UPDATE samples SET stat_group = NULL WHERE dataset = 'seeds'", index: true},
		{name: "DanglingStatGroup", sql: "UPDATE samples SET stat_group = 999999 WHERE dataset = 'seeds'", index: true},
		{name: "PlantedBandKey", sql: "INSERT INTO sample_bands (band, log_index) SELECT 42, log_index FROM samples WHERE dataset = 'prompts'", index: true},
		{name: "DeletedSample", sql: "DELETE FROM edges WHERE child_id IN (SELECT id FROM samples WHERE dataset = 'edits'); DELETE FROM samples WHERE dataset = 'edits'"},
		{name: "TruncatedLog", sql: "DELETE FROM log_leaves WHERE idx = (SELECT max(idx) FROM log_leaves)", treeOnly: true},
		{name: "MovedHead", sql: "UPDATE log_head SET size = size + 1", treeOnly: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := Fill(t, b)
			// The registry runs: its log is verified and trusted, and it reads through a checked store.
			if _, err := f.Log.SelfCheck(ctx, f.Store.RecordLeaves); err != nil {
				t.Fatal(err)
			}
			if tc.use != nil {
				if err := tc.use(ctx, f, leaves.NewChecked(f.Store, f.Log)); errors.Is(err, registry.ErrTampered) {
					t.Fatalf("before the edit: %v", err)
				}
			}
			planted := sha256.Sum256([]byte(attackerKey(f)))
			sql := strings.ReplaceAll(tc.statements(b.Dialect), "{{planted}}", hex.EncodeToString(planted[:]))
			// The edit is made under the running registry, which notices it when it next reads it...
			b.Exec(t, f.Location, sql)
			if tc.use != nil {
				if err := tc.use(ctx, f, leaves.NewChecked(f.Store, f.Log)); !errors.Is(err, registry.ErrTampered) {
					t.Fatalf("a running registry reads what %q changed without noticing: %v", sql, err)
				}
			}
			// ...and re-deriving records leaf by leaf finds it...
			if err := checkEveryLeaf(ctx, f); err == nil && !tc.treeOnly && !tc.index {
				t.Fatalf("every leaf's record re-derives after %q", sql)
			}
			// ...and it refuses to start on it.
			f.Restart(t, b)
			if _, err := f.Log.SelfCheck(ctx, f.Store.RecordLeaves); err == nil {
				t.Fatalf("the registry starts after %q", sql)
			}
		})
	}
}

// testRollback rolls a registry's database back to an earlier, consistent state, with every stored
// checkpoint deleted, as an old backup or a careful attacker leaves it: the checkpoint kept outside
// the database must make the start-up check refuse it.
func testRollback(t *testing.T, b Backend) {
	ctx := context.Background()
	f := Fill(t, b)
	size, err := f.Store.LogSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h := NewHarness(t, f.Store)
	h.One(Human(Text("written after the backup")))
	if _, _, err := f.Log.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	b.Exec(t, f.Location, fmt.Sprintf(`DELETE FROM samples WHERE log_index >= %[1]d; DELETE FROM log_leaves WHERE idx >= %[1]d;
		DELETE FROM log_hashes WHERE idx >= %[2]d; DELETE FROM log_checkpoints; UPDATE log_head SET size = %[1]d;`, size, tlog.StoredHashCount(size)))
	f.Restart(t, b)
	if _, err := f.StartupCheck(ctx); !errors.Is(err, ledger.ErrRolledBack) {
		t.Fatalf("the start-up check of a rolled-back database: %v; want %v", err, ledger.ErrRolledBack)
	}
}
