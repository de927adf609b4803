// Package config loads the service's settings: defaults, then
// configs/registry.yaml (or REGISTRY_CONFIG), then the environment.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is every setting of registryd.
type Config struct {
	Addr         string        `yaml:"addr"`
	DatabaseURL  string        `yaml:"database_url"`
	AdminToken   string        `yaml:"admin_token"`
	TokenTTL     time.Duration `yaml:"token_ttl"`
	MaxBodyBytes int64         `yaml:"max_body_bytes"`
	SimilarNames int           `yaml:"similar_names"`
	// ExtensionWindowDays is how many days before expiry a registration may
	// be extended; 0 means at any time while it is effective.
	ExtensionWindowDays int `yaml:"extension_window_days"`
	// ShutdownTimeout bounds how long requests in flight may finish after
	// SIGINT or SIGTERM.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// Defaults are the settings before any file or variable.
func Defaults() Config {
	return Config{
		Addr:                "127.0.0.1:8080",
		TokenTTL:            30 * 24 * time.Hour,
		MaxBodyBytes:        1 << 20,
		SimilarNames:        5,
		ExtensionWindowDays: 90,
		ShutdownTimeout:     20 * time.Second,
	}
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
		"DATABASE_URL":         &c.DatabaseURL,
		"REGISTRY_ADDR":        &c.Addr,
		"REGISTRY_ADMIN_TOKEN": &c.AdminToken,
	}
	for k, p := range str {
		if v := getenv(k); v != "" {
			*p = v
		}
	}
	durations := map[string]*time.Duration{"REGISTRY_TOKEN_TTL": &c.TokenTTL, "REGISTRY_SHUTDOWN_TIMEOUT": &c.ShutdownTimeout}
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
	if v := getenv("REGISTRY_EXTENSION_WINDOW_DAYS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return c, fmt.Errorf("REGISTRY_EXTENSION_WINDOW_DAYS: %q is not a number of days", v)
		}
		c.ExtensionWindowDays = n
	}
	if c.ExtensionWindowDays < 0 {
		return c, errors.New("extension_window_days may not be negative")
	}
	if c.DatabaseURL == "" {
		return c, errors.New("DATABASE_URL is not set (make run sets it to a private cluster under ./var/pg)")
	}
	if c.AdminToken != "" && len(c.AdminToken) < 32 {
		return c, errors.New("REGISTRY_ADMIN_TOKEN must have at least 32 characters")
	}
	return c, nil
}
