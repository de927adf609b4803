// Command registryd serves the registry of security interests in movable
// property. `registryd migrate` only applies pending migrations.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/movable-registry/registry/internal/config"
	"github.com/movable-registry/registry/internal/httpapi"
	"github.com/movable-registry/registry/internal/postgres"
	"github.com/movable-registry/registry/internal/registry"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, log, os.Args[1:], os.Getenv); err != nil {
		log.Error("registryd", "error", err)
		os.Exit(1)
	}
}

// run serves until ctx ends (SIGINT or SIGTERM), then lets requests in
// flight finish.
func run(ctx context.Context, log *slog.Logger, args []string, getenv func(string) string) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}

	db, err := postgres.Open(cfg.DatabaseURL)
	if err != nil {
		return err
	}
	if sqlDB, err := db.DB(); err == nil {
		defer sqlDB.Close()
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
		ExtensionWindowDays: cfg.ExtensionWindowDays,
		SignInFailures:      cfg.SignIn.FailuresBeforeDelay, SignInMaxDelay: cfg.SignIn.MaxDelay,
	})
	if cfg.AdminToken == "" {
		log.Warn("REGISTRY_ADMIN_TOKEN is not set: no administrator can sign in")
	}
	metrics := prometheus.NewRegistry()
	metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv := &http.Server{
		Addr: cfg.Addr,
		Handler: httpapi.NewRouter(svc, httpapi.Options{
			MaxBodyBytes: cfg.MaxBodyBytes, Logger: log,
			Registerer: metrics, Gatherer: metrics,
			PerAddress:     httpapi.Limit(cfg.RateLimits.PerAddress),
			PerToken:       httpapi.Limit(cfg.RateLimits.PerToken),
			TrustedProxies: cfg.TrustedProxies,
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("registryd listening", "url", "http://"+ln.Addr().String())

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
