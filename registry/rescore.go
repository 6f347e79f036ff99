package registry

// Re-scoring: stored samples whose toxicity is null (an HTTP scorer was down under
// --toxicity-on-error=null) or came from another scorer or metrics version are scored again. A
// sample's scores are in its log leaf, so a new score is never an edit in place: it is a new
// logged record (kind "rescore"), numbered per sample, that names the digest of the metrics it
// replaces and carries the new ones. The sample's metric columns then hold the latest scores, and
// the digest it was logged with is kept (Sample.IngestMetrics) so that its original leaf still
// re-derives.

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/pedigreeml/pedigree/ledger"
	"github.com/pedigreeml/pedigree/metrics"
)

// KindRescore is the log kind of a re-score of a stored sample.
const KindRescore = "rescore"

// Limits of one re-score request.
const (
	DefaultRescoreLimit = 100
	MaxRescoreLimit     = 1000
)

// Rescore is one logged re-score of a sample: its number among the sample's re-scores (1, 2, …),
// the digest of the metrics it replaced (MetricsDigest) and the new metrics.
type Rescore struct {
	SampleID  string    `json:"sample_id"`
	Seq       int       `json:"seq"`
	From      string    `json:"from"`
	Metrics   Metrics   `json:"metrics"`
	CreatedAt time.Time `json:"created_at"`
	LogIndex  int64     `json:"log_index"`
}

// RescoreLeaf returns the log leaf of a re-score: the sample, the number, the digest of the
// metrics replaced and the digest of the new ones.
func RescoreLeaf(r *Rescore) ([]byte, error) {
	return ledger.Leaf(KindRescore, RescoreLeafID(r.SampleID, r.Seq), map[string]string{
		"sample_id": r.SampleID, "seq": strconv.Itoa(r.Seq), "from": r.From, "metrics": MetricsDigest(r.Metrics),
	}, r.CreatedAt)
}

// RescoreLeafID is the record id of a re-score in the log: "sample id@seq".
func RescoreLeafID(sampleID string, seq int) string { return sampleID + "@" + strconv.Itoa(seq) }

// ParseRescoreLeafID splits a re-score's record id; ok is false when it is not one.
func ParseRescoreLeafID(id string) (sampleID string, seq int, ok bool) {
	s, v, found := strings.Cut(id, "@")
	n, err := strconv.Atoi(v)
	if !found || err != nil || n < 1 || strconv.Itoa(n) != v || !ValidID(s) {
		return "", 0, false
	}
	return s, n, true
}

// CheckRescores checks a sample's stored metrics against all its re-scores, oldest first: the
// first must replace the metrics the sample was logged with (IngestMetrics), each the one before
// it, numbered from 1 without a gap, and the sample's metrics must be the last one's. A sample
// without re-scores must not claim to have been logged with other metrics. A mismatch wraps
// ErrTampered.
func CheckRescores(s *Sample, rs []*Rescore) error {
	if len(rs) == 0 {
		if s.IngestMetrics != "" {
			return Tampered("sample %s keeps the metrics it was logged with as if re-scored, but has no re-score", s.ID)
		}
		return nil
	}
	from := s.IngestMetrics
	for i, r := range rs {
		if r.SampleID != s.ID || r.Seq != i+1 {
			return Tampered("the re-scores of sample %s are not numbered 1 to %d", s.ID, len(rs))
		}
		if r.From != from {
			return Tampered("re-score %d of sample %s replaces metrics %s, but the sample then had %s", r.Seq, s.ID, r.From, from)
		}
		from = MetricsDigest(r.Metrics)
	}
	return CheckLatestRescore(s, rs[len(rs)-1])
}

// CheckLatestRescore checks that a re-scored sample's metrics are those of its latest re-score.
func CheckLatestRescore(s *Sample, latest *Rescore) error {
	if s.IngestMetrics == "" {
		return Tampered("sample %s has re-scores but no longer keeps the metrics it was logged with", s.ID)
	}
	if latest == nil {
		return Tampered("sample %s keeps the metrics it was logged with as if re-scored, but has no re-score", s.ID)
	}
	if got, want := MetricsDigest(s.Metrics), MetricsDigest(latest.Metrics); got != want {
		return Tampered("sample %s holds metrics %s, not those of its latest re-score (%d, logged at index %d): %s",
			s.ID, got, latest.Seq, latest.LogIndex, want)
	}
	return nil
}

// RescoreFilter selects the samples a re-score considers: those logged after After (a log index;
// -1 for all) whose toxicity is null or, unless OnlyNull, whose toxicity scorer or metrics version
// differ from Scorer and Version. They are listed by log index.
type RescoreFilter struct {
	After    int64
	Limit    int
	OnlyNull bool
	Scorer   string
	Version  string
}

// RescoreStore reads re-scores and the samples due one.
type RescoreStore interface {
	// RescoreCandidates lists the samples f selects, by log index, at most f.Limit.
	RescoreCandidates(ctx context.Context, f RescoreFilter) ([]*Sample, error)
	// CountRescoreCandidates counts the samples f selects, whatever f.Limit.
	CountRescoreCandidates(ctx context.Context, f RescoreFilter) (int, error)
	// GetRescore reads one re-score of a sample; seq 0 is the latest. ENOTFOUND if there is none.
	GetRescore(ctx context.Context, sampleID string, seq int) (*Rescore, error)
	// LatestRescores reads the latest re-score of each of the samples that have one.
	LatestRescores(ctx context.Context, sampleIDs []string) (map[string]*Rescore, error)
	// SampleRescores lists every re-score of a sample, oldest first.
	SampleRescores(ctx context.Context, sampleID string) ([]*Rescore, error)
	// ListRescores lists every re-score after the cursor (sample id, seq), in that order, for the
	// record walks of the audits.
	ListRescores(ctx context.Context, afterSample string, afterSeq, limit int) ([]*Rescore, error)
}

// RescoreTx is the part of a store's write transaction that writes re-scores.
type RescoreTx interface {
	// LatestRescore reads a sample's latest re-score, or nil.
	LatestRescore(ctx context.Context, sampleID string) (*Rescore, error)
	// WriteRescore logs r, stores it, and sets the sample's metric columns to r.Metrics and its
	// ingest_metrics to s.IngestMetrics; it sets r.LogIndex.
	WriteRescore(ctx context.Context, s *Sample, r *Rescore) error
}

// RescoreItem is a new score computed for a stored sample, from the metrics whose digest is From.
type RescoreItem struct {
	SampleID string
	From     string
	Metrics  Metrics
}

// WriteRescores logs and stores the items in one transaction. An item whose sample no longer has
// the metrics it was scored from (re-scored meanwhile) or that would change nothing is skipped and
// counted; so is one whose new toxicity is null: a failed scorer never writes a null over a score.
// An unknown sample fails the whole write (ENOTFOUND).
func WriteRescores(ctx context.Context, w Writer, items []RescoreItem, now time.Time) (written []*Rescore, skipped int, err error) {
	if len(items) == 0 {
		return nil, 0, nil
	}
	at := now.UTC().Truncate(time.Millisecond)
	err = w.Write(ctx, func(tx Tx) error {
		written, skipped = nil, 0
		rtx, ok := tx.(RescoreTx)
		if !ok {
			return Errorf(EINTERNAL, "this store does not keep re-scores")
		}
		ids := make([]string, len(items))
		for i, it := range items {
			ids[i] = it.SampleID
		}
		stored, err := tx.ReadSamples(ctx, ids)
		if err != nil {
			return err
		}
		byID := make(map[string]*Sample, len(stored))
		for _, s := range stored {
			byID[s.ID] = s
		}
		for _, it := range items {
			s := byID[it.SampleID]
			current := ""
			if s != nil {
				current = MetricsDigest(s.Metrics)
			}
			if s == nil || current != it.From || it.Metrics.Toxicity == nil || MetricsDigest(it.Metrics) == current {
				skipped++
				continue
			}
			latest, err := rtx.LatestRescore(ctx, s.ID)
			if err != nil {
				return err
			}
			r := &Rescore{SampleID: s.ID, Seq: 1, From: current, Metrics: it.Metrics, CreatedAt: at}
			if latest != nil {
				r.Seq = latest.Seq + 1
			}
			if s.IngestMetrics == "" {
				s.IngestMetrics = current // the first re-score: the metrics the sample was logged with
			}
			if err := rtx.WriteRescore(ctx, s, r); err != nil {
				return err
			}
			s.Metrics = it.Metrics
			written = append(written, r)
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return written, skipped, nil
}

// RescoreRequest asks for one page of re-scoring: at most Limit samples logged after After (from
// the start when nil). DryRun only counts; OnlyNull takes only samples with a null toxicity.
type RescoreRequest struct {
	Limit    int    `json:"limit,omitempty"`
	After    *int64 `json:"after,omitempty"`
	DryRun   bool   `json:"dry_run,omitempty"`
	OnlyNull bool   `json:"only_null,omitempty"`
}

// RescoreResult is what a page of re-scoring did: how many samples it considered, re-scored and
// skipped (the scorer gave no score, or the sample changed meanwhile), how many remain after
// NextAfter, and the cursor to continue from.
type RescoreResult struct {
	Candidates int    `json:"candidates"`
	Rescored   int    `json:"rescored"`
	Skipped    int    `json:"skipped"`
	Remaining  int    `json:"remaining"`
	NextAfter  int64  `json:"next_after"`
	Scorer     string `json:"toxicity_scorer"`
	Version    string `json:"metrics_version"`
	DryRun     bool   `json:"dry_run"`
}

// ScorerIdentity is a Scorer that states, without scoring, which toxicity scorer and metrics
// version its scores carry.
type ScorerIdentity interface {
	Identity() (scorer, version string)
}

// Identity implements ScorerIdentity.
func (m MetricsScorer) Identity() (scorer, version string) {
	tox := m.Scorer.Toxicity
	if tox == nil {
		tox = metrics.NewLexiconScorer()
	}
	return tox.ID(), metrics.Version
}

// Rescore re-scores one page of samples with the service's scorer: those logged after req.After
// whose toxicity is null or, unless req.OnlyNull, whose scorer or metrics version is not the
// current one. Scoring runs outside the write transaction, as one batch when the scorer batches;
// the candidates are read proven (GetSamples) before their texts are scored. A scorer failure
// (EUNAVAILABLE) writes nothing.
func (s *Service) Rescore(ctx context.Context, req RescoreRequest) (*RescoreResult, error) {
	switch {
	case req.Limit < 0 || req.Limit > MaxRescoreLimit:
		return nil, FieldErrorf("limit", "must be between 1 and %d", MaxRescoreLimit)
	case req.After != nil && *req.After < 0:
		return nil, FieldErrorf("after", "must be a log index (0 or more)")
	}
	limit := req.Limit
	if limit == 0 {
		limit = DefaultRescoreLimit
	}
	id, ok := s.Scorer.(ScorerIdentity)
	if !ok {
		return nil, Errorf(EINTERNAL, "the registry's scorer does not say which scorer it is")
	}
	rs := s.Store
	scorer, version := id.Identity()
	f := RescoreFilter{After: -1, Limit: limit, OnlyNull: req.OnlyNull, Scorer: scorer, Version: version}
	if req.After != nil {
		f.After = *req.After
	}
	out := &RescoreResult{NextAfter: f.After, Scorer: scorer, Version: version, DryRun: req.DryRun}
	candidates, err := rs.RescoreCandidates(ctx, f)
	if err != nil {
		return nil, err
	}
	out.Candidates = len(candidates)
	if len(candidates) > 0 {
		out.NextAfter = candidates[len(candidates)-1].LogIndex
	}
	if !req.DryRun && len(candidates) > 0 {
		if err := s.rescore(ctx, candidates, out); err != nil {
			return nil, err
		}
	}
	f.After = out.NextAfter
	if out.Remaining, err = rs.CountRescoreCandidates(ctx, f); err != nil {
		return nil, err
	}
	return out, nil
}

// rescore scores the candidates, read again proven, and writes their re-scores.
func (s *Service) rescore(ctx context.Context, candidates []*Sample, out *RescoreResult) error {
	ids := make([]string, len(candidates))
	for i, c := range candidates {
		ids[i] = c.ID
	}
	proven, err := s.Store.GetSamples(ctx, ids)
	if err != nil {
		return err
	}
	texts := make([]string, len(proven))
	for i, p := range proven {
		texts[i] = p.Text
	}
	var scored []Metrics
	if bs, ok := s.Scorer.(BatchScorer); ok && bs.Batches() {
		if scored, err = bs.ScoreBatch(ctx, texts); err != nil {
			return err
		}
	} else {
		scored = make([]Metrics, len(texts))
		for i, t := range texts {
			if scored[i], err = s.Scorer.Score(ctx, t); err != nil {
				return err
			}
		}
	}
	items := make([]RescoreItem, len(proven))
	for i, p := range proven {
		items[i] = RescoreItem{SampleID: p.ID, From: MetricsDigest(p.Metrics), Metrics: scored[i]}
	}
	written, skipped, err := WriteRescores(ctx, s.Store, items, s.now())
	if err != nil {
		return err
	}
	out.Rescored, out.Skipped = len(written), skipped+len(candidates)-len(proven)
	return nil
}
