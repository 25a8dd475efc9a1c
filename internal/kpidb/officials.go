package kpidb

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/officials"
	"github.com/pscm/pscm/internal/schema"
)

// OfficialFacts reads what the officials' figures of site over [start, end)
// are computed from (issue 17): the queue steps naming an official, the
// sessions (with the service of their ticket), the ratings, and each
// counter's staff seat as Presence sees it (the camera's states and the
// queue's evidence).
func (s *Source) OfficialFacts(ctx context.Context, site string, start, end time.Time) (officials.Facts, error) {
	rfc := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	where := fmt.Sprintf(`"site" = '%s' AND time >= '%s' AND time < '%s'`, site, rfc(start), rfc(end))
	before := fmt.Sprintf(`"site" = '%s' AND time >= '%s' AND time < '%s'`, site, rfc(start.Add(-seatLookBack)), rfc(start))
	stmts := []string{
		// Each ticket's started step: who served it (when the queue
		// system says) and its service. One row a ticket: the called and
		// finished steps name the same official and would triple the read
		// (BENCHMARKS.md, the officials' year).
		`SELECT "ticket" FROM "queue" WHERE ` + where + ` AND "step" = 'started' GROUP BY "counter", "staff", "service"`,
		`SELECT "id", "start", "end", "wait_s", "service_s", "ticket" FROM "session" WHERE ` + where + ` GROUP BY "counter"`,
		// "id" as well: InfluxQL leaves out a row whose selected fields
		// are all empty (a rating with no session and no reasons).
		`SELECT "id", "session", "reasons" FROM "rating" WHERE ` + where + ` GROUP BY "counter", "level"`,
		`SELECT "occupied", "state" FROM "occupancy" WHERE ` + where + ` AND "zone" = 'staff' GROUP BY "counter"`,
		`SELECT "occupied", "state" FROM "occupancy" WHERE ` + before + ` AND "zone" = 'staff' GROUP BY "counter" ORDER BY time DESC LIMIT 1`,
		`SELECT "start", "end" FROM "session" WHERE ` + where + ` AND "source" != 'camera' GROUP BY "counter"`,
		`SELECT "id" FROM "queue" WHERE ` + where + ` AND "step" = 'called' GROUP BY "counter"`,
	}
	off, err := s.dayOffset(start, end)
	if err != nil {
		return officials.Facts{}, err
	}
	stmts = append(stmts, fmt.Sprintf(`SELECT count("id") FROM "dossier" WHERE %s AND "official" != '' GROUP BY time(1d, %ds), "official", "outcome" fill(none)`,
		where, int64(off/time.Second)))
	res, err := s.influxqlSplit(ctx, stmts)
	if err != nil {
		return officials.Facts{}, err
	}
	f := officials.Facts{From: start, To: end, Seats: map[string]officials.Seat{}}
	service := map[string]string{} // day, counter and ticket → service
	seat := seats{}
	str := func(v any) string {
		if v == nil {
			return ""
		}
		return fmt.Sprint(v)
	}
	tm := func(v any) time.Time {
		t, _ := time.Parse(time.RFC3339Nano, str(v))
		return t
	}
	for n, r := range res.Results {
		for _, se := range r.Series {
			c := se.Tags["counter"]
			for _, row := range se.Values {
				at := time.Unix(0, jsonInt(row[0]))
				switch n {
				case 0:
					service[ticketKey(s.Midnight(at), c, str(row[1]))] = se.Tags["service"]
					if staff := se.Tags["staff"]; staff != "" {
						f.Steps = append(f.Steps, officials.Step{At: at, Counter: c, Staff: staff, Ticket: str(row[1]), Service: se.Tags["service"]})
					}
				case 1:
					f.Sessions = append(f.Sessions, officials.Session{ID: str(row[1]), Counter: c, Start: tm(row[2]), End: tm(row[3]),
						WaitS: jsonFloat(row[4]), ServiceS: jsonFloat(row[5]), Ticket: str(row[6])})
				case 2:
					var reasons []string
					if rs := str(row[3]); rs != "" {
						reasons = strings.Split(rs, ",")
					}
					f.Ratings = append(f.Ratings, officials.Rating{At: at, Counter: c, Level: schema.Level(se.Tags["level"]), Session: str(row[2]), Reasons: reasons})
				case 3:
					r := seat.get(c)
					r.changes = append(r.changes, change(row))
				case 4:
					ch := change(row)
					seat.get(c).before = &ch
				case 5:
					from, to := tm(row[1]), tm(row[2])
					if !from.IsZero() && !to.IsZero() {
						r := seat.get(c)
						r.evidence = append(r.evidence, kpi.Interval{From: from, To: to})
					}
				case 6:
					r := seat.get(c)
					r.evidence = append(r.evidence, kpi.Interval{From: at, To: at.Add(callPresence)})
				case 7:
					f.Dossiers = append(f.Dossiers, officials.Dossiers{Day: s.Midnight(at), Official: se.Tags["official"],
						Outcome: schema.Outcome(se.Tags["outcome"]), N: int(jsonInt(row[1]))})
				}
			}
		}
	}
	for i := range f.Sessions {
		if ss := &f.Sessions[i]; ss.Ticket != "" {
			ss.Service = service[ticketKey(s.Midnight(ss.Start), ss.Counter, ss.Ticket)]
		}
	}
	// Cut by day under the week's silence rule (kpi.SeatDays), as the
	// staff presence of the site's figures and the rollups are.
	for c, r := range seat {
		sort.SliceStable(r.changes, func(i, j int) bool { return r.changes[i].At.Before(r.changes[j].At) })
		var st officials.Seat
		for _, d := range kpi.SeatDays(s.loc, r.before, r.changes, r.evidence, start, end) {
			st.Occupied = append(st.Occupied, d.Present...)
			st.Covered = append(st.Covered, d.Covered...)
		}
		f.Seats[c] = st
	}
	return f, nil
}

// ticketKey names a ticket: its number at its counter on its day (the
// numbers start again every morning).
func ticketKey(day time.Time, counter, ticket string) string {
	return strconv.FormatInt(day.Unix(), 10) + "\x00" + counter + "\x00" + ticket
}
