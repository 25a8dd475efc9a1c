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

// PresenceDays is Presence cut at each local midnight of w's zone over
// [start, end): each day starts from the last change before it if that
// change is at most SeatSilence old, and is counted at all only if a
// change falls in the day or in the SeatSilence before it. before is the
// last change before start (nil when none within SeatSilence); changes
// are those in [start, end), sorted. The rule is per day so that a sum of
// days kept apart (the rollups) is the same figure as a period read whole.
func PresenceDays(w WorkHours, before *Change, changes []Change, evidence []Interval, start, end time.Time) []DayPresence {
	loc := orVietnam(w.Loc)
	var out []DayPresence
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
		from := ds.Add(-SeatSilence)
		dp := DayPresence{Start: ds}
		var b *Change
		if last != nil && !last.At.Before(from) {
			b = last
		}
		dp.Counted = b != nil || j > i
		if dp.Counted {
			lo := sort.Search(len(ev), func(k int) bool { return !ev[k].From.Before(ds.Add(-longest)) })
			hi := sort.Search(len(ev), func(k int) bool { return !ev[k].From.Before(de) })
			dp.PresentS, dp.CoveredS, dp.WorkS = Presence(b, changes[i:j], ev[lo:hi], w.Windows(ds, de), ds, de)
		}
		out = append(out, dp)
		if j > i {
			c := changes[j-1]
			last = &c
		}
		i, ds = j, de
	}
	return out
}
