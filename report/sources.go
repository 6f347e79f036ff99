package report

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	"github.com/pedigreeml/pedigree/registry"
)

// Source kinds, as registry.SourceKinds names them.
const (
	kindPublic    = "public_dataset"
	kindLicensed  = "licensed"
	kindPrivate   = "private"
	kindCrawl     = "web_crawl"
	kindUserData  = "user_data"
	kindSynthetic = "synthetic"
	kindOther     = "other"
)

// tally is one source's contribution summed over the mixes.
type tally struct {
	samples, tokens int64
	uri             string
}

// sourceTallies sums the mixes' per-source statistics by kind and name. A kind the registry does not
// know is filed under "other", its name prefixed with the kind so that nothing is merged by accident.
type sourceTallies map[string]map[string]*tally

func (st sourceTallies) add(kind, name string, samples, tokens int64, uri string) {
	if !slices.Contains(registry.SourceKinds, kind) {
		name, kind = kind+"/"+name, kindOther
	}
	if st[kind] == nil {
		st[kind] = map[string]*tally{}
	}
	t := st[kind][name]
	if t == nil {
		t = &tally{}
		st[kind][name] = t
	}
	t.samples += samples
	t.tokens += tokens
	if t.uri == "" {
		t.uri = uri // the first mix's, in mix id order
	}
}

// category returns one kind's sources, largest first by tokens, then samples, then name.
func (st sourceTallies) category(kind string) Category {
	c := Category{Kind: kind, Sources: []Source{}}
	for name, t := range st[kind] {
		c.Samples += t.samples
		c.Tokens += t.tokens
		c.Sources = append(c.Sources, Source{Name: name, URI: t.uri, Samples: t.samples, Tokens: t.tokens})
	}
	slices.SortFunc(c.Sources, bySize)
	return c
}

func bySize(a, b Source) int {
	if c := cmp.Compare(b.Tokens, a.Tokens); c != 0 {
		return c
	}
	if c := cmp.Compare(b.Samples, a.Samples); c != 0 {
		return c
	}
	return cmp.Compare(a.Name, b.Name)
}

func sources(ix *index, r *Report) Sources {
	st := sourceTallies{}
	licenses := map[string]int64{}
	models := map[string]int64{}
	var total, modelSamples int64
	for _, m := range ix.mixes {
		s := m.Stats
		n := int64(s.Human + s.Synthetic)
		total += n
		modelSamples += int64(s.Synthetic)
		for ref, c := range s.Models {
			models[ref] += int64(c)
		}
		for lic, c := range s.Licenses {
			licenses[lic] += int64(c)
		}
		if len(s.Sources) == 0 && n > 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("Mix %s predates per-source statistics: its sources are "+
				"counted by kind only, without names or tokens.", m.ID))
			for kind, c := range s.SourceKinds {
				st.add(kind, "", int64(c), 0, "")
			}
			continue
		}
		for kind, names := range s.Sources {
			for name, ss := range names {
				st.add(kind, name, int64(ss.Samples), ss.Tokens, ss.URI)
			}
		}
	}
	out := Sources{
		PublicDatasets: st.category(kindPublic),
		Licensed:       st.category(kindLicensed),
		Private:        st.category(kindPrivate),
		Licenses:       licenseCounts(licenses, total),
		Crawled:        crawled(st.category(kindCrawl)),
		UserData:       st.category(kindUserData),
		Other:          st.category(kindOther),
	}
	syn := st.category(kindSynthetic)
	out.Synthetic = Synthetic{Kind: syn.Kind, Samples: syn.Samples, Tokens: syn.Tokens, Sources: syn.Sources,
		ModelGeneratedSamples: modelSamples, Generators: generators(ix, models)}
	return out
}

func licenseCounts(licenses map[string]int64, total int64) Licenses {
	l := Licenses{Licenses: []Count{}, Unrecorded: total}
	for name, n := range licenses {
		l.Licenses = append(l.Licenses, Count{Name: name, Samples: n})
		l.Unrecorded -= n
	}
	l.Unrecorded = max(l.Unrecorded, 0)
	slices.SortFunc(l.Licenses, byCount)
	return l
}

func byCount(a, b Count) int {
	if c := cmp.Compare(b.Samples, a.Samples); c != 0 {
		return c
	}
	return cmp.Compare(a.Name, b.Name)
}

// topDomains is how many of n crawled domains the summary lists: the top 10 % by size, as the
// template asks, but never fewer than 10 (or all of them, when there are fewer).
func topDomains(n int) (listed int, selection, note string) {
	tenth := (n + 9) / 10
	listed = max(tenth, min(10, n))
	switch {
	case listed == n:
		return listed, "all", fmt.Sprintf("all %d domains", n)
	case tenth >= 10:
		return listed, "top_10_percent", fmt.Sprintf("the top 10%% of %d domains by tokens: %d domains", n, listed)
	default:
		return listed, "top_10", fmt.Sprintf("the top 10 of %d domains by tokens (10%% would be %d; at least 10 are listed)", n, tenth)
	}
}

func crawled(c Category) Crawled {
	listed, selection, note := topDomains(len(c.Sources))
	return Crawled{Kind: c.Kind, Samples: c.Samples, Tokens: c.Tokens, Domains: len(c.Sources),
		Selection: selection, SelectionNote: note, TopDomains: c.Sources[:listed], Crawlers: []registry.Crawler{}}
}

func generators(ix *index, samples map[string]int64) []Generator {
	out := []Generator{}
	for _, ref := range slices.Sorted(maps.Keys(samples)) {
		m := ix.generators[ref]
		g := Generator{Model: ref, ID: m.ID, Provider: m.Provider, Samples: samples[ref], Generation: m.Generation,
			GenerationBasis: m.GenerationBasis, DeclaredGeneration: m.DeclaredGeneration,
			TrainingDataKnown: len(m.TrainedOn) > 0, TrainedOn: slices.Clone(m.TrainedOn), LogIndex: m.LogIndex}
		if g.Provider == "" {
			g.Provider = "not recorded"
		}
		if g.TrainedOn == nil {
			g.TrainedOn = []string{}
		}
		switch g.GenerationBasis {
		case registry.BasisDeclared:
			g.BasisMeaning = basisDeclared
		case registry.BasisMixes:
			g.BasisMeaning = basisMixes
		}
		out = append(out, g)
	}
	return out
}
