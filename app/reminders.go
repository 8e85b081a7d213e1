package app

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"safetybot"
	"safetybot/handlers"
	"safetybot/scheduler"
	"safetybot/store"
)

func init() {
	jobRegistrations = append(jobRegistrations, registerReminders, registerDraftWarnings)
}

// registerReminders adds the reminder, digest and escalation jobs
// (scheduler.ReminderJobs).
func registerReminders(a *App) error {
	r := scheduler.NewReminders(scheduler.ReminderDeps{
		Store: a.Store, Location: a.Config.Location, Clock: a.Clock, Calendar: a.Sched.Calendar(),
		PublicURL: a.Config.PublicURL, PushTime: a.Sched.NextPushTime, Wake: a.wakeSender, Logger: a.Log,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return r.Register(ctx, a.Sched)
}

// draftWarningsJob warns users a day before an unfinished self-inspection
// draft expires (handlers.SendDraftWarnings, which marks each draft warned
// once). It runs hourly by day, every day: a draft expires on weekends too.
const draftWarningsJob = "selfcheck-draft-warnings"

func registerDraftWarnings(a *App) error {
	return a.Sched.Add(scheduler.Job{Name: draftWarningsJob, Cron: "17 8-20 * * *",
		Run: func(ctx context.Context, slot scheduler.Slot) error {
			now := a.Clock.Now()
			if !a.Sched.PushAllowed(now) {
				return nil // inside quiet hours: the next hourly run warns
			}
			n, err := handlers.SendDraftWarnings(ctx, a.Store, now.In(a.Config.Location))
			if n > 0 {
				a.wakeSender()
			}
			return err
		}})
}

func (a *App) wakeSender() {
	if a.Sender != nil {
		a.Sender.Wake()
	}
}

// hazardPatch is the body of PATCH /api/hazards/{id}: the 五定 fields and
// the tracker; absent fields are left as they are.
type hazardPatch struct {
	Measures *string `json:"measures"`
	Owner    *string `json:"owner"`
	Funds    *string `json:"funds"`
	Deadline *string `json:"deadline"` // YYYY-MM-DD
	Plan     *string `json:"plan"`
	Tracker  *string `json:"tracker"` // userid of an official; "" clears
}

// hazardJSON is a hazard as the API returns it.
type hazardJSON struct {
	ID         int64  `json:"id"`
	Enterprise int64  `json:"enterprise_id"`
	Grade      string `json:"grade"`
	Status     string `json:"status"`
	Deadline   string `json:"deadline,omitempty"`
	Measures   string `json:"measures"`
	Owner      string `json:"owner"`
	Funds      string `json:"funds"`
	Plan       string `json:"plan"`
	Tracker    string `json:"tracker"`
}

// patchHazard sets the 五定 fields and tracker of a hazard (admin token).
// Bad input is 400 with the reason.
func (a *App) patchHazard(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		a.writeErr(w, safetybot.Errorf(safetybot.EINVALID, "hazard id %q is not a number", r.PathValue("id")))
		return
	}
	var req hazardPatch
	if err := decodeJSON(w, r, &req); err != nil {
		a.writeErr(w, err)
		return
	}
	p := store.HazardPlan{Measures: req.Measures, Owner: req.Owner, Funds: req.Funds, Plan: req.Plan, Tracker: req.Tracker}
	if req.Deadline != nil {
		d, err := time.Parse(time.DateOnly, strings.TrimSpace(*req.Deadline))
		if err != nil {
			a.writeErr(w, safetybot.Errorf(safetybot.EINVALID, "deadline %q is not a date like 2026-08-20", *req.Deadline))
			return
		}
		today := a.Clock.Now().In(a.Config.Location).Format(time.DateOnly)
		if d.Format(time.DateOnly) < today {
			a.writeErr(w, safetybot.Errorf(safetybot.EINVALID, "deadline %s is in the past", d.Format(time.DateOnly)))
			return
		}
		p.Deadline = &d
	}
	before, err := a.Store.FindHazard(r.Context(), id)
	if err != nil {
		a.writeErr(w, err)
		return
	}
	var h safetybot.Hazard
	err = a.Store.InTx(r.Context(), func(ctx context.Context) error {
		var err error
		if h, err = a.Store.SetHazardPlan(ctx, id, "admin-api", p); err != nil {
			return err
		}
		return handlers.NotifyTracker(ctx, a.Store, h, before.Tracker, "市安委办")
	})
	if err != nil {
		a.writeErr(w, err)
		return
	}
	a.wakeSender()
	out := hazardJSON{ID: h.ID, Enterprise: h.EnterpriseID, Grade: h.Grade, Status: string(h.Status), Measures: h.Measures,
		Owner: h.Owner, Funds: h.Funds, Plan: h.Plan, Tracker: h.Tracker}
	if h.Deadline != nil {
		out.Deadline = h.Deadline.Format(time.DateOnly)
	}
	writeJSON(w, http.StatusOK, out)
}
