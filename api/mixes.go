package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/pedigreeml/pedigree/mixer"
	"github.com/pedigreeml/pedigree/registry"
)

// dryRunResult is what a dry run answers: the decision and the mix that would be built, unsaved.
type dryRunResult struct {
	DryRun         bool                 `json:"dry_run"`
	Allowed        bool                 `json:"allowed"`
	Violations     []string             `json:"violations"`
	Policy         registry.PolicyRef   `json:"policy"`
	Size           int                  `json:"size"`
	Strategy       registry.MixStrategy `json:"strategy"`
	Stats          registry.MixStats    `json:"stats"`
	ManifestSHA256 string               `json:"manifest_sha256,omitempty"`
}

func (s *Server) createMix(c echo.Context) error {
	q, err := newQuery(c, "dry_run")
	if err != nil {
		return err
	}
	dry := q.oneOf("dry_run", "false", "true", "false") == "true"
	if err := q.done(); err != nil {
		return err
	}
	return s.buildMix(c, dry)
}

func (s *Server) dryRunMix(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	return s.buildMix(c, true)
}

func (s *Server) buildMix(c echo.Context, dry bool) error {
	body, _, err := readBody(c, s.cfg.MaxBodyBytes, typesJSON)
	if err != nil {
		return err
	}
	var req registry.MixRequest
	if err := decodeStrict(body, &req, ""); err != nil {
		return err
	}
	ctx := c.Request().Context()
	var idem *registry.Idempotency
	if !dry {
		if idem, err = idempotency(c, body); err != nil {
			return err
		}
		if idem != nil {
			prev, err := s.store.Idempotent(ctx, idem.Scope, idem.Key)
			if err != nil {
				return err
			}
			if prev != nil {
				if prev.RequestSHA256 != idem.RequestSHA256 || len(prev.IDs) == 0 {
					return registry.Errorf(registry.EUNPROCESSABLE, "the Idempotency-Key %q was already used with a different request", idem.Key)
				}
				return s.replayMix(c, prev.IDs)
			}
		}
	}
	start := time.Now()
	res, err := s.builder.Build(ctx, req, dry, idem)
	var decision *registry.Decision
	if res != nil {
		decision = res.Decision
	}
	s.metrics.mixBuilt(decision, dry, err, time.Since(start))
	if err != nil {
		return err
	}
	if dry {
		out := dryRunResult{DryRun: true, Allowed: res.Decision.Allowed, Violations: res.Decision.Violations,
			Policy: res.Decision.Policy, Size: res.Size, Strategy: req.Strategy}
		var summary mixer.Summary
		if err := json.Unmarshal(res.Decision.Input, &summary); err == nil {
			out.Size, out.Stats, out.Strategy = summary.Size, summary.Stats, summary.Strategy
		}
		if res.Mix != nil {
			out.ManifestSHA256 = res.Mix.ManifestSHA256
		}
		return c.JSON(http.StatusOK, out)
	}
	if s.lineage != nil {
		s.lineage.MixRecorded(res.Decision, res.Mix)
	}
	if res.Mix == nil {
		return refused(res.Decision)
	}
	return c.JSON(http.StatusCreated, res.Mix)
}

// refused is the 422 of a mix the policy refused, naming its stored decision.
func refused(d *registry.Decision) error {
	msg := "the policy refused the mix"
	if len(d.Violations) > 0 {
		msg += ": " + d.Violations[0]
	}
	return &registry.Error{Code: registry.EPOLICYDENIED, Message: msg, Violations: d.Violations, DecisionID: d.ID}
}

// replayMix answers an idempotent replay: ids are the decision's and, if it allowed, the mix's.
func (s *Server) replayMix(c echo.Context, ids []string) error {
	ctx := c.Request().Context()
	if len(ids) == 2 {
		m, err := s.store.GetMix(ctx, ids[1])
		if err != nil {
			return err
		}
		return c.JSON(http.StatusCreated, m)
	}
	d, err := s.store.GetDecision(ctx, ids[0])
	if err != nil {
		return err
	}
	return refused(d)
}

func (s *Server) getMix(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	m, err := s.store.GetMix(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, m)
}

func (s *Server) listMixes(c echo.Context) error {
	return listByCursor(c, "mixes", s.store.ListMixes, func(m *registry.Mix) string { return m.ID })
}

func (s *Server) getDecision(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	d, err := s.store.GetDecision(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

// composition is a mix's lineage summary: where its samples come from.
type composition struct {
	MixID       string            `json:"mix_id"`
	Size        int               `json:"size"`
	Origins     map[string]int    `json:"origins"`
	Generations map[string]int    `json:"generations"`
	Datasets    map[string]int    `json:"datasets"`
	SourceKinds map[string]int    `json:"source_kinds"`
	Licenses    map[string]int    `json:"licenses"`
	Models      []compositionItem `json:"models"`
}

type compositionItem struct {
	Model           string   `json:"model"`
	Samples         int      `json:"samples"`
	Generation      int      `json:"generation"`
	GenerationBasis string   `json:"generation_basis"`
	TrainedOn       []string `json:"trained_on"`
}

func (s *Server) mixLineage(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	ctx := c.Request().Context()
	m, err := s.store.GetMix(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	out := composition{MixID: m.ID, Size: m.Size, Generations: m.Stats.Generations, Datasets: m.Stats.Datasets,
		SourceKinds: m.Stats.SourceKinds, Licenses: m.Stats.Licenses,
		Origins: map[string]int{registry.OriginHuman: m.Stats.Human, registry.OriginModel: m.Stats.Synthetic},
		Models:  []compositionItem{}}
	for _, ref := range sortedKeys(m.Stats.Models) {
		model, err := s.store.GetModel(ctx, ref)
		if err != nil {
			return err
		}
		out.Models = append(out.Models, compositionItem{Model: ref, Samples: m.Stats.Models[ref], Generation: model.Generation,
			GenerationBasis: model.GenerationBasis, TrainedOn: model.TrainedOn})
	}
	return c.JSON(http.StatusOK, out)
}
