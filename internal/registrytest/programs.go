package registrytest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// programs are the module's commands built for this process's tests, each
// once, into one folder that RemovePrograms deletes.
var programs struct {
	sync.Mutex
	dir  string
	made map[string]func() (string, error)
}

// Program is the path of the module's command name (registryd,
// registryctl) for a test to run, never to change: the one make test built
// for every package's tests (REGISTRY_TEST_BIN), or else one built by go
// build the first time a test of the process asks for it. A package whose
// tests call it removes what it built with RemovePrograms in its TestMain.
func Program(t testing.TB, name string) string {
	t.Helper()
	if dir := os.Getenv("REGISTRY_TEST_BIN"); dir != "" {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return filepath.Join(dir, name)
		}
	}
	programs.Lock()
	if programs.made == nil {
		programs.made = map[string]func() (string, error){}
	}
	build, ok := programs.made[name]
	if !ok {
		build = sync.OnceValues(func() (string, error) {
			programs.Lock()
			if programs.dir == "" {
				dir, err := os.MkdirTemp("", "registry-test-programs-")
				if err != nil {
					programs.Unlock()
					return "", err
				}
				programs.dir = dir
			}
			out := filepath.Join(programs.dir, name)
			programs.Unlock()
			pkg := "github.com/movable-registry/registry/cmd/" + name
			if b, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
				return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
			}
			return out, nil
		})
		programs.made[name] = build
	}
	programs.Unlock()
	path, err := build()
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// RemovePrograms deletes the commands Program built, once the process's
// tests are done.
func RemovePrograms() {
	programs.Lock()
	defer programs.Unlock()
	if programs.dir != "" {
		_ = os.RemoveAll(programs.dir)
		programs.dir, programs.made = "", nil
	}
}
