package policy

import (
	"context"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/rego"
)

// BenchmarkEvaluate measures deny on the default policy, prepared once (Evaluate), against the
// baseline of preparing the query for every evaluation, and reports the ratio.
func BenchmarkEvaluate(b *testing.B) {
	p := MustCompile(b, DefaultModule())
	mix := map[string]any{"size": 200, "stats": map[string]any{
		"human": 150, "synthetic": 50, "synthetic_ratio": 0.25,
		"generations": map[string]any{"0": 150, "1": 50}, "models": map[string]any{"a@1": 30, "b@1": 20},
	}}
	at := time.Unix(1700000000, 0)
	ctx := context.Background()
	unprepared := func() {
		_, err := rego.New(rego.Module(fileName, DefaultModule()), rego.ParsedQuery(denyQuery),
			rego.Input(map[string]any{"mix": mix}), rego.Time(at)).Eval(ctx)
		if err != nil {
			b.Fatal(err)
		}
	}
	const baselineRuns = 20
	start := time.Now()
	for range baselineRuns {
		unprepared()
	}
	baseline := time.Since(start) / baselineRuns

	b.ResetTimer()
	start = time.Now()
	n := 0
	for b.Loop() {
		if d := p.Evaluate(ctx, mix, at); !d.Allowed {
			b.Fatalf("%+v", d)
		}
		n++
	}
	prepared := time.Since(start) / time.Duration(n)
	b.ReportMetric(float64(baseline.Nanoseconds()), "unprepared-ns/op")
	b.ReportMetric(float64(baseline)/float64(prepared), "x-faster")
}
