package export

import (
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/pedigreeml/pedigree/registry"
)

// Provenance is what every format says about a sample besides its text: who wrote it, from what,
// under which licence, and the scores computed at ingest. Absent optional values are null, never
// omitted, so that every row of a file has the same columns and a typed loader sees one schema.
type Provenance struct {
	ID              string   `json:"id"`
	ExternalID      *string  `json:"external_id"` // the pipeline's own id; null if it gave none
	Origin          string   `json:"origin"`
	Model           *string  `json:"model"` // name@version; null for human text
	Generation      int      `json:"generation"`
	GenerationBasis string   `json:"generation_basis"`
	Dataset         *string  `json:"dataset"`
	Source          Source   `json:"source"`
	Parents         []string `json:"parents"` // never null: [] when the sample has none
	PromptID        *string  `json:"prompt_id"`
	Metrics         Metrics  `json:"metrics"`
	// CollectedAt is when the text was collected, as its registrant stated it (RFC 3339, UTC); null
	// if unknown.
	CollectedAt *time.Time `json:"collected_at"`
}

// Source is a sample's source with every field registry.Source has; only kind is always set.
type Source struct {
	Kind    string  `json:"kind"`
	Name    *string `json:"name"`
	URI     *string `json:"uri"`
	License *string `json:"license"` // an SPDX expression
}

// Metrics are the scores computed at ingest, with stable JSON types: tokens is always an integer,
// mtld always a number written with a decimal point or an exponent, toxicity the same or null (the
// scorer was unavailable). registry.Metrics, encoded by encoding/json, writes a toxicity of 0 as the
// integer 0, which makes a typed loader infer an integer column from the first rows and fail on 0.25.
type Metrics struct {
	Tokens         int    `json:"tokens"`
	MTLD           Float  `json:"mtld"`
	Toxicity       *Float `json:"toxicity"`
	Version        string `json:"metrics_version"`
	ToxicityScorer string `json:"toxicity_scorer"`
}

// Float is a float64 whose JSON always reads as a floating-point number: 0 is written 0.0 and 3 is
// 3.0; other values as encoding/json writes them (shortest representation, an exponent below 1e-6
// and from 1e21).
type Float float64

// errNotFinite is returned for NaN and infinities, which JSON cannot hold.
var errNotFinite = errors.New("export: a metric is not a finite number")

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	return f.AppendJSON(make([]byte, 0, 24))
}

// AppendJSON appends f's JSON to b.
func (f Float) AppendJSON(b []byte) ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil, errNotFinite
	}
	start := len(b)
	format := byte('f')
	if a := math.Abs(v); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, v, format, -1, 64)
	if format == 'e' {
		// Like encoding/json: 1e-07 becomes 1e-7.
		if n := len(b); n-start >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
		return b, nil
	}
	for _, c := range b[start:] {
		if c == '.' {
			return b, nil
		}
	}
	return append(b, '.', '0'), nil
}

// Row is one line of the jsonl format: the provenance and the text.
type Row struct {
	Provenance
	Text string `json:"text"`
}

// Message is one turn of a chat row.
type Message struct {
	Role    string `json:"role"` // "user" or "assistant"
	Content string `json:"content"`
}

// ChatRow is one line of the chat format: the prompt and the sample as a user and an assistant
// turn, then the sample's provenance. The sample's text is the assistant turn and is not repeated.
type ChatRow struct {
	Messages []Message `json:"messages"`
	Provenance
}

// NewProvenance returns the provenance columns of s.
func NewProvenance(s *registry.Sample) Provenance {
	p := Provenance{ID: s.ID, ExternalID: optional(s.ExternalID), Origin: s.Origin, Model: optional(s.Model), Generation: s.Generation,
		GenerationBasis: s.GenerationBasis, Dataset: optional(s.Dataset), PromptID: optional(s.PromptID),
		Source:  Source{Kind: s.Source.Kind, Name: optional(s.Source.Name), URI: optional(s.Source.URI), License: optional(s.Source.License)},
		Parents: s.Parents,
		Metrics: Metrics{Tokens: s.Metrics.Tokens, MTLD: Float(s.Metrics.MTLD), Version: s.Metrics.Version,
			ToxicityScorer: s.Metrics.ToxicityScorer},
		CollectedAt: s.CollectedAt,
	}
	if p.Parents == nil {
		p.Parents = []string{}
	}
	if t := s.Metrics.Toxicity; t != nil {
		f := Float(*t)
		p.Metrics.Toxicity = &f
	}
	return p
}

// optional returns nil for "" and a pointer to s otherwise.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
