// Package registrytest wires a registry for tests as registryd does: a
// fresh database (pgtest), the PostgreSQL store, a log signing key made for
// the test, the service, and the API behind the HTTP front. Tests change
// what they need through options and keep the parts to look into. Tests
// that run the commands themselves get them from Program.
package registrytest

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/certpdf"
	"github.com/movable-registry/registry/internal/httpapi"
	"github.com/movable-registry/registry/internal/httpx"
	"github.com/movable-registry/registry/internal/pgtest"
	"github.com/movable-registry/registry/internal/postgres"
	"github.com/movable-registry/registry/internal/registry"
	"github.com/movable-registry/registry/internal/translog"
)

// AdminToken is the bootstrap administrator's token of a test register.
const AdminToken = "test-admin-token-0123456789abcdef0123456789"

// LogName is the name the test log's key signs under.
const LogName = "test.registry/log"

// Register is a registry service on a fresh database of the test's own.
type Register struct {
	// URL is the database's connection URL, for the test's own queries.
	URL   string
	Store *postgres.Store
	// Service is the registry; Config is its configuration, with the log
	// key made for the test (a restarted service takes the same).
	Service *registry.Service
	Config  registry.Config
	// Now is the register's clock.
	Now func() time.Time
}

// Option changes how New wires the register.
type Option func(*settings)

type settings struct {
	now       func() time.Time
	configure []func(*registry.Config)
}

// Clock gives the register a clock of the test's (time.Now otherwise).
func Clock(now func() time.Time) Option { return func(s *settings) { s.now = now } }

// Configure changes the service's configuration before it starts; the
// configuration starts with AdminToken and a fresh log key.
func Configure(f func(*registry.Config)) Option {
	return func(s *settings) { s.configure = append(s.configure, f) }
}

// New makes a register on a fresh, migrated database, removed when t ends.
func New(t testing.TB, opts ...Option) *Register {
	t.Helper()
	s := settings{now: time.Now}
	for _, o := range opts {
		o(&s)
	}
	url := pgtest.URL(t)
	signer, vkey, err := translog.NewSigner(LogName)
	if err != nil {
		t.Fatal(err)
	}
	cfg := registry.Config{AdminToken: AdminToken, LogSigner: signer, LogVerifierKey: vkey, PasswordCost: CheapPasswords}
	for _, f := range s.configure {
		f(&cfg)
	}
	store, svc := Service(t, url, s.now, cfg)
	return &Register{URL: url, Store: store, Service: svc, Config: cfg, Now: s.now}
}

// Restart is a new store and service on the register's database, as a
// restarted registryd would have, with the same configuration.
func (r *Register) Restart(t testing.TB) *registry.Service {
	t.Helper()
	_, svc := Service(t, r.URL, r.Now, r.Config)
	return svc
}

// Service is a store on the existing database at url, through a test's
// small pool (pgtest.MaxConns, closed when t ends), and a service over it
// with configuration cfg.
func Service(t testing.TB, url string, now func() time.Time, cfg registry.Config) (*postgres.Store, *registry.Service) {
	t.Helper()
	gdb, err := postgres.Open(url, postgres.MaxConns(pgtest.MaxConns))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if d, err := gdb.DB(); err == nil {
			d.Close()
		}
	})
	store, err := postgres.New(gdb, now)
	if err != nil {
		t.Fatal(err)
	}
	return store, registry.NewService(store, now, cfg)
}

// Logger is where the wiring logs: nowhere, or to stderr when TEST_LOG is
// set.
func Logger() *slog.Logger {
	var to io.Writer = io.Discard
	if os.Getenv("TEST_LOG") != "" {
		to = os.Stderr
	}
	return slog.New(slog.NewTextHandler(to, nil))
}

// Handler is svc's API behind the HTTP front, with pages (the web site)
// when not nil, as registryd serves them. A nil logger in either options is
// Logger().
func Handler(svc *registry.Service, front httpx.Options, api httpapi.Options, pages http.Handler) http.Handler {
	if front.Logger == nil {
		front.Logger = Logger()
	}
	if api.Logger == nil {
		api.Logger = Logger()
	}
	return httpx.New(front, httpapi.NewRouter(svc, api), pages)
}

// Serve serves the register's API over HTTP on loopback until t ends.
func (r *Register) Serve(t testing.TB) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(Handler(r.Service, httpx.Options{}, httpapi.Options{}, nil))
	t.Cleanup(srv.Close)
	return srv
}

var signer = sync.OnceValues(func() (*certpdf.Signer, error) {
	key, cert, err := certpdf.SelfSigned("Test Registry", time.Now())
	if err != nil {
		return nil, err
	}
	return certpdf.ParseSigner(key, cert)
})

// Signer is a document-signing key and self-signed certificate for the
// certificates of tests, made once for the test binary.
func Signer(t testing.TB) *certpdf.Signer {
	t.Helper()
	s, err := signer()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// CheapPasswords is the password hashing of the tests' registers: argon2id
// all the same, at a sliver of the registry's cost (64 KiB, one pass), since
// tests make hundreds of accounts and sign-ins and measured half their CPU
// in hashing. A test of what the real cost does (hashes waiting their turn)
// sets auth.DefaultPasswordCost back.
var CheapPasswords = auth.PasswordCost{Time: 1, MemoryKiB: 64}
