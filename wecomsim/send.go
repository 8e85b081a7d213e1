package wecomsim

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of message/send.
const (
	maxUsers         = 1000
	maxParties       = 100
	maxTags          = 100
	maxTextBytes     = 2048
	maxDupInterval   = 14400
	defaultDupWindow = 1800
	maxBodyBytes     = 4 << 20
)

// apiError is a WeCom errcode with a hint for errmsg.
type apiError struct {
	code int
	hint string
}

func errf(code int, format string, args ...any) *apiError {
	return &apiError{code: code, hint: fmt.Sprintf(format, args...)}
}

// flexInt accepts a JSON number or a JSON string holding one, as WeCom does for
// agentid (silenceper sends it as a string).
type flexInt struct {
	v   int64
	set bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexInt) UnmarshalJSON(b []byte) error {
	raw := strings.TrimSpace(string(b))
	if raw == "null" {
		return nil
	}
	if strings.HasPrefix(raw, `"`) {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		if str = strings.TrimSpace(str); str == "" {
			return nil
		}
		raw = str
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return fmt.Errorf("not an integer: %s", raw)
	}
	f.v, f.set = n, true
	return nil
}

type sendRequest struct {
	ToUser                 string  `json:"touser"`
	ToParty                string  `json:"toparty"`
	ToTag                  string  `json:"totag"`
	MsgType                string  `json:"msgtype"`
	AgentID                flexInt `json:"agentid"`
	Safe                   flexInt `json:"safe"`
	EnableIDTrans          flexInt `json:"enable_id_trans"`
	EnableDuplicateCheck   flexInt `json:"enable_duplicate_check"`
	DuplicateCheckInterval flexInt `json:"duplicate_check_interval"`
}

type sendResponse struct {
	ErrCode        int    `json:"errcode"`
	ErrMsg         string `json:"errmsg"`
	InvalidUser    string `json:"invaliduser"`
	InvalidParty   string `json:"invalidparty"`
	InvalidTag     string `json:"invalidtag"`
	UnlicensedUser string `json:"unlicenseduser"`
	MsgID          string `json:"msgid,omitempty"`
	ResponseCode   string `json:"response_code,omitempty"`
}

type dupEntry struct {
	until time.Time
	resp  []byte
}

// handleSend serves POST /cgi-bin/message/send.
func (s *Server) handleSend(w http.ResponseWriter, r *http.Request) {
	if !s.authorize(w, r, http.MethodPost) {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes))
	if err != nil {
		writeErr(w, 47001, "cannot read body")
		return
	}
	resp, aerr := s.send(body)
	if aerr != nil {
		s.log.Debug("message/send rejected", "errcode", aerr.code, "hint", aerr.hint)
		if resp == nil {
			writeErr(w, aerr.code, aerr.hint)
			return
		}
		resp.ErrCode, resp.ErrMsg = aerr.code, errMsg(aerr.code, aerr.hint)
		writeJSON(w, resp)
		return
	}
	writeJSON(w, resp)
}

// send validates and delivers one message/send body. A non-nil response with an
// error carries the invalid lists (81013).
func (s *Server) send(body []byte) (*sendResponse, *apiError) {
	var req sendRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, errf(47001, "body: %v", err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, errf(47001, "body: %v", err)
	}
	if aerr := s.checkAgent(req.AgentID); aerr != nil {
		return nil, aerr
	}
	dupCheck := req.EnableDuplicateCheck.v == 1
	window := defaultDupWindow * time.Second
	if dupCheck && req.DuplicateCheckInterval.set {
		iv := req.DuplicateCheckInterval.v
		if iv < 0 || iv > maxDupInterval {
			return nil, errf(40058, "duplicate_check_interval must be within 0..%d", maxDupInterval)
		}
		if iv > 0 {
			window = time.Duration(iv) * time.Second
		}
	}
	dupKey := sha256.Sum256(body)
	if dupCheck {
		// Answer a duplicate before validating anything else: the original passed.
		s.mu.Lock()
		if e := s.dupes[dupKey]; e != nil && s.now().Before(e.until) {
			s.dupSupp++
			var resp sendResponse
			_ = json.Unmarshal(e.resp, &resp)
			s.mu.Unlock()
			return &resp, nil
		}
		s.mu.Unlock()
	}

	payload, c, aerr := s.normalizePayload(req.MsgType, fields[req.MsgType])
	if aerr != nil {
		return nil, aerr
	}

	users, parties, tags := splitList(req.ToUser), splitList(req.ToParty), splitList(req.ToTag)
	all := len(users) == 1 && users[0] == "@all"
	if all {
		parties, tags = nil, nil
	}
	switch {
	case len(users) == 0 && len(parties) == 0 && len(tags) == 0:
		return nil, errf(82001, "touser, toparty and totag are all empty")
	case len(users) > maxUsers:
		return nil, errf(40058, "touser lists %d users, at most %d", len(users), maxUsers)
	case len(parties) > maxParties:
		return nil, errf(40058, "toparty lists %d parties, at most %d", len(parties), maxParties)
	case len(tags) > maxTags:
		return nil, errf(40058, "totag lists %d tags, at most %d", len(tags), maxTags)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	// Checked again under the lock so that two concurrent identical bodies
	// deliver once.
	if e := s.dupes[dupKey]; dupCheck && e != nil && now.Before(e.until) {
		s.dupSupp++
		var resp sendResponse
		_ = json.Unmarshal(e.resp, &resp)
		return &resp, nil
	}
	var taskID string
	if c != nil && c.TaskID != "" {
		taskID = c.TaskID
		if _, used := s.tasks[taskID]; used {
			return nil, errf(40058, "task_id %q has been used before", taskID)
		}
	}

	var valid, invalid []string
	seen := map[string]bool{}
	if all {
		valid = s.allUsersLocked()
	} else {
		for _, u := range users {
			low := strings.ToLower(u)
			if seen[low] {
				continue
			}
			seen[low] = true
			if _, ok := s.knownUserLocked(u); ok {
				valid = append(valid, low)
			} else {
				invalid = append(invalid, low)
			}
		}
	}
	resp := &sendResponse{
		InvalidUser:  strings.Join(invalid, "|"),
		InvalidParty: strings.Join(parties, "|"),
		InvalidTag:   strings.Join(tags, "|"),
	}
	if len(valid) == 0 {
		return resp, errf(81013, "no valid recipient")
	}
	if s.cfg.RateLimitErrors {
		for _, u := range valid {
			if !s.underLimitLocked(u, now) {
				return nil, errf(45009, "member %s is over its message limit", u)
			}
		}
	}

	s.msgSeq++
	resp.MsgID = fmt.Sprintf("sim%08d%s", s.msgSeq, s.randomString(24, alphabetAlnum))
	s.msgs[resp.MsgID] = now
	var t *task
	if taskID != "" {
		t = &task{id: taskID, msgID: resp.MsgID, cardType: c.CardType, recipients: map[string]*cardState{}}
		s.tasks[taskID] = t
	}
	needsCode := c != nil && c.needsResponseCode()
	for _, u := range valid {
		if !s.underLimitLocked(u, now) {
			s.dropped++
			s.log.Debug("message dropped by rate limit", "user", u)
			continue
		}
		s.rate[u] = append(s.rate[u], now)
		d := Delivered{MsgID: resp.MsgID, To: u, MsgType: req.MsgType, Body: payload, TaskID: taskID, At: now}
		if t != nil {
			st := &cardState{card: payload}
			if needsCode {
				st.code = s.newCodeLocked(taskID, u, now)
				d.ResponseCode = st.code
				if resp.ResponseCode == "" {
					resp.ResponseCode = st.code
				}
			}
			t.recipients[u] = st
		}
		s.recordLocked(d)
	}
	if needsCode && resp.ResponseCode == "" {
		// Everyone was rate-limited: WeCom still answers with a code.
		resp.ResponseCode = s.newCodeLocked(taskID, "", now)
	}
	resp.ErrMsg = "ok"
	if dupCheck {
		s.dupes[dupKey] = &dupEntry{until: now.Add(window), resp: marshal(resp)}
	}
	return resp, nil
}

func (s *Server) checkAgent(a flexInt) *apiError {
	if !a.set {
		return errf(41011, "agentid missing")
	}
	if a.v != s.cfg.AgentID {
		return errf(40056, "agentid %d is not this app's", a.v)
	}
	return nil
}

// underLimitLocked reports whether u may receive one more message now, pruning
// the rolling windows on the way.
func (s *Server) underLimitLocked(u string, now time.Time) bool {
	ts := s.rate[u]
	hourAgo, minAgo := now.Add(-time.Hour), now.Add(-time.Minute)
	i := 0
	for i < len(ts) && !ts[i].After(hourAgo) {
		i++
	}
	ts = ts[i:]
	s.rate[u] = ts
	inMinute := 0
	for j := len(ts) - 1; j >= 0 && ts[j].After(minAgo); j-- {
		inMinute++
	}
	return inMinute < s.cfg.PerMemberPerMinute && len(ts) < s.cfg.PerMemberPerHour
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	for _, p := range strings.Split(s, "|") {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// normalizePayload validates the payload object of msgtype and returns it as
// delivered (truncated where WeCom truncates), plus the parsed card for
// template_card.
func (s *Server) normalizePayload(msgtype string, raw json.RawMessage) (json.RawMessage, *card, *apiError) {
	if !knownMsgTypes[msgtype] {
		return nil, nil, errf(40008, "msgtype %q", msgtype)
	}
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil, errf(40008, "%s object missing", msgtype)
	}
	switch msgtype {
	case "text", "markdown":
		var p struct {
			Content string `json:"content"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, nil, errf(47001, "%s: %v", msgtype, err)
		}
		if p.Content == "" {
			return nil, nil, errf(44004, "%s.content is empty", msgtype)
		}
		if len(p.Content) > maxTextBytes && s.cfg.RejectLongText {
			return nil, nil, errf(45002, "%s.content is %d bytes, at most %d", msgtype, len(p.Content), maxTextBytes)
		}
		p.Content = truncateBytes(p.Content, maxTextBytes)
		return marshal(p), nil, nil
	case "textcard":
		return normalizeTextCard(raw)
	case "news":
		return normalizeNews(raw)
	case "image", "voice", "file", "video":
		return s.normalizeMediaPayload(msgtype, raw)
	case "template_card":
		c, body, aerr := parseCard(raw, false)
		if aerr != nil {
			return nil, nil, aerr
		}
		return body, c, nil
	}
	// mpnews, miniprogram_notice: accepted as any object.
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, nil, errf(47001, "%s: %v", msgtype, err)
	}
	return compact(raw), nil, nil
}

var knownMsgTypes = map[string]bool{
	"text": true, "image": true, "voice": true, "video": true, "file": true,
	"textcard": true, "news": true, "mpnews": true, "markdown": true,
	"miniprogram_notice": true, "template_card": true,
}

func normalizeTextCard(raw json.RawMessage) (json.RawMessage, *card, *apiError) {
	var p struct {
		Title       string `json:"title"`
		Description string `json:"description"`
		URL         string `json:"url"`
		BtnTxt      string `json:"btntxt,omitempty"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, nil, errf(47001, "textcard: %v", err)
	}
	switch {
	case p.Title == "":
		return nil, nil, errf(40058, "textcard.title is required")
	case p.Description == "":
		return nil, nil, errf(40058, "textcard.description is required")
	case !isHTTPURL(p.URL):
		return nil, nil, errf(40058, "textcard.url must be an http(s) URL")
	case len(p.URL) > 2048:
		return nil, nil, errf(40058, "textcard.url is longer than 2048 bytes")
	}
	p.Title = truncateBytes(p.Title, 128)
	p.Description = truncateBytes(p.Description, 512)
	p.BtnTxt = truncateRunes(p.BtnTxt, 4)
	return marshal(p), nil, nil
}

func normalizeNews(raw json.RawMessage) (json.RawMessage, *card, *apiError) {
	type article struct {
		Title       string `json:"title"`
		Description string `json:"description,omitempty"`
		URL         string `json:"url,omitempty"`
		PicURL      string `json:"picurl,omitempty"`
		AppID       string `json:"appid,omitempty"`
		PagePath    string `json:"pagepath,omitempty"`
	}
	var p struct {
		Articles []article `json:"articles"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, nil, errf(47001, "news: %v", err)
	}
	if len(p.Articles) == 0 {
		return nil, nil, errf(44003, "news.articles is empty")
	}
	if len(p.Articles) > 8 {
		return nil, nil, errf(40058, "news has %d articles, at most 8", len(p.Articles))
	}
	for i := range p.Articles {
		a := &p.Articles[i]
		if a.Title == "" {
			return nil, nil, errf(40058, "news.articles[%d].title is required", i)
		}
		if a.URL == "" && (a.AppID == "" || a.PagePath == "") {
			return nil, nil, errf(40058, "news.articles[%d] needs url or appid+pagepath", i)
		}
		if len(a.URL) > 2048 {
			return nil, nil, errf(40058, "news.articles[%d].url is longer than 2048 bytes", i)
		}
		a.Title = truncateBytes(a.Title, 128)
		a.Description = truncateBytes(a.Description, 512)
	}
	return marshal(p), nil, nil
}

func (s *Server) normalizeMediaPayload(msgtype string, raw json.RawMessage) (json.RawMessage, *card, *apiError) {
	var p struct {
		MediaID     string `json:"media_id"`
		Title       string `json:"title,omitempty"`
		Description string `json:"description,omitempty"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, nil, errf(47001, "%s: %v", msgtype, err)
	}
	if p.MediaID == "" {
		return nil, nil, errf(40007, "%s.media_id is empty", msgtype)
	}
	if _, ok := s.lookupMedia(p.MediaID); !ok {
		return nil, nil, errf(40007, "%s.media_id is unknown or expired", msgtype)
	}
	if msgtype != "video" {
		return marshal(map[string]string{"media_id": p.MediaID}), nil, nil
	}
	p.Title = truncateBytes(p.Title, 128)
	p.Description = truncateBytes(p.Description, 512)
	return marshal(p), nil, nil
}

// handleRecall serves POST /cgi-bin/message/recall: msgids of the last 24 h.
func (s *Server) handleRecall(w http.ResponseWriter, r *http.Request) {
	if !s.authorize(w, r, http.MethodPost) {
		return
	}
	var req struct {
		MsgID string `json:"msgid"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBodyBytes)).Decode(&req); err != nil {
		writeErr(w, 47001, "body: "+err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.msgs[req.MsgID]
	if !ok || s.now().Sub(at) > 24*time.Hour {
		writeErr(w, 40058, "msgid unknown or older than 24h")
		return
	}
	for i := range s.delivered {
		if s.delivered[i].MsgID == req.MsgID {
			s.delivered[i].Recalled = true
		}
	}
	s.broadcastLocked()
	writeErr(w, 0, "")
}

// truncateBytes cuts s to at most n bytes without splitting a UTF-8 character
// (WeCom's own behaviour at the boundary is unconfirmed; this is the choice).
func truncateBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

func isHTTPURL(u string) bool {
	return strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://")
}

func compact(raw json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return append(json.RawMessage(nil), raw...)
	}
	return b.Bytes()
}
