package faults

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"safetybot/internal/cluster"
)

// heldSends makes the simulator's message/send calls one at a time and holds
// each answer for a while after WeCom has delivered the message, so a test can
// kill the sender between "delivered" and "recorded".
type heldSends struct {
	h    http.Handler
	hold atomic.Int64 // nanoseconds; 0: pass through
	sem  chan struct{}

	mu       sync.Mutex
	holding  []string // touser of the delivered, not yet answered call
	answered int
	lostAns  int // answers nobody was waiting for any more
	// Gate mode: calls to this one recipient are delivered, then their answer
	// waits until release is closed. Other calls pass.
	user    string
	release chan struct{}
}

// holdUser makes calls to user wait for release after WeCom delivered them.
func (s *heldSends) holdUser(user string) (release func()) {
	ch := make(chan struct{})
	s.mu.Lock()
	s.user, s.release = strings.ToLower(user), ch
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.user = ""
			s.mu.Unlock()
			close(ch)
		})
	}
}

func (s *heldSends) gate(w http.ResponseWriter, r *http.Request, user string, release chan struct{}) bool {
	if !strings.HasSuffix(r.URL.Path, "/message/send") {
		return false
	}
	body, _ := readAllRestore(r)
	to := touser(body)
	if len(to) != 1 || strings.ToLower(to[0]) != user {
		return false
	}
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, r)
	s.mu.Lock()
	s.holding = to
	s.mu.Unlock()
	select {
	case <-release:
	case <-r.Context().Done():
	}
	s.mu.Lock()
	s.holding = nil
	s.mu.Unlock()
	if r.Context().Err() == nil {
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	}
	return true
}

func newHeldSends(h http.Handler) *heldSends {
	return &heldSends{h: h, sem: make(chan struct{}, 1)}
}

func (s *heldSends) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	user, release := s.user, s.release
	s.mu.Unlock()
	if user != "" && s.gate(w, r, user, release) {
		return
	}
	d := time.Duration(s.hold.Load())
	if d == 0 || !strings.HasSuffix(r.URL.Path, "/message/send") {
		s.h.ServeHTTP(w, r)
		return
	}
	select {
	case s.sem <- struct{}{}:
	case <-r.Context().Done():
		return // the sender is gone before WeCom saw the call
	}
	defer func() { <-s.sem }()
	body, _ := readAllRestore(r)
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, r)
	s.mu.Lock()
	s.holding = touser(body)
	s.mu.Unlock()
	select {
	case <-time.After(d):
	case <-r.Context().Done():
	}
	s.mu.Lock()
	s.holding = nil
	if r.Context().Err() != nil {
		s.lostAns++
	} else {
		s.answered++
	}
	s.mu.Unlock()
	if r.Context().Err() != nil {
		return
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

// held returns the recipients of the call delivered but not answered, and the
// number of calls answered so far.
func (s *heldSends) held() ([]string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.holding, s.answered
}

type killOpts struct {
	N int // recipients
	// FastLease expires the dead replica's claims at once instead of waiting
	// out the 60 s lease (the short version); the rescue is the real one.
	FastLease bool
	Timeout   time.Duration
}

// killMidLetter sends an open letter to N principals from three replicas and
// kills (SIGKILL) the replica whose batch WeCom has just delivered but whose
// answer has not arrived. After the lease the batch is claimed again by a
// survivor and resent with a byte-identical body, which WeCom's duplicate
// check suppresses: every principal has exactly one card and one sent row.
func killMidLetter(t *testing.T, o killOpts) {
	pg, redis := dbServices(t)
	var hs *heldSends
	c := cluster.New(t, cluster.Options{Replicas: 3, DatabaseURL: pg, RedisURL: redis,
		WrapSim: func(h http.Handler) http.Handler { hs = newHeldSends(h); return hs }})
	t.Cleanup(func() { hs.hold.Store(0) }) // before the cluster stops
	ctx := ctxFor(t, o.Timeout)
	t0 := time.Now()
	ps := importRoster(t, ctx, c, o.N, "kl")
	t.Logf("cluster up and %d enterprises imported in %s", o.N, time.Since(t0).Round(time.Millisecond))

	hs.hold.Store(int64(time.Second))
	sendLetter(t, ctx, c, "关于开展安全生产大检查的公开信")

	// Wait for a batch delivered and held after at least one was answered
	// (the letter is under way), then kill its sender.
	var victim int
	var heldRecipients []string
	waitFor(t, ctx, "a delivered, unanswered batch in the middle of the letter", func() bool {
		users, answered := hs.held()
		if answered == 0 || len(users) == 0 {
			return false
		}
		var sent int
		if err := c.Store.DB().GetContext(ctx, &sent, `SELECT COUNT(*) FROM outbox WHERE state = 'sent'`); err != nil || sent == 0 {
			return false
		}
		var owner string
		err := c.Store.DB().GetContext(ctx, &owner, c.Store.DB().Rebind(
			`SELECT claimed_by FROM outbox WHERE recipient = ? AND state = 'sending'`), users[0])
		if err != nil {
			return false
		}
		victim = c.ReplicaOfPid(cluster.OwnerPid(owner))
		heldRecipients = users
		return victim >= 0
	})
	pid := c.Replica(victim).Pid()
	c.Kill(victim)
	hs.hold.Store(0)
	var claimed, sentBefore int
	db := c.Store.DB()
	if err := db.GetContext(ctx, &claimed, db.Rebind(`SELECT COUNT(*) FROM outbox WHERE state = 'sending' AND claimed_by LIKE ?`), "%-"+strconv.Itoa(pid)+"-%"); err != nil {
		t.Fatal(err)
	}
	if err := db.GetContext(ctx, &sentBefore, `SELECT COUNT(*) FROM outbox WHERE state = 'sent'`); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed replica %d (pid %d) with %d rows claimed; the batch of %d recipients WeCom had delivered was unrecorded; %d of %d rows sent before the kill",
		victim, pid, claimed, len(heldRecipients), sentBefore, o.N)
	if o.FastLease {
		// Stand-in for waiting 60 s: the dead replica's leases run out now.
		if _, err := db.ExecContext(ctx, db.Rebind(`UPDATE outbox SET lease_until = ? WHERE state = 'sending' AND claimed_by LIKE ?`),
			time.Now().Add(-time.Second).UTC(), "%-"+strconv.Itoa(pid)+"-%"); err != nil {
			t.Fatal(err)
		}
	}
	t1 := time.Now()
	waitIdle(t, ctx, c.Store)
	t.Logf("recovered %s after the kill", time.Since(t1).Round(time.Millisecond))
	c.Restart(ctx, victim)

	// Every principal: exactly one outbox row, sent, and one card at WeCom.
	var rows []struct {
		Recipient string `db:"recipient"`
		State     string `db:"state"`
		N         int    `db:"n"`
	}
	if err := db.SelectContext(ctx, &rows, `SELECT recipient, state, COUNT(*) AS n FROM outbox GROUP BY recipient, state`); err != nil {
		t.Fatal(err)
	}
	rowsOf := map[string]int{}
	sent := 0
	notSent := map[string][]string{}
	for _, r := range rows {
		rowsOf[r.Recipient] += r.N
		if r.State == "sent" {
			sent += r.N
		} else {
			notSent[r.State] = append(notSent[r.State], r.Recipient)
		}
	}
	for state, users := range notSent {
		t.Errorf("%d outbox rows are %s, not sent, e.g. those of %v", len(users), state, users[:min(len(users), 3)])
	}
	cards := map[string]int{}
	for _, d := range c.Sim.AllMessages() {
		if d.MsgType == "template_card" {
			cards[d.To]++
		}
	}
	delivered, dups, lost, badRows := 0, 0, 0, 0
	for _, p := range ps {
		u := strings.ToLower(p.UserID)
		n := cards[u]
		delivered += n
		switch {
		case n == 0:
			lost++
		case n > 1:
			dups += n - 1
		}
		if rowsOf[p.UserID] != 1 {
			badRows++
		}
	}
	if lost > 0 {
		t.Errorf("LOST: %d principals have no card", lost)
	}
	if dups > 0 {
		t.Errorf("DUPLICATE: %d extra cards delivered", dups)
	}
	if badRows > 0 {
		t.Errorf("%d principals do not have exactly one outbox row", badRows)
	}
	if sent != o.N {
		t.Errorf("%d outbox rows sent, want %d", sent, o.N)
	}
	supp := c.Sim.DuplicatesSuppressed()
	if supp < 1 {
		t.Errorf("WeCom's duplicate check suppressed %d resends, want at least the held batch", supp)
	}
	t.Logf("kill -9 mid-letter: recipients=%d sent=%d delivered=%d duplicates=%d lost=%d; duplicate resends suppressed by WeCom=%d; "+
		"send calls=%d; unanswered calls of the dead replica=%d; claimed per replica=%v",
		o.N, sent, delivered, dups, lost, supp, c.Sim.SendCalls(), hs.lostAns, claimOwners(t, ctx, c))
}

// readAllRestore reads the request body and puts it back for the next handler.
func readAllRestore(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, err
}

// touser returns the recipients of a message/send body.
func touser(body []byte) []string {
	const k = `"touser":"`
	i := strings.Index(string(body), k)
	if i < 0 {
		return nil
	}
	rest := string(body[i+len(k):])
	j := strings.IndexByte(rest, '"')
	if j < 0 {
		return nil
	}
	return strings.Split(rest[:j], "|")
}
