// Command registryd serves the registry of security interests in movable
// property. `registryd migrate` only applies pending migrations.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/movable-registry/registry/internal/config"
	"github.com/movable-registry/registry/internal/httpapi"
	"github.com/movable-registry/registry/internal/postgres"
	"github.com/movable-registry/registry/internal/registry"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log, os.Args[1:]); err != nil {
		log.Error("registryd", "error", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger, args []string) error {
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	db, err := postgres.Open(cfg.DatabaseURL)
	if err != nil {
		return err
	}
	n, err := postgres.Migrate(ctx, db)
	if err != nil {
		return err
	}
	log.Info("migrations applied", "count", n)
	if len(args) > 0 {
		if args[0] == "migrate" {
			return nil
		}
		return fmt.Errorf("unknown command %q (the only one is migrate)", args[0])
	}

	store, err := postgres.New(db, time.Now)
	if err != nil {
		return err
	}
	svc := registry.NewService(store, time.Now, registry.Config{
		AdminToken: cfg.AdminToken, TokenTTL: cfg.TokenTTL, SimilarNames: cfg.SimilarNames,
	})
	if cfg.AdminToken == "" {
		log.Warn("REGISTRY_ADMIN_TOKEN is not set: no administrator can sign in")
	}
	srv := &http.Server{
		Addr: cfg.Addr,
		Handler: httpapi.NewRouter(svc, httpapi.Options{
			MaxBodyBytes: cfg.MaxBodyBytes, Logger: log,
			Registerer: prometheus.DefaultRegisterer, Gatherer: prometheus.DefaultGatherer,
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("registryd listening", "url", "http://"+cfg.Addr)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests in flight", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
