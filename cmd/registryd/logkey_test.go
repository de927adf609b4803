package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/movable-registry/registry/internal/pgtest"
	"github.com/movable-registry/registry/internal/registry"
	"github.com/movable-registry/registry/internal/translog"
)

// lockedBuffer is a log that the server writes while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newLogKey makes a log key file and returns it with its verifier key.
func newLogKey(t *testing.T, dir, name string) (file, vkey string) {
	t.Helper()
	file = filepath.Join(dir, name)
	var out bytes.Buffer
	if err := keygen([]string{"-name", "test.registry/log", file}, &out); err != nil {
		t.Fatal(err)
	}
	_, vkey, _ = strings.Cut(out.String(), "verifier key: ")
	return file, strings.TrimSpace(vkey)
}

// runLogged runs registryd with env until the test ends, its log kept, and
// waits (up to 40 s) until it answers /healthz, ready or not.
func runLogged(t *testing.T, env map[string]string) (addr string, logs *lockedBuffer, stop func()) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = l.Addr().String()
	l.Close()
	env = maps.Clone(env)
	env["REGISTRY_ADDR"] = addr
	logs = &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, slog.New(slog.NewTextHandler(logs, nil)), nil, func(k string) string { return env[k] })
	}()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	t.Cleanup(stop)
	for deadline := time.Now().Add(40 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if r, err := http.Get("http://" + addr + "/healthz"); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return addr, logs, stop
			}
		}
		select {
		case err := <-done:
			t.Fatalf("registryd stopped: %v\n%s", err, logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("registryd did not start:\n%s", logs)
		}
	}
}

// get returns a GET's status and body.
func get(t *testing.T, url, token, accept string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return r.StatusCode, b
}

// Started with another log key than the one that signed the register (a
// restore with the wrong key file, a mistake), registryd is not ready and
// says why, logs it once and signs nothing; with the old key as
// log.previous_key_file beside the new one it rotates: the next checkpoint
// is signed by both and names the new key, the rotation is audited, and
// GET /log/key names both; then the previous key can be dropped.
func TestLogKeyMismatchAndRotation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	keyA, vkeyA := newLogKey(t, dir, "a.key")
	keyB, vkeyB := newLogKey(t, dir, "b.key")
	admin := "log-key-test-admin-token-0123456789abcdef"
	env := map[string]string{
		"DATABASE_URL": pgtest.URL(t), "REGISTRY_ADMIN_TOKEN": admin, "REGISTRY_CONFIG": "../../configs/registry.yaml",
		"REGISTRY_SHUTDOWN_GRACE": "0s", "REGISTRY_LOG_KEY_FILE": keyA,
	}
	idA, idB := strings.Join(strings.SplitN(vkeyA, "+", 3)[:2], "+"), strings.Join(strings.SplitN(vkeyB, "+", 3)[:2], "+")

	// The register's checkpoints are signed by key A.
	addr, _, stop := runLogged(t, env)
	if code, b := get(t, "http://"+addr+"/api/v1/log/checkpoint", "", ""); code != 200 {
		t.Fatalf("first checkpoint: %d %s", code, b)
	}
	stop()

	// Key B alone: not ready, and why.
	env["REGISTRY_LOG_KEY_FILE"] = keyB
	addr, logs, stop := runLogged(t, env)
	code, b := get(t, "http://"+addr+"/readyz", "", "")
	var p struct{ Code, Detail string }
	_ = json.Unmarshal(b, &p)
	if code != http.StatusServiceUnavailable || p.Code != "log_key_mismatch" || !strings.Contains(p.Detail, "signed by the key "+idA) || !strings.Contains(p.Detail, "configured with "+idB) {
		t.Fatalf("/readyz with the wrong key: %d %s", code, b)
	}
	// A few of the checkpoint job's seconds: one error, no attempt to sign.
	time.Sleep(2500 * time.Millisecond)
	if n := strings.Count(logs.String(), "the log key does not match the register"); n != 1 || strings.Contains(logs.String(), "checkpoint not published") {
		t.Errorf("the mismatch logged %d times (want once), or signing tried:\n%s", n, logs)
	}
	// The register is still read; its checkpoint is the one A signed.
	if code, b := get(t, "http://"+addr+"/api/v1/log/checkpoint", "", ""); code != 200 || !bytes.Contains(b, []byte("— "+strings.SplitN(vkeyA, "+", 2)[0])) {
		t.Errorf("the checkpoint while unready: %d %s", code, b)
	}
	stop()

	// B with A as the previous key: a deliberate rotation.
	env["REGISTRY_LOG_PREVIOUS_KEY_FILE"] = keyA
	addr, logs, stop = runLogged(t, env)
	var cp []byte
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		_, cp = get(t, "http://"+addr+"/api/v1/log/checkpoint", "", "")
		if bytes.Contains(cp, []byte(registry.LogKeyExtension+" "+vkeyB+"\n")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint signed by both keys:\n%s\n%s", cp, logs)
		}
	}
	for _, vkey := range []string{vkeyA, vkeyB} {
		v, err := note.NewVerifier(vkey)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := translog.Open(cp, v); err != nil {
			t.Errorf("the rotation's checkpoint does not verify with %s: %v\n%s", vkey, err, cp)
		}
	}
	if code, b := get(t, "http://"+addr+"/readyz", "", ""); code != 200 {
		t.Errorf("/readyz during the rotation: %d %s", code, b)
	}
	if _, b := get(t, "http://"+addr+"/api/v1/log/key", "", ""); string(b) != vkeyB+"\n" {
		t.Errorf("GET /log/key as text: %q, want the new key alone", b)
	}
	var keys registry.LogKeys
	if _, b := get(t, "http://"+addr+"/api/v1/log/key", "", "application/json"); json.Unmarshal(b, &keys) != nil || keys.Key != vkeyB || keys.PreviousKey != vkeyA {
		t.Errorf("GET /log/key as JSON: %s", b)
	}
	code, b = get(t, "http://"+addr+"/api/v1/audit?action=log.rotate_key", admin, "")
	var audit struct {
		Items []struct{ Action, Target, Detail string }
	}
	if err := json.Unmarshal(b, &audit); code != 200 || err != nil || len(audit.Items) != 1 || audit.Items[0].Target != idB || !strings.Contains(audit.Items[0].Detail, idA) {
		t.Errorf("the rotation's audit entry: %d %s", code, b)
	}
	stop()

	// The previous key dropped: B alone is ready, and no second rotation is audited.
	delete(env, "REGISTRY_LOG_PREVIOUS_KEY_FILE")
	addr, _, _ = runLogged(t, env)
	if code, b := get(t, "http://"+addr+"/readyz", "", ""); code != 200 {
		t.Errorf("/readyz after the rotation, B alone: %d %s", code, b)
	}
}
