package api

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/report"
)

// euAIActReport renders the public summary of training content for a model (?model=id or
// name@version, through the mixes it was trained on) or one mix (?mix=id). Accept picks the format:
// text/html, text/markdown, or JSON (the default).
func (s *Server) euAIActReport(c echo.Context) error {
	q, err := newQuery(c, "model", "mix")
	if err != nil {
		return err
	}
	modelRef, mixID := q.str("model"), q.str("mix")
	if (modelRef == "") == (mixID == "") {
		return registry.Errorf(registry.EINVALID, "give exactly one of model or mix")
	}
	ctx := c.Request().Context()
	subject, err := s.reportSubject(ctx, modelRef, mixID)
	if err != nil {
		return err
	}
	rep, err := report.Build(*subject)
	if err != nil {
		return err
	}
	accept := c.Request().Header.Get(echo.HeaderAccept)
	switch {
	case strings.Contains(accept, "text/html"):
		return c.Blob(http.StatusOK, "text/html; charset=utf-8", rep.HTML())
	case strings.Contains(accept, "text/markdown"):
		return c.Blob(http.StatusOK, "text/markdown; charset=utf-8", rep.Markdown())
	}
	b, err := rep.JSON()
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, b)
}

// reportSubject gathers what the summary is built from. The checkpoint is signed last, so that it
// covers every record the report cites.
func (s *Server) reportSubject(ctx context.Context, modelRef, mixID string) (*report.Subject, error) {
	subj := &report.Subject{GeneratedAt: time.Now().UTC().Truncate(time.Millisecond)}
	ids := []string{mixID}
	if modelRef != "" {
		m, err := s.store.GetModel(ctx, modelRef)
		if err != nil {
			return nil, err
		}
		subj.Model, ids = m, m.TrainedOn
		d, err := s.store.GetDisclosure(ctx, m.ID, 0)
		switch {
		case err == nil:
			subj.Disclosure = d
		case registry.ErrorCode(err) != registry.ENOTFOUND:
			return nil, err
		}
	}
	// Every mix's samples, proven against the log as they stream, each counted once.
	subj.Corpus = report.NewCorpus(report.DetectLanguage, report.DetectSamples)
	policies := map[registry.PolicyRef]bool{}
	generators := map[string]bool{}
	for _, id := range ids {
		m, err := s.store.GetMix(ctx, id)
		if err != nil {
			return nil, err
		}
		subj.Mixes = append(subj.Mixes, m)
		if err := s.store.ExportMix(ctx, m.ID, func(smp *registry.Sample) error {
			subj.Corpus.Add(smp)
			return nil
		}); err != nil {
			return nil, err
		}
		if !policies[m.Policy] {
			policies[m.Policy] = true
			pv, err := s.store.GetPolicyVersion(ctx, m.Policy.Name, m.Policy.Version)
			if err != nil {
				return nil, err
			}
			subj.Policies = append(subj.Policies, pv)
		}
		d, err := s.store.GetDecision(ctx, m.DecisionID)
		if err != nil {
			return nil, err
		}
		subj.Decisions = append(subj.Decisions, d)
		for ref := range m.Stats.Models {
			generators[ref] = true
		}
	}
	refs := make([]string, 0, len(generators))
	for ref := range generators {
		refs = append(refs, ref)
	}
	sort.Strings(refs)
	for _, ref := range refs {
		g, err := s.store.GetModel(ctx, ref)
		if err != nil {
			return nil, err
		}
		subj.Generators = append(subj.Generators, g)
	}
	note, tree, err := s.ledger.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	subj.Checkpoint = report.Checkpoint{Origin: s.ledger.Origin(), Size: tree.N, RootHash: tree.Hash.String(), Note: string(note)}
	return subj, nil
}

// completenessResponse lists what a model's public summary still lacks.
type completenessResponse struct {
	Model             string           `json:"model"` // name@version
	ModelID           string           `json:"model_id"`
	DisclosureVersion *int             `json:"disclosure_version"`
	Publishable       bool             `json:"publishable"`
	Missing           []report.Missing `json:"missing"`
}

// euAIActCompleteness checks a model's summary (?model=id or name@version): every field the
// template requires that is still missing, and whether the summary can be published.
func (s *Server) euAIActCompleteness(c echo.Context) error {
	q, err := newQuery(c, "model")
	if err != nil {
		return err
	}
	ref := q.str("model")
	if ref == "" {
		return registry.FieldErrorf("model", "is required")
	}
	subject, err := s.reportSubject(c.Request().Context(), ref, "")
	if err != nil {
		return err
	}
	rep, err := report.Build(*subject)
	if err != nil {
		return err
	}
	out := completenessResponse{Model: subject.Model.Ref(), ModelID: subject.Model.ID,
		Publishable: rep.Completeness.Publishable, Missing: rep.Completeness.Missing}
	if d := subject.Disclosure; d != nil {
		out.DisclosureVersion = &d.Version
	}
	return c.JSON(http.StatusOK, out)
}
