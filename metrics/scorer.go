package metrics

import (
	"context"
	"errors"
	"fmt"
)

// Scores is what ingest stores for one sample.
type Scores struct {
	Tokens int     // number of tokens (see Tokenize)
	MTLD   float64 // see MTLD

	// Toxicity is the scorer's probability in [0, 1]. It is nil only when the scorer was unavailable
	// and the Scorer is configured to store null (NullOnUnavailable).
	Toxicity *float64

	// Version identifies the computation of Tokens and MTLD; it is always the package's Version.
	Version string

	// ToxicityScorer is the ID of the scorer that produced Toxicity, such as
	// "lexicon/1+tok/1+1a2b3c4d". It is set even when Toxicity is nil, naming the scorer that was
	// unavailable, so that those samples can be re-scored later.
	ToxicityScorer string
}

// ToxicityScorer estimates the probability that a text is toxic.
type ToxicityScorer interface {
	// ID is a stable identifier of the scorer, including its version, stored with each score. Two
	// scorers with the same ID must give the same scores.
	ID() string

	// Toxicity returns a probability in [0, 1]. tokens is Tokenize(text) (a scorer may ignore it);
	// the slice must not be retained after Toxicity returns. Failures wrap ErrScorerUnavailable.
	Toxicity(ctx context.Context, text string, tokens []string) (float64, error)
}

// ErrScorerUnavailable is wrapped by every toxicity scorer failure: timeouts, transport errors, error
// statuses, redirects, malformed or oversize responses and out-of-range scores.
var ErrScorerUnavailable = errors.New("toxicity scorer unavailable")

// Scorer computes all metrics for a text. It is safe for concurrent use, and its zero value scores
// toxicity with the built-in lexicon.
type Scorer struct {
	// Toxicity is the toxicity scorer; nil means NewLexiconScorer().
	Toxicity ToxicityScorer

	// NullOnUnavailable stores a nil Toxicity instead of failing when the toxicity scorer is
	// unavailable.
	NullOnUnavailable bool
}

// Score computes Tokens, MTLD and Toxicity for text.
//
// When the toxicity scorer fails, Score returns an error wrapping ErrScorerUnavailable, unless
// NullOnUnavailable is set, in which case it returns the other metrics with a nil Toxicity and no
// error. If ctx is done, Score returns an error wrapping ctx.Err() even with NullOnUnavailable: a
// cancelled ingest must not store null scores.
func (s *Scorer) Score(ctx context.Context, text string) (Scores, error) {
	tox := s.Toxicity
	if tox == nil {
		tox = NewLexiconScorer()
	}
	st := getState()
	defer putState(st)
	st.scan(text)
	v1, isV1 := tox.(*LexiconV1Scorer)
	if isV1 {
		st.intern(v1.seed, v1) // one hash per token serves both MTLD and the lexicon
	} else {
		st.intern(st.seed, nil)
	}
	out := Scores{Tokens: len(st.ends), MTLD: st.mtld(), Version: Version, ToxicityScorer: tox.ID()}

	if isV1 {
		v := v1.fromState(st)
		out.Toxicity = &v
		return out, nil
	}
	if lex, ok := tox.(*LexiconScorer); ok {
		v := lex.score(text) // reads the text itself, so it needs no token strings
		out.Toxicity = &v
		return out, nil
	}
	st.strings = st.appendStrings(st.strings[:0])
	v, err := tox.Toxicity(ctx, text, st.strings)
	if err == nil && !(v >= 0 && v <= 1) { // also catches NaN
		err = fmt.Errorf("%w: %s returned %v, outside [0, 1]", ErrScorerUnavailable, out.ToxicityScorer, v)
	}
	if err != nil {
		if err := s.unavailable(ctx, err); err != nil {
			return Scores{}, err
		}
		return out, nil
	}
	out.Toxicity = &v
	return out, nil
}

// unavailable turns a toxicity scorer's failure into Score's error, or into nil when a null score
// may be stored.
func (s *Scorer) unavailable(ctx context.Context, err error) error {
	if !errors.Is(err, ErrScorerUnavailable) {
		err = fmt.Errorf("%w: %w", ErrScorerUnavailable, err)
	}
	if cerr := ctx.Err(); cerr != nil {
		if !errors.Is(err, cerr) {
			err = fmt.Errorf("%w (%w)", err, cerr)
		}
		return fmt.Errorf("metrics: toxicity: %w", err)
	}
	if !s.NullOnUnavailable {
		return fmt.Errorf("metrics: toxicity: %w", err)
	}
	return nil
}

// ScoreBatch computes the metrics of each text, in order. A BatchToxicityScorer scores the texts
// in as few requests as its batch size allows; any other scorer scores them one by one, as Score.
// A failure affects the whole batch as it would one text in Score: an error and no scores, or, with
// NullOnUnavailable, every text with a nil Toxicity.
func (s *Scorer) ScoreBatch(ctx context.Context, texts []string) ([]Scores, error) {
	out := make([]Scores, len(texts))
	bs, ok := s.Toxicity.(BatchToxicityScorer)
	if !ok {
		for i, text := range texts {
			sc, err := s.Score(ctx, text)
			if err != nil {
				return nil, err
			}
			out[i] = sc
		}
		return out, nil
	}
	id := bs.ID()
	st := getState()
	for i, text := range texts {
		st.scan(text)
		st.intern(st.seed, nil)
		out[i] = Scores{Tokens: len(st.ends), MTLD: st.mtld(), Version: Version, ToxicityScorer: id}
	}
	putState(st)
	if len(texts) == 0 {
		return out, nil
	}
	vs, err := bs.ToxicityBatch(ctx, texts)
	if err == nil && len(vs) != len(texts) {
		err = fmt.Errorf("%w: %s returned %d scores for %d texts", ErrScorerUnavailable, id, len(vs), len(texts))
	}
	for i := 0; err == nil && i < len(vs); i++ {
		if !(vs[i] >= 0 && vs[i] <= 1) {
			err = fmt.Errorf("%w: %s returned %v, outside [0, 1]", ErrScorerUnavailable, id, vs[i])
		}
	}
	if err != nil {
		if err := s.unavailable(ctx, err); err != nil {
			return nil, err
		}
		return out, nil
	}
	for i := range out {
		v := vs[i]
		out[i].Toxicity = &v
	}
	return out, nil
}
