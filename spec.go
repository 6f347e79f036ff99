// Package pedigree holds what belongs to the whole project: the OpenAPI document, embedded so the
// server can serve it and tests can check responses against it.
package pedigree

import _ "embed"

// OpenAPI is the REST contract, openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte
