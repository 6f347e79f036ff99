package api

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/pedigreeml/pedigree/console"
	"github.com/pedigreeml/pedigree/registry"
)

// toConsole redirects / and /ui to the console's index, /ui/.
func (s *Server) toConsole(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	return c.Redirect(http.StatusFound, "/ui/")
}

// consoleAsset serves one embedded file of the console: the index at /ui/, the rest by name. The
// pages hold no data, so they are served without a key; everything they show comes from the API
// with the key the user signs in with.
func (s *Server) consoleAsset(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err // the pages route by fragment, never by query
	}
	name := strings.TrimPrefix(c.Request().URL.Path, "/ui/")
	a, ok := console.Lookup(name)
	if !ok {
		return registry.Errorf(registry.ENOTFOUND, "the console has no file %q", name)
	}
	h := c.Response().Header()
	for k, v := range console.SecurityHeaders {
		h.Set(k, v)
	}
	h.Set("ETag", a.ETag)
	if match := c.Request().Header.Get("If-None-Match"); match != "" && strings.Contains(match, a.ETag) {
		return c.NoContent(http.StatusNotModified)
	}
	return c.Blob(http.StatusOK, a.ContentType, a.Body)
}

// listDecisions lists policy decisions in the order they were made: all, or with allowed=true or
// allowed=false only those allowed or refused.
func (s *Server) listDecisions(c echo.Context) error {
	q, err := newQuery(c, "allowed", "cursor", "limit")
	if err != nil {
		return err
	}
	f := registry.DecisionFilter{Limit: q.intOr("limit", defaultLimit, 1, maxLimit)}
	switch q.oneOf("allowed", "", "true", "false") {
	case "true":
		f.Allowed = new(true)
	case "false":
		f.Allowed = new(false)
	}
	if err := q.done(); err != nil {
		return err
	}
	if f.After, err = cursor(q); err != nil {
		return err
	}
	limit := f.Limit
	f.Limit++ // one more, to know whether there is a next page
	ds, err := s.store.ListDecisions(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page("decisions", ds, limit, func(d *registry.Decision) string { return d.ID }))
}
