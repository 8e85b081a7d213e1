package bot

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"safetybot/bot/wecom"
	"safetybot/store"
	"safetybot/store/cache"
)

// Sender policy.
const (
	// PerMemberPerMinute and PerMemberPerHour are WeCom's per-member app
	// message limits (rolling windows); the excess is dropped silently, so the
	// sender holds messages back instead.
	PerMemberPerMinute = 30
	PerMemberPerHour   = 1000
	// MaxSendAttempts before a retryable failure becomes final.
	MaxSendAttempts = 12
	// DuplicateWindow is WeCom's longest duplicate-check interval. A claimed row
	// whose sender died is resent with the same body only within this window.
	DuplicateWindow = 4 * time.Hour
	// claimLease outlasts the WeCom client's 60 s HTTP timeout, so a slow call
	// is never resent by another worker while it may still succeed.
	claimLease = 2 * time.Minute
	// completeMargin is how long before its lease runs out a worker stops
	// trying to record a batch's outcome; completeRetry is the pause between tries.
	completeMargin = 10 * time.Second
	completeRetry  = time.Second
	// claimMaxBatches is how many due batches one claim takes at most: when
	// many are due, one claim and one completion serve several calls, which
	// are made in parallel.
	claimMaxBatches = 8
)

// memberLimits are the per-member limits every message/send respects.
var memberLimits = []cache.Limit{{N: PerMemberPerMinute, Per: time.Minute}, {N: PerMemberPerHour, Per: time.Hour}}

// Sender turns outbox rows into WeCom API calls: one call per batch (≤ 1000
// recipients sharing one body), rate limited per member, with retries and
// backoff per PROTOCOL.md §4.
type Sender struct {
	store   *store.Store
	client  *wecom.Client
	cache   cache.Cache
	owner   string
	log     *slog.Logger
	metrics *Metrics
	backoff func(attempt int, retryAfter time.Duration) time.Duration
	wake    chan struct{}
	wg      sync.WaitGroup
}

// SenderConfig wires a Sender.
type SenderConfig struct {
	Store   *store.Store
	Client  *wecom.Client
	Cache   cache.Cache
	Owner   string // replica id, recorded on claimed rows
	Logger  *slog.Logger
	Metrics *Metrics
	// Backoff, when set, says how long a retryable failure waits before the
	// next attempt (attempt counts from 1; retryAfter is what WeCom asked for,
	// e.g. a minute after 45009). Tests shorten it; the default is
	// 1 s · 2^attempt with jitter, capped at 5 min, and never less than retryAfter.
	Backoff func(attempt int, retryAfter time.Duration) time.Duration
}

// NewSender returns a Sender; Run starts it.
func NewSender(cfg SenderConfig) *Sender {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	if cfg.Cache == nil {
		cfg.Cache = cache.NewMemory()
	}
	if cfg.Backoff == nil {
		cfg.Backoff = defaultBackoff
	}
	return &Sender{store: cfg.Store, client: cfg.Client, cache: cfg.Cache, owner: cfg.Owner, log: cfg.Logger,
		metrics: cfg.Metrics, backoff: cfg.Backoff, wake: make(chan struct{}, 1)}
}

// Wake makes an idle worker look for due rows now.
func (s *Sender) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run starts workers and the lease rescue; it returns after ctx ends and the
// calls in flight are recorded.
func (s *Sender) Run(ctx context.Context, workers int) {
	if workers <= 0 {
		workers = 4
	}
	for i := 0; i < workers; i++ {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.loop(ctx)
		}()
	}
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		if n, u, err := s.store.RescueOutbox(ctx, DuplicateWindow); err != nil {
			if ctx.Err() == nil {
				s.log.Warn("outbox rescue failed", "err", err)
			}
		} else if n+u > 0 {
			s.log.Info("outbox rows rescued from a dead sender", "rescued", n, "unknown", u)
			s.Wake()
		}
		select {
		case <-ctx.Done():
			s.wg.Wait()
			return
		case <-t.C:
		}
	}
}

func (s *Sender) loop(ctx context.Context) {
	idle := 50 * time.Millisecond
	for ctx.Err() == nil {
		n, err := s.SendOnce(context.WithoutCancel(ctx))
		if err != nil && ctx.Err() == nil {
			s.log.Warn("outbox claim failed", "err", err)
		}
		if n > 0 {
			idle = 50 * time.Millisecond
			continue
		}
		select {
		case <-ctx.Done():
		case <-s.wake:
		case <-time.After(idle):
			if idle < time.Second {
				idle *= 2
			}
		}
	}
}

// SendOnce claims due batches (up to claimMaxBatches, oldest first), sends
// them in parallel and records the outcomes in one transaction; it returns
// the rows handled.
func (s *Sender) SendOnce(ctx context.Context) (int, error) {
	claimed := time.Now()
	batches, err := s.store.ClaimOutboxBatches(ctx, s.owner, claimLease, claimMaxBatches)
	if err != nil || len(batches) == 0 {
		return 0, err
	}
	// The batches of one claim go out in parallel: no two of them share a
	// recipient (a claim takes only each recipient's oldest message), so
	// per-recipient order holds, and the calls all end within the lease.
	parts := make([][]store.OutboxResult, len(batches))
	n := 0
	var wg sync.WaitGroup
	for i, rows := range batches {
		n += len(rows)
		wg.Go(func() { parts[i] = s.send(ctx, rows) })
	}
	wg.Wait()
	var results []store.OutboxResult
	for _, p := range parts {
		results = append(results, p...)
	}
	// Record the outcome, retrying while the lease holds: rows whose lease runs
	// out are sent again, and chat answers go without WeCom's duplicate check,
	// so a database blip right after the call would deliver them twice.
	recordBy := claimed.Add(claimLease - completeMargin)
	for {
		err = s.store.CompleteOutbox(ctx, s.owner, results)
		if err == nil || time.Until(recordBy) < completeRetry {
			break
		}
		s.log.Warn("cannot record sent batches; retrying", "batch", batches[0][0].Batch, "batches", len(batches), "err", err)
		time.Sleep(completeRetry)
	}
	if err != nil {
		// The lease runs out and another attempt resends the identical body,
		// which WeCom's duplicate check suppresses (for bodies that use it).
		return n, err
	}
	for _, r := range results {
		s.metrics.Outbox.WithLabelValues(resultLabel(r.State)).Inc()
	}
	return n, nil
}

func resultLabel(state string) string {
	if state == "pending" {
		return "retry"
	}
	return state
}

func (s *Sender) send(ctx context.Context, rows []store.OutboxRow) []store.OutboxResult {
	results := make([]store.OutboxResult, len(rows))
	recipients := make([]string, len(rows))
	for i, r := range rows {
		results[i].ID = r.ID
		recipients[i] = r.Recipient
	}
	first := rows[0]
	// Per-member limit: when any recipient is over its budget the batch waits,
	// and nobody's budget is used. WeCom counts userids case-insensitively.
	if first.Kind == "send" {
		members := make([]string, len(recipients))
		for i, u := range recipients {
			members[i] = strings.ToLower(u)
		}
		ok, retry, err := s.cache.AllowAll(ctx, members, memberLimits...)
		switch {
		case err != nil:
			s.log.Warn("rate limiter unavailable; sending without it", "err", err)
		case !ok:
			return s.retryAll(results, first.Attempts, retry+time.Duration(rand.IntN(1000))*time.Millisecond, 0, "per-member rate limit")
		}
	}
	body := json.RawMessage(first.Payload)
	start := time.Now()
	var err error
	var res wecom.SendResult
	var invalid []string
	api := "message_send"
	if first.Kind == "update" {
		api = "update_template_card"
		invalid, err = s.client.UpdateTemplateCard(ctx, recipients, body)
	} else {
		res, err = s.client.Send(ctx, recipients, body)
		invalid = append(res.InvalidUsers, res.UnlicensedUsers...)
	}
	s.metrics.APISeconds.WithLabelValues(api).Observe(time.Since(start).Seconds())
	if err != nil {
		code := wecom.ErrCode(err)
		s.metrics.APIErrors.WithLabelValues(strconv.Itoa(code)).Inc()
		if wecom.IsRetryable(err) && first.Attempts < MaxSendAttempts {
			var retryAfter time.Duration
			var ra interface{ RetryAfter() time.Duration }
			if errors.As(err, &ra) {
				retryAfter = ra.RetryAfter()
			}
			wait := s.backoff(first.Attempts, retryAfter)
			s.log.Warn("send failed; will retry", "errcode", code, "attempt", first.Attempts, "batch", first.Batch, "err", err)
			return s.retryAll(results, first.Attempts, wait, code, err.Error())
		}
		s.log.Error("send failed for good", "errcode", code, "batch", first.Batch, "recipients", len(rows), "err", err)
		for i := range results {
			results[i].State = "failed"
			results[i].ErrCode = code
			results[i].Error = truncate(err.Error(), 500)
		}
		return results
	}
	bad := make(map[string]bool, len(invalid))
	for _, u := range invalid {
		bad[strings.ToLower(u)] = true
	}
	for i := range results {
		if bad[strings.ToLower(recipients[i])] {
			results[i].State = "failed"
			results[i].ErrCode = 81013
			results[i].Error = "invalid user: not a member or outside the app's visible range"
			continue
		}
		results[i].State = "sent"
		results[i].MsgID = res.MsgID
		results[i].ResponseCode = res.ResponseCode
	}
	return results
}

func (s *Sender) retryAll(results []store.OutboxResult, attempts int, wait time.Duration, code int, why string) []store.OutboxResult {
	at := s.store.Now().Add(wait)
	for i := range results {
		results[i].State = "pending"
		results[i].RetryAt = at
		results[i].ErrCode = code
		results[i].Error = truncate(why, 500)
	}
	return results
}

// defaultBackoff waits at least retryAfter, else backoff(attempt).
func defaultBackoff(attempt int, retryAfter time.Duration) time.Duration {
	return max(backoff(attempt), retryAfter)
}

// backoff is 1 s · 2^attempt, capped at 5 min, with jitter.
func backoff(attempt int) time.Duration {
	d := time.Second << min(attempt, 9)
	if d > 5*time.Minute {
		d = 5 * time.Minute
	}
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
