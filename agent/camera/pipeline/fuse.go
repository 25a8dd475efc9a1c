package pipeline

import (
	"time"

	"github.com/pscm/pscm/internal/schema"
)

// maxHeld bounds the sessions waiting for fusion at one counter and
// source: a counter serves a citizen every few minutes, so more than this
// within FuseWindow means the other source is not coming, and the oldest
// goes out alone.
const maxHeld = 16

// fuseSlack lets a queue session and a camera session that do not quite
// overlap still match: the official may press "finished" a little before
// the citizen stands up, or call the next ticket a moment after.
const fuseSlack = 30 * time.Second

// doneFor is how long the fuser remembers a queue session it sent: the
// queue system retries a finished step for a while, and the retry must not
// make the session wait again and go out a second time.
const doneFor = time.Hour

// maxDone bounds that memory.
const maxDone = 4096

// held is a session waiting for its other half since at.
type held struct {
	s  schema.Session
	at time.Time
}

// fuser pairs camera and queue sessions of the same counter. Not safe for
// concurrent use (Watch.mu guards it).
//
// What it decided to send stays in sending until the spool has it (sent),
// and the IDs of queue sessions sent stay in done for doneFor. With the
// Watch saving its state after each change, a crash anywhere loses no
// session and sends none twice: a session held is held again after the
// restart, one decided is spooled again as the very same event (its point
// unchanged), and a queue session sent, fused or alone, never waits again.
type fuser struct {
	window  time.Duration
	cam     map[string][]held
	que     map[string][]held
	sending []schema.Session
	done    map[string]time.Time
	// changed says the state differs from what was last saved (state).
	changed bool
}

func newFuser(window time.Duration) *fuser {
	return &fuser{window: window, cam: map[string][]held{}, que: map[string][]held{}, done: map[string]time.Time{}}
}

// known reports whether the queue session id is waiting, being sent or
// sent: a retried step's session, not a new one.
func (f *fuser) known(s schema.Session) bool {
	if _, ok := f.done[s.ID]; ok {
		return true
	}
	for _, o := range f.sending {
		if o.ID == s.ID {
			return true
		}
	}
	for _, h := range f.que[s.Counter] {
		if h.s.ID == s.ID {
			return true
		}
	}
	return false
}

// decide records sessions as being sent and returns them.
func (f *fuser) decide(out []schema.Session) []schema.Session {
	f.sending = append(f.sending, out...)
	return out
}

// sent records that the spool has the session with this ID.
func (f *fuser) sent(id string, now time.Time) {
	for i, s := range f.sending {
		if s.ID != id {
			continue
		}
		f.sending = append(f.sending[:i:i], f.sending[i+1:]...)
		if s.Source != schema.SourceCamera {
			f.done[id] = now
		}
		f.changed = true
		break
	}
	for id, at := range f.done {
		if now.Sub(at) > doneFor || len(f.done) > maxDone {
			delete(f.done, id)
		}
	}
}

func (f *fuser) len() int {
	n := 0
	for _, h := range f.cam {
		n += len(h)
	}
	for _, h := range f.que {
		n += len(h)
	}
	return n
}

// camera takes a camera session and returns what is ready to send: the
// fused session when a waiting queue session matches, nothing while it
// waits (with FuseWindow 0 it goes out alone at once).
func (f *fuser) camera(s schema.Session, now time.Time) []schema.Session {
	return f.pair(s, f.que, f.cam, now, func(q schema.Session) schema.Session { return fused(s, q) })
}

// queue takes a queue session, as camera does; one it already knows (a
// retried step's) returns nothing.
func (f *fuser) queue(s schema.Session, now time.Time) []schema.Session {
	if f.known(s) {
		return nil
	}
	return f.pair(s, f.cam, f.que, now, func(c schema.Session) schema.Session { return fused(c, s) })
}

// pair fuses s with the best match waiting in other, or holds it in mine.
func (f *fuser) pair(s schema.Session, other, mine map[string][]held, now time.Time, fuse func(schema.Session) schema.Session) []schema.Session {
	f.changed = true
	if i := match(other[s.Counter], s); i >= 0 {
		o := other[s.Counter][i].s
		other[s.Counter] = remove(other[s.Counter], i)
		return f.decide([]schema.Session{fuse(o)})
	}
	return f.decide(f.hold(mine, s, now))
}

func (f *fuser) hold(m map[string][]held, s schema.Session, now time.Time) []schema.Session {
	if f.window <= 0 {
		return []schema.Session{s}
	}
	var out []schema.Session
	list := append(m[s.Counter], held{s: s, at: now})
	if len(list) > maxHeld {
		out = append(out, list[0].s)
		list = list[1:]
	}
	m[s.Counter] = list
	return out
}

// flush returns the sessions that waited FuseWindow by now, to be sent
// alone; a zero now returns all of them.
func (f *fuser) flush(now time.Time) []schema.Session {
	var out []schema.Session
	for _, m := range []map[string][]held{f.cam, f.que} {
		for counter, list := range m {
			keep := list[:0]
			for _, h := range list {
				if now.IsZero() || now.Sub(h.at) >= f.window {
					out = append(out, h.s)
				} else {
					keep = append(keep, h)
				}
			}
			if len(keep) == 0 {
				delete(m, counter)
			} else {
				m[counter] = keep
			}
		}
	}
	if len(out) > 0 {
		f.changed = true
	}
	return f.decide(out)
}

// match returns the index of the waiting session overlapping s most, or -1.
func match(list []held, s schema.Session) int {
	best, bestOverlap := -1, -fuseSlack-1
	for i, h := range list {
		from, to := maxTime(h.s.Start, s.Start), minTime(h.s.End, s.End)
		overlap := to.Sub(from)
		if overlap < -fuseSlack {
			continue
		}
		if overlap > bestOverlap {
			best, bestOverlap = i, overlap
		}
	}
	return best
}

// fused is the one session of a citizen both sources saw: the queue's ID
// (ratings already carry it), ticket and wait; the camera's start, end and
// service time, since the camera sees when the citizen actually sat down
// and stood up.
func fused(cam, q schema.Session) schema.Session {
	s := cam
	s.ID = q.ID
	s.Ticket = q.Ticket
	s.WaitS = q.WaitS
	s.Source = schema.SourceFused
	return s
}

func remove(list []held, i int) []held {
	return append(list[:i:i], list[i+1:]...)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// fuserState is what the Watch saves of a fuser, as JSON.
type fuserState struct {
	Held    []heldState          `json:"held"`
	Sending []schema.Session     `json:"sending"`
	Done    map[string]time.Time `json:"done"`
}

type heldState struct {
	Session schema.Session `json:"session"`
	Since   time.Time      `json:"since"`
}

// state returns f's state.
func (f *fuser) state() fuserState {
	st := fuserState{Sending: f.sending, Done: f.done}
	for _, m := range []map[string][]held{f.cam, f.que} {
		for _, list := range m {
			for _, h := range list {
				st.Held = append(st.Held, heldState{Session: h.s, Since: h.at})
			}
		}
	}
	return st
}

// restore loads a saved state into an empty f. Held sessions keep the time
// they began to wait, so the time the agent was down counts.
func (f *fuser) restore(st fuserState) {
	for _, h := range st.Held {
		m := f.que
		if h.Session.Source == schema.SourceCamera {
			m = f.cam
		}
		m[h.Session.Counter] = append(m[h.Session.Counter], held{s: h.Session, at: h.Since})
	}
	f.sending = append(f.sending, st.Sending...)
	for id, at := range st.Done {
		f.done[id] = at
	}
}
