package cache

import (
	"context"
	"sync"
	"time"
)

// Memory is the in-process Cache for a single replica.
type Memory struct {
	mu    sync.Mutex
	items map[string]memItem
	now   func() time.Time
}

type memItem struct {
	val     interface{}
	expires time.Time
}

// NewMemory returns an empty in-process cache.
func NewMemory() *Memory { return &Memory{items: map[string]memItem{}, now: time.Now} }

// Get returns the value or nil.
func (m *Memory) Get(key string) interface{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	it, ok := m.items[tokenKey(key)]
	if !ok || (!it.expires.IsZero() && m.now().After(it.expires)) {
		return nil
	}
	return it.val
}

// Set stores a value for timeout (0: forever).
func (m *Memory) Set(key string, val interface{}, timeout time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var exp time.Time
	if timeout > 0 {
		exp = m.now().Add(timeout)
	}
	m.items[tokenKey(key)] = memItem{val: val, expires: exp}
	return nil
}

// IsExist reports whether a live value exists.
func (m *Memory) IsExist(key string) bool { return m.Get(key) != nil }

// Delete removes a value.
func (m *Memory) Delete(key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.items, tokenKey(key))
	return nil
}

// Allow counts against a fixed one-minute window per member.
func (m *Memory) Allow(_ context.Context, member string, limit int) (bool, time.Duration, error) {
	now := m.now()
	minute := now.Unix() / 60
	k := rateKey(member, minute)
	m.mu.Lock()
	defer m.mu.Unlock()
	it := m.items[k]
	n, _ := it.val.(int)
	if n >= limit {
		return false, time.Until(time.Unix((minute+1)*60, 0)), nil
	}
	m.items[k] = memItem{val: n + 1, expires: time.Unix((minute+2)*60, 0)}
	if len(m.items) > 100000 {
		for key, v := range m.items {
			if !v.expires.IsZero() && now.After(v.expires) {
				delete(m.items, key)
			}
		}
	}
	return true, 0, nil
}

// Ping always succeeds.
func (m *Memory) Ping(context.Context) error { return nil }

// Kind returns "memory".
func (m *Memory) Kind() string { return "memory" }

// Close does nothing.
func (m *Memory) Close() error { return nil }

// LockToken is a no-op: one process already fetches the token once.
func (m *Memory) LockToken(context.Context, string) (func(), error) { return func() {}, nil }
