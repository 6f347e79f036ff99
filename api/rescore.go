package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/pedigreeml/pedigree/registry"
)

// rescore is POST /v1/admin/rescore: one page of re-scoring with the registry's current scorer
// (registry.Service.Rescore). The body is a JSON object; {} re-scores the first page.
func (s *Server) rescore(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	body, _, err := readBody(c, s.cfg.MaxBodyBytes, typesJSON)
	if err != nil {
		return err
	}
	var in registry.RescoreRequest
	if err := decodeStrict(body, &in, ""); err != nil {
		return err
	}
	res, err := s.svc.Rescore(c.Request().Context(), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}
