package wecom

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// TokenCache stores access tokens. Its method set is exactly silenceper's
// cache.Cache (github.com/silenceper/wechat/v2/cache), so any implementation
// of that interface — e.g. a go-redis v9 one shared by all replicas — plugs in
// unchanged. Get returns nil for a missing or expired key; values are strings.
type TokenCache interface {
	Get(key string) interface{}
	Set(key string, val interface{}, timeout time.Duration) error
	IsExist(key string) bool
	Delete(key string) error
}

// TokenLocker takes a lock shared by every replica for the duration of one
// token fetch. LockToken blocks until the lock is held or ctx ends.
type TokenLocker interface {
	LockToken(ctx context.Context, key string) (unlock func(), err error)
}

// MemoryCache is an in-process TokenCache for a single replica.
type MemoryCache struct {
	mu    sync.Mutex
	items map[string]memoryItem
}

type memoryItem struct {
	val     interface{}
	expires time.Time // zero: never
}

// NewMemoryCache returns an empty MemoryCache.
func NewMemoryCache() *MemoryCache {
	return &MemoryCache{items: make(map[string]memoryItem)}
}

// Get returns the value under key, or nil when it is missing or expired.
func (m *MemoryCache) Get(key string) interface{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	it, ok := m.items[key]
	if !ok {
		return nil
	}
	if !it.expires.IsZero() && !time.Now().Before(it.expires) {
		delete(m.items, key)
		return nil
	}
	return it.val
}

// Set stores val under key for timeout; a timeout ≤ 0 never expires.
func (m *MemoryCache) Set(key string, val interface{}, timeout time.Duration) error {
	it := memoryItem{val: val}
	if timeout > 0 {
		it.expires = time.Now().Add(timeout)
	}
	m.mu.Lock()
	m.items[key] = it
	m.mu.Unlock()
	return nil
}

// IsExist reports whether key holds a live value.
func (m *MemoryCache) IsExist(key string) bool { return m.Get(key) != nil }

// Delete removes key.
func (m *MemoryCache) Delete(key string) error {
	m.mu.Lock()
	delete(m.items, key)
	m.mu.Unlock()
	return nil
}

const (
	// tokenMargin is subtracted from expires_in so a token is renewed before
	// WeCom stops accepting it.
	tokenMargin = 300 * time.Second
	// tokenFetchTimeout bounds one gettoken call; it runs detached from the
	// caller that started it because other callers wait on it too.
	tokenFetchTimeout = 30 * time.Second
	// tokenFailCooldown is how long a permanent gettoken failure (bad corpid
	// or secret) is returned without asking again: repeated wrong secrets get
	// the caller's IP blocked for an hour.
	tokenFailCooldown = 5 * time.Second
)

// tokenFlight is one gettoken call that every concurrent caller waits on.
type tokenFlight struct {
	done  chan struct{}
	token string
	err   error
}

// cachedToken returns the token in the cache, "" when there is none.
func (c *Client) cachedToken() string {
	switch v := c.cache.Get(c.tokenKey).(type) {
	case string:
		return v
	case []byte:
		return string(v)
	}
	return ""
}

// accessToken returns a valid-looking token: the cached one or a fresh one.
func (c *Client) accessToken(ctx context.Context) (string, error) {
	if t := c.cachedToken(); t != "" {
		return t, nil
	}
	return c.fetchToken(ctx, "")
}

// fetchToken gets a new token with at most one gettoken call in flight per
// Client. stale is the token WeCom just rejected ("" on a cache miss): when the
// cache already holds a different one, another caller has refreshed it and
// that one is returned without a call.
func (c *Client) fetchToken(ctx context.Context, stale string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	c.mu.Lock()
	f := c.flight
	if f == nil {
		if t := c.cachedToken(); t != "" && t != stale {
			c.mu.Unlock()
			return t, nil
		}
		if c.failErr != nil && time.Now().Before(c.failUntil) {
			err := c.failErr
			c.mu.Unlock()
			return "", err
		}
		f = &tokenFlight{done: make(chan struct{})}
		c.flight = f
		go c.runTokenFlight(context.WithoutCancel(ctx), f, stale)
	}
	c.mu.Unlock()

	select {
	case <-f.done:
		return f.token, f.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (c *Client) runTokenFlight(ctx context.Context, f *tokenFlight, stale string) {
	ctx, cancel := context.WithTimeout(ctx, tokenFetchTimeout)
	defer cancel()
	var (
		tok    string
		ttl    time.Duration
		err    error
		shared bool
	)
	if c.locker != nil {
		// Several replicas share the cache: one of them fetches, the others wait
		// and then find the new token in the cache.
		if unlock, lerr := c.locker.LockToken(ctx, c.tokenKey); lerr == nil {
			defer unlock()
			if t := c.cachedToken(); t != "" && t != stale {
				tok, shared = t, true
			}
		} else {
			c.log.DebugContext(ctx, "wecom token lock unavailable; fetching without it", "error", lerr.Error())
		}
	}
	if !shared {
		if stale != "" && c.cachedToken() == stale {
			_ = c.cache.Delete(c.tokenKey)
		}
		tok, ttl, err = c.getToken(ctx)
	}
	if err == nil && !shared {
		if serr := c.cache.Set(c.tokenKey, tok, ttl); serr != nil {
			// The token still serves the waiting callers; the next miss refetches.
			c.log.DebugContext(ctx, "wecom token cache set failed", "error", serr.Error())
		}
	}

	c.mu.Lock()
	f.token, f.err = tok, err
	c.flight = nil
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Permanent() {
		c.failErr, c.failUntil = err, time.Now().Add(tokenFailCooldown)
	} else {
		c.failErr = nil
	}
	c.mu.Unlock()
	close(f.done)
}

// tokenResponse is the gettoken answer.
type tokenResponse struct {
	baseResponse
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

// getToken calls GET /cgi-bin/gettoken. The secret is in the query string,
// so errors are built without the URL, like every other call.
func (c *Client) getToken(ctx context.Context) (string, time.Duration, error) {
	const api = "gettoken"
	q := url.Values{"corpid": {c.corpID}, "corpsecret": {c.secret}}
	var out tokenResponse
	start := time.Now()
	err := c.exchange(ctx, request{api: api, method: http.MethodGet, query: q}, "", &out)
	c.log.DebugContext(ctx, "wecom api", "api", api, "errcode", ErrCode(err), "duration", time.Since(start))
	if err != nil {
		return "", 0, err
	}
	if out.AccessToken == "" {
		return "", 0, &TransientError{API: api, msg: "no access_token in response", err: errors.New("no access_token in response")}
	}
	expires := time.Duration(out.ExpiresIn) * time.Second
	if expires <= 0 {
		expires = 7200 * time.Second
	}
	ttl := expires - tokenMargin
	if ttl <= 0 {
		ttl = max(expires/2, time.Second)
	}
	return out.AccessToken, ttl, nil
}

// tokenCacheKey is the cache key of the token of one app.
func tokenCacheKey(corpID string, agentID int64) string {
	return "wecom:access_token:" + corpID + ":" + strconv.FormatInt(agentID, 10)
}
