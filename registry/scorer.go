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
