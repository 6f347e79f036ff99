package metrics_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/pedigreeml/pedigree/metrics"
)

const sampleText = "The quick brown fox jumps over the lazy dog, and the lazy dog sleeps."

func TestScorerDefaultsToLexicon(t *testing.T) {
	var s metrics.Scorer
	got, err := s.Score(context.Background(), sampleText+" You idiot.")
	if err != nil {
		t.Fatal(err)
	}
	tokens := metrics.Tokenize(sampleText + " You idiot.")
	if got.Tokens != len(tokens) || got.Tokens != 16 {
		t.Errorf("Tokens = %d, want %d", got.Tokens, len(tokens))
	}
	if got.MTLD != metrics.MTLD(tokens) || got.MTLD == 0 {
		t.Errorf("MTLD = %v, want %v", got.MTLD, metrics.MTLD(tokens))
	}
	want, _ := metrics.NewLexiconScorer().Toxicity(context.Background(), sampleText+" You idiot.", nil)
	if got.Toxicity == nil || *got.Toxicity != want || want == 0 {
		t.Errorf("Toxicity = %v, want %v", got.Toxicity, want)
	}
	if got.Version != metrics.Version || metrics.Version != "pedigree-metrics/1+tok/1" {
		t.Errorf("Version = %q", got.Version)
	}
	if got.ToxicityScorer != wantLexiconV2ID {
		t.Errorf("ToxicityScorer = %q, want %q", got.ToxicityScorer, wantLexiconV2ID)
	}
}

func TestScorerEmptyText(t *testing.T) {
	got, err := (&metrics.Scorer{}).Score(context.Background(), " ... ")
	if err != nil || got.Tokens != 0 || got.MTLD != 0 || got.Toxicity == nil || *got.Toxicity != 0 {
		t.Errorf("Score = %+v, %v", got, err)
	}
}

// recordingScorer checks what Scorer hands to a ToxicityScorer.
type recordingScorer struct {
	text   string
	tokens []string
}

func (r *recordingScorer) ID() string { return "recording/1" }

func (r *recordingScorer) Toxicity(_ context.Context, text string, tokens []string) (float64, error) {
	r.text, r.tokens = text, slices.Clone(tokens)
	return 0.3, nil
}

func TestScorerCustomScorer(t *testing.T) {
	rec := &recordingScorer{}
	got, err := (&metrics.Scorer{Toxicity: rec}).Score(context.Background(), sampleText)
	if err != nil {
		t.Fatal(err)
	}
	if got.Toxicity == nil || *got.Toxicity != 0.3 || got.ToxicityScorer != "recording/1" {
		t.Errorf("Score = %+v", got)
	}
	if rec.text != sampleText || !slices.Equal(rec.tokens, metrics.Tokenize(sampleText)) {
		t.Errorf("scorer got %q, %q", rec.text, rec.tokens)
	}
}

func TestScorerUnavailable(t *testing.T) {
	p := newPerspective(t, replyStatus(http.StatusInternalServerError))
	httpScorer := newScorer(t, p.URL+analyzePath, nil)
	scorers := []struct {
		name string
		tox  metrics.ToxicityScorer
	}{
		{"HTTP500", httpScorer},
		{"WrappedError", stubScorer{err: metrics.ErrScorerUnavailable}},
		{"PlainError", stubScorer{err: errors.New("boom")}},
		{"AboveOne", stubScorer{v: 1.2}},
		{"Negative", stubScorer{v: -0.2}},
		{"NaN", stubScorer{v: math.NaN()}},
	}
	for _, sc := range scorers {
		t.Run(sc.name, func(t *testing.T) {
			t.Run("Fail", func(t *testing.T) {
				got, err := (&metrics.Scorer{Toxicity: sc.tox}).Score(context.Background(), sampleText)
				if !errors.Is(err, metrics.ErrScorerUnavailable) {
					t.Errorf("Score = %+v, %v; want ErrScorerUnavailable", got, err)
				}
			})
			t.Run("StoreNull", func(t *testing.T) {
				got, err := (&metrics.Scorer{Toxicity: sc.tox, NullOnUnavailable: true}).Score(context.Background(), sampleText)
				if err != nil {
					t.Fatal(err)
				}
				if got.Toxicity != nil {
					t.Errorf("Toxicity = %v, want nil", *got.Toxicity)
				}
				if got.Tokens != 14 || got.MTLD == 0 || got.Version != metrics.Version || got.ToxicityScorer != sc.tox.ID() {
					t.Errorf("Score = %+v", got)
				}
			})
		})
	}
}

func TestScorerCancelledNeverStoresNull(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := &metrics.Scorer{Toxicity: stubScorer{err: context.Canceled}, NullOnUnavailable: true}
	if got, err := s.Score(ctx, sampleText); !errors.Is(err, context.Canceled) || !errors.Is(err, metrics.ErrScorerUnavailable) {
		t.Errorf("Score = %+v, %v; want an error wrapping context.Canceled", got, err)
	}
	// A scorer error unrelated to ctx still wraps ctx.Err() when ctx is done.
	s.Toxicity = stubScorer{err: errors.New("boom")}
	if _, err := s.Score(ctx, sampleText); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v; want context.Canceled", err)
	}
}

// TestScorerConcurrent scores texts from many goroutines (run with -race) and compares with a
// sequential run.
func TestScorerConcurrent(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	lexWords := lexiconWords(loadOracleLexicon(t))
	texts := make([]string, 200)
	for i := range texts {
		texts[i] = genText(r, 20+r.IntN(200), lexWords, i%2 == 0)
	}
	for _, s := range []*metrics.Scorer{{}, {Toxicity: stubScorer{v: 0.5}}} {
		want := make([]metrics.Scores, len(texts))
		for i, text := range texts {
			want[i], _ = s.Score(context.Background(), text)
		}
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for i, text := range texts {
					got, err := s.Score(context.Background(), text)
					if err != nil || got.Tokens != want[i].Tokens || got.MTLD != want[i].MTLD || *got.Toxicity != *want[i].Toxicity {
						t.Errorf("text %d: %+v, %v; want %+v", i, got, err, want[i])
						return
					}
				}
			})
		}
		wg.Wait()
	}
}
