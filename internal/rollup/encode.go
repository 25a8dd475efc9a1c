package rollup

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pscm/pscm/internal/schema"
)

// The two measurements of the rollup database, one point per site and
// day and one per counter and day, at the day's local midnight.
const (
	SiteDay    = "site_day"
	CounterDay = "counter_day"
)

// AppendLines appends d's points in line protocol: site_day (tag site;
// fields build, built, events, unplaced, d_<outcome>) and one counter_day per
// counter (tags counter, site; fields r_<level>, no_shows, sessions,
// wait_sum, service_sum, wait_h, service_h, watched, occupied_s,
// covered_s, work_s). A day written again replaces its points (same
// series, same time); a counter gone from the day keeps its old point,
// so a builder writes every counter the day ever had (kpidb does).
func (d *Day) AppendLines(dst []byte) []byte {
	ts := strconv.FormatInt(d.Start.UnixNano(), 10)
	dst = fmt.Appendf(dst, "%s,site=%s build=%q,built=%di,events=%di,unplaced=%di", SiteDay, d.Site, d.Build, d.Built.UnixNano(), d.Events, d.Unplaced)
	for _, o := range slices.Sorted(maps.Keys(d.Dossiers)) {
		dst = fmt.Appendf(dst, ",d_%s=%di", o, d.Dossiers[o])
	}
	dst = append(append(append(dst, ' '), ts...), '\n')
	for _, c := range slices.Sorted(maps.Keys(d.Counters)) {
		p := d.Counters[c]
		dst = fmt.Appendf(dst, "%s,counter=%s,site=%s no_shows=%di,sessions=%di,wait_sum=%s,service_sum=%s,wait_h=%q,service_h=%q,watched=%t,occupied_s=%s,covered_s=%s,work_s=%s",
			CounterDay, c, d.Site, p.NoShows, p.Sessions, float(p.WaitSumS), float(p.ServiceSumS), p.Wait.String(), p.Service.String(),
			p.Watched, float(p.OccupiedS), float(p.CoveredS), float(p.WorkS))
		for _, l := range slices.Sorted(maps.Keys(p.Ratings)) {
			dst = fmt.Appendf(dst, ",r_%s=%di", l, p.Ratings[l])
		}
		dst = append(append(append(dst, ' '), ts...), '\n')
	}
	return dst
}

// float formats v so that it reads back as the same float64.
func float(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// Row is one point as InfluxQL returns it: column names and values
// (json.Number for numbers, string, bool, nil).
type Row struct {
	Columns []string
	Values  []any
}

// ReadSiteDay fills d (its Start already set) from a site_day row.
func ReadSiteDay(d *Day, r Row) error {
	for i, c := range r.Columns {
		v := r.Values[i]
		if v == nil {
			continue
		}
		var err error
		switch {
		case c == "build":
			s, ok := v.(string)
			if !ok {
				err = fmt.Errorf("not a string: %v", v)
			}
			d.Build = s
		case c == "built":
			var ns int64
			ns, err = Integer(v)
			d.Built = time.Unix(0, ns)
		case c == "events":
			d.Events, err = Integer(v)
		case c == "unplaced":
			d.Unplaced, err = Integer(v)
		case strings.HasPrefix(c, "d_"):
			o := schema.Outcome(strings.TrimPrefix(c, "d_"))
			d.Dossiers[o], err = Integer(v)
		}
		if err != nil {
			return fmt.Errorf("rollup: %s %s: %w", SiteDay, c, err)
		}
	}
	return nil
}

// ReadCounterDay reads a counter_day row.
func ReadCounterDay(r Row) (*Part, error) {
	p := NewPart()
	for i, c := range r.Columns {
		v := r.Values[i]
		if v == nil {
			continue
		}
		var err error
		switch {
		case c == "no_shows":
			p.NoShows, err = Integer(v)
		case c == "sessions":
			p.Sessions, err = Integer(v)
		case c == "wait_sum":
			p.WaitSumS, err = Number(v)
		case c == "service_sum":
			p.ServiceSumS, err = Number(v)
		case c == "occupied_s":
			p.OccupiedS, err = Number(v)
		case c == "covered_s":
			p.CoveredS, err = Number(v)
		case c == "work_s":
			p.WorkS, err = Number(v)
		case c == "watched":
			b, ok := v.(bool)
			if !ok {
				err = fmt.Errorf("not a boolean: %v", v)
			}
			p.Watched = b
		case c == "wait_h", c == "service_h":
			s, ok := v.(string)
			if !ok {
				err = fmt.Errorf("not a string: %v", v)
				break
			}
			var h Hist
			if h, err = ParseHist(s); err == nil {
				if c == "wait_h" {
					p.Wait = h
				} else {
					p.Service = h
				}
			}
		case strings.HasPrefix(c, "r_"):
			p.Ratings[schema.Level(strings.TrimPrefix(c, "r_"))], err = Integer(v)
		}
		if err != nil {
			return nil, fmt.Errorf("rollup: %s %s: %w", CounterDay, c, err)
		}
	}
	if p.Wait.Count() != p.Sessions || p.Service.Count() != p.Sessions {
		return nil, fmt.Errorf("rollup: %s: %d sessions but histograms of %d and %d", CounterDay, p.Sessions, p.Wait.Count(), p.Service.Count())
	}
	return p, nil
}

// Integer reads an InfluxQL number cell that holds an integer.
func Integer(v any) (int64, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("not a number: %v", v)
	}
	return n.Int64()
}

// Number reads an InfluxQL number cell.
func Number(v any) (float64, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("not a number: %v", v)
	}
	return n.Float64()
}

// String reads an InfluxQL string cell.
func String(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("not a string: %v", v)
	}
	return s, nil
}
