package storetest

import (
	"net/url"
	"strconv"

	"github.com/google/uuid"

	"github.com/pedigreeml/pedigree/registry"
)

// mixSummary is what a policy's deny rules see as input.mix, as the mixer encodes it into a
// decision's input.
type mixSummary struct {
	Size     int                  `json:"size"`
	Strategy registry.MixStrategy `json:"strategy"`
	Stats    registry.MixStats    `json:"stats"`
	Request  registry.MixRequest  `json:"request"`
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// statsOf summarises samples as the stats of a mix holding them, with every field the mixer sets.
func statsOf(samples []*registry.Sample) registry.MixStats {
	s := registry.MixStats{Generations: map[string]int{}, Models: map[string]int{}, Metrics: map[string]registry.MetricSummary{},
		Datasets: map[string]int{}, SourceKinds: map[string]int{}, Licenses: map[string]int{}, Bases: map[string]int{},
		Sources: map[string]map[string]registry.SourceStat{}, Pool: len(samples)}
	var tokens, mtld, tox registry.MetricSummary
	add := func(m *registry.MetricSummary, v float64) {
		if m.Count == 0 || v < m.Min {
			m.Min = v
		}
		if m.Count == 0 || v > m.Max {
			m.Max = v
		}
		m.Mean = (m.Mean*float64(m.Count) + v) / float64(m.Count+1)
		m.Count++
	}
	for _, smp := range samples {
		if smp.Origin == registry.OriginHuman {
			s.Human++
		} else {
			s.Synthetic++
			s.Models[smp.Model]++
		}
		s.Generations[strconv.Itoa(smp.Generation)]++
		s.MaxGeneration = max(s.MaxGeneration, smp.Generation)
		if smp.Dataset != "" {
			s.Datasets[smp.Dataset]++
		}
		kind := smp.Source.Kind
		s.SourceKinds[kind]++
		if smp.Source.License != "" {
			s.Licenses[smp.Source.License]++
		}
		s.Bases[smp.GenerationBasis]++
		s.Tokens += int64(smp.Metrics.Tokens)
		if s.LatestSample == nil || smp.CreatedAt.After(*s.LatestSample) {
			at := smp.CreatedAt
			s.LatestSample = &at
		}
		name := smp.Source.Name
		if u, err := url.Parse(smp.Source.URI); kind == "web_crawl" && err == nil && u.Hostname() != "" {
			name = u.Hostname()
		} else if name == "" {
			name = smp.Dataset
		}
		if s.Sources[kind] == nil {
			s.Sources[kind] = map[string]registry.SourceStat{}
		}
		st := s.Sources[kind][name]
		st.Samples++
		st.Tokens += int64(smp.Metrics.Tokens)
		if st.URI == "" && kind != "web_crawl" {
			st.URI = smp.Source.URI
		}
		s.Sources[kind][name] = st
		add(&tokens, float64(smp.Metrics.Tokens))
		add(&mtld, smp.Metrics.MTLD)
		if smp.Metrics.Toxicity == nil {
			s.UnscoredToxic++
		} else {
			add(&tox, *smp.Metrics.Toxicity)
		}
	}
	if n := len(samples); n > 0 {
		s.SyntheticRatio = float64(s.Synthetic) / float64(n)
		top := 0
		for _, c := range s.Models {
			top = max(top, c)
		}
		s.ModelShare = float64(top) / float64(n)
		s.Metrics["tokens"], s.Metrics["mtld"], s.Metrics["toxicity"] = tokens, mtld, tox
	}
	return s
}
