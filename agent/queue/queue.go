// Package queue follows tickets of the center's queue system through their
// steps (issued, called, started, finished, no_show), forwards each step as a
// `queue` event, and derives a `session` event when a ticket is finished:
// wait_s = called - issued, service_s = finished - started. It remembers the
// session that just ended at each counter so a rating pressed right after
// can carry that session's ID.
//
// The open tickets survive a restart (Open): a ticket called before the
// agent was killed and finished after it must still yield its session,
// with the right wait. They are kept in one small state file beside the
// spool, replaced atomically (write, fsync, rename, fsync the directory)
// on every step before the step is spooled and acknowledged. The file is
// bounded like the tickets it holds (max_open_tickets, ticket_ttl). A
// finished ticket stays in it, with the session derived from it, until
// that session is spooled: a retried finished step then spools the very
// same session (same ID and time, so downstream it overwrites itself)
// rather than a second one, and one that comes after the session is done
// finds no ticket and derives none. Which session a counter ended last
// (for linking ratings) is not kept: after a restart a rating pressed
// within the rating window is spooled without a session ID.
package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pscm/pscm/internal/schema"
)

// Config bounds the tracker.
type Config struct {
	// RatingWindow is how long after a session ends a rating at its counter
	// is attached to it.
	RatingWindow time.Duration `yaml:"rating_window"`
	// MaxOpenTickets bounds tickets tracked at once; the oldest is dropped
	// (and counted) beyond it. A center issues hundreds a day.
	MaxOpenTickets int `yaml:"max_open_tickets"`
	// TicketTTL drops tickets never finished (the queue system lost them).
	TicketTTL time.Duration `yaml:"ticket_ttl"`
	// MaxTicketAge refuses a step stamped longer ago than this (a clock
	// never set, a log replayed): a ticket issued in 2020 and finished now
	// would make a session seven years long.
	MaxTicketAge time.Duration `yaml:"max_ticket_age"`
	// MaxSkew refuses a step stamped further ahead of the agent's clock: a
	// session ending tomorrow would be counted today.
	MaxSkew time.Duration `yaml:"max_skew"`
	// Services and Counters are the ones a step may name; a step for
	// another is refused, unless Open. The agent adds the counters of its
	// kiosks and cameras to Counters.
	Services []string `yaml:"services"`
	Counters []string `yaml:"counters"`
	// Open accepts any service and counter (a queue system whose lists
	// change too often to keep here).
	Open bool `yaml:"open"`
}

// Defaults returns the configuration used where a file says nothing.
func Defaults() Config {
	return Config{RatingWindow: 2 * time.Minute, MaxOpenTickets: 10000, TicketTTL: 12 * time.Hour,
		MaxTicketAge: 12 * time.Hour, MaxSkew: 2 * time.Minute}
}

// Validate checks the fields.
func (c Config) Validate() error {
	switch {
	case c.RatingWindow < 0 || c.RatingWindow > time.Hour:
		return fmt.Errorf("rating_window: %v outside 0..1h", c.RatingWindow)
	case c.MaxOpenTickets < 1 || c.MaxOpenTickets > 1000000:
		return fmt.Errorf("max_open_tickets: %d outside 1..1000000", c.MaxOpenTickets)
	case c.TicketTTL < time.Minute:
		return errors.New("ticket_ttl: at least 1m")
	case c.MaxTicketAge < time.Minute || c.MaxTicketAge > 7*24*time.Hour:
		return fmt.Errorf("max_ticket_age: %v outside 1m..168h", c.MaxTicketAge)
	case c.MaxSkew < 0 || c.MaxSkew > time.Hour:
		return fmt.Errorf("max_skew: %v outside 0..1h", c.MaxSkew)
	}
	for i, id := range c.Services {
		if !schema.ValidID(id) {
			return fmt.Errorf("services[%d]: %q does not match %s", i, id, schema.IDPattern)
		}
	}
	for i, id := range c.Counters {
		if !schema.ValidID(id) {
			return fmt.Errorf("counters[%d]: %q does not match %s", i, id, schema.IDPattern)
		}
	}
	return nil
}

// admit applies the center's own rules to a valid step: its time within
// MaxTicketAge before now and MaxSkew after, its service and counter known
// unless Open. Errors are *schema.Error.
func (t *Tracker) admit(q *schema.Queue) error {
	now := t.now()
	switch {
	case q.TS.Before(now.Add(-t.cfg.MaxTicketAge)):
		return &schema.Error{Reason: schema.ReasonTimeRange, Field: "ts",
			Msg: fmt.Sprintf("%s is more than %v before the agent's clock (queue.max_ticket_age)", q.TS.Format(time.RFC3339), t.cfg.MaxTicketAge)}
	case q.TS.After(now.Add(t.cfg.MaxSkew)):
		return &schema.Error{Reason: schema.ReasonTimeRange, Field: "ts",
			Msg: fmt.Sprintf("%s is more than %v after the agent's clock (queue.max_skew)", q.TS.Format(time.RFC3339), t.cfg.MaxSkew)}
	case t.cfg.Open:
		return nil
	case !t.services[q.Service]:
		return &schema.Error{Reason: schema.ReasonInvalidValue, Field: "service",
			Msg: fmt.Sprintf("%q is not one of this center's services (queue.services)", q.Service)}
	case q.Counter != "" && !t.counters[q.Counter]:
		return &schema.Error{Reason: schema.ReasonInvalidValue, Field: "counter",
			Msg: fmt.Sprintf("%q is not one of this center's counters (queue.counters, kiosks, cameras)", q.Counter)}
	}
	return nil
}

// Emitter spools events (outbox.Outbox), several as one all-or-nothing unit.
type Emitter interface {
	Header() schema.Header
	EmitAll(ctx context.Context, evs ...schema.Event) error
}

type ticket struct {
	service, counter        string
	issued, called, started time.Time
	seen                    time.Time
	// session is derived from the finished step and not yet spooled.
	session *schema.Session
}

type lastSession struct {
	id    string
	end   time.Time
	rated bool
}

// Tracker is safe for concurrent use.
type Tracker struct {
	cfg  Config
	site string
	out  Emitter
	log  *slog.Logger
	now  func() time.Time

	// state is the file holding the open tickets; "" keeps them in memory.
	// Steps append to journal (state + ".log"), which snapshot folds back
	// into state once it is longer than the tickets it describes.
	state    string
	journal  *os.File
	journalN int      // entries in journal
	gone     []string // tickets dropped (ttl, limit) not yet in the journal; under mu
	closed   bool     // Close was called; under stepMu
	// compactAt, when set, replaces the journal's length limit (tests and
	// the benchmark: 0 lines means a snapshot on every step, as before).
	compactAt func(open int) int
	// stepMu serialises Step: a step's state save, spooling and undo are
	// not interleaved with another's (the queue system sends a handful a
	// minute per counter).
	stepMu sync.Mutex

	services, counters map[string]bool // what a step may name (admit)

	mu       sync.Mutex
	tickets  map[string]*ticket
	order    []string // ticket keys in arrival order, for eviction
	sessions map[string]*lastSession

	steps         *prometheus.CounterVec
	sessionsTotal prometheus.Counter
	dropped       prometheus.Counter
	rejected      *prometheus.CounterVec
}

// New returns a tracker that keeps its open tickets in memory only; Open
// is the one that survives a restart.
func New(cfg Config, site string, out Emitter, log *slog.Logger, reg prometheus.Registerer, now func() time.Time) *Tracker {
	t := &Tracker{
		cfg: cfg, site: site, out: out, log: log, now: now,
		tickets:  map[string]*ticket{},
		sessions: map[string]*lastSession{},
		services: map[string]bool{}, counters: map[string]bool{},
		steps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "pscm", Subsystem: "agent", Name: "queue_steps_total",
			Help: "Queue steps accepted, by step.",
		}, []string{"step"}),
		sessionsTotal: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "pscm", Subsystem: "agent", Name: "sessions_total",
			Help: "Session events derived from finished tickets.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "pscm", Subsystem: "agent", Name: "queue_tickets_dropped_total",
			Help: "Open tickets forgotten because of max_open_tickets or ticket_ttl.",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "pscm", Subsystem: "agent", Name: "queue_rejected_total",
			Help: "Queue steps refused, by reason.",
		}, []string{"reason"}),
	}
	for _, s := range []schema.Step{schema.StepIssued, schema.StepCalled, schema.StepStarted, schema.StepFinished, schema.StepNoShow} {
		t.steps.WithLabelValues(string(s))
	}
	reg.MustRegister(t.steps, t.sessionsTotal, t.dropped, t.rejected)
	for _, id := range cfg.Services {
		t.services[id] = true
	}
	for _, id := range cfg.Counters {
		t.counters[id] = true
	}
	return t
}

// RetainedStep counts a step refused because the center's broker
// delivered it as a retained message (see ratings.RetainedPress).
func (t *Tracker) RetainedStep() {
	t.rejected.WithLabelValues("retained").Inc()
}

// Step accepts one step from the queue system (MQTT or webhook payload in
// the contract's queue format), spools it and, for a finished ticket, the
// derived session. It returns once both are durable, and the open tickets
// with them. On an error nothing of the step is owed: the queue system
// retries it, and a retried step spools the same events again.
func (t *Tracker) Step(ctx context.Context, payload []byte) error {
	ev, err := schema.Decode(schema.KindQueue, payload, t.now())
	if err != nil {
		t.rejected.WithLabelValues(string(schema.ReasonOf(err))).Inc()
		return err
	}
	q := ev.(*schema.Queue)
	if q.Site != t.site {
		err := &schema.Error{Reason: schema.ReasonSiteMismatch, Field: "site", Msg: fmt.Sprintf("site %q is not this agent's site %q", q.Site, t.site)}
		t.rejected.WithLabelValues(string(err.Reason)).Inc()
		return err
	}
	if err := t.admit(q); err != nil {
		t.rejected.WithLabelValues(string(schema.ReasonOf(err))).Inc()
		return err
	}
	t.stepMu.Lock()
	defer t.stepMu.Unlock()
	key, prev, sess := t.apply(q)
	// The ticket is saved before its step is spooled: a crash in between
	// leaves a step that was never acknowledged, which the queue system
	// sends again, and applying it again changes nothing.
	if err := t.saveTicket(key); err != nil {
		t.restore(key, prev)
		return err
	}
	// The queue system's own id and ts are kept: they are its identity, and
	// a redelivered step then overwrites itself downstream. A finished step
	// and its session are one append: a crash leaves both or neither.
	evs := []schema.Event{q}
	if sess != nil {
		evs = append(evs, sess)
	}
	if err := t.out.EmitAll(ctx, evs...); err != nil {
		if sess == nil {
			t.restore(key, prev)
			// Best effort: the file may keep the step applied, which its
			// retry applies again to the same effect.
			_ = t.saveTicket(key)
			return err
		}
		// The ticket stays, with this session: the retry of the step
		// spools this very session.
		return fmt.Errorf("queue: ticket %s finished, with its session: %w", q.Ticket, err)
	}
	t.steps.WithLabelValues(string(q.Step)).Inc()
	if sess == nil {
		return nil
	}
	t.sessionsTotal.Inc()
	t.mu.Lock()
	if tk := t.tickets[key]; tk != nil && tk.session == sess {
		delete(t.tickets, key)
	}
	t.sessions[sess.Counter] = &lastSession{id: sess.ID, end: t.now()}
	t.mu.Unlock()
	if err := t.saveTicket(key); err != nil {
		// The session is spooled; a ticket left in the file only makes a
		// retried step spool the same session again, which is harmless.
		t.log.Warn("queue: session spooled, but the open tickets were not saved", "ticket", q.Ticket, "err", err)
	}
	return nil
}

// apply records q in the ticket it belongs to and returns the ticket's key,
// a copy of the ticket before (nil if it was new) for restore, and the
// session to spool for a finished ticket.
func (t *Tracker) apply(q *schema.Queue) (key string, prev *ticket, sess *schema.Session) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expire()
	if len(t.order) > 2*len(t.tickets)+64 {
		t.compact()
	}
	key = q.Service + "/" + q.Ticket
	tk, ok := t.tickets[key]
	if ok {
		c := *tk
		prev = &c
	} else {
		tk = &ticket{service: q.Service}
		t.tickets[key] = tk
		t.order = append(t.order, key)
		t.evict()
	}
	tk.seen = t.now()
	if q.Counter != "" {
		tk.counter = q.Counter
	}
	switch q.Step {
	case schema.StepIssued:
		tk.issued = q.TS
	case schema.StepCalled:
		if tk.called.IsZero() { // a re-call keeps the first call for the wait
			tk.called = q.TS
		}
	case schema.StepStarted:
		tk.started = q.TS
	case schema.StepNoShow:
		delete(t.tickets, key)
	case schema.StepFinished:
		if s := tk.session; s != nil && s.End.Equal(q.TS) {
			return key, prev, s // a retry: the same session again
		}
		if s := t.session(q, tk); s != nil {
			tk.session = s // until it is spooled
			return key, prev, s
		}
		delete(t.tickets, key)
	}
	return key, prev, nil
}

// session derives the session of a finished ticket, or nil if its steps do
// not make one. Called with mu held.
func (t *Tracker) session(q *schema.Queue, tk *ticket) *schema.Session {
	if tk.counter == "" {
		return nil
	}
	start := tk.started
	if start.IsZero() {
		start = tk.called
	}
	if start.IsZero() || q.TS.Before(start) {
		t.log.Warn("finished ticket without a usable start; no session", "ticket", q.Ticket)
		return nil
	}
	var wait float64
	if !tk.issued.IsZero() && !tk.called.IsZero() && tk.called.After(tk.issued) {
		wait = tk.called.Sub(tk.issued).Seconds()
	}
	h := t.out.Header()
	h.ID = "s-" + h.ID
	return &schema.Session{
		Header:   h,
		Counter:  tk.counter,
		Start:    start,
		End:      q.TS,
		WaitS:    wait,
		ServiceS: q.TS.Sub(start).Seconds(),
		Source:   schema.SourceQueue,
		Ticket:   q.Ticket,
	}
}

// restore puts a ticket back as it was before a step that was not
// spooled: the step's retry must find what the step found.
func (t *Tracker) restore(key string, prev *ticket) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if prev == nil {
		delete(t.tickets, key)
		return
	}
	if _, ok := t.tickets[key]; !ok {
		t.order = append(t.order, key)
	}
	t.tickets[key] = prev
}

// expire drops tickets not seen for TicketTTL. Called with mu held.
func (t *Tracker) expire() {
	cut := t.now().Add(-t.cfg.TicketTTL)
	for len(t.order) > 0 {
		key := t.order[0]
		tk, ok := t.tickets[key]
		if ok && tk.seen.After(cut) {
			return
		}
		t.order = t.order[1:]
		if ok {
			t.drop(key)
		}
	}
}

// drop forgets a ticket past ticket_ttl or max_open_tickets, and notes it
// for the journal. Called with mu held.
func (t *Tracker) drop(key string) {
	delete(t.tickets, key)
	t.dropped.Inc()
	if t.state != "" {
		t.gone = append(t.gone, key)
	}
}

// evict keeps at most MaxOpenTickets. Called with mu held.
func (t *Tracker) evict() {
	for len(t.tickets) > t.cfg.MaxOpenTickets && len(t.order) > 0 {
		key := t.order[0]
		t.order = t.order[1:]
		if _, ok := t.tickets[key]; ok {
			t.drop(key)
		}
	}
}

// UnclaimSession undoes ClaimSession when the rating was not spooled, so
// the citizen's next press may rate the session.
func (t *Tracker) UnclaimSession(counter, id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s, ok := t.sessions[counter]; ok && s.id == id {
		s.rated = false
	}
}

// ClaimSession returns the session that ended at counter within the rating
// window, for a rating pressed now. rated says it already has a rating (the
// caller then ignores the press when one rating per session is the rule);
// otherwise the session is marked rated.
func (t *Tracker) ClaimSession(counter string, now time.Time) (id string, rated, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, found := t.sessions[counter]
	if !found || now.Sub(s.end) > t.cfg.RatingWindow {
		return "", false, false
	}
	if s.rated {
		return s.id, true, true
	}
	s.rated = true
	return s.id, false, true
}
