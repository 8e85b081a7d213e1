// Package config loads the bot's configuration from the environment and an
// optional YAML file, fills defaults in one place, validates it and prints it
// with every secret masked.
package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"reflect"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is everything the bot needs to run. The yaml tag is the environment
// variable name, so a file and the environment use the same keys.
type Config struct {
	DatabaseURL string `yaml:"SAFETYBOT_DATABASE_URL"`
	RedisURL    string `yaml:"SAFETYBOT_REDIS_URL"`
	Listen      string `yaml:"SAFETYBOT_LISTEN"`
	PublicURL   string `yaml:"SAFETYBOT_PUBLIC_URL"`
	AdminToken  string `yaml:"SAFETYBOT_ADMIN_TOKEN" secret:"true"`
	Timezone    string `yaml:"SAFETYBOT_TIMEZONE"`
	QuietHours  string `yaml:"SAFETYBOT_QUIET_HOURS"`
	DataDir     string `yaml:"SAFETYBOT_DATA_DIR"`
	// CalendarFile overrides the shipped public-holiday calendar (scheduler/calendar_cn.txt format).
	CalendarFile string        `yaml:"SAFETYBOT_CALENDAR_FILE"`
	CorpID       string        `yaml:"WECOM_CORP_ID"`
	AgentID      string        `yaml:"WECOM_AGENT_ID"`
	Secret       string        `yaml:"WECOM_SECRET" secret:"true"`
	Token        string        `yaml:"WECOM_TOKEN" secret:"true"`
	AESKey       string        `yaml:"WECOM_ENCODING_AES_KEY" secret:"true"`
	APIBase      string        `yaml:"WECOM_API_BASE"`
	MaxSkew      time.Duration `yaml:"WECOM_CALLBACK_MAX_SKEW"`

	// Derived by Validate.
	Location *time.Location `yaml:"-"`
	Quiet    QuietHours     `yaml:"-"`
}

// Defaults returns the configuration used when nothing is set.
func Defaults() Config {
	return Config{
		DatabaseURL: "sqlite://./safetybot.db",
		Listen:      ":8080",
		PublicURL:   "http://localhost:8080",
		Timezone:    "Asia/Shanghai",
		QuietHours:  "21:00-08:00",
		DataDir:     "./data",
		APIBase:     "https://qyapi.weixin.qq.com",
		MaxSkew:     5 * time.Minute,
	}
}

// Load builds the configuration: defaults, then the YAML file (if path is not
// empty), then the environment (through getenv), which wins. It validates the result.
func Load(path string, getenv func(string) string) (Config, error) {
	c := Defaults()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("config file: %w", err)
		}
		var raw map[string]any
		if err := yaml.Unmarshal(b, &raw); err != nil {
			return c, fmt.Errorf("config file %s: %w", path, err)
		}
		for k, v := range raw {
			if err := c.set(k, fmt.Sprint(v)); err != nil {
				return c, fmt.Errorf("config file %s: %w", path, err)
			}
		}
	}
	for _, name := range Names() {
		if v, ok := lookup(getenv, name); ok {
			if err := c.set(name, v); err != nil {
				return c, err
			}
		}
	}
	return c, c.Validate()
}

func lookup(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}

// Names lists every configuration key in declaration order.
func Names() []string {
	t := reflect.TypeOf(Config{})
	var names []string
	for i := 0; i < t.NumField(); i++ {
		if n := t.Field(i).Tag.Get("yaml"); n != "" && n != "-" {
			names = append(names, n)
		}
	}
	return names
}

func (c *Config) set(name, value string) error {
	v := reflect.ValueOf(c).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		if t.Field(i).Tag.Get("yaml") != name {
			continue
		}
		f := v.Field(i)
		if f.Type() == reflect.TypeOf(time.Duration(0)) {
			d, err := parseDuration(value)
			if err != nil {
				return fmt.Errorf("%s: %q is not a duration (e.g. 5m, 30s, 0)", name, value)
			}
			f.SetInt(int64(d))
			return nil
		}
		f.SetString(strings.TrimSpace(value))
		return nil
	}
	return fmt.Errorf("unknown configuration key %s", name)
}

func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	return time.ParseDuration(s)
}

// Validate checks every value and fills the derived fields. The error names the
// variable and the problem in one line.
func (c *Config) Validate() error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}
	if _, _, err := ParseDatabaseURL(c.DatabaseURL); err != nil {
		bad("SAFETYBOT_DATABASE_URL", "%v", err)
	}
	if c.RedisURL != "" {
		u, err := url.Parse(c.RedisURL)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
			bad("SAFETYBOT_REDIS_URL", "unknown URL scheme in %q (want redis:// or rediss://)", redact(c.RedisURL))
		}
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("SAFETYBOT_PUBLIC_URL", "%q is not an http(s) URL", c.PublicURL)
	}
	if u, err := url.Parse(c.APIBase); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("WECOM_API_BASE", "%q is not an http(s) URL", c.APIBase)
	}
	if c.Listen == "" {
		bad("SAFETYBOT_LISTEN", "must not be empty")
	}
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil || c.Timezone == "" {
		bad("SAFETYBOT_TIMEZONE", "time zone %q does not load", c.Timezone)
	}
	c.Location = loc
	q, err := ParseQuietHours(c.QuietHours)
	if err != nil {
		bad("SAFETYBOT_QUIET_HOURS", "%v", err)
	}
	c.Quiet = q
	if c.MaxSkew < 0 {
		bad("WECOM_CALLBACK_MAX_SKEW", "must not be negative")
	}
	if c.DataDir == "" {
		bad("SAFETYBOT_DATA_DIR", "must not be empty")
	}
	if c.WeComConfigured() {
		for name, v := range map[string]string{"WECOM_CORP_ID": c.CorpID, "WECOM_AGENT_ID": c.AgentID, "WECOM_SECRET": c.Secret, "WECOM_TOKEN": c.Token, "WECOM_ENCODING_AES_KEY": c.AESKey} {
			if v == "" {
				bad(name, "must be set when any WECOM_ setting is given")
			}
		}
	}
	if c.AgentID != "" && !isDigits(c.AgentID) {
		bad("WECOM_AGENT_ID", "%q is not a number", c.AgentID)
	}
	if c.AESKey != "" {
		if len(c.AESKey) != 43 {
			bad("WECOM_ENCODING_AES_KEY", "must be 43 characters, got %d", len(c.AESKey))
		} else if k, err := base64.StdEncoding.DecodeString(c.AESKey + "="); err != nil || len(k) != 32 {
			bad("WECOM_ENCODING_AES_KEY", "is not valid base64 of a 32-byte key")
		}
	}
	return errors.Join(errs...)
}

// WeComConfigured reports whether any real WeCom app setting is given. Without
// them serve runs against the built-in simulator.
func (c *Config) WeComConfigured() bool {
	return c.CorpID != "" || c.AgentID != "" || c.Secret != "" || c.Token != "" || c.AESKey != ""
}

// String prints the effective configuration, one KEY=value per line, with every
// secret (and the password of any URL) masked.
func (c Config) String() string {
	var b strings.Builder
	v := reflect.ValueOf(c)
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		name := t.Field(i).Tag.Get("yaml")
		if name == "" || name == "-" {
			continue
		}
		val := fmt.Sprint(v.Field(i).Interface())
		switch {
		case t.Field(i).Tag.Get("secret") == "true":
			val = mask(val)
		case strings.HasSuffix(name, "_URL"):
			val = redact(val)
		}
		fmt.Fprintf(&b, "%s=%s\n", name, val)
	}
	return b.String()
}

func mask(s string) string {
	if s == "" {
		return "(not set)"
	}
	return "****"
}

// redact hides the password of a URL.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// ParseDatabaseURL splits SAFETYBOT_DATABASE_URL into a dialect ("postgres" or
// "sqlite") and the driver's data source name.
func ParseDatabaseURL(s string) (dialect, dsn string, err error) {
	switch {
	case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
		if _, err := url.Parse(s); err != nil {
			return "", "", fmt.Errorf("malformed URL %q", redact(s))
		}
		return "postgres", s, nil
	case strings.HasPrefix(s, "sqlite://"):
		path := strings.TrimPrefix(s, "sqlite://")
		if path == "" {
			return "", "", errors.New("sqlite URL needs a file path, e.g. sqlite://./safetybot.db")
		}
		return "sqlite", path, nil
	}
	scheme, _, _ := strings.Cut(s, "://")
	return "", "", fmt.Errorf("unknown URL scheme %q (want postgres:// or sqlite://)", scheme)
}
