package cache

import (
	"context"
	"slices"
	"sort"
	"sync"
	"time"
)

// Memory is the in-process Cache for a single replica.
type Memory struct {
	mu        sync.Mutex
	items     map[string]memItem
	sent      map[string][]time.Time // member → admissions in MaxWindow, oldest first
	lastSweep time.Time              // when sent was last cleared of idle members
	now       func() time.Time
}

type memItem struct {
	val     interface{}
	expires time.Time
}

// NewMemory returns an empty in-process cache.
func NewMemory() *Memory {
	return &Memory{items: map[string]memItem{}, sent: map[string][]time.Time{}, now: time.Now}
}

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

// Allow admits against a rolling Window per member.
func (m *Memory) Allow(ctx context.Context, member string, limit int) (bool, time.Duration, error) {
	return m.AllowAll(ctx, []string{member}, Limit{N: limit, Per: Window})
}

// AllowAll admits one message to every member or to none.
func (m *Memory) AllowAll(_ context.Context, members []string, limits ...Limit) (bool, time.Duration, error) {
	if len(members) == 0 {
		return true, 0, nil
	}
	if err := checkLimits(members[0], limits); err != nil {
		return false, 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	m.sweepLocked(now)
	var wait time.Duration
	for _, member := range members {
		ts := since(m.sent[member], now, MaxWindow)
		m.sent[member] = ts
		for _, l := range limits {
			if in := since(ts, now, l.Per); len(in) >= l.N {
				wait = max(wait, in[len(in)-l.N].Add(l.Per).Sub(now))
			}
		}
	}
	if wait > 0 {
		return false, wait, nil
	}
	for _, member := range members {
		m.sent[member] = insertSorted(m.sent[member], now)
	}
	return true, 0, nil
}

// since returns the admissions of ts (oldest first) still in the window of
// length per that ends at now: those less than per old.
func since(ts []time.Time, now time.Time, per time.Duration) []time.Time {
	start := now.Add(-per)
	return ts[sort.Search(len(ts), func(i int) bool { return ts[i].After(start) }):]
}

// insertSorted adds t to ts keeping it oldest first (a clock set back may
// tell a time before the last admission).
func insertSorted(ts []time.Time, t time.Time) []time.Time {
	return slices.Insert(ts, sort.Search(len(ts), func(i int) bool { return ts[i].After(t) }), t)
}

// sweepLocked forgets, at most once per Window, the members with no admission
// left in MaxWindow, so the map holds only recently active members.
func (m *Memory) sweepLocked(now time.Time) {
	if now.Sub(m.lastSweep) < Window {
		return
	}
	m.lastSweep = now
	for member, ts := range m.sent {
		if len(since(ts, now, MaxWindow)) == 0 {
			delete(m.sent, member)
		}
	}
}

// Ping always succeeds.
func (m *Memory) Ping(context.Context) error { return nil }

// Kind returns "memory".
func (m *Memory) Kind() string { return "memory" }

// Close does nothing.
func (m *Memory) Close() error { return nil }

// LockToken is a no-op: one process already fetches the token once.
func (m *Memory) LockToken(context.Context, string) (func(), error) { return func() {}, nil }
