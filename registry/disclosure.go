package registry

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pedigreeml/pedigree/ledger"
)

// KindDisclosure is the log kind of a model's disclosure version.
const KindDisclosure = "disclosure"

// Limits on a disclosure.
const (
	maxDisclosureName      = 256      // names, versions, user agents
	maxDisclosureContact   = 1024     // contact details
	maxDisclosureNarrative = 16 << 10 // narrative text, in bytes
	maxDisclosureList      = 100      // entries of each list
	maxContentTypes        = 32       // content types of one modality
)

// DateLayout is the layout of the calendar dates a disclosure carries (ISO 8601, YYYY-MM-DD).
const DateLayout = "2006-01-02"

// Modalities of the public summary's template (section 1.3).
var Modalities = []string{"text", "image", "audio", "video", "other"}

// Dependency relations of a model to another (section 1.2 of the template).
var DependencyRelations = []string{"fine_tuned_from", "distilled_from", "merged_from", "other"}

// Party is a provider or its authorised representative: a name and how to reach them.
type Party struct {
	Name    string `json:"name"`
	Contact string `json:"contact"`
}

// Dependency is another general-purpose model this one modifies or fine-tunes. Summary points to
// that model's own public summary, when it has one.
type Dependency struct {
	Name     string `json:"name"`
	Version  string `json:"version,omitempty"`
	Provider string `json:"provider,omitempty"`
	Relation string `json:"relation"`
	Summary  string `json:"summary,omitempty"`
}

// ModalityContent is one modality of the training data and the types of content it holds
// (for text, for example "fiction", "scientific", "code").
type ModalityContent struct {
	Modality     string   `json:"modality"`
	ContentTypes []string `json:"content_types"`
	Description  string   `json:"description,omitempty"`
}

// Crawler is a crawler the provider used to collect training data (section 2.3): its name, what it
// collected for, how it treats robots.txt and other machine-readable opt-outs, and when it ran.
type Crawler struct {
	Name            string `json:"name"`
	UserAgent       string `json:"user_agent,omitempty"`
	Purpose         string `json:"purpose"`
	RobotsTxt       string `json:"robots_txt"`
	OtherOptOuts    string `json:"other_opt_outs"`
	CollectionStart string `json:"collection_start"` // YYYY-MM-DD
	CollectionEnd   string `json:"collection_end"`   // YYYY-MM-DD
	Content         string `json:"content,omitempty"`
}

// NewDisclosure is what a provider states about a model for its public summary: the facts the
// registry cannot derive from its records. Every field is optional at write time; the completeness
// check names what the summary still lacks. Dependencies and Crawlers distinguish "none" (an empty
// list) from "not stated" (absent).
type NewDisclosure struct {
	Provider                 *Party            `json:"provider,omitempty"`
	ProviderEstablishedInEU  *bool             `json:"provider_established_in_eu,omitempty"`
	AuthorisedRepresentative *Party            `json:"authorised_representative,omitempty"`
	MarketPlacementDate      string            `json:"market_placement_date,omitempty"` // YYYY-MM-DD
	Dependencies             *[]Dependency     `json:"dependencies,omitempty"`
	Modalities               []ModalityContent `json:"modalities,omitempty"`
	Crawlers                 *[]Crawler        `json:"crawlers,omitempty"`
	// Narratives of the template's prose sections.
	DataSources    string `json:"data_sources,omitempty"`    // section 2: other sources, in prose
	UserData       string `json:"user_data,omitempty"`       // 2.4
	SyntheticData  string `json:"synthetic_data,omitempty"`  // 2.5
	TDMOptOuts     string `json:"tdm_opt_outs,omitempty"`    // 3.1
	IllegalContent string `json:"illegal_content,omitempty"` // 3.2
	OtherMeasures  string `json:"other_measures,omitempty"`  // 3.3
}

// Disclosure is one stored version of a model's disclosure. Each write makes a new version; the
// versions are numbered 1, 2, … per model and each is logged.
type Disclosure struct {
	ModelID string `json:"model_id"`
	Model   string `json:"model"` // name@version
	Version int    `json:"version"`
	NewDisclosure
	CreatedAt time.Time `json:"created_at"`
	LogIndex  int64     `json:"log_index"`
}

// DisclosureVersion lists one stored version without its content.
type DisclosureVersion struct {
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	LogIndex  int64     `json:"log_index"`
}

// Document returns the stored form of the disclosure's content: its JSON encoding, which the log
// leaf digests.
func (n *NewDisclosure) Document() ([]byte, error) { return json.Marshal(n) }

// Validate checks the disclosure's lengths, dates and enumerations; now bounds the collection
// dates, which cannot lie in the future. All problems are reported.
func (n *NewDisclosure) Validate(now time.Time) error {
	var fe []FieldError
	add := func(field, msg string) { fe = append(fe, FieldError{Field: field, Message: msg}) }
	text := func(field, v string, limit int, required bool) {
		switch {
		case required && strings.TrimSpace(v) == "":
			add(field, "is required")
		case len(v) > limit:
			add(field, "is longer than "+strconv.Itoa(limit)+" bytes")
		case !utf8.ValidString(v):
			add(field, "is not valid UTF-8")
		case strings.IndexByte(v, 0) >= 0:
			add(field, "contains U+0000")
		}
	}
	today := now.UTC().Format(DateLayout)
	date := func(field, v string, required, past bool) {
		if v == "" {
			if required {
				add(field, "is required")
			}
			return
		}
		d, err := time.Parse(DateLayout, v)
		switch {
		case err != nil || d.Format(DateLayout) != v:
			add(field, "must be a date as YYYY-MM-DD")
		case past && v > today:
			add(field, "is in the future")
		}
	}
	party := func(field string, p *Party) {
		if p == nil {
			return
		}
		text(field+"/name", p.Name, maxDisclosureName, true)
		text(field+"/contact", p.Contact, maxDisclosureContact, true)
	}
	list := func(field string, n int) bool {
		if n > maxDisclosureList {
			add(field, "has more than "+strconv.Itoa(maxDisclosureList)+" entries")
			return false
		}
		return true
	}
	party("provider", n.Provider)
	party("authorised_representative", n.AuthorisedRepresentative)
	date("market_placement_date", n.MarketPlacementDate, false, false)
	if n.Dependencies != nil && list("dependencies", len(*n.Dependencies)) {
		for i, d := range *n.Dependencies {
			f := "dependencies/" + strconv.Itoa(i) + "/"
			text(f+"name", d.Name, maxDisclosureName, true)
			text(f+"version", d.Version, maxDisclosureName, false)
			text(f+"provider", d.Provider, maxDisclosureName, false)
			text(f+"summary", d.Summary, maxDisclosureContact, false)
			if !contains(DependencyRelations, d.Relation) {
				add(f+"relation", "must be one of "+strings.Join(DependencyRelations, ", "))
			}
		}
	}
	if list("modalities", len(n.Modalities)) {
		seen := map[string]bool{}
		for i, m := range n.Modalities {
			f := "modalities/" + strconv.Itoa(i) + "/"
			switch {
			case !contains(Modalities, m.Modality):
				add(f+"modality", "must be one of "+strings.Join(Modalities, ", "))
			case seen[m.Modality]:
				add(f+"modality", "is listed twice")
			}
			seen[m.Modality] = true
			if len(m.ContentTypes) > maxContentTypes {
				add(f+"content_types", "has more than "+strconv.Itoa(maxContentTypes)+" entries")
			}
			for j, ct := range m.ContentTypes {
				text(f+"content_types/"+strconv.Itoa(j), ct, maxDisclosureName, true)
			}
			text(f+"description", m.Description, maxDisclosureNarrative, false)
		}
	}
	if n.Crawlers != nil && list("crawlers", len(*n.Crawlers)) {
		for i, c := range *n.Crawlers {
			f := "crawlers/" + strconv.Itoa(i) + "/"
			text(f+"name", c.Name, maxDisclosureName, true)
			text(f+"user_agent", c.UserAgent, maxDisclosureName, false)
			text(f+"purpose", c.Purpose, maxDisclosureNarrative, true)
			text(f+"robots_txt", c.RobotsTxt, maxDisclosureNarrative, true)
			text(f+"other_opt_outs", c.OtherOptOuts, maxDisclosureNarrative, true)
			text(f+"content", c.Content, maxDisclosureNarrative, false)
			date(f+"collection_start", c.CollectionStart, true, true)
			date(f+"collection_end", c.CollectionEnd, true, true)
			if c.CollectionStart != "" && c.CollectionEnd != "" && c.CollectionEnd < c.CollectionStart {
				add(f+"collection_end", "is before collection_start")
			}
		}
	}
	for _, t := range [][2]string{{"data_sources", n.DataSources}, {"user_data", n.UserData},
		{"synthetic_data", n.SyntheticData}, {"tdm_opt_outs", n.TDMOptOuts},
		{"illegal_content", n.IllegalContent}, {"other_measures", n.OtherMeasures}} {
		text(t[0], t[1], maxDisclosureNarrative, false)
	}
	if len(fe) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Message: fe[0].Field + ": " + fe[0].Message, Fields: fe}
}

// DisclosureLeaf returns the log leaf of a disclosure version: the model, the version and a digest
// of its content, re-encoded from the stored fields, so that an edit of any of them is found.
func DisclosureLeaf(d *Disclosure) ([]byte, error) {
	doc, err := d.Document()
	if err != nil {
		return nil, err
	}
	return ledger.Leaf(KindDisclosure, DisclosureLeafID(d.ModelID, d.Version), map[string]string{
		"model_id": d.ModelID, "version": strconv.Itoa(d.Version), "document": digest(string(doc)),
	}, d.CreatedAt)
}

// DisclosureLeafID is the record id of a disclosure version in the log: "model id@version".
func DisclosureLeafID(modelID string, version int) string {
	return modelID + "@" + strconv.Itoa(version)
}

// ParseDisclosureLeafID splits a disclosure's record id; ok is false when it is not one.
func ParseDisclosureLeafID(id string) (modelID string, version int, ok bool) {
	m, v, found := strings.Cut(id, "@")
	n, err := strconv.Atoi(v)
	if !found || err != nil || n < 1 || strconv.Itoa(n) != v || !ValidID(m) {
		return "", 0, false
	}
	return m, n, true
}

// DisclosureStore reads stored disclosures. Errors: ENOTFOUND for a model without one, or without
// the version asked for.
type DisclosureStore interface {
	// GetDisclosure reads one version of a model's disclosure (by model id); version 0 is the latest.
	GetDisclosure(ctx context.Context, modelID string, version int) (*Disclosure, error)
	// ListDisclosureVersions lists a model's disclosure versions, oldest first.
	ListDisclosureVersions(ctx context.Context, modelID string) ([]DisclosureVersion, error)
	// ListDisclosures lists every stored version of every model's disclosure after the cursor (model
	// id, version), for the record walks of the audits.
	ListDisclosures(ctx context.Context, afterModel string, afterVersion, limit int) ([]*Disclosure, error)
}

// DisclosureTx is the part of a store's write transaction that writes disclosures.
type DisclosureTx interface {
	// LatestDisclosure reads the newest version of a model's disclosure, or nil.
	LatestDisclosure(ctx context.Context, modelID string) (*Disclosure, error)
	// WriteDisclosure stores a new version, setting LogIndex.
	WriteDisclosure(ctx context.Context, d *Disclosure) error
}

// WriteDisclosure stores a new version of a model's disclosure, numbered after the latest. A write
// equal to the latest version writes nothing and returns it with created false, so that repeating a
// PUT is harmless. The model must exist (ENOTFOUND).
func WriteDisclosure(ctx context.Context, w Writer, modelRef string, in *NewDisclosure, now time.Time) (d *Disclosure, created bool, err error) {
	doc, err := in.Document()
	if err != nil {
		return nil, false, err
	}
	err = w.Write(ctx, func(tx Tx) error {
		dtx, ok := tx.(DisclosureTx)
		if !ok {
			return Errorf(EINTERNAL, "this store does not keep disclosures")
		}
		m, err := tx.GetModel(ctx, modelRef)
		if err != nil {
			return err
		}
		latest, err := dtx.LatestDisclosure(ctx, m.ID)
		if err != nil {
			return err
		}
		next := 1
		if latest != nil {
			prev, err := latest.Document()
			if err != nil {
				return err
			}
			if string(prev) == string(doc) {
				d = latest
				return nil
			}
			next = latest.Version + 1
		}
		d = &Disclosure{ModelID: m.ID, Model: m.Ref(), Version: next, NewDisclosure: *in, CreatedAt: now.UTC().Truncate(time.Millisecond)}
		created = true
		return dtx.WriteDisclosure(ctx, d)
	})
	if err != nil {
		return nil, false, err
	}
	return d, created, nil
}
