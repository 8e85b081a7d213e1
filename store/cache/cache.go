// Package cache holds the state replicas share: the WeCom access token and the
// per-member send rate. It has two implementations with one method set: Redis
// (several replicas) and in-process (the embedded default, one replica). Every
// Redis key is named in keys.go.
package cache

import (
	"context"
	"time"
)

// Cache is what the bot needs from shared state. It is also a silenceper
// cache.Cache (Get/Set/IsExist/Delete) for the access token.
type Cache interface {
	Get(key string) interface{}
	Set(key string, val interface{}, timeout time.Duration) error
	IsExist(key string) bool
	Delete(key string) error

	// Allow counts one message to member in the current minute and reports
	// whether it stays within limit; when not, retry is when the window resets.
	Allow(ctx context.Context, member string, limit int) (ok bool, retry time.Duration, err error)
	// LockToken serialises access-token fetches across replicas.
	LockToken(ctx context.Context, key string) (unlock func(), err error)
	// Ping checks the backing service (always nil in process).
	Ping(ctx context.Context) error
	// Kind is "redis" or "memory".
	Kind() string
	Close() error
}
