package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

func TestPlural(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		got, want string
	}{
		{plural(0, "witness", "witnesses"), "0 witnesses"},
		{plural(1, "witness", "witnesses"), "1 witness"},
		{plural(2, "witness", "witnesses"), "2 witnesses"},
		{plural(int64(1), "result", "results"), "1 result"},
		{plural(int64(1000), "result", "results"), "1000 results"},
	} {
		if c.got != c.want {
			t.Errorf("%q, want %q", c.got, c.want)
		}
	}
}

// A command that needs a token and has none stops before its first request,
// and says which flag and which variable give one.
func TestNoTokenStopsAtOnce(t *testing.T) {
	t.Parallel()
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.Error(w, `{"code":"unauthenticated"}`, http.StatusUnauthorized)
	}))
	defer srv.Close()
	csvFile := filepath.Join(t.TempDir(), "filings.csv")
	if err := os.WriteFile(csvFile, []byte("kind\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	noEnv := func(string) string { return "" }
	for _, args := range [][]string{
		{"verify"},
		{"verify-search", "20261126000000001250"},
		{"verify-checkpoint"},
		{"prove", "20261202000000000141"},
		{"file", "-csv", csvFile},
	} {
		var out, errs bytes.Buffer
		args = append(args, "-url", srv.URL, "-token", "")
		if args[0] != "file" {
			args = append(args, "-state", filepath.Join(t.TempDir(), "state.json"))
		}
		code := run(context.Background(), args, noEnv, &out, &errs)
		if code != 2 {
			t.Errorf("%s without a token: exit %d, want 2", args[0], code)
		}
		msg := errs.String()
		if !strings.Contains(msg, args[0]+": no token") || !strings.Contains(msg, "-token") || !strings.Contains(msg, "REGISTRY_TOKEN") {
			t.Errorf("%s without a token says %q", args[0], msg)
		}
		if strings.Contains(msg+out.String(), "401") {
			t.Errorf("%s without a token went on to a 401: %s%s", args[0], out.String(), msg)
		}
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("%d requests made without a token", n)
	}
	// REGISTRY_TOKEN stands in for -token: the command goes on to ask.
	var out, errs bytes.Buffer
	env := func(k string) string { return map[string]string{"REGISTRY_TOKEN": "some-token"}[k] }
	if code := run(context.Background(), []string{"verify-checkpoint", "-url", srv.URL, "-state", filepath.Join(t.TempDir(), "s.json")}, env, &out, &errs); code != 2 || strings.Contains(errs.String(), "no token") || requests.Load() == 0 {
		t.Errorf("with REGISTRY_TOKEN: exit %d, %d requests, %q", code, requests.Load(), errs.String())
	}
}
