package kpi

import (
	"sort"
	"time"
)

// SeatSilence is how long a staff seat's last reported state is trusted
// without another word from its camera. The agent says "unknown" when it
// stops or loses a camera, so a state normally holds until the next change;
// a week of silence (a camera taken away, an agent gone without a word)
// turns the seat unknown rather than carrying a vacant seat on for months,
// which would read as an official's absence.
const SeatSilence = 7 * 24 * time.Hour

// DayPresence is Presence over one local day (or the part of it inside
// the period asked).
type DayPresence struct {
	Start time.Time
	// Counted is false when no camera spoke of the seat in the day or in
	// the SeatSilence before it: the day's working time is then neither
	// covered nor counted as working time of a watched seat.
	Counted                   bool
	PresentS, CoveredS, WorkS float64
}

// DaySeat is Seat over one local day (or the part of it inside the
// period asked), under the same rule as DayPresence.
type DaySeat struct {
	Start, End time.Time
	// Counted is false when no camera spoke of the seat in the day or in
	// the SeatSilence before it; Present and Covered are then the queue's
	// evidence alone (an official calling tickets is there).
	Counted          bool
	Present, Covered []Interval
}

// SeatDays is Seat cut at each local midnight of loc over [start, end):
// each day starts from the last change before it if that change is at
// most SeatSilence old, and is counted at all only if a change falls in
// the day or in the SeatSilence before it. before is the last change
// before start (nil when none within SeatSilence); changes are those in
// [start, end), sorted. The rule is per day so that a sum of days kept
// apart (the rollups) is the same figure as a period read whole.
func SeatDays(loc *time.Location, before *Change, changes []Change, evidence []Interval, start, end time.Time) []DaySeat {
	loc = orVietnam(loc)
	var out []DaySeat
	last := before // the latest change before the day being cut
	i := 0
	// Evidence sorted by start, so each day looks at its own few
	// intervals: those starting at most the longest one's length before it.
	ev := append([]Interval(nil), evidence...)
	sort.Slice(ev, func(a, b int) bool { return ev[a].From.Before(ev[b].From) })
	var longest time.Duration
	for _, iv := range ev {
		longest = max(longest, iv.To.Sub(iv.From))
	}
	for ds := start; ds.Before(end); {
		y, m, d := ds.In(loc).Date()
		de := time.Date(y, m, d+1, 0, 0, 0, 0, loc)
		if de.After(end) {
			de = end
		}
		j := i + sort.Search(len(changes)-i, func(k int) bool { return !changes[i+k].At.Before(de) })
		day := DaySeat{Start: ds, End: de}
		var b *Change
		if last != nil && !last.At.Before(ds.Add(-SeatSilence)) {
			b = last
		}
		day.Counted = b != nil || j > i
		lo := sort.Search(len(ev), func(k int) bool { return !ev[k].From.Before(ds.Add(-longest)) })
		hi := sort.Search(len(ev), func(k int) bool { return !ev[k].From.Before(de) })
		// Not counted, the seat's state is unknown all day: Seat then
		// gives the queue's evidence alone, present and known.
		day.Present, day.Covered = Seat(b, changes[i:j], ev[lo:hi], ds, de)
		out = append(out, day)
		if j > i {
			c := changes[j-1]
			last = &c
		}
		i, ds = j, de
	}
	return out
}

// PresenceDays is SeatDays as seconds within w's working windows, cut at
// w's local midnights: what Presence gives, day by day.
func PresenceDays(w WorkHours, before *Change, changes []Change, evidence []Interval, start, end time.Time) []DayPresence {
	days := SeatDays(w.Loc, before, changes, evidence, start, end)
	out := make([]DayPresence, len(days))
	for k, d := range days {
		out[k] = DayPresence{Start: d.Start, Counted: d.Counted}
		if d.Counted {
			wins := w.Windows(d.Start, d.End)
			for _, iv := range wins {
				out[k].WorkS += iv.To.Sub(iv.From).Seconds()
			}
			out[k].PresentS, out[k].CoveredS = Overlap(d.Present, wins), Overlap(d.Covered, wins)
		}
	}
	return out
}
