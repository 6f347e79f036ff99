package policy

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"testing"

	"github.com/pedigreeml/pedigree/registry"
)

func TestLimitsJSON(t *testing.T) {
	tests := []struct {
		name   string
		limits Limits
		json   string
	}{
		{"Empty", Limits{}, `{}`},
		{"Known", Limits{MaxSyntheticRatio: ptr(0.5), MaxGeneration: ptr(2), MinHumanSamples: ptr(100), MaxModelShare: ptr(0.25)},
			`{"max_generation":2,"max_model_share":0.25,"max_synthetic_ratio":0.5,"min_human_samples":100}`},
		{"ExtrasFlat", Limits{MaxGeneration: ptr(0), Extra: map[string]any{"max_toxicity": json.Number("0.5"), "note": "x", "w": map[string]any{"a": []any{json.Number("1")}}}},
			`{"max_generation":0,"max_toxicity":0.5,"note":"x","w":{"a":[1]}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.limits)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.json {
				t.Fatalf("Marshal = %s, want %s", b, tc.json)
			}
			var back Limits
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, tc.limits) {
				t.Fatalf("round trip = %+v, want %+v", back, tc.limits)
			}
		})
	}
	t.Run("TypedFieldWinsOverExtra", func(t *testing.T) {
		b, err := json.Marshal(Limits{MaxGeneration: ptr(1), Extra: map[string]any{"max_generation": 9}})
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != `{"max_generation":1}` {
			t.Fatalf("Marshal = %s", b)
		}
	})
	t.Run("InAStruct", func(t *testing.T) {
		b, err := json.Marshal(struct {
			L Limits `json:"limits"`
		}{Limits{MaxGeneration: ptr(3), Extra: map[string]any{"k": true}}})
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != `{"limits":{"k":true,"max_generation":3}}` {
			t.Fatalf("Marshal = %s", b)
		}
	})
	for _, bad := range []string{`{"max_generation":"2"}`, `{"max_synthetic_ratio":true}`, `{"min_human_samples":1.5}`, `[1]`, `{`} {
		t.Run("ErrUnmarshal "+bad, func(t *testing.T) {
			var l Limits
			if err := json.Unmarshal([]byte(bad), &l); err == nil {
				t.Fatalf("Unmarshal(%s) = %+v, want an error", bad, l)
			}
		})
	}
	t.Run("NullKnownKey", func(t *testing.T) {
		var l Limits
		if err := json.Unmarshal([]byte(`{"max_generation":null}`), &l); err != nil || l.MaxGeneration != nil || l.Extra != nil {
			t.Fatalf("Unmarshal = %+v, %v", l, err)
		}
	})
}

func TestPolicyLimits(t *testing.T) {
	p := MustCompile(t, pkg+`limits := {"max_synthetic_ratio": 0.3, "max_generation": 1, "min_human_samples": 50, "max_model_share": 1, "extra": {"nested": [1]}}`+"\n")
	l := p.Limits()
	if *l.MaxSyntheticRatio != 0.3 || *l.MaxGeneration != 1 || *l.MinHumanSamples != 50 || *l.MaxModelShare != 1 {
		t.Fatalf("Limits = %+v", l)
	}
	want := map[string]any{"extra": map[string]any{"nested": []any{json.Number("1")}}}
	if !reflect.DeepEqual(l.Extra, want) {
		t.Fatalf("Extra = %#v, want %#v", l.Extra, want)
	}
	// Changing the copy must not change the policy.
	*l.MaxGeneration = 99
	l.Extra["extra"].(map[string]any)["nested"].([]any)[0] = "changed"
	again := p.Limits()
	if *again.MaxGeneration != 1 || !reflect.DeepEqual(again.Extra, want) {
		t.Fatalf("Limits changed through a returned copy: %+v", again)
	}
	if l := MustCompile(t, pkg).Limits(); !reflect.DeepEqual(l, Limits{}) {
		t.Fatalf("no limits rule: Limits = %+v, want zero", l)
	}
}

func TestDedupLimit(t *testing.T) {
	for _, v := range []string{DedupExact, DedupNear} {
		l := MustCompile(t, pkg+`limits := {"dedup": "`+v+`"}`+"\n").Limits()
		if l.Dedup == nil || *l.Dedup != v {
			t.Fatalf("dedup %q read as %v", v, l.Dedup)
		}
	}
	for _, bad := range []string{`"fuzzy"`, `1`, `true`} {
		_, err := Compile(context.Background(), "p", pkg+`limits := {"dedup": `+bad+`}`+"\n")
		var e *registry.Error
		if !errors.As(err, &e) || e.Code != registry.EINVALID || len(e.Fields) == 0 || e.Fields[0].Field != "limits/dedup" {
			t.Fatalf("dedup %s: %v", bad, err)
		}
	}
}

func TestAccumulateLimit(t *testing.T) {
	for _, v := range []bool{true, false} {
		l := MustCompile(t, pkg+`limits := {"accumulate": `+strconv.FormatBool(v)+`}`+"\n").Limits()
		if l.Accumulate == nil || *l.Accumulate != v {
			t.Fatalf("accumulate %v read as %v", v, l.Accumulate)
		}
		b, err := json.Marshal(l)
		if err != nil || string(b) != `{"accumulate":`+strconv.FormatBool(v)+`}` {
			t.Fatalf("accumulate %v encodes as %s, %v", v, b, err)
		}
	}
	for _, bad := range []string{`"yes"`, `1`, `[true]`} {
		_, err := Compile(context.Background(), "p", pkg+`limits := {"accumulate": `+bad+`}`+"\n")
		var e *registry.Error
		if !errors.As(err, &e) || e.Code != registry.EINVALID || len(e.Fields) == 0 || e.Fields[0].Field != "limits/accumulate" {
			t.Fatalf("accumulate %s: %v", bad, err)
		}
	}
}
