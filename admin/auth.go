package admin

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SessionCookie is the name of the admin session cookie. It holds a signed
// expiry, never the token itself.
const SessionCookie = "safetybot_admin_session"

// maxUpload caps a form post: a roster file of roster.MaxFileSize and the fields.
const maxUpload = 51 << 20

// sessionTTL is how long a login lasts.
const sessionTTL = 12 * time.Hour

// key derives the signing key from the admin token: changing the token ends
// every session.
func (s *Server) key() []byte {
	k := sha256.Sum256([]byte("safetybot admin session\x00" + s.d.Token))
	return k[:]
}

func (s *Server) sign(msg string) string {
	m := hmac.New(sha256.New, s.key())
	m.Write([]byte(msg))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// newSession returns a cookie value: v1.<expiry unix>.<nonce>.<signature>.
func (s *Server) newSession() string {
	nonce := make([]byte, 12)
	rand.Read(nonce)
	payload := "v1." + strconv.FormatInt(s.now().Add(sessionTTL).Unix(), 10) + "." + hex.EncodeToString(nonce)
	return payload + "." + s.sign(payload)
}

// session returns the request's valid session cookie value.
func (s *Server) session(r *http.Request) (string, bool) {
	if s.d.Token == "" {
		return "", false
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return "", false
	}
	i := strings.LastIndexByte(c.Value, '.')
	if i < 0 {
		return "", false
	}
	payload, sig := c.Value[:i], c.Value[i+1:]
	if !hmac.Equal([]byte(sig), []byte(s.sign(payload))) {
		return "", false
	}
	parts := strings.Split(payload, ".")
	if len(parts) != 3 || parts[0] != "v1" {
		return "", false
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || s.now().Unix() > exp {
		return "", false
	}
	return c.Value, true
}

// csrfToken is bound to the session cookie: a form from one session is no
// good in another.
func (s *Server) csrfToken(session string) string { return s.sign("csrf\x00" + session) }

func (s *Server) validCSRF(r *http.Request) bool {
	sess, ok := s.session(r)
	if !ok {
		return false
	}
	got := r.PostFormValue("csrf")
	return got != "" && hmac.Equal([]byte(got), []byte(s.csrfToken(sess)))
}

// secure reports whether cookies must be Secure: the request came over HTTPS
// (directly or through a proxy saying so) or the public URL is https.
func (s *Server) secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") ||
		strings.HasPrefix(strings.ToLower(s.d.PublicURL), "https://")
}

func (s *Server) setCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: value, Path: "/admin/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteStrictMode})
}

// authed lets logged-in admins through to a page; others go to the login page.
// Every POST must carry the session's CSRF token.
func (s *Server) authed(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.session(r); !ok {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/admin/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			s.render(w, r, http.StatusUnauthorized, "login", view{Title: "登录", Error: "登录已过期，请重新登录后再操作。"})
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxUpload)
			if err := r.ParseMultipartForm(32 << 20); err != nil && err != http.ErrNotMultipart {
				s.render(w, r, http.StatusBadRequest, "error", view{Title: "出错了", Error: "提交的内容无法读取（文件可能过大）。"})
				return
			}
			if !s.validCSRF(r) {
				s.render(w, r, http.StatusForbidden, "error", view{Title: "出错了", Error: "页面已过期或来源不明，请刷新页面后重新提交。"})
				return
			}
		}
		next(w, r)
	}
}

// authedRaw guards files (photos, downloads): no redirect, just 401.
func (s *Server) authedRaw(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.session(r); !ok {
			http.Error(w, "请先登录管理页面", http.StatusUnauthorized)
			return
		}
		next(w, r)
	}
}

// safeNext keeps a post-login redirect on this page.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/admin/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/admin/"
	}
	return next
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.session(r); ok {
		http.Redirect(w, r, "/admin/", http.StatusSeeOther)
		return
	}
	v := view{Title: "登录", Data: map[string]string{"Next": safeNext(r.URL.Query().Get("next"))}}
	if s.d.Token == "" {
		v.Error = "管理口令未设置（SAFETYBOT_ADMIN_TOKEN），管理页面不可用。"
	}
	s.render(w, r, http.StatusOK, "login", v)
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.PostFormValue("next"))
	data := map[string]string{"Next": next}
	if s.d.Token == "" {
		s.render(w, r, http.StatusForbidden, "login", view{Title: "登录", Data: data, Error: "管理口令未设置（SAFETYBOT_ADMIN_TOKEN），管理页面不可用。"})
		return
	}
	ip := clientIP(r)
	if wait := s.limiter.wait(ip, s.now()); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds()+0.999)))
		s.render(w, r, http.StatusTooManyRequests, "login", view{Title: "登录", Data: data,
			Error: fmt.Sprintf("口令错误次数过多，请 %d 秒后再试。", int(wait.Seconds()+0.999))})
		return
	}
	got := sha256.Sum256([]byte(r.PostFormValue("token")))
	want := sha256.Sum256([]byte(s.d.Token))
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		fails := s.limiter.fail(ip, s.now())
		s.d.Logger.Warn("admin login failed", "ip", ip, "failures", fails)
		msg := "管理口令不正确，请重新输入。"
		if d := backoff(fails); d > 0 {
			msg += fmt.Sprintf("连续输错 %d 次，请 %d 秒后再试。", fails, int(d.Seconds()))
		}
		s.render(w, r, http.StatusUnauthorized, "login", view{Title: "登录", Data: data, Error: msg})
		return
	}
	s.limiter.reset(ip)
	s.setCookie(w, r, s.newSession(), int(sessionTTL.Seconds()))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	s.setCookie(w, r, "", -1)
	s.render(w, r, http.StatusOK, "login", view{Title: "登录", Flash: "已退出登录。", Data: map[string]string{"Next": "/admin/"}})
}

// clientIP is the peer address; a proxy in front makes everyone one client,
// which errs on the side of slowing guesses down.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// backoff is the wait after n consecutive failures: the first mistake is
// free, then 1 s, 2 s, 4 s … up to 5 minutes.
func backoff(n int) time.Duration {
	if n < 2 {
		return 0
	}
	d := time.Second << min(n-2, 16)
	return min(d, 5*time.Minute)
}

// limiter remembers failed logins per client address.
type limiter struct {
	mu sync.Mutex
	m  map[string]*attempts
}

type attempts struct {
	fails int
	last  time.Time
}

func newLimiter() *limiter { return &limiter{m: map[string]*attempts{}} }

// wait returns how long ip must still wait before trying again.
func (l *limiter) wait(ip string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.m[ip]
	if a == nil {
		return 0
	}
	return max(0, a.last.Add(backoff(a.fails)).Sub(now))
}

// fail records a failure and returns the consecutive count.
func (l *limiter) fail(ip string, now time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.m) > 10000 {
		// Forget clients quiet for an hour, so the map cannot grow without bound.
		for k, a := range l.m {
			if now.Sub(a.last) > time.Hour {
				delete(l.m, k)
			}
		}
	}
	a := l.m[ip]
	if a == nil || now.Sub(a.last) > time.Hour {
		a = &attempts{}
		l.m[ip] = a
	}
	a.fails++
	a.last = now
	return a.fails
}

func (l *limiter) reset(ip string) {
	l.mu.Lock()
	delete(l.m, ip)
	l.mu.Unlock()
}
