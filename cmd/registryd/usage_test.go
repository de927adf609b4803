package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
)

// registryd -h prints how to use it, and needs no settings: not the error
// that DATABASE_URL is not set.
func TestHelpNeedsNoSettings(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"-h", "--help", "help"} {
		if err := run(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)), []string{arg}, func(string) string { return "" }); err != nil {
			t.Errorf("registryd %s: %v", arg, err)
		}
	}
	for _, command := range []string{"migrate", "bootstrap", "keygen", "keygen-cert", "healthcheck", "docs/configuration.md"} {
		if !strings.Contains(usage, command) {
			t.Errorf("the usage does not name %s", command)
		}
	}
}
