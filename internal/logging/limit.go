package logging

import (
	"sync"
	"time"
)

// Limiter lets one log line through per key and interval, and counts what
// it held back, so a flood of refusals (5,000 presses in 5 s, a scanner
// without a token) costs a few lines instead of one each. The metrics still
// count every one. Keys are bounded: past maxKeys the oldest are forgotten.
type Limiter struct {
	every time.Duration

	mu   sync.Mutex
	keys map[string]*limited
}

type limited struct {
	last       time.Time
	suppressed int
}

// maxKeys bounds the keys a Limiter remembers.
const maxKeys = 1024

// NewLimiter returns a Limiter letting one line per key through every d.
func NewLimiter(d time.Duration) *Limiter {
	return &Limiter{every: d, keys: map[string]*limited{}}
}

// Allow reports whether a line for key may be logged at now, and how many
// were held back since the last one that was (to log with it).
func (l *Limiter) Allow(key string, now time.Time) (ok bool, suppressed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := l.keys[key]
	if k == nil {
		if len(l.keys) >= maxKeys {
			l.forget(now)
		}
		k = &limited{}
		l.keys[key] = k
	}
	if !k.last.IsZero() && now.Sub(k.last) < l.every {
		k.suppressed++
		return false, 0
	}
	n := k.suppressed
	k.last, k.suppressed = now, 0
	return true, n
}

// forget drops the keys quiet for an interval, or all when none is.
func (l *Limiter) forget(now time.Time) {
	for key, k := range l.keys {
		if now.Sub(k.last) >= l.every {
			delete(l.keys, key)
		}
	}
	if len(l.keys) >= maxKeys {
		clear(l.keys)
	}
}
