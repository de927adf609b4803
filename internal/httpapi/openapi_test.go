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
							Enum     []string `yaml:"enum"`
							VarNames []string `yaml:"x-enum-varnames"`
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
	rule := doc.Components.Schemas.FieldError.Properties.Rule
	// Each rule is named in a generated client as FieldErrorRule and the
	// rule (x-enum-varnames), not by a bare word (Amount, Email) that
	// collides with other constants.
	checkEnumNames(t, "FieldError.rule", "FieldErrorRule", rule.Enum, rule.VarNames)
	documented := slices.Clone(rule.Enum)
	slices.Sort(rules)
	slices.Sort(documented)
	if diff := cmp.Diff(documented, rules); diff != "" {
		t.Errorf("rules (-documented +named by the service):\n%s", diff)
	}
}

// TestOpenAPIEnumNamesAreTheValues: an enum that names its constants for
// generated clients (x-enum-varnames) names every value, in order, as its
// type's prefix and the value in camel case; a value added without its name
// would get oapi-codegen's bare name, or be named after another value.
func TestOpenAPIEnumNamesAreTheValues(t *testing.T) {
	var doc any
	if err := yaml.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	n := 0
	var walk func(where string, v any)
	walk = func(where string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if names, ok := v["x-enum-varnames"]; ok {
				n++
				var enum, vars []string
				for _, e := range asList(v["enum"]) {
					s, _ := e.(string)
					enum = append(enum, s)
				}
				for _, e := range asList(names) {
					s, _ := e.(string)
					vars = append(vars, s)
				}
				prefix := ""
				if len(vars) > 0 && len(enum) > 0 {
					prefix = strings.TrimSuffix(vars[0], camel(enum[0]))
				}
				if prefix == "" {
					t.Errorf("%s: x-enum-varnames %v give no type prefix", where, vars)
				}
				checkEnumNames(t, where, prefix, enum, vars)
			}
			for k, c := range v {
				walk(where+"."+k, c)
			}
		case []any:
			for i, c := range v {
				walk(where+"["+strconv.Itoa(i)+"]", c)
			}
		}
	}
	walk("", doc)
	if n < 5 {
		t.Errorf("only %d enums name their constants", n)
	}
}

// checkEnumNames checks that names are prefix and each of enum's values in
// camel case, one for one.
func checkEnumNames(t *testing.T, where, prefix string, enum, names []string) {
	t.Helper()
	var want []string
	for _, v := range enum {
		want = append(want, prefix+camel(v))
	}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("%s: x-enum-varnames (-want +documented):\n%s", where, diff)
	}
}

// camel is a value as a Go name's part: its words (runs of letters and
// digits) each with a capital, application/pdf as ApplicationPdf.
func camel(v string) string {
	var b strings.Builder
	for _, w := range regexp.MustCompile(`[A-Za-z0-9]+`).FindAllString(v, -1) {
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
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
	documented := documentedProblemCodes(t)
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

	slices.Sort(documented)
	if diff := cmp.Diff(documented, codes); diff != "" {
		t.Errorf("Problem.code (-documented +sent by the code base):\n%s", diff)
	}
}

// TestOpenAPIEnumsFollowTheCode keeps the closed sets the answers hold
// the sets the code has: an organization's kind, what a certificate was
// issued to and its kind, a field error's code. A value added to the code
// fails this test until the document lists it (a generated client would
// otherwise refuse or mistype it), and a value the document lists that the
// code no longer has fails it too.
func TestOpenAPIEnumsFollowTheCode(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Enum       []string `yaml:"enum"`
				Properties map[string]struct {
					Enum []string `yaml:"enum"`
				} `yaml:"properties"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	fieldCodes := map[string]bool{}
	for code := range fieldErrorCodeConsts(t, "../registry") {
		fieldCodes[code] = true
	}
	for _, dir := range []string{".", "../httpx"} {
		for code := range fieldErrorCodesIn(t, dir) {
			fieldCodes[code] = true
		}
	}
	if len(fieldCodes) < 6 {
		t.Errorf("only %d field error codes found in the source: %v", len(fieldCodes), fieldCodes)
	}
	for _, c := range []struct {
		schema, property string
		code             []string
	}{
		{"Organization", "kind", registry.OrganizationKinds},
		// An individual signs up as a NewIndividual.
		{"NewOrganization", "kind", slices.DeleteFunc(slices.Clone(registry.OrganizationKinds), func(k string) bool { return k == registry.OrgKindIndividual })},
		{"Kind", "", registry.Kinds},
		{"Certificate", "kind", append(slices.Clone(registry.Kinds), registry.CertificateOfSearch)},
		{"Certificate", "kind_of_certificate", registry.CertificateKinds()},
		{"FieldError", "code", slices.Collect(maps.Keys(fieldCodes))},
	} {
		s, ok := doc.Components.Schemas[c.schema]
		if !ok {
			t.Errorf("no schema %s", c.schema)
			continue
		}
		documented, where := s.Enum, c.schema
		if c.property != "" {
			documented, where = s.Properties[c.property].Enum, c.schema+"."+c.property
		}
		documented, code := slices.Sorted(slices.Values(documented)), slices.Sorted(slices.Values(c.code))
		if diff := cmp.Diff(documented, code); diff != "" {
			t.Errorf("%s's enum (-documented +the code's):\n%s", where, diff)
		}
	}
}

// fieldErrorCodeConsts finds the field error codes a package declares: its
// string constants named Code….
func fieldErrorCodeConsts(t *testing.T, dir string) map[string]bool {
	t.Helper()
	codes := map[string]bool{}
	for _, file := range parseSource(t, dir) {
		for _, d := range file.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				v := spec.(*ast.ValueSpec)
				for i, name := range v.Names {
					if !strings.HasPrefix(name.Name, "Code") || i >= len(v.Values) {
						continue
					}
					if b, ok := v.Values[i].(*ast.BasicLit); ok && b.Kind == token.STRING {
						if s, err := strconv.Unquote(b.Value); err == nil {
							codes[s] = true
						}
					}
				}
			}
		}
	}
	return codes
}

// fieldErrorCodesIn finds the codes a package's source writes into a field
// error itself: the string literal given as Code in a FieldError literal
// (also one whose type a []FieldError literal leaves out).
func fieldErrorCodesIn(t *testing.T, dir string) map[string]bool {
	t.Helper()
	isFieldError := func(e ast.Expr) bool {
		switch e := e.(type) {
		case *ast.Ident:
			return e.Name == "FieldError"
		case *ast.SelectorExpr:
			return e.Sel.Name == "FieldError"
		}
		return false
	}
	codes := map[string]bool{}
	code := func(lit *ast.CompositeLit) {
		for _, el := range lit.Elts {
			kv, ok := el.(*ast.KeyValueExpr)
			if !ok {
				continue
			}
			if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Code" {
				if b, ok := kv.Value.(*ast.BasicLit); ok && b.Kind == token.STRING {
					if s, err := strconv.Unquote(b.Value); err == nil {
						codes[s] = true
					}
				}
			}
		}
	}
	for _, file := range parseSource(t, dir) {
		ast.Inspect(file, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			if isFieldError(lit.Type) {
				code(lit)
			}
			if a, ok := lit.Type.(*ast.ArrayType); ok && isFieldError(a.Elt) {
				for _, el := range lit.Elts {
					if inner, ok := el.(*ast.CompositeLit); ok && inner.Type == nil {
						code(inner)
					}
				}
			}
			return true
		})
	}
	return codes
}

// parseSource parses a package's non-test Go files.
func parseSource(t *testing.T, dir string) []*ast.File {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return files
}

// problemCodesIn finds, in a package's non-test source, the string
// literals that become a problem's code: the second argument of
// NewProblem, a Code field of a composite literal, and a problem table's
// row (an HTTP status, then the code).
func problemCodesIn(t *testing.T, dir string) map[string]bool {
	t.Helper()
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
	for _, file := range parseSource(t, dir) {
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

// TestOpenAPISharesRetryAnswers: every operation may be answered 429 (a
// rate limit applies to every call), 503 (a busy or unreachable store, a
// lost leader) and 500 (the registry's own fault, a panic included), and
// declares all three as the shared answers: the first two with the
// Retry-After a client waits out, the 500 with the request_id it reports.
// An operation may only give them a description of its own.
func TestOpenAPISharesRetryAnswers(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]map[string]any `yaml:"responses"`
		} `yaml:"paths"`
		Components struct {
			Responses map[string]struct {
				Headers map[string]any `yaml:"headers"`
			} `yaml:"responses"`
			Schemas struct {
				Problem struct {
					Required []string `yaml:"required"`
				} `yaml:"Problem"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	shared := map[string]string{"429": "RateLimited", "503": "Unavailable", "500": "InternalError"}
	for _, name := range []string{"RateLimited", "Unavailable"} {
		if _, ok := doc.Components.Responses[name].Headers["Retry-After"]; !ok {
			t.Errorf("components.responses.%s declares no Retry-After", name)
		}
	}
	if !slices.Contains(doc.Components.Schemas.Problem.Required, "request_id") {
		t.Error("Problem does not require request_id, which every problem answer carries (httpx.WriteProblem)")
	}
	n := 0
	for path, ops := range doc.Paths {
		for method, op := range ops {
			n++
			for status, name := range shared {
				r, ok := op.Responses[status]
				if !ok {
					t.Errorf("%s %s: no %s answer", strings.ToUpper(method), path, status)
					continue
				}
				if r["$ref"] != "#/components/responses/"+name {
					t.Errorf("%s %s: its %s is not #/components/responses/%s", strings.ToUpper(method), path, status, name)
				}
				for k := range r {
					if k != "$ref" && k != "description" {
						t.Errorf("%s %s: its %s has %s beside the shared answer", strings.ToUpper(method), path, status, k)
					}
				}
			}
		}
	}
	if n < 50 {
		t.Errorf("only %d operations", n)
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

// documentedProblemCodes is the OpenAPI document's Problem.code enum.
func documentedProblemCodes(t *testing.T) []string {
	t.Helper()
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
	return doc.Components.Schemas.Problem.Properties.Code.Enum
}
