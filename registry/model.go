package registry

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Model is a registered model. Generation is derived: from the mixes it was trained on (basis
// "mixes"), or from DeclaredGeneration for a model trained outside the registry (basis "declared").
type Model struct {
	ID                 string    `json:"id"`
	Name               string    `json:"name"`
	Version            string    `json:"version"`
	Provider           string    `json:"provider,omitempty"`
	TrainedOn          []string  `json:"trained_on"`
	DeclaredGeneration *int      `json:"declared_generation,omitempty"`
	Generation         int       `json:"generation"`
	GenerationBasis    string    `json:"generation_basis"`
	CreatedAt          time.Time `json:"created_at"`
	LogIndex           int64     `json:"log_index"`
}

// Ref returns the model's "name@version" reference.
func (m *Model) Ref() string { return m.Name + "@" + m.Version }

// NewModel is what a client sends to register a model.
type NewModel struct {
	Name               string   `json:"name"`
	Version            string   `json:"version"`
	Provider           string   `json:"provider,omitempty"`
	TrainedOn          []string `json:"trained_on,omitempty"`
	DeclaredGeneration *int     `json:"declared_generation,omitempty"`
}

// Limits on model records.
const (
	MaxTrainedOn          = 1000
	MaxDeclaredGeneration = 1000
)

var (
	modelNameRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/:-]{0,127}$`)
	modelVersionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$`)
)

// Validate checks the model against the rules that need no lookups.
func (n *NewModel) Validate() error {
	var fe []FieldError
	add := func(field, msg string) { fe = append(fe, FieldError{Field: field, Message: msg}) }
	code := EINVALID
	if !modelNameRE.MatchString(n.Name) {
		add("name", "must be 1-128 characters of letters, digits and . _ / : - (no @)")
	}
	if !modelVersionRE.MatchString(n.Version) {
		add("version", "must be 1-64 characters of letters, digits and . _ + - (no @)")
	}
	if len(n.Provider) > maxNameLen {
		add("provider", "is longer than 256 bytes")
	}
	if len(n.TrainedOn) > 0 && n.DeclaredGeneration != nil {
		add("declared_generation", "cannot be combined with trained_on: the generation is derived from the mixes")
	}
	if g := n.DeclaredGeneration; g != nil && (*g < 0 || *g > MaxDeclaredGeneration) {
		add("declared_generation", "must be between 0 and "+strconv.Itoa(MaxDeclaredGeneration))
	}
	if len(n.TrainedOn) > MaxTrainedOn {
		code = ETOOLARGE
		add("trained_on", "has more than "+strconv.Itoa(MaxTrainedOn)+" mixes")
	}
	seen := make(map[string]bool, len(n.TrainedOn))
	for i, id := range n.TrainedOn {
		f := "trained_on/" + strconv.Itoa(i)
		if !ValidID(id) {
			add(f, "is not a mix id")
		} else if seen[id] {
			add(f, "is listed twice")
		}
		seen[id] = true
	}
	if len(fe) == 0 {
		return nil
	}
	return &Error{Code: code, Message: fe[0].Field + ": " + fe[0].Message, Fields: fe}
}

// SplitModelRef splits "name@version" into its parts; ok is false if ref has no single "@" with text on
// both sides.
func SplitModelRef(ref string) (name, version string, ok bool) {
	i := strings.LastIndexByte(ref, '@')
	if i <= 0 || i == len(ref)-1 || strings.IndexByte(ref[:i], '@') >= 0 {
		return "", "", false
	}
	return ref[:i], ref[i+1:], true
}
