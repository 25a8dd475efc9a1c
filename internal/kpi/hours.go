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

// Change is one staff-zone state change of a counter. Unknown means the
// agent said it does not know the seat's state from At on (camera down,
// view tampered with, detector re-learning, agent stopped); Occupied is
// then meaningless.
type Change struct {
	At       time.Time
	Occupied bool
	Unknown  bool
}

// seat is what a Change says of the seat.
type seat int8

const (
	seatUnknown seat = iota
	seatVacant
	seatOccupied
)

func (c Change) seat() seat {
	switch {
	case c.Unknown:
		return seatUnknown
	case c.Occupied:
		return seatOccupied
	}
	return seatVacant
}

// Presence returns, for one counter over [start, end) (the caller stops end
// at now), the working seconds its official was seen present, the working
// seconds the system knows about (coverage), and all working seconds, given
// the working windows of [start, end).
//
// The rule a leader can defend: a seat's state holds from one change to the
// next (changes sorted by time, from any camera on the counter); before the
// first change it is what before says (the last change before start, nil
// when none is known) and unknown otherwise. Unknown time is "no data": it
// is neither presence nor absence, so a camera down, an agent stopped or a
// period before the first camera event never reads as an official away.
// Evidence (the queue system serving or calling a ticket at the counter)
// is presence whatever the camera said: an official calling tickets is at
// the counter, and a still official the camera took for an empty seat must
// not be accused. Absence is known time minus presence.
func Presence(before *Change, changes []Change, evidence, wins []Interval, start, end time.Time) (presentS, coveredS, workS float64) {
	for _, w := range wins {
		workS += w.To.Sub(w.From).Seconds()
	}
	present, covered := Seat(before, changes, evidence, start, end)
	return Overlap(present, wins), Overlap(covered, wins), workS
}

// Seat is Presence's rule as intervals over [start, end): when the seat's
// official was present (seen occupied, or the queue's evidence) and when
// the system knew the seat's state (present or seen vacant). Both sorted
// and disjoint.
func Seat(before *Change, changes []Change, evidence []Interval, start, end time.Time) (present, covered []Interval) {
	var occ, vac []Interval
	cur := seatUnknown
	if before != nil {
		cur = before.seat()
	}
	since := start
	flush := func(to time.Time) {
		if !to.After(since) {
			return
		}
		switch cur {
		case seatOccupied:
			occ = append(occ, Interval{since, to})
		case seatVacant:
			vac = append(vac, Interval{since, to})
		}
	}
	for _, c := range changes {
		at := c.At
		if at.Before(start) {
			at = start
		}
		if !at.Before(end) {
			break
		}
		s := c.seat()
		if s == cur {
			continue
		}
		flush(at)
		cur, since = s, at
	}
	flush(end)
	present = Union(occ, Clip(evidence, start, end))
	return present, Union(present, vac)
}

// Clip returns the parts of ivs inside [start, end), dropping empty ones.
func Clip(ivs []Interval, start, end time.Time) []Interval {
	out := make([]Interval, 0, len(ivs))
	for _, iv := range ivs {
		if iv.From.Before(start) {
			iv.From = start
		}
		if iv.To.After(end) {
			iv.To = end
		}
		if iv.From.Before(iv.To) {
			out = append(out, iv)
		}
	}
	return out
}

// Union returns the union of two lists of intervals as a sorted list of
// disjoint intervals; neither input needs to be sorted.
func Union(a, b []Interval) []Interval {
	all := make([]Interval, 0, len(a)+len(b))
	all = append(append(all, a...), b...)
	sort.Slice(all, func(i, j int) bool { return all[i].From.Before(all[j].From) })
	var out []Interval
	for _, iv := range all {
		if !iv.From.Before(iv.To) {
			continue
		}
		if n := len(out); n > 0 && !iv.From.After(out[n-1].To) {
			if iv.To.After(out[n-1].To) {
				out[n-1].To = iv.To
			}
			continue
		}
		out = append(out, iv)
	}
	return out
}

// Overlap returns the seconds two sorted lists of disjoint intervals have
// in common.
func Overlap(a, b []Interval) float64 {
	var s float64
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		f, t := a[i].From, a[i].To
		if b[j].From.After(f) {
			f = b[j].From
		}
		if b[j].To.Before(t) {
			t = b[j].To
		}
		if f.Before(t) {
			s += t.Sub(f).Seconds()
		}
		if a[i].To.Before(b[j].To) {
			i++
		} else {
			j++
		}
	}
	return s
}
