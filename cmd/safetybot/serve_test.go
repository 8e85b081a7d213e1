package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the logger and the test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestServeWithNoConfiguration runs `safetybot serve` with nothing set but the
// listen address: it creates ./safetybot.db, answers /healthz and /readyz, says
// it runs on SQLite with in-process state and the simulator, and stops cleanly.
func TestServeWithNoConfiguration(t *testing.T) {
	t.Chdir(t.TempDir())
	var out, errs syncBuffer
	e := &env{stdout: &out, stderr: &errs, getenv: func(k string) string {
		if k == "SAFETYBOT_LISTEN" {
			return "127.0.0.1:0"
		}
		return ""
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- run(ctx, e, []string{"serve"}) }()

	var addr string
	deadline := time.Now().Add(20 * time.Second)
	for addr == "" && time.Now().Before(deadline) {
		for _, line := range strings.Split(errs.String(), "\n") {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "safetybot starting" {
				addr, _ = rec["listen"].(string)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if addr == "" {
		t.Fatalf("serve did not start:\n%s", errs.String())
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v", path, resp, err)
		}
		resp.Body.Close()
	}
	if _, err := os.Stat("safetybot.db"); err != nil {
		t.Fatalf("no ./safetybot.db: %v", err)
	}
	log := errs.String()
	for _, want := range []string{"running on sqlite with in-process state", "built-in WeCom simulator"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exited %d:\n%s", code, errs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop within 15 s of the signal")
	}
	if !strings.Contains(errs.String(), "stopped cleanly") {
		t.Errorf("no clean stop in log:\n%s", errs.String())
	}
}

// TestBadConfigurationExitsWithOneLine checks a bad setting stops every command
// with one line naming the variable, a non-zero exit, and nothing created.
func TestBadConfigurationExitsWithOneLine(t *testing.T) {
	for _, tc := range []struct{ key, val, want string }{
		{"SAFETYBOT_DATABASE_URL", "mysql://x/y", "SAFETYBOT_DATABASE_URL"},
		{"SAFETYBOT_QUIET_HOURS", "late", "SAFETYBOT_QUIET_HOURS"},
		{"WECOM_ENCODING_AES_KEY", "tooshort", "WECOM_ENCODING_AES_KEY"},
		{"SAFETYBOT_TIMEZONE", "Nowhere/City", "SAFETYBOT_TIMEZONE"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			var out, errs syncBuffer
			e := &env{stdout: &out, stderr: &errs, getenv: func(k string) string {
				if k == tc.key {
					return tc.val
				}
				return ""
			}}
			code := run(context.Background(), e, []string{"serve"})
			msg := strings.TrimSpace(errs.String())
			if code == 0 || strings.Count(msg, "\n") != 0 || !strings.Contains(msg, tc.want) {
				t.Fatalf("exit %d, stderr %q", code, msg)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Fatalf("created %v", entries)
			}
		})
	}
}

func TestUnknownCommandAndHelp(t *testing.T) {
	var out, errs syncBuffer
	e := &env{stdout: &out, stderr: &errs, getenv: func(string) string { return "" }}
	if code := run(context.Background(), e, []string{"frobnicate"}); code == 0 || !strings.Contains(errs.String(), "unknown command") {
		t.Fatalf("unknown command: %d %q", code, errs.String())
	}
	if code := run(context.Background(), e, []string{"--help"}); code != 0 || !strings.Contains(out.String(), "serve") {
		t.Fatalf("help: %d %q", code, out.String())
	}
}
