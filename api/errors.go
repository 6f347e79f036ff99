package api

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/pedigreeml/pedigree/registry"
)

// Problem is an RFC 9457 problem details object, with the registry's extensions.
type Problem struct {
	Type       string                `json:"type"`
	Title      string                `json:"title"`
	Status     int                   `json:"status"`
	Detail     string                `json:"detail,omitempty"`
	Code       string                `json:"code"`
	RequestID  string                `json:"request_id,omitempty"`
	Errors     []registry.FieldError `json:"errors,omitempty"`
	Violations []string              `json:"violations,omitempty"`
	DecisionID string                `json:"decision_id,omitempty"`
	Existing   string                `json:"existing,omitempty"`
	// NearDuplicateOf and Similarity name the model sample that refused human text near-duplicates.
	NearDuplicateOf string   `json:"near_duplicate_of,omitempty"`
	Similarity      *float64 `json:"similarity,omitempty"`
}

// Problem codes that are HTTP's alone, not the domain's: a method the path does not take, a request
// target over the length limit, and a body whose media type or encoding the route does not take.
const (
	codeMethodNotAllowed     = "method_not_allowed"
	codeURITooLong           = "uri_too_long"
	codeUnsupportedMediaType = "unsupported_media_type"
	codeRateLimited          = "rate_limited"
)

// problemTypeBase prefixes each problem type URI; the code completes it.
const problemTypeBase = "https://pedigree.dev/problems/"

var statusOf = map[string]int{
	registry.EINVALID:            http.StatusBadRequest,
	registry.EUNPROCESSABLE:      http.StatusUnprocessableEntity,
	registry.ENOTFOUND:           http.StatusNotFound,
	registry.ECONFLICT:           http.StatusConflict,
	registry.EPROVENANCECONFLICT: http.StatusConflict,
	registry.EUNAUTHORIZED:       http.StatusUnauthorized,
	registry.EFORBIDDEN:          http.StatusForbidden,
	registry.EPOLICYDENIED:       http.StatusUnprocessableEntity,
	registry.ETOOLARGE:           http.StatusRequestEntityTooLarge,
	registry.EUNAVAILABLE:        http.StatusServiceUnavailable,
	registry.EINTERNAL:           http.StatusInternalServerError,
}

// codeOfStatus maps the statuses of echo's own errors (routing, method, body limit) and of the API's
// HTTP-level refusals (request target length, media type) to codes.
func codeOfStatus(status int) string {
	switch status {
	case http.StatusRequestURITooLong:
		return codeURITooLong
	case http.StatusUnsupportedMediaType:
		return codeUnsupportedMediaType
	case http.StatusTooManyRequests:
		return codeRateLimited
	case http.StatusNotFound:
		return registry.ENOTFOUND
	case http.StatusRequestEntityTooLarge:
		return registry.ETOOLARGE
	case http.StatusUnauthorized:
		return registry.EUNAUTHORIZED
	case http.StatusForbidden:
		return registry.EFORBIDDEN
	case http.StatusServiceUnavailable:
		return registry.EUNAVAILABLE
	}
	if status >= 500 {
		return registry.EINTERNAL
	}
	return registry.EINVALID
}

// errorHandler writes every error as application/problem+json. It unwraps registry errors with
// errors.As (echo's default handler does not), maps echo's own errors (unknown route, wrong method),
// and never shows a client the text of an internal error: that goes to the log with the request id.
func errorHandler(logger *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		rid := c.Response().Header().Get(echo.HeaderXRequestID)
		p := Problem{RequestID: rid}
		var re *registry.Error
		var he *echo.HTTPError
		switch {
		case errors.As(err, &re) && re.Code != registry.EINTERNAL:
			p.Code, p.Detail = re.Code, re.Message
			p.Errors, p.Violations, p.DecisionID, p.Existing = re.Fields, re.Violations, re.DecisionID, re.Existing
			if re.NearDuplicateOf != "" {
				sim := re.Similarity
				p.NearDuplicateOf, p.Similarity = re.NearDuplicateOf, &sim
			}
			p.Status = statusOf[re.Code]
		case errors.As(err, &he) && he.Code < 500:
			p.Status, p.Code = he.Code, codeOfStatus(he.Code)
			if msg, ok := he.Message.(string); ok {
				p.Detail = msg
			} else {
				p.Detail = http.StatusText(he.Code)
			}
			if he.Code == http.StatusMethodNotAllowed {
				p.Code, p.Detail = codeMethodNotAllowed, "method not allowed on this path"
			}
		default:
			p.Status, p.Code, p.Detail = http.StatusInternalServerError, registry.EINTERNAL, "internal error (request id "+rid+")"
			logger.ErrorContext(c.Request().Context(), "internal error", "request_id", rid, "method", c.Request().Method,
				"path", c.Request().URL.Path, "err", err)
		}
		if p.Status == 0 {
			p.Status = http.StatusInternalServerError
		}
		p.Type = problemTypeBase + p.Code
		p.Title = http.StatusText(p.Status)
		if c.Request().Method == http.MethodHead {
			c.NoContent(p.Status)
			return
		}
		writeJSON(c, p.Status, "application/problem+json", p)
	}
}
