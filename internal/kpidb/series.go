package kpidb

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/schema"
)

// Series counts ratings, satisfied ratings and sessions of site per step
// (time.Hour or 24*time.Hour) over [start, end), which must fall on step
// boundaries in the sites' zone (Bounds and local midnights do). Every
// bucket is returned, empty ones as zero, in order; Start is in the sites'
// zone. It always uses InfluxQL (GROUP BY time), whatever Lang is.
//
// Buckets are aligned with an offset equal to the zone's UTC offset at
// start rather than tz(), so the server needs no tzdata; for a zone without
// daylight saving, such as Asia/Ho_Chi_Minh, days start exactly at local
// midnight. Rows are placed by their time into the buckets computed in Go.
func (s *Source) Series(ctx context.Context, site string, start, end time.Time, step time.Duration) ([]kpi.Point, error) {
	if !schema.ValidID(site) {
		return nil, fmt.Errorf("%w: %q", ErrInvalidSite, site)
	}
	if step != time.Hour && step != 24*time.Hour {
		return nil, fmt.Errorf("kpi: series step %v: want 1h or 24h", step)
	}
	if !end.After(start) {
		return nil, nil
	}
	start, end = start.In(s.loc), end.In(s.loc)
	var pts []kpi.Point
	for t := start; t.Before(end); t = nextStep(t, step) {
		pts = append(pts, kpi.Point{Start: t})
		if len(pts) > 10000 {
			return nil, fmt.Errorf("kpi: series over %v..%v by %v: too many buckets", start, end, step)
		}
	}
	_, off := start.Zone()
	// InfluxQL buckets start at epoch + offset + k*step; local midnight is
	// UTC midnight - off, so the offset is -off modulo step.
	offset := (-time.Duration(off)*time.Second)%step + step
	offset %= step
	group := fmt.Sprintf("time(%dm, %dm)", step/time.Minute, offset/time.Minute)
	where := fmt.Sprintf(`"site" = '%s' AND time >= '%s' AND time < '%s'`, site,
		start.UTC().Format(time.RFC3339Nano), end.UTC().Format(time.RFC3339Nano))
	stmts := []string{
		`SELECT count("id") FROM "rating" WHERE ` + where + ` GROUP BY ` + group + `, "level" fill(none)`,
		`SELECT count("wait_s") FROM "session" WHERE ` + where + ` GROUP BY ` + group + ` fill(none)`,
	}
	res, err := s.client.Query(ctx, stmts)
	if err != nil {
		return nil, fmt.Errorf("kpi: series %s: %w", site, err)
	}
	bucket := func(ns int64) *kpi.Point {
		t := time.Unix(0, ns)
		i := sort.Search(len(pts), func(i int) bool { return pts[i].Start.After(t) }) - 1
		if i < 0 {
			return nil
		}
		return &pts[i]
	}
	for n, r := range res.Results {
		for _, se := range r.Series {
			sat := s.satisfied[schema.Level(se.Tags["level"])]
			for _, row := range se.Values {
				v := jsonInt(row[1])
				p := bucket(jsonInt(row[0]))
				if p == nil || v == 0 {
					continue
				}
				if n == 0 {
					p.Ratings += v
					if sat {
						p.Satisfied += v
					}
				} else {
					p.Sessions += v
				}
			}
		}
	}
	return pts, nil
}

// nextStep is t plus one step: an hour, or the next local midnight.
func nextStep(t time.Time, step time.Duration) time.Time {
	if step == 24*time.Hour {
		y, m, d := t.Date()
		return time.Date(y, m, d+1, 0, 0, 0, 0, t.Location())
	}
	return t.Add(step)
}
