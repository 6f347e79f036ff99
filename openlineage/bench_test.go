package openlineage_test

import (
	"encoding/json"
	"testing"

	"github.com/pedigreeml/pedigree/openlineage"
)

// BenchmarkMixEvents measures what a mix build's events cost against the baseline the handler pays
// anyway, encoding the mix for its response: "build" is what the request pays (Publisher.MixRecorded
// builds the events and queues them), "build-encode" what the events cost in all (the worker encodes
// them). Each reports its ratio to the baseline.
func BenchmarkMixEvents(b *testing.B) {
	d, m := allowed(&testing.T{})
	cfg := openlineage.Config{}
	var baseline float64
	perOp := func(b *testing.B) float64 { return float64(b.Elapsed().Nanoseconds()) / float64(b.N) }
	b.Run("baseline-encode-mix", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(m); err != nil {
				b.Fatal(err)
			}
		}
		baseline = perOp(b)
	})
	b.Run("build", func(b *testing.B) {
		for b.Loop() {
			if _, err := cfg.MixEvents(d, m); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(perOp(b)/baseline, "x-baseline")
	})
	b.Run("build-encode", func(b *testing.B) {
		for b.Loop() {
			evs, err := cfg.MixEvents(d, m)
			if err != nil {
				b.Fatal(err)
			}
			for _, ev := range evs {
				if _, err := json.Marshal(ev); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(perOp(b)/baseline, "x-baseline")
	})
}
