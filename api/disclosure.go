package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/pedigreeml/pedigree/registry"
)

// disclosureResponse is a disclosure version with the list of every version of the model's
// disclosure, oldest first.
type disclosureResponse struct {
	*registry.Disclosure
	Versions []registry.DisclosureVersion `json:"versions"`
}

// putDisclosure stores a new version of a model's disclosure (201), or answers 200 with the latest
// version when the body states exactly what it does.
func (s *Server) putDisclosure(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	ref, err := pathParam(c, "id")
	if err != nil {
		return err
	}
	body, _, err := readBody(c, s.cfg.MaxBodyBytes, typesJSON)
	if err != nil {
		return err
	}
	var in registry.NewDisclosure
	if err := decodeStrict(body, &in, ""); err != nil {
		return err
	}
	now := time.Now()
	if err := in.Validate(now); err != nil {
		return err
	}
	ctx := c.Request().Context()
	// The model is read through the checked store first, so that a disclosure is only ever filed
	// under a model whose record the log vouches for.
	m, err := s.store.GetModel(ctx, ref)
	if err != nil {
		return err
	}
	d, created, err := registry.WriteDisclosure(ctx, s.store, m.ID, &in, now)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if !created {
		status = http.StatusOK
	}
	return s.writeDisclosure(c, status, d)
}

// getDisclosure answers the latest version of a model's disclosure, with the list of its versions.
func (s *Server) getDisclosure(c echo.Context) error {
	return s.readDisclosure(c, 0)
}

// getDisclosureVersion answers one version of a model's disclosure.
func (s *Server) getDisclosureVersion(c echo.Context) error {
	v, err := pathParam(c, "version")
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || strconv.Itoa(n) != v {
		return registry.FieldErrorf("version", "must be a positive integer")
	}
	return s.readDisclosure(c, n)
}

func (s *Server) readDisclosure(c echo.Context, version int) error {
	if err := noQuery(c); err != nil {
		return err
	}
	ref, err := pathParam(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	m, err := s.store.GetModel(ctx, ref)
	if err != nil {
		return err
	}
	d, err := s.store.GetDisclosure(ctx, m.ID, version)
	if err != nil {
		return err
	}
	return s.writeDisclosure(c, http.StatusOK, d)
}

func (s *Server) writeDisclosure(c echo.Context, status int, d *registry.Disclosure) error {
	versions, err := s.store.ListDisclosureVersions(c.Request().Context(), d.ModelID)
	if err != nil {
		return err
	}
	return c.JSON(status, disclosureResponse{Disclosure: d, Versions: versions})
}
