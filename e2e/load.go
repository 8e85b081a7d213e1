package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/silenceper/wechat/v2/util"

	"safetybot/bot"
	"safetybot/bot/wecom"
	"safetybot/config"
)

// Callback is one encrypted, signed callback ready to POST: the query string
// (msg_signature, timestamp, nonce) and the XML envelope. Load generators make
// them ahead of time so that their own crypto does not compete with the bot's.
type Callback struct {
	Query string
	Body  []byte
}

// Sealer encrypts and signs callbacks for one app, as WeCom does.
type Sealer struct {
	Token, CorpID, AgentID string
	crypto                 *wecom.Crypto
}

// NewSealer returns a Sealer for the app's token, EncodingAESKey and CorpID
// (the receive id put inside every ciphertext).
func NewSealer(token, aesKey, corpID, agentID string) (*Sealer, error) {
	c, err := wecom.NewCrypto(token, aesKey, corpID)
	if err != nil {
		return nil, err
	}
	return &Sealer{Token: token, CorpID: corpID, AgentID: agentID, crypto: c}, nil
}

// SealerFor returns the Sealer of a bot's (sandbox) configuration.
func SealerFor(cfg config.Config) (*Sealer, error) {
	return NewSealer(cfg.Token, cfg.AESKey, cfg.CorpID, cfg.AgentID)
}

// TextXML is the decrypted XML of a text message callback, as WeCom sends it.
func (s *Sealer) TextXML(user, text string, msgID uint64, ts string) []byte {
	return []byte("<xml><ToUserName><![CDATA[" + s.CorpID + "]]></ToUserName><FromUserName><![CDATA[" + user +
		"]]></FromUserName><CreateTime>" + ts + "</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[" +
		text + "]]></Content><MsgId>" + strconv.FormatUint(msgID, 10) + "</MsgId><AgentID>" + s.AgentID + "</AgentID></xml>")
}

// Seal encrypts plain and signs it with timestamp ts and nonce.
func (s *Sealer) Seal(ts, nonce string, plain []byte) (Callback, error) {
	enc, err := s.crypto.Encrypt(nil, plain)
	if err != nil {
		return Callback{}, err
	}
	return s.Wrap(ts, nonce, enc), nil
}

// Wrap signs an Encrypt value (whatever it holds) and puts it in an envelope.
func (s *Sealer) Wrap(ts, nonce, enc string) Callback {
	q := url.Values{}
	q.Set("msg_signature", wecom.Sign(s.Token, ts, nonce, enc))
	q.Set("timestamp", ts)
	q.Set("nonce", nonce)
	body := "<xml><ToUserName><![CDATA[" + s.CorpID + "]]></ToUserName><AgentID><![CDATA[" + s.AgentID +
		"]]></AgentID><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>"
	return Callback{Query: q.Encode(), Body: []byte(body)}
}

// Callbacks makes n text-message callbacks, sent by users in turn, with
// MsgIds firstMsgID, firstMsgID+1, … and the current timestamp.
func (s *Sealer) Callbacks(users []string, n int, firstMsgID uint64) ([]Callback, error) {
	out := make([]Callback, n)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += workers {
				plain := s.TextXML(users[i%len(users)], fmt.Sprintf("负载消息 %d", i), firstMsgID+uint64(i), ts)
				cb, err := s.Seal(ts, fmt.Sprintf("%09d", i), plain)
				if err != nil {
					errs <- err
					return
				}
				out[i] = cb
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return out, nil
}

// LoadClient is an HTTP client for load: keep-alive with up to conns idle
// connections to the one host.
func LoadClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        conns * 2,
			MaxIdleConnsPerHost: conns * 2,
			MaxConnsPerHost:     0,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}
}

// Result is what a load run measured.
type Result struct {
	Sent      int
	Statuses  map[int]int // HTTP status → count; 0 = transport error
	Elapsed   time.Duration
	Latencies []time.Duration // sorted ascending
	FirstErr  error
}

// OK counts answers with HTTP 200.
func (r Result) OK() int { return r.Statuses[http.StatusOK] }

// Rate is answered-200 callbacks per second.
func (r Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK()) / r.Elapsed.Seconds()
}

// Percentile returns the p-th percentile latency (0 < p ≤ 100).
func (r Result) Percentile(p float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	i := int(float64(len(r.Latencies))*p/100+0.5) - 1
	i = min(max(i, 0), len(r.Latencies)-1)
	return r.Latencies[i]
}

type sample struct {
	status int
	lat    time.Duration
	err    error
}

func post(ctx context.Context, hc *http.Client, target string, cb Callback) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target+"?"+cb.Query, bytes.NewReader(cb.Body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "text/xml")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func collect(samples []sample, elapsed time.Duration) Result {
	r := Result{Statuses: map[int]int{}, Elapsed: elapsed}
	for _, s := range samples {
		r.Sent++
		r.Statuses[s.status]++
		if s.err != nil && r.FirstErr == nil {
			r.FirstErr = s.err
		}
		if s.status == http.StatusOK {
			r.Latencies = append(r.Latencies, s.lat)
		}
	}
	slices.Sort(r.Latencies)
	return r
}

// Closed posts every callback to target from conc concurrent connections, each
// sending the next callback as soon as the previous one is answered: the
// endpoint's throughput.
func Closed(ctx context.Context, hc *http.Client, target string, cbs []Callback, conc int) Result {
	samples := make([]sample, len(cbs))
	var next sync.Mutex
	i := 0
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				next.Lock()
				k := i
				i++
				next.Unlock()
				if k >= len(cbs) {
					return
				}
				t0 := time.Now()
				st, err := post(ctx, hc, target, cbs[k])
				samples[k] = sample{status: st, lat: time.Since(t0), err: err}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	next.Lock()
	if i < len(samples) {
		samples = samples[:i]
	}
	next.Unlock()
	return collect(samples, elapsed)
}

// Open posts the callbacks at a fixed rate per second whatever the answers
// (an open-loop load, as WeCom offers it). Latency counts from each callback's
// scheduled time, so a stall shows in the percentiles instead of slowing the load.
func Open(ctx context.Context, hc *http.Client, target string, cbs []Callback, rate float64) Result {
	samples := make([]sample, len(cbs))
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	var wg sync.WaitGroup
	sent := 0
	for k := range cbs {
		due := start.Add(time.Duration(k) * interval)
		if d := time.Until(due); d > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(d):
			}
		}
		if ctx.Err() != nil {
			break
		}
		sent++
		wg.Add(1)
		go func(k int, due time.Time) {
			defer wg.Done()
			st, err := post(ctx, hc, target, cbs[k])
			samples[k] = sample{status: st, lat: time.Since(due), err: err}
		}(k, due)
	}
	wg.Wait()
	return collect(samples[:sent], time.Since(start))
}

// VerifyDecryptHandler answers a callback after what the intake does before
// storing — read the body (1 MiB cap), parse the envelope, check the timestamp
// and the signature, decrypt — and stores nothing: the ceiling of our own
// crypto path.
func VerifyDecryptHandler(c *wecom.Crypto, maxSkew time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		sig, ts, nonce := q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce")
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, bot.MaxCallbackBody))
		if err != nil || sig == "" || ts == "" || nonce == "" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		env, err := wecom.ParseEnvelope(body)
		if err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if maxSkew > 0 {
			sec, err := strconv.ParseInt(ts, 10, 64)
			if d := time.Since(time.Unix(sec, 0)); err != nil || d > maxSkew || d < -maxSkew {
				http.Error(w, "forbidden", http.StatusForbidden)
				return
			}
		}
		if !c.Verify(sig, ts, nonce, env.Encrypt) {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		if _, err := c.Decrypt(env.Encrypt); err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

// PeerHandler is the same minimal verify-decrypt-answer handler built only
// with silenceper/wechat's helpers (util.Signature, util.DecryptMsg): what a
// bot written directly on the peer library would reach.
func PeerHandler(token, aesKey, corpID string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, bot.MaxCallbackBody))
		if err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		var env struct {
			Encrypt string `xml:"Encrypt"`
		}
		if err := xml.Unmarshal(body, &env); err != nil || env.Encrypt == "" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if util.Signature(token, q.Get("timestamp"), q.Get("nonce"), env.Encrypt) != q.Get("msg_signature") {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		if _, _, err := util.DecryptMsg(corpID, env.Encrypt, aesKey); err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

// Serve runs h on a fresh loopback listener with the app's server timeouts and
// returns its base URL and a stop function.
func Serve(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second}
	go srv.Serve(ln)
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}
	return "http://" + ln.Addr().String(), stop, nil
}

func randTag() string {
	b := make([]byte, 3)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// FirstMsgID returns a MsgId base unlikely to collide with another run's
// callbacks in a shared database.
func FirstMsgID() uint64 {
	return uint64(time.Now().UnixNano()/1000) * 1000
}
