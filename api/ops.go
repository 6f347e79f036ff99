package api

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// status is the body of /healthz and /readyz.
type status struct {
	Status string `json:"status"`
}

// healthz says the process serves HTTP; it checks nothing else.
func (s *Server) healthz(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, status{Status: "ok"})
}

// readyz says the database answers and the tamper-evident log has passed its checks.
func (s *Server) readyz(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.Warn("readiness check failed", "err", err)
		return registry.Errorf(registry.EUNAVAILABLE, "the database does not answer")
	}
	if s.ledger != nil {
		if err := s.ledger.Healthy(); err != nil {
			s.log.Warn("readiness check failed", "err", err)
			return registry.Errorf(registry.EUNAVAILABLE, "the tamper-evident log failed a check (see the server log)")
		}
	}
	return c.JSON(http.StatusOK, status{Status: "ready"})
}

func (s *Server) openapi(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "application/yaml", s.spec)
}

func metricsHandler(reg *prometheus.Registry) echo.HandlerFunc {
	h := echo.WrapHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	return func(c echo.Context) error {
		if err := noQuery(c); err != nil {
			return err
		}
		return h(c)
	}
}
