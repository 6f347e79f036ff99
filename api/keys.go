package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/pedigreeml/pedigree/registry"
)

// newKeyRequest is the body of POST /v1/keys.
type newKeyRequest struct {
	Role string `json:"role"`
}

// createdKey is a new key with its secret, shown once.
type createdKey struct {
	*registry.APIKey
	Key string `json:"key"`
}

func (s *Server) createKey(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	body, _, err := readBody(c, s.cfg.MaxBodyBytes, typesJSON)
	if err != nil {
		return err
	}
	var in newKeyRequest
	if err := decodeStrict(body, &in, ""); err != nil {
		return err
	}
	key, rec, err := s.svc.CreateKey(c.Request().Context(), in.Role)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, createdKey{APIKey: rec, Key: key})
}

func (s *Server) listKeys(c echo.Context) error {
	return listByCursor(c, "keys", s.store.ListKeys, func(k *registry.APIKey) string { return k.ID })
}

func (s *Server) revokeKey(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	id := c.Param("id")
	if !registry.ValidID(id) {
		return registry.Errorf(registry.ENOTFOUND, "key %s not found", id)
	}
	if id == caller(c).ID {
		return registry.Errorf(registry.ECONFLICT, "a key cannot revoke itself; use another admin key")
	}
	k, err := s.svc.RevokeKey(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, k)
}
