package wecom

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultBaseURL is the WeCom API root.
const DefaultBaseURL = "https://qyapi.weixin.qq.com"

const (
	// maxRecipients is the message/send and update_template_card user limit.
	maxRecipients = 1000
	// maxJSONResponse bounds the JSON answers the client reads.
	maxJSONResponse = 4 << 20
	// maxMedia bounds uploads and media/get downloads (larger files need
	// ranged downloads, which the client does not do).
	maxMedia = 20 << 20
	// duplicateCheckInterval is the longest window WeCom offers (4 h): a
	// resend of an ambiguous attempt within it is not delivered twice.
	duplicateCheckInterval = 14400
	// defaultHTTPTimeout applies when ClientConfig.HTTP is nil.
	defaultHTTPTimeout = 60 * time.Second
)

// ClientConfig configures a Client. CorpID, Secret and AgentID identify the
// app; everything else has a default.
type ClientConfig struct {
	BaseURL string // default DefaultBaseURL; paths go under /cgi-bin/
	CorpID  string
	Secret  string
	AgentID int64
	Cache   TokenCache // default NewMemoryCache()
	// Locker, when set, serialises token fetches across replicas sharing Cache,
	// so the access token is fetched once for all of them.
	Locker TokenLocker
	HTTP   *http.Client // default a client with a 60 s timeout
	Logger *slog.Logger // default discards; the client logs at debug only
}

// Client calls the WeCom API for one self-built app. It caches the access
// token, fetches it with one call however many callers need it, and on a
// rejected token (40014, 42001, 41001) refreshes once and retries the call
// once. It does not retry anything else: callers decide with IsRetryable.
// A Client is safe for concurrent use.
type Client struct {
	base     string
	corpID   string
	secret   string
	agentID  int64
	cache    TokenCache
	locker   TokenLocker
	hc       *http.Client
	log      *slog.Logger
	tokenKey string

	mu        sync.Mutex
	flight    *tokenFlight
	failErr   error
	failUntil time.Time
}

// NewClient returns a Client for cfg.
func NewClient(cfg ClientConfig) *Client {
	c := &Client{
		base:     strings.TrimRight(cfg.BaseURL, "/"),
		corpID:   cfg.CorpID,
		secret:   cfg.Secret,
		agentID:  cfg.AgentID,
		cache:    cfg.Cache,
		locker:   cfg.Locker,
		hc:       cfg.HTTP,
		log:      cfg.Logger,
		tokenKey: tokenCacheKey(cfg.CorpID, cfg.AgentID),
	}
	if c.base == "" {
		c.base = DefaultBaseURL
	}
	if c.cache == nil {
		c.cache = NewMemoryCache()
	}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: defaultHTTPTimeout}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c
}

// SendResult is the useful part of a message/send answer. Invalid and
// unlicensed users did not get the message; everyone else did.
type SendResult struct {
	MsgID           string   // for message/recall
	ResponseCode    string   // interactive cards only; feeds UpdateTemplateCard
	InvalidUsers    []string // lower-cased by WeCom
	UnlicensedUsers []string
}

// Send calls message/send. body is the message without recipients, e.g. a
// messages.TextBody or messages.TemplateCardBody: a JSON object with msgtype
// and its payload. The client puts touser ("|"-joined, 1..1000 ids), agentid,
// enable_duplicate_check 1 and duplicate_check_interval 14400 in front of the
// body's own fields, so the same inputs give the same bytes — WeCom's
// duplicate check compares bodies. A body may set the two duplicate-check
// fields itself (its values win) but not touser or agentid.
//
// When WeCom rejects every recipient (81013) the result still lists them.
func (c *Client) Send(ctx context.Context, touser []string, body any) (SendResult, error) {
	const api = "message/send"
	if err := checkRecipients(touser); err != nil {
		return SendResult{}, fmt.Errorf("wecom %s: %w", api, err)
	}
	obj, keys, err := marshalObject(body)
	if err != nil {
		return SendResult{}, fmt.Errorf("wecom %s: %w", api, err)
	}
	if keys["touser"] || keys["agentid"] {
		return SendResult{}, fmt.Errorf("wecom %s: %w: body sets touser or agentid", api, ErrBadRequest)
	}
	var head bytes.Buffer
	head.WriteString(`{"touser":`)
	writeJSONString(&head, strings.Join(touser, "|"))
	head.WriteString(`,"agentid":`)
	head.WriteString(strconv.FormatInt(c.agentID, 10))
	if !keys["enable_duplicate_check"] {
		head.WriteString(`,"enable_duplicate_check":1`)
	}
	if !keys["duplicate_check_interval"] {
		head.WriteString(`,"duplicate_check_interval":` + strconv.Itoa(duplicateCheckInterval))
	}

	var out struct {
		baseResponse
		InvalidUser    idList `json:"invaliduser"`
		UnlicensedUser idList `json:"unlicenseduser"`
		MsgID          string `json:"msgid"`
		ResponseCode   string `json:"response_code"`
	}
	err = c.postJSON(ctx, api, nil, joinObject(head.Bytes(), obj), &out)
	res := SendResult{
		MsgID:           out.MsgID,
		ResponseCode:    out.ResponseCode,
		InvalidUsers:    out.InvalidUser,
		UnlicensedUsers: out.UnlicensedUser,
	}
	return res, err
}

// UpdateTemplateCard calls message/update_template_card. body already holds
// response_code and either button (replace_name) or template_card, e.g. a
// messages.UpdateButtonBody; the client puts userids (a JSON array, omitted
// when empty so the body may use atall/partyids) and agentid in front. It
// returns the users WeCom skipped.
func (c *Client) UpdateTemplateCard(ctx context.Context, userids []string, body any) ([]string, error) {
	const api = "message/update_template_card"
	if len(userids) > 0 {
		if err := checkRecipients(userids); err != nil {
			return nil, fmt.Errorf("wecom %s: %w", api, err)
		}
	}
	obj, keys, err := marshalObject(body)
	if err != nil {
		return nil, fmt.Errorf("wecom %s: %w", api, err)
	}
	if keys["agentid"] || (keys["userids"] && len(userids) > 0) {
		return nil, fmt.Errorf("wecom %s: %w: body sets userids or agentid", api, ErrBadRequest)
	}
	if !keys["response_code"] {
		return nil, fmt.Errorf("wecom %s: %w: body has no response_code", api, ErrBadRequest)
	}
	var head bytes.Buffer
	head.WriteByte('{')
	if len(userids) > 0 {
		head.WriteString(`"userids":[`)
		for i, u := range userids {
			if i > 0 {
				head.WriteByte(',')
			}
			writeJSONString(&head, u)
		}
		head.WriteString(`],`)
	}
	head.WriteString(`"agentid":`)
	head.WriteString(strconv.FormatInt(c.agentID, 10))

	var out struct {
		baseResponse
		InvalidUser idList `json:"invaliduser"`
	}
	err = c.postJSON(ctx, api, nil, joinObject(head.Bytes(), obj), &out)
	return out.InvalidUser, err
}

// mediaKinds are the temporary media types of media/upload.
var mediaKinds = map[string]bool{"image": true, "voice": true, "video": true, "file": true}

// UploadMedia uploads temporary media (valid 3 days) and returns its media_id.
// kind is image, voice, video or file; filename is what recipients see. The
// content is read fully (at most 20 MB) so that a retry after a token refresh
// can resend it.
func (c *Client) UploadMedia(ctx context.Context, kind, filename string, r io.Reader) (string, error) {
	const api = "media/upload"
	if !mediaKinds[kind] {
		return "", fmt.Errorf("wecom %s: %w: unknown media kind %q", api, ErrBadRequest, kind)
	}
	data, err := io.ReadAll(io.LimitReader(r, maxMedia+1))
	if err != nil {
		return "", fmt.Errorf("wecom %s: read media: %w", api, err)
	}
	if len(data) > maxMedia {
		return "", fmt.Errorf("wecom %s: %w", api, ErrTooLarge)
	}

	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="media"; filename="%s"; filelength=%d`,
		quoteEscaper.Replace(filename), len(data)))
	ctype := mime.TypeByExtension(path.Ext(filename))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	h.Set("Content-Type", ctype)
	part, err := mw.CreatePart(h)
	if err == nil {
		_, err = part.Write(data)
	}
	if err == nil {
		err = mw.Close()
	}
	if err != nil {
		return "", fmt.Errorf("wecom %s: build form: %w", api, err)
	}

	var out struct {
		baseResponse
		MediaID string `json:"media_id"`
	}
	req := request{api: api, method: http.MethodPost, query: url.Values{"type": {kind}},
		contentType: mw.FormDataContentType(), body: buf.Bytes()}
	if err := c.call(ctx, req, &out); err != nil {
		return "", err
	}
	if out.MediaID == "" {
		return "", &TransientError{API: api, msg: "no media_id in response", err: errors.New("no media_id in response")}
	}
	return out.MediaID, nil
}

var quoteEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r", "", "\n", "")

// GetMedia downloads temporary media (media/get) and returns its bytes and
// Content-Type. WeCom reports errors as a JSON body with HTTP 200; such a body
// becomes an APIError. Files over 20 MB give ErrTooLarge.
func (c *Client) GetMedia(ctx context.Context, mediaID string) ([]byte, string, error) {
	const api = "media/get"
	req := request{api: api, method: http.MethodGet, query: url.Values{"media_id": {mediaID}}}
	var data []byte
	var ctype string
	err := c.withToken(ctx, func(tok string) error {
		resp, err := c.roundTrip(ctx, req, tok)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return &APIError{API: api, HTTPStatus: resp.StatusCode}
		}
		data, err = io.ReadAll(io.LimitReader(resp.Body, maxMedia+1))
		if err != nil {
			return c.transportError(ctx, api, err, tok)
		}
		if len(data) > maxMedia {
			return fmt.Errorf("wecom %s: %w", api, ErrTooLarge)
		}
		ctype = resp.Header.Get("Content-Type")
		return sniffJSONError(api, data, tok, c.secret)
	})
	c.log.DebugContext(ctx, "wecom api", "api", api, "errcode", ErrCode(err), "bytes", len(data))
	if err != nil {
		return nil, "", err
	}
	return data, ctype, nil
}

// sniffJSONError returns an APIError when data is a JSON object with a
// non-zero errcode, nil for anything else (the media itself).
func sniffJSONError(api string, data []byte, secrets ...string) error {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' || len(trimmed) > 64<<10 {
		return nil
	}
	var e struct {
		ErrCode *int   `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if json.Unmarshal(trimmed, &e) != nil || e.ErrCode == nil || *e.ErrCode == 0 {
		return nil
	}
	return &APIError{API: api, Code: *e.ErrCode, Msg: cleanMsg(e.ErrMsg, secrets...)}
}

// CreateMenu calls menu/create for the app with menu, a JSON object
// {"button":[…]}.
func (c *Client) CreateMenu(ctx context.Context, menu any) error {
	const api = "menu/create"
	obj, _, err := marshalObject(menu)
	if err != nil {
		return fmt.Errorf("wecom %s: %w", api, err)
	}
	var out baseResponse
	q := url.Values{"agentid": {strconv.FormatInt(c.agentID, 10)}}
	return c.postJSON(ctx, api, q, obj, &out)
}

// ---- transport ----

// baseResponse is the part every API answer has.
type baseResponse struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

func (b *baseResponse) base() *baseResponse { return b }

// response is an API answer struct embedding baseResponse.
type response interface{ base() *baseResponse }

// request is one API call without its access token.
type request struct {
	api         string     // path under /cgi-bin/
	method      string     // GET or POST
	query       url.Values // without access_token
	contentType string
	body        []byte
}

func (c *Client) postJSON(ctx context.Context, api string, q url.Values, body []byte, out response) error {
	return c.call(ctx, request{api: api, method: http.MethodPost, query: q,
		contentType: "application/json; charset=utf-8", body: body}, out)
}

// call runs req with a token, decodes the JSON answer into out, and logs the
// outcome at debug (API name and errcode only).
func (c *Client) call(ctx context.Context, req request, out response) error {
	start := time.Now()
	err := c.withToken(ctx, func(tok string) error {
		return c.exchange(ctx, req, tok, out)
	})
	c.log.DebugContext(ctx, "wecom api", "api", req.api, "errcode", ErrCode(err), "duration", time.Since(start))
	return err
}

// withToken runs fn with the access token; when WeCom rejects the token it
// refreshes it (one gettoken per Client however many callers) and runs fn
// once more.
func (c *Client) withToken(ctx context.Context, fn func(tok string) error) error {
	tok, err := c.accessToken(ctx)
	if err != nil {
		return err
	}
	err = fn(tok)
	if !isTokenError(err) {
		return err
	}
	c.log.DebugContext(ctx, "wecom token rejected, refreshing", "errcode", ErrCode(err))
	tok, err = c.fetchToken(ctx, tok)
	if err != nil {
		return err
	}
	return fn(tok)
}

// exchange sends req (with tok when not empty) and decodes the JSON answer.
func (c *Client) exchange(ctx context.Context, req request, tok string, out response) error {
	resp, err := c.roundTrip(ctx, req, tok)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return &APIError{API: req.api, HTTPStatus: resp.StatusCode}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxJSONResponse))
	if err != nil {
		return c.transportError(ctx, req.api, err, tok)
	}
	if err := json.Unmarshal(data, out); err != nil {
		// WeCom always answers JSON; anything else is a proxy or a cut-off body.
		return &TransientError{API: req.api, msg: "response is not valid JSON", err: err}
	}
	if b := out.base(); b.ErrCode != 0 {
		return &APIError{API: req.api, Code: b.ErrCode, Msg: cleanMsg(b.ErrMsg, tok, c.secret)}
	}
	return nil
}

// roundTrip sends req. Every error it returns is free of the URL.
func (c *Client) roundTrip(ctx context.Context, req request, tok string) (*http.Response, error) {
	q := make(url.Values, len(req.query)+1)
	for k, v := range req.query {
		q[k] = v
	}
	if tok != "" {
		q.Set("access_token", tok)
	}
	u := c.base + "/cgi-bin/" + req.api + "?" + q.Encode()
	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, u, body)
	if err != nil {
		// The parse error would quote the URL; say only that the base is bad.
		return nil, fmt.Errorf("wecom %s: %w: invalid base URL", req.api, ErrBadRequest)
	}
	if req.contentType != "" {
		hr.Header.Set("Content-Type", req.contentType)
	}
	resp, err := c.hc.Do(hr)
	if err != nil {
		return nil, c.transportError(ctx, req.api, err, tok)
	}
	return resp, nil
}

// transportError turns a net/http failure into a TransientError without the
// URL (which holds the token or the secret), or into the caller's
// cancellation.
func (c *Client) transportError(ctx context.Context, api string, err error, tok string) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("wecom %s: %w", api, context.Canceled)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	msg := redact(err.Error(), tok, url.QueryEscape(tok), c.secret, url.QueryEscape(c.secret))
	return &TransientError{API: api, msg: msg, err: err}
}

// cleanMsg bounds errmsg and strips credentials a server might echo.
func cleanMsg(msg string, secrets ...string) string {
	msg = redact(msg, secrets...)
	if len(msg) > 256 {
		msg = msg[:256]
	}
	return msg
}

// ---- JSON helpers ----

// marshalObject returns body as compact JSON that must be an object, and its
// top-level keys. json.RawMessage and []byte are taken as JSON text. Struct
// bodies marshal in field order and maps in key order, so the bytes are
// stable for equal inputs.
func marshalObject(body any) ([]byte, map[string]bool, error) {
	var raw []byte
	switch b := body.(type) {
	case json.RawMessage:
		raw = b
	case []byte:
		raw = b
	default:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(body); err != nil {
			return nil, nil, fmt.Errorf("%w: body: %v", ErrBadRequest, err)
		}
		raw = buf.Bytes()
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, nil, fmt.Errorf("%w: body is not JSON: %v", ErrBadRequest, err)
	}
	obj := buf.Bytes()
	if len(obj) < 2 || obj[0] != '{' {
		return nil, nil, fmt.Errorf("%w: body is not a JSON object", ErrBadRequest)
	}
	keys := make(map[string]bool)
	dec := json.NewDecoder(bytes.NewReader(obj))
	if _, err := dec.Token(); err != nil { // '{'
		return nil, nil, fmt.Errorf("%w: body: %v", ErrBadRequest, err)
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("%w: body: %v", ErrBadRequest, err)
		}
		k, _ := t.(string)
		keys[k] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, nil, fmt.Errorf("%w: body: %v", ErrBadRequest, err)
		}
	}
	return obj, keys, nil
}

// joinObject appends the fields of the JSON object obj to head, an object
// opened with '{' and holding at least one field.
func joinObject(head, obj []byte) []byte {
	inner := obj[1 : len(obj)-1]
	out := make([]byte, 0, len(head)+len(inner)+2)
	out = append(out, head...)
	if len(inner) > 0 {
		out = append(out, ',')
		out = append(out, inner...)
	}
	return append(out, '}')
}

// writeJSONString writes s as a JSON string without HTML escaping.
func writeJSONString(buf *bytes.Buffer, s string) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	buf.Truncate(buf.Len() - 1) // Encode's newline
}

// checkRecipients validates a user id list: 1..1000 non-empty ids without '|'.
func checkRecipients(ids []string) error {
	if len(ids) == 0 {
		return fmt.Errorf("%w: no recipients", ErrBadRequest)
	}
	if len(ids) > maxRecipients {
		return fmt.Errorf("%w: %d recipients, at most %d", ErrBadRequest, len(ids), maxRecipients)
	}
	for _, id := range ids {
		if id == "" || strings.Contains(id, "|") {
			return fmt.Errorf("%w: invalid user id %q", ErrBadRequest, id)
		}
	}
	return nil
}

// idList decodes WeCom's user lists: a "|"-joined string in message/send, a
// JSON array in update_template_card.
type idList []string

// UnmarshalJSON implements json.Unmarshaler.
func (l *idList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*l = nil
		return nil
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		var out []string
		for _, id := range strings.Split(s, "|") {
			if id != "" {
				out = append(out, id)
			}
		}
		*l = out
		return nil
	default:
		var out []string
		if err := json.Unmarshal(b, &out); err != nil {
			return err
		}
		*l = out
		return nil
	}
}
