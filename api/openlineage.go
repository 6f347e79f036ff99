package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/pedigreeml/pedigree/openlineage"
	"github.com/pedigreeml/pedigree/registry"
)

// LineageSink is told of each mix decision and model the API records (openlineage.Publisher is
// one). It must not block: it is called on the request's path, after the record is stored.
type LineageSink interface {
	// MixRecorded is called with a stored decision and the mix it allowed, or nil for a refusal.
	MixRecorded(d *registry.Decision, m *registry.Mix)
	// ModelRegistered is called with a newly registered model.
	ModelRegistered(m *registry.Model)
}

// lineageEvents is the answer of the OpenLineage routes: one run's events, in order.
type lineageEvents struct {
	Events []openlineage.RunEvent `json:"events"`
}

// mixOpenLineage answers the OpenLineage run of a mix's build (START, COMPLETE), from the stored mix
// and its decision: the same events the publisher sent when the mix was built.
func (s *Server) mixOpenLineage(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	ctx := c.Request().Context()
	m, err := s.store.GetMix(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	d, err := s.store.GetDecision(ctx, m.DecisionID)
	if err != nil {
		return err
	}
	return s.lineageRun(c, d, m)
}

// decisionOpenLineage answers the OpenLineage run of a mix decision: START and COMPLETE with the mix
// it allowed, or START and FAIL for a refusal, which has no mix id.
func (s *Server) decisionOpenLineage(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	ctx := c.Request().Context()
	d, err := s.store.GetDecision(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	var m *registry.Mix
	if d.Allowed {
		if m, err = s.store.GetMix(ctx, d.MixID); err != nil {
			return err
		}
	}
	return s.lineageRun(c, d, m)
}

func (s *Server) lineageRun(c echo.Context, d *registry.Decision, m *registry.Mix) error {
	events, err := s.olConfig.MixEvents(d, m)
	if err != nil {
		return err // inconsistent stored records: a 500, logged
	}
	return c.JSON(http.StatusOK, lineageEvents{Events: events})
}

// modelOpenLineage answers the OpenLineage run that links a model to the mixes it was trained on
// (START, COMPLETE), from the stored model: the events the publisher sent when it was registered. A
// model without trained_on has no run: the list is empty.
func (s *Server) modelOpenLineage(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	ref, err := pathParam(c, "id")
	if err != nil {
		return err
	}
	m, err := s.store.GetModel(c.Request().Context(), ref)
	if err != nil {
		return err
	}
	events := s.olConfig.ModelEvents(m)
	if events == nil {
		events = []openlineage.RunEvent{}
	}
	return c.JSON(http.StatusOK, lineageEvents{Events: events})
}
