package app_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"safetybot/app"
	"safetybot/config"
	"safetybot/internal/tcpproxy"
	"safetybot/store/storetest"
)

func readyz(t *testing.T, base string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// viaProxy rewrites the host:port of a URL to go through a cuttable proxy.
func viaProxy(t *testing.T, raw string) (string, *tcpproxy.Proxy) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	p, err := tcpproxy.New(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	u.Host = p.Addr()
	return u.String(), p
}

// TestReadyzFollowsDependencies shows /readyz turning 503 (naming the failing
// part) while Postgres or Redis is unreachable and 200 again when they are back,
// without a restart.
func TestReadyzFollowsDependencies(t *testing.T) {
	dbURL, pg := viaProxy(t, storetest.URL(t, "postgres"))
	redisURL, rd := viaProxy(t, storetest.RedisURL(t))
	cfg := config.Defaults()
	cfg.DatabaseURL, cfg.RedisURL, cfg.DataDir = dbURL, redisURL, t.TempDir()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := app.New(ctx, cfg, app.Options{Listener: ln})
	if err != nil {
		t.Fatal(err)
	}
	a.Start(ctx, app.Options{})
	defer a.Shutdown(context.Background())

	if code, body := readyz(t, a.URL()); code != 200 {
		t.Fatalf("ready at start: %d %v", code, body)
	}
	pg.Cut()
	eventually(t, "503 naming the database", func() bool {
		code, body := readyz(t, a.URL())
		checks, _ := body["checks"].(map[string]any)
		return code == 503 && checks["database"] != "ok"
	})
	pg.Restore()
	eventually(t, "200 after Postgres is back", func() bool { code, _ := readyz(t, a.URL()); return code == 200 })

	rd.Cut()
	eventually(t, "503 naming redis", func() bool {
		code, body := readyz(t, a.URL())
		checks, _ := body["checks"].(map[string]any)
		s, _ := checks["redis"].(string)
		return code == 503 && s != "ok" && s != ""
	})
	rd.Restore()
	eventually(t, "200 after Redis is back", func() bool { code, _ := readyz(t, a.URL()); return code == 200 })

	resp, err := http.Get(a.URL() + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp, err = http.Get(a.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	buf := new(strings.Builder)
	buf.Grow(1 << 16)
	b := make([]byte, 1<<16)
	n, _ := resp.Body.Read(b)
	resp.Body.Close()
	if !strings.Contains(string(b[:n]), "go_goroutines") && !strings.Contains(string(b[:n]), "safetybot_") {
		t.Fatalf("metrics look empty: %q", b[:n])
	}
}
