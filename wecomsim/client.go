package wecomsim

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/silenceper/wechat/v2/util"
)

// Errors of the callback driver.
var (
	// ErrNoCallbackURL means neither Config.CallbackURL nor SetCallbackURL gave a URL.
	ErrNoCallbackURL = errors.New("wecomsim: no callback URL configured")
	// ErrCallbackFailed means no delivery of a callback was answered with HTTP 200
	// in time.
	ErrCallbackFailed = errors.New("wecomsim: callback not accepted")
	// ErrBadReply means the bot answered 200 with a passive reply WeCom would reject
	// (bad envelope, TimeStamp tag, signature, receive id or plaintext).
	ErrBadReply = errors.New("wecomsim: invalid passive reply")
	// ErrVerifyFailed means the URL verification GET was not answered with the
	// exact echostr plaintext.
	ErrVerifyFailed = errors.New("wecomsim: URL verification failed")
)

// inboundIDBlock is how many callback MsgIds one simulator may use before its
// ids could meet those of a simulator created after it in the same process.
const inboundIDBlock = 1 << 32

// lastInboundStart is the first MsgId of the simulator created last in this
// process.
var lastInboundStart atomic.Int64

// firstInboundID returns where a new simulator's callback MsgIds start (the first
// one sent is the next id). The bot dedupes callbacks by MsgId, also across its
// restarts on one database, so a simulator must never reuse the ids of an earlier
// one: they start at the wall clock in nanoseconds, which advances far faster than
// any simulator sends, and at least one block past the previous simulator of this
// process, so simulators created within the same tick do not overlap either. Like
// WeCom's, the ids are positive 64-bit integers.
func firstInboundID(now time.Time) int64 {
	for {
		last := lastInboundStart.Load()
		start := max(now.UnixNano(), last+inboundIDBlock)
		if lastInboundStart.CompareAndSwap(last, start) {
			return start
		}
	}
}

// CallbackResult reports how the bot answered one callback.
type CallbackResult struct {
	// Status is the HTTP status of the last delivery (0: timeout or transport error).
	Status int
	// Attempts counts deliveries (1 when the first was accepted; up to 4 by default).
	Attempts int
	// Statuses lists every delivery's status in order.
	Statuses []int
	// Body is the body of the last delivery's answer.
	Body []byte
	// Plaintext is the decrypted callback XML, for Redeliver.
	Plaintext []byte
	// Reply is the validated passive reply, when the bot sent one.
	Reply *PassiveReply
}

// User plays one member of the corp towards the bot.
type User struct {
	s     *Server
	id    string
	times int
}

// As returns a User that sends callbacks as userid (its canonical spelling when
// it is a known member).
func (s *Server) As(userid string) *User {
	s.mu.Lock()
	defer s.mu.Unlock()
	canon := userid
	if c, ok := s.users[strings.ToLower(userid)]; ok {
		canon = c
	} else if !s.closed && validUserID(userid) {
		if c, ok := s.seenUsers[strings.ToLower(userid)]; ok {
			canon = c
		} else {
			s.seenUsers[strings.ToLower(userid)] = userid
		}
	}
	return &User{s: s, id: canon}
}

// ID returns the member's userid as sent in FromUserName.
func (u *User) ID() string { return u.id }

// DeliverTimes returns a copy of u whose callbacks are delivered exactly n times
// each, whatever the bot answers (n ≤ 0 restores the normal retry policy).
func (u *User) DeliverTimes(n int) *User {
	c := *u
	c.times = n
	return &c
}

// SendText sends a text message callback.
func (u *User) SendText(ctx context.Context, text string) (CallbackResult, error) {
	x := u.header("text")
	x.cdata("Content", text)
	return u.finishMessage(ctx, x)
}

// SendImage stores data as media (so media/get and PicUrl serve it) and sends an
// image message callback with that MediaId.
func (u *User) SendImage(ctx context.Context, data []byte, contentType string) (CallbackResult, error) {
	id := u.s.PutMedia(data, contentType)
	x := u.header("image")
	x.cdata("PicUrl", u.s.picURL(id))
	x.cdata("MediaId", id)
	return u.finishMessage(ctx, x)
}

// SendLocation sends a location message callback (Location_X is the latitude).
func (u *User) SendLocation(ctx context.Context, lat, lng float64, label string) (CallbackResult, error) {
	x := u.header("location")
	x.num("Location_X", strconv.FormatFloat(lat, 'f', -1, 64))
	x.num("Location_Y", strconv.FormatFloat(lng, 'f', -1, 64))
	x.num("Scale", "15")
	x.cdata("Label", label)
	msgID := u.s.nextInboundID()
	x.num("MsgId", strconv.FormatInt(msgID, 10))
	x.num("AgentID", strconv.FormatInt(u.s.cfg.AgentID, 10))
	x.cdata("AppType", "wxwork")
	return u.deliver(ctx, x.done())
}

// ReportLocation sends a LOCATION event (periodic location report).
func (u *User) ReportLocation(ctx context.Context, lat, lng, precision float64) (CallbackResult, error) {
	x := u.header("event")
	x.num("AgentID", strconv.FormatInt(u.s.cfg.AgentID, 10))
	x.cdata("Event", "LOCATION")
	x.num("Latitude", strconv.FormatFloat(lat, 'f', -1, 64))
	x.num("Longitude", strconv.FormatFloat(lng, 'f', -1, 64))
	x.num("Precision", strconv.FormatFloat(precision, 'f', -1, 64))
	x.cdata("AppType", "wxwork")
	return u.deliver(ctx, x.done())
}

// ClickMenu sends a menu click event. When the bot has created a menu, key must
// be one of its keys.
func (u *User) ClickMenu(ctx context.Context, key string) (CallbackResult, error) {
	if !u.s.menuHasKey(key) {
		return CallbackResult{}, fmt.Errorf("%w: menu key %q", ErrUnknownKey, key)
	}
	return u.event(ctx, "click", key)
}

// EnterAgent sends the enter_agent event (the member opened the app).
func (u *User) EnterAgent(ctx context.Context) (CallbackResult, error) {
	return u.event(ctx, "enter_agent", "")
}

// Subscribe sends the subscribe event (the member followed the app).
func (u *User) Subscribe(ctx context.Context) (CallbackResult, error) {
	return u.event(ctx, "subscribe", "")
}

// ClickCard clicks buttonKey (a button_list key, or the submit_button key of a
// vote/multiple card) on the card d that this member received, with the given
// selections (question_key → option ids; nil keeps the card's defaults). The
// template_card_event carries this member's ResponseCode the first time and a
// fresh single-use code on later clicks.
func (u *User) ClickCard(ctx context.Context, d Delivered, buttonKey string, selected map[string][]string) (CallbackResult, error) {
	return u.clickCard(ctx, d, buttonKey, selected, false)
}

// ClickCardMenu picks key from the card's top-right action_menu
// (template_card_menu_event).
func (u *User) ClickCardMenu(ctx context.Context, d Delivered, key string) (CallbackResult, error) {
	return u.clickCard(ctx, d, key, nil, true)
}

func (u *User) clickCard(ctx context.Context, d Delivered, key string, selected map[string][]string, menu bool) (CallbackResult, error) {
	if d.TaskID == "" || !strings.EqualFold(d.To, u.id) {
		return CallbackResult{}, ErrNotACard
	}
	ev, err := u.s.prepareClick(u.id, d.TaskID, key, selected, menu)
	if err != nil {
		return CallbackResult{}, err
	}
	event := "template_card_event"
	if menu {
		event = "template_card_menu_event"
	}
	x := u.header("event")
	x.cdata("Event", event)
	x.cdata("EventKey", key)
	x.cdata("TaskId", ev.taskID)
	x.cdata("CardType", ev.cardType)
	x.cdata("ResponseCode", ev.code)
	x.num("AgentID", strconv.FormatInt(u.s.cfg.AgentID, 10))
	if len(ev.items) > 0 {
		x.open("SelectedItems")
		for _, it := range ev.items {
			x.open("SelectedItem")
			x.cdata("QuestionKey", it.questionKey)
			x.open("OptionIds")
			for _, id := range it.optionIDs {
				x.cdata("OptionId", id)
			}
			x.close("OptionIds")
			x.close("SelectedItem")
		}
		x.close("SelectedItems")
	}
	return u.deliver(ctx, x.done())
}

// SendRaw delivers an arbitrary plaintext callback XML as this member would.
func (u *User) SendRaw(ctx context.Context, plaintext []byte) (CallbackResult, error) {
	return u.deliver(ctx, plaintext)
}

func (u *User) event(ctx context.Context, event, key string) (CallbackResult, error) {
	x := u.header("event")
	x.num("AgentID", strconv.FormatInt(u.s.cfg.AgentID, 10))
	x.cdata("Event", event)
	x.cdata("EventKey", key)
	return u.deliver(ctx, x.done())
}

func (u *User) header(msgType string) *xmlWriter {
	x := &xmlWriter{}
	x.b.WriteString("<xml>")
	x.cdata("ToUserName", u.s.cfg.CorpID)
	x.cdata("FromUserName", u.id)
	x.num("CreateTime", strconv.FormatInt(u.s.now().Unix(), 10))
	x.cdata("MsgType", msgType)
	return x
}

func (u *User) finishMessage(ctx context.Context, x *xmlWriter) (CallbackResult, error) {
	x.num("MsgId", strconv.FormatInt(u.s.nextInboundID(), 10))
	x.num("AgentID", strconv.FormatInt(u.s.cfg.AgentID, 10))
	return u.deliver(ctx, x.done())
}

func (u *User) deliver(ctx context.Context, plaintext []byte) (CallbackResult, error) {
	return u.s.deliver(ctx, plaintext, u.times)
}

func (s *Server) nextInboundID() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inboundID++
	return s.inboundID
}

func (s *Server) picURL(mediaID string) string {
	s.mu.Lock()
	base := s.baseURL
	s.mu.Unlock()
	if base == "" {
		base = "http://wecomsim.invalid"
	}
	return base + pathSimPicPrefix + mediaID
}

// Redeliver posts plaintext (e.g. CallbackResult.Plaintext) again, freshly
// encrypted and signed, with the normal retry policy: what WeCom does when it
// believes a callback was lost.
func (s *Server) Redeliver(ctx context.Context, plaintext []byte) (CallbackResult, error) {
	return s.deliver(ctx, plaintext, 0)
}

// callbackMeta is what the passive reply check needs to know about a callback.
type callbackMeta struct {
	user   string // lower-case
	event  string
	taskID string
}

func parseMeta(plaintext []byte) callbackMeta {
	var m struct {
		FromUserName string `xml:"FromUserName"`
		Event        string `xml:"Event"`
		TaskID       string `xml:"TaskId"`
	}
	_ = xml.Unmarshal(plaintext, &m)
	return callbackMeta{user: strings.ToLower(m.FromUserName), event: m.Event, taskID: m.TaskID}
}

// deliver posts plaintext until the bot answers 200, at most 1+CallbackRetries
// times, or exactly times times when times > 0. Every delivery is encrypted with
// a new random prefix and signed with a new timestamp and nonce.
func (s *Server) deliver(ctx context.Context, plaintext []byte, times int) (CallbackResult, error) {
	s.mu.Lock()
	target := s.callbackURL
	s.mu.Unlock()
	res := CallbackResult{Plaintext: plaintext}
	if target == "" {
		return res, ErrNoCallbackURL
	}
	meta := parseMeta(plaintext)
	limit, forced := 1+s.cfg.CallbackRetries, times > 0
	if forced {
		limit = times
	}
	var replyErr error
	for i := 0; i < limit; i++ {
		if err := ctx.Err(); err != nil {
			if res.Attempts == 0 {
				return res, err
			}
			break
		}
		status, body, err := s.postOnce(ctx, target, plaintext)
		res.Attempts++
		res.Statuses = append(res.Statuses, status)
		res.Status, res.Body = status, body
		s.log.Debug("callback delivered", "user", meta.user, "attempt", res.Attempts, "status", status, "err", err)
		if status != http.StatusOK {
			continue
		}
		if len(bytes.TrimSpace(body)) > 0 {
			rep, err := s.acceptReply(body, meta)
			if err != nil {
				replyErr = err
			} else {
				res.Reply = rep
			}
		}
		if !forced {
			break
		}
	}
	if !slices.Contains(res.Statuses, http.StatusOK) {
		return res, fmt.Errorf("%w: %d deliveries, statuses %v", ErrCallbackFailed, res.Attempts, res.Statuses)
	}
	return res, replyErr
}

// postOnce makes one signed, encrypted delivery; status 0 means timeout or
// transport failure.
func (s *Server) postOnce(ctx context.Context, target string, plaintext []byte) (int, []byte, error) {
	enc, ts, nonce, err := s.encrypt(plaintext)
	if err != nil {
		return 0, nil, err
	}
	envelope := "<xml><ToUserName><![CDATA[" + s.cfg.CorpID + "]]></ToUserName><AgentID><![CDATA[" +
		strconv.FormatInt(s.cfg.AgentID, 10) + "]]></AgentID><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>"
	u, err := url.Parse(target)
	if err != nil {
		return 0, nil, fmt.Errorf("callback URL: %w", err)
	}
	q := u.Query()
	q.Set("msg_signature", util.Signature(s.cfg.Token, ts, nonce, enc))
	q.Set("timestamp", ts)
	q.Set("nonce", nonce)
	u.RawQuery = q.Encode()

	actx, cancel := context.WithTimeout(ctx, s.cfg.CallbackTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, u.String(), strings.NewReader(envelope))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "text/xml")
	req.Header.Set("User-Agent", "Mozilla/4.0 (wecomsim)")
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, body, nil
}

// encrypt returns the base64 ciphertext of plaintext plus a fresh timestamp and nonce.
func (s *Server) encrypt(plaintext []byte) (enc, ts, nonce string, err error) {
	s.mu.Lock()
	random := []byte(s.randomString(16, alphabetAlnum))
	nonce = s.randomString(10, alphabetDigit)
	s.mu.Unlock()
	ts = strconv.FormatInt(s.now().Unix(), 10)
	b, err := util.EncryptMsg(random, plaintext, s.cfg.CorpID, s.cfg.EncodingAESKey)
	if err != nil {
		return "", "", "", fmt.Errorf("wecomsim: encrypt (check EncodingAESKey): %w", err)
	}
	return string(b), ts, nonce, nil
}

// VerifyURL performs the URL verification GET with a random 19-digit echostr
// plaintext and checks the bot answers exactly that plaintext within
// VerifyTimeout. It returns the bot's answer.
func (s *Server) VerifyURL(ctx context.Context) (string, error) {
	s.mu.Lock()
	target := s.callbackURL
	plain := strconv.Itoa(1+s.rng.IntN(9)) + s.randomString(18, alphabetDigit)
	s.mu.Unlock()
	if target == "" {
		return "", ErrNoCallbackURL
	}
	enc, ts, nonce, err := s.encrypt([]byte(plain))
	if err != nil {
		return "", err
	}
	u, err := url.Parse(target)
	if err != nil {
		return "", fmt.Errorf("callback URL: %w", err)
	}
	q := u.Query()
	q.Set("msg_signature", util.Signature(s.cfg.Token, ts, nonce, enc))
	q.Set("timestamp", ts)
	q.Set("nonce", nonce)
	q.Set("echostr", enc)
	u.RawQuery = q.Encode()
	actx, cancel := context.WithTimeout(ctx, s.cfg.VerifyTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrVerifyFailed, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrVerifyFailed, err)
	}
	if resp.StatusCode != http.StatusOK {
		return string(body), fmt.Errorf("%w: HTTP %d", ErrVerifyFailed, resp.StatusCode)
	}
	if string(body) != plain {
		return string(body), fmt.Errorf("%w: answer %q, want exactly %q", ErrVerifyFailed, body, plain)
	}
	return string(body), nil
}

// replyEnvelope is the bot's encrypted passive reply. TimeStamp is a pointer so
// that a missing tag (e.g. "Timestamp") is caught.
type replyEnvelope struct {
	Encrypt      string  `xml:"Encrypt"`
	MsgSignature string  `xml:"MsgSignature"`
	TimeStamp    *string `xml:"TimeStamp"`
	Nonce        string  `xml:"Nonce"`
}

type replyPlain struct {
	ToUserName   string  `xml:"ToUserName"`
	FromUserName string  `xml:"FromUserName"`
	CreateTime   string  `xml:"CreateTime"`
	MsgType      string  `xml:"MsgType"`
	Content      *string `xml:"Content"`
	Image        struct {
		MediaID string `xml:"MediaId"`
	} `xml:"Image"`
	Voice struct {
		MediaID string `xml:"MediaId"`
	} `xml:"Voice"`
	Video struct {
		MediaID     string `xml:"MediaId"`
		Title       string `xml:"Title"`
		Description string `xml:"Description"`
	} `xml:"Video"`
	ArticleCount int `xml:"ArticleCount"`
	Articles     struct {
		Items []struct {
			Title       string `xml:"Title"`
			Description string `xml:"Description"`
			PicURL      string `xml:"PicUrl"`
			URL         string `xml:"Url"`
		} `xml:"item"`
	} `xml:"Articles"`
	Button struct {
		ReplaceName string `xml:"ReplaceName"`
	} `xml:"Button"`
	TemplateCard *struct {
		Inner       string `xml:",innerxml"`
		ReplaceText string `xml:"ReplaceText"`
	} `xml:"TemplateCard"`
}

// acceptReply validates a passive reply like WeCom and records its effect: a
// message for the member, or a card update.
func (s *Server) acceptReply(body []byte, meta callbackMeta) (*PassiveReply, error) {
	var env replyEnvelope
	if err := xml.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("%w: envelope: %v", ErrBadReply, err)
	}
	switch {
	case env.Encrypt == "":
		return nil, fmt.Errorf("%w: no Encrypt element", ErrBadReply)
	case env.TimeStamp == nil:
		return nil, fmt.Errorf("%w: no TimeStamp element (capital S)", ErrBadReply)
	case env.Nonce == "":
		return nil, fmt.Errorf("%w: no Nonce element", ErrBadReply)
	case util.Signature(s.cfg.Token, *env.TimeStamp, env.Nonce, env.Encrypt) != env.MsgSignature:
		return nil, fmt.Errorf("%w: MsgSignature does not match", ErrBadReply)
	}
	_, plain, err := util.DecryptMsg(s.cfg.CorpID, env.Encrypt, s.cfg.EncodingAESKey)
	if err != nil {
		return nil, fmt.Errorf("%w: decrypt or receive id: %v", ErrBadReply, err)
	}
	var p replyPlain
	if err := xml.Unmarshal(plain, &p); err != nil {
		return nil, fmt.Errorf("%w: plaintext: %v", ErrBadReply, err)
	}
	switch {
	case !strings.EqualFold(p.ToUserName, meta.user):
		return nil, fmt.Errorf("%w: ToUserName %q, want the sender %q", ErrBadReply, p.ToUserName, meta.user)
	case p.FromUserName != s.cfg.CorpID:
		return nil, fmt.Errorf("%w: FromUserName %q, want the CorpID", ErrBadReply, p.FromUserName)
	case p.CreateTime == "":
		return nil, fmt.Errorf("%w: no CreateTime", ErrBadReply)
	}
	cardEvent := meta.event == "template_card_event" || meta.event == "template_card_menu_event"

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	rep := PassiveReply{To: meta.user, MsgType: p.MsgType, XML: string(plain), At: now}
	d := Delivered{To: meta.user, MsgType: p.MsgType, At: now, Passive: true}
	switch p.MsgType {
	case "text":
		if p.Content == nil || *p.Content == "" {
			return nil, fmt.Errorf("%w: empty text Content", ErrBadReply)
		}
		d.Body = marshal(map[string]string{"content": truncateBytes(*p.Content, maxTextBytes)})
	case "image", "voice":
		id := p.Image.MediaID
		if p.MsgType == "voice" {
			id = p.Voice.MediaID
		}
		if id == "" {
			return nil, fmt.Errorf("%w: %s without MediaId", ErrBadReply, p.MsgType)
		}
		d.Body = marshal(map[string]string{"media_id": id})
	case "video":
		if p.Video.MediaID == "" {
			return nil, fmt.Errorf("%w: video without MediaId", ErrBadReply)
		}
		d.Body = marshal(map[string]string{"media_id": p.Video.MediaID, "title": p.Video.Title, "description": p.Video.Description})
	case "news":
		n := len(p.Articles.Items)
		if n == 0 || n > 8 || p.ArticleCount != n {
			return nil, fmt.Errorf("%w: news needs 1-8 items and a matching ArticleCount", ErrBadReply)
		}
		arts := make([]map[string]string, 0, n)
		for _, a := range p.Articles.Items {
			arts = append(arts, map[string]string{"title": a.Title, "description": a.Description, "url": a.URL, "picurl": a.PicURL})
		}
		d.Body = marshal(map[string]any{"articles": arts})
	case "update_button":
		if !cardEvent || p.Button.ReplaceName == "" {
			return nil, fmt.Errorf("%w: update_button needs Button/ReplaceName and a card event", ErrBadReply)
		}
		s.replies = append(s.replies, rep)
		s.applyPassiveUpdateLocked(meta.user, meta.taskID,
			Update{To: meta.user, TaskID: meta.taskID, ReplaceName: p.Button.ReplaceName, Passive: true, At: now}, true)
		return &rep, nil
	case "update_template_card":
		if !cardEvent || p.TemplateCard == nil {
			return nil, fmt.Errorf("%w: update_template_card needs TemplateCard and a card event", ErrBadReply)
		}
		s.replies = append(s.replies, rep)
		s.applyPassiveUpdateLocked(meta.user, meta.taskID,
			Update{To: meta.user, TaskID: meta.taskID, XML: p.TemplateCard.Inner, ReplaceText: p.TemplateCard.ReplaceText, Passive: true, At: now},
			p.TemplateCard.ReplaceText != "")
		return &rep, nil
	default:
		return nil, fmt.Errorf("%w: MsgType %q", ErrBadReply, p.MsgType)
	}
	s.replies = append(s.replies, rep)
	s.recordLocked(d)
	return &rep, nil
}

// xmlWriter builds callback plaintext in WeCom's shape: strings as CDATA,
// numbers bare.
type xmlWriter struct{ b strings.Builder }

func (x *xmlWriter) cdata(tag, v string) {
	// "]]>" cannot appear inside CDATA; split it across two sections.
	v = strings.ReplaceAll(v, "]]>", "]]]]><![CDATA[>")
	x.b.WriteString("<" + tag + "><![CDATA[" + v + "]]></" + tag + ">")
}

func (x *xmlWriter) num(tag, v string) { x.b.WriteString("<" + tag + ">" + v + "</" + tag + ">") }
func (x *xmlWriter) open(tag string)   { x.b.WriteString("<" + tag + ">") }
func (x *xmlWriter) close(tag string)  { x.b.WriteString("</" + tag + ">") }

func (x *xmlWriter) done() []byte {
	x.b.WriteString("</xml>")
	return []byte(x.b.String())
}
