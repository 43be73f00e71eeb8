package api_test

import (
	"context"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/nurture-sms/nurture/api"
	"github.com/nurture-sms/nurture/internal/lead"
)

// The OpenAPI document is valid and lists exactly the routes Gin serves.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.OpenAPISpec)
	if err != nil {
		t.Fatalf("load openapi.yaml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml is not valid OpenAPI 3: %v", err)
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	param := regexp.MustCompile(`:([A-Za-z_]+)`)
	served := map[string]bool{}
	for _, r := range api.Router(api.Deps{Store: testStore}).Routes() {
		served[r.Method+" "+param.ReplaceAllString(r.Path, "{$1}")] = true
	}
	var missing, extra []string
	for k := range served {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !served[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Fatalf("routes not in openapi.yaml: %s\nopenapi.yaml paths not served: %s", strings.Join(missing, ", "), strings.Join(extra, ", "))
	}
}

// The document lists the lead vocabulary of internal/lead.
func TestOpenAPILeadVocabulary(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPISpec)
	if err != nil {
		t.Fatal(err)
	}
	enum := func(s *openapi3.Schema) []string {
		var out []string
		for _, v := range s.Enum {
			out = append(out, v.(string))
		}
		return out
	}
	status := doc.Paths.Value("/v1/leads").Get.Parameters.GetByInAndName("query", "status").Schema.Value
	if got := enum(status); !slices.Equal(got, lead.Statuses) {
		t.Errorf("GET /v1/leads status enum %v, want %v", got, lead.Statuses)
	}
	levels := doc.Components.Schemas["CreateCampaign"].Value.Properties["engagement_levels"].Value.Items.Value
	if got := enum(levels); !slices.Equal(got, lead.EngagementLevels) {
		t.Errorf("CreateCampaign engagement_levels enum %v, want %v", got, lead.EngagementLevels)
	}
}

// Every operation has a unique operationId (generated clients name their
// methods by it) and documents the errors it can answer, each with the
// envelope: 400 for any input (the edge rule reads every query string),
// 401 behind a bearer token, 403 on a write (roles), 404 for a path id.
func TestOpenAPIOperationsHaveIDsAndErrors(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPISpec)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	n := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			n++
			key := method + " " + path
			if op.OperationID == "" {
				t.Errorf("%s has no operationId", key)
			} else if other, dup := seen[op.OperationID]; dup {
				t.Errorf("%s and %s share operationId %q", key, other, op.OperationID)
			}
			seen[op.OperationID] = key
			bearer := op.Security == nil || len(*op.Security) > 0
			want := []string{"400"}
			if bearer {
				want = append(want, "401")
				if method != "GET" {
					want = append(want, "403")
				}
			}
			if strings.Contains(path, "{") {
				want = append(want, "404")
			}
			for _, code := range want {
				if op.Responses.Value(code) == nil {
					t.Errorf("%s does not document %s", key, code)
				}
			}
			for code, ref := range op.Responses.Map() {
				if code[0] != '4' && code[0] != '5' {
					continue
				}
				mt := ref.Value.Content.Get("application/json")
				if mt == nil || mt.Schema == nil || mt.Schema.Ref != "#/components/schemas/Error" {
					t.Errorf("%s %s is not the error envelope", key, code)
				}
			}
		}
	}
	if n < 40 {
		t.Fatalf("only %d operations", n)
	}
}
