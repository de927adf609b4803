package main

import (
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/movable-registry/registry/internal/translog"
	"github.com/movable-registry/registry/internal/witness"
)

// TestWitnessedCheckpoints runs registryd with two witnesses in
// REGISTRY_WITNESSES: one on loopback that cosigns, one that is down. The
// checkpoint it serves carries the first's cosignature, and the metrics
// count each witness's outcome.
func TestWitnessedCheckpoints(t *testing.T) {
	t.Parallel()
	skey, vkey, err := translog.GenerateKey("test.registry/log", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "log.key")
	if err := os.WriteFile(keyFile, []byte(skey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wskey, wvkey, err := translog.GenerateWitnessKey("witness.bank.example", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, _, err := translog.WitnessSigner(wskey)
	if err != nil {
		t.Fatal(err)
	}
	log, err := witness.ParseLog(vkey)
	if err != nil {
		t.Fatal(err)
	}
	w, err := witness.New(signer, []witness.Log{log}, filepath.Join(t.TempDir(), "witness.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w)
	defer srv.Close()
	_, downKey, _ := translog.GenerateWitnessKey("witness.down.example", rand.Reader)

	addr, _, stop := startServerWith(t, map[string]string{"REGISTRY_LOG_KEY_FILE": keyFile,
		"REGISTRY_WITNESSES": wvkey + "=" + srv.URL + ", " + downKey + "=http://127.0.0.1:9"})
	defer stop()

	logV, _ := note.NewVerifier(vkey)
	wv, _ := translog.WitnessVerifier(wvkey)
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/api/v1/log/checkpoint")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cp, err := translog.OpenCosigned(body, logV, []note.Verifier{wv})
		if err == nil && len(cp.Witnesses) == 1 && cp.Witnesses[0] == "witness.bank.example" {
			if w.Latest("test.registry/log") < cp.Size {
				t.Errorf("the witness holds %d, the checkpoint has %d", w.Latest("test.registry/log"), cp.Size)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no cosigned checkpoint: %v\n%s", err, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	req, _ := http.NewRequest("GET", "http://"+addr+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+metricsToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`registry_witness_cosignatures_total{outcome="cosigned",witness="witness.bank.example"}`,
		`registry_witness_cosignatures_total{outcome="failed",witness="witness.down.example"}`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("no %s in the metrics", want)
		}
	}
}
