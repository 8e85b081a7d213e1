package cache

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is the Cache shared by replicas. It keeps the last token it saw in
// process too, so a Redis outage does not turn every send into a gettoken call.
type Redis struct {
	c     *redis.Client
	local *Memory
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

// Allow counts against a fixed one-minute window per member, shared by replicas.
func (r *Redis) Allow(ctx context.Context, member string, limit int) (bool, time.Duration, error) {
	now := time.Now()
	minute := now.Unix() / 60
	k := rateKey(member, minute)
	pipe := r.c.TxPipeline()
	incr := pipe.Incr(ctx, k)
	pipe.Expire(ctx, k, 2*time.Minute)
	if _, err := pipe.Exec(ctx); err != nil {
		return false, 0, err
	}
	if incr.Val() > int64(limit) {
		return false, time.Until(time.Unix((minute+1)*60, 0)), nil
	}
	return true, 0, nil
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
