package registry

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/pedigreeml/pedigree/registry/dedup"
)

// Limits on what one sample may carry.
const (
	MaxTextBytes     = 1 << 20  // text, in bytes of UTF-8
	MaxMetadataBytes = 16 << 10 // metadata, in bytes of JSON
	MaxParents       = 256
	MaxBatchSamples  = 10000
	maxNameLen       = 256
)

// Origins of a sample.
const (
	OriginHuman = "human"
	OriginModel = "model"
)

// Generation bases, in order of increasing doubt: a sample's basis is the weakest of what its
// generation rests on. "human" means no model anywhere in its lineage; "mixes" that every model in its
// lineage has a generation derived from the registry's own mixes; "declared" that at least one rests on
// a generation its registrant declared.
const (
	BasisHuman    = "human"
	BasisMixes    = "mixes"
	BasisDeclared = "declared"
)

// SourceKinds are the source categories of the EU AI Act public summary template.
var SourceKinds = []string{"public_dataset", "licensed", "private", "web_crawl", "user_data", "synthetic", "other"}

// Source says where a sample was obtained and under which licence.
type Source struct {
	Kind    string `json:"kind"`
	Name    string `json:"name,omitempty"`
	URI     string `json:"uri,omitempty"`
	License string `json:"license,omitempty"`
}

// Metrics are the scores computed at ingest, or at the latest re-score (rescore.go). Version and
// ToxicityScorer say what computed them, so that scores from different scorers are never compared
// silently. Toxicity is nil when the scorer was unavailable and the registry is configured to store
// a null score.
type Metrics struct {
	Tokens         int      `json:"tokens"`
	MTLD           float64  `json:"mtld"`
	Toxicity       *float64 `json:"toxicity"`
	Version        string   `json:"metrics_version"`
	ToxicityScorer string   `json:"toxicity_scorer"`
}

// Ranks are a candidate's 1-based ranks in its prompt group, one per objective.
type Ranks struct {
	MTLD     int `json:"mtld"`
	Length   int `json:"length"`
	Toxicity int `json:"toxicity"`
}

// BestOfK is a candidate's place in its best-of-k group: the group size and its ranks.
type BestOfK struct {
	K    int   `json:"k"`
	Rank Ranks `json:"rank"`
}

// Sample is one registered piece of text with its provenance. Everything but the fields of NewSample is
// set by the registry.
type Sample struct {
	ID              string          `json:"id"`
	Text            string          `json:"text"`
	ContentSHA256   string          `json:"content_sha256"`
	Origin          string          `json:"origin"`
	Model           string          `json:"model,omitempty"` // name@version
	Parents         []string        `json:"parents"`
	PromptID        string          `json:"prompt_id,omitempty"`
	Dataset         string          `json:"dataset,omitempty"`
	ExternalID      string          `json:"external_id,omitempty"`
	Source          Source          `json:"source"`
	Metadata        json.RawMessage `json:"metadata,omitempty"`
	Generation      int             `json:"generation"`
	GenerationBasis string          `json:"generation_basis"`
	Metrics         Metrics         `json:"metrics"`
	BestOfK         *BestOfK        `json:"best_of_k,omitempty"`
	CreatedAt       time.Time       `json:"created_at"`
	LogIndex        int64           `json:"log_index"`

	// Cluster is the sample's near-duplicate cluster: the id of the first registered sample of its
	// cluster, its own id when it joined none. NearDuplicateOf and Similarity are set on human text
	// stored, under --laundering=flag, although it near-duplicates that model sample.
	Cluster         string   `json:"cluster"`
	NearDuplicateOf string   `json:"near_duplicate_of,omitempty"`
	Similarity      *float64 `json:"near_duplicate_similarity,omitempty"`

	// CollectedAt is when the text was collected, as its registrant states it (UTC, milliseconds);
	// nil when not stated.
	CollectedAt *time.Time `json:"collected_at,omitempty"`

	// ModelID is the registered model's id; IdentitySHA256 identifies the sample for duplicate
	// detection (text, origin, model, prompt, parents). Neither is part of the wire format.
	ModelID        string `json:"-"`
	IdentitySHA256 string `json:"-"`
	// NormSHA256 is the hex SHA-256 of the normalized text (dedup.Key): equal for texts that differ
	// only in what normalization undoes. Not part of the wire format.
	NormSHA256 string `json:"-"`
	// IngestMetrics is, once the sample has been re-scored, the MetricsDigest of the metrics it was
	// logged with (its leaf's), Metrics then being its latest re-score's; empty before. Not part of
	// the wire format.
	IngestMetrics string `json:"-"`

	refAs  string       // the id later samples of its batch name it by (resolve), if any
	norm   string       // the normalized text, for the near-duplicate check
	sketch dedup.Sketch // the near-duplicate band keys (PrepareDedup)

	leaf []byte // the log leaf, built before the write transaction (prepareLeaf)
}

// PrepareDedup computes the normalized key and the near-duplicate sketch of the text (as ingest
// does; the audits call it to re-derive what the index must hold).
func (s *Sample) PrepareDedup() {
	norm, sketch := dedup.Prepare(s.Text)
	s.norm, s.sketch = norm, sketch
	k := sha256.Sum256([]byte(norm))
	s.NormSHA256 = hex.EncodeToString(k[:])
}

// prepareLeaf builds the sample's log leaf now, once its fields are final, for Leaf to return.
func (s *Sample) prepareLeaf() error {
	leaf, err := SampleLeaf(s)
	s.leaf = leaf
	return err
}

// Leaf returns the sample's log leaf: the one built at ingest, before the write transaction, or
// else built now. The checks always re-derive a stored sample's leaf with SampleLeaf instead.
func (s *Sample) Leaf() ([]byte, error) {
	if s.leaf != nil {
		return s.leaf, nil
	}
	return SampleLeaf(s)
}

// NewSample is what a client sends to register a sample.
type NewSample struct {
	Text     *string `json:"text"`
	Origin   string  `json:"origin"`
	Model    string  `json:"model,omitempty"`
	Parents  []Ref   `json:"parents,omitempty"`
	PromptID Ref     `json:"prompt_id,omitzero"`
	Dataset  string  `json:"dataset,omitempty"`
	// ExternalID is the client's own id of the sample, unique within its dataset: later samples
	// may name it by it, and a re-sent sample keeps it.
	ExternalID string          `json:"external_id,omitempty"`
	Source     *Source         `json:"source,omitempty"`
	Metadata   json.RawMessage `json:"metadata,omitempty"`
	// CollectedAt is when the text was collected (RFC 3339), if known: the EU AI Act summary's latest
	// data date. It cannot lie in the future; it is kept to the millisecond.
	CollectedAt *time.Time `json:"collected_at,omitempty"`
}

var licenseRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.+:\- ()]{0,127}$`)

// Validate checks the sample against the domain rules that need no lookups. Field paths are prefixed
// with prefix (for example "samples/3/"). All problems are reported, not just the first.
func (n *NewSample) Validate(prefix string) error {
	var fe []FieldError
	add := func(field, msg string) { fe = append(fe, FieldError{Field: prefix + field, Message: msg}) }
	tooLarge := false
	big := func(field, msg string) { tooLarge = true; add(field, msg) }

	switch {
	case n.Text == nil:
		add("text", "is required")
	case *n.Text == "":
		add("text", "must not be empty")
	case len(*n.Text) > MaxTextBytes:
		big("text", "is longer than 1 MiB")
	case !utf8.ValidString(*n.Text):
		add("text", "is not valid UTF-8")
	case strings.IndexByte(*n.Text, 0) >= 0:
		add("text", "contains U+0000, which the registry does not store")
	}
	switch n.Origin {
	case OriginHuman:
		if n.Model != "" {
			add("model", "is only allowed with origin \"model\"")
		}
	case OriginModel:
		if n.Model == "" {
			add("model", "is required with origin \"model\"")
		}
	case "":
		add("origin", "is required (\"human\" or \"model\")")
	default:
		add("origin", "must be \"human\" or \"model\"")
	}
	if len(n.Parents) > MaxParents {
		big("parents", "has more than "+strconv.Itoa(MaxParents)+" entries")
	} else {
		seen := make(map[string]bool, len(n.Parents))
		for i, p := range n.Parents {
			f := "parents/" + strconv.Itoa(i)
			if msg := p.validate(); msg != "" {
				add(f, msg)
			} else if seen[p.key(n.Dataset)] {
				add(f, "is listed twice")
			}
			seen[p.key(n.Dataset)] = true
		}
	}
	if !n.PromptID.IsZero() {
		if msg := n.PromptID.validate(); msg != "" {
			add("prompt_id", msg)
		}
	}
	if n.ExternalID != "" {
		if msg := checkExternalID(n.ExternalID); msg != "" {
			add("external_id", msg)
		}
	}
	if len(n.Dataset) > maxNameLen {
		add("dataset", "is longer than 256 bytes")
	}
	// PostgreSQL text cannot hold U+0000; refusing it everywhere keeps every store alike.
	fields := [][2]string{{"dataset", n.Dataset}, {"model", n.Model}}
	if n.Source != nil {
		fields = append(fields, [2]string{"source/name", n.Source.Name}, [2]string{"source/uri", n.Source.URI})
	}
	for _, f := range fields {
		if strings.IndexByte(f[1], 0) >= 0 {
			add(f[0], "contains U+0000")
		}
	}
	if n.Source != nil {
		if n.Source.Kind != "" && !contains(SourceKinds, n.Source.Kind) {
			add("source/kind", "must be one of public_dataset, licensed, private, web_crawl, user_data, synthetic, other")
		}
		if len(n.Source.Name) > maxNameLen {
			add("source/name", "is longer than 256 bytes")
		}
		if len(n.Source.URI) > 2048 {
			add("source/uri", "is longer than 2048 bytes")
		}
		if n.Source.License != "" && !licenseRE.MatchString(n.Source.License) {
			add("source/license", "is not an SPDX license expression")
		}
	}
	if len(n.Metadata) > 0 {
		if len(n.Metadata) > MaxMetadataBytes {
			big("metadata", "is larger than 16 KiB")
		} else if t := bytes.TrimSpace(n.Metadata); len(t) == 0 || t[0] != '{' || !json.Valid(t) {
			add("metadata", "must be a JSON object")
		}
	}
	if len(fe) == 0 {
		return nil
	}
	code := EINVALID
	if tooLarge {
		code = ETOOLARGE // a size limit is the problem to report: 413
	}
	return &Error{Code: code, Message: fe[0].Field + ": " + fe[0].Message, Fields: fe}
}

// source returns the sample's source with its documented defaults: kind "synthetic" for model output,
// "other" for human text.
func (n *NewSample) source() Source {
	var s Source
	if n.Source != nil {
		s = *n.Source
	}
	if s.Kind == "" {
		if n.Origin == OriginModel {
			s.Kind = "synthetic"
		} else {
			s.Kind = "other"
		}
	}
	return s
}

// ValidID reports whether s is a canonical UUID string as the registry issues them.
func ValidID(s string) bool {
	if len(s) != 36 {
		return false
	}
	u, err := uuid.Parse(s)
	return err == nil && u.String() == s
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
