package cluster

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"
)

// Balancer is a tiny round-robin HTTP load balancer, like the one in front of
// the replicas in production: each request goes to the next replica; a replica
// that refuses the connection (dead, restarting) is skipped and the next one
// tried, as nginx's proxy_next_upstream does for connection errors. A request
// that reached a replica is never sent to a second one: a replica that dies
// mid-request yields 502 and the caller (WeCom) retries.
type Balancer struct {
	srv      *httptest.Server
	backends []string
	tr       *http.Transport
	next     atomic.Uint64

	mu     sync.Mutex
	hits   []int // requests answered per backend
	status map[int]int
}

// NewBalancer starts a balancer over the given host:port backends.
func NewBalancer(backends []string) *Balancer {
	b := &Balancer{
		backends: backends,
		hits:     make([]int, len(backends)),
		status:   map[int]int{},
		tr: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     30 * time.Second,
		},
	}
	b.srv = httptest.NewServer(b)
	return b
}

// URL is the balancer's base URL.
func (b *Balancer) URL() string { return b.srv.URL }

// Close stops the balancer.
func (b *Balancer) Close() {
	b.srv.Close()
	b.tr.CloseIdleConnections()
}

// Hits returns how many requests each backend answered.
func (b *Balancer) Hits() []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]int(nil), b.hits...)
}

// Statuses counts the statuses the balancer answered (502 for a backend
// that failed mid-request or when none was reachable).
func (b *Balancer) Statuses() map[int]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[int]int, len(b.status))
	for k, v := range b.status {
		out[k] = v
	}
	return out
}

func (b *Balancer) record(backend, status int) {
	b.mu.Lock()
	if backend >= 0 {
		b.hits[backend]++
	}
	b.status[status]++
	b.mu.Unlock()
}

// ServeHTTP forwards the request.
func (b *Balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		b.record(-1, http.StatusBadRequest)
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	start := int(b.next.Add(1) - 1)
	for try := 0; try < len(b.backends); try++ {
		i := (start + try) % len(b.backends)
		req, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+b.backends[i]+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			break
		}
		req.Header = r.Header.Clone()
		req.Header.Set("X-Forwarded-For", r.RemoteAddr)
		resp, err := b.tr.RoundTrip(req)
		if err != nil {
			if isDialError(err) && r.Context().Err() == nil {
				continue // nobody there: try the next replica
			}
			if errors.Is(err, context.Canceled) {
				return // the client gave up
			}
			b.record(i, http.StatusBadGateway)
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
		resp.Body.Close()
		b.record(i, resp.StatusCode)
		return
	}
	b.record(-1, http.StatusBadGateway)
	http.Error(w, "no replica available", http.StatusBadGateway)
}

func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
