package api

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/pedigreeml/pedigree/registry"
)

const keyContext = "pedigree.key"

// allow authenticates the bearer key and admits it if its role is one of roles (admin always is). No
// key or an unknown key is 401; a known key of the wrong role is 403. Routes are deny-by-default:
// every /v1 route names its roles.
func (s *Server) allow(roles ...string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Request().Header.Get(echo.HeaderAuthorization)
			scheme, token, ok := strings.Cut(h, " ")
			if h == "" {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="pedigree"`)
				return registry.Errorf(registry.EUNAUTHORIZED, "an API key is required: send Authorization: Bearer <key>")
			}
			if !ok || !strings.EqualFold(scheme, "Bearer") {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="pedigree"`)
				return registry.Errorf(registry.EUNAUTHORIZED, "the Authorization header must be: Bearer <key>")
			}
			key, err := registry.Authenticate(c.Request().Context(), s.store, strings.TrimSpace(token))
			if err != nil {
				if registry.ErrorCode(err) == registry.EUNAUTHORIZED {
					c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="pedigree", error="invalid_token"`)
				}
				return err
			}
			if !registry.Allows(key.Role, roles) {
				allowed := roles
				if !contains(roles, registry.RoleAdmin) {
					allowed = append(append([]string{}, roles...), registry.RoleAdmin)
				}
				return registry.Errorf(registry.EFORBIDDEN, "a key with role %q may not %s %s (allowed: %s)",
					key.Role, c.Request().Method, c.Path(), strings.Join(allowed, ", "))
			}
			c.Set(keyContext, key)
			return next(c)
		}
	}
}

// caller returns the authenticated key of the request.
func caller(c echo.Context) *registry.APIKey {
	k, _ := c.Get(keyContext).(*registry.APIKey)
	return k
}

// maxIdempotencyKey bounds the Idempotency-Key header.
const maxIdempotencyKey = 255

// idempotency returns the request's idempotency identity, or nil without an Idempotency-Key header.
// The scope is the calling key, so two clients never share keys; the request hash covers method, path,
// query and body.
func idempotency(c echo.Context, body []byte) (*registry.Idempotency, error) {
	k := c.Request().Header.Get("Idempotency-Key")
	if k == "" {
		return nil, nil
	}
	if len(k) > maxIdempotencyKey {
		return nil, registry.Errorf(registry.EINVALID, "the Idempotency-Key header is longer than %d bytes", maxIdempotencyKey)
	}
	h := sha256.New()
	h.Write([]byte(c.Request().Method + " " + c.Request().URL.RequestURI() + "\n"))
	h.Write(body)
	return &registry.Idempotency{Scope: caller(c).ID, Key: k, RequestSHA256: hex.EncodeToString(h.Sum(nil))}, nil
}
