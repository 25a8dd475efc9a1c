package officials

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/pscm/pscm/internal/rollup"
	"github.com/pscm/pscm/internal/schema"
)

// The officials' rollups, beside the sites' (internal/rollup) in the
// dashboard's rollup database: one point per site and day, and one per
// official and day.
const (
	SiteDay     = "officials_day"
	OfficialDay = "official_day"
)

// AppendLines appends d's points for site in line protocol: officials_day
// (tag site; fields roster, the schedule's digest it was computed under,
// unattributed_sessions, unattributed_ratings, center) and one
// official_day per official (tags official, site; fields sessions,
// by_login, by_roster, wait_h, service_h, services, r_<level>,
// dissatisfied, expected_s, covered_s, present_s, unknown_s,
// dossiers_total, dossiers_on_time).
func (d *Day) AppendLines(dst []byte, site, digest string) []byte {
	ts := strconv.FormatInt(d.Start.UnixNano(), 10)
	dst = fmt.Appendf(dst, "%s,site=%s roster=%q,unattributed_sessions=%di,unattributed_ratings=%di,center=%q %s\n",
		SiteDay, site, digest, d.UnattributedSessions, d.UnattributedRatings, services(d.Center), ts)
	for _, id := range slices.Sorted(maps.Keys(d.Officials)) {
		t := d.Officials[id]
		dis, _ := json.Marshal(t.Dissatisfied)
		dst = fmt.Appendf(dst, "%s,official=%s,site=%s sessions=%di,by_login=%di,by_roster=%di,wait_h=%q,service_h=%q,services=%q,dissatisfied=%s,expected_s=%s,covered_s=%s,present_s=%s,unknown_s=%s,dossiers_total=%di,dossiers_on_time=%di",
			OfficialDay, id, site, t.Sessions, t.ByLogin, t.ByRoster, t.Wait.String(), t.Service.String(), services(t.Services),
			quote(string(dis)), float(t.ExpectedS), float(t.CoveredS), float(t.PresentS), float(t.UnknownS), t.DossiersTotal, t.DossiersOnTime)
		for _, l := range slices.Sorted(maps.Keys(t.Ratings)) {
			dst = fmt.Appendf(dst, ",r_%s=%di", l, t.Ratings[l])
		}
		dst = append(append(append(dst, ' '), ts...), '\n')
	}
	return dst
}

func float(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// quote makes s a line-protocol string field: backslash and double quote
// escaped, nothing else.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// services encodes histograms by service: "service=hist;service=hist",
// services in order (an ID holds neither = nor ;).
func services(m map[string]rollup.Hist) string {
	var b strings.Builder
	for i, svc := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(svc)
		b.WriteByte('=')
		b.WriteString(m[svc].String())
	}
	return b.String()
}

// parseServices decodes services' form.
func parseServices(s string) (map[string]rollup.Hist, error) {
	out := map[string]rollup.Hist{}
	if s == "" {
		return out, nil
	}
	for _, part := range strings.Split(s, ";") {
		svc, h, ok := strings.Cut(part, "=")
		if !ok || !schema.ValidID(svc) {
			return nil, fmt.Errorf("officials: malformed services %q", part)
		}
		if _, dup := out[svc]; dup {
			return nil, fmt.Errorf("officials: service %q twice", svc)
		}
		hist, err := rollup.ParseHist(h)
		if err != nil {
			return nil, err
		}
		out[svc] = hist
	}
	return out, nil
}

// ReadSiteDay reads an officials_day row into d (its Start set) and
// returns the roster digest it was computed under.
func ReadSiteDay(d *Day, r rollup.Row) (string, error) {
	var digest string
	for i, c := range r.Columns {
		v := r.Values[i]
		if v == nil {
			continue
		}
		var err error
		switch c {
		case "roster":
			digest, err = rollup.String(v)
		case "unattributed_sessions":
			d.UnattributedSessions, err = integer(v)
		case "unattributed_ratings":
			d.UnattributedRatings, err = integer(v)
		case "center":
			var s string
			if s, err = rollup.String(v); err == nil {
				d.Center, err = parseServices(s)
			}
		}
		if err != nil {
			return "", fmt.Errorf("officials: %s %s: %w", SiteDay, c, err)
		}
	}
	return digest, nil
}

// ReadOfficialDay reads an official_day row.
func ReadOfficialDay(r rollup.Row) (*Tally, error) {
	t := NewTally()
	for i, c := range r.Columns {
		v := r.Values[i]
		if v == nil {
			continue
		}
		var err error
		var s string
		switch {
		case c == "sessions":
			t.Sessions, err = integer(v)
		case c == "by_login":
			t.ByLogin, err = integer(v)
		case c == "by_roster":
			t.ByRoster, err = integer(v)
		case c == "dossiers_total":
			t.DossiersTotal, err = integer(v)
		case c == "dossiers_on_time":
			t.DossiersOnTime, err = integer(v)
		case c == "expected_s":
			t.ExpectedS, err = rollup.Number(v)
		case c == "covered_s":
			t.CoveredS, err = rollup.Number(v)
		case c == "present_s":
			t.PresentS, err = rollup.Number(v)
		case c == "unknown_s":
			t.UnknownS, err = rollup.Number(v)
		case c == "wait_h":
			if s, err = rollup.String(v); err == nil {
				t.Wait, err = rollup.ParseHist(s)
			}
		case c == "service_h":
			if s, err = rollup.String(v); err == nil {
				t.Service, err = rollup.ParseHist(s)
			}
		case c == "services":
			if s, err = rollup.String(v); err == nil {
				t.Services, err = parseServices(s)
			}
		case c == "dissatisfied":
			if s, err = rollup.String(v); err == nil {
				err = json.Unmarshal([]byte(s), &t.Dissatisfied)
			}
		case strings.HasPrefix(c, "r_"):
			t.Ratings[schema.Level(strings.TrimPrefix(c, "r_"))], err = integer(v)
		}
		if err != nil {
			return nil, fmt.Errorf("officials: %s %s: %w", OfficialDay, c, err)
		}
	}
	if int64(t.Sessions) != t.Wait.Count() || int64(t.Sessions) != t.Service.Count() {
		return nil, fmt.Errorf("officials: %s: %d sessions but histograms of %d and %d", OfficialDay, t.Sessions, t.Wait.Count(), t.Service.Count())
	}
	return t, nil
}

// integer is rollup.Integer as an int (counts of one site's day).
func integer(v any) (int, error) {
	i, err := rollup.Integer(v)
	return int(i), err
}
