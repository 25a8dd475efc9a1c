package main

import (
	"testing"
	"time"

	"github.com/pscm/pscm/internal/simcenter"
)

// communes is the country's commune-level centers after the 2025
// reorganisation (issue 19).
const communes = 3321

// BenchmarkNationalRate derives the national event rate from the
// simulator's: the province backfill's 150 centers (4 to 20 counters, loads
// 0.6 to 1.4) over the 30 days ending at the busiest stretch of their
// story, every event counted by the minute across the province, then
// scaled to 3,321 centers. Printed: the mean rate in working hours, the
// busiest minute's, and both with the agents' and cameras' health reports
// (one per agent and per camera every 10 s, all day; measured on the last
// day, since they do not follow the load). The collector's
// capacity to compare it with is BenchmarkDrain's (BENCHMARKS.md).
//
//	go test -run '^$' -bench NationalRate -benchtime 1x ./sim/
func BenchmarkNationalRate(b *testing.B) {
	const sites, days = 150, 30
	end := time.Date(2026, 12, 1, 0, 0, 0, 0, simcenter.Location())
	for _, health := range []bool{false, true} {
		// Health reports come every 10 s all day whatever the load: a
		// day of them says their rate.
		window := days
		if health {
			window = 1
		}
		perMinute := map[int64]int{}
		working := map[int64]bool{}
		for _, c := range provinceOf(options{site: "tinh", seed: 1}, sites) {
			st := simcenter.NewStory(c.seed, end, window, c.counters)
			g := c.generator(st, !health)
			for m := g.Next(); m.At.Before(end); m = g.Next() {
				k := m.At.Unix() / 60
				perMinute[k]++
				working[k] = simcenter.InWorkingHours(m.At)
			}
		}
		var peak, sum, minutes int
		for k, n := range perMinute {
			peak = max(peak, n)
			if working[k] {
				sum += n
				minutes++
			}
		}
		scale := float64(communes) / sites
		mean := float64(sum) / float64(max(minutes, 1)) / 60 * scale
		busiest := float64(peak) / 60 * scale
		name := "events"
		if health {
			name = "with-health"
		}
		b.ReportMetric(mean, name+"-mean-working/s")
		b.ReportMetric(busiest, name+"-peak-minute/s")
		b.Logf("%s: %d centers x %d days, %d working minutes; scaled to %d centers: %.0f events/s on average in working hours, %.0f/s in the busiest minute",
			name, sites, window, minutes, communes, mean, busiest)
	}
}
