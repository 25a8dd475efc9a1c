package auth

import (
	"sync"
	"time"
)

const (
	// maxLockout caps the growing lockout: long enough to make guessing
	// hopeless, short enough that a manager who forgot the password is back
	// within a morning even if nobody restarts the dashboard.
	maxLockout = 4 * time.Hour
	// forgetAfter is how long a quiet user+address pair keeps its strikes.
	forgetAfter = 24 * time.Hour
	// maxTracked bounds the limiter's memory; random user names from one
	// address would otherwise grow it without end.
	maxTracked = 10000
)

// limiter counts login attempts per user+address. An attempt is counted
// when it starts, not when bcrypt has answered, so a burst of parallel
// guesses cannot all slip in before the first failure is recorded.
type limiter struct {
	max     int
	window  time.Duration
	lockout time.Duration

	mu      sync.Mutex
	entries map[string]*attempts
}

type attempts struct {
	count   int       // attempts in the current window
	start   time.Time // start of the current window
	strikes int       // lockouts so far: each doubles the next
	until   time.Time // locked until
	last    time.Time // last attempt, for forgetting and eviction
}

func newLimiter(maxFailures int, window, lockout time.Duration) *limiter {
	return &limiter{max: maxFailures, window: window, lockout: lockout, entries: make(map[string]*attempts)}
}

// begin records an attempt for key. It returns ok=false and how long to
// wait when the key is locked out. The attempt that reaches max starts the
// lockout; if it turns out to be right, succeed lifts it.
func (l *limiter) begin(key string, now time.Time) (wait time.Duration, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entries[key]
	if e != nil && now.Sub(e.last) > forgetAfter && !now.Before(e.until) {
		delete(l.entries, key)
		e = nil
	}
	if e == nil {
		l.makeRoom(now)
		e = &attempts{start: now}
		l.entries[key] = e
	}
	if now.Before(e.until) {
		return e.until.Sub(now), false
	}
	if now.Sub(e.start) >= l.window {
		e.count, e.start = 0, now
	}
	e.last = now
	e.count++
	if e.count >= l.max {
		d := l.lockout << e.strikes
		if d > maxLockout || d <= 0 {
			d = maxLockout
		}
		e.strikes++
		e.until = now.Add(d)
		e.count, e.start = 0, now
	}
	return 0, true
}

// succeed forgets the key: the right password ends the suspicion.
func (l *limiter) succeed(key string) {
	l.mu.Lock()
	delete(l.entries, key)
	l.mu.Unlock()
}

// makeRoom keeps the map under maxTracked: first it drops entries that are
// neither locked nor inside a window, then, if still full, the one idle
// longest. Evicting a lock takes maxTracked fresh bcrypt-priced attempts,
// which the hash semaphore makes slow.
func (l *limiter) makeRoom(now time.Time) {
	if len(l.entries) < maxTracked {
		return
	}
	for k, e := range l.entries {
		if !now.Before(e.until) && now.Sub(e.start) >= l.window {
			delete(l.entries, k)
		}
	}
	if len(l.entries) < maxTracked {
		return
	}
	var oldest string
	var oldestLast time.Time
	for k, e := range l.entries {
		if oldest == "" || e.last.Before(oldestLast) {
			oldest, oldestLast = k, e.last
		}
	}
	delete(l.entries, oldest)
}
