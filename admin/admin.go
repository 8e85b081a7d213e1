// Package admin is the office's web page (/admin/): progress per township,
// enterprises and their status, the hazard ledger with photos, roster upload,
// open letters and notices, and every report as a download. Pages are
// rendered on the server from embedded Go templates; the few lines of
// JavaScript and the style sheet are embedded too, so nothing is loaded from
// outside. Access is by the admin token, kept after login in a signed,
// HTTP-only session cookie; every form carries a CSRF token tied to it.
package admin

import (
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"safetybot"
	"safetybot/report"
	"safetybot/store"
)

//go:embed templates static
var assets embed.FS

// Deps is what the page needs from the running bot.
type Deps struct {
	Store *store.Store
	// Token is SAFETYBOT_ADMIN_TOKEN. Empty: nobody can log in.
	Token string
	// PublicURL decides, with the request itself, whether cookies are Secure.
	PublicURL string
	// Location is the campaign time zone (nil: Asia/Shanghai).
	Location *time.Location
	// DataDir holds the photos (<DataDir>/photos/…).
	DataDir string
	// Clock tells the reports what day it is and times sessions and login
	// backoff (nil: the system clock).
	Clock  safetybot.Clock
	Logger *slog.Logger
	// Markdown renders a letter body for the preview (nil: shown as plain text).
	Markdown func(string) template.HTML
	// WakeSender nudges the outbox sender after a letter or notice is queued.
	WakeSender func()
}

// Server serves /admin/.
type Server struct {
	d       Deps
	mux     *http.ServeMux
	pages   map[string]*template.Template
	limiter *limiter
	handler http.Handler

	// now is Deps.Clock: sessions, login backoff and the reports' "today".
	now func() time.Time

	mu    sync.Mutex
	cache *cachedSummary
}

type cachedSummary struct {
	at time.Time
	r  *report.SummaryReport
}

// summaryTTL is how long the progress figures are reused between page views.
// Any action taken on this page drops them at once.
const summaryTTL = 15 * time.Second

// New builds the page handler; mount it at /admin/.
func New(d Deps) *Server {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Clock == nil {
		d.Clock = safetybot.SystemClock{}
	}
	if d.Location == nil {
		loc, err := time.LoadLocation("Asia/Shanghai")
		if err != nil {
			loc = time.FixedZone("CST", 8*60*60)
		}
		d.Location = loc
	}
	s := &Server{d: d, mux: http.NewServeMux(), limiter: newLimiter(), now: d.Clock.Now}
	s.pages = parsePages()
	static, _ := fs.Sub(assets, "static")
	fileServer := http.StripPrefix("/admin/static/", http.FileServerFS(static))
	s.mux.Handle("GET /admin/static/", cacheStatic(fileServer))
	s.mux.HandleFunc("GET /admin/login", s.loginPage)
	s.mux.HandleFunc("POST /admin/login", s.login)
	s.mux.HandleFunc("POST /admin/logout", s.authed(s.logout))
	s.mux.HandleFunc("GET /admin/{$}", s.authed(s.dashboard))
	s.mux.HandleFunc("GET /admin/enterprises", s.authed(s.enterprises))
	s.mux.HandleFunc("GET /admin/hazards", s.authed(s.hazards))
	s.mux.HandleFunc("GET /admin/hazards/{id}", s.authed(s.hazard))
	s.mux.HandleFunc("GET /admin/photos/{sha}", s.authedRaw(s.photo))
	s.mux.HandleFunc("GET /admin/roster", s.authed(s.rosterPage))
	s.mux.HandleFunc("POST /admin/roster", s.authed(s.rosterUpload))
	s.mux.HandleFunc("GET /admin/letter", s.authed(s.letterPage))
	s.mux.HandleFunc("POST /admin/letter", s.authed(s.letterPost))
	s.mux.HandleFunc("GET /admin/notice", s.authed(s.noticePage))
	s.mux.HandleFunc("POST /admin/notice", s.authed(s.noticePost))
	s.mux.HandleFunc("GET /admin/reports", s.authed(s.reportsPage))
	s.mux.HandleFunc("GET /admin/reports/{file}", s.authedRaw(s.download))
	s.mux.HandleFunc("/admin/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "页面不存在", http.StatusNotFound)
	})
	// Cross-site form posts are refused before they reach a handler, on top
	// of the per-session CSRF token each form carries.
	s.handler = http.NewCrossOriginProtection().Handler(s.mux)
	return s
}

// ServeHTTP adds the security headers every admin response carries.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	s.handler.ServeHTTP(w, r)
}

func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "private, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

var funcs = template.FuncMap{
	"pct": func(f float64) string { return report.Percent(f).String() },
	// width is a rate as an SVG length out of 100.
	"width": func(f float64) string { return strconv.FormatFloat(min(max(f, 0), 1)*100, 'f', 2, 64) },
	"yesno": func(b bool) string {
		if b {
			return "是"
		}
		return "否"
	},
	"query": func(kv ...string) template.URL {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] != "" {
				v.Set(kv[i], kv[i+1])
			}
		}
		return template.URL(v.Encode())
	},
	"short": func(s string, n int) string {
		r := []rune(s)
		if len(r) <= n {
			return s
		}
		return string(r[:n]) + "…"
	},
	"firstn": func(list []string, n int) []string { return list[:min(n, len(list))] },
	// photos keeps the names that can be photos (a corrupt entry shows nothing).
	"photos": func(list []string) []string {
		return slices.DeleteFunc(slices.Clone(list), func(s string) bool { return !report.ValidPhotoSHA(s) })
	},
	"join": strings.Join,
	"has":  func(list []string, s string) bool { return slices.Contains(list, s) },
	"add":  func(a, b int) int { return a + b },
}

// parsePages parses each page with the shared layout.
func parsePages() map[string]*template.Template {
	pages := map[string]*template.Template{}
	entries, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		name := strings.TrimSuffix(strings.TrimPrefix(e, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		pages[name] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html", e))
	}
	return pages
}

// view is what every page template gets.
type view struct {
	Title   string
	Nav     string
	CSRF    string
	LoginOK bool
	Flash   string
	Error   string
	Data    any
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page string, v view) {
	if sess, ok := s.session(r); ok {
		v.CSRF = s.csrfToken(sess)
		v.LoginOK = true
	}
	t := s.pages[page]
	if t == nil {
		http.Error(w, "页面不存在", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := t.Execute(w, v); err != nil {
		s.d.Logger.Error("admin page", "page", page, "err", err)
	}
}

// fail shows an error: the user-safe message for known codes, an apology for
// the rest (logged once, here).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusInternalServerError, ""
	switch safetybot.ErrorCode(err) {
	case safetybot.EINVALID:
		status, msg = http.StatusBadRequest, safetybot.ErrorMessage(err)
	case safetybot.ENOTFOUND:
		status, msg = http.StatusNotFound, safetybot.ErrorMessage(err)
	case safetybot.ECONFLICT:
		status, msg = http.StatusConflict, safetybot.ErrorMessage(err)
	case safetybot.EFORBIDDEN:
		status, msg = http.StatusForbidden, safetybot.ErrorMessage(err)
	}
	if msg == "" {
		ref := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
		s.d.Logger.Error("admin request failed", "path", r.URL.Path, "ref", ref, "err", err)
		msg = fmt.Sprintf("服务暂时出错，请稍后再试（编号 %s）", ref)
	}
	s.render(w, r, status, "error", view{Title: "出错了", Error: msg})
}

// summary returns the progress figures, reused for a few seconds.
func (s *Server) summary(r *http.Request) (*report.SummaryReport, error) {
	s.mu.Lock()
	c := s.cache
	s.mu.Unlock()
	if c != nil && s.now().Sub(c.at) < summaryTTL {
		return c.r, nil
	}
	rep, err := report.Summary(r.Context(), s.d.Store, s.reportOptions())
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.cache = &cachedSummary{at: s.now(), r: rep}
	s.mu.Unlock()
	return rep, nil
}

// changed drops the cached figures after an action.
func (s *Server) changed() {
	s.mu.Lock()
	s.cache = nil
	s.mu.Unlock()
}

func (s *Server) reportOptions() report.Options {
	return report.Options{Now: s.d.Clock.Now(), Location: s.d.Location}
}
