package simcenter

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// The story's proportions. The bad month alone pulls a year's satisfaction
// down by about half a point and the late weeks its on-time share by about
// as much: a year that still meets the plan's targets, narrowly, and a
// half-year report that shows where it nearly did not.
const (
	badMonthUnsatisfied = 0.105 // three times the ordinary share: about 89.5 % satisfied
	lateSpikeLate       = 0.09  // six times the ordinary share
	lateSpikeLength     = 21 * 24 * time.Hour
)

// Story is a past stretch of a center's life, for a history that looks
// lived: the seasons every year has (Season), and, placed inside the
// window [From, To) by the seed, the few things that went wrong in it. Its
// Day is a Config.Calendar.
type Story struct {
	// From and To are the local midnights bounding the window.
	From, To time.Time
	// BadMonth is the first day of the calendar month whose citizens were
	// noticeably less satisfied (a new official, a broken process): still
	// mostly satisfied, three times as many neutral and dissatisfied.
	BadMonth time.Time
	// LateFrom and LateTo bound the weeks when many dossiers were resolved
	// late (a backlog at a department, a new software).
	LateFrom, LateTo time.Time
	// Outage is the one day a counter's camera was down.
	Outage Outage

	seed int64
}

// NewStory places a story in the window of days local days that ends at
// the local midnight to, for a center of counters counters. The same seed
// and window give the same story. Where things happen is a share of the
// window, so a short window (a test's 60 days) holds them all as a year
// does: the bad month is the one holding the point 40-50 % of the way
// through, the late weeks start 55-60 % of the way (three weeks, or a
// third of a short window), and the outage is on the working day at or
// after 80-85 %.
func NewStory(seed int64, to time.Time, days, counters int) Story {
	to = midnightOf(to)
	from := to.AddDate(0, 0, -days)
	s := Story{From: from, To: to, seed: seed}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x2545f4914f6cdd1d))
	at := func(lo, hi float64) time.Time {
		f := lo + (hi-lo)*rng.Float64()
		return midnightOf(from.Add(time.Duration(f * float64(to.Sub(from)))))
	}

	mid := at(0.40, 0.50)
	s.BadMonth = time.Date(mid.Year(), mid.Month(), 1, 0, 0, 0, 0, Location())

	s.LateFrom = at(0.55, 0.60)
	s.LateTo = s.LateFrom.Add(min(lateSpikeLength, to.Sub(from)/3))
	s.LateTo = midnightOf(s.LateTo.Add(12 * time.Hour)) // a whole local day
	if s.LateTo.After(to) {
		s.LateTo = to
	}

	day := at(0.80, 0.85)
	for day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
		day = day.AddDate(0, 0, 1)
	}
	if !day.Before(to) { // a window ending on a weekend: the Friday before
		day = day.AddDate(0, 0, -3)
	}
	counters = max(counters, 1)
	down := day.Add(8*time.Hour + time.Duration(rng.IntN(90))*time.Minute + time.Duration(rng.IntN(60))*time.Second)
	up := day.Add(14*time.Hour + 30*time.Minute + time.Duration(rng.IntN(120))*time.Minute + time.Duration(rng.IntN(60))*time.Second)
	s.Outage = Outage{Counter: fmt.Sprintf("c%02d", 1+rng.IntN(counters)), From: down.UTC(), To: up.UTC()}
	return s
}

// Day is the Calendar of the story: the season's load with a little noise
// of its own each day, Mondays busier and Fridays quieter, and the bad
// month, the late weeks and the outage where they are.
func (s Story) Day(midnight time.Time) Day {
	midnight = midnightOf(midnight)
	d := OrdinaryDay()
	d.Load = Season(midnight) * (0.9 + 0.2*s.noise(midnight))
	switch midnight.Weekday() {
	case time.Monday:
		d.Load *= 1.1
	case time.Friday:
		d.Load *= 0.9
	}
	if y, m, _ := midnight.Date(); y == s.BadMonth.Year() && m == s.BadMonth.Month() {
		d.Unsatisfied = badMonthUnsatisfied
	}
	if !midnight.Before(s.LateFrom) && midnight.Before(s.LateTo) {
		d.Late = lateSpikeLate
	}
	if midnight.Equal(midnightOf(s.Outage.From)) {
		d.Outage = s.Outage
	}
	return d
}

// noise is a number in [0, 1) for the day, from the seed: the same day
// always gets the same.
func (s Story) noise(midnight time.Time) float64 {
	y, m, d := midnight.Date()
	x := mix64(uint64(s.seed)*0x9e3779b97f4a7c15 ^ uint64(y*10000+int(m)*100+d))
	return float64(x>>11) / (1 << 53)
}

// Season is how busy a one-stop shop is on the local day starting at
// midnight, 1 being an ordinary day: busiest in the three weeks before Tết
// (papers put in order before the new year), nearly empty in the Tết
// holiday and slow the week after, busier in March and September (the
// new plans, the school year's certified copies), quieter in July and
// August.
func Season(midnight time.Time) float64 {
	midnight = midnightOf(midnight)
	for _, tet := range []time.Time{tetOf(midnight.Year()), tetOf(midnight.Year() + 1)} {
		if tet.IsZero() {
			continue
		}
		switch {
		case !midnight.Before(tet.AddDate(0, 0, -24)) && midnight.Before(tet.AddDate(0, 0, -3)):
			return 1.35
		case !midnight.Before(tet.AddDate(0, 0, -3)) && midnight.Before(tet.AddDate(0, 0, 5)):
			return 0.15 // the holiday: a birth or a death to register
		case !midnight.Before(tet.AddDate(0, 0, 5)) && midnight.Before(tet.AddDate(0, 0, 12)):
			return 0.7
		}
	}
	switch midnight.Month() {
	case time.March, time.September:
		return 1.2
	case time.July, time.August:
		return 0.8
	}
	return 1
}

// tetOf is the first day of the lunar new year (Tết Nguyên Đán) in year y,
// zero outside the years the table holds (no Tết season is simulated
// then). A table rather than a lunar calendar: the simulation needs a few
// years, and these dates are the ones Vietnam's calendar gives.
func tetOf(y int) time.Time {
	days := map[int][2]int{
		2020: {1, 25}, 2021: {2, 12}, 2022: {2, 1}, 2023: {1, 22}, 2024: {2, 10},
		2025: {1, 29}, 2026: {2, 17}, 2027: {2, 6}, 2028: {1, 26}, 2029: {2, 13},
		2030: {2, 3}, 2031: {1, 23}, 2032: {2, 11}, 2033: {1, 31}, 2034: {2, 19}, 2035: {2, 8},
	}
	md, ok := days[y]
	if !ok {
		return time.Time{}
	}
	return time.Date(y, time.Month(md[0]), md[1], 0, 0, 0, 0, Location())
}
