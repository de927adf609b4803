// Package config loads the service's settings: defaults, then
// configs/registry.yaml (or REGISTRY_CONFIG), then the environment.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is every setting of registryd.
type Config struct {
	Addr        string `yaml:"addr"`
	DatabaseURL string `yaml:"database_url"`
	AdminToken  string `yaml:"admin_token"`
	// DatabaseReplicaURLs are streaming standbys of DATABASE_URL's primary
	// that reads which need not see the newest write may go to; a replica
	// that lags more than ReplicaMaxLag is left out until it catches up.
	DatabaseReplicaURLs []string      `yaml:"database_replica_urls"`
	ReplicaMaxLag       time.Duration `yaml:"replica_max_lag"`
	// MaxConnections bounds the clients' connections at once (20,000, and
	// never more than the open-file limit allows); beyond it, new ones wait.
	MaxConnections int `yaml:"max_connections"`
	// DatabaseMaxConns bounds the connections to the primary (32).
	DatabaseMaxConns int `yaml:"database_max_conns"`
	// StatementTimeout makes PostgreSQL cancel a statement that runs
	// longer (0: the server's own setting); migrations and the similar
	// names index's first load are bounded by their deadlines instead.
	StatementTimeout time.Duration `yaml:"statement_timeout"`
	// RequestTimeout bounds how long a request may take, its database work
	// included (cancelled in PostgreSQL when it passes); ExportTimeout
	// bounds a streamed export instead.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	ExportTimeout  time.Duration `yaml:"export_timeout"`
	TokenTTL       time.Duration `yaml:"token_ttl"`
	// TokenCacheTTL is how long a token's holder is remembered between
	// lookups; another instance's revocations take effect within it.
	TokenCacheTTL time.Duration `yaml:"token_cache_ttl"`
	MaxBodyBytes  int64         `yaml:"max_body_bytes"`
	// LargeBodies bounds the bodies over 1 MiB (bulk filing, attachments,
	// the bulk page) read at once: each may hold tens of MiB while it is
	// decoded; beyond it, 503 with Retry-After.
	LargeBodies struct {
		Concurrent int `yaml:"concurrent"`
	} `yaml:"large_bodies"`
	SimilarNames int `yaml:"similar_names"`
	// Search bounds a search's answer; the rest is paged from the stored search.
	Search struct {
		MaxResults     int `yaml:"max_results"`
		MaxAnswerBytes int `yaml:"max_answer_bytes"`
		// IDNumberPerHour caps one searcher's searches by identity number
		// in any hour.
		IDNumberPerHour int `yaml:"id_number_per_hour"`
	} `yaml:"search"`
	// ExtensionWindowDays is how many days before expiry a registration may
	// be extended; 0 means at any time while it is effective.
	ExtensionWindowDays int `yaml:"extension_window_days"`
	// Retention is how long the register keeps individuals' personal data.
	Retention struct {
		// YearsAfterEnd is how many years after a registration ended
		// (expired, cancelled or revoked) a job erases its individuals'
		// names, identity numbers and addresses (15).
		YearsAfterEnd int `yaml:"years_after_end"`
	} `yaml:"retention"`
	// RateLimits bound how often one address and one token may call the API.
	RateLimits struct {
		PerAddress Rate `yaml:"per_address"`
		PerToken   Rate `yaml:"per_token"`
		// SignUpsPerHour caps unauthenticated sign-ups from one address.
		SignUpsPerHour int `yaml:"sign_ups_per_hour"`
		// Shared keeps the limits per address and per token in the
		// database, so that several instances enforce one limit.
		Shared bool `yaml:"shared"`
	} `yaml:"rate_limits"`
	// MetricsToken, when set, lets /metrics on the service's address answer
	// a request that sends it as a bearer token; unset, /metrics is served
	// only on debug_addr.
	MetricsToken string `yaml:"metrics_token"`
	// TrustedProxies are the addresses or CIDR ranges of reverse proxies whose
	// X-Forwarded-For names the client; by default none, and the client is
	// the peer. Rate limits, sign-in slowdown and the audit trail use it.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// SignIn slows down guessing of passwords.
	SignIn struct {
		// FailuresBeforeDelay is how many failed sign-ins an account may have
		// before each further attempt waits (an address four times as many).
		FailuresBeforeDelay int           `yaml:"failures_before_delay"`
		MaxDelay            time.Duration `yaml:"max_delay"`
		// ConcurrentHashes bounds the password hashes (19 MiB of memory
		// each) computed at once, by default the number of CPUs; a sign-in
		// that waits longer than HashWait for a turn is 503.
		ConcurrentHashes int           `yaml:"concurrent_hashes"`
		HashWait         time.Duration `yaml:"hash_wait"`
	} `yaml:"sign_in"`
	// Web is the HTML interface at /.
	Web struct {
		// PublicURL is the registry's address as printed certificates give
		// it (their QR codes); by default the address each request came to.
		PublicURL string `yaml:"public_url"`
		// SecureCookies marks cookies Secure behind a proxy that ends TLS.
		SecureCookies bool `yaml:"secure_cookies"`
		// SessionTTL is how long a sign-in on the pages lasts.
		SessionTTL time.Duration `yaml:"session_ttl"`
	} `yaml:"web"`
	// Log is the Merkle log's signing and the jobs that keep it current.
	Log struct {
		// KeyFile holds the note private key that signs checkpoints
		// ("registryd keygen FILE" makes one); REGISTRY_LOG_KEY, the key
		// itself, takes its place.
		KeyFile string `yaml:"key_file"`
		Key     string `yaml:"-"`
		// PreviousKeyFile holds the key that signed the register before a
		// rotation (REGISTRY_LOG_PREVIOUS_KEY_FILE): while it is set, each
		// checkpoint is signed by both keys (docs/keys.md).
		PreviousKeyFile string `yaml:"previous_key_file"`
		// Origin names the log in checkpoints; by default the key's name.
		Origin string `yaml:"origin"`
		// CheckpointInterval is how often a new checkpoint is signed while
		// there are new events.
		CheckpointInterval time.Duration `yaml:"checkpoint_interval"`
		// DeadlineInterval is how often expiries and lapses are looked for
		// and recorded as events.
		DeadlineInterval time.Duration `yaml:"deadline_interval"`
		// Witnesses cosign each checkpoint (C2SP tlog-witness), each named
		// "<cosignature verifier key>=<submission URL>"
		// (REGISTRY_WITNESSES, comma-separated); WitnessTimeout bounds
		// each request (default 5 s).
		Witnesses      []string      `yaml:"witnesses"`
		WitnessTimeout time.Duration `yaml:"witness_timeout"`
	} `yaml:"log"`
	// ShutdownTimeout bounds how long requests in flight may finish after
	// SIGINT or SIGTERM.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// ShutdownGrace is how long, after SIGTERM, the instance keeps serving
	// with /readyz answering 503, so that load balancers stop sending it
	// requests before it stops taking them.
	ShutdownGrace time.Duration `yaml:"shutdown_grace"`
	// Sequencer batches the register's writes into shared transactions.
	Sequencer struct {
		// MaxBatch bounds the writes in one transaction.
		MaxBatch int `yaml:"max_batch"`
		// MaxWait is how long a batch that is not full waits for more
		// writes; 0 takes what is waiting.
		MaxWait time.Duration `yaml:"max_wait"`
	} `yaml:"sequencer"`
	// Cluster, when AdvertiseURL is set, makes the instances on one
	// database pass their register writes to the one that leads (chosen by
	// an advisory lock), so that one sequencer batches them all.
	Cluster struct {
		// AdvertiseURL is this instance's base URL as the others reach it
		// (http://10.0.0.5:8080).
		AdvertiseURL string `yaml:"advertise_url"`
		// Secret signs the writes passed between instances (at least 32
		// characters, the same on every instance).
		Secret string `yaml:"secret"`
	} `yaml:"cluster"`
	// Webhooks are organizations' addresses for their notices.
	Webhooks struct {
		// AllowHosts are hosts, host:ports and CIDR ranges that webhooks may
		// name although they are private, loopback or link-local (plain
		// http too); by default none.
		AllowHosts []string `yaml:"allow_hosts"`
		// RetryBase is the delay before a failed delivery's first retry;
		// each doubles up to an hour, for 24 hours.
		RetryBase time.Duration `yaml:"retry_base"`
	} `yaml:"webhooks"`
	// Idempotency is how long Idempotency-Keys replay their first answers.
	Idempotency struct {
		// Retention: after it a key is new again, and a job purges it with
		// its sealed answer (24 h).
		Retention time.Duration `yaml:"retention"`
	} `yaml:"idempotency"`
	// Attachments are the files organizations upload to name in filings.
	Attachments struct {
		// MaxBytes is how many bytes of attachments one organization may
		// hold, named or not (1 GiB): beyond it an upload is 409
		// quota_exceeded.
		MaxBytes int64 `yaml:"max_bytes"`
		// UnnamedRetention is how long an upload that no filing or
		// amendment names is kept before a job removes it (7 days).
		UnnamedRetention time.Duration `yaml:"unnamed_retention"`
	} `yaml:"attachments"`
	// PDFFont, when set, is a TrueType font the PDF certificates ask first
	// for each character, before Certificates.Fonts (REGISTRY_PDF_FONT).
	PDFFont string `yaml:"pdf_font"`
	// Certificates are the PDF certificates.
	Certificates struct {
		// SigningKey and SigningCert are PEM files: the registry's
		// document-signing key and its certificate (with the chain that
		// issued it), which sign every PDF certificate
		// (REGISTRY_CERT_SIGNING_KEY, REGISTRY_CERT_SIGNING_CERT;
		// "registryd keygen-cert KEY CERT" makes a self-signed pair for a
		// trial). Unset, certificates are not signed.
		SigningKey  string `yaml:"signing_key"`
		SigningCert string `yaml:"signing_cert"`
		// Fonts are the TrueType fonts drawn with, asked in order for each
		// character (REGISTRY_CERT_FONTS, comma-separated; by default
		// Debian's DejaVu Sans, Droid Sans Fallback and Hanazono).
		Fonts []string `yaml:"fonts"`
		// Concurrent bounds the certificates made at once (default: the
		// number of CPUs).
		Concurrent int `yaml:"concurrent"`
	} `yaml:"certificates"`
	// Reminders are the expiry reminders to each registration's controller.
	Reminders struct {
		// DaysBefore are how many days before its expiry a registration's
		// controller is reminded, once each (default 90, 30 and 7);
		// REGISTRY_REMINDER_DAYS gives them comma-separated.
		DaysBefore []int `yaml:"days_before"`
	} `yaml:"reminders"`
	// SMTP sends notices by email to users who asked for them (none when
	// Addr is unset).
	SMTP struct {
		Addr string `yaml:"addr"`
		From string `yaml:"from"`
	} `yaml:"smtp"`
	// DebugAddr, when set, serves Go's profiler (/debug/pprof/) on its own
	// address, never on the service's.
	DebugAddr string `yaml:"debug_addr"`
	// Sandbox runs a register for integrators to try against
	// (REGISTRY_SANDBOX): every page, certificate and PDF says it is a test
	// register whose certificates prove nothing, GET /certificates answers
	// sandbox: true, and its checkpoints' origin ends in "/sandbox", so that
	// nothing it issues can pass for the real register's.
	Sandbox bool `yaml:"sandbox"`
}

// SandboxOriginSuffix ends a sandbox's log origin: a verifier that pins the
// real register's origin refuses its checkpoints.
const SandboxOriginSuffix = "/sandbox"

// LogOrigin is the origin the log's checkpoints name: the configured one, or
// the key's name (keyName), with SandboxOriginSuffix on a sandbox.
func (c Config) LogOrigin(keyName string) string {
	o := c.Log.Origin
	if o == "" {
		o = keyName
	}
	if c.Sandbox && !strings.HasSuffix(o, SandboxOriginSuffix) {
		o += SandboxOriginSuffix
	}
	return o
}

// Rate is a request rate limit: Rate a second on average, bursts of Burst.
// A zero Rate is no limit.
type Rate struct {
	Rate  float64 `yaml:"rate"`
	Burst int     `yaml:"burst"`
}

// parseRate reads "RATE/BURST" (or "off").
func parseRate(v string) (Rate, error) {
	if v == "off" || v == "0" {
		return Rate{}, nil
	}
	r, b, ok := strings.Cut(v, "/")
	rate, err1 := strconv.ParseFloat(r, 64)
	burst, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || rate <= 0 || burst < 1 {
		return Rate{}, fmt.Errorf("%q is not RATE/BURST (such as 50/100) or off", v)
	}
	return Rate{Rate: rate, Burst: burst}, nil
}

// check says what is wrong with a limit from the settings file.
func (r Rate) check() error {
	if r.Rate < 0 || (r.Rate > 0 && r.Burst < 1) {
		return errors.New("rate may not be negative, and a limit needs a burst of at least 1")
	}
	return nil
}

// Load reads the settings: the defaults, then the settings file
// (REGISTRY_CONFIG, or configs/registry.yaml when it exists), then the
// environment; then each setting's rule. getenv is os.Getenv outside tests.
func Load(getenv func(string) string) (Config, error) {
	c := Defaults()
	path := getenv("REGISTRY_CONFIG")
	explicit := path != ""
	if !explicit {
		path = "configs/registry.yaml"
	}
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := yaml.Unmarshal(b, &c); err != nil {
			return c, fmt.Errorf("%s: %w", path, err)
		}
	case errors.Is(err, fs.ErrNotExist) && !explicit:
	default:
		return c, err
	}
	if err := fromEnvironment(&c, getenv); err != nil {
		return c, err
	}
	return c, checked(&c)
}

// LogPreviousKey is the note private key that signed the log's checkpoints
// before a rotation, from log.previous_key_file ("" when not set).
func (c Config) LogPreviousKey() (string, error) {
	if c.Log.PreviousKeyFile == "" {
		return "", nil
	}
	b, err := os.ReadFile(c.Log.PreviousKeyFile)
	if err != nil {
		return "", fmt.Errorf("log.previous_key_file: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// LogKey is the note private key that signs the log's checkpoints: the
// REGISTRY_LOG_KEY setting, or else the contents of log.key_file.
func (c Config) LogKey() (string, error) {
	if c.Log.Key != "" {
		return c.Log.Key, nil
	}
	if c.Log.KeyFile == "" {
		return "", errors.New("no log signing key: set REGISTRY_LOG_KEY or log.key_file (registryd keygen FILE makes one)")
	}
	b, err := os.ReadFile(c.Log.KeyFile)
	if err != nil {
		return "", fmt.Errorf("log.key_file: %w (registryd keygen %s makes one; make run does it on first start)", err, c.Log.KeyFile)
	}
	return strings.TrimSpace(string(b)), nil
}
