package storetest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pedigreeml/pedigree/ledger"
	"github.com/pedigreeml/pedigree/metrics"
	"github.com/pedigreeml/pedigree/registry"
)

// downScorer is a toxicity scorer whose server is down.
type downScorer struct{}

func (downScorer) ID() string { return "http:down" }
func (downScorer) Toxicity(context.Context, string, []string) (float64, error) {
	return 0, errors.New("connection refused")
}

// logLeaf reads the stored log leaf at index.
func logLeaf(t *testing.T, st registry.Store, index int64) []byte {
	t.Helper()
	ls, ok := st.(ledger.Storage)
	if !ok {
		t.Fatal("the store does not keep its log")
	}
	got, err := ls.ReadLogLeavesAt(context.Background(), []int64{index})
	if err != nil {
		t.Fatal(err)
	}
	return got[0]
}

// testRescore is the contract of re-scoring: samples with a null toxicity or another scorer's are
// re-scored page by page, each re-score a new logged record; the sample's own leaf stays the one
// logged at ingest, its columns hold the new metrics, and a failed scorer, a null score or a
// sample changed meanwhile writes nothing.
func testRescore(t *testing.T, h *Harness) {
	ctx := h.Ctx
	current := registry.MetricsScorer{Scorer: &metrics.Scorer{}}
	scorer, version := current.Identity()
	// Stored: two samples an unavailable HTTP scorer left null, one scored by lexicon/1, one current.
	nulling := *h.Svc
	nulling.Scorer = nullScorer{current}
	old := *h.Svc
	old.Scorer = registry.MetricsScorer{Scorer: &metrics.Scorer{Toxicity: metrics.NewLexiconV1Scorer()}}
	n1 := (&Harness{tb: t, Store: h.Store, Svc: &nulling, Ctx: ctx}).One(Human(Text("null one " + unscoredMarker)))
	v1 := (&Harness{tb: t, Store: h.Store, Svc: &old, Ctx: ctx}).One(Human(Text("old scorer")))
	up := h.One(Human(Text("current")))
	n2 := (&Harness{tb: t, Store: h.Store, Svc: &nulling, Ctx: ctx}).One(Human(Text("null two " + unscoredMarker)))
	if n1.Metrics.Toxicity != nil || v1.Metrics.ToxicityScorer == scorer || up.Metrics.ToxicityScorer != scorer {
		t.Fatalf("fixture: %+v, %+v, %+v", n1.Metrics, v1.Metrics, up.Metrics)
	}
	before := map[string][]byte{}
	for _, s := range []*registry.Sample{n1, v1, n2} {
		before[s.ID] = logLeaf(t, h.Store, s.LogIndex)
	}

	// A dry run counts and writes nothing.
	res, err := h.Svc.Rescore(ctx, registry.RescoreRequest{DryRun: true})
	if err != nil || res.Candidates != 3 || res.Rescored != 0 || res.Remaining != 0 || res.NextAfter != n2.LogIndex {
		t.Fatalf("dry run: %+v, %v", res, err)
	}
	onlyNull, err := h.Svc.Rescore(ctx, registry.RescoreRequest{DryRun: true, OnlyNull: true})
	if err != nil || onlyNull.Candidates != 2 {
		t.Fatalf("dry run of the null ones: %+v, %v", onlyNull, err)
	}
	// A scorer that is down writes nothing, and the scorer that leaves nulls writes no null.
	down := *h.Svc
	down.Scorer = registry.MetricsScorer{Scorer: &metrics.Scorer{Toxicity: downScorer{}}}
	if _, err := down.Rescore(ctx, registry.RescoreRequest{}); registry.ErrorCode(err) != registry.EUNAVAILABLE {
		t.Fatalf("re-score with the scorer down: %v; want %s", err, registry.EUNAVAILABLE)
	}
	res, err = nulling.Rescore(ctx, registry.RescoreRequest{OnlyNull: true})
	if err != nil || res.Rescored != 0 || res.Skipped != 2 {
		t.Fatalf("re-score that gives null again: %+v, %v", res, err)
	}
	if got, _ := h.Store.GetSample(ctx, n1.ID); got.Metrics.Toxicity != nil || got.IngestMetrics != "" {
		t.Fatalf("after failed re-scores: %+v, ingest metrics %q", got.Metrics, got.IngestMetrics)
	}

	// Two pages of one: the first null sample, then lexicon/1's; the third page takes the rest.
	res, err = h.Svc.Rescore(ctx, registry.RescoreRequest{Limit: 1})
	if err != nil || res.Rescored != 1 || res.NextAfter != n1.LogIndex || res.Remaining != 2 || res.Scorer != scorer || res.Version != version {
		t.Fatalf("first page: %+v, %v", res, err)
	}
	after := res.NextAfter
	res, err = h.Svc.Rescore(ctx, registry.RescoreRequest{Limit: 1, After: &after})
	if err != nil || res.Rescored != 1 || res.NextAfter != v1.LogIndex || res.Remaining != 1 {
		t.Fatalf("second page: %+v, %v", res, err)
	}
	after = res.NextAfter
	res, err = h.Svc.Rescore(ctx, registry.RescoreRequest{After: &after})
	if err != nil || res.Rescored != 1 || res.Remaining != 0 || res.NextAfter != n2.LogIndex {
		t.Fatalf("last page: %+v, %v", res, err)
	}
	// Nothing is left to re-score from the start.
	res, err = h.Svc.Rescore(ctx, registry.RescoreRequest{})
	if err != nil || res.Candidates != 0 || res.Rescored != 0 || res.Remaining != 0 {
		t.Fatalf("again: %+v, %v", res, err)
	}

	for _, s := range []*registry.Sample{n1, v1, n2} {
		got, err := h.Store.GetSample(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Metrics.Toxicity == nil || got.Metrics.ToxicityScorer != scorer || got.Metrics.Version != version {
			t.Fatalf("sample %s after the re-score: %+v", s.ID, got.Metrics)
		}
		if m, _ := current.Score(ctx, got.Text); registry.MetricsDigest(m) != registry.MetricsDigest(got.Metrics) {
			t.Fatalf("sample %s holds %+v; the scorer gives %+v", s.ID, got.Metrics, m)
		}
		if got.IngestMetrics != registry.MetricsDigest(s.Metrics) {
			t.Fatalf("sample %s keeps ingest metrics %q; it was logged with %q", s.ID, got.IngestMetrics, registry.MetricsDigest(s.Metrics))
		}
		// Its own leaf is still the one logged at ingest.
		leaf, err := registry.SampleLeaf(got)
		if err != nil || !bytes.Equal(leaf, before[s.ID]) || !bytes.Equal(leaf, logLeaf(t, h.Store, s.LogIndex)) {
			t.Fatalf("sample %s re-derives another leaf after its re-score: %v", s.ID, err)
		}
		// Its re-score is logged and holds the new metrics.
		r, err := h.Store.GetRescore(ctx, s.ID, 0)
		if err != nil || r.Seq != 1 || r.From != registry.MetricsDigest(s.Metrics) || registry.MetricsDigest(r.Metrics) != registry.MetricsDigest(got.Metrics) {
			t.Fatalf("re-score of %s: %+v, %v", s.ID, r, err)
		}
		rleaf, err := registry.RescoreLeaf(r)
		if err != nil || !bytes.Equal(rleaf, logLeaf(t, h.Store, r.LogIndex)) {
			t.Fatalf("re-score of %s: its leaf is not the logged one (%v)", s.ID, err)
		}
		all, err := h.Store.SampleRescores(ctx, s.ID)
		if err != nil || registry.CheckRescores(got, all) != nil {
			t.Fatalf("re-scores of %s: %v, %v", s.ID, err, registry.CheckRescores(got, all))
		}
	}
	if got, _ := h.Store.GetSample(ctx, up.ID); got.IngestMetrics != "" {
		t.Fatal("a sample already scored by the current scorer was re-scored")
	}

	// A second re-score of one sample (back to lexicon/1) is numbered 2 and replaces the first; a
	// stale item (scored from metrics the sample no longer has) and a null score are skipped.
	got, _ := h.Store.GetSample(ctx, v1.ID)
	v1m, _ := old.Scorer.Score(ctx, got.Text)
	nullM := v1m
	nullM.Toxicity = nil
	written, skipped, err := registry.WriteRescores(ctx, h.Store, []registry.RescoreItem{
		{SampleID: v1.ID, From: registry.MetricsDigest(got.Metrics), Metrics: v1m},
		{SampleID: n1.ID, From: registry.MetricsDigest(n1.Metrics), Metrics: v1m}, // n1 no longer has those
		{SampleID: n2.ID, From: registry.MetricsDigest(got.Metrics), Metrics: nullM},
	}, time.Now())
	if err != nil || len(written) != 1 || skipped != 2 || written[0].Seq != 2 {
		t.Fatalf("second re-score: %+v, skipped %d, %v", written, skipped, err)
	}
	// A batch naming an unknown sample writes nothing.
	n1now, _ := h.Store.GetSample(ctx, n1.ID)
	unknown := []registry.RescoreItem{{SampleID: n1.ID, From: registry.MetricsDigest(n1now.Metrics), Metrics: v1m},
		{SampleID: "0190a3b2-0000-7000-8000-000000000000", From: "x", Metrics: v1m}}
	if _, _, err := registry.WriteRescores(ctx, h.Store, unknown, time.Now()); registry.ErrorCode(err) != registry.ENOTFOUND {
		t.Fatalf("a re-score of an unknown sample: %v; want %s", err, registry.ENOTFOUND)
	}
	if rs, _ := h.Store.SampleRescores(ctx, n1.ID); len(rs) != 1 {
		t.Fatalf("a refused batch left %d re-scores of a sample it named; want 1", len(rs))
	}
	again, _ := h.Store.GetSample(ctx, v1.ID)
	all, err := h.Store.SampleRescores(ctx, v1.ID)
	if err != nil || len(all) != 2 || registry.CheckRescores(again, all) != nil || again.IngestMetrics != registry.MetricsDigest(v1.Metrics) ||
		registry.MetricsDigest(again.Metrics) != registry.MetricsDigest(v1m) {
		t.Fatalf("after the second re-score: %+v, %d re-scores, %v", again.Metrics, len(all), err)
	}
	if leaf, _ := registry.SampleLeaf(again); !bytes.Equal(leaf, before[v1.ID]) {
		t.Fatal("the twice re-scored sample re-derives another leaf")
	}
	latest, err := h.Store.LatestRescores(ctx, []string{v1.ID, n1.ID, up.ID})
	if err != nil || len(latest) != 2 || latest[v1.ID].Seq != 2 || latest[n1.ID].Seq != 1 {
		t.Fatalf("latest re-scores: %+v, %v", latest, err)
	}
	// lexicon/1's scores make it a candidate again.
	res, err = h.Svc.Rescore(ctx, registry.RescoreRequest{DryRun: true})
	if err != nil || res.Candidates != 1 || res.NextAfter != v1.LogIndex {
		t.Fatalf("after going back to lexicon/1: %+v, %v", res, err)
	}
	// Refused requests.
	neg := int64(-1)
	for _, req := range []registry.RescoreRequest{{Limit: -1}, {Limit: registry.MaxRescoreLimit + 1}, {After: &neg}} {
		if _, err := h.Svc.Rescore(ctx, req); registry.ErrorCode(err) != registry.EINVALID {
			t.Fatalf("request %+v: %v; want %s", req, err, registry.EINVALID)
		}
	}
}
