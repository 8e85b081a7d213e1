package cluster

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestBalancer: requests go round robin over the live backends, a backend
// that refuses connections is skipped, and a request that reached a backend
// which then failed is answered 502, never sent to a second backend.
func TestBalancer(t *testing.T) {
	var calls [2]atomic.Int64
	var backends []string
	for i := range 2 {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls[i].Add(1)
			b, _ := io.ReadAll(r.Body)
			if string(b) == "die" {
				conn, _, _ := http.NewResponseController(w).Hijack()
				conn.Close()
				return
			}
			io.WriteString(w, strings.ToUpper(string(b)))
		}))
		t.Cleanup(s.Close)
		backends = append(backends, strings.TrimPrefix(s.URL, "http://"))
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	lb := NewBalancer([]string{backends[0], dead, backends[1]})
	t.Cleanup(lb.Close)

	for range 6 {
		resp, err := http.Post(lb.URL()+"/x", "text/plain", strings.NewReader("hi"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "HI" {
			t.Fatalf("answer %d %q", resp.StatusCode, b)
		}
	}
	if a, b := calls[0].Load(), calls[1].Load(); a+b != 6 || a == 0 || b == 0 {
		t.Fatalf("backend calls %d and %d, want 6 spread over both", a, b)
	}
	before := calls[0].Load() + calls[1].Load()
	resp, err := http.Post(lb.URL()+"/x", "text/plain", strings.NewReader("die"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("backend died mid-request: %d, want 502", resp.StatusCode)
	}
	if got := calls[0].Load() + calls[1].Load() - before; got != 1 {
		t.Fatalf("a request that reached a backend was sent %d times", got)
	}
}
