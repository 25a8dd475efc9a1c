package presence

import (
	"fmt"
	"time"
)

// Span is a stretch of a working day, as offsets from local midnight.
type Span struct {
	From, To time.Duration
}

// Hours are the working hours presence is counted in.
type Hours struct {
	Location *time.Location
	Days     []time.Weekday
	Spans    []Span
}

// DefaultHours: Monday to Friday, 07:30-11:30 and 13:30-17:00, Vietnam
// time (UTC+7 all year; a fixed zone needs no tzdata on the edge box).
func DefaultHours() Hours {
	hm := func(h, m int) time.Duration { return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute }
	return Hours{
		Location: time.FixedZone("ICT", 7*3600),
		Days:     []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday},
		Spans:    []Span{{hm(7, 30), hm(11, 30)}, {hm(13, 30), hm(17, 0)}},
	}
}

// Validate checks the spans lie within a day, in order, without overlap.
func (h Hours) Validate() error {
	if h.Location == nil {
		return fmt.Errorf("presence: working hours without a time zone")
	}
	var prev time.Duration
	for i, s := range h.Spans {
		if s.From < prev || s.To <= s.From || s.To > 24*time.Hour {
			return fmt.Errorf("presence: working-hours span %d (%s-%s): want ordered, non-overlapping spans within a day", i, s.From, s.To)
		}
		prev = s.To
	}
	return nil
}

// Overlap is how much of [a, b) lies inside working hours.
func (h Hours) Overlap(a, b time.Time) time.Duration {
	if !b.After(a) {
		return 0
	}
	a, b = a.In(h.Location), b.In(h.Location)
	var total time.Duration
	day := time.Date(a.Year(), a.Month(), a.Day(), 0, 0, 0, 0, h.Location)
	for ; day.Before(b); day = day.AddDate(0, 0, 1) {
		if !h.workday(day.Weekday()) {
			continue
		}
		for _, s := range h.Spans {
			from, to := day.Add(s.From), day.Add(s.To)
			if a.After(from) {
				from = a
			}
			if b.Before(to) {
				to = b
			}
			if to.After(from) {
				total += to.Sub(from)
			}
		}
	}
	return total
}

// Contains reports whether t is inside working hours.
func (h Hours) Contains(t time.Time) bool {
	return h.Overlap(t, t.Add(time.Nanosecond)) > 0
}

func (h Hours) workday(d time.Weekday) bool {
	for _, w := range h.Days {
		if w == d {
			return true
		}
	}
	return false
}
