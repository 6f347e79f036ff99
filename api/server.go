// Package api is Pedigree's REST API: the only package that imports echo. routes.go lists every
// route; handlers decode strictly, call the domain, and return errors for errorHandler to render as
// RFC 9457 problems.
package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/pedigreeml/pedigree/ledger"
	"github.com/pedigreeml/pedigree/mixer"
	"github.com/pedigreeml/pedigree/openlineage"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/prometheus/client_golang/prometheus"
)

// Config holds the API's limits.
type Config struct {
	MaxBodyBytes  int64 // any request body but a batch; default 8 MiB
	MaxBatchBytes int64 // a batch body; default 256 MiB
	MaxURIBytes   int   // the request target, path and query; default 8 KiB
	// TrustedProxies are the addresses of reverse proxies whose X-Forwarded-For the request log
	// believes for the client's address; with none, it logs the connection's peer address.
	TrustedProxies []*net.IPNet
}

// Deps are what the API serves from.
type Deps struct {
	Store    registry.Store
	Builder  *mixer.Builder
	Policies *mixer.Policies
	Log      *ledger.Log
	Service  *registry.Service
	Logger   *slog.Logger
	Registry *prometheus.Registry // where the API registers its metrics; a new one if nil
	Spec     []byte               // the OpenAPI document served at /openapi.yaml
	Metrics  *Metrics             // the series the API feeds; NewMetrics(Registry) if nil
	Limits   RateLimits           // per-key request-rate limits; none if zero

	// OpenLineage names the namespace and producer of the events GET /v1/mixes/{id}/openlineage
	// answers; Lineage, if not nil, is told of every mix decision and model the API records, to
	// publish the same events.
	OpenLineage openlineage.Config
	Lineage     LineageSink
}

// Server is the HTTP API.
type Server struct {
	cfg      Config
	store    registry.Store
	builder  *mixer.Builder
	policies *mixer.Policies
	ledger   *ledger.Log
	svc      *registry.Service
	log      *slog.Logger
	metrics  *Metrics
	limiter  *rateLimiter
	spec     []byte
	echo     *echo.Echo
	olConfig openlineage.Config
	lineage  LineageSink
}

// New builds the API handler.
func New(cfg Config, d Deps) *Server {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 8 << 20
	}
	if cfg.MaxBatchBytes <= 0 {
		cfg.MaxBatchBytes = 256 << 20
	}
	if cfg.MaxURIBytes <= 0 {
		cfg.MaxURIBytes = 8 << 10
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	if d.Metrics == nil {
		d.Metrics = NewMetrics(d.Registry)
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(d.Logger)
	e.IPExtractor = clientIP(cfg.TrustedProxies)
	s := &Server{cfg: cfg, store: d.Store, builder: d.Builder, policies: d.Policies, ledger: d.Log, svc: d.Service, log: d.Logger, spec: d.Spec, echo: e,
		olConfig: d.OpenLineage, lineage: d.Lineage,
		metrics: d.Metrics}
	s.limiter = newRateLimiter(d.Limits, d.Metrics)
	e.Use(middleware.RequestIDWithConfig(middleware.RequestIDConfig{}))
	e.Use(s.observe)
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableErrorHandler: false, LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
		d.Logger.Error("panic", "request_id", c.Response().Header().Get(echo.HeaderXRequestID), "err", err, "stack", string(stack))
		return err
	}}))
	e.Use(s.limitURI)
	e.Use(s.failClosed)
	s.routes(d.Registry)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// observe logs each request with its id and records its metrics.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err) // write the problem now, so the status below is the one sent
		}
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		status := c.Response().Status
		elapsed := time.Since(start)
		s.metrics.observe(c.Request().Method, route, status, elapsed)
		s.log.InfoContext(c.Request().Context(), "request", "request_id", c.Response().Header().Get(echo.HeaderXRequestID),
			"method", c.Request().Method, "route", route, "client_ip", c.RealIP(), "status", status, "duration_ms", float64(elapsed.Microseconds())/1000,
			"bytes_in", c.Request().ContentLength, "bytes_out", c.Response().Size)
		return nil
	}
}

// clientIP finds a request's client address: the connection's peer, or, behind the trusted
// proxies, the nearest address in X-Forwarded-For that is not one of them. Echo would otherwise
// believe any X-Forwarded-For (and, by default, any proxy on a private network).
func clientIP(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// limitURI refuses a request whose target (path and query) is longer than the limit with a 414
// problem, before any handler reads it. Go's net/http refuses a request line and headers over
// http.Server.MaxHeaderBytes (1 MiB by default) itself, with a plain-text 431: the limit here is far
// below it, so that an over-long URL gets a problem like every other refusal.
func (s *Server) limitURI(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		target := c.Request().RequestURI
		if target == "" {
			target = c.Request().URL.RequestURI()
		}
		if len(target) > s.cfg.MaxURIBytes {
			return echo.NewHTTPError(http.StatusRequestURITooLong,
				fmt.Sprintf("the request target (path and query) is %d bytes; the limit is %d", len(target), s.cfg.MaxURIBytes))
		}
		return next(c)
	}
}

// failClosed refuses every request but GET, HEAD and OPTIONS with a 503 problem while the
// tamper-evident log reports a failed check (a record or the log found altered): nothing is written
// on top of a registry that may have been tampered with. Reads are still served, so that auditors
// can investigate; what would sign a new checkpoint (the log's and the reports') fails with 503.
func (s *Server) failClosed(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.ledger == nil {
			return next(c)
		}
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			if err := s.ledger.Healthy(); err != nil {
				return registry.Errorf(registry.EUNAVAILABLE, "writes are refused: the tamper-evident log failed a check (see the server log)")
			}
		}
		err := next(c)
		if errors.Is(err, ledger.ErrUnhealthy) {
			return registry.Errorf(registry.EUNAVAILABLE, "the tamper-evident log failed a check; it signs nothing until an operator investigates")
		}
		return err
	}
}

// Route is one registered route, in echo's path syntax (/v1/samples/:id).
type Route struct {
	Method string
	Path   string
}

// Routes lists the registered routes, for the test that keeps routes and openapi.yaml in step.
func (s *Server) Routes() []Route {
	var out []Route
	for _, r := range s.echo.Routes() {
		out = append(out, Route{Method: r.Method, Path: r.Path})
	}
	return out
}
