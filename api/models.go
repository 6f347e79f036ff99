package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/pedigreeml/pedigree/registry"
)

func (s *Server) createModel(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	body, _, err := readBody(c, s.cfg.MaxBodyBytes, typesJSON)
	if err != nil {
		return err
	}
	var in registry.NewModel
	if err := decodeStrict(body, &in, ""); err != nil {
		return err
	}
	idem, err := idempotency(c, body)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if idem != nil {
		prev, err := s.store.Idempotent(ctx, idem.Scope, idem.Key)
		if err != nil {
			return err
		}
		if prev != nil {
			if prev.RequestSHA256 != idem.RequestSHA256 || len(prev.IDs) != 1 {
				return registry.Errorf(registry.EUNPROCESSABLE, "the Idempotency-Key %q was already used with a different request", idem.Key)
			}
			m, err := s.store.GetModel(ctx, prev.IDs[0])
			if err != nil {
				return err
			}
			return c.JSON(http.StatusCreated, m)
		}
	}
	m, err := s.svc.CreateModel(ctx, &in, idem)
	if err != nil {
		return err
	}
	if s.lineage != nil {
		s.lineage.ModelRegistered(m)
	}
	return c.JSON(http.StatusCreated, m)
}

func (s *Server) getModel(c echo.Context) error {
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
	return c.JSON(http.StatusOK, m)
}

func (s *Server) listModels(c echo.Context) error {
	return listByCursor(c, "models", s.store.ListModels, func(m *registry.Model) string { return m.ID })
}
