package wecomsim

import (
	"bytes"
	"net/http"
	"strconv"
	"time"
)

// Fault is a misbehaviour injected on one API path. The actions combine in this
// order: wait Latency; then Drop the connection, or answer HTTPStatus, or answer
// ErrCode; a Fault with only Latency lets the request through afterwards.
type Fault struct {
	// ErrCode answers HTTP 200 with this errcode (e.g. -1, 45009, 45033, 60020).
	ErrCode int
	// HTTPStatus answers with this status (with a JSON errcode body when ErrCode is
	// also set, else a short text body).
	HTTPStatus int
	// Latency delays the answer (the request's context still ends the wait).
	Latency time.Duration
	// Drop hijacks and closes the connection without an answer.
	Drop bool
	// Rate is the probability (0..1) that a call is hit; 0 means 1.
	Rate float64
	// Count limits how many calls are hit; 0 means unlimited.
	Count int
	// AfterHandling runs the real handler first (so the message IS delivered, the
	// media IS stored) and then replaces its answer with the fault: the "lost
	// response" case that makes clients retry something that succeeded.
	AfterHandling bool
}

type faultState struct {
	Fault
	left int
}

// InjectFault makes path misbehave until ClearFaults (or until Count calls were
// hit). path is an API path such as "/cgi-bin/message/send" or "message/send";
// "*" hits every /cgi-bin/ path without a fault of its own. A later call for the
// same path replaces the earlier fault.
func (s *Server) InjectFault(path string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[normalizePath(path)] = &faultState{Fault: f, left: f.Count}
}

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = map[string]*faultState{}
}

// pickFaultLocked decides whether this call on p is hit and consumes one Count.
func (s *Server) pickFaultLocked(p string) *Fault {
	key := p
	fs := s.faults[p]
	if fs == nil && len(p) > len("/cgi-bin/") && p[:len("/cgi-bin/")] == "/cgi-bin/" {
		key, fs = "*", s.faults["*"]
	}
	if fs == nil {
		return nil
	}
	if fs.Rate > 0 && fs.Rate < 1 && s.rng.Float64() >= fs.Rate {
		return nil
	}
	if fs.Count > 0 {
		fs.left--
		if fs.left <= 0 {
			delete(s.faults, key)
		}
	}
	f := fs.Fault
	return &f
}

func (s *Server) serveFault(w http.ResponseWriter, r *http.Request, f Fault, h http.HandlerFunc) {
	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if !f.Drop && f.HTTPStatus == 0 && f.ErrCode == 0 {
		h(w, r)
		return
	}
	if f.AfterHandling {
		h(newDiscardWriter(), r)
	}
	switch {
	case f.Drop:
		dropConnection(w)
	case f.HTTPStatus != 0:
		if f.ErrCode != 0 {
			w.Header().Set("Content-Type", "application/json; charset=UTF-8")
			w.WriteHeader(f.HTTPStatus)
			_, _ = w.Write(marshal(map[string]any{"errcode": f.ErrCode, "errmsg": errMsg(f.ErrCode, "injected fault")}))
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(f.HTTPStatus)
		_, _ = w.Write([]byte("<html><body>" + strconv.Itoa(f.HTTPStatus) + " " + http.StatusText(f.HTTPStatus) + "</body></html>"))
	default:
		writeErr(w, f.ErrCode, "injected fault")
	}
}

// dropConnection closes the TCP connection without answering. Where hijacking is
// impossible (HTTP/2) the handler aborts, which resets the stream.
func dropConnection(w http.ResponseWriter) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		_ = conn.Close()
		return
	}
	panic(http.ErrAbortHandler)
}

// discardWriter swallows the real handler's answer for AfterHandling faults.
type discardWriter struct {
	h   http.Header
	buf bytes.Buffer
}

func newDiscardWriter() *discardWriter { return &discardWriter{h: http.Header{}} }

// Header implements http.ResponseWriter.
func (d *discardWriter) Header() http.Header { return d.h }

// Write implements http.ResponseWriter.
func (d *discardWriter) Write(b []byte) (int, error) { return d.buf.Write(b) }

// WriteHeader implements http.ResponseWriter.
func (d *discardWriter) WriteHeader(int) {}
