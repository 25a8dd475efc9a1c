package auth

import (
	"sync"
	"time"
)

const (
	// forgetAfter is how long a quiet key keeps its failures.
	forgetAfter = 24 * time.Hour
	// maxTracked bounds the per-address memory; random user names from one
	// address would otherwise grow it without end.
	maxTracked = 10000
	// accountFactor: an account's budget, over every address, is this many
	// times a single address's before the whole account slows down.
	accountFactor = 10
	// unknownAccount is the one account-wide key of every name that is no
	// user, so inventing names buys no budget.
	unknownAccount = "\x00unknown"
)

// limiter slows login guessing down instead of locking anyone out. Past
// max failures within window, a user+address pair may try again only
// after a wait that doubles with each further failure (1 s, 2 s, ... up to
// maxWait); an attempt before then is refused without costing a bcrypt
// comparison and without counting. A user's account as a whole, over all
// addresses, gets accountFactor times that budget, for guesses spread over
// many addresses; a browser that has logged in as that user before (a
// device cookie) is not slowed by the account-wide count, so an attack
// from elsewhere never keeps the owner out, and at worst anyone waits
// maxWait, not hours.
//
// Failures are recorded after the bcrypt comparison, whose slots are few
// (hashSem), and the login checks again once it holds one: a burst of
// parallel guesses gets at most max plus the slots through, and requests
// cancelled before their comparison leave nothing behind. Pairs still
// slowing down are never evicted to make room.
type limiter struct {
	max     int
	window  time.Duration
	maxWait time.Duration

	mu       sync.Mutex
	pairs    map[string]*throttle // user + "\x00" + address
	accounts map[string]*throttle // user, or unknownAccount
}

type throttle struct {
	fails int       // failures in the current window
	start time.Time // start of the current window
	next  time.Time // no attempt before this
	last  time.Time // last failure, for forgetting
}

func newLimiter(maxFailures int, window, maxWait time.Duration) *limiter {
	return &limiter{max: maxFailures, window: window, maxWait: maxWait,
		pairs: make(map[string]*throttle), accounts: make(map[string]*throttle)}
}

// wait returns how long the attempt must wait before it may be tried (0:
// now). knownDevice skips the account-wide count. It records nothing.
func (l *limiter) wait(account, address string, knownDevice bool, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := untilNext(l.pairs[account+"\x00"+address], now)
	if !knownDevice {
		w = max(w, untilNext(l.accounts[account], now))
	}
	return w
}

func untilNext(t *throttle, now time.Time) time.Duration {
	if t == nil || !now.Before(t.next) {
		return 0
	}
	return t.next.Sub(now)
}

// failed records a wrong password, after its comparison.
func (l *limiter) failed(account, address string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := account + "\x00" + address
	p := l.pairs[key]
	if p == nil {
		if !l.makeRoom(now) {
			p = &throttle{} // not remembered: the account-wide budget still counts
		} else {
			p = &throttle{}
			l.pairs[key] = p
		}
	}
	l.count(p, l.max, now)
	a := l.accounts[account]
	if a == nil {
		a = &throttle{}
		l.accounts[account] = a
	}
	l.count(a, accountFactor*l.max, now)
}

// count adds a failure to t and, past budget failures in the window, sets
// when the next attempt may come.
func (l *limiter) count(t *throttle, budget int, now time.Time) {
	if now.Sub(t.start) >= l.window {
		t.fails, t.start = 0, now
	}
	t.fails++
	t.last = now
	if excess := t.fails - budget; excess >= 0 {
		d := time.Second << min(excess, 20)
		t.next = now.Add(min(d, l.maxWait))
	}
}

// succeeded forgets the pair: the right password from that address ends
// the suspicion there. The account-wide count stays: a spread attack goes on.
func (l *limiter) succeeded(account, address string) {
	l.mu.Lock()
	delete(l.pairs, account+"\x00"+address)
	l.mu.Unlock()
}

// makeRoom keeps pairs under maxTracked by dropping entries that are quiet
// (no wait pending, window over, or forgotten), never one still slowing
// down; it reports whether there is room.
func (l *limiter) makeRoom(now time.Time) bool {
	if len(l.pairs) < maxTracked {
		return true
	}
	for k, t := range l.pairs {
		if !now.Before(t.next) && (now.Sub(t.start) >= l.window || now.Sub(t.last) > forgetAfter) {
			delete(l.pairs, k)
		}
	}
	return len(l.pairs) < maxTracked
}
