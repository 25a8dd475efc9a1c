package kpidb

import (
	"math"
	"sort"
	"time"

	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/timezone"
)

// calendarYear is 1 January of y to 1 January after, in Vietnam: the
// tests seed calendar years, and loading one is loading a year whatever
// the dashboard's year tab is (the reporting year, kpi.PeriodYear).
func calendarYear(y int) (time.Time, time.Time) {
	vn := timezone.Vietnam()
	return time.Date(y, time.January, 1, 0, 0, 0, 0, vn), time.Date(y+1, time.January, 1, 0, 0, 0, 0, vn)
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// nearestRank is the nearest-rank q-quantile of values: the value at
// 1-based rank ceil(q*n) once sorted. Tests compute the expected
// percentiles with it, independently of InfluxDB.
func nearestRank(values []float64, q float64) float64 {
	if len(values) == 0 {
		return 0
	}
	s := append([]float64(nil), values...)
	sort.Float64s(s)
	r := int(math.Ceil(q * float64(len(s))))
	if r < 1 {
		r = 1
	}
	// Loads give percentiles to the whole second (wholeSeconds).
	return math.Floor(s[r-1])
}
func rating(id, site, counter string, level schema.Level, ts time.Time) *schema.Rating {
	return &schema.Rating{Header: schema.Header{ID: id, TS: ts, Site: site}, Counter: counter, Kiosk: "k" + counter, Level: level}
}

// pct is the share the tests expect, computed as kpi does.
func pct(n, total int64) float64 {
	if total == 0 {
		return 0
	}
	return float64(n) * 100 / float64(total)
}
