package api

import (
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// The media types of request bodies, as each write route in openapi.yaml documents them.
var (
	// typesJSON is what every JSON write route accepts.
	typesJSON = []string{echo.MIMEApplicationJSON}
	// typesJSONLines are the JSON Lines types a batch may be sent as, one sample a line.
	typesJSONLines = []string{"application/x-ndjson", "application/jsonl", "application/x-jsonlines", "application/jsonlines"}
	// typesBatch is what POST /v1/samples/batch accepts.
	typesBatch = append(append([]string{}, typesJSON...), typesJSONLines...)
	// typesRego is what PUT /v1/policies/{name} accepts: the module's text.
	typesRego = []string{"text/plain", "application/octet-stream"}
)

// unsupportedMediaType is the 415 of a body the route cannot take.
func unsupportedMediaType(format string, args ...any) error {
	return echo.NewHTTPError(http.StatusUnsupportedMediaType, fmt.Sprintf(format, args...))
}

// mediaType checks the Content-Type and Content-Encoding of a request with a body against the media
// types the route accepts, and returns the media type. Every body must say what it is: a request
// with a body and no Content-Type is a 415 too (the Go client always sends one), as is a charset
// other than UTF-8, a second Content-Type header, or a compressed body. A request without a body and
// without a Content-Type passes with "", for the decoder to refuse the empty body with a 400.
func mediaType(r *http.Request, accepted []string) (string, error) {
	want := strings.Join(accepted, ", ")
	for _, ce := range r.Header.Values(echo.HeaderContentEncoding) {
		if !strings.EqualFold(strings.TrimSpace(ce), "identity") {
			return "", unsupportedMediaType("Content-Encoding %q is not supported: send the body uncompressed", ce)
		}
	}
	values := r.Header.Values(echo.HeaderContentType)
	switch {
	case len(values) == 0 && r.ContentLength == 0:
		return "", nil
	case len(values) == 0:
		return "", unsupportedMediaType("the request has a body but no Content-Type; send one of %s", want)
	case len(values) > 1:
		return "", unsupportedMediaType("the request has %d Content-Type headers; send one, of %s", len(values), want)
	}
	mt, params, err := mime.ParseMediaType(values[0])
	if err != nil {
		return "", unsupportedMediaType("Content-Type %q is not a media type; send one of %s", values[0], want)
	}
	if !contains(accepted, mt) {
		return "", unsupportedMediaType("Content-Type %q is not accepted here; send one of %s", mt, want)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && mt != "application/octet-stream" {
		return "", unsupportedMediaType("charset %q is not supported: the body must be UTF-8", cs)
	}
	return mt, nil
}
