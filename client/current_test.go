package client_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
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
