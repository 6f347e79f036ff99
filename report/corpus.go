package report

import (
	"encoding/json"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/abadojack/whatlanggo"
	"github.com/google/uuid"

	"github.com/pedigreeml/pedigree/registry"
)

// Language detection bounds: a report detects the language of at most DetectSamples samples that
// carry no metadata.lang, reading at most detectBytes bytes of each. whatlanggo's trigram profiles
// need a few hundred characters; more text costs time and changes little.
const (
	DetectSamples = 500
	detectBytes   = 1024
	maxLangTag    = 35 // a BCP 47 tag's practical length
)

// DetectLanguage returns the ISO 639-1 code (ISO 639-3 where a language has none) of the language
// whatlanggo finds in text, or ok false when it finds none reliably.
func DetectLanguage(text string) (code string, ok bool) {
	if len(text) > detectBytes {
		text = text[:detectBytes]
		for !utf8.ValidString(text) && len(text) > 0 { // do not split a character
			text = text[:len(text)-1]
		}
	}
	info := whatlanggo.Detect(text)
	if info.Lang < 0 || !info.IsReliable() {
		return "", false
	}
	if c := info.Lang.Iso6391(); c != "" {
		return c, true
	}
	return info.Lang.Iso6393(), info.Lang.Iso6393() != ""
}

// Corpus gathers what a summary states about the samples of its mixes, each sample once however
// many of the mixes hold it: sizes, sources, licences, crawled domains, generating models, text
// people edited from model output, languages and collection dates. The caller streams every mix's
// samples into Add; the texts are not kept.
type Corpus struct {
	detect     func(string) (string, bool)
	detectMax  int
	seen       map[uuid.UUID]bool // sample id → seen in more than one mix (16 bytes a key, not 36)
	repeats    int64              // samples seen again in a later mix
	repeated   int64              // distinct samples seen in more than one mix
	samples    int64
	tokens     int64
	human      int64
	synthetic  int64
	sources    sourceTallies
	domains    map[string]*domainTally
	licenses   map[string]int64
	models     map[string]int64
	edited     Count // human origin, generation ≥ 1: people's edits of model text
	editedTok  int64
	langs      map[string]*langTally
	recorded   int64 // samples whose language metadata.lang states
	detected   int64 // samples whose language was detected
	undetected int64 // examined, no reliable language found
	skipped    int64 // past the detection bound
	collected  int64 // samples that state collected_at
	latestColl *time.Time
	latestReg  *time.Time // registration time of the newest sample without collected_at
	crawlFrom  *time.Time // collected_at range of crawled samples
	crawlTo    *time.Time
}

type domainTally struct {
	tally
	crawls map[string]bool // source names of the crawls that fetched the domain
}

type langTally struct{ recorded, detected int64 }

// NewCorpus returns an empty Corpus that detects, with detect, the language of at most maxDetected
// samples without metadata.lang. A nil detect detects nothing.
func NewCorpus(detect func(string) (string, bool), maxDetected int) *Corpus {
	return &Corpus{detect: detect, detectMax: maxDetected, seen: map[uuid.UUID]bool{}, sources: sourceTallies{},
		domains: map[string]*domainTally{}, licenses: map[string]int64{}, models: map[string]int64{},
		langs: map[string]*langTally{}}
}

// Add counts a sample, unless a sample with its id was added before.
func (c *Corpus) Add(s *registry.Sample) {
	id, err := uuid.Parse(s.ID)
	if err != nil {
		// Not an id the registry issues: keyed by a name-based UUID of it instead, so that it is
		// still counted once.
		id = uuid.NewSHA1(uuid.Nil, []byte(s.ID))
	}
	if again, dup := c.seen[id]; dup {
		c.repeats++
		if !again {
			c.repeated++
			c.seen[id] = true
		}
		return
	}
	c.seen[id] = false
	tok := int64(s.Metrics.Tokens)
	c.samples++
	c.tokens += tok
	if s.Origin == registry.OriginModel {
		c.synthetic++
		c.models[s.Model]++
	} else {
		c.human++
		if s.Generation >= 1 {
			c.edited.Samples++
			c.editedTok += tok
		}
	}
	if s.Source.License != "" {
		c.licenses[s.Source.License]++
	}
	if s.Source.Kind == kindCrawl {
		c.addCrawled(s, tok)
	} else {
		c.sources.add(s.Source.Kind, s.Source.Name, 1, tok, s.Source.URI)
	}
	c.addLanguage(s)
	switch {
	case s.CollectedAt != nil:
		c.collected++
		c.latestColl = later(c.latestColl, *s.CollectedAt)
	default:
		c.latestReg = later(c.latestReg, s.CreatedAt)
	}
}

// addCrawled files a crawled sample under its domain: the host of its source URI, or its source
// name when the URI has none.
func (c *Corpus) addCrawled(s *registry.Sample, tok int64) {
	domain := s.Source.Name
	if u, err := url.Parse(s.Source.URI); err == nil && u.Hostname() != "" {
		domain = strings.ToLower(u.Hostname())
	}
	d := c.domains[domain]
	if d == nil {
		d = &domainTally{crawls: map[string]bool{}}
		c.domains[domain] = d
	}
	d.samples++
	d.tokens += tok
	if s.Source.Name != "" {
		d.crawls[s.Source.Name] = true
	}
	if t := s.CollectedAt; t != nil {
		c.crawlTo = later(c.crawlTo, *t)
		if c.crawlFrom == nil || t.Before(*c.crawlFrom) {
			v := t.UTC()
			c.crawlFrom = &v
		}
	}
}

func (c *Corpus) addLanguage(s *registry.Sample) {
	if lang := metadataLang(s.Metadata); lang != "" {
		c.recorded++
		c.lang(lang).recorded++
		return
	}
	if c.detect == nil || c.detected+c.undetected >= int64(c.detectMax) {
		c.skipped++
		return
	}
	if lang, ok := c.detect(s.Text); ok {
		c.detected++
		c.lang(lang).detected++
	} else {
		c.undetected++
	}
}

func (c *Corpus) lang(code string) *langTally {
	l := c.langs[code]
	if l == nil {
		l = &langTally{}
		c.langs[code] = l
	}
	return l
}

// metadataLang returns a sample's metadata.lang, lower-cased, when it is a plausible language tag.
func metadataLang(meta json.RawMessage) string {
	if len(meta) == 0 {
		return ""
	}
	var m struct {
		Lang any `json:"lang"`
	}
	if json.Unmarshal(meta, &m) != nil {
		return ""
	}
	s, ok := m.Lang.(string)
	s = strings.ToLower(strings.TrimSpace(s))
	if !ok || s == "" || len(s) > maxLangTag {
		return ""
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return ""
		}
	}
	return s
}

func later(cur *time.Time, t time.Time) *time.Time {
	if cur == nil || t.After(*cur) {
		v := t.UTC()
		return &v
	}
	return cur
}
