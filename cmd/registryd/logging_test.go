package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// River logs one level above the service, so that its routine lines stay
// out of the default log; at debug it logs everything the service does.
func TestRiverLogsALevelAbove(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		level      string
		want, drop []slog.Level
	}{
		{"", []slog.Level{slog.LevelWarn, slog.LevelError}, []slog.Level{slog.LevelDebug, slog.LevelInfo}},
		{"info", []slog.Level{slog.LevelWarn, slog.LevelError}, []slog.Level{slog.LevelInfo}},
		{"debug", []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn}, nil},
		{"WARN", []slog.Level{slog.LevelError}, []slog.Level{slog.LevelInfo, slog.LevelWarn}},
	} {
		level, err := logLevel(func(string) string { return c.level })
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		river := riverLogger(slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: level})))
		for _, l := range c.want {
			out.Reset()
			river.With("component", "river").Log(t.Context(), l, "periodic job enqueued")
			if !strings.Contains(out.String(), "periodic job enqueued") || !strings.Contains(out.String(), "component=river") {
				t.Errorf("REGISTRY_LOG_LEVEL=%q: River's %v line is not logged: %q", c.level, l, out.String())
			}
		}
		for _, l := range c.drop {
			out.Reset()
			river.WithGroup("river").Log(t.Context(), l, "periodic job enqueued")
			if out.Len() != 0 {
				t.Errorf("REGISTRY_LOG_LEVEL=%q: River's %v line is logged: %q", c.level, l, out.String())
			}
		}
	}
	if _, err := logLevel(func(string) string { return "loud" }); err == nil || !strings.Contains(err.Error(), "REGISTRY_LOG_LEVEL") {
		t.Errorf("REGISTRY_LOG_LEVEL=loud: %v", err)
	}
}
