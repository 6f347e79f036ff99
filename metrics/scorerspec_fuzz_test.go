package metrics_test

import (
	"testing"
	"time"

	"github.com/pedigreeml/pedigree/metrics"
)

// FuzzParseToxicityScorer feeds --toxicity-scorer arbitrary values: the parser never panics, and a
// scorer it builds has a non-empty ID that the same value always gives (the ID stored with every
// score must name one scorer).
func FuzzParseToxicityScorer(f *testing.F) {
	for _, s := range []string{"lexicon", "lexicon/1", "", "http://127.0.0.1:1/v1alpha1/comments:analyze",
		"tei:http://127.0.0.1:1/predict", "tei:http://127.0.0.1:1/predict#labels=toxic,insult&batch=8&version=2",
		"openai:https://127.0.0.1:1/v1/moderations#category=harassment&model=m", "openai:#batch=0", "tei:%zz#labels=",
		"tei:http://h/p#bogus=1", "ftp://h", "openai:http://h/p#%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		s, err := metrics.ParseToxicityScorer(spec, time.Second)
		if err != nil {
			return
		}
		again, err := metrics.ParseToxicityScorer(spec, time.Second)
		if err != nil || s.ID() == "" || again.ID() != s.ID() {
			t.Fatalf("%q: ID %q, then %v / %v", spec, s.ID(), again, err)
		}
	})
}
