package client_test

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestTheClientIsCurrent regenerates the client from the document, with the
// committed configuration, and compares it byte for byte with the committed
// client.gen.go: a change to the document that was not followed by go
// generate fails here, with the command that fixes it.
func TestTheClientIsCurrent(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs the generator")
	}
	cfg, err := os.ReadFile("cfg.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "client.gen.go")
	// The same configuration, writing elsewhere.
	tmpCfg := filepath.Join(dir, "cfg.yaml")
	if !bytes.Contains(cfg, []byte("output: client.gen.go")) {
		t.Fatal("cfg.yaml must write client.gen.go (output: client.gen.go)")
	}
	cfg = bytes.ReplaceAll(cfg, []byte("output: client.gen.go"), []byte("output: "+out))
	if err := os.WriteFile(tmpCfg, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	gen := exec.Command("go", "tool", "oapi-codegen", "-config", tmpCfg, filepath.Join("..", "internal", "httpapi", "openapi.yaml"))
	if b, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("oapi-codegen: %v\n%s", err, b)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("client.gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("client/client.gen.go is not what the document generates: run\n\n\tgo generate ./client\n\nand commit client/client.gen.go")
	}
}

// TestEnumConstantsNameTheirType: every constant of the client's enums
// begins with its type's name (FieldErrorRuleAmount, not Amount), as
// x-enum-varnames in the document makes oapi-codegen write it, so that
// values shared by several enums (mine, csv, uscc …) never collide and a
// reader sees which enum a constant belongs to.
func TestEnumConstantsNameTheirType(t *testing.T) {
	file, err := parser.ParseFile(token.NewFileSet(), "client.gen.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range file.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			v := spec.(*ast.ValueSpec)
			typ, ok := v.Type.(*ast.Ident)
			if !ok {
				continue
			}
			for _, name := range v.Names {
				n++
				if !strings.HasPrefix(name.Name, typ.Name) {
					t.Errorf("%s (of %s) does not begin with its type's name: give the enum x-enum-varnames in the document", name.Name, typ.Name)
				}
			}
		}
	}
	if n < 100 {
		t.Errorf("only %d enum constants", n)
	}
}
