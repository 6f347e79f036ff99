package api

import (
	"math"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/pedigreeml/pedigree/registry"
)

// maxModuleBody bounds a policy upload; the policy package refuses modules over 64 KiB with a clear
// message, so the body limit sits a little above it.
const maxModuleBody = 128 << 10

// putPolicy stores a new version of a policy: the body is the Rego module text.
func (s *Server) putPolicy(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	body, _, err := readBody(c, maxModuleBody, typesRego)
	if err != nil {
		return err
	}
	pv, created, err := s.policies.Put(c.Request().Context(), c.Param("name"), string(body))
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if !created {
		status = http.StatusOK
	}
	return c.JSON(status, pv)
}

// policySummary is a version without its module text, for listings.
func policySummary(p *registry.PolicyVersion) *registry.PolicyVersion {
	cp := *p
	cp.Module = ""
	return &cp
}

func (s *Server) listPolicies(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	list, err := s.store.ListPolicyVersions(c.Request().Context(), "", 0, maxLimit)
	if err != nil {
		return err
	}
	out := make([]*registry.PolicyVersion, 0, len(list))
	for _, p := range list {
		out = append(out, policySummary(p))
	}
	return c.JSON(http.StatusOK, map[string]any{"policies": out})
}

// getPolicy returns the latest version of a policy, with its module, and the list of its versions.
func (s *Server) getPolicy(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	ctx := c.Request().Context()
	latest, err := s.store.GetPolicyVersion(ctx, c.Param("name"), 0)
	if err != nil {
		return err
	}
	versions, err := s.store.ListPolicyVersions(ctx, latest.Name, 0, maxLimit)
	if err != nil {
		return err
	}
	summaries := make([]*registry.PolicyVersion, 0, len(versions))
	for _, v := range versions {
		summaries = append(summaries, policySummary(v))
	}
	return c.JSON(http.StatusOK, map[string]any{"name": latest.Name, "latest": latest, "versions": summaries})
}

func (s *Server) getPolicyVersion(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	n, ok := decimal(c.Param("version"))
	if !ok {
		return registry.FieldErrorf("version", "must be a version number in decimal digits without a sign or leading zeros (1, 2, …), not %q", c.Param("version"))
	}
	if n < 1 || n > math.MaxInt32 {
		return registry.Errorf(registry.ENOTFOUND, "policy version %s not found: versions are 1, 2, …", c.Param("version"))
	}
	pv, err := s.store.GetPolicyVersion(c.Request().Context(), c.Param("name"), int(n))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, pv)
}
