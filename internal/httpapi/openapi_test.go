package httpapi

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/movable-registry/registry/internal/registry"
)

// TestOpenAPIMatchesRoutes keeps the OpenAPI document and the route table
// describing the same endpoints, with the same access.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
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
	t.Parallel()
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

// TestOpenAPIListsEveryProblemCode keeps Problem.code's enum the codes the
// API can answer: httpx's problem table and the codes ProblemFor gives
// itself, each NewProblem named elsewhere (decode.go's 415, health's
// not_ready and draining …) and the field codes a ValidationError takes
// its code from. They are read from the source of the packages that answer
// the API, so a new code written anywhere there fails this test until the
// document lists it, and a code the document lists that nothing sends
// fails it too. The web pages' own problems (bad_form) never reach the API.
func TestOpenAPIListsEveryProblemCode(t *testing.T) {
	t.Parallel()
	var doc struct {
		Components struct {
			Schemas struct {
				Problem struct {
					Properties struct {
						Code struct {
							Enum []string `yaml:"enum"`
						} `yaml:"code"`
					} `yaml:"properties"`
				} `yaml:"Problem"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	sent := map[string]bool{}
	for _, dir := range []string{".", "../httpx"} {
		for code := range problemCodesIn(t, dir) {
			sent[code] = true
		}
	}
	for _, c := range []string{registry.CodeInvalidField, registry.CodeInvalidUSCC, registry.CodeInvalidIDNumber, registry.CodeInvalidLEI, registry.CodeInvalidNumber} {
		sent[c] = true
	}
	if len(sent) < 20 {
		t.Fatalf("found only %d codes in the source: %v", len(sent), sent)
	}
	codes := slices.Sorted(maps.Keys(sent))
	documented := slices.Clone(doc.Components.Schemas.Problem.Properties.Code.Enum)
	slices.Sort(documented)
	if diff := cmp.Diff(documented, codes); diff != "" {
		t.Errorf("Problem.code (-documented +sent by the code base):\n%s", diff)
	}
}

// problemCodesIn finds, in a package's non-test source, the string
// literals that become a problem's code: the second argument of
// NewProblem, a Code field of a composite literal, and a problem table's
// row (an HTTP status, then the code).
func problemCodesIn(t *testing.T, dir string) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]bool{}
	lit := func(e ast.Expr) {
		if b, ok := e.(*ast.BasicLit); ok && b.Kind == token.STRING {
			if s, err := strconv.Unquote(b.Value); err == nil {
				codes[s] = true
			}
		}
	}
	isStatus := func(e ast.Expr) bool {
		s, ok := e.(*ast.SelectorExpr)
		return ok && strings.HasPrefix(s.Sel.Name, "Status")
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(token.NewFileSet(), f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				name := ""
				switch fn := n.Fun.(type) {
				case *ast.Ident:
					name = fn.Name
				case *ast.SelectorExpr:
					name = fn.Sel.Name
				}
				if name == "NewProblem" && len(n.Args) >= 2 {
					lit(n.Args[1])
				}
			case *ast.CompositeLit:
				for i, el := range n.Elts {
					if kv, ok := el.(*ast.KeyValueExpr); ok {
						if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Code" {
							lit(kv.Value)
						}
					} else if isStatus(el) && i+1 < len(n.Elts) {
						lit(n.Elts[i+1])
					}
				}
			}
			return true
		})
	}
	// A field error's code (decode.go's malformed_request) is a code too;
	// the literal scan finds it. A raw {"code":"internal_error"} written
	// when even encoding failed is the 500 NewProblem names as well.
	return codes
}

// TestOpenAPIDeclaresReplays: every operation that takes an
// Idempotency-Key declares Idempotent-Replayed on each of its success
// answers, which a retry of it may be.
func TestOpenAPIDeclaresReplays(t *testing.T) {
	t.Parallel()
	type response struct {
		Headers map[string]any `yaml:"headers"`
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Ref string `yaml:"$ref"`
			} `yaml:"parameters"`
			Responses map[string]response `yaml:"responses"`
		} `yaml:"paths"`
	}
	if err := yaml.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	n := 0
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if !slices.ContainsFunc(op.Parameters, func(p struct {
				Ref string `yaml:"$ref"`
			}) bool {
				return p.Ref == "#/components/parameters/IdempotencyKey"
			}) {
				continue
			}
			for status, r := range op.Responses {
				if !strings.HasPrefix(status, "2") {
					continue
				}
				n++
				if _, ok := r.Headers["Idempotent-Replayed"]; !ok {
					t.Errorf("%s %s answers %s without declaring Idempotent-Replayed", strings.ToUpper(method), path, status)
				}
			}
		}
	}
	if n < 10 {
		t.Errorf("only %d success answers of operations with an Idempotency-Key", n)
	}
}

// TestOpenAPIAnswersListRequiredFields: every object an answer holds lists
// its required fields (those the service always sends, its Go fields
// without omitempty), so that a generated client's fields are values, not
// pointers. The few objects of which any field may be absent say so here.
func TestOpenAPIAnswersListRequiredFields(t *testing.T) {
	t.Parallel()
	allOptional := map[string]bool{
		"Criteria":      true, // exactly one key, whichever it is
		"WatchCriteria": true,
		"NoticeDetail":  true, // its keys are the notice kind's
	}
	var doc map[string]any
	if err := yaml.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	seen := map[string]bool{}
	var walk func(where string, s any)
	walk = func(where string, s any) {
		m, ok := s.(map[string]any)
		if !ok {
			return
		}
		if ref, ok := m["$ref"].(string); ok {
			name := strings.TrimPrefix(ref, "#/components/schemas/")
			if !seen[name] {
				seen[name] = true
				walk(name, schemas[name])
			}
			return
		}
		if props, ok := m["properties"].(map[string]any); ok && len(props) > 0 && !allOptional[where] {
			if req, _ := m["required"].([]any); len(req) == 0 {
				t.Errorf("%s: an object in an answer that lists no required field", where)
			}
			for p, ps := range props {
				walk(where+"."+p, ps)
			}
		}
		for _, k := range []string{"items", "additionalProperties"} {
			walk(where+"[]", m[k])
		}
		for _, k := range []string{"oneOf", "anyOf", "allOf"} {
			for _, v := range asList(m[k]) {
				walk(where, v)
			}
		}
	}
	var content func(where string, r any)
	content = func(where string, r any) {
		m, _ := r.(map[string]any)
		if ref, ok := m["$ref"].(string); ok {
			name := strings.TrimPrefix(ref, "#/components/responses/")
			content(name, doc["components"].(map[string]any)["responses"].(map[string]any)[name])
			return
		}
		c, _ := m["content"].(map[string]any)
		for mt, v := range c {
			if strings.Contains(mt, "json") {
				walk(where, v.(map[string]any)["schema"])
			}
		}
	}
	for path, ops := range doc["paths"].(map[string]any) {
		for method, op := range ops.(map[string]any) {
			o, ok := op.(map[string]any)
			if !ok {
				continue
			}
			rs, _ := o["responses"].(map[string]any)
			for status, r := range rs {
				content(strings.ToUpper(method)+" "+path+" "+status, r)
			}
		}
	}
	if len(seen) < 40 {
		t.Errorf("only %d schemas reached from the answers", len(seen))
	}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}
