package policy

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDefaultPolicy(t *testing.T) {
	p, err := Compile(context.Background(), DefaultName, DefaultModule())
	if err != nil {
		t.Fatalf("the default policy does not compile (or its tests fail): %v\n%s", err, fieldText(err))
	}
	if !strings.Contains(DefaultModule(), "\ntest_") {
		t.Fatal("the default policy has no test_ rules")
	}

	t.Run("Limits", func(t *testing.T) {
		l := p.Limits()
		if l.MaxSyntheticRatio == nil || *l.MaxSyntheticRatio != 0.5 ||
			l.MaxGeneration == nil || *l.MaxGeneration != 2 ||
			l.MinHumanSamples == nil || *l.MinHumanSamples != 100 ||
			l.MaxModelShare == nil || *l.MaxModelShare != 0.25 {
			t.Fatalf("Limits = %+v", l)
		}
		if got := l.Extra["max_toxicity"]; got == nil || got.(interface{ String() string }).String() != "0.5" {
			t.Fatalf("Extra[max_toxicity] = %v", got)
		}
	})

	t.Run("Include", func(t *testing.T) {
		// Scored, toxicity ≤ 0.5, generation ≤ 2: rows 1, 2 and 5 (3 is unscored, 4 toxic and
		// generation 10, 6 generation 3).
		want := []int{1, 2, 5}
		for _, src := range sqliteSources(t) {
			got, err := src.query(t, p.Where(SQLite))
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("%s: selected %v (err %v), want %v", src.name, got, err, want)
			}
		}
	})

	t.Run("IncludePostgres", func(t *testing.T) {
		src := postgresSource(t)
		got, err := src.query(t, p.Where(Postgres))
		if err != nil || !slices.Equal(got, []int{1, 2, 5}) {
			t.Errorf("selected %v (err %v), want [1 2 5]", got, err)
		}
	})

	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	balanced := func() map[string]any {
		return map[string]any{
			"size": 200, "strategy": "random",
			"stats": map[string]any{
				"human": 150, "synthetic": 50, "synthetic_ratio": 0.25,
				"generations": map[string]any{"0": 150, "1": 40, "2": 10},
				"models":      map[string]any{"a@1": 30, "b@1": 20},
				"metrics":     map[string]any{"mtld": map[string]any{"mean": 71.2}},
			},
			"request": map[string]any{"size": 200, "strategy": "random", "seed": 7},
		}
	}
	tests := []struct {
		name       string
		edit       func(stats map[string]any)
		violations []string
	}{
		{"Balanced", func(map[string]any) {}, nil},
		{"AtTheCaps", func(s map[string]any) {
			s["human"], s["synthetic"], s["synthetic_ratio"] = 100, 100, 0.5
			s["models"] = map[string]any{"a@1": 50, "b@1": 50}
		}, nil},
		{"SyntheticShare", func(s map[string]any) {
			s["human"], s["synthetic"], s["synthetic_ratio"] = 152, 248, 0.62
			s["models"] = map[string]any{"a@1": 62, "b@1": 62, "c@1": 62, "d@1": 62}
		}, []string{"synthetic share 0.62 exceeds the cap 0.50"}},
		{"FewHumans", func(s map[string]any) {
			s["human"], s["synthetic"], s["synthetic_ratio"] = 40, 10, 0.2
			s["models"] = map[string]any{"a@1": 5, "b@1": 5}
		}, nil}, // the mixer refuses this one, with its own message
		{"DeepGeneration", func(s map[string]any) {
			s["generations"] = map[string]any{"0": 150, "1": 40, "3": 7, "4": 3}
		}, []string{
			"3 samples of generation 4; the policy allows at most generation 2",
			"7 samples of generation 3; the policy allows at most generation 2",
		}},
		{"ModelAtTheCap", func(s map[string]any) {
			s["models"] = map[string]any{"a@1": 50}
		}, nil},
		{"DominantModelOver", func(s map[string]any) {
			s["human"], s["synthetic"], s["synthetic_ratio"] = 120, 80, 0.4
			s["models"] = map[string]any{"a@1": 70, "b@1": 10}
		}, []string{"model a@1 supplies 0.35 of the mix; the cap is 0.25"}},
		{"Everything", func(s map[string]any) {
			s["human"], s["synthetic"], s["synthetic_ratio"] = 10, 90, 0.9
			s["generations"] = map[string]any{"0": 10, "5": 90}
			s["models"] = map[string]any{"a@1": 90}
		}, []string{
			"90 samples of generation 5; the policy allows at most generation 2",
			"model a@1 supplies 0.90 of the mix; the cap is 0.25",
			"synthetic share 0.90 exceeds the cap 0.50",
		}},
		{"MissingStats", func(s map[string]any) {
			delete(s, "models")
			delete(s, "synthetic_ratio")
		}, []string{
			"the mix summary has no stats.models; the policy cannot decide without it",
			"the mix summary has no stats.synthetic_ratio; the policy cannot decide without it",
		}},
	}
	for _, tc := range tests {
		t.Run("Deny"+tc.name, func(t *testing.T) {
			mix := balanced()
			tc.edit(mix["stats"].(map[string]any))
			d := p.Evaluate(context.Background(), mix, at)
			if d.Error != "" {
				t.Fatalf("Error = %q", d.Error)
			}
			if d.Allowed != (len(tc.violations) == 0) || !slices.Equal(d.Violations, tc.violations) {
				t.Fatalf("Decision = %+v, want violations %q", d, tc.violations)
			}
		})
	}
	t.Run("DenyNoStatsAtAll", func(t *testing.T) {
		d := p.Evaluate(context.Background(), map[string]any{"size": 0}, at)
		if d.Allowed || len(d.Violations) != 5 {
			t.Fatalf("Decision = %+v, want 5 missing-stats violations", d)
		}
	})
	t.Run("DenyNonNumericGenerationFailsClosed", func(t *testing.T) {
		mix := balanced()
		mix["stats"].(map[string]any)["generations"] = map[string]any{"zero": 150}
		if d := p.Evaluate(context.Background(), mix, at); d.Allowed || d.Error == "" {
			t.Fatalf("Decision = %+v, want an evaluation error", d)
		}
	})
}
