package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"safetybot/config"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaultsNeedNoConfiguration(t *testing.T) {
	c, err := config.Load("", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != "sqlite://./safetybot.db" || c.Listen != ":8080" || c.Timezone != "Asia/Shanghai" || c.MaxSkew != 5*time.Minute {
		t.Fatalf("defaults: %+v", c)
	}
	if c.WeComConfigured() {
		t.Fatal("defaults claim WeCom is configured")
	}
	if c.Location == nil || c.Location.String() != "Asia/Shanghai" || c.Quiet.String() != "21:00-08:00" {
		t.Fatalf("derived: %v %v", c.Location, c.Quiet)
	}
}

func TestBadValuesNameTheVariable(t *testing.T) {
	key43 := strings.Repeat("a", 43)
	full := map[string]string{"WECOM_CORP_ID": "ww1", "WECOM_AGENT_ID": "1000002", "WECOM_SECRET": "s", "WECOM_TOKEN": "t", "WECOM_ENCODING_AES_KEY": key43}
	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"unknown scheme", map[string]string{"SAFETYBOT_DATABASE_URL": "mysql://x"}, "SAFETYBOT_DATABASE_URL: unknown URL scheme"},
		{"redis scheme", map[string]string{"SAFETYBOT_REDIS_URL": "http://x"}, "SAFETYBOT_REDIS_URL: unknown URL scheme"},
		{"quiet hours", map[string]string{"SAFETYBOT_QUIET_HOURS": "9pm-8am"}, "SAFETYBOT_QUIET_HOURS: malformed quiet hours"},
		{"quiet hours range", map[string]string{"SAFETYBOT_QUIET_HOURS": "25:00-08:00"}, "SAFETYBOT_QUIET_HOURS: malformed"},
		{"aes key length", merge(full, "WECOM_ENCODING_AES_KEY", "short"), "WECOM_ENCODING_AES_KEY: must be 43 characters, got 5"},
		{"time zone", map[string]string{"SAFETYBOT_TIMEZONE": "Mars/Olympus"}, "SAFETYBOT_TIMEZONE: time zone \"Mars/Olympus\" does not load"},
		{"skew", map[string]string{"WECOM_CALLBACK_MAX_SKEW": "soon"}, "WECOM_CALLBACK_MAX_SKEW"},
		{"partial wecom", map[string]string{"WECOM_CORP_ID": "ww1"}, "WECOM_SECRET: must be set"},
		{"agent id", merge(full, "WECOM_AGENT_ID", "abc"), "WECOM_AGENT_ID: \"abc\" is not a number"},
		{"public url", map[string]string{"SAFETYBOT_PUBLIC_URL": "localhost"}, "SAFETYBOT_PUBLIC_URL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Load("", env(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	if _, err := config.Load("", env(full)); err != nil {
		t.Fatalf("full WeCom settings rejected: %v", err)
	}
}

func merge(m map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for a, b := range m {
		if a != k {
			out[a] = b
		}
	}
	return out
}

func TestFileThenEnvironment(t *testing.T) {
	f := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(f, []byte("SAFETYBOT_LISTEN: \":9090\"\nSAFETYBOT_DATA_DIR: /srv/data\nWECOM_CALLBACK_MAX_SKEW: 0\n"), 0o600)
	c, err := config.Load(f, env(map[string]string{"SAFETYBOT_LISTEN": ":7070"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != ":7070" || c.DataDir != "/srv/data" || c.MaxSkew != 0 {
		t.Fatalf("got listen=%s data=%s skew=%v", c.Listen, c.DataDir, c.MaxSkew)
	}
	os.WriteFile(f, []byte("NOT_A_KEY: 1\n"), 0o600)
	if _, err := config.Load(f, env(nil)); err == nil || !strings.Contains(err.Error(), "unknown configuration key NOT_A_KEY") {
		t.Fatalf("unknown key: %v", err)
	}
}

func TestStringMasksSecrets(t *testing.T) {
	c, err := config.Load("", env(map[string]string{
		"SAFETYBOT_ADMIN_TOKEN": "topsecret-admin", "WECOM_CORP_ID": "ww1", "WECOM_AGENT_ID": "1", "WECOM_SECRET": "topsecret-app",
		"WECOM_TOKEN": "topsecret-token", "WECOM_ENCODING_AES_KEY": strings.Repeat("b", 43),
		"SAFETYBOT_DATABASE_URL": "postgres://bot:pgpassword@db:5432/bot", "SAFETYBOT_REDIS_URL": "redis://:redispass@r:6379/0",
	}))
	if err != nil {
		t.Fatal(err)
	}
	out := c.String()
	for _, secret := range []string{"topsecret", "pgpassword", "redispass", strings.Repeat("b", 43)} {
		if strings.Contains(out, secret) {
			t.Fatalf("secret %q printed:\n%s", secret, out)
		}
	}
	for _, name := range config.Names() {
		if !strings.Contains(out, name+"=") {
			t.Fatalf("%s missing from:\n%s", name, out)
		}
	}
}

func TestQuietHours(t *testing.T) {
	sh, _ := time.LoadLocation("Asia/Shanghai")
	q, err := config.ParseQuietHours("21:00-08:00")
	if err != nil {
		t.Fatal(err)
	}
	at := func(h, m int) time.Time { return time.Date(2026, 7, 1, h, m, 0, 0, sh) }
	for _, tc := range []struct {
		t     time.Time
		quiet bool
		next  time.Time
	}{
		{at(20, 59), false, at(20, 59)},
		{at(21, 0), true, time.Date(2026, 7, 2, 8, 0, 0, 0, sh)},
		{at(3, 0), true, at(8, 0)},
		{at(8, 0), false, at(8, 0)},
	} {
		if got := q.Contains(tc.t, sh); got != tc.quiet {
			t.Errorf("%v quiet=%v", tc.t, got)
		}
		if got := q.NextAllowed(tc.t, sh); !got.Equal(tc.next) {
			t.Errorf("%v next=%v want %v", tc.t, got, tc.next)
		}
	}
	day, _ := config.ParseQuietHours("12:00-13:30")
	if !day.Contains(at(12, 45), sh) || day.Contains(at(13, 30), sh) {
		t.Error("same-day window wrong")
	}
}
