package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults and bounds of ClassifierConfig.
const (
	DefaultBatchSize = 32
	MaxBatchSize     = 1024
)

// BatchToxicityScorer is a ToxicityScorer that scores many texts in one call, as classifier servers
// do. Scorer.ScoreBatch uses it.
type BatchToxicityScorer interface {
	ToxicityScorer

	// ToxicityBatch returns one probability in [0, 1] per text, in order, making one request per
	// BatchSize texts. On failure it returns no scores and an error wrapping ErrScorerUnavailable
	// (and ctx.Err() when ctx ends).
	ToxicityBatch(ctx context.Context, texts []string) ([]float64, error)
}

// ClassifierConfig configures a TEIScorer or an OpenAIModerationScorer. Zero values take the
// defaults; the HTTP fields mean what they mean in HTTPScorerConfig.
type ClassifierConfig struct {
	// URL is the endpoint: TEI's /predict or an OpenAI-compatible /v1/moderations.
	URL string

	Timeout          time.Duration // per request (one batch); default DefaultHTTPTimeout
	MaxResponseBytes int64         // default DefaultMaxResponseBytes
	MaxRetries       int           // 0 means DefaultMaxRetries, negative none, at most MaxHTTPRetries
	RetryBackoff     time.Duration // default DefaultRetryBackoff, doubling, jittered
	Client           *http.Client  // copied; the copy never follows redirects

	// BatchSize is the number of texts per request; default DefaultBatchSize, at most MaxBatchSize.
	BatchSize int

	// Labels (TEI) are the classifier labels whose probability is toxicity; the score is the
	// largest of them. Compared case-insensitively. Default ["toxic"], which fits classifiers such as
	// unitary/toxic-bert (whose other labels are severe_toxic, obscene, threat, insult,
	// identity_hate) and s-nlp/roberta_toxicity_classifier (neutral, toxic).
	Labels []string

	// Category (OpenAI) is the category_scores entry that is toxicity, such as "harassment"; empty
	// means the largest of all category scores.
	Category string

	// Model (OpenAI) is sent as the request's "model" when set.
	Model string

	// APIKey, if set, is sent as "Authorization: Bearer …". It never appears in IDs or errors.
	APIKey string

	// ModelVersion, if set, is appended to the ID, so that scores from different versions of the
	// served model are not compared.
	ModelVersion string
}

// classifier is what TEIScorer and OpenAIModerationScorer share.
type classifier struct {
	poster    *poster
	id        string
	batchSize int
}

func newClassifier(kind string, cfg ClassifierConfig, idParts ...string) (*classifier, error) {
	switch {
	case cfg.BatchSize < 0 || cfg.BatchSize > MaxBatchSize:
		return nil, fmt.Errorf("metrics: toxicity scorer batch size %d, want 1..%d", cfg.BatchSize, MaxBatchSize)
	case cfg.BatchSize == 0:
		cfg.BatchSize = DefaultBatchSize
	}
	pc := posterConfig{
		kind: kind, url: cfg.URL, timeout: cfg.Timeout, maxResponseBytes: cfg.MaxResponseBytes,
		maxRetries: cfg.MaxRetries, retryBackoff: cfg.RetryBackoff, client: cfg.Client,
	}
	if cfg.APIKey != "" {
		pc.header = http.Header{"Authorization": {"Bearer " + cfg.APIKey}}
	}
	p, err := newPoster(pc)
	if err != nil {
		return nil, err
	}
	id := p.id
	for _, part := range idParts {
		id += "+" + part
	}
	if cfg.ModelVersion != "" {
		id += "+" + cfg.ModelVersion
	}
	p.id = id
	return &classifier{poster: p, id: id, batchSize: cfg.BatchSize}, nil
}

// batches calls score on each run of at most batchSize texts and collects the results in order.
func (c *classifier) batches(ctx context.Context, texts []string, score func(context.Context, []string) ([]float64, error)) ([]float64, error) {
	out := make([]float64, 0, len(texts))
	for start := 0; start < len(texts); start += c.batchSize {
		chunk := texts[start:min(start+c.batchSize, len(texts))]
		vs, err := score(ctx, chunk)
		if err != nil {
			return nil, err
		}
		out = append(out, vs...)
	}
	return out, nil
}

// probability checks one score from a server.
func probability(v float64, what string) error {
	if !(v >= 0 && v <= 1) {
		return &attemptError{msg: fmt.Sprintf("malformed response: %s %v outside [0, 1]", what, v)}
	}
	return nil
}

// TEIScorer scores toxicity with a Hugging Face Text Embeddings Inference server serving a
// sequence-classification model, through POST /predict. It is safe for concurrent use.
type TEIScorer struct {
	*classifier
	labels []string
}

var _ BatchToxicityScorer = (*TEIScorer)(nil)

// NewTEIScorer validates cfg, fills in defaults and returns the scorer. Its ID is
// "tei@host/path+labels=a,b" plus "+ModelVersion" if set.
func NewTEIScorer(cfg ClassifierConfig) (*TEIScorer, error) {
	labels := cfg.Labels
	if len(labels) == 0 {
		labels = []string{"toxic"}
	}
	norm := make([]string, 0, len(labels))
	for _, l := range labels {
		l = strings.ToLower(strings.TrimSpace(l))
		if l == "" || strings.ContainsAny(l, ",+") {
			return nil, fmt.Errorf("metrics: TEI label %q: want a non-empty label without , or +", l)
		}
		norm = append(norm, l)
	}
	slices.Sort(norm)
	norm = slices.Compact(norm)
	c, err := newClassifier("tei", cfg, "labels="+strings.Join(norm, ","))
	if err != nil {
		return nil, err
	}
	return &TEIScorer{classifier: c, labels: norm}, nil
}

// ID identifies the server, the labels taken as toxicity and the model version.
func (s *TEIScorer) ID() string { return s.id }

// Toxicity scores one text.
func (s *TEIScorer) Toxicity(ctx context.Context, text string, _ []string) (float64, error) {
	vs, err := s.ToxicityBatch(ctx, []string{text})
	if err != nil {
		return 0, err
	}
	return vs[0], nil
}

// teiRequest is TEI's PredictRequest. Each input is a one-element array: TEI reads a bare array of
// two strings as a sentence pair, so a batch of single texts is written [["a"], ["b"]].
type teiRequest struct {
	Inputs    [][1]string `json:"inputs"`
	Truncate  bool        `json:"truncate"`
	RawScores bool        `json:"raw_scores"`
}

type teiPrediction struct {
	Label *string  `json:"label"`
	Score *float64 `json:"score"`
}

// ToxicityBatch implements BatchToxicityScorer. Texts longer than the model's context are
// truncated by the server (truncate: true), so a long sample is scored on its beginning.
func (s *TEIScorer) ToxicityBatch(ctx context.Context, texts []string) ([]float64, error) {
	return s.batches(ctx, texts, s.batch)
}

func (s *TEIScorer) batch(ctx context.Context, texts []string) ([]float64, error) {
	req := teiRequest{Inputs: make([][1]string, len(texts)), Truncate: true}
	for i, t := range texts {
		req.Inputs[i] = [1]string{t}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: encoding request: %w", ErrScorerUnavailable, s.id, err)
	}
	out := make([]float64, len(texts))
	err = s.poster.post(ctx, body, func(data []byte) error {
		var batch [][]teiPrediction
		if err := json.Unmarshal(data, &batch); err != nil {
			// A server may answer a batch of one with a single prediction list.
			var single []teiPrediction
			if len(texts) != 1 || json.Unmarshal(data, &single) != nil {
				return &attemptError{msg: "malformed response", cause: err}
			}
			batch = [][]teiPrediction{single}
		}
		if len(batch) != len(texts) {
			return &attemptError{msg: fmt.Sprintf("malformed response: %d predictions for %d inputs", len(batch), len(texts))}
		}
		for i, preds := range batch {
			v, found := 0.0, false
			for _, p := range preds {
				if p.Label == nil || p.Score == nil {
					return &attemptError{msg: "malformed response: a prediction without label or score"}
				}
				if err := probability(*p.Score, "score of "+strconv.Quote(*p.Label)); err != nil {
					return err
				}
				if slices.Contains(s.labels, strings.ToLower(*p.Label)) {
					v, found = max(v, *p.Score), true
				}
			}
			if !found {
				return &attemptError{msg: fmt.Sprintf("malformed response: input %d has none of the labels %s", i, strings.Join(s.labels, ", "))}
			}
			out[i] = v
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// OpenAIModerationScorer scores toxicity with an OpenAI-compatible moderation endpoint
// (POST /v1/moderations), taking the largest category score or a named category. It is safe for
// concurrent use.
type OpenAIModerationScorer struct {
	*classifier
	category string
	model    string
}

var _ BatchToxicityScorer = (*OpenAIModerationScorer)(nil)

// NewOpenAIModerationScorer validates cfg, fills in defaults and returns the scorer. Its ID is
// "openai-moderation@host/path", then "+model=M" when a model is set, "+category=C" (or
// "+category=max" when none is), and "+ModelVersion" when set.
func NewOpenAIModerationScorer(cfg ClassifierConfig) (*OpenAIModerationScorer, error) {
	var parts []string
	if cfg.Model != "" {
		parts = append(parts, "model="+cfg.Model)
	}
	if cfg.Category != "" {
		parts = append(parts, "category="+cfg.Category)
	} else {
		parts = append(parts, "category=max")
	}
	c, err := newClassifier("openai-moderation", cfg, parts...)
	if err != nil {
		return nil, err
	}
	return &OpenAIModerationScorer{classifier: c, category: cfg.Category, model: cfg.Model}, nil
}

// ID identifies the endpoint, model, category and model version.
func (s *OpenAIModerationScorer) ID() string { return s.id }

// Toxicity scores one text.
func (s *OpenAIModerationScorer) Toxicity(ctx context.Context, text string, _ []string) (float64, error) {
	vs, err := s.ToxicityBatch(ctx, []string{text})
	if err != nil {
		return 0, err
	}
	return vs[0], nil
}

type moderationRequest struct {
	Input []string `json:"input"`
	Model string   `json:"model,omitempty"`
}

type moderationResponse struct {
	Results []struct {
		CategoryScores map[string]*float64 `json:"category_scores"`
	} `json:"results"`
}

// ToxicityBatch implements BatchToxicityScorer.
func (s *OpenAIModerationScorer) ToxicityBatch(ctx context.Context, texts []string) ([]float64, error) {
	return s.batches(ctx, texts, s.batch)
}

func (s *OpenAIModerationScorer) batch(ctx context.Context, texts []string) ([]float64, error) {
	body, err := json.Marshal(moderationRequest{Input: texts, Model: s.model})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: encoding request: %w", ErrScorerUnavailable, s.id, err)
	}
	out := make([]float64, len(texts))
	err = s.poster.post(ctx, body, func(data []byte) error {
		var resp moderationResponse
		if err := json.Unmarshal(data, &resp); err != nil {
			return &attemptError{msg: "malformed response", cause: err}
		}
		if len(resp.Results) != len(texts) {
			return &attemptError{msg: fmt.Sprintf("malformed response: %d results for %d inputs", len(resp.Results), len(texts))}
		}
		for i, r := range resp.Results {
			if s.category != "" {
				v := r.CategoryScores[s.category]
				if v == nil {
					return &attemptError{msg: fmt.Sprintf("malformed response: result %d has no category_scores.%s", i, s.category)}
				}
				if err := probability(*v, s.category); err != nil {
					return err
				}
				out[i] = *v
				continue
			}
			if len(r.CategoryScores) == 0 {
				return &attemptError{msg: fmt.Sprintf("malformed response: result %d has no category_scores", i)}
			}
			for name, v := range r.CategoryScores {
				if v == nil {
					return &attemptError{msg: fmt.Sprintf("malformed response: result %d: category_scores.%s is null", i, name)}
				}
				if err := probability(*v, name); err != nil {
					return err
				}
				out[i] = max(out[i], *v)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ParseToxicityScorer builds the toxicity scorer a registryd --toxicity-scorer value names:
//
//	lexicon                      the built-in lexicon (LexiconScorer)
//	lexicon/1                    the previous built-in lexicon (LexiconV1Scorer)
//	http(s)://host/…             a Perspective-compatible comments:analyze endpoint (HTTPScorer)
//	tei:http(s)://host/predict   a Text Embeddings Inference classifier (TEIScorer)
//	openai:http(s)://host/v1/moderations   an OpenAI-compatible moderation endpoint
//
// Options of the tei: and openai: forms go in the URL's fragment, which is never sent:
// "#labels=toxic,insult" (TEI), "#category=harassment&model=omni-moderation-latest" (OpenAI),
// "#batch=64" and "#version=…" (both; version is appended to the ID). timeout bounds each request.
func ParseToxicityScorer(spec string, timeout time.Duration) (ToxicityScorer, error) {
	switch spec {
	case "", "lexicon":
		return NewLexiconScorer(), nil
	case "lexicon/1":
		return NewLexiconV1Scorer(), nil
	}
	kind, rest, ok := strings.Cut(spec, ":")
	if !ok || (kind != "tei" && kind != "openai") {
		return NewHTTPScorer(HTTPScorerConfig{URL: spec, Timeout: timeout})
	}
	cfg := ClassifierConfig{URL: rest, Timeout: timeout}
	if base, frag, ok := strings.Cut(rest, "#"); ok {
		cfg.URL = base
		opts, err := url.ParseQuery(frag)
		if err != nil {
			return nil, errors.New("metrics: toxicity scorer options (after #) do not parse")
		}
		for k, vs := range opts {
			v := vs[len(vs)-1]
			switch {
			case k == "labels" && kind == "tei":
				cfg.Labels = strings.Split(v, ",")
			case k == "category" && kind == "openai":
				cfg.Category = v
			case k == "model" && kind == "openai":
				cfg.Model = v
			case k == "version":
				cfg.ModelVersion = v
			case k == "batch":
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 {
					return nil, fmt.Errorf("metrics: toxicity scorer batch %q: want a positive integer", v)
				}
				cfg.BatchSize = n
			default:
				return nil, fmt.Errorf("metrics: toxicity scorer option %q is not one of the %s scorer's", k, kind)
			}
		}
	}
	if kind == "tei" {
		return NewTEIScorer(cfg)
	}
	return NewOpenAIModerationScorer(cfg)
}
