// Package kpi computes the numbers a center manager's dashboard shows against
// the plan's targets: citizen satisfaction, dossiers resolved on time or
// early, wait and service times, no-shows and staff presence, per site and
// per counter over a period in the site's time zone; the year's remaining
// budget of dissatisfied ratings and late dossiers; and live updates applied
// between reloads without double counting.
package kpi

import (
	"math"
	"time"

	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/timezone"
)

// Targets are the plan's targets, from configuration.
type Targets struct {
	// SatisfactionPct is the satisfied share of ratings to stay above (95).
	SatisfactionPct float64
	// OnTimePct is the early-or-on-time share of dossiers to stay above (98).
	OnTimePct float64
	// WaitP90S and ServiceP90S are optional targets for the 90th percentile
	// of wait and service time, in seconds; 0 means no target.
	WaitP90S, ServiceP90S float64
}

// DefaultTargets are the 2026-2030 plan's targets.
func DefaultTargets() Targets { return Targets{SatisfactionPct: 95, OnTimePct: 98} }

// DefaultSatisfied are the rating levels that count as satisfied unless
// configuration says otherwise.
func DefaultSatisfied() []schema.Level {
	return []schema.Level{schema.LevelVerySatisfied, schema.LevelSatisfied}
}

// Period names a dashboard period.
type Period string

// Periods the dashboard shows. Half-years matter because the plan's results
// are reported before 10 June and 10 December.
const (
	PeriodToday Period = "today"
	PeriodMonth Period = "month"
	PeriodHalf  Period = "half"
	PeriodYear  Period = "year"
)

// DefaultZone is the time zone of Vietnamese centers.
const DefaultZone = timezone.Default

// Location returns the named zone, or for DefaultZone a fixed UTC+7 when
// the system has no tzdata (see internal/timezone).
func Location(name string) (*time.Location, error) { return timezone.Location(name) }

// defaultLocation is Location(DefaultZone), which cannot fail.
func defaultLocation() *time.Location {
	loc, _ := Location(DefaultZone)
	return loc
}

// Bounds returns [start, end) of the period p containing now, in loc (the
// default zone when nil): the day, the calendar month, the half-year
// (1 January to 1 July, or 1 July to 1 January) or the calendar year.
// An unknown period is treated as today.
func Bounds(p Period, now time.Time, loc *time.Location) (time.Time, time.Time) {
	if loc == nil {
		loc = defaultLocation()
	}
	now = now.In(loc)
	y, m, d := now.Date()
	switch p {
	case PeriodMonth:
		return time.Date(y, m, 1, 0, 0, 0, 0, loc), time.Date(y, m+1, 1, 0, 0, 0, 0, loc)
	case PeriodHalf:
		if m < time.July {
			return time.Date(y, time.January, 1, 0, 0, 0, 0, loc), time.Date(y, time.July, 1, 0, 0, 0, 0, loc)
		}
		return time.Date(y, time.July, 1, 0, 0, 0, 0, loc), time.Date(y+1, time.January, 1, 0, 0, 0, 0, loc)
	case PeriodYear:
		return time.Date(y, time.January, 1, 0, 0, 0, 0, loc), time.Date(y+1, time.January, 1, 0, 0, 0, 0, loc)
	default:
		return time.Date(y, m, d, 0, 0, 0, 0, loc), time.Date(y, m, d+1, 0, 0, 0, 0, loc)
	}
}

// Stats are the numbers of one site, or one counter, over one period.
// Percentages are 0 when there is nothing to divide, with the matching Has
// flag false, so no NaN ever reaches a page.
type Stats struct {
	Ratings      map[schema.Level]int64
	RatingsTotal int64
	// Satisfied counts ratings at a level configured as satisfied.
	Satisfied    int64
	HasRatings   bool
	SatisfiedPct float64

	Dossiers      map[schema.Outcome]int64
	DossiersTotal int64
	// OnTime counts dossiers resolved early or on time.
	OnTime      int64
	HasDossiers bool
	OnTimePct   float64

	// Sessions is the number of service sessions. The sums let Live keep
	// means exact; percentiles are nearest-rank (the smallest value with at
	// least p % of the values at or below it).
	Sessions                               int64
	WaitSumS, ServiceSumS                  float64
	WaitMeanS, WaitP50S, WaitP90S          float64
	ServiceMeanS, ServiceP50S, ServiceP90S float64

	// NoShows counts queue tickets that reached step no_show.
	NoShows int64

	// StaffPresencePct is the share of working time the staff seat was
	// occupied; see WorkHours for the approximation. StaffOccupiedS and
	// StaffWorkS are its numerator and denominator in seconds, summed over
	// counters for a site.
	StaffPresencePct           float64
	HasPresence                bool
	StaffOccupiedS, StaffWorkS float64
}

// newStats returns empty Stats with their maps made.
func newStats() Stats {
	return Stats{Ratings: map[schema.Level]int64{}, Dossiers: map[schema.Outcome]int64{}}
}

// clone returns a deep copy, so callers never share maps with a Live.
func (s Stats) clone() Stats {
	c := s
	c.Ratings = make(map[schema.Level]int64, len(s.Ratings))
	for k, v := range s.Ratings {
		c.Ratings[k] = v
	}
	c.Dossiers = make(map[schema.Outcome]int64, len(s.Dossiers))
	for k, v := range s.Dossiers {
		c.Dossiers[k] = v
	}
	return c
}

// finish derives totals, percentages and means from the counts and sums.
func (s *Stats) finish(satisfied map[schema.Level]bool) {
	s.RatingsTotal, s.Satisfied = 0, 0
	for l, n := range s.Ratings {
		s.RatingsTotal += n
		if satisfied[l] {
			s.Satisfied += n
		}
	}
	s.HasRatings = s.RatingsTotal > 0
	s.SatisfiedPct = pct(s.Satisfied, s.RatingsTotal)

	s.DossiersTotal, s.OnTime = 0, 0
	for o, n := range s.Dossiers {
		s.DossiersTotal += n
		if o == schema.OutcomeEarly || o == schema.OutcomeOnTime {
			s.OnTime += n
		}
	}
	s.HasDossiers = s.DossiersTotal > 0
	s.OnTimePct = pct(s.OnTime, s.DossiersTotal)

	s.WaitMeanS, s.ServiceMeanS = 0, 0
	if s.Sessions > 0 {
		s.WaitMeanS = s.WaitSumS / float64(s.Sessions)
		s.ServiceMeanS = s.ServiceSumS / float64(s.Sessions)
	}
	s.HasPresence = s.StaffWorkS > 0
	s.StaffPresencePct = 0
	if s.HasPresence {
		s.StaffPresencePct = s.StaffOccupiedS * 100 / s.StaffWorkS
	}
}

func pct(n, total int64) float64 {
	if total == 0 {
		return 0
	}
	return float64(n) * 100 / float64(total)
}

func levelSet(levels []schema.Level) map[schema.Level]bool {
	if levels == nil {
		levels = DefaultSatisfied()
	}
	m := make(map[schema.Level]bool, len(levels))
	for _, l := range levels {
		m[l] = true
	}
	return m
}

// Budget is how many more bad results the year can take before its share
// falls below target.
type Budget struct {
	// DissatisfiedLeft is how many more ratings not counted as satisfied
	// the year can take and still have SatisfiedPct >= the target.
	DissatisfiedLeft int64
	// LateLeft is how many more late dossiers the year can take and still
	// have OnTimePct >= the target.
	LateLeft int64
}

// BudgetFor returns the year's remaining budget: for ratings the largest x
// with satisfied/(total+x) >= target/100, that is
// floor(satisfied*100/target - total), never negative; the same for
// dossiers. A target of 0 or less allows anything: math.MaxInt64.
func BudgetFor(year Stats, t Targets) Budget {
	return Budget{
		DissatisfiedLeft: budget(year.Satisfied, year.RatingsTotal, t.SatisfactionPct),
		LateLeft:         budget(year.OnTime, year.DossiersTotal, t.OnTimePct),
	}
}

// budget computes floor(good*100/target - total) in floating point and then
// corrects it against the exact condition good*100 >= target*(total+x), so
// a quotient like 100*95/95 that lands a hair below an integer is not
// off by one.
func budget(good, total int64, target float64) int64 {
	if target <= 0 {
		return math.MaxInt64
	}
	ok := func(x int64) bool { return float64(good)*100 >= target*float64(total+x) }
	x := int64(math.Floor(float64(good)*100/target - float64(total)))
	for x >= 0 && !ok(x) {
		x--
	}
	for ok(x + 1) {
		x++
	}
	if x < 0 {
		return 0
	}
	return x
}
