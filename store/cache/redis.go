package cache

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is the Cache shared by replicas. It keeps the last token it saw in
// process too, so a Redis outage does not turn every send into a gettoken call.
type Redis struct {
	c     *redis.Client
	local *Memory
	now   func() time.Time // Allow's clock; nil: the Redis server's TIME
}

// NewRedis connects to a redis:// URL. It does not fail when Redis is down:
// Ping tells readiness, and every call fails until it is back.
func NewRedis(url string) (*Redis, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", err)
	}
	opt.DialTimeout = 2 * time.Second
	opt.ReadTimeout = time.Second
	opt.WriteTimeout = time.Second
	return &Redis{c: redis.NewClient(opt), local: NewMemory()}, nil
}

// Client exposes the go-redis client for tests and locks.
func (r *Redis) Client() *redis.Client { return r.c }

func ctxShort() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 2*time.Second)
}

// Get returns the string value or nil (also when Redis is unreachable, so the
// caller fetches a fresh token rather than failing).
func (r *Redis) Get(key string) interface{} {
	ctx, cancel := ctxShort()
	defer cancel()
	v, err := r.c.Get(ctx, tokenKey(key)).Result()
	switch {
	case err == redis.Nil:
		r.local.Delete(key) // another replica dropped or replaced it
		return nil
	case err != nil:
		return r.local.Get(key) // Redis unreachable: the last token we knew
	}
	return v
}

// Set stores a value (as a string) for timeout.
func (r *Redis) Set(key string, val interface{}, timeout time.Duration) error {
	r.local.Set(key, fmt.Sprint(val), timeout)
	ctx, cancel := ctxShort()
	defer cancel()
	return r.c.Set(ctx, tokenKey(key), fmt.Sprint(val), timeout).Err()
}

// IsExist reports whether the key exists.
func (r *Redis) IsExist(key string) bool {
	ctx, cancel := ctxShort()
	defer cancel()
	n, err := r.c.Exists(ctx, tokenKey(key)).Result()
	return err == nil && n > 0
}

// Delete removes the key.
func (r *Redis) Delete(key string) error {
	r.local.Delete(key)
	ctx, cancel := ctxShort()
	defer cancel()
	return r.c.Del(ctx, tokenKey(key)).Err()
}

// allowScript admits one message to every member under every limit, or to
// none, in one atomic step for all replicas. Each KEYS[i] is a member's sorted
// set of admissions scored by time in microseconds. ARGV: the longest window
// kept (µs), now (µs; 0 takes the Redis server's TIME, so replicas share one
// clock), a unique id for this admission, then pairs of limit and window (µs).
// It returns {1, 0} when admitted, else {0, µs until all can be admitted}.
var allowScript = redis.NewScript(`
local keep, now, id = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
if now == 0 then
	local t = redis.call("TIME")
	now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local wait = 0
for _, key in ipairs(KEYS) do
	redis.call("ZREMRANGEBYSCORE", key, "-inf", now - keep)
	for i = 4, #ARGV, 2 do
		local limit, window = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
		local after = string.format("(%.0f", now - window) -- exclusive; no exponent notation
		local n = redis.call("ZCOUNT", key, after, "+inf")
		if n >= limit then
			local edge = redis.call("ZRANGEBYSCORE", key, after, "+inf", "WITHSCORES", "LIMIT", n - limit, 1)
			wait = math.max(wait, tonumber(edge[2]) + window - now)
		end
	end
end
if wait > 0 then
	return {0, wait}
end
for _, key in ipairs(KEYS) do
	redis.call("ZADD", key, now, id)
	redis.call("PEXPIRE", key, math.ceil(keep / 1000))
end
return {1, 0}
`)

// Allow admits against a rolling Window per member, shared by replicas.
func (r *Redis) Allow(ctx context.Context, member string, limit int) (bool, time.Duration, error) {
	return r.AllowAll(ctx, []string{member}, Limit{N: limit, Per: Window})
}

// AllowAll admits one message to every member or to none, in one atomic
// script (one round trip for a batch of up to 1000 recipients).
func (r *Redis) AllowAll(ctx context.Context, members []string, limits ...Limit) (bool, time.Duration, error) {
	if len(members) == 0 {
		return true, 0, nil
	}
	if err := checkLimits(members[0], limits); err != nil {
		return false, 0, err
	}
	var now int64 // 0: the script reads the server's clock
	if r.now != nil {
		now = r.now().UnixMicro()
	}
	keys := make([]string, len(members))
	for i, m := range members {
		keys[i] = rateKey(m)
	}
	args := []any{MaxWindow.Microseconds(), now, strconv.FormatUint(rand.Uint64(), 36)}
	for _, l := range limits {
		args = append(args, l.N, l.Per.Microseconds())
	}
	res, err := allowScript.Run(ctx, r.c, keys, args...).Int64Slice()
	if err != nil {
		return false, 0, fmt.Errorf("rate limit for %s: %w", members[0], err)
	}
	if len(res) != 2 {
		return false, 0, fmt.Errorf("rate limit for %s: script answered %v", members[0], res)
	}
	if res[0] == 1 {
		return true, 0, nil
	}
	return false, time.Duration(res[1]) * time.Microsecond, nil
}

// Ping checks Redis.
func (r *Redis) Ping(ctx context.Context) error { return r.c.Ping(ctx).Err() }

// Kind returns "redis".
func (r *Redis) Kind() string { return "redis" }

// Close closes the client.
func (r *Redis) Close() error { return r.c.Close() }

// unlockScript deletes the lock only when it still holds our value.
var unlockScript = redis.NewScript(`if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`)

// LockToken takes the cross-replica lock for fetching the access token under
// key, waiting (polling) until it is free or ctx ends. The lock expires by
// itself after 15 s in case its holder dies.
func (r *Redis) LockToken(ctx context.Context, key string) (func(), error) {
	k := prefix + "lock:" + key
	val := fmt.Sprintf("%d", time.Now().UnixNano())
	for {
		ok, err := r.c.SetNX(ctx, k, val, 15*time.Second).Result()
		if err != nil {
			return nil, err
		}
		if ok {
			return func() {
				uctx, cancel := ctxShort()
				defer cancel()
				unlockScript.Run(uctx, r.c, []string{k}, val)
			}, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
