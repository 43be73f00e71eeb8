package api

import _ "embed"

// OpenAPISpec is the API contract, served at /openapi.yaml and checked
// against the registered routes by the tests.
//
//go:embed openapi.yaml
var OpenAPISpec []byte
