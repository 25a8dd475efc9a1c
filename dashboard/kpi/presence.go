package kpi

import (
	"sort"
	"time"
)

// Shift is one stretch of working time, as offsets from local midnight.
type Shift struct{ From, To time.Duration }

// WorkHours says when a counter should be staffed. Public holidays and
// make-up working Saturdays are not modelled.
//
// Staff presence is approximated from the staff-zone occupancy changes of
// each counter: the seat is taken as empty from the start of the period
// until its first change (periods start at local midnight, outside working
// hours), each change holds until the next one from any camera on that
// counter, and the last holds until the end of the period or now, whichever
// is earlier. The occupied time inside working hours over the working time
// elapsed is the counter's presence; a site's is the sum over the counters
// that reported any staff-zone change in the period.
type WorkHours struct {
	Days   [7]bool // indexed by time.Weekday
	Shifts []Shift
}

// DefaultWorkHours are the centers' usual hours: Monday to Friday,
// 07:30-11:30 and 13:30-17:00 local time.
func DefaultWorkHours() WorkHours {
	var w WorkHours
	for d := time.Monday; d <= time.Friday; d++ {
		w.Days[d] = true
	}
	w.Shifts = []Shift{
		{7*time.Hour + 30*time.Minute, 11*time.Hour + 30*time.Minute},
		{13*time.Hour + 30*time.Minute, 17 * time.Hour},
	}
	return w
}

// interval is a half-open [from, to) span.
type interval struct{ from, to time.Time }

// windows returns the working intervals inside [start, end) in loc, sorted.
func (w WorkHours) windows(start, end time.Time, loc *time.Location) []interval {
	var out []interval
	s := start.In(loc)
	y, m, d := s.Date()
	for day := time.Date(y, m, d, 0, 0, 0, 0, loc); day.Before(end); {
		if w.Days[day.Weekday()] {
			for _, sh := range w.Shifts {
				// Wall-clock offsets: Add would be wrong on a DST day.
				f := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, loc).Add(sh.From)
				t := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, loc).Add(sh.To)
				if f.Before(start) {
					f = start
				}
				if t.After(end) {
					t = end
				}
				if f.Before(t) {
					out = append(out, interval{f, t})
				}
			}
		}
		day = time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, loc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].from.Before(out[j].from) })
	return out
}

// change is one staff-zone state change.
type change struct {
	at       time.Time
	occupied bool
}

// presence returns the occupied and the total working seconds of one
// counter over [start, end), given its changes sorted by time.
func presence(changes []change, wins []interval, start, end time.Time) (occupiedS, workS float64) {
	for _, w := range wins {
		workS += w.to.Sub(w.from).Seconds()
	}
	// Occupied intervals.
	var occ []interval
	on := false
	var since time.Time
	for _, c := range changes {
		if c.at.Before(start) {
			c.at = start
		}
		if !c.at.Before(end) {
			break
		}
		switch {
		case c.occupied && !on:
			on, since = true, c.at
		case !c.occupied && on:
			on = false
			occ = append(occ, interval{since, c.at})
		}
	}
	if on {
		occ = append(occ, interval{since, end})
	}
	// Both lists are sorted and disjoint: sweep them together.
	i, j := 0, 0
	for i < len(occ) && j < len(wins) {
		f, t := occ[i].from, occ[i].to
		if wins[j].from.After(f) {
			f = wins[j].from
		}
		if wins[j].to.Before(t) {
			t = wins[j].to
		}
		if f.Before(t) {
			occupiedS += t.Sub(f).Seconds()
		}
		if occ[i].to.Before(wins[j].to) {
			i++
		} else {
			j++
		}
	}
	return occupiedS, workS
}

// Contains reports whether t falls inside working hours in loc.
func (w WorkHours) Contains(t time.Time, loc *time.Location) bool {
	lt := t.In(loc)
	if !w.Days[lt.Weekday()] {
		return false
	}
	y, m, d := lt.Date()
	since := lt.Sub(time.Date(y, m, d, 0, 0, 0, 0, loc))
	for _, s := range w.Shifts {
		if since >= s.From && since < s.To {
			return true
		}
	}
	return false
}
