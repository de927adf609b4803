package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadOrder(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "registry.yaml")
	if err := os.WriteFile(file, []byte("addr: 0.0.0.0:9000\ntoken_ttl: 1h\ndatabase_url: postgres://file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"REGISTRY_CONFIG": file, "DATABASE_URL": "postgres://env", "REGISTRY_MAX_BODY_BYTES": "2048", "REGISTRY_LARGE_BODIES_CONCURRENT": "3"}
	c, err := Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "0.0.0.0:9000" || c.TokenTTL != time.Hour || c.DatabaseURL != "postgres://env" || c.MaxBodyBytes != 2048 || c.SimilarNames != 5 || c.LargeBodies.Concurrent != 3 {
		t.Errorf("config = %+v", c)
	}
}

func TestLoadRefusesBadSettings(t *testing.T) {
	tests := map[string]map[string]string{
		"no database":                           {"REGISTRY_CONFIG": "/nonexistent/but/named.yaml"},
		"no database URL":                       {},
		"a short admin token":                   {"DATABASE_URL": "postgres://x", "REGISTRY_ADMIN_TOKEN": "short"},
		"a bad duration":                        {"DATABASE_URL": "postgres://x", "REGISTRY_TOKEN_TTL": "forever"},
		"a negative body limit":                 {"DATABASE_URL": "postgres://x", "REGISTRY_MAX_BODY_BYTES": "-1"},
		"a config file not found":               {"DATABASE_URL": "postgres://x", "REGISTRY_CONFIG": "/nonexistent.yaml"},
		"a rate without a burst":                {"DATABASE_URL": "postgres://x", "REGISTRY_RATE_PER_TOKEN": "50"},
		"a negative rate":                       {"DATABASE_URL": "postgres://x", "REGISTRY_RATE_PER_ADDRESS": "-5/10"},
		"a burst of zero":                       {"DATABASE_URL": "postgres://x", "REGISTRY_RATE_PER_ADDRESS": "5/0"},
		"a proxy that is no address":            {"DATABASE_URL": "postgres://x", "REGISTRY_TRUSTED_PROXIES": "10.0.0.0/8,proxy.local"},
		"a token cache of an hour":              {"DATABASE_URL": "postgres://x", "REGISTRY_TOKEN_CACHE_TTL": "1h"},
		"a short metrics token":                 {"DATABASE_URL": "postgres://x", "REGISTRY_METRICS_TOKEN": "short"},
		"a signing key without its certificate": {"DATABASE_URL": "postgres://x", "REGISTRY_CERT_SIGNING_KEY": "/etc/registry/k.pem"},
		"an attachments quota of no bytes":      {"DATABASE_URL": "postgres://x", "REGISTRY_ATTACHMENTS_MAX_BYTES": "0"},
		"an attachments quota below one file":   {"DATABASE_URL": "postgres://x", "REGISTRY_ATTACHMENTS_MAX_BYTES": "1000"},
		"unnamed uploads kept a minute":         {"DATABASE_URL": "postgres://x", "REGISTRY_ATTACHMENTS_UNNAMED_RETENTION": "1m"},
		"no large body at once":                 {"DATABASE_URL": "postgres://x", "REGISTRY_LARGE_BODIES_CONCURRENT": "0"},
		"large bodies not a number":             {"DATABASE_URL": "postgres://x", "REGISTRY_LARGE_BODIES_CONCURRENT": "two"},
	}
	for name, env := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := Load(func(k string) string { return env[k] }); err == nil {
				t.Error("accepted")
			}
		})
	}
}

func TestRateLimits(t *testing.T) {
	c, err := Load(func(k string) string {
		return map[string]string{"REGISTRY_CONFIG": "/dev/null", "DATABASE_URL": "postgres://x", "REGISTRY_RATE_PER_ADDRESS": "off", "REGISTRY_RATE_PER_TOKEN": "2.5/7"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.RateLimits.PerAddress != (Rate{}) || c.RateLimits.PerToken != (Rate{Rate: 2.5, Burst: 7}) {
		t.Errorf("rate limits %+v", c.RateLimits)
	}
	if d := Defaults(); d.RateLimits.PerAddress.Rate <= 0 || d.RateLimits.PerToken.Rate <= 0 {
		t.Errorf("rate limits are not on by default: %+v", d.RateLimits)
	}
}

// The project's own settings file loads, with the search limits it sets.
func TestTheShippedSettings(t *testing.T) {
	c, err := Load(func(k string) string {
		return map[string]string{"REGISTRY_CONFIG": "../../configs/registry.yaml", "DATABASE_URL": "postgres://x"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Search.MaxResults != 1000 || c.Search.MaxAnswerBytes != 4<<20 || c.TokenCacheTTL != time.Second {
		t.Errorf("search %+v, token_cache_ttl %v", c.Search, c.TokenCacheTTL)
	}
	if c.Search.IDNumberPerHour != 60 || c.RateLimits.SignUpsPerHour != 10 || c.SignIn.HashWait != 2*time.Second || c.SignIn.ConcurrentHashes < 1 || c.MetricsToken != "" {
		t.Errorf("id_number_per_hour %d, sign_ups_per_hour %d, sign_in %+v, metrics_token %q", c.Search.IDNumberPerHour, c.RateLimits.SignUpsPerHour, c.SignIn, c.MetricsToken)
	}
	if c.Attachments.MaxBytes != 1<<30 || c.Attachments.UnnamedRetention != 7*24*time.Hour {
		t.Errorf("attachments %+v", c.Attachments)
	}
	dir := t.TempDir()
	for _, bad := range []string{"search: {max_results: 0}", "search: {id_number_per_hour: 0}", "rate_limits: {sign_ups_per_hour: -1}",
		"sign_in: {concurrent_hashes: 0}", "sign_in: {hash_wait: 1ms}"} {
		file := filepath.Join(dir, "registry.yaml")
		if err := os.WriteFile(file, []byte(bad+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(func(k string) string {
			return map[string]string{"REGISTRY_CONFIG": file, "DATABASE_URL": "postgres://x"}[k]
		}); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// Secrets can come from files, as Docker and Kubernetes mount them.
func TestSecretsFromFiles(t *testing.T) {
	dir := t.TempDir()
	token := filepath.Join(dir, "admin-token")
	if err := os.WriteFile(token, []byte("an-admin-token-from-a-secret-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(func(k string) string {
		return map[string]string{"REGISTRY_CONFIG": "/dev/null", "DATABASE_URL": "postgres://x", "REGISTRY_ADMIN_TOKEN_FILE": token}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.AdminToken != "an-admin-token-from-a-secret-0123456789" {
		t.Errorf("admin token %q", c.AdminToken)
	}
	if _, err := Load(func(k string) string {
		return map[string]string{"REGISTRY_CONFIG": "/dev/null", "DATABASE_URL": "postgres://x", "REGISTRY_ADMIN_TOKEN_FILE": filepath.Join(dir, "missing")}[k]
	}); err == nil {
		t.Error("a secret file that is missing was accepted")
	}
}

// Replicas come as a list in a variable or a secret file (one a line or
// comma-separated); each must be a postgres:// address.
func TestReplicaURLs(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "replicas")
	if err := os.WriteFile(file, []byte("postgres://r:secret@replica-1/registry\npostgres://r:secret@replica-2/registry\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	load := func(env map[string]string) (Config, error) {
		env["REGISTRY_CONFIG"], env["DATABASE_URL"] = "/dev/null", "postgres://x"
		return Load(func(k string) string { return env[k] })
	}
	c, err := load(map[string]string{"DATABASE_REPLICA_URLS_FILE": file})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.DatabaseReplicaURLs) != 2 || c.DatabaseReplicaURLs[1] != "postgres://r:secret@replica-2/registry" || c.ReplicaMaxLag != 5*time.Second {
		t.Errorf("replicas %q, max lag %v", c.DatabaseReplicaURLs, c.ReplicaMaxLag)
	}
	c, err = load(map[string]string{"DATABASE_REPLICA_URLS": "postgres://a/registry, postgresql://b/registry", "REGISTRY_REPLICA_MAX_LAG": "2s"})
	if err != nil || len(c.DatabaseReplicaURLs) != 2 || c.DatabaseReplicaURLs[1] != "postgresql://b/registry" || c.ReplicaMaxLag != 2*time.Second {
		t.Errorf("replicas %q, max lag %v, %v", c.DatabaseReplicaURLs, c.ReplicaMaxLag, err)
	}
	for env, want := range map[string]string{
		"DATABASE_REPLICA_URLS":    "database_replica_urls[0]",
		"REGISTRY_REPLICA_MAX_LAG": "replica_max_lag",
	} {
		value := map[string]string{"DATABASE_REPLICA_URLS": "mysql://replica/registry", "REGISTRY_REPLICA_MAX_LAG": "10ms"}[env]
		if _, err := load(map[string]string{env: value}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s=%s: %v, want an error naming %s", env, value, err, want)
		}
	}
}

// SMTP settings are checked when given: an address with its port, a sender.
func TestSMTPSettings(t *testing.T) {
	load := func(env map[string]string) error {
		env["REGISTRY_CONFIG"], env["DATABASE_URL"] = "/dev/null", "postgres://x"
		_, err := Load(func(k string) string { return env[k] })
		return err
	}
	if err := load(map[string]string{"REGISTRY_SMTP_ADDR": "mail.example:25", "REGISTRY_SMTP_FROM": "notices@register.example"}); err != nil {
		t.Fatal(err)
	}
	for env, want := range map[string]string{"REGISTRY_SMTP_ADDR": "smtp.addr", "REGISTRY_SMTP_FROM": "smtp.from"} {
		bad := map[string]string{"REGISTRY_SMTP_ADDR": "mail.example:25", "REGISTRY_SMTP_FROM": "notices@register.example"}
		bad[env] = "not valid"
		if err := load(bad); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s=%q: %v, want an error naming %s", env, bad[env], err, want)
		}
	}
}

// A sandbox's checkpoints must not pass for the real register's: whatever
// the origin would be, a sandbox's ends in /sandbox (once).
func TestSandboxLogOriginEndsInSandbox(t *testing.T) {
	tests := []struct {
		name, sandbox, origin, keyName, want string
	}{
		{"the key's name on the real register", "", "", "register.example.cn/log", "register.example.cn/log"},
		{"the configured origin on the real register", "false", "register.example.cn/log", "key", "register.example.cn/log"},
		{"the key's name on a sandbox", "true", "", "register.example.cn/log", "register.example.cn/log/sandbox"},
		{"the configured origin on a sandbox", "true", "register.example.cn/log", "key", "register.example.cn/log/sandbox"},
		{"an origin already marked", "1", "register.example.cn/log/sandbox", "key", "register.example.cn/log/sandbox"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"DATABASE_URL": "postgres://x", "REGISTRY_SANDBOX": tt.sandbox}
			c, err := Load(func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			c.Log.Origin = tt.origin
			if got := c.LogOrigin(tt.keyName); got != tt.want {
				t.Errorf("LogOrigin(%q) = %q, want %q", tt.keyName, got, tt.want)
			}
		})
	}
	env := map[string]string{"DATABASE_URL": "postgres://x", "REGISTRY_SANDBOX": "maybe"}
	if _, err := Load(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "REGISTRY_SANDBOX") {
		t.Errorf("REGISTRY_SANDBOX=maybe: %v, want an error naming it", err)
	}
}
