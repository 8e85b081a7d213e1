// Package cache holds the state replicas share: the WeCom access token and the
// per-member send rate. It has two implementations with one method set: Redis
// (several replicas) and in-process (the embedded default, one replica). Every
// Redis key is named in keys.go.
package cache

import (
	"context"
	"fmt"
	"time"
)

// Window is the span Allow counts admissions over: WeCom allows an app a
// number of messages to one member in any 60 seconds, not per clock minute.
const Window = time.Minute

// Limit is at most N admissions to one member in any span of Per (a rolling
// window). Per may be at most MaxWindow.
type Limit struct {
	N   int
	Per time.Duration
}

// MaxWindow is the longest Limit.Per: admissions are kept this long.
const MaxWindow = time.Hour

func checkLimits(member string, limits []Limit) error {
	if len(limits) == 0 {
		return fmt.Errorf("rate limit for %s: no limit given", member)
	}
	for _, l := range limits {
		if l.N < 1 || l.Per <= 0 || l.Per > MaxWindow {
			return fmt.Errorf("rate limit for %s: %d per %s is not a limit", member, l.N, l.Per)
		}
	}
	return nil
}

// Cache is what the bot needs from shared state. It is also a silenceper
// cache.Cache (Get/Set/IsExist/Delete) for the access token.
type Cache interface {
	Get(key string) interface{}
	Set(key string, val interface{}, timeout time.Duration) error
	IsExist(key string) bool
	Delete(key string) error

	// Allow admits one message to member when fewer than limit were admitted
	// in the last Window (a rolling window, as WeCom counts), and records it.
	// When it refuses, retry is how long until the next admission is possible:
	// the moment the oldest admission that keeps member at limit leaves the
	// window. A limit below 1 is an error.
	Allow(ctx context.Context, member string, limit int) (ok bool, retry time.Duration, err error)
	// AllowAll is Allow for one message to several members under one or more
	// limits (WeCom: 30 a minute and 1000 an hour), all or nothing: it admits
	// and records the message for every member when each of them is below
	// every limit, else it records nothing and retry is the longest wait.
	AllowAll(ctx context.Context, members []string, limits ...Limit) (ok bool, retry time.Duration, err error)
	// LockToken serialises access-token fetches across replicas.
	LockToken(ctx context.Context, key string) (unlock func(), err error)
	// Ping checks the backing service (always nil in process).
	Ping(ctx context.Context) error
	// Kind is "redis" or "memory".
	Kind() string
	Close() error
}
