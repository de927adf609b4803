package main

import (
	"context"
	"fmt"
	"log/slog"
)

// logLevel is the least level registryd logs, from REGISTRY_LOG_LEVEL
// (debug, info, warn or error; info when unset).
func logLevel(getenv func(string) string) (slog.Level, error) {
	var l slog.Level
	if s := getenv("REGISTRY_LOG_LEVEL"); s != "" {
		if err := l.UnmarshalText([]byte(s)); err != nil {
			return l, fmt.Errorf("REGISTRY_LOG_LEVEL %q: want debug, info, warn or error", s)
		}
	}
	return l, nil
}

// riverLogger is the logger River's client gets: one level above the
// service's (warnings when the service logs from info), so that its
// routine lines (the leader's elections, its periodic jobs every few
// seconds) stay out of the default log, unless the service logs debug.
func riverLogger(log *slog.Logger) *slog.Logger {
	ctx := context.Background()
	least := slog.LevelError + 4
	for _, l := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
		if log.Enabled(ctx, l) {
			least = l
			break
		}
	}
	if least == slog.LevelDebug {
		return log
	}
	return slog.New(atLeast{log.Handler(), least + 4})
}

// atLeast passes on only the records at or above its level.
type atLeast struct {
	slog.Handler
	level slog.Level
}

func (h atLeast) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level && h.Handler.Enabled(ctx, l)
}

func (h atLeast) WithAttrs(attrs []slog.Attr) slog.Handler {
	return atLeast{h.Handler.WithAttrs(attrs), h.level}
}

func (h atLeast) WithGroup(name string) slog.Handler {
	return atLeast{h.Handler.WithGroup(name), h.level}
}
