package scheduler

import (
	"context"
	"slices"
	"sync"
	"time"

	"safetybot"
	"safetybot/store"
)

// The scans of a sweep. Each is made at most once per run, by whichever asks
// first: a kind's builder, or the prefetch that Run starts for the kinds it
// is about to build. On Postgres the prefetch makes the scans in the
// background, on connections of its own, while the kinds are built and
// enqueued in order, each builder waiting only for its own scans: scanning
// overlaps building and enqueueing instead of adding to them.

// lazy is the result of one scan of a run. A failed scan is not kept: the
// next caller tries again.
type lazy[T any] struct {
	mu   sync.Mutex
	done bool
	v    T
}

func (l *lazy[T]) get(f func() (T, error)) (T, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return l.v, nil
	}
	v, err := f()
	if err != nil {
		var zero T
		return zero, err
	}
	l.v, l.done = v, true
	return v, nil
}

// scans are a run's scans.
type scans struct {
	officials      lazy[[]store.Official]
	unsigned       lazy[[]store.UnsignedLetterRow]
	counts         lazy[map[string]store.TownshipCounts]
	overdue        lazy[[]store.HazardDueRow] // per township, for the lists and the digest
	open           lazy[[]store.OpenHazards]
	hazardsDue     lazy[[]store.HazardDueRow]
	hazardsOverdue lazy[[]store.HazardDueRow] // per principal
	major          lazy[[]store.HazardDueRow]
	reviews        lazy[[]store.HazardDueRow]

	missingMu sync.Mutex
	missing   map[string]*lazy[[]store.SelfCheckRow] // by period range
}

// activeOfficials are the active officials.
func (u *run) activeOfficials(ctx context.Context) ([]store.Official, error) {
	return u.scans.officials.get(func() ([]store.Official, error) {
		return u.r.d.Store.ActiveOfficials(ctx)
	})
}

// unsignedLetters is the scan of unsigned letters sent so far.
func (u *run) unsignedLetters(ctx context.Context) ([]store.UnsignedLetterRow, error) {
	return u.scans.unsigned.get(func() ([]store.UnsignedLetterRow, error) {
		return u.r.d.Store.UnsignedLetters(ctx, u.r.d.Clock.Now())
	})
}

// townshipCounts is the pass over the enterprises per township.
func (u *run) townshipCounts(ctx context.Context) (map[string]store.TownshipCounts, error) {
	return u.scans.counts.get(func() (map[string]store.TownshipCounts, error) {
		rows, err := u.r.d.Store.CountsByTownship(ctx, u.today)
		if err != nil {
			return nil, err
		}
		m := make(map[string]store.TownshipCounts, len(rows))
		for _, r := range rows {
			m[r.Township] = r
		}
		return m, nil
	})
}

// missingSelfChecks is the scan of enterprises without a signed
// self-inspection for a period from..to.
func (u *run) missingSelfChecks(ctx context.Context, from, to string) ([]store.SelfCheckRow, error) {
	key := from + ".." + to
	u.scans.missingMu.Lock()
	l := u.scans.missing[key]
	if l == nil {
		if u.scans.missing == nil {
			u.scans.missing = map[string]*lazy[[]store.SelfCheckRow]{}
		}
		l = &lazy[[]store.SelfCheckRow]{}
		u.scans.missing[key] = l
	}
	u.scans.missingMu.Unlock()
	return l.get(func() ([]store.SelfCheckRow, error) {
		return u.r.d.Store.MissingSelfChecks(ctx, from, to)
	})
}

// overdueByTownship is the scan of overdue hazards per township, long enough
// for the townships' lists and the digest.
func (u *run) overdueByTownship(ctx context.Context) ([]store.HazardDueRow, error) {
	return u.scans.overdue.get(func() ([]store.HazardDueRow, error) {
		return u.r.d.Store.HazardsOverdueByTownship(ctx, u.today, max(u.plan.TownshipListMax, u.plan.DigestTop))
	})
}

// openByTownship counts the open hazards per township for the digest.
func (u *run) openByTownship(ctx context.Context) ([]store.OpenHazards, error) {
	return u.scans.open.get(func() ([]store.OpenHazards, error) {
		return u.r.d.Store.OpenHazardsByTownship(ctx, u.today)
	})
}

// hazardsDueSoon are the principals' hazards whose deadline today covers,
// moved back by each of the plan's days before.
func (u *run) hazardsDueSoon(ctx context.Context) ([]store.HazardDueRow, error) {
	return u.scans.hazardsDue.get(func() ([]store.HazardDueRow, error) {
		var ranges []store.DateRange
		for _, k := range u.plan.HazardDaysBefore {
			ranges = append(ranges, u.shift(k))
		}
		return u.r.d.Store.HazardsDueIn(ctx, ranges)
	})
}

// hazardsPastDue are the principals' hazards past their deadline.
func (u *run) hazardsPastDue(ctx context.Context) ([]store.HazardDueRow, error) {
	return u.scans.hazardsOverdue.get(func() ([]store.HazardDueRow, error) {
		return u.r.d.Store.HazardsOverdueForPrincipals(ctx, u.today)
	})
}

// majorOverdue are the overdue 重大 hazards.
func (u *run) majorOverdue(ctx context.Context) ([]store.HazardDueRow, error) {
	return u.scans.major.get(func() ([]store.HazardDueRow, error) {
		return u.r.d.Store.MajorHazardsOverdue(ctx, u.today)
	})
}

// pendingReviews are the rectifications waiting for review longer than the
// plan allows.
func (u *run) pendingReviews(ctx context.Context) ([]store.HazardDueRow, error) {
	return u.scans.reviews.get(func() ([]store.HazardDueRow, error) {
		return u.r.d.Store.PendingReviews(ctx, u.reviewsSubmittedBefore())
	})
}

// reviewsSubmittedBefore is the (n+1)-th working day back from today (today
// counted first), n = ReviewAfterWorkingDays: a review submitted before it
// has waited more than n working days.
func (u *run) reviewsSubmittedBefore() time.Time {
	n := max(u.plan.ReviewAfterWorkingDays, 0)
	d, seen := u.day, 0
	for {
		if u.r.d.Calendar.IsWorkingDay(d) {
			seen++
			if seen == n+1 {
				return d
			}
		}
		d = d.AddDate(0, 0, -1)
	}
}

// scanRef names one scan of a run and makes it.
type scanRef struct {
	key  string
	make func(context.Context) error
}

func (u *run) countsRef() scanRef {
	return scanRef{"counts", func(ctx context.Context) error { _, err := u.townshipCounts(ctx); return err }}
}

// kindScans lists the scans each kind's builder makes whatever the rows say,
// for the prefetch.
func (u *run) kindScans(kind string) []scanRef {
	officials := scanRef{"officials", func(ctx context.Context) error { _, err := u.activeOfficials(ctx); return err }}
	unsigned := scanRef{"unsigned", func(ctx context.Context) error { _, err := u.unsignedLetters(ctx); return err }}
	overdue := scanRef{"overdue", func(ctx context.Context) error { _, err := u.overdueByTownship(ctx); return err }}
	missing := func(from, to string) scanRef {
		return scanRef{"missing:" + from + ".." + to, func(ctx context.Context) error { _, err := u.missingSelfChecks(ctx, from, to); return err }}
	}
	switch kind {
	case KindLetterUnsigned:
		return []scanRef{unsigned}
	case KindLetterTownship, KindLetterOffice:
		// The office's denominators (townshipCounts) are read only when a
		// letter is past its deadline; the digest prefetches them.
		return []scanRef{unsigned, officials}
	case KindSelfCheckDue:
		due := u.selfCheckDue()
		var refs []scanRef
		for _, m := range due.monthly {
			refs = append(refs, missing(m.period, m.period))
		}
		if due.deadline != "" {
			refs = append(refs, missing("", due.deadline[:7]))
		}
		return refs
	case KindSelfCheckTownship:
		if due := u.selfCheckDue(); due.deadline != "" {
			return []scanRef{missing("", due.deadline[:7]), officials}
		}
	case KindHazardDue:
		return []scanRef{{"hazards-due", func(ctx context.Context) error { _, err := u.hazardsDueSoon(ctx); return err }}}
	case KindHazardOverdue:
		return []scanRef{{"hazards-overdue", func(ctx context.Context) error { _, err := u.hazardsPastDue(ctx); return err }}}
	case KindHazardOverdueTownship:
		return []scanRef{overdue, officials}
	case KindHazardMajorOverdue:
		return []scanRef{{"major", func(ctx context.Context) error { _, err := u.majorOverdue(ctx); return err }}, officials}
	case KindReviewPending:
		return []scanRef{{"reviews", func(ctx context.Context) error { _, err := u.pendingReviews(ctx); return err }}, officials}
	case KindDailyDigest:
		return []scanRef{
			u.countsRef(),
			{"open", func(ctx context.Context) error { _, err := u.openByTownship(ctx); return err }},
			overdue, unsigned, officials,
		}
	}
	return nil
}

// prefetchConns bounds the connections one sweep's prefetch holds at once.
// Two keep a scan running while the kinds are built and enqueued; more only
// contend for the database's CPUs (on the 2-core bench machine four made
// the first sweep slower, not faster) and take connections from the pool.
const prefetchConns = 2

// prefetch starts the scans of kinds in the background, in the order the
// kinds need them and at most prefetchConns at a time, when the store may
// run them concurrently (Postgres, outside a transaction). Their results
// wait in the run's scans; a failed one is made again by the builder that
// needs it. It returns a func that waits for them to finish.
func (u *run) prefetch(ctx context.Context, kinds []string) (wait func()) {
	if !u.r.d.Store.ConcurrentCalls(ctx) {
		return func() {}
	}
	var refs []scanRef
	seen := map[string]bool{}
	for _, k := range kinds {
		scans := u.kindScans(k)
		if k == KindLetterOffice && slices.Contains(kinds, KindDailyDigest) {
			// The digest reads the township counts (the longest scan)
			// anyway: queued with the office's scans rather than the
			// digest's, they are ready when a letter past its deadline
			// needs them for the office.
			scans = append([]scanRef{u.countsRef()}, scans...)
		}
		for _, ref := range scans {
			if !seen[ref.key] {
				seen[ref.key] = true
				refs = append(refs, ref)
			}
		}
	}
	if len(refs) < 2 {
		return func() {}
	}
	queue := make(chan scanRef, len(refs))
	for _, ref := range refs {
		queue <- ref
	}
	close(queue)
	var wg sync.WaitGroup
	for range min(prefetchConns, len(refs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ref := range queue {
				_ = ref.make(ctx)
			}
		}()
	}
	return wg.Wait
}

// kindTargets says, for the kinds sent only to active officials of one
// role, which officials a reminder of the kind may go to.
var kindTargets = map[string]func(o store.Official) bool{
	KindLetterTownship:        isTownshipOfficial,
	KindLetterOffice:          func(o store.Official) bool { return o.Role == safetybot.RoleOffice },
	KindSelfCheckTownship:     isTownshipOfficial,
	KindHazardOverdueTownship: isTownshipOfficial,
	KindReviewPending:         isTownshipOfficial,
	KindDailyDigest:           isTownshipOfficial,
}

func isTownshipOfficial(o store.Official) bool {
	return o.Role == safetybot.RoleTownship && o.Township != ""
}

// unclaimed returns kinds without those whose every possible target holds
// the kind's claim for today already (a catch-up run, another replica's run
// of the same job): the ledger would drop everything they built, so their
// scans are not made. When the ledger cannot be read, every kind is kept.
func (u *run) unclaimed(ctx context.Context, kinds []string) []string {
	var check []string
	for _, k := range kinds {
		if kindTargets[k] != nil {
			check = append(check, k)
		}
	}
	if len(check) == 0 {
		return kinds
	}
	officials, err := u.activeOfficials(ctx)
	if err != nil {
		return kinds
	}
	targets := make([]string, 0, len(officials))
	for _, o := range officials {
		targets = append(targets, o.UserID)
	}
	claimed, err := u.r.d.Store.RemindersClaimed(ctx, u.today, check, targets)
	if err != nil {
		u.r.d.Logger.Warn("reminder ledger unreadable, every kind is scanned", "err", err)
		return kinds
	}
	out := make([]string, 0, len(kinds))
	for _, k := range kinds {
		match := kindTargets[k]
		if match == nil {
			out = append(out, k)
			continue
		}
		for _, o := range officials {
			if match(o) && !claimed[k][o.UserID] {
				out = append(out, k)
				break
			}
		}
	}
	return out
}

// claimedTargets returns which of targets hold kind's claim for today
// already, so a builder makes no message the ledger would drop (a catch-up
// run, another replica's run of the same job). When the ledger cannot be
// read, none: SendReminders drops the claimed ones all the same.
func (u *run) claimedTargets(ctx context.Context, kind string, targets []string) map[string]bool {
	claimed, err := u.r.d.Store.RemindersClaimed(ctx, u.today, []string{kind}, targets)
	if err != nil {
		u.r.d.Logger.Warn("reminder ledger unreadable, every target is built", "kind", kind, "err", err)
		return nil
	}
	return claimed[kind]
}
