package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/pedigreeml/pedigree/api"
	"github.com/pedigreeml/pedigree/internal/spectest"
)

// TestRoutesMatchSpec keeps routes.go and openapi.yaml one to one: a route without an operation in
// the spec, or an operation no route serves, fails.
func TestRoutesMatchSpec(t *testing.T) {
	srv := api.New(api.Config{}, api.Deps{})
	var routes []string
	for _, r := range srv.Routes() {
		if !isHTTPMethod(r.Method) || strings.HasSuffix(r.Path, "*") {
			continue // echo's own routes (not-found handlers of groups), not part of the API
		}
		routes = append(routes, r.Method+" "+spectest.OpenAPIPath(r.Path))
	}
	slices.Sort(routes)
	routes = slices.Compact(routes)
	ops := spectest.Operations(spectest.Load(t))

	if len(routes) == 0 {
		t.Fatal("the server lists no routes")
	}
	for _, r := range routes {
		if !slices.Contains(ops, r) {
			t.Errorf("route %s is not in openapi.yaml", r)
		}
	}
	for _, op := range ops {
		if !slices.Contains(routes, op) {
			t.Errorf("openapi.yaml has %s, but no route serves it", op)
		}
	}
}

func isHTTPMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return true
	}
	return false
}
