package casedesk

import (
	"sync"
	"time"
)

// limiter allows n requests per key in each window; it tracks at most max
// keys, forgetting those whose window has passed, and refuses new keys
// while full of live ones (a flood from many addresses is refused, not
// remembered without bound).
type limiter struct {
	n      int
	window time.Duration
	max    int

	mu   sync.Mutex
	keys map[string]*bucket
}

type bucket struct {
	start time.Time
	used  int
}

func newLimiter(n int, window time.Duration, max int) *limiter {
	return &limiter{n: n, window: window, max: max, keys: map[string]*bucket{}}
}

// allow reports whether key may make one more request at now.
func (l *limiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.keys[key]
	if b == nil || now.Sub(b.start) >= l.window {
		if b == nil && len(l.keys) >= l.max {
			for k, o := range l.keys {
				if now.Sub(o.start) >= l.window {
					delete(l.keys, k)
				}
			}
			if len(l.keys) >= l.max {
				return false
			}
		}
		b = &bucket{start: now}
		l.keys[key] = b
	}
	if b.used >= l.n {
		return false
	}
	b.used++
	return true
}
