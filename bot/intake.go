package bot

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"safetybot"
	"safetybot/bot/wecom"
	"safetybot/store"
)

// MaxCallbackBody caps a callback request body.
const MaxCallbackBody = 1 << 20

// Intake is the callback endpoint. A POST is answered 200 only after the
// decrypted message is durably in the inbox; callbacks that arrive within a few
// milliseconds of each other share one transaction (group commit).
type Intake struct {
	crypto  *wecom.Crypto
	store   *store.Store
	clock   safetybot.Clock
	log     *slog.Logger
	maxSkew time.Duration
	metrics *Metrics
	notify  func(user string)

	reqs    chan *intakeReq
	stopped chan struct{} // closed once every commit loop has ended
	once    sync.Once
}

type intakeReq struct {
	item  store.InboxItem
	fresh bool
	err   error
	done  chan struct{}
}

// IntakeConfig wires an Intake.
type IntakeConfig struct {
	Crypto  *wecom.Crypto
	Store   *store.Store
	Clock   safetybot.Clock
	Logger  *slog.Logger
	MaxSkew time.Duration
	Metrics *Metrics
	// Notify is called with the sender of each newly stored callback.
	Notify func(user string)
	// Committers is the number of concurrent group-commit loops (default 4).
	Committers int
}

// NewIntake returns the callback endpoint. Start must be called to run its commit loops.
func NewIntake(cfg IntakeConfig) *Intake {
	if cfg.Clock == nil {
		cfg.Clock = safetybot.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	if cfg.Notify == nil {
		cfg.Notify = func(string) {}
	}
	return &Intake{crypto: cfg.Crypto, store: cfg.Store, clock: cfg.Clock, log: cfg.Logger,
		maxSkew: cfg.MaxSkew, metrics: cfg.Metrics, notify: cfg.Notify, reqs: make(chan *intakeReq, 4096),
		stopped: make(chan struct{})}
}

// Start runs the group-commit loops until ctx ends. When it ends they first
// store the callbacks already queued; callbacks that come later are answered
// 503 (WeCom redelivers them, to another replica), never left waiting.
func (in *Intake) Start(ctx context.Context, committers int) {
	if committers <= 0 {
		committers = 4
	}
	var wg sync.WaitGroup
	for i := 0; i < committers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in.commitLoop(ctx)
		}()
	}
	go func() {
		wg.Wait()
		in.once.Do(func() { close(in.stopped) })
	}()
}

// commitLoop takes one waiting callback, gathers whatever else is already
// waiting (up to 500), stores them in one transaction and releases each waiter.
func (in *Intake) commitLoop(ctx context.Context) {
	batch := make([]*intakeReq, 0, 500)
	for {
		batch = batch[:0]
		select {
		case <-ctx.Done():
			// Drain: whoever is queued is waiting for an answer.
			select {
			case r := <-in.reqs:
				batch = append(batch, r)
			default:
				return
			}
		case r := <-in.reqs:
			batch = append(batch, r)
		}
	gather:
		for len(batch) < cap(batch) {
			select {
			case r := <-in.reqs:
				batch = append(batch, r)
			default:
				break gather
			}
		}
		items := make([]store.InboxItem, len(batch))
		for i, r := range batch {
			items[i] = r.item
		}
		// The request's context is not used: once a callback is in the batch,
		// storing it must not depend on the client still waiting.
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		fresh, err := in.store.InsertInbox(sctx, items)
		cancel()
		in.metrics.CommitBatch.Observe(float64(len(batch)))
		for i, r := range batch {
			r.err = err
			if err == nil {
				r.fresh = fresh[i]
			}
			close(r.done)
		}
		if err == nil {
			for i, r := range batch {
				if fresh[i] {
					in.notify(r.item.FromUser)
				}
			}
		}
	}
}

// ServeHTTP answers GET (URL verification) and POST (messages and events).
func (in *Intake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	defer func() { in.metrics.CallbackSeconds.Observe(time.Since(start).Seconds()) }()
	q := r.URL.Query()
	sig, ts, nonce := q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce")
	switch r.Method {
	case http.MethodGet:
		in.verifyURL(w, sig, ts, nonce, q.Get("echostr"))
	case http.MethodPost:
		in.receive(w, r, sig, ts, nonce)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

var errIntakeStopped = errors.New("intake is shutting down")

// unavailable answers 503 for a callback that was not stored, so WeCom retries.
func (in *Intake) unavailable(w http.ResponseWriter, err error, user string) {
	in.metrics.Callbacks.WithLabelValues("unavailable").Inc()
	in.log.Error("callback not stored; answering 503 so WeCom retries", "err", err, "user", user)
	http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
}

func (in *Intake) reject(w http.ResponseWriter, status int, phrase, why string, attrs ...any) {
	in.metrics.Callbacks.WithLabelValues("rejected").Inc()
	in.log.Warn("callback rejected", append([]any{"status", status, "reason", why}, attrs...)...)
	http.Error(w, phrase, status)
}

func (in *Intake) fresh(ts string) bool {
	if in.maxSkew <= 0 {
		return true
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	d := in.clock.Now().Sub(time.Unix(sec, 0))
	return d <= in.maxSkew && d >= -in.maxSkew
}

func (in *Intake) verifyURL(w http.ResponseWriter, sig, ts, nonce, echo string) {
	if sig == "" || ts == "" || nonce == "" || echo == "" {
		in.reject(w, http.StatusBadRequest, "bad request", "verification request lacks parameters")
		return
	}
	if !in.fresh(ts) {
		in.reject(w, http.StatusForbidden, "forbidden", "timestamp outside allowed skew", "timestamp", ts)
		return
	}
	if !in.crypto.Verify(sig, ts, nonce, echo) {
		in.reject(w, http.StatusForbidden, "forbidden", "bad signature on URL verification")
		return
	}
	plain, err := in.crypto.Decrypt(echo)
	if err != nil {
		in.decryptFailed(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(plain)
}

func (in *Intake) decryptFailed(w http.ResponseWriter, err error) {
	if errors.Is(err, wecom.ErrReceiveID) {
		in.reject(w, http.StatusForbidden, "forbidden", "receive id is not our CorpID")
		return
	}
	in.reject(w, http.StatusBadRequest, "bad request", "cannot decrypt: "+err.Error())
}

func (in *Intake) receive(w http.ResponseWriter, r *http.Request, sig, ts, nonce string) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxCallbackBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			in.reject(w, http.StatusRequestEntityTooLarge, "request too large", "body over 1 MiB")
			return
		}
		in.reject(w, http.StatusBadRequest, "bad request", "cannot read body: "+err.Error())
		return
	}
	if sig == "" || ts == "" || nonce == "" {
		in.reject(w, http.StatusBadRequest, "bad request", "callback lacks signature parameters")
		return
	}
	env, err := wecom.ParseEnvelope(body)
	if err != nil {
		in.reject(w, http.StatusBadRequest, "bad request", "malformed envelope: "+err.Error())
		return
	}
	if !in.fresh(ts) {
		in.reject(w, http.StatusForbidden, "forbidden", "timestamp outside allowed skew", "timestamp", ts)
		return
	}
	if !in.crypto.Verify(sig, ts, nonce, env.Encrypt) {
		in.reject(w, http.StatusForbidden, "forbidden", "bad signature")
		return
	}
	plain, err := in.crypto.Decrypt(env.Encrypt)
	if err != nil {
		in.decryptFailed(w, err)
		return
	}
	msg, err := wecom.ParseMessage(plain)
	if err != nil {
		in.reject(w, http.StatusBadRequest, "bad request", "malformed message: "+err.Error())
		return
	}
	req := &intakeReq{
		item: store.InboxItem{DedupeKey: msg.DedupeKey(), FromUser: msg.From, Kind: msg.Kind, CreateTime: msg.CreateTime, Raw: string(plain)},
		done: make(chan struct{}),
	}
	select {
	case in.reqs <- req:
	case <-in.stopped:
		in.unavailable(w, errIntakeStopped, msg.From)
		return
	case <-r.Context().Done():
		return
	}
	select {
	case <-req.done:
	case <-in.stopped:
		// The loops drained the queue before they ended: if the request is not
		// done now, it came too late and will never be stored.
		select {
		case <-req.done:
		default:
			in.unavailable(w, errIntakeStopped, msg.From)
			return
		}
	case <-r.Context().Done():
		// The client gave up; the row may or may not be stored. WeCom retries and
		// the dedupe key keeps it single.
		return
	}
	if req.err != nil {
		in.unavailable(w, req.err, msg.From)
		return
	}
	if req.fresh {
		in.metrics.Callbacks.WithLabelValues("stored").Inc()
	} else {
		in.metrics.Callbacks.WithLabelValues("duplicate").Inc()
		in.log.Debug("redelivered callback", "dedupe_key", req.item.DedupeKey)
	}
	w.WriteHeader(http.StatusOK)
}
