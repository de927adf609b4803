package httpapi

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/movable-registry/registry/internal/registry"
)

// TestOpenAPIMatchesRoutes keeps the OpenAPI document and the route table
// describing the same endpoints, with the same access.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string `yaml:"openapi"`
		Paths   map[string]map[string]struct {
			Security []map[string][]string `yaml:"security"`
		} `yaml:"paths"`
	}
	if err := yaml.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	var documented, served []string
	for path, ops := range doc.Paths {
		for method, op := range ops {
			public := len(op.Security) > 0 && len(op.Security[0]) == 0
			documented = append(documented, strings.ToUpper(method)+" "+path+" "+map[bool]string{true: "public", false: "token"}[public])
		}
	}
	for _, rt := range routes {
		path := pathParam.ReplaceAllString(rt.path, "{$1}")
		served = append(served, rt.method+" "+path+" "+map[bool]string{true: "public", false: "token"}[rt.access != bearer])
	}
	served = append(served, "GET /openapi.yaml public")
	slices.Sort(documented)
	slices.Sort(served)
	if diff := cmp.Diff(documented, served); diff != "" {
		t.Errorf("OpenAPI paths (-documented +served):\n%s", diff)
	}
}

var pathParam = regexp.MustCompile(`[:*]([a-z_]+)`)

// The rules the OpenAPI document lists are the rules the service names.
func TestOpenAPIListsEveryRule(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas struct {
				FieldError struct {
					Properties struct {
						Rule struct {
							Enum []string `yaml:"enum"`
						} `yaml:"rule"`
					} `yaml:"properties"`
				} `yaml:"FieldError"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	var rules []string
	for _, r := range registry.Rules {
		rules = append(rules, string(r))
	}
	documented := doc.Components.Schemas.FieldError.Properties.Rule.Enum
	slices.Sort(rules)
	slices.Sort(documented)
	if diff := cmp.Diff(documented, rules); diff != "" {
		t.Errorf("rules (-documented +named by the service):\n%s", diff)
	}
}
