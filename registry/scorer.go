package registry

import (
	"context"
	"errors"

	"github.com/pedigreeml/pedigree/metrics"
)

// MetricsScorer adapts a metrics.Scorer to the registry's Scorer: it copies the scores and what
// computed them, and turns an unavailable toxicity scorer into EUNAVAILABLE.
type MetricsScorer struct {
	Scorer *metrics.Scorer
}

// Score implements Scorer.
func (m MetricsScorer) Score(ctx context.Context, text string) (Metrics, error) {
	s, err := m.Scorer.Score(ctx, text)
	if errors.Is(err, metrics.ErrScorerUnavailable) {
		return Metrics{}, &Error{Code: EUNAVAILABLE, Message: "the toxicity scorer is unavailable; nothing was written", Err: err}
	}
	if err != nil {
		return Metrics{}, err
	}
	return Metrics{Tokens: s.Tokens, MTLD: s.MTLD, Toxicity: s.Toxicity, Version: s.Version, ToxicityScorer: s.ToxicityScorer}, nil
}

// BatchScorer is a Scorer that can compute many samples' metrics in one go, such as one whose
// toxicity comes from a classifier server that takes batches. Ingest uses ScoreBatch when Batches
// reports true.
type BatchScorer interface {
	Scorer

	// ScoreBatch returns the metrics of each text, in order; its errors are those of Score.
	ScoreBatch(ctx context.Context, texts []string) ([]Metrics, error)

	// Batches reports whether ScoreBatch is better than one Score per text.
	Batches() bool
}

var _ BatchScorer = MetricsScorer{}

// ScoreBatch implements BatchScorer with metrics.Scorer.ScoreBatch.
func (m MetricsScorer) ScoreBatch(ctx context.Context, texts []string) ([]Metrics, error) {
	ss, err := m.Scorer.ScoreBatch(ctx, texts)
	if errors.Is(err, metrics.ErrScorerUnavailable) {
		return nil, &Error{Code: EUNAVAILABLE, Message: "the toxicity scorer is unavailable; nothing was written", Err: err}
	}
	if err != nil {
		return nil, err
	}
	out := make([]Metrics, len(ss))
	for i, s := range ss {
		out[i] = Metrics{Tokens: s.Tokens, MTLD: s.MTLD, Toxicity: s.Toxicity, Version: s.Version, ToxicityScorer: s.ToxicityScorer}
	}
	return out, nil
}

// Batches reports whether the toxicity scorer takes batches (a classifier server).
func (m MetricsScorer) Batches() bool {
	_, ok := m.Scorer.Toxicity.(metrics.BatchToxicityScorer)
	return ok
}
