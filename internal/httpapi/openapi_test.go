package httpapi

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/movable-registry/registry/internal/audit"
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

var pathParam = regexp.MustCompile(`:([a-z_]+)`)

// TestAuditRowDisarmsFormulas checks that no text cell of the CSV export
// begins with what a spreadsheet runs as a formula.
func TestAuditRowDisarmsFormulas(t *testing.T) {
	r := auditRow(audit.Record{ID: 7, Entry: audit.Entry{Actor: audit.Anonymous, Action: "token.signin", Target: "=HYPERLINK(\"http://x\")",
		Source: "@evil", RequestID: "-1+1", Detail: "'quoted"}, Chain: []byte{0xfb, 0xff}})
	want := []string{"'=HYPERLINK(\"http://x\")", "'@evil", "'-1+1", "''quoted", "+/8="}
	got := []string{r[6], r[8], r[9], r[10], r[11]}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("cells (-got +want):\n%s", diff)
	}
}
