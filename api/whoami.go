package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// whoami returns the calling key's record (id, role, creation; never its secret), so that a client
// such as the console can offer only what the key's role may do.
func (s *Server) whoami(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, caller(c))
}
