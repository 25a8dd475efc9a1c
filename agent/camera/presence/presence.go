// Package presence turns one counter's zone state changes (from
// agent/camera/occupancy) into service sessions and the official's presence
// time within working hours.
//
// The session rule: a citizen's seat occupied for at least SessionMin while
// the official's seat is occupied starts a session, at the start of that
// overlap; the citizen's seat vacant for SessionGap ends it, at the moment
// it went vacant. A citizen who stands up and sits again within SessionGap
// stays in the same session; the official leaving meanwhile does not end
// it.
package presence

import (
	"errors"
	"fmt"
	"time"

	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/schema"
)

// Config is the session rule's durations.
type Config struct {
	// SessionMin is N: how long citizen and official must both be seated.
	SessionMin time.Duration `yaml:"session_min"`
	// SessionGap is M: how long the citizen's seat must be vacant to end a
	// session.
	SessionGap time.Duration `yaml:"session_gap"`
}

// Defaults: 10 s together starts a session (a question at the counter is
// shorter), 15 s vacant ends it.
func Defaults() Config {
	return Config{SessionMin: 10 * time.Second, SessionGap: 15 * time.Second}
}

// Validate checks the durations.
func (c Config) Validate() error {
	if c.SessionMin < time.Second || c.SessionMin > time.Hour {
		return fmt.Errorf("presence: session_min %s: want 1s to 1h", c.SessionMin)
	}
	if c.SessionGap < time.Second || c.SessionGap > time.Hour {
		return fmt.Errorf("presence: session_gap %s: want 1s to 1h", c.SessionGap)
	}
	return nil
}

// Session is one citizen served at a counter.
type Session struct {
	Counter    string
	Start, End time.Time
}

type seat struct {
	on bool
	// unknown: the camera cannot tell (a still change it cannot call a
	// person or an object); neither present nor absent. on keeps the
	// state before.
	unknown bool
	since   time.Time // when the current state began
}

// Counter follows one counter's official and citizen seats. It is not safe
// for concurrent use.
type Counter struct {
	id    string
	cfg   Config
	hours kpi.WorkHours

	staff, citizen seat
	open           bool
	start          time.Time
	now            time.Time

	// present is the official's seated time inside working hours up to
	// presentAt.
	present   time.Duration
	presentAt time.Time
}

// NewCounter returns the tracker of counter id; hours bound the presence
// count.
func NewCounter(id string, cfg Config, hours kpi.WorkHours) (*Counter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := hours.Validate(); err != nil {
		return nil, err
	}
	return &Counter{id: id, cfg: cfg, hours: hours}, nil
}

// ErrZoneKind is returned for zone kinds other than staff and citizen.
var ErrZoneKind = errors.New("presence: only staff and citizen zones count")

// Update applies a state change of the counter's staff or citizen zone
// that began at at (occupancy.Change.At), and returns the sessions it
// ended. Changes of one zone must come in order; the two zones may
// interleave slightly out of order (changes are backdated).
func (c *Counter) Update(kind schema.Zone, occupied bool, at time.Time) ([]Session, error) {
	st := schema.ZoneVacant
	if occupied {
		st = schema.ZoneOccupied
	}
	return c.UpdateState(kind, st, at)
}

// UpdateState is Update with the zone's state, which may be unknown: an
// unknown official's seat counts neither as presence nor as absence, and
// holds a session open as it found it.
func (c *Counter) UpdateState(kind schema.Zone, state schema.ZoneState, at time.Time) ([]Session, error) {
	var s *seat
	switch kind {
	case schema.ZoneStaff:
		s = &c.staff
	case schema.ZoneCitizen:
		s = &c.citizen
	default:
		return nil, fmt.Errorf("%w: %q", ErrZoneKind, kind)
	}
	// Judge the time up to this change with the state before it.
	out := c.Tick(at)
	if kind == schema.ZoneStaff {
		c.countPresence(at)
	}
	switch {
	case state == schema.ZoneUnknown:
		if !s.unknown {
			s.unknown, s.since = true, at
		}
	case s.unknown || s.on != (state == schema.ZoneOccupied):
		s.unknown, s.on, s.since = false, state == schema.ZoneOccupied, at
	}
	return out, nil
}

// Tick advances the counter's clock to now and returns the sessions that
// ended by then: call it every few seconds so a session ends SessionGap
// after the citizen left even when no other change comes.
func (c *Counter) Tick(now time.Time) []Session {
	if now.After(c.now) {
		c.now = now
	}
	now = c.now
	if !c.open && c.staff.on && !c.staff.unknown && c.citizen.on && !c.citizen.unknown {
		if from := later(c.staff.since, c.citizen.since); now.Sub(from) >= c.cfg.SessionMin {
			c.open, c.start = true, from
		}
	}
	if c.open && !c.citizen.on && !c.citizen.unknown && now.Sub(c.citizen.since) >= c.cfg.SessionGap {
		c.open = false
		return []Session{{Counter: c.id, Start: c.start, End: c.citizen.since}}
	}
	return nil
}

// Open returns the start of the session in progress, if any.
func (c *Counter) Open() (time.Time, bool) {
	return c.start, c.open
}

func (c *Counter) countPresence(to time.Time) {
	if c.staff.on && !c.staff.unknown && !c.presentAt.IsZero() && to.After(c.presentAt) {
		c.present += c.hours.Overlap(c.presentAt, to)
	}
	if to.After(c.presentAt) {
		c.presentAt = to
	}
}

// StaffPresent is how long the official's seat was occupied inside working
// hours up to now.
func (c *Counter) StaffPresent(now time.Time) time.Duration {
	p := c.present
	if c.staff.on && !c.staff.unknown && now.After(c.presentAt) {
		p += c.hours.Overlap(c.presentAt, now)
	}
	return p
}

// StaffAbsent is how long, in working hours, the official's seat has been
// vacant at now; 0 while it is occupied or unknown. Before the first staff change it
// counts from the first change of either seat.
func (c *Counter) StaffAbsent(now time.Time) time.Duration {
	if c.staff.on || c.staff.unknown {
		return 0
	}
	from := c.staff.since
	if from.IsZero() {
		from = c.citizen.since
	}
	if from.IsZero() || !now.After(from) {
		return 0
	}
	return c.hours.Overlap(from, now)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
