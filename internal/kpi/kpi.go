// Package kpi is the plan's domain, the core every program shares: the
// sites and their counters, the targets and the one pass rule, the
// calendar (dashboard periods and the half-year reporting periods), the
// year's remaining budgets, working hours, the staff-presence rule, the
// Stats of a site or counter over a period, and the live counter that
// applies events between reloads without double counting.
//
// It does no I/O: internal/kpidb reads Stats from InfluxDB, and the
// dashboard, the reports and pscm-ctl only present what this package
// decides.
package kpi

import (
	"github.com/pscm/pscm/internal/schema"
)

// DefaultSatisfied are the rating levels that count as satisfied unless
// configuration says otherwise.
func DefaultSatisfied() []schema.Level {
	return []schema.Level{schema.LevelVerySatisfied, schema.LevelSatisfied}
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

	// StaffPresencePct is the share of the working time with camera
	// coverage that the official was seen at the counter (see Presence):
	// StaffOccupiedS over StaffCoveredS. StaffWorkS is all working time;
	// StaffNoDataPct the share of it without coverage ("không có dữ
	// liệu"), which is never counted as absence. Seconds are summed over
	// the counters with a camera on the staff seat.
	StaffPresencePct                          float64
	HasPresence                               bool
	StaffOccupiedS, StaffCoveredS, StaffWorkS float64
	StaffNoDataPct                            float64
}

// NewStats returns empty Stats with their maps made.
func NewStats() Stats {
	return Stats{Ratings: map[schema.Level]int64{}, Dossiers: map[schema.Outcome]int64{}}
}

// Clone returns a deep copy, so callers never share maps with a Live.
func (s Stats) Clone() Stats {
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

// Finish derives totals, percentages and means from the counts and sums,
// counting the levels in satisfied as satisfied.
func (s *Stats) Finish(satisfied Satisfaction) {
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
	s.HasPresence = s.StaffCoveredS > 0
	s.StaffPresencePct, s.StaffNoDataPct = 0, 0
	if s.HasPresence {
		s.StaffPresencePct = s.StaffOccupiedS * 100 / s.StaffCoveredS
	}
	if s.StaffWorkS > 0 {
		s.StaffNoDataPct = (s.StaffWorkS - s.StaffCoveredS) * 100 / s.StaffWorkS
	}
}

func pct(n, total int64) float64 {
	if total == 0 {
		return 0
	}
	return float64(n) * 100 / float64(total)
}

// Satisfaction is the set of rating levels counted as satisfied.
type Satisfaction map[schema.Level]bool

// SatisfactionOf returns the set of levels (DefaultSatisfied when nil).
func SatisfactionOf(levels []schema.Level) Satisfaction {
	if levels == nil {
		levels = DefaultSatisfied()
	}
	m := make(Satisfaction, len(levels))
	for _, l := range levels {
		m[l] = true
	}
	return m
}

// Add adds b's counts, sums and presence seconds to s; call Finish after.
// Percentiles cannot be added: they are zeroed, to be read again for the
// combined set if needed.
func (s *Stats) Add(b Stats) {
	if s.Ratings == nil {
		s.Ratings = map[schema.Level]int64{}
	}
	if s.Dossiers == nil {
		s.Dossiers = map[schema.Outcome]int64{}
	}
	for l, n := range b.Ratings {
		s.Ratings[l] += n
	}
	for o, n := range b.Dossiers {
		s.Dossiers[o] += n
	}
	s.Sessions += b.Sessions
	s.WaitSumS += b.WaitSumS
	s.ServiceSumS += b.ServiceSumS
	s.NoShows += b.NoShows
	s.StaffOccupiedS += b.StaffOccupiedS
	s.StaffCoveredS += b.StaffCoveredS
	s.StaffWorkS += b.StaffWorkS
	s.WaitP50S, s.WaitP90S, s.ServiceP50S, s.ServiceP90S = 0, 0, 0, 0
}
