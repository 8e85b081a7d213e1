// Package wecomsim is a protocol-faithful fake of WeCom (企业微信) for one
// self-built application. It plays both sides of the wire:
//
//   - Server side: the HTTP API under /cgi-bin/ (gettoken, message/send,
//     message/update_template_card, message/recall, media/upload, media/get,
//     menu/create|get|delete, user/get) with WeCom's validation rules, error codes,
//     duplicate check, per-member rate limit and injectable faults. It records every
//     delivered message per member so tests can assert on what a person saw.
//   - Client side: it encrypts, signs and posts callbacks to the bot exactly as
//     WeCom does (AES-256-CBC, 32-byte PKCS#7, SHA-1 signature, 5 s deadline,
//     redelivery), and validates the bot's passive encrypted replies.
//   - Admin side: /sim/ endpoints for the terminal chat client (see admin.go).
//
// The package deliberately imports nothing from safetybot: it is an independent
// reading of the protocol (/work/shared/wecom/PROTOCOL.md) so that it can catch
// bugs in the bot's own wire code.
//
// Error codes the WeCom documentation leaves open are fixed here as follows:
//
//	40058 task_id reused by a later call; response_code reused, expired or unknown;
//	      msgid unknown or older than 24 h (recall); more than 1000 users / 100
//	      parties / 100 tags; a missing or malformed required field of a payload or
//	      card; duplicate_check_interval outside 0..14400
//	47001 body that is not JSON, or a field of the wrong JSON type
//	41011 agentid missing; 40056 agentid differs from the app's
//	40008 unknown msgtype or missing payload object; 44004 empty text/markdown
//	      content; 44003 news without articles
//	43001 / 43002 wrong HTTP method (GET required / POST required)
//	81013 every recipient invalid (message/send; update_template_card when none of
//	      the userids received the card — the code is then not consumed)
//	82001 no recipient at all (message/send and update_template_card)
//	45009 per-member rate limit, only with Config.RateLimitErrors (default: silent
//	      drop); the whole call fails and nothing is delivered
//	45002 over-long text/markdown, only with Config.RejectLongText (default:
//	      truncation to 2048 bytes at a UTF-8 boundary, never splitting a character)
//	40016..40025 menu/create validation (WeChat's menu error family)
//
// Other behaviour choices where the sources are silent:
//
//   - gettoken returns the same token while it is valid and always expires_in =
//     TokenTTL (not the remaining lifetime).
//   - A duplicate-checked resend (byte-identical body inside the interval) is
//     answered errcode 0 with the original msgid and response_code, and not
//     delivered; this check runs before the task_id uniqueness check.
//   - Each recipient of an interactive card gets its own response_code; the send
//     answer carries the first recipient's. A code updates any listed recipient of
//     the same task (atall: all of them). A click carries the clicker's own code
//     the first time and a fresh code on every later click.
//   - Redeliveries carry the same plaintext, re-encrypted with a new random prefix
//     and signed with a new timestamp and nonce.
//   - Call counters (TokenFetches, SendCalls, Calls) include failed and faulted calls.
//   - Departments and tags are not modelled: every toparty/totag id is reported
//     back as invalid.
package wecomsim

import (
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultCorpID         = "wwsimcorp00000001"
	DefaultSecret         = "wecomsim-secret"
	DefaultAgentID        = 1000002
	DefaultToken          = "wecomsimtoken"
	DefaultEncodingAESKey = "c2ltdWxhdG9yLWtleS1mb3Itd2Vjb20tc2FuZGJveDE"
)

// Config configures a Server. Zero fields take the documented defaults.
type Config struct {
	// CorpID, Secret and AgentID identify the app; gettoken checks the first two.
	CorpID  string
	Secret  string
	AgentID int64
	// Token and EncodingAESKey are the callback settings (43-char key).
	Token          string
	EncodingAESKey string
	// CallbackURL is where callbacks are posted (can be set later with SetCallbackURL).
	CallbackURL string
	// BaseURL is the simulator's own public URL, used to build image PicUrl values
	// (<BaseURL>/sim/pic/<media_id>). Empty: learned from the first request served,
	// else http://wecomsim.invalid.
	BaseURL string
	// TokenTTL is the access token lifetime (default 7200 s).
	TokenTTL time.Duration
	// Clock tells the time for every TTL, window and timestamp (default time.Now).
	Clock func() time.Time
	// Users lists the known member userids (case-insensitive). Unknown users are
	// reported in invaliduser. When Users is empty and AddUsers was never called,
	// every syntactically valid userid is known.
	Users []string
	// PerMemberPerMinute and PerMemberPerHour cap deliveries per member in rolling
	// windows (defaults 30 and 1000). The excess is dropped silently unless
	// RateLimitErrors is set, in which case the call fails with 45009.
	PerMemberPerMinute int
	PerMemberPerHour   int
	RateLimitErrors    bool
	// RejectLongText answers 45002 for text/markdown over 2048 bytes instead of
	// truncating.
	RejectLongText bool
	// ResponseCodeTTL is the lifetime of a template card response_code (default 72 h).
	ResponseCodeTTL time.Duration
	// MediaTTL is the lifetime of temporary media (default 3 days).
	MediaTTL time.Duration
	// CallbackTimeout is the bot's deadline per callback delivery (default 5 s).
	CallbackTimeout time.Duration
	// CallbackRetries is how many redeliveries follow a failed delivery (0: the
	// default 3, i.e. 4 deliveries in total; negative: none).
	CallbackRetries int
	// VerifyTimeout is the deadline for the URL verification GET (default 1 s).
	VerifyTimeout time.Duration
	// HTTPClient posts callbacks (default: a private client without a global timeout;
	// every attempt has its own CallbackTimeout).
	HTTPClient *http.Client
	// Seed seeds every random choice (tokens, ids, nonces, AES prefixes, fault rates)
	// so runs are reproducible.
	Seed int64
	// Logger receives debug lines about API calls and callbacks (default: discard).
	// Tokens, secrets and message bodies are never logged.
	Logger *slog.Logger
}

// Server is the fake WeCom. It implements http.Handler: routes are recognised by
// the /cgi-bin/ or /sim/ segment of the path, so it works at the root of an
// httptest.Server and under any prefix of another mux. All methods are safe for
// concurrent use.
type Server struct {
	cfg Config
	log *slog.Logger

	mu          sync.Mutex
	rng         *rand.Rand
	notify      chan struct{}
	baseURL     string
	callbackURL string

	users     map[string]string // lower-case → canonical userid
	closed    bool              // the member list is authoritative
	seenUsers map[string]string // open mode: users met so far, for @all

	tokens  map[string]*accessToken
	current string

	calls     map[string]int
	dupSupp   int
	dropped   int
	seq       int64
	msgSeq    int64
	inboundID int64 // the last callback MsgId sent

	delivered []Delivered
	byUser    map[string][]int
	updates   []Update
	updByUser map[string][]int
	replies   []PassiveReply

	dupes  map[[32]byte]*dupEntry
	rate   map[string][]time.Time
	tasks  map[string]*task
	codes  map[string]*respCode
	msgs   map[string]time.Time // msgid → sent at, for recall
	media  map[string]*mediaItem
	menu   json.RawMessage
	faults map[string]*faultState
}

type accessToken struct {
	expires time.Time
	expired bool
	revoked bool
}

// New returns a Server with cfg's zero fields defaulted.
func New(cfg Config) *Server {
	if cfg.CorpID == "" {
		cfg.CorpID = DefaultCorpID
	}
	if cfg.Secret == "" {
		cfg.Secret = DefaultSecret
	}
	if cfg.AgentID == 0 {
		cfg.AgentID = DefaultAgentID
	}
	if cfg.Token == "" {
		cfg.Token = DefaultToken
	}
	if cfg.EncodingAESKey == "" {
		cfg.EncodingAESKey = DefaultEncodingAESKey
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = 7200 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.PerMemberPerMinute <= 0 {
		cfg.PerMemberPerMinute = 30
	}
	if cfg.PerMemberPerHour <= 0 {
		cfg.PerMemberPerHour = 1000
	}
	if cfg.ResponseCodeTTL <= 0 {
		cfg.ResponseCodeTTL = 72 * time.Hour
	}
	if cfg.MediaTTL <= 0 {
		cfg.MediaTTL = 72 * time.Hour
	}
	if cfg.CallbackTimeout <= 0 {
		cfg.CallbackTimeout = 5 * time.Second
	}
	if cfg.CallbackRetries == 0 {
		cfg.CallbackRetries = 3
	} else if cfg.CallbackRetries < 0 {
		cfg.CallbackRetries = 0
	}
	if cfg.VerifyTimeout <= 0 {
		cfg.VerifyTimeout = time.Second
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	cfg.Users = append([]string(nil), cfg.Users...)
	s := &Server{
		cfg:         cfg,
		log:         cfg.Logger.With("component", "wecomsim"),
		rng:         rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5eedc0de0000c0de)),
		notify:      make(chan struct{}),
		baseURL:     strings.TrimRight(cfg.BaseURL, "/"),
		callbackURL: cfg.CallbackURL,
		users:       map[string]string{},
		seenUsers:   map[string]string{},
		tokens:      map[string]*accessToken{},
		media:       map[string]*mediaItem{},
		faults:      map[string]*faultState{},
		// Wall time, not cfg.Clock: a fake clock starts at the same instant in
		// every run, and ids must differ across runs on one database.
		inboundID: firstInboundID(time.Now()),
	}
	s.resetLocked()
	s.AddUsers(cfg.Users...)
	return s
}

// Config returns the effective configuration, defaults applied. The bot's sandbox
// wiring reads CorpID, Secret, AgentID, Token and EncodingAESKey from here.
func (s *Server) Config() Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cfg
	c.CallbackURL = s.callbackURL
	c.BaseURL = s.baseURL
	c.Users = append([]string(nil), c.Users...)
	return c
}

// SetCallbackURL sets the bot's callback URL (useful when the bot's test server is
// started after the simulator).
func (s *Server) SetCallbackURL(u string) {
	s.mu.Lock()
	s.callbackURL = u
	s.mu.Unlock()
}

// SetBaseURL sets the simulator's own public URL, used to build PicUrl values.
func (s *Server) SetBaseURL(u string) {
	s.mu.Lock()
	s.baseURL = strings.TrimRight(u, "/")
	s.mu.Unlock()
}

// AddUsers makes the given userids known members. Calling it closes the member
// list: from then on only listed users are valid recipients.
func (s *Server) AddUsers(ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if !validUserID(id) {
			continue
		}
		s.users[strings.ToLower(id)] = id
		s.closed = true
	}
}

// Reset forgets every recorded message, update and passive reply, every counter,
// the duplicate-check memory, rate windows, task ids, response codes and faults.
// Tokens, media, the menu and the member list survive, so a running bot keeps working.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetLocked()
	s.broadcastLocked()
}

func (s *Server) resetLocked() {
	s.calls = map[string]int{}
	s.dupSupp, s.dropped = 0, 0
	s.delivered = nil
	s.byUser = map[string][]int{}
	s.updates = nil
	s.updByUser = map[string][]int{}
	s.replies = nil
	s.dupes = map[[32]byte]*dupEntry{}
	s.rate = map[string][]time.Time{}
	s.tasks = map[string]*task{}
	s.codes = map[string]*respCode{}
	s.msgs = map[string]time.Time{}
	s.faults = map[string]*faultState{}
}

// ExpireTokens makes every issued access token expired: API calls with them get
// 42001 and the next gettoken issues a new token.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tokens {
		t.expired = true
	}
	s.current = ""
}

// RevokeTokens invalidates every issued access token: API calls with them get
// 40014 and the next gettoken issues a new token.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tokens {
		t.revoked = true
	}
	s.current = ""
}

// TokenFetches counts gettoken calls, failed and faulted ones included.
func (s *Server) TokenFetches() int { return s.Calls(pathGetToken) }

// SendCalls counts message/send calls, failed and faulted ones included.
func (s *Server) SendCalls() int { return s.Calls(pathSend) }

// Calls counts the HTTP calls that reached path (e.g. "/cgi-bin/media/get" or
// "media/get"), faulted ones included.
func (s *Server) Calls(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[normalizePath(path)]
}

// DuplicatesSuppressed counts message/send calls answered from the duplicate check.
func (s *Server) DuplicatesSuppressed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dupSupp
}

// Dropped counts per-member deliveries dropped by the rate limit.
func (s *Server) Dropped() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// API paths.
const (
	pathGetToken     = "/cgi-bin/gettoken"
	pathSend         = "/cgi-bin/message/send"
	pathUpdateCard   = "/cgi-bin/message/update_template_card"
	pathRecall       = "/cgi-bin/message/recall"
	pathMediaUpload  = "/cgi-bin/media/upload"
	pathMediaGet     = "/cgi-bin/media/get"
	pathMenuCreate   = "/cgi-bin/menu/create"
	pathMenuGet      = "/cgi-bin/menu/get"
	pathMenuDelete   = "/cgi-bin/menu/delete"
	pathUserGet      = "/cgi-bin/user/get"
	pathSimMessages  = "/sim/messages"
	pathSimSend      = "/sim/send"
	pathSimPicPrefix = "/sim/pic/"
	pathSimState     = "/sim/state"
)

// ServeHTTP routes a request to the API or admin handler named by the part of the
// path that starts at /cgi-bin/ or /sim/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := routePath(r.URL.Path)
	s.learnBaseURL(r)
	h := s.handler(p)
	if h == nil {
		writeJSON(w, map[string]any{"errcode": 404, "errmsg": "wecomsim: unknown path " + p})
		return
	}
	s.mu.Lock()
	s.calls[p]++
	f := s.pickFaultLocked(p)
	s.mu.Unlock()
	s.log.Debug("api call", "path", p, "method", r.Method, "fault", f != nil)
	if f != nil {
		s.serveFault(w, r, *f, h)
		return
	}
	h(w, r)
}

func (s *Server) handler(p string) http.HandlerFunc {
	switch p {
	case pathGetToken:
		return s.handleGetToken
	case pathSend:
		return s.handleSend
	case pathUpdateCard:
		return s.handleUpdateCard
	case pathRecall:
		return s.handleRecall
	case pathMediaUpload:
		return s.handleMediaUpload
	case pathMediaGet:
		return s.handleMediaGet
	case pathMenuCreate:
		return s.handleMenuCreate
	case pathMenuGet:
		return s.handleMenuGet
	case pathMenuDelete:
		return s.handleMenuDelete
	case pathUserGet:
		return s.handleUserGet
	case pathSimMessages:
		return s.handleSimMessages
	case pathSimSend:
		return s.handleSimSend
	case pathSimState:
		return s.handleSimState
	}
	if strings.HasPrefix(p, pathSimPicPrefix) {
		return s.handleSimPic
	}
	return nil
}

// routePath keeps the path from its /cgi-bin/ or /sim/ segment on.
func routePath(p string) string {
	for _, seg := range []string{"/cgi-bin/", "/sim/"} {
		if i := strings.Index(p, seg); i >= 0 {
			return p[i:]
		}
	}
	return p
}

// normalizePath turns "message/send", "cgi-bin/message/send" or a full URL path
// into the canonical "/cgi-bin/message/send" form ("*" stays "*").
func normalizePath(p string) string {
	if p == "*" {
		return p
	}
	if u, err := url.Parse(p); err == nil && u.Path != "" {
		p = u.Path
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if strings.Contains(p, "/cgi-bin/") || strings.Contains(p, "/sim/") {
		return routePath(p)
	}
	return "/cgi-bin" + p
}

func (s *Server) learnBaseURL(r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.baseURL != "" || r.Host == "" {
		return
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	// RequestURI still holds the prefix a mux may have stripped from URL.Path.
	full := r.URL.Path
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil {
		full = u.Path
	}
	prefix := ""
	for _, seg := range []string{"/cgi-bin/", "/sim/"} {
		if i := strings.Index(full, seg); i >= 0 {
			prefix = full[:i]
			break
		}
	}
	s.baseURL = scheme + "://" + r.Host + prefix
}

func (s *Server) now() time.Time { return s.cfg.Clock() }

// handleGetToken serves GET /cgi-bin/gettoken.
func (s *Server) handleGetToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeErr(w, 43001, "require GET method")
		return
	}
	q := r.URL.Query()
	corp, secret := q.Get("corpid"), q.Get("corpsecret")
	switch {
	case corp == "":
		writeErr(w, 41002, "corpid missing")
		return
	case secret == "":
		writeErr(w, 41004, "corpsecret missing")
		return
	case corp != s.cfg.CorpID:
		writeErr(w, 40013, "invalid corpid")
		return
	case secret != s.cfg.Secret:
		writeErr(w, 40001, "invalid credential, access_token is invalid or not latest")
		return
	}
	s.mu.Lock()
	now := s.now()
	if t := s.tokens[s.current]; s.current == "" || t == nil || t.expired || t.revoked || !now.Before(t.expires) {
		s.current = s.randomString(64, alphabetToken)
		s.tokens[s.current] = &accessToken{expires: now.Add(s.cfg.TokenTTL)}
	}
	tok := s.current
	s.mu.Unlock()
	// WeCom answers the full lifetime even when it hands back a cached token.
	writeJSON(w, map[string]any{
		"errcode": 0, "errmsg": "ok",
		"access_token": tok, "expires_in": int64(s.cfg.TokenTTL / time.Second),
	})
}

// checkToken validates the access_token query parameter and returns 0 or an errcode.
func (s *Server) checkToken(r *http.Request) int {
	tok := r.URL.Query().Get("access_token")
	if tok == "" {
		return 41001
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[tok]
	switch {
	case !ok || t.revoked:
		return 40014
	case t.expired || !s.now().Before(t.expires):
		return 42001
	}
	return 0
}

// authorize checks method and token and writes the error itself.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method != method {
		if method == http.MethodPost {
			writeErr(w, 43002, "require POST method")
		} else {
			writeErr(w, 43001, "require GET method")
		}
		return false
	}
	if code := s.checkToken(r); code != 0 {
		writeErr(w, code, "")
		return false
	}
	return true
}

// handleUserGet serves GET /cgi-bin/user/get with the fields a new self-built app
// still receives (no avatar, gender, mobile, email…).
func (s *Server) handleUserGet(w http.ResponseWriter, r *http.Request) {
	if !s.authorize(w, r, http.MethodGet) {
		return
	}
	id := r.URL.Query().Get("userid")
	if !validUserID(id) {
		writeErr(w, 40003, "invalid userid")
		return
	}
	canon, ok := s.knownUser(id)
	if !ok {
		writeErr(w, 60111, "userid not found")
		return
	}
	writeJSON(w, map[string]any{
		"errcode": 0, "errmsg": "ok", "userid": canon, "name": canon,
		"department": []int{1}, "main_department": 1, "order": []int{0},
		"position": "", "is_leader_in_dept": []int{0}, "direct_leader": []string{},
		"telephone": "", "alias": "", "status": 1,
	})
}

// knownUser reports whether id is a member and returns its canonical spelling.
func (s *Server) knownUser(id string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.knownUserLocked(id)
}

func (s *Server) knownUserLocked(id string) (string, bool) {
	if !validUserID(id) {
		return "", false
	}
	low := strings.ToLower(id)
	if c, ok := s.users[low]; ok {
		return c, true
	}
	if s.closed {
		return "", false
	}
	if c, ok := s.seenUsers[low]; ok {
		return c, true
	}
	s.seenUsers[low] = id
	return id, true
}

// allUsersLocked lists the members @all reaches, sorted by lower-case id.
func (s *Server) allUsersLocked() []string {
	src := s.users
	if !s.closed {
		src = s.seenUsers
	}
	out := make([]string, 0, len(src))
	for low := range src {
		out = append(out, low)
	}
	sort.Strings(out)
	return out
}

// validUserID: 1–64 bytes of [A-Za-z0-9_.@-], starting with a letter or digit.
func validUserID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if i == 0 && !alnum {
			return false
		}
		if !alnum && c != '_' && c != '.' && c != '@' && c != '-' {
			return false
		}
	}
	return true
}

// broadcastLocked wakes every waiter (WaitMessages, /sim/messages long polls).
func (s *Server) broadcastLocked() {
	close(s.notify)
	s.notify = make(chan struct{})
}

const (
	alphabetToken = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	alphabetAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	alphabetDigit = "0123456789"
)

// randomString must be called with s.mu held.
func (s *Server) randomString(n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[s.rng.IntN(len(alphabet))]
	}
	return string(b)
}

// errMsgs are WeCom-like errmsg texts; clients must not branch on them.
var errMsgs = map[int]string{
	-1:     "system busy",
	0:      "ok",
	40001:  "invalid credential",
	40003:  "invalid userid",
	40004:  "invalid media type",
	40005:  "invalid file type",
	40006:  "invalid file size",
	40007:  "invalid media_id",
	40008:  "invalid message type",
	40013:  "invalid corpid",
	40014:  "invalid access_token",
	40016:  "invalid button size",
	40017:  "invalid button type",
	40018:  "invalid button name size",
	40019:  "invalid button key size",
	40020:  "invalid button url size",
	40023:  "invalid sub button size",
	40025:  "invalid sub button name size",
	40056:  "invalid agentid",
	40058:  "invalid parameter",
	41001:  "access_token missing",
	41002:  "corpid missing",
	41004:  "corpsecret missing",
	41005:  "media data missing",
	41011:  "missing agentid",
	42001:  "access_token expired",
	43001:  "require GET method",
	43002:  "require POST method",
	44001:  "empty media data",
	44003:  "empty news data",
	44004:  "empty content",
	45001:  "media size out of limit",
	46003:  "menu no exist",
	45002:  "content size out of limit",
	45009:  "api freq out of limit",
	45033:  "api concurrent out of limit",
	47001:  "data format error",
	60011:  "no privilege to access/modify contact/party/agent",
	60020:  "not allow to access from your ip",
	60111:  "userid not found",
	81013:  "user & party & tag all invalid",
	82001:  "All touser & toparty & totag invalid",
	301002: "access_token and agentid mismatch",
}

func errMsg(code int, hint string) string {
	m, ok := errMsgs[code]
	if !ok {
		m = "error"
	}
	if hint != "" {
		m += ", hint: [wecomsim: " + hint + "]"
	}
	return m
}

func writeErr(w http.ResponseWriter, code int, hint string) {
	writeJSON(w, map[string]any{"errcode": code, "errmsg": errMsg(code, hint)})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(marshal(v))
}

// marshal encodes v without HTML escaping, so stored bodies read like the input.
func marshal(v any) []byte {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("wecomsim: marshal: " + err.Error())
	}
	return []byte(strings.TrimSuffix(b.String(), "\n"))
}
