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

// step handles the user's oldest pending callback. more reports whether
// another one is waiting; busy that another worker holds the user.
//
// The callback is read inside the transaction, after the user's lock is
// taken, together with the next one (so a worker knows without another query
// whether to go on). An image is downloaded outside any transaction: the
// first pass finds it, rolls back, downloads, and the next pass handles it.
func (p *Processor) step(ctx context.Context, user string) (more, busy bool) {
	var photo *fetchedPhoto
	for {
		more, busy, fetch := p.try(ctx, user, photo)
		if fetch == nil {
			return more, busy
		}
		photo = p.fetchPhoto(ctx, fetch)
	}
}

// fetchedPhoto is an image callback's download, made before its transaction.
type fetchedPhoto struct {
	inboxID int64
	sha     string
	err     string // shown to the user instead of the photo
}

// photoWanted asks step to download an image before handling inbox row id.
type photoWanted struct {
	inboxID       int64
	mediaID, user string
}

func (p *Processor) fetchPhoto(ctx context.Context, w *photoWanted) *fetchedPhoto {
	f := &fetchedPhoto{inboxID: w.inboxID}
	sha, err := p.photos.Fetch(ctx, w.mediaID, w.user)
	if err != nil {
		if msg := safetybot.ErrorMessage(err); msg != "" {
			f.err = msg
		} else {
			p.log.Warn("photo download failed", "user", w.user, "err", err)
			f.err = "照片下载失败，请重新发送"
		}
	}
	f.sha = sha
	return f
}

// try is one pass of step: it handles the oldest callback, or asks for an
// image download first (fetch), or finds the user busy or done.
func (p *Processor) try(ctx context.Context, user string, photo *fetchedPhoto) (more, busy bool, fetch *photoWanted) {
	start := time.Now()
	var (
		locked, handled bool
		row             store.InboxRow
		in              messages.Inbound
		reply           messages.Reply
		herr            error
	)
	err := p.store.InTx(ctx, func(ctx context.Context) error {
		ok, err := p.store.LockUser(ctx, user)
		if err != nil || !ok {
			return err
		}
		locked = true
		rows, err := p.store.NextInboxRows(ctx, user, 2)
		if err != nil || len(rows) == 0 {
			return err
		}
		row, more = rows[0], len(rows) > 1
		var perr error
		in, perr = wecom.ParseMessage([]byte(row.Raw))
		if perr != nil {
			// Stored but unparseable: cannot happen for rows the intake wrote.
			handled = true
			return p.store.MarkInboxProcessed(ctx, row.ID, "unparseable: "+perr.Error())
		}
		if in.Kind == messages.KindImage && in.MediaID != "" && p.photos != nil {
			if photo == nil || photo.inboxID != row.ID {
				// Never hold a transaction across a WeCom call.
				fetch = &photoWanted{inboxID: row.ID, mediaID: in.MediaID, user: in.From}
				return nil
			}
			in.PhotoSHA256, in.PhotoError = photo.sha, photo.err
		}
		handled = true
		reply, herr = p.call(ctx, in)
		if herr != nil {
			return herr
		}
		if err := p.enqueue(ctx, in, reply); err != nil {
			return err
		}
		return p.store.MarkInboxProcessed(ctx, row.ID, "")
	})
	if fetch != nil && err == nil {
		return false, false, fetch
	}
	if handled {
		p.metrics.HandleSeconds.Observe(time.Since(start).Seconds())
	}
	switch {
	case err == nil && !locked:
		return false, true, nil
	case err == nil:
		if handled && herr == nil {
			p.metrics.Handled.WithLabelValues("ok").Inc()
			if len(reply) > 0 {
				p.wakeOut()
			}
		}
		return handled && more, false, nil
	case !handled:
		// Reading the inbox failed: the sweep tries again.
		if !store.IsNotFound(err) {
			p.log.Warn("read inbox", "user", user, "err", err)
		}
		return false, false, nil
	case herr != nil && safetybot.ErrorCode(herr) != safetybot.EINTERNAL:
		// The user can fix it: nothing the handler wrote is kept; say why.
		p.metrics.Handled.WithLabelValues("user_error").Inc()
		p.finish(ctx, row, in, messages.Reply{messages.Text(safetybot.ErrorMessage(herr))}, safetybot.ErrorCode(herr))
		return more, false, nil
	default:
		p.metrics.Handled.WithLabelValues("internal_error").Inc()
		p.log.Error("handling failed", "user", user, "inbox_id", row.ID, "kind", in.Kind, "err", err)
		n, ferr := p.store.MarkInboxFailed(ctx, row.ID, err.Error())
		if ferr != nil {
			return false, false, nil
		}
		if n >= MaxHandleAttempts {
			p.finish(ctx, row, in, messages.Reply{messages.Text(fmt.Sprintf("抱歉，系统暂时出了点问题，请稍后再试。（编号 %d）", row.ID))}, "internal")
			return more, false, nil
		}
		return false, false, nil // the sweep retries later
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
