package config

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/movable-registry/registry/internal/httpx"
	"github.com/movable-registry/registry/internal/registry"
)

// A setting is one of registryd's settings: its key in the settings file,
// the environment variable that overrides it, its default, how the
// variable's text is read and the rule its value must keep. Every setting
// is one row of settings; docs/configuration.md lists the same rows
// (TestTheDocumentationListsEverySetting).
type setting struct {
	// key is the setting's path in registry.yaml (sequencer.max_batch).
	key string
	// env is the variable that overrides it ("" when only the file sets it).
	env string
	// secret: env_FILE may name a file that holds the value (Docker's and
	// Kubernetes' secrets).
	secret bool
	// def is the default, written as the variable would be ("" for none).
	def string
	// set reads the variable's text into c.
	set func(c *Config, v string) error
	// check, when set, says what is wrong with the value the file and the
	// environment left.
	check func(c *Config) error
}

// must returns s with its rule.
func (s setting) must(check func(c *Config) error) setting { s.check = check; return s }

// byDefault returns s with its default.
func (s setting) byDefault(def string) setting { s.def = def; return s }

// fromFile returns s with its value allowed in the file env_FILE names.
func (s setting) fromFile() setting { s.secret = true; return s }

func text(key, env string, at func(*Config) *string) setting {
	return setting{key: key, env: env, set: func(c *Config, v string) error { *at(c) = v; return nil }}
}

func number(key, env string, at func(*Config) *int) setting {
	return setting{key: key, env: env, set: func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", v)
		}
		*at(c) = n
		return nil
	}}
}

func byteCount(key, env string, at func(*Config) *int64) setting {
	return setting{key: key, env: env, set: func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return fmt.Errorf("%q is not a positive number", v)
		}
		*at(c) = n
		return nil
	}}
}

func duration(key, env string, at func(*Config) *time.Duration) setting {
	return setting{key: key, env: env, set: func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%q is not a duration (such as 90s, 5m or 24h)", v)
		}
		*at(c) = d
		return nil
	}}
}

func flag(key, env string, at func(*Config) *bool) setting {
	return setting{key: key, env: env, set: func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		*at(c) = b
		return nil
	}}
}

// list reads a comma-separated variable (newlines separate too).
func list(key, env string, at func(*Config) *[]string) setting {
	return setting{key: key, env: env, set: func(c *Config, v string) error {
		*at(c) = strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '\n' })
		return nil
	}}
}

func rate(key, env string, at func(*Config) *Rate) setting {
	return setting{key: key, env: env, set: func(c *Config, v string) error {
		r, err := parseRate(v)
		*at(c) = r
		return err
	}}
}

// The rules that several settings share.
func atLeast[T int | int64 | time.Duration](at func(*Config) T, low T, why string) func(*Config) error {
	return func(c *Config) error {
		if at(c) < low {
			return errors.New(why)
		}
		return nil
	}
}

func within[T int | int64 | time.Duration](at func(*Config) T, low, high T, why string) func(*Config) error {
	return func(c *Config) error {
		if v := at(c); v < low || v > high {
			return errors.New(why)
		}
		return nil
	}
}

// longSecret: unset, or at least 32 characters.
func longSecret(at func(*Config) string) func(*Config) error {
	return func(c *Config) error {
		if v := at(c); v != "" && len(v) < 32 {
			return errors.New("must have at least 32 characters")
		}
		return nil
	}
}

// settings is every setting, in the order docs/configuration.md gives them.
var settings = []setting{
	text("database_url", "DATABASE_URL", func(c *Config) *string { return &c.DatabaseURL }).fromFile().must(func(c *Config) error {
		if c.DatabaseURL == "" {
			return errors.New("is not set (make run sets it to a private cluster under ./var/pg)")
		}
		return nil
	}),
	list("database_replica_urls", "DATABASE_REPLICA_URLS", func(c *Config) *[]string { return &c.DatabaseReplicaURLs }).fromFile().must(func(c *Config) error {
		for i, u := range c.DatabaseReplicaURLs {
			c.DatabaseReplicaURLs[i] = strings.TrimSpace(u)
			if p, err := url.Parse(c.DatabaseReplicaURLs[i]); err != nil || (p.Scheme != "postgres" && p.Scheme != "postgresql") {
				return fmt.Errorf("[%d] is not a postgres:// address", i)
			}
		}
		return nil
	}),
	number("database_max_conns", "REGISTRY_DATABASE_MAX_CONNS", func(c *Config) *int { return &c.DatabaseMaxConns }).byDefault("32").
		must(within(func(c *Config) int { return c.DatabaseMaxConns }, 2, 1000, "must be 2 to 1000")),
	duration("statement_timeout", "REGISTRY_STATEMENT_TIMEOUT", func(c *Config) *time.Duration { return &c.StatementTimeout }).byDefault("1m").must(func(c *Config) error {
		if c.StatementTimeout < 0 || (c.StatementTimeout > 0 && c.StatementTimeout < 100*time.Millisecond) {
			return errors.New("must be 0 (the server's) or at least 100ms")
		}
		return nil
	}),
	duration("request_timeout", "REGISTRY_REQUEST_TIMEOUT", func(c *Config) *time.Duration { return &c.RequestTimeout }).byDefault("30s").
		must(atLeast(func(c *Config) time.Duration { return c.RequestTimeout }, 100*time.Millisecond, "must be at least 100ms")),
	duration("export_timeout", "REGISTRY_EXPORT_TIMEOUT", func(c *Config) *time.Duration { return &c.ExportTimeout }).byDefault("30m").must(func(c *Config) error {
		if c.ExportTimeout < c.RequestTimeout {
			return errors.New("must be at least request_timeout")
		}
		return nil
	}),
	number("max_connections", "REGISTRY_MAX_CONNECTIONS", func(c *Config) *int { return &c.MaxConnections }).byDefault("20000").
		must(atLeast(func(c *Config) int { return c.MaxConnections }, 16, "must be at least 16")),
	duration("idempotency.retention", "REGISTRY_IDEMPOTENCY_RETENTION", func(c *Config) *time.Duration { return &c.Idempotency.Retention }).
		byDefault(registry.DefaultConfig().IdempotencyRetention.String()).
		must(atLeast(func(c *Config) time.Duration { return c.Idempotency.Retention }, time.Hour, "must be at least 1h")),
	// A quota below one largest attachment would refuse every upload.
	byteCount("attachments.max_bytes", "REGISTRY_ATTACHMENTS_MAX_BYTES", func(c *Config) *int64 { return &c.Attachments.MaxBytes }).
		byDefault(strconv.FormatInt(registry.DefaultConfig().AttachmentsMaxBytes, 10)).
		must(atLeast(func(c *Config) int64 { return c.Attachments.MaxBytes }, 10<<20, "must be at least 10485760 (one 10 MiB attachment)")),
	// An upload is made to be named by a filing soon after: a retention
	// shorter than an hour would remove files being named.
	duration("attachments.unnamed_retention", "REGISTRY_ATTACHMENTS_UNNAMED_RETENTION", func(c *Config) *time.Duration { return &c.Attachments.UnnamedRetention }).
		byDefault(registry.DefaultConfig().AttachmentsUnnamedRetention.String()).
		must(atLeast(func(c *Config) time.Duration { return c.Attachments.UnnamedRetention }, time.Hour, "must be at least 1h")),
	duration("replica_max_lag", "REGISTRY_REPLICA_MAX_LAG", func(c *Config) *time.Duration { return &c.ReplicaMaxLag }).byDefault("5s").
		must(atLeast(func(c *Config) time.Duration { return c.ReplicaMaxLag }, 100*time.Millisecond, "must be at least 100ms")),
	text("addr", "REGISTRY_ADDR", func(c *Config) *string { return &c.Addr }).byDefault("127.0.0.1:8080"),
	text("admin_token", "REGISTRY_ADMIN_TOKEN", func(c *Config) *string { return &c.AdminToken }).fromFile().
		must(longSecret(func(c *Config) string { return c.AdminToken })),
	duration("token_ttl", "REGISTRY_TOKEN_TTL", func(c *Config) *time.Duration { return &c.TokenTTL }).byDefault(registry.DefaultConfig().TokenTTL.String()).
		must(atLeast(func(c *Config) time.Duration { return c.TokenTTL }, time.Minute, "must be at least 1m")),
	byteCount("max_body_bytes", "REGISTRY_MAX_BODY_BYTES", func(c *Config) *int64 { return &c.MaxBodyBytes }).byDefault(strconv.FormatInt(httpx.DefaultMaxBodyBytes, 10)).
		must(atLeast(func(c *Config) int64 { return c.MaxBodyBytes }, 1, "must be positive")),
	number("large_bodies.concurrent", "REGISTRY_LARGE_BODIES_CONCURRENT", func(c *Config) *int { return &c.LargeBodies.Concurrent }).byDefault(cpus).
		must(atLeast(func(c *Config) int { return c.LargeBodies.Concurrent }, 1, "must be at least 1")),
	number("similar_names", "", func(c *Config) *int { return &c.SimilarNames }).byDefault(strconv.Itoa(registry.DefaultConfig().SimilarNames)).
		must(within(func(c *Config) int { return c.SimilarNames }, 0, 100, "must be 0 to 100")),
	number("search.max_results", "REGISTRY_SEARCH_MAX_RESULTS", func(c *Config) *int { return &c.Search.MaxResults }).byDefault(strconv.Itoa(registry.DefaultConfig().MaxResults)).
		must(atLeast(func(c *Config) int { return c.Search.MaxResults }, 1, "must be at least 1")),
	number("search.max_answer_bytes", "", func(c *Config) *int { return &c.Search.MaxAnswerBytes }).byDefault(strconv.Itoa(registry.DefaultConfig().MaxAnswerBytes)).
		must(atLeast(func(c *Config) int { return c.Search.MaxAnswerBytes }, 1024, "must be at least 1024")),
	number("search.id_number_per_hour", "", func(c *Config) *int { return &c.Search.IDNumberPerHour }).byDefault(strconv.Itoa(registry.DefaultConfig().IDNumberPerHour)).
		must(atLeast(func(c *Config) int { return c.Search.IDNumberPerHour }, 1, "must be at least 1")),
	duration("token_cache_ttl", "REGISTRY_TOKEN_CACHE_TTL", func(c *Config) *time.Duration { return &c.TokenCacheTTL }).byDefault("1s").
		must(within(func(c *Config) time.Duration { return c.TokenCacheTTL }, 0, time.Minute,
			"must be 0 (no cache) to 1m: it is how late another instance's revocation may take effect")),
	number("extension_window_days", "REGISTRY_EXTENSION_WINDOW_DAYS", func(c *Config) *int { return &c.ExtensionWindowDays }).byDefault("0").
		must(atLeast(func(c *Config) int { return c.ExtensionWindowDays }, 0, "may not be negative")),
	number("retention.years_after_end", "REGISTRY_RETENTION_YEARS_AFTER_END", func(c *Config) *int { return &c.Retention.YearsAfterEnd }).
		byDefault(strconv.Itoa(registry.DefaultConfig().RetentionYears)).
		must(within(func(c *Config) int { return c.Retention.YearsAfterEnd }, 1, 100, "must be 1 to 100")),
	duration("shutdown_grace", "REGISTRY_SHUTDOWN_GRACE", func(c *Config) *time.Duration { return &c.ShutdownGrace }).byDefault("5s").
		must(within(func(c *Config) time.Duration { return c.ShutdownGrace }, 0, 5*time.Minute, "must be 0 to 5m")),
	duration("shutdown_timeout", "REGISTRY_SHUTDOWN_TIMEOUT", func(c *Config) *time.Duration { return &c.ShutdownTimeout }).byDefault("20s").
		must(atLeast(func(c *Config) time.Duration { return c.ShutdownTimeout }, 0, "may not be negative")),
	rate("rate_limits.per_address", "REGISTRY_RATE_PER_ADDRESS", func(c *Config) *Rate { return &c.RateLimits.PerAddress }).byDefault("200/400").
		must(func(c *Config) error { return c.RateLimits.PerAddress.check() }),
	rate("rate_limits.per_token", "REGISTRY_RATE_PER_TOKEN", func(c *Config) *Rate { return &c.RateLimits.PerToken }).byDefault("50/100").
		must(func(c *Config) error { return c.RateLimits.PerToken.check() }),
	flag("rate_limits.shared", "REGISTRY_RATE_SHARED", func(c *Config) *bool { return &c.RateLimits.Shared }).byDefault("false"),
	number("rate_limits.sign_ups_per_hour", "", func(c *Config) *int { return &c.RateLimits.SignUpsPerHour }).byDefault("10").
		must(atLeast(func(c *Config) int { return c.RateLimits.SignUpsPerHour }, 0, "may not be negative (0: no limit of its own)")),
	number("sign_in.failures_before_delay", "", func(c *Config) *int { return &c.SignIn.FailuresBeforeDelay }).byDefault(strconv.Itoa(registry.DefaultConfig().SignInFailures)).
		must(atLeast(func(c *Config) int { return c.SignIn.FailuresBeforeDelay }, 1, "must be at least 1")),
	duration("sign_in.max_delay", "", func(c *Config) *time.Duration { return &c.SignIn.MaxDelay }).byDefault(registry.DefaultConfig().SignInMaxDelay.String()).
		must(atLeast(func(c *Config) time.Duration { return c.SignIn.MaxDelay }, time.Second, "must be at least 1s")),
	number("sign_in.concurrent_hashes", "", func(c *Config) *int { return &c.SignIn.ConcurrentHashes }).byDefault(cpus).
		must(atLeast(func(c *Config) int { return c.SignIn.ConcurrentHashes }, 1, "must be at least 1")),
	duration("sign_in.hash_wait", "", func(c *Config) *time.Duration { return &c.SignIn.HashWait }).byDefault(registry.DefaultConfig().PasswordWait.String()).
		must(atLeast(func(c *Config) time.Duration { return c.SignIn.HashWait }, 10*time.Millisecond, "must be at least 10ms")),
	text("metrics_token", "REGISTRY_METRICS_TOKEN", func(c *Config) *string { return &c.MetricsToken }).fromFile().
		must(longSecret(func(c *Config) string { return c.MetricsToken })),
	text("log.key_file", "REGISTRY_LOG_KEY_FILE", func(c *Config) *string { return &c.Log.KeyFile }),
	text("log.key", "REGISTRY_LOG_KEY", func(c *Config) *string { return &c.Log.Key }),
	text("log.previous_key_file", "REGISTRY_LOG_PREVIOUS_KEY_FILE", func(c *Config) *string { return &c.Log.PreviousKeyFile }),
	text("log.origin", "REGISTRY_LOG_ORIGIN", func(c *Config) *string { return &c.Log.Origin }),
	duration("log.checkpoint_interval", "REGISTRY_CHECKPOINT_INTERVAL", func(c *Config) *time.Duration { return &c.Log.CheckpointInterval }).byDefault("1s").
		must(atLeast(func(c *Config) time.Duration { return c.Log.CheckpointInterval }, time.Millisecond, "must be positive")),
	list("log.witnesses", "REGISTRY_WITNESSES", func(c *Config) *[]string { return &c.Log.Witnesses }),
	duration("log.witness_timeout", "", func(c *Config) *time.Duration { return &c.Log.WitnessTimeout }).byDefault(registry.DefaultConfig().WitnessTimeout.String()).
		must(atLeast(func(c *Config) time.Duration { return c.Log.WitnessTimeout }, 10*time.Millisecond, "must be at least 10ms")),
	duration("log.deadline_interval", "REGISTRY_DEADLINE_INTERVAL", func(c *Config) *time.Duration { return &c.Log.DeadlineInterval }).byDefault("1m").
		must(atLeast(func(c *Config) time.Duration { return c.Log.DeadlineInterval }, time.Millisecond, "must be positive")),
	text("certificates.signing_key", "REGISTRY_CERT_SIGNING_KEY", func(c *Config) *string { return &c.Certificates.SigningKey }),
	text("certificates.signing_cert", "REGISTRY_CERT_SIGNING_CERT", func(c *Config) *string { return &c.Certificates.SigningCert }).must(func(c *Config) error {
		if (c.Certificates.SigningKey == "") != (c.Certificates.SigningCert == "") {
			return errors.New("is set with certificates.signing_key (REGISTRY_CERT_SIGNING_KEY), or neither is")
		}
		return nil
	}),
	list("certificates.fonts", "REGISTRY_CERT_FONTS", func(c *Config) *[]string { return &c.Certificates.Fonts }),
	number("certificates.concurrent", "", func(c *Config) *int { return &c.Certificates.Concurrent }).
		must(atLeast(func(c *Config) int { return c.Certificates.Concurrent }, 0, "must not be negative (0: the number of CPUs)")),
	text("pdf_font", "REGISTRY_PDF_FONT", func(c *Config) *string { return &c.PDFFont }),
	{key: "reminders.days_before", env: "REGISTRY_REMINDER_DAYS", def: "90,30,7", set: func(c *Config, v string) error {
		c.Reminders.DaysBefore = nil
		for _, f := range strings.Split(v, ",") {
			d, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				return fmt.Errorf("%q is not a whole number of days", f)
			}
			c.Reminders.DaysBefore = append(c.Reminders.DaysBefore, d)
		}
		return nil
	}, check: func(c *Config) error {
		for i, d := range c.Reminders.DaysBefore {
			if d < 1 || d > 3650 || slices.Contains(c.Reminders.DaysBefore[:i], d) {
				return fmt.Errorf("%d must be 1 to 3650 days, each once", d)
			}
		}
		return nil
	}},
	text("web.public_url", "REGISTRY_PUBLIC_URL", func(c *Config) *string { return &c.Web.PublicURL }).must(func(c *Config) error {
		if u := c.Web.PublicURL; u != "" && !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			return fmt.Errorf("%q must begin with https:// or http://", u)
		}
		return nil
	}),
	flag("web.secure_cookies", "REGISTRY_SECURE_COOKIES", func(c *Config) *bool { return &c.Web.SecureCookies }).byDefault("false"),
	duration("web.session_ttl", "REGISTRY_SESSION_TTL", func(c *Config) *time.Duration { return &c.Web.SessionTTL }).byDefault(httpx.DefaultSessionTTL.String()).
		must(atLeast(func(c *Config) time.Duration { return c.Web.SessionTTL }, time.Second, "must be at least 1s")),
	list("trusted_proxies", "REGISTRY_TRUSTED_PROXIES", func(c *Config) *[]string { return &c.TrustedProxies }).must(func(c *Config) error {
		for i, p := range c.TrustedProxies {
			c.TrustedProxies[i] = strings.TrimSpace(p)
			if _, _, err := net.ParseCIDR(c.TrustedProxies[i]); err != nil && net.ParseIP(c.TrustedProxies[i]) == nil {
				return fmt.Errorf("%q is neither an address nor a CIDR range", p)
			}
		}
		return nil
	}),
	number("sequencer.max_batch", "REGISTRY_SEQUENCER_MAX_BATCH", func(c *Config) *int { return &c.Sequencer.MaxBatch }).byDefault("256").
		must(within(func(c *Config) int { return c.Sequencer.MaxBatch }, 1, 10000, "must be 1 to 10000")),
	duration("sequencer.max_wait", "REGISTRY_SEQUENCER_MAX_WAIT", func(c *Config) *time.Duration { return &c.Sequencer.MaxWait }).byDefault("0s").
		must(within(func(c *Config) time.Duration { return c.Sequencer.MaxWait }, 0, time.Second, "must be 0 to 1s")),
	text("cluster.advertise_url", "REGISTRY_ADVERTISE_URL", func(c *Config) *string { return &c.Cluster.AdvertiseURL }).must(func(c *Config) error {
		u := c.Cluster.AdvertiseURL
		if u == "" {
			return nil
		}
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || (p.Path != "" && p.Path != "/") {
			return fmt.Errorf("%q is not an instance's base URL (http://host:port)", u)
		}
		c.Cluster.AdvertiseURL = p.Scheme + "://" + p.Host
		return nil
	}),
	text("cluster.secret", "REGISTRY_CLUSTER_SECRET", func(c *Config) *string { return &c.Cluster.Secret }).fromFile().must(func(c *Config) error {
		if c.Cluster.AdvertiseURL != "" && len(c.Cluster.Secret) < 32 {
			return errors.New("must have at least 32 characters when cluster.advertise_url is set")
		}
		return nil
	}),
	list("webhooks.allow_hosts", "REGISTRY_WEBHOOK_ALLOW_HOSTS", func(c *Config) *[]string { return &c.Webhooks.AllowHosts }).must(func(c *Config) error {
		for i, h := range c.Webhooks.AllowHosts {
			c.Webhooks.AllowHosts[i] = strings.TrimSpace(h)
			if c.Webhooks.AllowHosts[i] == "" || strings.ContainsAny(c.Webhooks.AllowHosts[i], " \t") {
				return fmt.Errorf("[%d]: %q is not a host, host:port or CIDR range", i, h)
			}
		}
		return nil
	}),
	duration("webhooks.retry_base", "REGISTRY_WEBHOOK_RETRY_BASE", func(c *Config) *time.Duration { return &c.Webhooks.RetryBase }).byDefault("10s").
		must(within(func(c *Config) time.Duration { return c.Webhooks.RetryBase }, 10*time.Millisecond, time.Hour, "must be 10ms to 1h")),
	text("smtp.addr", "REGISTRY_SMTP_ADDR", func(c *Config) *string { return &c.SMTP.Addr }).must(func(c *Config) error {
		if c.SMTP.Addr == "" {
			return nil
		}
		if _, port, err := net.SplitHostPort(c.SMTP.Addr); err != nil || port == "" {
			return fmt.Errorf("%q is not host:port", c.SMTP.Addr)
		}
		return nil
	}),
	text("smtp.from", "REGISTRY_SMTP_FROM", func(c *Config) *string { return &c.SMTP.From }).must(func(c *Config) error {
		if c.SMTP.Addr == "" {
			return nil
		}
		if _, err := mail.ParseAddress(c.SMTP.From); err != nil {
			return fmt.Errorf("%q is not an email address", c.SMTP.From)
		}
		return nil
	}),
	text("debug_addr", "REGISTRY_DEBUG_ADDR", func(c *Config) *string { return &c.DebugAddr }),
	flag("sandbox", "REGISTRY_SANDBOX", func(c *Config) *bool { return &c.Sandbox }).byDefault("false"),
}

// cpus is the default of the settings that default to the number of CPUs.
var cpus = strconv.Itoa(runtime.NumCPU())

// Defaults are the settings before any file or variable: each setting's
// default from the table.
func Defaults() Config {
	var c Config
	for _, s := range settings {
		if s.def == "" {
			continue
		}
		if err := s.set(&c, s.def); err != nil {
			panic(fmt.Sprintf("config: the default of %s: %v", s.key, err))
		}
	}
	return c
}

// fromEnvironment applies the variables that are set (or their _FILE
// twins, for secrets) over c.
func fromEnvironment(c *Config, getenv func(string) string) error {
	for _, s := range settings {
		if s.env == "" {
			continue
		}
		v := getenv(s.env)
		if v == "" && s.secret {
			if file := getenv(s.env + "_FILE"); file != "" {
				b, err := os.ReadFile(file)
				if err != nil {
					return fmt.Errorf("%s_FILE: %w", s.env, err)
				}
				v = strings.TrimSpace(string(b))
			}
		}
		if v == "" {
			continue
		}
		if err := s.set(c, v); err != nil {
			return fmt.Errorf("%s: %w", s.env, err)
		}
	}
	return nil
}

// checked says the first setting in c that breaks its rule, named by its
// key (and variable).
func checked(c *Config) error {
	for _, s := range settings {
		if s.check == nil {
			continue
		}
		if err := s.check(c); err != nil {
			name := s.key
			if s.env != "" {
				name += " (" + s.env + ")"
			}
			if strings.HasPrefix(err.Error(), "[") {
				return fmt.Errorf("%s%w", s.key, err)
			}
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}
