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
