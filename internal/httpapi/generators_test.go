package httpapi_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// A bank generates its client from the document with tools nobody here
// wrote. The generator is pinned in go.mod (a tool), so the test runs the
// same version that integrators are told about.

// TestTheDocumentGeneratesAGoClient generates a Go client with oapi-codegen
// and builds it: the document has no clashing names, and its enums are typed
// (a string type with constants), not interface{}.
func TestTheDocumentGeneratesAGoClient(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs the generator and the compiler")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "oapi-codegen.yaml")
	out := filepath.Join(dir, "client.gen.go")
	if err := os.WriteFile(cfg, []byte("package: client\ngenerate:\n  client: true\n  models: true\noutput: "+out+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	gen := exec.Command("go", "tool", "oapi-codegen", "-config", cfg, "openapi.yaml")
	if b, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("oapi-codegen refuses the document: %v\n%s", err, b)
	}
	code, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	src := string(code)
	for _, want := range []string{
		"type Kind string", "type ItemType string", "type Role string",
		"type ProblemCode string", "ProblemCodeUnsupportedMediaType", "type RegistrationStatus string",
		"type Item struct", "type Collateral struct", "type BatchResult struct",
	} {
		if !strings.Contains(src, want) {
			t.Errorf("the generated client has no %q", want)
		}
	}
	// The one free-form map is the log's event, whose fields are the event
	// type's own. A union with a discriminator (the sign-up's organization,
	// by kind) gets a method that returns whichever typed member the
	// discriminator names: no field of it is untyped.
	for _, line := range regexp.MustCompile(`(?m)^.*interface\{\}.*$`).FindAllString(src, -1) {
		if !strings.Contains(line, "LogEventRecord") && !strings.Contains(line, ") ValueByDiscriminator() (interface{}, error) {") {
			t.Errorf("an untyped field in the generated client: %s", strings.TrimSpace(line))
		}
	}
	// The generated code needs oapi-codegen's runtime, pinned in a module
	// of its own (testdata/goclient), as a bank's would be.
	for _, f := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join("testdata", "goclient", f+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	build := exec.Command("go", "build", "-o", os.DevNull, ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "GOWORK=off")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("the generated client does not build: %v\n%s", err, b)
	}
}
