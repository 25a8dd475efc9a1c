package kpi

import (
	"sync"
	"time"

	"github.com/pscm/pscm/internal/schema"
)

// DefaultMaxIDs bounds the event IDs a Live remembers: about a busy
// center's day of events many times over, at roughly 100 bytes each.
const DefaultMaxIDs = 100_000

// LiveConfig scopes a Live to the events its Stats cover.
type LiveConfig struct {
	// Site, when set, ignores events of other sites.
	Site string
	// Counter, when set, ignores events of other counters (and dossiers,
	// which have none), for a per-counter Live.
	Counter string
	// Start and End, when set, ignore events whose ts is outside
	// [Start, End): the period the base Stats were loaded for.
	Start, End time.Time
	// Satisfied are the levels counted as satisfied (DefaultSatisfied when
	// nil); use the same as the Stats' loader.
	Satisfied []schema.Level
	// MaxIDs bounds the remembered event IDs (DefaultMaxIDs when 0). When
	// full the oldest is forgotten, so only a redelivery older than the
	// last MaxIDs events could count twice.
	MaxIDs int
}

// Live applies events, as they arrive over MQTT, to the Stats of the last
// Load, so the dashboard updates between reloads. It remembers the IDs it
// applied since the last Reset (bounded), so an event delivered twice (QoS 1
// is at least once) counts once.
//
// Counts, percentages and means are updated exactly; wait and service
// percentiles and staff presence keep their loaded values until the next
// Load, since they cannot be updated exactly from one event.
//
// An event that was already in InfluxDB when Load ran but is delivered
// after it counts twice until the next Reset, which replaces the Stats with
// a fresh Load: reload every few minutes.
// Live is safe for concurrent use.
type Live struct {
	mu        sync.Mutex
	cfg       LiveConfig
	satisfied Satisfaction
	stats     Stats
	seen      map[string]struct{}
	ring      []string // applied IDs in order, a circular buffer of MaxIDs
	next      int
}

// NewLive returns a Live starting from base, which it copies.
func NewLive(base Stats, cfg LiveConfig) *Live {
	if cfg.MaxIDs <= 0 {
		cfg.MaxIDs = DefaultMaxIDs
	}
	l := &Live{cfg: cfg, satisfied: SatisfactionOf(cfg.Satisfied)}
	l.reset(base)
	return l
}

// Reset replaces the Stats with a fresh Load's and forgets the IDs applied
// so far, which that Load now counts.
func (l *Live) Reset(base Stats) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reset(base)
}

func (l *Live) reset(base Stats) {
	l.stats = base.Clone()
	l.seen = make(map[string]struct{})
	l.ring = l.ring[:0]
	l.next = 0
}

// Stats returns a copy of the current Stats.
func (l *Live) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats.Clone()
}

// Remembered returns how many event IDs are held, at most MaxIDs.
func (l *Live) Remembered() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.seen)
}

// Apply counts ev and reports whether it changed the Stats: false for an
// event already applied, out of scope, or of a kind the Stats do not count
// (camera, agent, occupancy, queue steps other than no_show).
func (l *Live) Apply(ev schema.Event) bool {
	if ev == nil {
		return false
	}
	h := ev.Head()
	if l.cfg.Site != "" && h.Site != l.cfg.Site {
		return false
	}
	if !l.cfg.Start.IsZero() && h.TS.Before(l.cfg.Start) || !l.cfg.End.IsZero() && !h.TS.Before(l.cfg.End) {
		return false
	}
	counter, counts := "", false
	switch e := ev.(type) {
	case *schema.Rating:
		counter, counts = e.Counter, true
	case *schema.Dossier:
		counts = true
	case *schema.Queue:
		counter, counts = e.Counter, e.Step == schema.StepNoShow
	case *schema.Session:
		counter, counts = e.Counter, true
	}
	if !counts || l.cfg.Counter != "" && counter != l.cfg.Counter {
		return false
	}

	key := string(ev.Kind()) + "\x00" + h.ID
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, dup := l.seen[key]; dup {
		return false
	}
	l.remember(key)

	s := &l.stats
	if s.Ratings == nil {
		s.Ratings = map[schema.Level]int64{}
	}
	if s.Dossiers == nil {
		s.Dossiers = map[schema.Outcome]int64{}
	}
	switch e := ev.(type) {
	case *schema.Rating:
		s.Ratings[e.Level]++
	case *schema.Dossier:
		s.Dossiers[e.Outcome]++
	case *schema.Queue:
		s.NoShows++
	case *schema.Session:
		s.Sessions++
		s.WaitSumS += e.WaitS
		s.ServiceSumS += e.ServiceS
	}
	s.Finish(l.satisfied)
	return true
}

// remember records key, forgetting the oldest when MaxIDs are held.
func (l *Live) remember(key string) {
	if len(l.ring) < l.cfg.MaxIDs {
		l.ring = append(l.ring, key)
	} else {
		delete(l.seen, l.ring[l.next])
		l.ring[l.next] = key
		l.next = (l.next + 1) % l.cfg.MaxIDs
	}
	l.seen[key] = struct{}{}
}
