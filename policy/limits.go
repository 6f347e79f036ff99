package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"sort"
	"strconv"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/pedigreeml/pedigree/registry"
)

// Limits are the bounds a policy sets on a mix, which the mixer obeys while building it. A nil
// field is not limited by the policy. Limits encodes to and decodes from one flat JSON object:
// the known keys below plus Extra's.
type Limits struct {
	// MaxSyntheticRatio caps the share of model-generated samples in the mix, in [0, 1].
	MaxSyntheticRatio *float64 `json:"max_synthetic_ratio,omitempty"`
	// MaxGeneration caps the generation of any sample in the mix (≥ 0).
	MaxGeneration *int `json:"max_generation,omitempty"`
	// MinHumanSamples is the least number of human samples a mix must hold (≥ 0): an absolute
	// floor, not a ratio.
	MinHumanSamples *int `json:"min_human_samples,omitempty"`
	// MaxModelShare caps the share of the mix that any single model generated, in [0, 1].
	MaxModelShare *float64 `json:"max_model_share,omitempty"`
	// Dedup keeps at most one sample of each duplicate group in a mix: DedupExact groups samples
	// whose texts are equal after normalization (registry/dedup), DedupNear also those of one
	// near-duplicate cluster.
	Dedup *string `json:"dedup,omitempty"`
	// Accumulate requires a mix whose request names a base_model (the model it trains a successor
	// of) to keep every human sample of that model's training mixes that the policy still admits:
	// earlier real data is accumulated, never replaced (Gerstgrasser et al. 2024).
	Accumulate *bool `json:"accumulate,omitempty"`
	// Extra holds every other key of the policy's limits object, as decoded from JSON (numbers
	// as json.Number).
	Extra map[string]any `json:"-"`
}

// limitKeys are the keys of Limits' typed fields.
var limitKeys = []string{"max_synthetic_ratio", "max_generation", "min_human_samples", "max_model_share", "dedup", "accumulate"}

// The values of the dedup limit.
const (
	DedupExact = "exact"
	DedupNear  = "near"
)

// MarshalJSON encodes l as one flat object with sorted keys; the typed fields win over Extra.
func (l Limits) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(l.Extra)+len(limitKeys))
	maps.Copy(m, l.Extra)
	for _, k := range limitKeys {
		delete(m, k)
	}
	if l.MaxSyntheticRatio != nil {
		m["max_synthetic_ratio"] = *l.MaxSyntheticRatio
	}
	if l.MaxGeneration != nil {
		m["max_generation"] = *l.MaxGeneration
	}
	if l.MinHumanSamples != nil {
		m["min_human_samples"] = *l.MinHumanSamples
	}
	if l.MaxModelShare != nil {
		m["max_model_share"] = *l.MaxModelShare
	}
	if l.Dedup != nil {
		m["dedup"] = *l.Dedup
	}
	if l.Accumulate != nil {
		m["accumulate"] = *l.Accumulate
	}
	return json.Marshal(m) // maps encode with sorted keys
}

// UnmarshalJSON decodes a flat object: known keys into the typed fields (null leaves them nil),
// every other key into Extra with numbers as json.Number. It checks types, not ranges.
func (l *Limits) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return err
	}
	if raw == nil {
		*l = Limits{}
		return nil
	}
	out, errs := limitsFromMap(raw, false)
	if len(errs) > 0 {
		return fmt.Errorf("limits: %s", errs[0].Message)
	}
	*l = out
	return nil
}

// clone returns a deep copy of l, so callers cannot change a Policy's limits.
func (l Limits) clone() Limits {
	out := l
	out.MaxSyntheticRatio = clonePtr(l.MaxSyntheticRatio)
	out.MaxGeneration = clonePtr(l.MaxGeneration)
	out.MinHumanSamples = clonePtr(l.MinHumanSamples)
	out.MaxModelShare = clonePtr(l.MaxModelShare)
	out.Dedup = clonePtr(l.Dedup)
	out.Accumulate = clonePtr(l.Accumulate)
	if l.Extra != nil {
		out.Extra = make(map[string]any, len(l.Extra))
		for k, v := range l.Extra {
			out.Extra[k] = deepCopy(v)
		}
	}
	return out
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = deepCopy(e)
		}
		return s
	}
	return v
}

// limitsQuery reads the limits object.
var limitsQuery = ast.MustParseBody("limits := data.pedigree.mix.limits")

// evalLimits evaluates limits without input and checks its known keys. A module without a limits
// rule has no limits; one whose limits is undefined without input (it reads input) is refused.
func evalLimits(ctx context.Context, c *ast.Compiler, m *ast.Module) (Limits, error) {
	rules := rulesNamed(m, "limits")
	if len(rules) == 0 {
		return Limits{}, nil
	}
	at := rules[0].Location
	rs, err := rego.New(
		rego.Compiler(c),
		rego.ParsedQuery(limitsQuery),
		rego.StrictBuiltinErrors(true),
		rego.UnsafeBuiltins(forbiddenSet()),
		rego.Time(epoch),
	).Eval(ctx)
	if err != nil {
		return Limits{}, opaError("policy limits cannot be evaluated", err, at)
	}
	if len(rs) == 0 {
		return Limits{}, locatedError("policy limits is undefined", at,
			"limits must be an object defined without input (it is read before any mix exists)")
	}
	obj, ok := rs[0].Bindings["limits"].(map[string]any)
	if !ok {
		return Limits{}, locatedError("policy limits is not an object", at,
			fmt.Sprintf("limits must be an object, not %s", jsonKind(rs[0].Bindings["limits"])))
	}
	l, errs := limitsFromMap(obj, true)
	if len(errs) > 0 {
		e := &registry.Error{Code: registry.EINVALID, Message: "policy limits are invalid: " + errs[0].Message, Fields: errs}
		return Limits{}, e
	}
	return l, nil
}

// limitsFromMap reads the known keys of raw into typed fields, checking ranges when checkRange is
// set, and keeps the others in Extra.
func limitsFromMap(raw map[string]any, checkRange bool) (Limits, []registry.FieldError) {
	var l Limits
	var errs []registry.FieldError
	fail := func(key, format string, args ...any) {
		errs = append(errs, registry.FieldError{Field: "limits/" + key, Message: key + " " + fmt.Sprintf(format, args...)})
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := raw[k]
		switch k {
		case "max_synthetic_ratio", "max_model_share":
			if v == nil {
				continue
			}
			f, ok := toFloat(v)
			if !ok {
				fail(k, "must be a number between 0 and 1, not %s", jsonKind(v))
				continue
			}
			if checkRange && !(f >= 0 && f <= 1) {
				fail(k, "must be between 0 and 1, not %v", v)
				continue
			}
			if k == "max_synthetic_ratio" {
				l.MaxSyntheticRatio = &f
			} else {
				l.MaxModelShare = &f
			}
		case "max_generation", "min_human_samples":
			if v == nil {
				continue
			}
			n, ok := toInt(v)
			if !ok {
				fail(k, "must be a whole number, not %s", describe(v))
				continue
			}
			if checkRange && n < 0 {
				fail(k, "must be at least 0, not %d", n)
				continue
			}
			if k == "max_generation" {
				l.MaxGeneration = &n
			} else {
				l.MinHumanSamples = &n
			}
		case "dedup":
			if v == nil {
				continue
			}
			d, ok := v.(string)
			if !ok || d != DedupExact && d != DedupNear {
				fail(k, "must be %q or %q, not %s", DedupExact, DedupNear, describeString(v))
				continue
			}
			l.Dedup = &d
		case "accumulate":
			if v == nil {
				continue
			}
			a, ok := v.(bool)
			if !ok {
				fail(k, "must be true or false, not %s", describe(v))
				continue
			}
			l.Accumulate = &a
		default:
			if l.Extra == nil {
				l.Extra = map[string]any{}
			}
			l.Extra[k] = v
		}
	}
	return l, errs
}

// toFloat reads a JSON number (json.Number or float64) as a finite float64.
func toFloat(v any) (float64, bool) {
	var f float64
	switch x := v.(type) {
	case json.Number:
		var err error
		if f, err = strconv.ParseFloat(string(x), 64); err != nil {
			return 0, false
		}
	case float64:
		f = x
	default:
		return 0, false
	}
	return f, !math.IsInf(f, 0) && !math.IsNaN(f)
}

// toInt reads a JSON number that is a whole number within ±2^31 (2, 2.0, 2e0).
func toInt(v any) (int, bool) {
	f, ok := toFloat(v)
	if !ok || f != math.Trunc(f) || math.Abs(f) > math.MaxInt32 {
		return 0, false
	}
	return int(f), true
}

// jsonKind names the JSON type of a decoded value.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number, float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// describeString names a value for a message: strings quoted, the rest as describe does.
func describeString(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return describe(v)
}

// describe names a value for a message: numbers by value, the rest by kind.
func describe(v any) string {
	switch x := v.(type) {
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return jsonKind(v)
}
