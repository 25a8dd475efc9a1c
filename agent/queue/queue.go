// Package queue follows tickets of the center's queue system through their
// steps (issued, called, started, finished, no_show), forwards each step as a
// `queue` event, and derives a `session` event when a ticket is finished:
// wait_s = called - issued, service_s = finished - started. It remembers the
// session that just ended at each counter so a rating pressed right after
// can carry that session's ID.
package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
}

// Defaults returns the configuration used where a file says nothing.
func Defaults() Config {
	return Config{RatingWindow: 2 * time.Minute, MaxOpenTickets: 10000, TicketTTL: 12 * time.Hour}
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
	}
	return nil
}

// Emitter spools events (outbox.Outbox).
type Emitter interface {
	Header() schema.Header
	Emit(ctx context.Context, ev schema.Event) error
}

type ticket struct {
	service, counter        string
	issued, called, started time.Time
	seen                    time.Time
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

	mu       sync.Mutex
	tickets  map[string]*ticket
	order    []string // ticket keys in arrival order, for eviction
	sessions map[string]*lastSession

	steps         *prometheus.CounterVec
	sessionsTotal prometheus.Counter
	dropped       prometheus.Counter
	rejected      *prometheus.CounterVec
}

// New returns a tracker.
func New(cfg Config, site string, out Emitter, log *slog.Logger, reg prometheus.Registerer, now func() time.Time) *Tracker {
	t := &Tracker{
		cfg: cfg, site: site, out: out, log: log, now: now,
		tickets:  map[string]*ticket{},
		sessions: map[string]*lastSession{},
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
	return t
}

// Step accepts one step from the queue system (MQTT or webhook payload in
// the contract's queue format), spools it and, for a finished ticket, the
// derived session. It returns once both are durable.
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
	// The queue system's own id and ts are kept: they are its identity, and
	// a redelivered step then overwrites itself downstream.
	if err := t.out.Emit(ctx, q); err != nil {
		return err
	}
	t.steps.WithLabelValues(string(q.Step)).Inc()
	sess, undo := t.apply(q)
	if sess == nil {
		return nil
	}
	if err := t.out.Emit(ctx, sess); err != nil {
		// Put the ticket back: the queue system will retry the step, and the
		// session must come out of the retry.
		undo()
		return fmt.Errorf("queue: session for ticket %s: %w", q.Ticket, err)
	}
	t.sessionsTotal.Inc()
	return nil
}

func (t *Tracker) apply(q *schema.Queue) (*schema.Session, func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expire()
	key := q.Service + "/" + q.Ticket
	tk, ok := t.tickets[key]
	if !ok {
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
		delete(t.tickets, key)
		if tk.counter == "" {
			return nil, nil
		}
		start := tk.started
		if start.IsZero() {
			start = tk.called
		}
		if start.IsZero() || q.TS.Before(start) {
			t.log.Warn("finished ticket without a usable start; no session", "ticket", q.Ticket)
			return nil, nil
		}
		var wait float64
		if !tk.issued.IsZero() && !tk.called.IsZero() && tk.called.After(tk.issued) {
			wait = tk.called.Sub(tk.issued).Seconds()
		}
		h := t.out.Header()
		h.ID = "s-" + h.ID
		s := &schema.Session{
			Header:   h,
			Counter:  tk.counter,
			Start:    start,
			End:      q.TS,
			WaitS:    wait,
			ServiceS: q.TS.Sub(start).Seconds(),
			Source:   schema.SourceQueue,
			Ticket:   q.Ticket,
		}
		prev := t.sessions[tk.counter]
		t.sessions[tk.counter] = &lastSession{id: s.ID, end: t.now()}
		undo := func() {
			t.mu.Lock()
			defer t.mu.Unlock()
			t.tickets[key] = tk
			t.order = append(t.order, key)
			if cur := t.sessions[tk.counter]; cur != nil && cur.id == s.ID {
				if prev != nil {
					t.sessions[tk.counter] = prev
				} else {
					delete(t.sessions, tk.counter)
				}
			}
		}
		return s, undo
	}
	return nil, nil
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
			delete(t.tickets, key)
			t.dropped.Inc()
		}
	}
}

// evict keeps at most MaxOpenTickets. Called with mu held.
func (t *Tracker) evict() {
	for len(t.tickets) > t.cfg.MaxOpenTickets && len(t.order) > 0 {
		key := t.order[0]
		t.order = t.order[1:]
		if _, ok := t.tickets[key]; ok {
			delete(t.tickets, key)
			t.dropped.Inc()
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
