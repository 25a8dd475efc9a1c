package kpidb

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pscm/pscm/internal/influxql"
	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/schema"
)

// InfluxQL is the only query language: on 1.8 a year of one center loads
// in well under a second with it against several seconds with Flux, whose
// 1.8 engine streams every point out of storage to count it (see
// BenchmarkLoadYear). Statements go through internal/influxql.

// maxParts bounds the concurrent requests of one step of a load. InfluxDB
// runs the statements of one request one after the other, each on one core,
// so a year's heavy statements split in two finish sooner while the server
// has a core free: at the end of the first page, only the year is still
// loading (BenchmarkLoadYear). Two keep a province's reloads from flooding
// the server with requests.
const maxParts = 2

// influxqlSplit is influxql with stmts split into up to s.parts requests
// of consecutive statements, run at once; the results keep stmts' order.
func (s *Source) influxqlSplit(ctx context.Context, stmts []string) (*influxql.Response, error) {
	parts := min(s.parts, len(stmts))
	if parts <= 1 {
		return s.client.Query(ctx, stmts)
	}
	size := (len(stmts) + parts - 1) / parts
	out := make([]*influxql.Response, parts)
	g, gctx := errgroup.WithContext(ctx)
	for p := range parts {
		lo, hi := p*size, min((p+1)*size, len(stmts))
		g.Go(func() error {
			r, err := s.client.Query(gctx, stmts[lo:hi])
			out[p] = r
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	res := &influxql.Response{}
	for _, r := range out {
		res.Results = append(res.Results, r.Results...)
	}
	return res, nil
}

// counters holds the Stats of each counter as they are read, each made on
// first use.
type counters map[string]*kpi.Stats

func (cs counters) get(c string) *kpi.Stats {
	st, ok := cs[c]
	if !ok {
		ns := kpi.NewStats()
		st = &ns
		cs[c] = st
	}
	return st
}

// seatRecord is what is known of one counter's staff seat over a period,
// for kpi.Presence: the camera's state before it, its changes in it, and
// the queue system's evidence of an official at the counter.
type seatRecord struct {
	before   *kpi.Change
	changes  []kpi.Change
	evidence []kpi.Interval
	camera   bool // a camera reported on the seat in or just before the period
}

// seatLookBack is how far before a period its staff seat's last state is
// looked for. The agent says "unknown" when it stops or loses a camera, so
// an older state would still hold; a week bounds the query, and a seat
// silent for longer starts the period unknown, which can only make "no
// data" larger, never absence.
const seatLookBack = kpi.SeatSilence

// callPresence is the time after a ticket is called at a counter taken as
// presence: whoever pressed "call" was there.
const callPresence = time.Minute

type seats map[string]*seatRecord

func (ss seats) get(c string) *seatRecord {
	r, ok := ss[c]
	if !ok {
		r = &seatRecord{}
		ss[c] = r
	}
	return r
}

// seatStmts are the statements of what is known of the staff seats over
// where (before: the week before it), read by seats.read in this order.
func seatStmts(where, before string) []string {
	return []string{
		`SELECT "occupied", "state" FROM "occupancy" WHERE ` + where + ` AND "zone" = 'staff' GROUP BY "counter"`,
		`SELECT "occupied", "state" FROM "occupancy" WHERE ` + before + ` AND "zone" = 'staff' GROUP BY "counter" ORDER BY time DESC LIMIT 1`,
		// Sessions the queue system saw (alone or fused with a camera's)
		// and tickets called: an official at the counter.
		`SELECT "start", "end" FROM "session" WHERE ` + where + ` AND "source" != 'camera' GROUP BY "counter"`,
		`SELECT "id" FROM "queue" WHERE ` + where + ` AND "step" = 'called' GROUP BY "counter"`,
	}
}

// read takes one row of seatStmts' stmt-th statement for counter c.
func (ss seats) read(stmt int, c string, row []any) {
	r := ss.get(c)
	switch stmt {
	case 0:
		r.changes, r.camera = append(r.changes, change(row)), true
	case 1:
		ch := change(row)
		r.before, r.camera = &ch, true
	case 2:
		from, errF := time.Parse(time.RFC3339Nano, fmt.Sprint(row[1]))
		to, errT := time.Parse(time.RFC3339Nano, fmt.Sprint(row[2]))
		if errF == nil && errT == nil {
			r.evidence = append(r.evidence, kpi.Interval{From: from, To: to})
		}
	case 3:
		at := time.Unix(0, jsonInt(row[0]))
		r.evidence = append(r.evidence, kpi.Interval{From: at, To: at.Add(callPresence)})
	}
}

// change reads an occupancy row (time, occupied, state).
func change(row []any) kpi.Change {
	on, _ := row[1].(bool)
	state, _ := row[2].(string)
	return kpi.Change{At: time.Unix(0, jsonInt(row[0])), Occupied: on, Unknown: state == string(schema.ZoneUnknown)}
}

func (s *Source) loadInfluxQL(ctx context.Context, site string, start, end time.Time, perCounterPct bool) (kpi.Stats, counters, seats, error) {
	rfc := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	where := fmt.Sprintf(`"site" = '%s' AND time >= '%s' AND time < '%s'`, site, rfc(start), rfc(end))
	before := fmt.Sprintf(`"site" = '%s' AND time >= '%s' AND time < '%s'`, site, rfc(start.Add(-seatLookBack)), rfc(start))
	stmts := []string{
		`SELECT count("id") FROM "rating" WHERE ` + where + ` GROUP BY "counter", "level"`,
		`SELECT count("id") FROM "dossier" WHERE ` + where + ` GROUP BY "outcome"`,
		`SELECT count("id") FROM "queue" WHERE ` + where + ` AND "step" = 'no_show' GROUP BY "counter"`,
		`SELECT count("wait_s"), sum("wait_s"), sum("service_s") FROM "session" WHERE ` + where + ` GROUP BY "counter"`,
	}
	stmts = append(stmts, seatStmts(where, before)...)
	res, err := s.influxqlSplit(ctx, stmts)
	if err != nil {
		return kpi.Stats{}, nil, nil, err
	}
	overall := kpi.NewStats()
	per := counters{}
	seat := seats{}
	for n, r := range res.Results {
		for _, se := range r.Series {
			c := se.Tags["counter"]
			for _, row := range se.Values {
				switch n {
				case 0:
					v, l := jsonInt(row[1]), schema.Level(se.Tags["level"])
					overall.Ratings[l] += v
					per.get(c).Ratings[l] += v
				case 1:
					overall.Dossiers[schema.Outcome(se.Tags["outcome"])] += jsonInt(row[1])
				case 2:
					v := jsonInt(row[1])
					overall.NoShows += v
					if c != "" {
						per.get(c).NoShows += v
					}
				case 3:
					st := per.get(c)
					st.Sessions = jsonInt(row[1])
					st.WaitSumS, st.ServiceSumS = jsonFloat(row[2]), jsonFloat(row[3])
					overall.Sessions += st.Sessions
					overall.WaitSumS += st.WaitSumS
					overall.ServiceSumS += st.ServiceSumS
				default:
					seat.read(n-4, c, row)
				}
			}
		}
	}

	// Nearest-rank percentiles, overall and, when asked, per counter.
	targets := []pctTarget{{&overall, overall.Sessions, ""}}
	for _, c := range sortedKeys(per) {
		if !perCounterPct {
			break
		}
		targets = append(targets, pctTarget{per[c], per[c].Sessions, fmt.Sprintf(` AND "counter" = '%s'`, strings.ReplaceAll(c, `'`, `\'`))})
	}
	if err := s.percentiles(ctx, where, targets); err != nil {
		return kpi.Stats{}, nil, nil, err
	}
	for _, t := range targets {
		wholeSeconds(t.st)
	}
	return overall, per, seat, nil
}

// wholeSeconds drops the fraction of a second from st's percentiles. A
// nearest-rank value is one of the sessions' own, to the millisecond; cut
// to the second, the same figure comes out of the rollups' histograms by
// second (internal/rollup), since cutting keeps the order of the values.
// No page shows a wait to the millisecond.
func wholeSeconds(st *kpi.Stats) {
	for _, p := range []*float64{&st.WaitP50S, &st.WaitP90S, &st.ServiceP50S, &st.ServiceP90S} {
		*p = math.Floor(*p)
	}
}

func sortedKeys(m counters) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func jsonInt(v any) int64 {
	if n, ok := v.(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			return i
		}
		f, _ := n.Float64()
		return int64(f)
	}
	return 0
}

func jsonFloat(v any) float64 {
	if n, ok := v.(json.Number); ok {
		f, _ := n.Float64()
		return f
	}
	return 0
}
