package httpapi

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// docs/api.md is the API reference for readers of the repository, made from
// the OpenAPI document so that the two cannot disagree. Run
//
//	UPDATE_DOCS=1 go test ./internal/httpapi -run TestAPIReferenceIsCurrent
//
// after changing openapi.yaml.
func TestAPIReferenceIsCurrent(t *testing.T) {
	t.Parallel()
	got := apiReference(t)
	const file = "../../docs/api.md"
	if os.Getenv("UPDATE_DOCS") != "" {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != got {
		t.Error("docs/api.md is not what openapi.yaml gives: UPDATE_DOCS=1 go test ./internal/httpapi -run TestAPIReferenceIsCurrent")
	}
}

// node finds a mapping's value by key.
func node(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// pairs is a mapping's keys and values, in the document's order.
func pairs(n *yaml.Node) [][2]*yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var out [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, [2]*yaml.Node{n.Content[i], n.Content[i+1]})
	}
	return out
}

func text(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	return strings.Join(strings.Fields(n.Value), " ")
}

// schemaName says what a schema is in a few words: its $ref, its type, or
// its values.
func schemaName(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	if ref := node(n, "$ref"); ref != nil {
		name := ref.Value[strings.LastIndex(ref.Value, "/")+1:]
		return "[" + name + "](#" + strings.ToLower(name) + ")"
	}
	if e := node(n, "enum"); e != nil {
		var vs []string
		for _, v := range e.Content {
			vs = append(vs, "`"+v.Value+"`")
		}
		return strings.Join(vs, " | ")
	}
	typ := text(node(n, "type"))
	if typ == "" && n.Kind == yaml.SequenceNode {
		var ts []string
		for _, v := range n.Content {
			ts = append(ts, v.Value)
		}
		typ = strings.Join(ts, " or ")
	}
	if t := node(n, "type"); t != nil && t.Kind == yaml.SequenceNode {
		var ts []string
		for _, v := range t.Content {
			ts = append(ts, v.Value)
		}
		typ = strings.Join(ts, " or ")
	}
	switch typ {
	case "array":
		return "array of " + schemaName(node(n, "items"))
	case "":
		for _, key := range []string{"oneOf", "anyOf"} {
			if alts := node(n, key); alts != nil {
				var names []string
				for _, a := range alts.Content {
					names = append(names, schemaName(a))
				}
				return "one of " + strings.Join(names, ", ")
			}
		}
		return "any"
	}
	if f := text(node(n, "format")); f != "" {
		typ += " (" + f + ")"
	}
	return typ
}

func cell(s string) string { return strings.ReplaceAll(s, "|", "\\|") }

func apiReference(t *testing.T) string {
	var doc yaml.Node
	if err := yaml.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]
	var b strings.Builder
	info := node(root, "info")
	fmt.Fprintf(&b, "# API reference\n\n<!-- Made from internal/httpapi/openapi.yaml by TestAPIReferenceIsCurrent; do not edit by hand. -->\n\n")
	fmt.Fprintf(&b, "%s, version %s. Base path `%s`. The rules behind it are in [rules.md](rules.md).\n\n", text(node(info, "title")), text(node(info, "version")), BasePath)
	fmt.Fprintf(&b, "%s\n\n", strings.TrimSpace(node(info, "description").Value))
	b.WriteString("## Endpoints\n\n")
	params := node(node(root, "components"), "parameters")
	for _, p := range pairs(node(root, "paths")) {
		path := p[0].Value
		for _, op := range pairs(p[1]) {
			method := strings.ToUpper(op[0].Value)
			fmt.Fprintf(&b, "### `%s %s`\n\n%s\n\n", method, path, text(node(op[1], "summary")))
			if sec := node(op[1], "security"); sec != nil && len(sec.Content) > 0 && len(sec.Content[0].Content) == 0 {
				b.WriteString("No token needed.\n\n")
			}
			if ps := node(op[1], "parameters"); ps != nil && len(ps.Content) > 0 {
				b.WriteString("| parameter | in | schema |\n|---|---|---|\n")
				for _, pn := range ps.Content {
					if ref := node(pn, "$ref"); ref != nil {
						pn = node(params, ref.Value[strings.LastIndex(ref.Value, "/")+1:])
					}
					fmt.Fprintf(&b, "| `%s` | %s | %s |\n", text(node(pn, "name")), text(node(pn, "in")), cell(schemaName(node(pn, "schema"))))
				}
				b.WriteString("\n")
			}
			if rb := node(op[1], "requestBody"); rb != nil {
				for _, ct := range pairs(node(rb, "content")) {
					fmt.Fprintf(&b, "Body (`%s`): %s\n\n", ct[0].Value, schemaName(node(ct[1], "schema")))
				}
			}
			b.WriteString("| status | answer |\n|---|---|\n")
			for _, r := range pairs(node(op[1], "responses")) {
				desc := text(node(r[1], "description"))
				if ref := node(r[1], "$ref"); ref != nil && desc == "" {
					// A shared answer; one may carry the operation's
					// own description beside it.
					desc = "a problem document"
				}
				fmt.Fprintf(&b, "| %s | %s |\n", r[0].Value, cell(desc))
			}
			b.WriteString("\n")
		}
	}
	b.WriteString("## Schemas\n\n")
	schemas := pairs(node(node(root, "components"), "schemas"))
	sort.SliceStable(schemas, func(i, j int) bool { return schemas[i][0].Value < schemas[j][0].Value })
	for _, s := range schemas {
		fmt.Fprintf(&b, "### %s\n\n", s[0].Value)
		if d := text(node(s[1], "description")); d != "" {
			fmt.Fprintf(&b, "%s\n\n", d)
		}
		props := pairs(node(s[1], "properties"))
		if len(props) == 0 {
			fmt.Fprintf(&b, "%s\n\n", cell(schemaName(s[1])))
			continue
		}
		required := map[string]bool{}
		if r := node(s[1], "required"); r != nil {
			for _, v := range r.Content {
				required[v.Value] = true
			}
		}
		b.WriteString("| field | schema | |\n|---|---|---|\n")
		for _, p := range props {
			note := text(node(p[1], "description"))
			if required[p[0].Value] {
				note = strings.TrimSpace("required. " + note)
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", p[0].Value, cell(schemaName(p[1])), cell(note))
		}
		b.WriteString("\n")
	}
	return b.String()
}
