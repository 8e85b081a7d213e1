package cache

import "time"

// SetClock makes c's Allow tell time by now: for Memory instead of the wall
// clock, for Redis instead of the server's TIME.
func SetClock(c Cache, now func() time.Time) {
	switch c := c.(type) {
	case *Memory:
		c.mu.Lock()
		c.now = now
		c.mu.Unlock()
	case *Redis:
		c.now = now
	}
}
