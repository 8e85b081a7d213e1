package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"safetybot"
	"safetybot/bot/wecom"
	"safetybot/messages"
	"safetybot/store"
)

// Handler handles one inbound message and says what to reply. It runs inside
// the transaction that also stores its replies and marks the callback handled,
// so domain writes, replies and "handled" commit together or not at all.
type Handler interface {
	Handle(ctx context.Context, in messages.Inbound) (messages.Reply, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, in messages.Inbound) (messages.Reply, error)

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, in messages.Inbound) (messages.Reply, error) {
	return f(ctx, in)
}

// MaxHandleAttempts is how often an internal error is retried before the user
// gets an apology and the callback is set aside.
const MaxHandleAttempts = 3

// Processor hands stored callbacks to the handler, one user at a time and in
// the order each user sent them, also across replicas (a per-user transaction
// lock in Postgres; SQLite has a single writer). Rows left by a crash are picked
// up at start and by a periodic sweep.
type Processor struct {
	store   *store.Store
	handler Handler
	photos  *Photos
	log     *slog.Logger
	metrics *Metrics
	wakeOut func()

	mu     sync.Mutex
	queued map[string]bool // users waiting or being worked on in this process
	dirty  map[string]bool // users notified again while being worked on
	work   chan string
	wg     sync.WaitGroup
}

// ProcessorConfig wires a Processor.
type ProcessorConfig struct {
	Store   *store.Store
	Handler Handler
	Photos  *Photos // nil: images are passed on without download
	Logger  *slog.Logger
	Metrics *Metrics
	// WakeSender is called after replies were committed.
	WakeSender func()
}

// NewProcessor returns a Processor; Run starts it.
func NewProcessor(cfg ProcessorConfig) *Processor {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	if cfg.WakeSender == nil {
		cfg.WakeSender = func() {}
	}
	return &Processor{store: cfg.Store, handler: cfg.Handler, photos: cfg.Photos, log: cfg.Logger,
		metrics: cfg.Metrics, wakeOut: cfg.WakeSender,
		queued: map[string]bool{}, dirty: map[string]bool{}, work: make(chan string, 65536)}
}

// Notify tells the processor a user has new callbacks.
func (p *Processor) Notify(user string) {
	p.mu.Lock()
	if p.queued[user] {
		p.dirty[user] = true
		p.mu.Unlock()
		return
	}
	p.queued[user] = true
	p.mu.Unlock()
	select {
	case p.work <- user:
	default:
		// Queue full: the sweep will find the user.
		p.mu.Lock()
		delete(p.queued, user)
		p.mu.Unlock()
	}
}

// Run starts workers and the sweep; it returns when ctx ends and every
// in-flight message is finished (shutdown drains).
func (p *Processor) Run(ctx context.Context, workers int, sweepEvery time.Duration) {
	if workers <= 0 {
		workers = 8
	}
	for i := 0; i < workers; i++ {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case u := <-p.work:
					p.drain(ctx, u)
				}
			}
		}()
	}
	p.Sweep(ctx, 0) // rows left by a crash
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			p.wg.Wait()
			return
		case <-t.C:
			p.Sweep(ctx, sweepEvery)
		}
	}
}

// Sweep notifies every user with callbacks older than age still unprocessed.
func (p *Processor) Sweep(ctx context.Context, age time.Duration) {
	users, err := p.store.PendingInboxUsers(ctx, p.store.Now().Add(-age), 1000)
	if err != nil {
		if ctx.Err() == nil {
			p.log.Warn("inbox sweep failed", "err", err)
		}
		return
	}
	for _, u := range users {
		p.Notify(u)
	}
}

// drain handles the user's pending callbacks until none are left.
func (p *Processor) drain(ctx context.Context, user string) {
	for busyTries := 0; ; {
		// Work continues on the server context's values but is not cut short by
		// shutdown in the middle of a message.
		more, busy := p.step(context.WithoutCancel(ctx), user)
		if busy {
			// Another replica holds the user's lock; it drains the user, but check
			// again shortly in case it finished just before our row committed.
			if busyTries++; busyTries < 5 && ctx.Err() == nil {
				time.Sleep(time.Duration(busyTries*20) * time.Millisecond)
				continue
			}
			break
		}
		if !more || ctx.Err() != nil {
			break
		}
	}
	p.mu.Lock()
	again := p.dirty[user]
	delete(p.dirty, user)
	delete(p.queued, user)
	p.mu.Unlock()
	if again && ctx.Err() == nil {
		p.Notify(user)
	}
}

// step handles the user's oldest pending callback. more reports whether one
// was handled (so there may be more); busy that another worker holds the user.
func (p *Processor) step(ctx context.Context, user string) (more, busy bool) {
	peek, err := p.store.NextInbox(ctx, user)
	if err != nil {
		if !store.IsNotFound(err) {
			p.log.Warn("read inbox", "user", user, "err", err)
		}
		return false, false
	}
	in, perr := wecom.ParseMessage([]byte(peek.Raw))
	if perr == nil && in.Kind == messages.KindImage && in.MediaID != "" && p.photos != nil {
		// Download before the transaction: never hold one across a WeCom call.
		sha, err := p.photos.Fetch(ctx, in.MediaID, in.From)
		if err != nil {
			if msg := safetybot.ErrorMessage(err); msg != "" {
				in.PhotoError = msg
			} else {
				p.log.Warn("photo download failed", "user", user, "err", err)
				in.PhotoError = "照片下载失败，请重新发送"
			}
		}
		in.PhotoSHA256 = sha
	}
	start := time.Now()
	var handled, locked bool
	var reply messages.Reply
	var herr error
	err = p.store.InTx(ctx, func(ctx context.Context) error {
		ok, err := p.store.LockUser(ctx, user)
		if err != nil || !ok {
			return err
		}
		locked = true
		row, err := p.store.NextInbox(ctx, user)
		if err != nil {
			if store.IsNotFound(err) {
				return nil
			}
			return err
		}
		if row.ID != peek.ID {
			handled = true // someone else moved on; look again
			return nil
		}
		handled = true
		if perr != nil {
			// Stored but unparseable: cannot happen for rows the intake wrote.
			return p.store.MarkInboxProcessed(ctx, row.ID, "unparseable: "+perr.Error())
		}
		reply, herr = p.call(ctx, in)
		if herr != nil {
			return herr
		}
		if err := p.enqueue(ctx, in, reply); err != nil {
			return err
		}
		return p.store.MarkInboxProcessed(ctx, row.ID, "")
	})
	p.metrics.HandleSeconds.Observe(time.Since(start).Seconds())
	switch {
	case err == nil && !locked:
		return false, true
	case err == nil:
		if handled && herr == nil {
			p.metrics.Handled.WithLabelValues("ok").Inc()
			if len(reply) > 0 {
				p.wakeOut()
			}
		}
		return handled, false
	case herr != nil && safetybot.ErrorCode(herr) != safetybot.EINTERNAL:
		// The user can fix it: nothing the handler wrote is kept; say why.
		p.metrics.Handled.WithLabelValues("user_error").Inc()
		p.finish(ctx, peek, in, messages.Reply{messages.Text(safetybot.ErrorMessage(herr))}, safetybot.ErrorCode(herr))
		return true, false
	default:
		p.metrics.Handled.WithLabelValues("internal_error").Inc()
		p.log.Error("handling failed", "user", user, "inbox_id", peek.ID, "kind", in.Kind, "err", err)
		n, ferr := p.store.MarkInboxFailed(ctx, peek.ID, err.Error())
		if ferr != nil {
			return false, false
		}
		if n >= MaxHandleAttempts {
			p.finish(ctx, peek, in, messages.Reply{messages.Text(fmt.Sprintf("抱歉，系统暂时出了点问题，请稍后再试。（编号 %d）", peek.ID))}, "internal")
			return true, false
		}
		return false, false // the sweep retries later
	}
}

// call runs the handler, turning a panic into an internal error.
func (p *Processor) call(ctx context.Context, in messages.Inbound) (reply messages.Reply, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panic: %v\n%s", r, debug.Stack())
		}
	}()
	return p.handler.Handle(ctx, in)
}

// finish marks a callback handled with a reply that does not come from the handler.
func (p *Processor) finish(ctx context.Context, row store.InboxRow, in messages.Inbound, reply messages.Reply, note string) {
	err := p.store.InTx(ctx, func(ctx context.Context) error {
		if in.From == "" {
			in.From = row.FromUser
		}
		if err := p.enqueue(ctx, in, reply); err != nil {
			return err
		}
		return p.store.MarkInboxProcessed(ctx, row.ID, note)
	})
	if err != nil {
		p.log.Error("cannot finish callback", "inbox_id", row.ID, "err", err)
		return
	}
	p.wakeOut()
}

// enqueue writes the reply to the outbox in the current transaction.
func (p *Processor) enqueue(ctx context.Context, in messages.Inbound, reply messages.Reply) error {
	msgs, err := OutboxMessages(in.From, reply)
	if err != nil {
		return err
	}
	_, err = p.store.Enqueue(ctx, msgs...)
	return err
}

// OutboxMessages turns a reply into outbox messages; an empty To means defaultTo.
func OutboxMessages(defaultTo string, reply messages.Reply) ([]store.OutboxMessage, error) {
	out := make([]store.OutboxMessage, 0, len(reply))
	for _, o := range reply {
		b, err := json.Marshal(o.Body)
		if err != nil {
			return nil, fmt.Errorf("marshal reply: %w", err)
		}
		to := o.To
		if len(to) == 0 {
			to = []string{defaultTo}
		}
		kind := "send"
		if o.Update {
			kind = "update"
		}
		out = append(out, store.OutboxMessage{Batch: o.Batch, Recipients: to, Kind: kind, Payload: b, Dedupe: o.Dedupe})
	}
	return out, nil
}
