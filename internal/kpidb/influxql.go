package kpidb

import (
	"context"
	"encoding/json"
	"fmt"
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

func (s *Source) loadInfluxQL(ctx context.Context, site string, start, end time.Time, perCounterPct bool) (kpi.Stats, counters, map[string][]kpi.Change, error) {
	where := fmt.Sprintf(`"site" = '%s' AND time >= '%s' AND time < '%s'`, site,
		start.UTC().Format(time.RFC3339Nano), end.UTC().Format(time.RFC3339Nano))
	stmts := []string{
		`SELECT count("id") FROM "rating" WHERE ` + where + ` GROUP BY "counter", "level"`,
		`SELECT count("id") FROM "dossier" WHERE ` + where + ` GROUP BY "outcome"`,
		`SELECT count("id") FROM "queue" WHERE ` + where + ` AND "step" = 'no_show' GROUP BY "counter"`,
		`SELECT count("wait_s"), sum("wait_s"), sum("service_s") FROM "session" WHERE ` + where + ` GROUP BY "counter"`,
		`SELECT "occupied" FROM "occupancy" WHERE ` + where + ` AND "zone" = 'staff' GROUP BY "counter"`,
	}
	res, err := s.influxqlSplit(ctx, stmts)
	if err != nil {
		return kpi.Stats{}, nil, nil, err
	}
	overall := kpi.NewStats()
	per := counters{}
	changes := map[string][]kpi.Change{}
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
				case 4:
					on, _ := row[1].(bool)
					changes[c] = append(changes[c], kpi.Change{At: time.Unix(0, jsonInt(row[0])), Occupied: on})
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
	return overall, per, changes, nil
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
