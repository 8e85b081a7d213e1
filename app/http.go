package app

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"safetybot/admin"
)

func (a *App) routes() {
	m := http.NewServeMux()
	m.Handle("/wecom/callback", a.Intake)
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	m.HandleFunc("GET /readyz", a.readyz)
	m.Handle("GET /metrics", promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{}))
	m.HandleFunc("GET /letters/{id}", a.letterPage)
	m.Handle("/admin/", admin.New(admin.Deps{Store: a.Store, Token: a.Config.AdminToken, PublicURL: a.Config.PublicURL, Location: a.Config.Location, DataDir: a.Config.DataDir, Clock: a.Clock, Logger: a.Log, Markdown: Markdown, WakeSender: a.Sender.Wake}))
	m.HandleFunc("POST /api/letters", a.adminOnly(a.postLetter))
	m.HandleFunc("POST /api/notices", a.adminOnly(a.postNotice))
	m.HandleFunc("GET /submissions/{id}", a.submissionPage)
	m.HandleFunc("GET /submissions/{id}/photos/{sha}", a.submissionPhoto)
	m.HandleFunc("GET /photos/{sha}", a.photoLink)
	m.HandleFunc("POST /api/submissions/{id}/return", a.adminOnly(a.postSubmissionReturn))
	m.HandleFunc("PATCH /api/hazards/{id}", a.adminOnly(a.patchHazard))
	m.HandleFunc("/api/", a.adminOnly(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, apiError{Error: "no such endpoint"})
	}))
	if a.Sim != nil {
		m.Handle("/_sim/", a.Sim)
	}
	a.mux = m
}

// readyz reports whether this replica can take traffic: the database answers and
// is migrated, Redis answers when configured, and shutdown has not begun.
func (a *App) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{}
	ok := true
	if a.stopping.Load() {
		checks["shutdown"] = "in progress"
		ok = false
	}
	if err := a.Store.Ready(ctx); err != nil {
		checks["database"] = err.Error()
		ok = false
	} else {
		checks["database"] = "ok"
	}
	if a.Cache.Kind() == "redis" {
		if err := a.Cache.Ping(ctx); err != nil {
			checks["redis"] = err.Error()
			ok = false
		} else {
			checks["redis"] = "ok"
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	json.NewEncoder(w).Encode(map[string]any{"ready": ok, "checks": checks})
}
