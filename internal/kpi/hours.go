package kpi

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/pscm/pscm/internal/timezone"
)

// Shift is one stretch of a working day, as offsets from local midnight.
type Shift struct{ From, To time.Duration }

// WorkHours say when a counter should be staffed, in one time zone. The
// agent (absence alerts, the shift-open gauge, camera sessions) and the
// dashboard (staff presence, the unstaffed alert) both use this type, built
// from the same HoursConfig, so they never disagree on what working time
// is. Public holidays and make-up working Saturdays are not modelled.
type WorkHours struct {
	Loc    *time.Location
	Days   [7]bool // indexed by time.Weekday
	Shifts []Shift
}

// HoursConfig is WorkHours in a config file's form (the `working_hours:`
// section of the agent's camera settings and of the dashboard).
type HoursConfig struct {
	// TimeZone is an IANA name; Asia/Ho_Chi_Minh works without tzdata.
	TimeZone string `yaml:"time_zone"`
	// Days are mon, tue, wed, thu, fri, sat, sun.
	Days []string `yaml:"days"`
	// Spans are "HH:MM-HH:MM" in local time, in order, without overlap.
	Spans []string `yaml:"spans"`
}

// DefaultHoursConfig are the centers' usual hours: Monday to Friday,
// 07:30-11:30 and 13:30-17:00, Vietnam time.
func DefaultHoursConfig() HoursConfig {
	return HoursConfig{
		TimeZone: timezone.Default,
		Days:     []string{"mon", "tue", "wed", "thu", "fri"},
		Spans:    []string{"07:30-11:30", "13:30-17:00"},
	}
}

// DefaultWorkHours is DefaultHoursConfig as WorkHours.
func DefaultWorkHours() WorkHours {
	w, err := DefaultHoursConfig().WorkHours()
	if err != nil {
		panic("kpi: default working hours: " + err.Error()) // a constant: a test proves it parses
	}
	return w
}

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// WorkHours parses and checks the configuration, naming the key at fault.
// It does not change h.
func (h HoursConfig) WorkHours() (WorkHours, error) {
	var w WorkHours
	loc, err := timezone.Location(h.TimeZone)
	if err != nil {
		return w, fmt.Errorf("time_zone: %w", err)
	}
	w.Loc = loc
	for _, d := range h.Days {
		wd, ok := weekdays[strings.ToLower(d)]
		if !ok {
			return w, fmt.Errorf("days: %q is not one of mon tue wed thu fri sat sun", d)
		}
		if w.Days[wd] {
			return w, fmt.Errorf("days: %q listed twice", d)
		}
		w.Days[wd] = true
	}
	for _, s := range h.Spans {
		from, to, ok := strings.Cut(s, "-")
		a, errA := clock(from)
		b, errB := clock(to)
		if !ok || errA != nil || errB != nil {
			return w, fmt.Errorf("spans: %q is not HH:MM-HH:MM", s)
		}
		w.Shifts = append(w.Shifts, Shift{From: a, To: b})
	}
	if err := w.Validate(); err != nil {
		return w, fmt.Errorf("spans: %w", err)
	}
	return w, nil
}

// clock parses HH:MM (24:00 allowed, as the end of a day).
func clock(s string) (time.Duration, error) {
	var h, m int
	s = strings.TrimSpace(s)
	if n, err := fmt.Sscanf(s, "%d:%d", &h, &m); err != nil || n != 2 ||
		h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0) || len(s) != 5 {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, nil
}

// Validate checks the zone is set and the shifts lie within a day, in
// order, without overlap.
func (w WorkHours) Validate() error {
	if w.Loc == nil {
		return errors.New("working hours without a time zone")
	}
	var prev time.Duration
	for i, s := range w.Shifts {
		if s.From < prev || s.To <= s.From || s.To > 24*time.Hour {
			return fmt.Errorf("span %d (%s-%s): want ordered, non-overlapping spans within a day", i, s.From, s.To)
		}
		prev = s.To
	}
	return nil
}

// Interval is a half-open [From, To) span of time.
type Interval struct{ From, To time.Time }

// Windows returns the working intervals inside [start, end), sorted.
func (w WorkHours) Windows(start, end time.Time) []Interval {
	loc := orVietnam(w.Loc)
	var out []Interval
	s := start.In(loc)
	y, m, d := s.Date()
	for day := time.Date(y, m, d, 0, 0, 0, 0, loc); day.Before(end); day = time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, loc) {
		if !w.Days[day.Weekday()] {
			continue
		}
		for _, sh := range w.Shifts {
			// Offsets from the day's local midnight, as the config writes them.
			f, t := day.Add(sh.From), day.Add(sh.To)
			if f.Before(start) {
				f = start
			}
			if t.After(end) {
				t = end
			}
			if f.Before(t) {
				out = append(out, Interval{f, t})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].From.Before(out[j].From) })
	return out
}

// Overlap is how much of [a, b) lies inside working hours.
func (w WorkHours) Overlap(a, b time.Time) time.Duration {
	var total time.Duration
	for _, iv := range w.Windows(a, b) {
		total += iv.To.Sub(iv.From)
	}
	return total
}

// Contains reports whether t falls inside working hours.
func (w WorkHours) Contains(t time.Time) bool {
	lt := t.In(orVietnam(w.Loc))
	if !w.Days[lt.Weekday()] {
		return false
	}
	y, m, d := lt.Date()
	since := lt.Sub(time.Date(y, m, d, 0, 0, 0, 0, lt.Location()))
	for _, s := range w.Shifts {
		if since >= s.From && since < s.To {
			return true
		}
	}
	return false
}

// Change is one staff-zone state change of a counter.
type Change struct {
	At       time.Time
	Occupied bool
}

// Presence returns the occupied and the total working seconds of one
// counter over [start, end), given its staff-zone changes sorted by time
// and the working windows of [start, end).
//
// The rule: the seat is taken as empty from the start until its first
// change (periods start at local midnight, outside working hours), each
// change holds until the next one from any camera on that counter, and the
// last holds until end (the caller stops end at now). The occupied time
// inside working hours over the working time is the counter's presence; a
// site's is the sum over the counters that reported any staff-zone change.
func Presence(changes []Change, wins []Interval, start, end time.Time) (occupiedS, workS float64) {
	for _, w := range wins {
		workS += w.To.Sub(w.From).Seconds()
	}
	var occ []Interval
	on := false
	var since time.Time
	for _, c := range changes {
		if c.At.Before(start) {
			c.At = start
		}
		if !c.At.Before(end) {
			break
		}
		switch {
		case c.Occupied && !on:
			on, since = true, c.At
		case !c.Occupied && on:
			on = false
			occ = append(occ, Interval{since, c.At})
		}
	}
	if on {
		occ = append(occ, Interval{since, end})
	}
	// Both lists are sorted and disjoint: sweep them together.
	i, j := 0, 0
	for i < len(occ) && j < len(wins) {
		f, t := occ[i].From, occ[i].To
		if wins[j].From.After(f) {
			f = wins[j].From
		}
		if wins[j].To.Before(t) {
			t = wins[j].To
		}
		if f.Before(t) {
			occupiedS += t.Sub(f).Seconds()
		}
		if occ[i].To.Before(wins[j].To) {
			i++
		} else {
			j++
		}
	}
	return occupiedS, workS
}
