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

// listDecisions lists policy decisions, allowed and refused, in the order they were made.
func (s *Server) listDecisions(c echo.Context) error {
	return listByCursor(c, "decisions", s.store.ListDecisions, func(d *registry.Decision) string { return d.ID })
}
