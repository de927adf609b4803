// Package config loads the service's settings: defaults, then
// configs/registry.yaml (or REGISTRY_CONFIG), then the environment.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/mail"
	"net/url"
	"os"
	"runtime"
	"slices"
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
func parseRate(name, v string) (Rate, error) {
	if v == "off" || v == "0" {
		return Rate{}, nil
	}
	r, b, ok := strings.Cut(v, "/")
	rate, err1 := strconv.ParseFloat(r, 64)
	burst, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || rate <= 0 || burst < 1 {
		return Rate{}, fmt.Errorf("%s: %q is not RATE/BURST (such as 50/100) or off", name, v)
	}
	return Rate{Rate: rate, Burst: burst}, nil
}

// Defaults are the settings before any file or variable.
func Defaults() Config {
	c := Config{
		Addr:                "127.0.0.1:8080",
		TokenTTL:            30 * 24 * time.Hour,
		TokenCacheTTL:       time.Second,
		MaxBodyBytes:        1 << 20,
		SimilarNames:        5,
		ExtensionWindowDays: 90,
		ShutdownTimeout:     20 * time.Second,
		ShutdownGrace:       5 * time.Second,
		ReplicaMaxLag:       5 * time.Second,
		DatabaseMaxConns:    32,
		MaxConnections:      20000,
		StatementTimeout:    time.Minute,
		RequestTimeout:      30 * time.Second,
		ExportTimeout:       30 * time.Minute,
	}
	c.Reminders.DaysBefore = []int{90, 30, 7}
	c.Idempotency.Retention = 24 * time.Hour
	c.Attachments.MaxBytes, c.Attachments.UnnamedRetention = 1<<30, 7*24*time.Hour
	c.Webhooks.RetryBase = 10 * time.Second
	c.Search.MaxResults, c.Search.MaxAnswerBytes = 1000, 4<<20
	c.Search.IDNumberPerHour = 60
	c.RateLimits.SignUpsPerHour = 10
	c.SignIn.ConcurrentHashes = runtime.NumCPU()
	c.LargeBodies.Concurrent = runtime.NumCPU()
	c.SignIn.HashWait = 2 * time.Second
	c.RateLimits.PerAddress = Rate{Rate: 200, Burst: 400}
	c.RateLimits.PerToken = Rate{Rate: 50, Burst: 100}
	c.SignIn.FailuresBeforeDelay = 5
	c.SignIn.MaxDelay = 15 * time.Minute
	c.Log.CheckpointInterval = time.Second
	c.Log.DeadlineInterval = time.Minute
	c.Sequencer.MaxBatch = 256
	return c
}

// Load reads the settings; getenv is os.Getenv outside tests.
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
	str := map[string]*string{
		"DATABASE_URL":                   &c.DatabaseURL,
		"REGISTRY_ADDR":                  &c.Addr,
		"REGISTRY_ADMIN_TOKEN":           &c.AdminToken,
		"REGISTRY_LOG_KEY":               &c.Log.Key,
		"REGISTRY_LOG_KEY_FILE":          &c.Log.KeyFile,
		"REGISTRY_LOG_PREVIOUS_KEY_FILE": &c.Log.PreviousKeyFile,
		"REGISTRY_LOG_ORIGIN":            &c.Log.Origin,
		"REGISTRY_DEBUG_ADDR":            &c.DebugAddr,
		"REGISTRY_METRICS_TOKEN":         &c.MetricsToken,
		"REGISTRY_ADVERTISE_URL":         &c.Cluster.AdvertiseURL,
		"REGISTRY_SMTP_ADDR":             &c.SMTP.Addr, "REGISTRY_SMTP_FROM": &c.SMTP.From,
		"REGISTRY_CLUSTER_SECRET": &c.Cluster.Secret,
	}
	for k, p := range str {
		if v := getenv(k); v != "" {
			*p = v
		}
	}
	var replicas string // DATABASE_REPLICA_URLS, from the variable or its file
	// Secrets may come as files (Docker and Kubernetes secrets): the
	// variable's name with _FILE names the file that holds the value.
	for _, k := range []string{"REGISTRY_ADMIN_TOKEN", "REGISTRY_METRICS_TOKEN", "DATABASE_URL", "DATABASE_REPLICA_URLS", "REGISTRY_CLUSTER_SECRET"} {
		file := getenv(k + "_FILE")
		if file == "" || getenv(k) != "" {
			continue
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return c, fmt.Errorf("%s_FILE: %w", k, err)
		}
		if k == "DATABASE_REPLICA_URLS" {
			replicas = strings.TrimSpace(string(b))
			continue
		}
		*str[k] = strings.TrimSpace(string(b))
	}
	durations := map[string]*time.Duration{"REGISTRY_TOKEN_TTL": &c.TokenTTL, "REGISTRY_TOKEN_CACHE_TTL": &c.TokenCacheTTL, "REGISTRY_SHUTDOWN_TIMEOUT": &c.ShutdownTimeout,
		"REGISTRY_SHUTDOWN_GRACE": &c.ShutdownGrace, "REGISTRY_REPLICA_MAX_LAG": &c.ReplicaMaxLag, "REGISTRY_WEBHOOK_RETRY_BASE": &c.Webhooks.RetryBase,
		"REGISTRY_CHECKPOINT_INTERVAL": &c.Log.CheckpointInterval, "REGISTRY_DEADLINE_INTERVAL": &c.Log.DeadlineInterval,
		"REGISTRY_SEQUENCER_MAX_WAIT": &c.Sequencer.MaxWait, "REGISTRY_STATEMENT_TIMEOUT": &c.StatementTimeout,
		"REGISTRY_REQUEST_TIMEOUT": &c.RequestTimeout, "REGISTRY_EXPORT_TIMEOUT": &c.ExportTimeout,
		"REGISTRY_IDEMPOTENCY_RETENTION": &c.Idempotency.Retention, "REGISTRY_ATTACHMENTS_UNNAMED_RETENTION": &c.Attachments.UnnamedRetention}
	for k, p := range durations {
		if v := getenv(k); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				return c, fmt.Errorf("%s: %w", k, err)
			}
			*p = d
		}
	}
	if v := getenv("REGISTRY_MAX_BODY_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return c, fmt.Errorf("REGISTRY_MAX_BODY_BYTES: %q is not a positive number", v)
		}
		c.MaxBodyBytes = n
	}
	if v := getenv("REGISTRY_ATTACHMENTS_MAX_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return c, fmt.Errorf("REGISTRY_ATTACHMENTS_MAX_BYTES: %q is not a positive number", v)
		}
		c.Attachments.MaxBytes = n
	}
	if v := getenv("REGISTRY_LARGE_BODIES_CONCURRENT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return c, fmt.Errorf("REGISTRY_LARGE_BODIES_CONCURRENT: %q is not a number", v)
		}
		c.LargeBodies.Concurrent = n
	}
	if v := getenv("REGISTRY_MAX_CONNECTIONS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return c, fmt.Errorf("REGISTRY_MAX_CONNECTIONS: %q is not a number", v)
		}
		c.MaxConnections = n
	}
	if v := getenv("REGISTRY_DATABASE_MAX_CONNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return c, fmt.Errorf("REGISTRY_DATABASE_MAX_CONNS: %q is not a number", v)
		}
		c.DatabaseMaxConns = n
	}
	if v := getenv("REGISTRY_SEQUENCER_MAX_BATCH"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return c, fmt.Errorf("REGISTRY_SEQUENCER_MAX_BATCH: %q is not a number", v)
		}
		c.Sequencer.MaxBatch = n
	}
	if v := getenv("REGISTRY_EXTENSION_WINDOW_DAYS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return c, fmt.Errorf("REGISTRY_EXTENSION_WINDOW_DAYS: %q is not a number of days", v)
		}
		c.ExtensionWindowDays = n
	}
	if v := getenv("REGISTRY_PDF_FONT"); v != "" {
		c.PDFFont = v
	}
	if v := getenv("REGISTRY_CERT_SIGNING_KEY"); v != "" {
		c.Certificates.SigningKey = v
	}
	if v := getenv("REGISTRY_CERT_SIGNING_CERT"); v != "" {
		c.Certificates.SigningCert = v
	}
	if v := getenv("REGISTRY_CERT_FONTS"); v != "" {
		c.Certificates.Fonts = strings.Split(v, ",")
	}
	if (c.Certificates.SigningKey == "") != (c.Certificates.SigningCert == "") {
		return c, errors.New("certificates.signing_key and certificates.signing_cert (REGISTRY_CERT_SIGNING_KEY, REGISTRY_CERT_SIGNING_CERT) are set together or not at all")
	}
	if c.Certificates.Concurrent < 0 {
		return c, errors.New("certificates.concurrent must not be negative")
	}
	if v := getenv("REGISTRY_PUBLIC_URL"); v != "" {
		c.Web.PublicURL = v
	}
	if v := getenv("REGISTRY_RATE_SHARED"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("REGISTRY_RATE_SHARED: %q is not true or false", v)
		}
		c.RateLimits.Shared = b
	}
	if v := getenv("REGISTRY_SANDBOX"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("REGISTRY_SANDBOX: %q is not true or false", v)
		}
		c.Sandbox = b
	}
	if v := getenv("REGISTRY_SECURE_COOKIES"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("REGISTRY_SECURE_COOKIES: %q is not true or false", v)
		}
		c.Web.SecureCookies = b
	}
	if v := getenv("REGISTRY_SESSION_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return c, fmt.Errorf("REGISTRY_SESSION_TTL: %q is not a positive duration", v)
		}
		c.Web.SessionTTL = d
	}
	if u := c.Web.PublicURL; u != "" && !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
		return c, fmt.Errorf("web.public_url: %q must begin with https:// or http://", u)
	}
	if v := getenv("DATABASE_REPLICA_URLS"); v != "" {
		replicas = v
	}
	if replicas != "" {
		c.DatabaseReplicaURLs = strings.FieldsFunc(replicas, func(r rune) bool { return r == ',' || r == '\n' })
	}
	for i, u := range c.DatabaseReplicaURLs {
		c.DatabaseReplicaURLs[i] = strings.TrimSpace(u)
		if p, err := url.Parse(c.DatabaseReplicaURLs[i]); err != nil || (p.Scheme != "postgres" && p.Scheme != "postgresql") {
			return c, fmt.Errorf("database_replica_urls[%d]: not a postgres:// address", i)
		}
	}
	if u := c.Cluster.AdvertiseURL; u != "" {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || (p.Path != "" && p.Path != "/") {
			return c, fmt.Errorf("cluster.advertise_url: %q is not an instance's base URL (http://host:port)", u)
		}
		c.Cluster.AdvertiseURL = p.Scheme + "://" + p.Host
		if len(c.Cluster.Secret) < 32 {
			return c, errors.New("cluster.secret (REGISTRY_CLUSTER_SECRET) must have at least 32 characters when cluster.advertise_url is set")
		}
	}
	if c.Webhooks.RetryBase < 10*time.Millisecond || c.Webhooks.RetryBase > time.Hour {
		return c, errors.New("webhooks.retry_base must be 10ms to 1h")
	}
	if c.SMTP.Addr != "" {
		if _, port, err := net.SplitHostPort(c.SMTP.Addr); err != nil || port == "" {
			return c, fmt.Errorf("smtp.addr: %q is not host:port", c.SMTP.Addr)
		}
		if _, err := mail.ParseAddress(c.SMTP.From); err != nil {
			return c, fmt.Errorf("smtp.from: %q is not an email address", c.SMTP.From)
		}
	}
	if v := getenv("REGISTRY_REMINDER_DAYS"); v != "" {
		c.Reminders.DaysBefore = nil
		for _, f := range strings.Split(v, ",") {
			d, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				return c, fmt.Errorf("REGISTRY_REMINDER_DAYS: %q is not a whole number of days", f)
			}
			c.Reminders.DaysBefore = append(c.Reminders.DaysBefore, d)
		}
	}
	for i, d := range c.Reminders.DaysBefore {
		if d < 1 || d > 3650 || slices.Contains(c.Reminders.DaysBefore[:i], d) {
			return c, fmt.Errorf("reminders.days_before: %d must be 1 to 3650 days, each once", d)
		}
	}
	if c.Idempotency.Retention < time.Hour {
		return c, errors.New("idempotency.retention must be at least 1h")
	}
	// A quota below one largest attachment would refuse every upload.
	if c.Attachments.MaxBytes < 10<<20 {
		return c, errors.New("attachments.max_bytes must be at least 10485760 (one 10 MiB attachment)")
	}
	// An upload is made to be named by a filing soon after: a retention
	// shorter than an hour would remove files being named.
	if c.Attachments.UnnamedRetention < time.Hour {
		return c, errors.New("attachments.unnamed_retention must be at least 1h")
	}
	if c.MaxConnections < 16 {
		return c, errors.New("max_connections must be at least 16")
	}
	if c.DatabaseMaxConns < 2 || c.DatabaseMaxConns > 1000 {
		return c, errors.New("database_max_conns must be 2 to 1000")
	}
	if c.StatementTimeout < 0 || (c.StatementTimeout > 0 && c.StatementTimeout < 100*time.Millisecond) {
		return c, errors.New("statement_timeout must be 0 (the server's) or at least 100ms")
	}
	if c.LargeBodies.Concurrent < 1 {
		return c, errors.New("large_bodies.concurrent must be at least 1")
	}
	if c.RequestTimeout < 100*time.Millisecond || c.ExportTimeout < c.RequestTimeout {
		return c, errors.New("request_timeout must be at least 100ms, and export_timeout at least request_timeout")
	}
	if c.ReplicaMaxLag < 100*time.Millisecond {
		return c, errors.New("replica_max_lag must be at least 100ms")
	}
	if v := getenv("REGISTRY_WEBHOOK_ALLOW_HOSTS"); v != "" {
		c.Webhooks.AllowHosts = strings.Split(v, ",")
	}
	if v := getenv("REGISTRY_WITNESSES"); v != "" {
		c.Log.Witnesses = strings.Split(v, ",")
	}
	for i, h := range c.Webhooks.AllowHosts {
		c.Webhooks.AllowHosts[i] = strings.TrimSpace(h)
		if c.Webhooks.AllowHosts[i] == "" || strings.ContainsAny(c.Webhooks.AllowHosts[i], " \t") {
			return c, fmt.Errorf("webhooks.allow_hosts[%d]: %q is not a host, host:port or CIDR range", i, h)
		}
	}
	if v := getenv("REGISTRY_TRUSTED_PROXIES"); v != "" {
		c.TrustedProxies = strings.Split(v, ",")
	}
	for i, p := range c.TrustedProxies {
		c.TrustedProxies[i] = strings.TrimSpace(p)
		if _, _, err := net.ParseCIDR(c.TrustedProxies[i]); err != nil && net.ParseIP(c.TrustedProxies[i]) == nil {
			return c, fmt.Errorf("trusted_proxies: %q is neither an address nor a CIDR range", p)
		}
	}
	rates := map[string]*Rate{"REGISTRY_RATE_PER_ADDRESS": &c.RateLimits.PerAddress, "REGISTRY_RATE_PER_TOKEN": &c.RateLimits.PerToken}
	for k, p := range rates {
		if v := getenv(k); v != "" {
			r, err := parseRate(k, v)
			if err != nil {
				return c, err
			}
			*p = r
		}
	}
	for name, r := range map[string]Rate{"rate_limits.per_address": c.RateLimits.PerAddress, "rate_limits.per_token": c.RateLimits.PerToken} {
		if r.Rate < 0 || (r.Rate > 0 && r.Burst < 1) {
			return c, fmt.Errorf("%s: rate may not be negative, and a limit needs a burst of at least 1", name)
		}
	}
	if c.SignIn.FailuresBeforeDelay < 1 || c.SignIn.MaxDelay < time.Second {
		return c, errors.New("sign_in: failures_before_delay must be at least 1 and max_delay at least 1s")
	}
	if c.ExtensionWindowDays < 0 {
		return c, errors.New("extension_window_days may not be negative")
	}
	if c.Log.CheckpointInterval <= 0 || c.Log.DeadlineInterval <= 0 {
		return c, errors.New("log: checkpoint_interval and deadline_interval must be positive")
	}
	if c.Sequencer.MaxBatch < 1 || c.Sequencer.MaxBatch > 10000 || c.Sequencer.MaxWait < 0 || c.Sequencer.MaxWait > time.Second {
		return c, errors.New("sequencer: max_batch must be 1 to 10000 and max_wait 0 to 1s")
	}
	if c.Search.MaxResults < 1 || c.Search.MaxAnswerBytes < 1024 {
		return c, errors.New("search: max_results must be at least 1 and max_answer_bytes at least 1024")
	}
	if c.ShutdownGrace < 0 || c.ShutdownGrace > 5*time.Minute {
		return c, errors.New("shutdown_grace must be 0 to 5m")
	}
	if c.Search.IDNumberPerHour < 1 {
		return c, errors.New("search: id_number_per_hour must be at least 1")
	}
	if c.RateLimits.SignUpsPerHour < 0 {
		return c, errors.New("rate_limits: sign_ups_per_hour may not be negative (0: no limit of its own)")
	}
	if c.SignIn.ConcurrentHashes < 1 || c.SignIn.HashWait < 10*time.Millisecond {
		return c, errors.New("sign_in: concurrent_hashes must be at least 1 and hash_wait at least 10ms")
	}
	if c.MetricsToken != "" && len(c.MetricsToken) < 32 {
		return c, errors.New("metrics_token (REGISTRY_METRICS_TOKEN) must have at least 32 characters")
	}
	if c.TokenCacheTTL < 0 || c.TokenCacheTTL > time.Minute {
		return c, errors.New("token_cache_ttl must be 0 (no cache) to 1m: it is how late another instance's revocation may take effect")
	}
	if c.DatabaseURL == "" {
		return c, errors.New("DATABASE_URL is not set (make run sets it to a private cluster under ./var/pg)")
	}
	if c.AdminToken != "" && len(c.AdminToken) < 32 {
		return c, errors.New("REGISTRY_ADMIN_TOKEN must have at least 32 characters")
	}
	return c, nil
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
