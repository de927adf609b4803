// Command registryd serves the registry of security interests in movable
// property. `registryd migrate` only applies pending migrations;
// `registryd keygen FILE` makes a key to sign the log's checkpoints with.
//
// On SIGINT or SIGTERM registryd stops its parts in this order, each once
// the one before has ended, since every part uses those after it:
//
//  1. draining: /readyz answers 503 for shutdown_grace while the instance
//     still serves, so that load balancers move away;
//  2. the HTTP server takes no more connections and finishes the requests
//     in flight (for up to shutdown_timeout);
//  3. refusals: the tallies of rate-limited requests write the counts
//     their timers were waiting to write, then the writer of late audit
//     entries gives what it still holds a last try (only requests refuse);
//  4. River's jobs (webhook deliveries, emails, the periodic tasks) stop,
//     then their pool closes;
//  5. the checkpoint signer stops;
//  6. the debug server (metrics, profiles) stops;
//  7. the store closes: the sequencer answers the writes it holds, their
//     batches are answered once on disk, the stamped searches' rows are
//     appended, and its followers (similar names, replicas, leadership)
//     stop;
//  8. the database pool closes.
//
// run keeps this order with its defers, which run last first.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/net/netutil"

	"github.com/movable-registry/registry/internal/certpdf"
	"github.com/movable-registry/registry/internal/config"
	"github.com/movable-registry/registry/internal/httpapi"
	"github.com/movable-registry/registry/internal/httpx"
	riverjobs "github.com/movable-registry/registry/internal/jobs"
	"github.com/movable-registry/registry/internal/outbound"
	"github.com/movable-registry/registry/internal/postgres"
	"github.com/movable-registry/registry/internal/registry"
	"github.com/movable-registry/registry/internal/translog"
	"github.com/movable-registry/registry/internal/web"
	"github.com/movable-registry/registry/internal/witness"
)

func main() {
	level, err := logLevel(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "registryd:", err)
		os.Exit(1)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, log, os.Args[1:], os.Getenv); err != nil {
		log.Error("registryd", "error", err)
		os.Exit(1)
	}
}

// usage is what registryd -h prints.
const usage = `registryd: the registry of security interests in movable property.

Usage:
  registryd                     migrate, then serve (until SIGINT or SIGTERM)
  registryd migrate             apply pending migrations only
  registryd bootstrap ...       make the first registry administrator (registryd bootstrap -h)
  registryd keygen [-name NAME] FILE
                                make a key to sign the log's checkpoints with
  registryd keygen-cert [-name NAME] KEYFILE CERTFILE
                                make a key and self-signed certificate to sign
                                PDF certificates with (enough for a trial)
  registryd healthcheck         exit 0 when the instance at REGISTRY_ADDR
                                answers GET /healthz with 200

Settings come from configs/registry.yaml (or the file REGISTRY_CONFIG
names), then the environment (DATABASE_URL, REGISTRY_*):
docs/configuration.md lists each with its default. Without DATABASE_URL,
make run starts a private PostgreSQL cluster under ./var and sets it.
`

// run serves until ctx ends (SIGINT or SIGTERM), then lets requests in
// flight finish.
func run(ctx context.Context, log *slog.Logger, args []string, getenv func(string) string) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help") {
		_, err := io.WriteString(os.Stdout, usage)
		return err
	}
	if len(args) > 0 && args[0] == "keygen" {
		return keygen(args[1:], os.Stdout)
	}
	if len(args) > 0 && args[0] == "keygen-cert" {
		return keygenCert(args[1:], os.Stdout)
	}
	if len(args) > 0 && args[0] == "healthcheck" {
		return healthcheck(ctx, getenv)
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}

	// Migrations may build indexes for longer than any statement of the
	// service may run: they have a pool of their own, without the timeout.
	n, err := migrate(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	log.Info("migrations applied", "count", n)
	db, err := postgres.Open(cfg.DatabaseURL, postgres.StatementTimeout(cfg.StatementTimeout), postgres.MaxConns(cfg.DatabaseMaxConns))
	if err != nil {
		return err
	}
	if sqlDB, err := db.DB(); err == nil {
		defer sqlDB.Close() // shutdown, step 8
	}
	if len(args) > 0 {
		switch args[0] {
		case "migrate":
			return nil
		case "bootstrap":
			store, err := postgres.New(db, time.Now)
			if err != nil {
				return err
			}
			defer store.Close()
			return bootstrap(ctx, registry.NewService(store, time.Now, registry.Config{}), store.UserCredentials, args[1:], os.Stdout)
		}
		return fmt.Errorf("unknown command %q (there are migrate, bootstrap, keygen, keygen-cert and healthcheck)", args[0])
	}

	skey, err := cfg.LogKey()
	if err != nil {
		return err
	}
	signer, vkey, err := translog.Signer(skey)
	if err != nil {
		return err
	}
	var prevSigner note.Signer
	var prevKey string
	if pkey, err := cfg.LogPreviousKey(); err != nil {
		return err
	} else if pkey != "" {
		if prevSigner, prevKey, err = translog.Signer(pkey); err != nil {
			return fmt.Errorf("log.previous_key_file: %w", err)
		}
		if prevKey == vkey {
			return errors.New("log.previous_key_file holds the same key as log.key_file: a rotation needs the new key in log.key_file and the old one in log.previous_key_file")
		}
	}
	store, err := postgres.New(db, time.Now, postgres.MaxBatch(cfg.Sequencer.MaxBatch), postgres.MaxWait(cfg.Sequencer.MaxWait),
		postgres.ListenOn(cfg.DatabaseURL))
	if err != nil {
		return err
	}
	// Shutdown, step 7: the store closes after everything that writes
	// through it has stopped, with every write it took answered.
	defer store.Close()
	if err := store.UseReplicas(cfg.DatabaseReplicaURLs, cfg.ReplicaMaxLag); err != nil {
		return err
	}
	for _, r := range store.Replicas() {
		log.Info("read replica", "name", r.Name, "address", r.Address, "in_use", r.InUse, "log_size", r.LogSize, "error", r.Error)
	}
	started := time.Now()
	names, err := store.LoadNames(ctx)
	if err != nil {
		return fmt.Errorf("similar names: %w", err)
	}
	log.Info("similar-names index built", "names", names.Names, "bytes", names.Bytes, "seconds", time.Since(started).Seconds())
	// The register's time never goes back, whatever the wall clock does.
	var witnesses []registry.Witness
	for i, w := range cfg.Log.Witnesses {
		c, err := witness.ParseClient(strings.TrimSpace(w), nil)
		if err != nil {
			return fmt.Errorf("log.witnesses[%d]: %w", i, err)
		}
		witnesses = append(witnesses, c)
	}
	cosignatures := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "registry_witness_cosignatures_total",
		Help: "Witnesses' answers to checkpoints: cosigned, or failed (refused, unreachable, too slow)."}, []string{"witness", "outcome"})
	onWitness := func(name string, err error) {
		if err != nil {
			log.Warn("a witness did not cosign the checkpoint", "witness", name, "error", err)
			cosignatures.WithLabelValues(name, "failed").Inc()
			return
		}
		cosignatures.WithLabelValues(name, "cosigned").Inc()
	}
	clock := registry.Monotonic(time.Now)
	svc := registry.NewService(store, clock.Now, registry.Config{
		AdminToken: cfg.AdminToken, TokenTTL: cfg.TokenTTL, SimilarNames: cfg.SimilarNames, PrincipalTTL: cfg.TokenCacheTTL,
		MaxResults: cfg.Search.MaxResults, MaxAnswerBytes: cfg.Search.MaxAnswerBytes,
		ExtensionWindowDays: cfg.ExtensionWindowDays,
		SignInFailures:      cfg.SignIn.FailuresBeforeDelay, SignInMaxDelay: cfg.SignIn.MaxDelay,
		PasswordHashers: cfg.SignIn.ConcurrentHashes, PasswordWait: cfg.SignIn.HashWait,
		IDNumberPerHour: cfg.Search.IDNumberPerHour, SignUpsPerHour: cfg.RateLimits.SignUpsPerHour,
		SharedSignIn:         sharedSignIn(cfg, store),
		CheckWebhookURL:      outbound.Guard{Allow: cfg.Webhooks.AllowHosts}.Check,
		ReminderDays:         cfg.Reminders.DaysBefore,
		IdempotencyRetention: cfg.Idempotency.Retention,
		LogSigner:            signer, LogVerifierKey: vkey, LogOrigin: cfg.LogOrigin(signer.Name()), Sandbox: cfg.Sandbox,
		LogPreviousSigner: prevSigner, LogPreviousVerifierKey: prevKey,
		Witnesses: witnesses, WitnessTimeout: cfg.Log.WitnessTimeout, OnWitness: onWitness,
		AttachmentsMaxBytes: cfg.Attachments.MaxBytes, AttachmentsUnnamedRetention: cfg.Attachments.UnnamedRetention,
		RetentionYears: cfg.Retention.YearsAfterEnd,
	})
	log.Info("log signing key loaded", "verifier_key", vkey)
	if cfg.Sandbox {
		log.Warn("sandbox: this is a test register; its pages and certificates say they prove nothing", "log_origin", cfg.LogOrigin(signer.Name()))
	}
	if prevKey != "" {
		log.Warn("log key rotation: checkpoints are signed by the new key and the previous one until log.previous_key_file is removed", "previous_verifier_key", prevKey)
	}
	// The key must be the one that signed the register: if not, the
	// instance stays unready and signs nothing (the checkpoint job says
	// why, once).
	if err := svc.CheckLogKey(ctx); err != nil && !errors.Is(err, registry.ErrLogKeyMismatch) {
		log.Warn("the log key could not be compared with the register's checkpoints", "error", err)
	}
	staff, err := svc.StaffOutsideRegistry(ctx)
	if err != nil {
		return fmt.Errorf("accounts: %w", err)
	}
	for _, u := range staff {
		log.Warn("a user holds a staff role outside the registry's own organizations: it cannot sign in or use a token until an admin moves it",
			"user_id", u.ID, "email", u.Email, "organization_id", u.OrganizationID, "roles", strings.Join(u.Roles, ","))
	}
	if cfg.AdminToken == "" {
		log.Warn("REGISTRY_ADMIN_TOKEN is not set: no administrator can sign in")
	}
	metrics := prometheus.NewRegistry()
	metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics.MustRegister(store.Collectors()...)
	metrics.MustRegister(cosignatures)
	if sqlDB, err := db.DB(); err == nil {
		// go_sql_*{db_name="registry"}: the requests' pool.
		metrics.MustRegister(collectors.NewDBStatsCollector(sqlDB, "registry"))
	}
	metrics.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "registry_clock_behind_seconds",
		Help: "How far the wall clock is behind the register's time, which stands still meanwhile (alert on any)."},
		func() float64 { return clock.Behind().Seconds() }))
	if cfg.DebugAddr != "" {
		stopDebug, err := serveDebug(cfg.DebugAddr, metrics, log)
		if err != nil {
			return err
		}
		defer stopDebug() // shutdown, step 6
	}
	// Shutdown, step 5: the checkpoint signer stops before the store.
	defer startJobs(svc, cfg.Log.CheckpointInterval, log, metrics)()
	// Notices delivered to webhooks, by River on the same database, through
	// a small pool of its own; shutdown, step 4: River stops, then its pool
	// closes.
	jobs, stopJobs := context.WithCancel(context.Background())
	defer stopJobs()
	jobsDB, err := postgres.Open(cfg.DatabaseURL, postgres.StatementTimeout(cfg.StatementTimeout), postgres.MaxConns(6))
	if err != nil {
		return err
	}
	jobsPool, err := jobsDB.DB()
	if err != nil {
		return err
	}
	defer jobsPool.Close()
	delivery, err := riverjobs.Start(jobs, store, riverjobs.Options{Log: riverLogger(log), DB: jobsPool,
		Guard: outbound.Guard{Allow: cfg.Webhooks.AllowHosts}, RetryBase: cfg.Webhooks.RetryBase,
		SMTP:  riverjobs.SMTP{Addr: cfg.SMTP.Addr, From: cfg.SMTP.From, PublicURL: cfg.Web.PublicURL},
		Tasks: tasks(svc, cfg.Log.DeadlineInterval, log, metrics), Metrics: metrics})
	if err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := delivery.Stop(ctx); err != nil {
			log.Warn("the delivery jobs did not stop cleanly", "error", err)
		}
	}()
	certificates, err := certificateMaker(cfg, store, log)
	if err != nil {
		return err
	}
	// The API and the pages share one writer of refusals' audit entries;
	// shutdown, step 3: it stops once the server has drained.
	refusals := httpx.NewRefusals(svc, log)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		refusals.Close(ctx)
	}()
	pages, err := web.New(svc, web.Options{Logger: log, PublicURL: cfg.Web.PublicURL, SecureCookies: cfg.Web.SecureCookies, Certificates: certificates,
		MaxBodyBytes: cfg.MaxBodyBytes, SessionTTL: cfg.Web.SessionTTL, Refusals: refusals})
	if err != nil {
		return err
	}
	draining := new(atomic.Bool)
	var shared httpx.RateStore
	if cfg.RateLimits.Shared {
		shared = store
	}
	srv := &http.Server{
		Addr: cfg.Addr,
		// The API and the pages are peers behind one handler, which gives
		// both their request ids, client addresses, limit per address,
		// headers and metrics.
		Handler: httpx.New(httpx.Options{
			Logger: log, Registerer: metrics, Gatherer: metrics,
			PerAddress:     httpx.Limit(cfg.RateLimits.PerAddress),
			TrustedProxies: cfg.TrustedProxies,
			MetricsToken:   cfg.MetricsToken,
			SharedLimits:   shared,
			Forwarding:     forwarding(cfg, store, log),
			MaxBodyBytes:   cfg.MaxBodyBytes,
			RequestTimeout: cfg.RequestTimeout,
			ExportTimeout:  cfg.ExportTimeout,
			LargeBodies:    cfg.LargeBodies.Concurrent,
		}, httpapi.NewRouter(svc, httpapi.Options{
			MaxBodyBytes: cfg.MaxBodyBytes, Logger: log,
			PerToken:     httpx.Limit(cfg.RateLimits.PerToken),
			Draining:     draining,
			SharedLimits: shared,
			Certificates: certificates,
			PublicURL:    cfg.Web.PublicURL,
			Refusals:     refusals,
		}), pages),
		// Each request's write deadline is set by the handler (httpx), from
		// request_timeout or export_timeout.
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	// At most so many connections at once (beyond it, new ones wait to be
	// accepted), and never more than the open files allow.
	maxConns := cfg.MaxConnections
	var limit syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &limit) == nil && limit.Cur > 1024 {
		maxConns = min(maxConns, int(limit.Cur)-512)
	}
	ln = netutil.LimitListener(ln, maxConns)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("registryd listening", "url", "http://"+ln.Addr().String(), "max_connections", maxConns)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Shutdown, step 1, draining: /readyz says 503 first, and the instance
	// keeps serving for shutdown_grace while load balancers move away; only
	// then (step 2) does it stop taking requests and finish those in
	// flight. The deferred steps follow.
	draining.Store(true)
	log.Info("draining: /readyz answers 503", "grace", cfg.ShutdownGrace)
	select {
	case err := <-errc:
		return err
	case <-time.After(cfg.ShutdownGrace):
	}
	log.Info("shutting down: finishing requests in flight", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// keygen writes a new log signing key to a file that must not exist yet, and
// prints its verifier key: "registryd keygen [-name NAME] FILE".
func keygen(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	name := fs.String("name", "movable-registry.local/log", "the log's name, which checkpoints carry as their origin")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: registryd keygen [-name NAME] FILE")
	}
	skey, vkey, err := translog.GenerateKey(*name, rand.Reader)
	if err != nil {
		return err
	}
	if err := writeNew(fs.Arg(0), []byte(skey+"\n"), 0o600); err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "log signing key written to %s\nverifier key: %s\n", fs.Arg(0), vkey)
	return err
}

// keygenCert writes a new document-signing key and a self-signed
// certificate for it, to files that must not exist yet: "registryd
// keygen-cert [-name NAME] KEYFILE CERTFILE". Enough for a trial; a register
// in service has its certificate issued by a CA its readers trust.
func keygenCert(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("keygen-cert", flag.ContinueOnError)
	name := fs.String("name", "Registry of Security Interests in Movable Property (trial)", "the signer's name in the certificate")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return errors.New("usage: registryd keygen-cert [-name NAME] KEYFILE CERTFILE")
	}
	key, cert, err := certpdf.SelfSigned(*name, time.Now())
	if err != nil {
		return err
	}
	for _, f := range []struct {
		path string
		body []byte
		mode os.FileMode
	}{{fs.Arg(0), key, 0o600}, {fs.Arg(1), cert, 0o644}} {
		if err := writeNew(f.path, f.body, f.mode); err != nil {
			return err
		}
	}
	_, err = fmt.Fprintf(out, "document-signing key written to %s, its self-signed certificate to %s\n"+
		"set certificates.signing_key and certificates.signing_cert (REGISTRY_CERT_SIGNING_KEY, REGISTRY_CERT_SIGNING_CERT) to them\n", fs.Arg(0), fs.Arg(1))
	return err
}

// writeNew writes a file that must not exist yet.
func writeNew(path string, body []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// certificateMaker makes the PDF certificates with the configured fonts and
// signing key, keeping each in the store. A missing font is logged at the
// start, not fatal: the rest of the register works, and PDFs answer 503
// until the fonts are installed.
func certificateMaker(cfg config.Config, store *postgres.Store, log *slog.Logger) (*certpdf.Maker, error) {
	fonts := cfg.Certificates.Fonts
	if len(fonts) == 0 {
		fonts = certpdf.DefaultFonts
	}
	if cfg.PDFFont != "" {
		fonts = append([]string{cfg.PDFFont}, fonts...)
	}
	opts := certpdf.Options{Fonts: fonts, Keeper: store, Concurrent: cfg.Certificates.Concurrent, Sandbox: cfg.Sandbox}
	if cfg.Certificates.SigningKey != "" {
		s, err := certpdf.LoadSigner(cfg.Certificates.SigningKey, cfg.Certificates.SigningCert)
		if err != nil {
			return nil, err
		}
		opts.Signer = s
		log.Info("PDF certificates are signed", "signer", s.Certificate().Subject.String(), "not_after", s.Certificate().NotAfter)
	} else {
		log.Warn("PDF certificates are not signed: set certificates.signing_key and certificates.signing_cert (registryd keygen-cert makes a pair for a trial)")
	}
	m := certpdf.New(opts)
	if err := m.Check(); err != nil {
		log.Warn("PDF certificates will answer 503", "error", err)
	}
	return m, nil
}

// healthcheck asks the registryd listening at REGISTRY_ADDR whether it is up
// (GET /healthz), for a container's HEALTHCHECK in an image with no shell
// and no curl: exit status 0 when it answers 200.
func healthcheck(ctx context.Context, getenv func(string) string) error {
	addr := getenv("REGISTRY_ADDR")
	if addr == "" {
		addr = config.Defaults().Addr
	}
	if host, port, err := net.SplitHostPort(addr); err == nil && (host == "" || host == "0.0.0.0" || host == "::") {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /healthz: %s", resp.Status)
	}
	return nil
}

// bootstrap opens an empty register to its operator: the registry's own
// organization and its first admin, whose one-time password it prints (it
// must be changed at the first sign-in, on the pages or with POST
// /api/v1/password). A register that has its organization already is left
// as it is, and said so (exit status 0), so that make run, a Kubernetes Job
// or compose can run it every time; and when the admin named by -email
// still has the one-time password it was given, bootstrap says that too
// (make run shows the sign-in only while it does).
func bootstrap(ctx context.Context, svc *registry.Service, credentials func(context.Context, string) (registry.Credentials, error), args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bootstrap", flag.ContinueOnError)
	name := fs.String("name", "动产融资统一登记公示系统", "the registry's own organization")
	uscc := fs.String("uscc", "91310000MA1FL0XQ17", "its Unified Social Credit Code")
	email := fs.String("email", "admin@registry.local", "the first admin's email, its sign-in")
	display := fs.String("display-name", "登记机构管理员", "the first admin's name")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, password, err := svc.Bootstrap(ctx, registry.OrganizationInput{Name: *name, USCC: *uscc}, *email, *display)
	if errors.Is(err, registry.ErrConflict) {
		fmt.Fprintln(out, "bootstrap: the register has its registry organization already; nothing made")
		if c, err := credentials(ctx, *email); err == nil && c.MustChangePassword {
			fmt.Fprintf(out, "bootstrap: the first admin %s has not yet replaced its one-time password\n", c.User.Email)
		}
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "first admin:  %s\none-time password: %s\n(it must be changed at the first sign-in: on the pages, or POST /api/v1/password)\n", u.Email, password)
	return nil
}

// sharedSignIn is where failed sign-ins are counted: in the database when
// the limits are shared between instances, else in this process (nil).
func sharedSignIn(cfg config.Config, store *postgres.Store) registry.SignInFailureStore {
	if cfg.RateLimits.Shared {
		return store
	}
	return nil
}

// forwarding makes this instance take part in choosing the instance that
// files every register write, when the instances know each other's
// addresses and share a secret (cluster.advertise_url, cluster.secret).
func forwarding(cfg config.Config, store *postgres.Store, log *slog.Logger) *httpx.Forwarding {
	if cfg.Cluster.AdvertiseURL == "" {
		return nil
	}
	store.Lead(cfg.Cluster.AdvertiseURL)
	log.Info("register writes go to the leading instance", "advertise_url", cfg.Cluster.AdvertiseURL)
	return &httpx.Forwarding{Secret: []byte(cfg.Cluster.Secret), Leader: store.Leader}
}

// migrate applies the pending migrations on a pool of its own.
func migrate(ctx context.Context, url string) (int, error) {
	db, err := postgres.Open(url, postgres.MaxConns(4))
	if err != nil {
		return 0, err
	}
	if sqlDB, err := db.DB(); err == nil {
		defer sqlDB.Close()
	}
	return postgres.Migrate(ctx, db)
}
