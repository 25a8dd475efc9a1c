// Package casedesk is the dashboard's side of citizens' feedback and
// complaints (issue 16): the staff's API to receive a case and take its
// steps, the open cases ordered by deadline, the public status page a
// citizen opens with the case number and its code, the publishing of each
// step as a `case` event, and the cases' gauges for Prometheus.
//
// The cases live in internal/casestore (SQLite or PostgreSQL); the rules of
// their deadlines in internal/cases with the working-day calendar of
// internal/workcal. A step is committed to the store first and published
// after, from the store's outbox, so a broker that is away delays the event
// and never loses it.
package casedesk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pscm/pscm/internal/accesslog"
	"github.com/pscm/pscm/internal/cases"
	"github.com/pscm/pscm/internal/casestore"
	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/workcal"
)

// Config is what the desk needs besides its store.
type Config struct {
	Sites    []kpi.Site
	Rules    cases.Rules
	Calendar *workcal.Calendar
	Now      func() time.Time
	// AccessLog is the file every reading of a case's personal data is
	// appended to (who, when, which case).
	AccessLog string
	// PublicPerMinute bounds the public status page's lookups per client
	// address (DefaultPublicPerMinute when 0).
	PublicPerMinute int
	// IntakeTokens are the agents' tokens for POST /api/intake, by site.
	IntakeTokens map[string]string
	// RetentionMonths is how long a handled case keeps its personal data
	// after its last step (Law 91/2025/QH15: no longer than needed); 0
	// keeps it.
	RetentionMonths int
}

// DefaultPublicPerMinute is the public page's lookups per address and
// minute: a citizen checks a case or two, a script guessing codes gets
// nowhere.
const DefaultPublicPerMinute = 20

// Desk serves and publishes the cases. New, then Run.
type Desk struct {
	cfg   Config
	store *casestore.Store
	log   *slog.Logger
	sites map[string]kpi.Site

	access *accesslog.Log
	public *limiter

	// poke wakes the publisher after a step; one pending stands for any.
	poke chan struct{}
	// stale asks Run to recount the gauges: a step changed the open cases.
	// Counting is a read of every open case, kept off the request.
	stale atomic.Bool

	openCases   *prometheus.GaugeVec
	unpublished prometheus.Gauge
	published   prometheus.Counter
	pubErrors   prometheus.Counter

	mu sync.Mutex // serialises the gauges' refresh
}

// New builds the desk; reg takes its metrics.
func New(cfg Config, store *casestore.Store, log *slog.Logger, reg prometheus.Registerer) (*Desk, error) {
	if store == nil || cfg.Calendar == nil || cfg.Now == nil || cfg.AccessLog == "" {
		return nil, errors.New("casedesk: store, calendar, clock and access log are required")
	}
	if err := cfg.Rules.Validate(); err != nil {
		return nil, err
	}
	if cfg.PublicPerMinute <= 0 {
		cfg.PublicPerMinute = DefaultPublicPerMinute
	}
	access, err := accesslog.Open(cfg.AccessLog)
	if err != nil {
		return nil, err
	}
	d := &Desk{cfg: cfg, store: store, log: log, sites: map[string]kpi.Site{}, access: access,
		public: newLimiter(cfg.PublicPerMinute, time.Minute, 10000), poke: make(chan struct{}, 1),
		openCases: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "pscm", Subsystem: "dashboard", Name: "cases_open",
			Help: "Citizens' cases not yet handled, by site and standing against their deadline (on_time, at_risk, overdue; unknown while the working-day calendar lacks the year)."}, []string{"site", "standing"}),
		unpublished: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "pscm", Subsystem: "dashboard", Name: "case_events_unpublished",
			Help: "Steps of cases whose case event the broker has not acknowledged yet."}),
		published: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "pscm", Subsystem: "dashboard", Name: "case_events_published_total",
			Help: "Case events the broker acknowledged."}),
		pubErrors: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "pscm", Subsystem: "dashboard", Name: "case_event_publish_errors_total",
			Help: "Case events that could not be published (retried)."}),
	}
	for _, s := range cfg.Sites {
		d.sites[s.ID] = s
		for _, st := range []cases.Standing{cases.OnTime, cases.AtRisk, cases.Overdue, Unknown} {
			d.openCases.WithLabelValues(s.ID, string(st))
		}
	}
	for _, c := range []prometheus.Collector{d.openCases, d.unpublished, d.published, d.pubErrors} {
		if err := reg.Register(c); err != nil {
			_ = access.Close()
			return nil, fmt.Errorf("casedesk: %w", err)
		}
	}
	return d, nil
}

// Close releases the access log.
func (d *Desk) Close() { _ = d.access.Close() }

// Publish sends one message at QoS 1 and returns once the broker has
// acknowledged it.
type Publish func(ctx context.Context, topic string, payload []byte) error

// refreshEvery is how often the gauges are recomputed (standings move with
// the clock, not only with steps) and the outbox checked without a poke.
const refreshEvery = 30 * time.Second

// Run publishes the outbox and keeps the gauges until ctx ends.
func (d *Desk) Run(ctx context.Context, publish Publish) {
	d.refresh(ctx)
	d.erase(ctx)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	last, erased := d.cfg.Now(), d.cfg.Now()
	for {
		d.publishOutbox(ctx, publish)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.poke:
		}
		if now := d.cfg.Now(); d.stale.Swap(false) || now.Sub(last) >= refreshEvery {
			last = now
			d.refresh(ctx)
		}
		if now := d.cfg.Now(); now.Sub(erased) >= eraseEvery {
			erased = now
			d.erase(ctx)
		}
	}
}

// eraseEvery is how often expired personal data is looked for.
const eraseEvery = time.Hour

// erase empties the personal data of the handled cases whose retention
// ended.
func (d *Desk) erase(ctx context.Context) {
	if d.cfg.RetentionMonths <= 0 {
		return
	}
	now := d.cfg.Now()
	n, err := d.store.Erase(ctx, now.AddDate(0, -d.cfg.RetentionMonths, 0), now)
	switch {
	case err != nil && ctx.Err() == nil:
		d.log.Error("expired personal data of cases not erased", "err", err)
	case n > 0:
		d.log.Info("personal data of cases erased at the end of their retention", "cases", n, "months", d.cfg.RetentionMonths)
	}
}

// changed is a step taken or a case stored: its event to publish, the
// gauges to recount, both on Run's goroutine.
func (d *Desk) changed() {
	d.stale.Store(true)
	d.wake()
}

func (d *Desk) wake() {
	select {
	case d.poke <- struct{}{}:
	default:
	}
}

// publishTimeout bounds the wait for one event's acknowledgement.
const publishTimeout = 10 * time.Second

// publishOutbox publishes what the store holds unpublished, in order, and
// stops at the first failure (retried on the next round): a case's later
// step never goes out before its earlier one.
func (d *Desk) publishOutbox(ctx context.Context, publish Publish) {
	pend, err := d.store.Unpublished(ctx, 200)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Warn("case outbox not read", "err", err)
		}
		return
	}
	d.unpublished.Set(float64(len(pend)))
	for i, p := range pend {
		ev := EventOf(p.Case, p.Seq)
		payload, err := json.Marshal(&ev)
		if err == nil {
			pctx, cancel := context.WithTimeout(ctx, publishTimeout)
			err = publish(pctx, schema.TopicFor(ev.Site, schema.KindCase, ""), payload)
			cancel()
		}
		if err == nil {
			err = d.store.MarkPublished(ctx, p.Case.Number, p.Seq)
		}
		if err != nil {
			if ctx.Err() == nil {
				d.pubErrors.Inc()
				d.log.Warn("case event not published yet; retrying", "case", p.Case.Number, "step", p.Seq, "err", err)
			}
			return
		}
		d.published.Inc()
		d.unpublished.Set(float64(len(pend) - i - 1))
	}
}

// EventOf is step seq of c as a case event: counts and timings, never the
// message nor the phone.
func EventOf(c cases.Case, seq int) schema.Case {
	t := c.History[seq]
	step := schema.CaseStep(t.To)
	if t.ExtendDays > 0 {
		step = schema.CaseExtended
	}
	id := fmt.Sprintf("%s-%d", c.Number, seq)
	// A step's time is the server's, to the nanosecond; an imported one
	// may be whole seconds, so below the millisecond the ID's hash keeps
	// two steps of one second from sharing a point.
	ts := schema.PointTime(id, t.At.UTC(), func(time.Time) bool { return true })
	return schema.Case{Header: schema.Header{ID: id, TS: ts, Site: c.Site},
		Case: c.Number, CaseKind: string(c.Kind), Channel: string(c.Channel), Step: step, Counter: c.Counter, Service: c.Service,
		Received: c.Received.UTC(), Due: t.Due.UTC(), Late: t.Late, ExtendDays: t.ExtendDays}
}

// refresh recomputes the open cases' gauges from the store.
func (d *Desk) refresh(ctx context.Context) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.cfg.Now()
	for id := range d.sites {
		open, err := d.store.List(ctx, casestore.Filter{Site: id, Open: true, Limit: maxOpen, Summary: true})
		if err != nil {
			if ctx.Err() == nil {
				d.log.Warn("open cases not counted", "site", id, "err", err)
			}
			continue
		}
		n := map[cases.Standing]int{}
		for _, c := range open {
			n[d.status(c, now).Standing]++
		}
		for _, st := range []cases.Standing{cases.OnTime, cases.AtRisk, cases.Overdue, Unknown} {
			d.openCases.WithLabelValues(id, string(st)).Set(float64(n[st]))
		}
	}
}

// Row is one case in the staff's list: no personal data.
type Row struct {
	Number    string         `json:"number"`
	Kind      cases.Kind     `json:"kind"`
	KindVI    string         `json:"kind_vi"`
	Channel   cases.Channel  `json:"channel"`
	ChannelVI string         `json:"channel_vi"`
	Received  time.Time      `json:"received"`
	Counter   string         `json:"counter,omitempty"`
	Service   string         `json:"service,omitempty"`
	State     cases.State    `json:"state"`
	StateVI   string         `json:"state_vi"`
	Deadline  time.Time      `json:"deadline,omitzero"`
	Standing  cases.Standing `json:"standing"`
	// StandingVI says the standing in words, with the days left or overdue.
	StandingVI string `json:"standing_vi"`
	DaysLeft   int    `json:"days_left"`
	Assignee   string `json:"assignee,omitempty"`
}

// List is a site's cases for the staff: every open one, the nearest
// deadline (and so every case at risk or overdue) on top, then the latest
// handled ones, newest first; with the counts the page's header shows.
type List struct {
	Site    string `json:"site"`
	Open    int    `json:"open"`
	AtRisk  int    `json:"at_risk"`
	Overdue int    `json:"overdue"`
	// Handled and HandledOnTime count the handled cases listed (the
	// latest); the period's figures are the report's.
	Handled       int   `json:"handled"`
	HandledOnTime int   `json:"handled_on_time"`
	Cases         []Row `json:"cases"`
}

// maxOpen bounds the open cases a list reads: far above what a center
// holds open, and the benchmark's 10,000.
const maxOpen = 10000

// ListSite reads every open case of site and the latest limit handled
// ones, and orders them.
func (d *Desk) ListSite(ctx context.Context, site string, limit int) (List, error) {
	cs, err := d.store.List(ctx, casestore.Filter{Site: site, Open: true, Limit: maxOpen, Summary: true})
	if err != nil {
		return List{}, err
	}
	handled, err := d.store.List(ctx, casestore.Filter{Site: site, Handled: true, Limit: limit})
	if err != nil {
		return List{}, err
	}
	cs = append(cs, handled...)
	now := d.cfg.Now()
	out := List{Site: site, Cases: make([]Row, 0, len(cs))}
	for _, c := range cs {
		st := d.status(c, now)
		r := rowOf(c, st)
		switch {
		case !c.State.Done():
			out.Open++
			out.AtRisk += b2i(st.Standing == cases.AtRisk)
			out.Overdue += b2i(st.Standing == cases.Overdue)
		case c.HandledAt().IsZero():
		default:
			out.Handled++
			out.HandledOnTime += b2i(st.Standing == cases.OnTime)
		}
		out.Cases = append(out.Cases, r)
	}
	sort.SliceStable(out.Cases, func(i, j int) bool {
		a, b := out.Cases[i], out.Cases[j]
		ao, bo := !a.State.Done(), !b.State.Done()
		if ao != bo {
			return ao
		}
		if ao && !a.Deadline.Equal(b.Deadline) {
			// No deadline yet sorts after every deadline.
			if a.Deadline.IsZero() || b.Deadline.IsZero() {
				return b.Deadline.IsZero()
			}
			return a.Deadline.Before(b.Deadline)
		}
		return false // the store's order: newest first
	})
	return out, nil
}

func rowOf(c cases.Case, st cases.Status) Row {
	kvi, _ := c.Kind.Names()
	r := Row{Number: c.Number, Kind: c.Kind, KindVI: kvi, Channel: c.Channel, ChannelVI: channelVI(c.Channel), Received: c.Received,
		Counter: c.Counter, Service: c.Service, State: c.State, StateVI: stateVI(c.State), Standing: st.Standing, DaysLeft: st.DaysLeft,
		StandingVI: standingVI(st)}
	if !c.State.Done() {
		r.Deadline = c.Deadline()
	}
	r.Assignee = c.Assignee
	return r
}

// Unknown is a standing the calendar cannot tell: its deadline or today
// lies in a year the working-day file does not list yet.
const Unknown cases.Standing = "unknown"

// status is c's standing at now, or Unknown (logged) when the calendar
// does not cover it: a page that says so beats one that fails on 1
// January before the new year's holidays are in the file.
func (d *Desk) status(c cases.Case, now time.Time) cases.Status {
	st, err := cases.StatusAt(c, now, d.cfg.Rules, d.cfg.Calendar)
	if err != nil {
		d.log.Warn("case standing unknown: add the year to the working-day calendar", "case", c.Number, "err", err)
		return cases.Status{Standing: Unknown}
	}
	return st
}

func (d *Desk) counterKnown(site, counter string) bool {
	s, ok := d.sites[site]
	return ok && slices.ContainsFunc(s.Counters, func(c kpi.Counter) bool { return c.ID == counter })
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// CaseSummary is site's cases over [from, to) for the report: a pass over
// the site's record up to to, in one query, without personal data.
func (d *Desk) CaseSummary(ctx context.Context, site string, from, to time.Time) (cases.Summary, error) {
	s := cases.NewSummary()
	err := d.store.Walk(ctx, site, to, func(c cases.Case) error {
		s.Add(c, from, to)
		return nil
	})
	return s, err
}

// OfficialSummaries is site's cases over [from, to) that concern an
// official (the case's official), summed per official, for their figures
// (issue 17).
func (d *Desk) OfficialSummaries(ctx context.Context, site string, from, to time.Time) (map[string]cases.Summary, error) {
	out := map[string]cases.Summary{}
	err := d.store.Walk(ctx, site, to, func(c cases.Case) error {
		if c.Official == "" {
			return nil
		}
		s, ok := out[c.Official]
		if !ok {
			s = cases.NewSummary()
		}
		s.Add(c, from, to)
		out[c.Official] = s
		return nil
	})
	return out, err
}
