// Package rollup is a site's day kept in aggregates: the counts, sums,
// histograms by second and presence seconds that the figures of any run of
// whole days are made of. A year or a province is then summed from a few
// rows a day instead of read from every event, and the sum is the same
// figure the raw events give: counts and histograms add exactly,
// percentiles are read from the merged histograms at the same nearest rank
// (to the second, as internal/kpidb gives them), and presence is the same
// per-day rule (kpi.PresenceDays).
//
// It does no I/O: internal/kpidb builds days from InfluxDB's raw rows,
// writes them and reads them back through Encode and Parse.
package rollup

import (
	"maps"
	"math"
	"slices"
	"time"

	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/schema"
)

// Part is one counter's day.
type Part struct {
	Ratings               map[schema.Level]int64
	NoShows               int64
	Sessions              int64
	WaitSumS, ServiceSumS float64
	Wait, Service         Hist
	// Watched is true when a camera spoke of the staff seat in the day or
	// the week before it (kpi.DayPresence.Counted); the seconds are
	// meaningful only then.
	Watched                    bool
	OccupiedS, CoveredS, WorkS float64
}

// NewPart returns an empty Part with its map made.
func NewPart() *Part { return &Part{Ratings: map[schema.Level]int64{}} }

// Day is one site's local day.
type Day struct {
	Site string
	// Start is the day's local midnight.
	Start    time.Time
	Counters map[string]*Part
	// Dossiers have no counter.
	Dossiers map[schema.Outcome]int64
	// Unplaced counts the no-shows of tickets never called to a counter:
	// the site's, no counter's.
	Unplaced int64
	// Events is how many raw rows the day had when it was built, counted
	// as kpidb's check counts them: a different count later means events
	// arrived for the day (late, or replayed from a spool) and the day is
	// built again.
	Events int64
	// Built is when the day was computed; Build names the settings it was
	// computed with (kpidb's digest of the working hours, the zone and its
	// rules' version).
	Built time.Time
	Build string
}

// NewDay returns an empty day.
func NewDay(site string, start time.Time) *Day {
	return &Day{Site: site, Start: start, Counters: map[string]*Part{}, Dossiers: map[schema.Outcome]int64{}}
}

// Part returns counter's part of the day, made on first use.
func (d *Day) Part(counter string) *Part {
	p, ok := d.Counters[counter]
	if !ok {
		p = NewPart()
		d.Counters[counter] = p
	}
	return p
}

// acc gathers the parts of many days for one counter or the site.
type acc struct {
	st            kpi.Stats
	wait, service []Hist
}

func (a *acc) add(p *Part) {
	for l, n := range p.Ratings {
		a.st.Ratings[l] += n
	}
	a.st.NoShows += p.NoShows
	a.st.Sessions += p.Sessions
	a.st.WaitSumS += p.WaitSumS
	a.st.ServiceSumS += p.ServiceSumS
	if p.Watched {
		a.st.StaffOccupiedS += p.OccupiedS
		a.st.StaffCoveredS += p.CoveredS
		a.st.StaffWorkS += p.WorkS
	}
	a.wait = append(a.wait, p.Wait)
	a.service = append(a.service, p.Service)
}

// percentiles fills the nearest-rank p50 and p90 from the histograms.
func (a *acc) percentiles() {
	w, s := Merge(a.wait...), Merge(a.service...)
	a.st.WaitP50S, a.st.WaitP90S = w.Quantile(0.5), w.Quantile(0.9)
	a.st.ServiceP50S, a.st.ServiceP90S = s.Quantile(0.5), s.Quantile(0.9)
}

// Sum returns the Stats of days together, overall and per counter, as
// kpidb.Source.Load gives them for the same period: per-counter
// percentiles only when perCounterPct (LoadTotals leaves them at zero).
// Days are summed in the order given; give them in time order.
func Sum(days []*Day, perCounterPct bool, sat kpi.Satisfaction) (kpi.Stats, map[string]kpi.Stats) {
	all := &acc{st: kpi.NewStats()}
	per := map[string]*acc{}
	for _, d := range days {
		for o, n := range d.Dossiers {
			all.st.Dossiers[o] += n
		}
		all.st.NoShows += d.Unplaced
		for _, c := range slices.Sorted(maps.Keys(d.Counters)) {
			a, ok := per[c]
			if !ok {
				a = &acc{st: kpi.NewStats()}
				per[c] = a
			}
			a.add(d.Counters[c])
		}
	}
	out := make(map[string]kpi.Stats, len(per))
	for _, c := range slices.Sorted(maps.Keys(per)) {
		a := per[c]
		all.st.Add(a.st)
		all.wait = append(all.wait, a.wait...)
		all.service = append(all.service, a.service...)
		if perCounterPct {
			a.percentiles()
		}
		a.st.Finish(sat)
		out[c] = a.st
	}
	all.percentiles()
	all.st.Finish(sat)
	return all.st, out
}

// NearestRank is the 1-based rank of the nearest-rank q-quantile of n
// values: ceil(q*n), at least 1 (kpidb's rule).
func NearestRank(n int64, q float64) int64 {
	return max(1, int64(math.Ceil(q*float64(n))))
}
