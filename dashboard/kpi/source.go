package kpi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"

	"github.com/pscm/pscm/internal/schema"
)

// Lang is a query language Source can load with.
type Lang string

// Query languages. Both give the same Stats (the integration test runs
// both); InfluxQL is the default because it is several times faster on 1.8.
const (
	LangInfluxQL Lang = "influxql"
	LangFlux     Lang = "flux"
)

// Source loads Stats from InfluxDB. With LangFlux it uses influxdb-client-go's
// QueryAPI (against 1.8, /api/v2/query with bucket "db/rp"): one Flux script
// whose pipelines share their reads. With LangInfluxQL, the default, two
// or three requests to /query: counts and sums, then nearest-rank
// percentiles (rank.go). Every aggregate is computed by the server, so only
// a few hundred rows come back whatever the period, except staff-zone
// occupancy changes, which come back raw.
type Source struct {
	url, token string
	http       *http.Client
	client     influxdb2.Client
	query      api.QueryAPI
	bucket     string
	satisfied  map[schema.Level]bool
	loc        *time.Location

	// Hours are the working hours used for staff presence; DefaultWorkHours
	// unless changed before the first Load.
	Hours WorkHours
	// Lang is the query language, LangInfluxQL unless changed before the
	// first Load.
	Lang Lang
	// Now is the clock that stops presence at the present; time.Now unless
	// changed before the first Load.
	Now func() time.Time

	// selectMin is the number of sessions from which InfluxQL percentiles
	// use TOP/BOTTOM instead of PERCENTILE() (rank.go); tests move it to
	// run either path.
	selectMin int64
	// parts is how many concurrent requests one step of a load may use;
	// maxParts unless a test or benchmark changes it.
	parts int
}

// queryTimeout bounds one HTTP query; a year of one center takes seconds.
const queryTimeoutS = 60

// NewSource returns a Source reading bucket. satisfied are the levels that
// count as satisfied (DefaultSatisfied when nil); loc is the sites' zone
// (DefaultZone when nil), used for working hours.
func NewSource(url, token, org, bucket string, satisfied []schema.Level, loc *time.Location) *Source {
	if loc == nil {
		loc = defaultLocation()
	}
	c := influxdb2.NewClientWithOptions(url, token, influxdb2.DefaultOptions().SetHTTPRequestTimeout(queryTimeoutS))
	return &Source{
		url:       url,
		token:     token,
		http:      &http.Client{Timeout: queryTimeoutS * time.Second},
		Lang:      LangInfluxQL,
		client:    c,
		query:     c.QueryAPI(org),
		bucket:    bucket,
		satisfied: levelSet(satisfied),
		loc:       loc,
		Hours:     DefaultWorkHours(),
		Now:       time.Now,
		selectMin: defaultSelectMin,
		parts:     maxParts,
	}
}

// Close releases the client's idle connections.
func (s *Source) Close() {
	s.client.Close()
	s.http.CloseIdleConnections()
}

// Satisfied reports the levels counted as satisfied, for NewLive.
func (s *Source) Satisfied() []schema.Level {
	out := make([]schema.Level, 0, len(s.satisfied))
	for l := range s.satisfied {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// ErrInvalidSite is returned for a site that is not a valid pscm ID; such a
// site cannot exist in the database and is never put into a query.
var ErrInvalidSite = errors.New("kpi: invalid site ID")

// Load computes the Stats of one site over [start, end): overall, and per
// counter for everything that has a counter (dossiers have none, so
// per-counter Stats never count dossiers).
func (s *Source) Load(ctx context.Context, site string, start, end time.Time) (Stats, map[string]Stats, error) {
	return s.load(ctx, site, start, end, true)
}

// LoadTotals is Load for a caller that needs per-counter counts but not
// per-counter wait and service percentiles: their Stats leave the p50 and
// p90 at zero. Each percentile reads every session of its counter again, so
// skipping them more than halves a year's load (BenchmarkLoadYear); the
// board shows per-counter figures for today only.
func (s *Source) LoadTotals(ctx context.Context, site string, start, end time.Time) (Stats, map[string]Stats, error) {
	return s.load(ctx, site, start, end, false)
}

func (s *Source) load(ctx context.Context, site string, start, end time.Time, perCounterPct bool) (Stats, map[string]Stats, error) {
	if !schema.ValidID(site) {
		return Stats{}, nil, fmt.Errorf("%w: %q", ErrInvalidSite, site)
	}
	var (
		overall Stats
		per     map[string]*Stats
		changes map[string][]change
		err     error
	)
	if s.Lang == LangFlux {
		overall, per, changes, err = s.loadFlux(ctx, site, start, end)
	} else {
		overall, per, changes, err = s.loadInfluxQL(ctx, site, start, end, perCounterPct)
	}
	if err != nil {
		return Stats{}, nil, fmt.Errorf("kpi: load %s (%s): %w", site, s.Lang, err)
	}
	counter := func(c string) *Stats {
		st, ok := per[c]
		if !ok {
			ns := newStats()
			st = &ns
			per[c] = st
		}
		return st
	}
	if len(changes) > 0 {
		stop := end
		if now := s.Now(); now.Before(stop) {
			stop = now
		}
		wins := s.Hours.windows(start, stop, s.loc)
		for c, ch := range changes {
			sort.SliceStable(ch, func(i, j int) bool { return ch[i].at.Before(ch[j].at) })
			o, w := presence(ch, wins, start, stop)
			st := counter(c)
			st.StaffOccupiedS, st.StaffWorkS = o, w
			overall.StaffOccupiedS += o
			overall.StaffWorkS += w
		}
	}

	overall.finish(s.satisfied)
	out := make(map[string]Stats, len(per))
	for c, st := range per {
		st.finish(s.satisfied)
		out[c] = *st
	}
	return overall, out, nil
}

// loadFlux runs loadScript and returns the raw counts, sums, percentiles
// and staff-zone changes.
func (s *Source) loadFlux(ctx context.Context, site string, start, end time.Time) (Stats, map[string]*Stats, map[string][]change, error) {
	res, err := s.query.Query(ctx, loadScript(s.bucket, site, start, end))
	if err != nil {
		return Stats{}, nil, nil, err
	}
	defer res.Close()

	overall := newStats()
	per := map[string]*Stats{}
	counter := func(c string) *Stats {
		st, ok := per[c]
		if !ok {
			ns := newStats()
			st = &ns
			per[c] = st
		}
		return st
	}
	changes := map[string][]change{}
	for res.Next() {
		r := res.Record()
		c, _ := r.ValueByKey("counter").(string)
		switch r.Result() {
		case "rating":
			n := toInt(r.Value())
			l := schema.Level(str(r.ValueByKey("level")))
			overall.Ratings[l] += n
			counter(c).Ratings[l] += n
		case "dossier":
			overall.Dossiers[schema.Outcome(str(r.ValueByKey("outcome")))] += toInt(r.Value())
		case "noshow":
			n := toInt(r.Value())
			overall.NoShows += n
			if c != "" {
				counter(c).NoShows += n
			}
		case "s_count":
			if r.Field() == "wait_s" {
				n := toInt(r.Value())
				overall.Sessions += n
				counter(c).Sessions += n
			}
		case "s_sum":
			v := toFloat(r.Value())
			st := counter(c)
			if r.Field() == "wait_s" {
				overall.WaitSumS += v
				st.WaitSumS += v
			} else {
				overall.ServiceSumS += v
				st.ServiceSumS += v
			}
		case "s_p50":
			setQuantile(counter(c), r.Field(), toFloat(r.Value()), false)
		case "s_p90":
			setQuantile(counter(c), r.Field(), toFloat(r.Value()), true)
		case "a_p50":
			setQuantile(&overall, r.Field(), toFloat(r.Value()), false)
		case "a_p90":
			setQuantile(&overall, r.Field(), toFloat(r.Value()), true)
		case "presence":
			occ, _ := r.Value().(bool)
			changes[c] = append(changes[c], change{r.Time(), occ})
		}
	}
	if err := res.Err(); err != nil {
		return Stats{}, nil, nil, err
	}

	return overall, per, changes, nil
}

func setQuantile(st *Stats, field string, v float64, p90 bool) {
	switch {
	case field == "wait_s" && p90:
		st.WaitP90S = v
	case field == "wait_s":
		st.WaitP50S = v
	case p90:
		st.ServiceP90S = v
	default:
		st.ServiceP50S = v
	}
}

// loadScript is the Flux of one Load. Each pipeline starts with
// from |> range |> filter on measurement, field and tags, which 1.8 pushes
// down to storage; the session read feeds all six session aggregates.
// Quantiles use method "exact_selector", which is the nearest rank.
//
// InfluxDB 1.8's storage reads Flux's range stop inclusively (a point at
// exactly stop is returned, which the test pins down), so the stop sent is
// end - 1 ns: timestamps are whole nanoseconds, so that is [start, end).
func loadScript(bucket, site string, start, end time.Time) string {
	src := fmt.Sprintf("from(bucket: %s) |> range(start: %s, stop: %s)",
		fluxString(bucket), start.UTC().Format(time.RFC3339Nano), end.Add(-time.Nanosecond).UTC().Format(time.RFC3339Nano))
	site = fluxString(site)
	var b strings.Builder
	fmt.Fprintf(&b, `%s
  |> filter(fn: (r) => r._measurement == "rating" and r.site == %s and r._field == "id")
  |> group(columns: ["counter", "level"]) |> count() |> yield(name: "rating")
`, src, site)
	fmt.Fprintf(&b, `%s
  |> filter(fn: (r) => r._measurement == "dossier" and r.site == %s and r._field == "id")
  |> group(columns: ["outcome"]) |> count() |> yield(name: "dossier")
`, src, site)
	fmt.Fprintf(&b, `%s
  |> filter(fn: (r) => r._measurement == "queue" and r.site == %s and r.step == "no_show" and r._field == "id")
  |> group(columns: ["counter"]) |> count() |> yield(name: "noshow")
`, src, site)
	fmt.Fprintf(&b, `sessions = %s
  |> filter(fn: (r) => r._measurement == "session" and r.site == %s and (r._field == "wait_s" or r._field == "service_s"))
  |> group(columns: ["counter", "_field"])
sessions |> count() |> yield(name: "s_count")
sessions |> sum() |> yield(name: "s_sum")
sessions |> quantile(q: 0.5, method: "exact_selector") |> yield(name: "s_p50")
sessions |> quantile(q: 0.9, method: "exact_selector") |> yield(name: "s_p90")
all = sessions |> group(columns: ["_field"])
all |> quantile(q: 0.5, method: "exact_selector") |> yield(name: "a_p50")
all |> quantile(q: 0.9, method: "exact_selector") |> yield(name: "a_p90")
`, src, site)
	fmt.Fprintf(&b, `%s
  |> filter(fn: (r) => r._measurement == "occupancy" and r.site == %s and r.zone == "staff" and r._field == "occupied")
  |> group(columns: ["counter"]) |> keep(columns: ["_time", "_value", "counter"]) |> yield(name: "presence")
`, src, site)
	return b.String()
}

// Sites lists the site tag values present in the bucket, sorted; the range
// (30 years back, covering the contract's earliest ts of 2020) is a
// duration because 1.8's v1.tagValues takes no time. 1.8 answers it from the
// index (its PushDownReadTagValuesRule).
func (s *Source) Sites(ctx context.Context) ([]string, error) {
	q := fmt.Sprintf(`import "influxdata/influxdb/v1"
v1.tagValues(bucket: %s, tag: "site", start: -30y)`, fluxString(s.bucket))
	res, err := s.query.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("kpi: sites: %w", err)
	}
	defer res.Close()
	var sites []string
	for res.Next() {
		if v, ok := res.Record().Value().(string); ok {
			sites = append(sites, v)
		}
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("kpi: sites: %w", err)
	}
	sort.Strings(sites)
	return sites, nil
}

// fluxString quotes s as a Flux string literal.
func fluxString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`, "${", `\${`)
	return `"` + r.Replace(s) + `"`
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func toInt(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case uint64:
		return int64(n)
	case float64:
		return int64(n)
	}
	return 0
}

func toFloat(v any) float64 {
	switch n := v.(type) {
	case float64:
		return n
	case int64:
		return float64(n)
	case uint64:
		return float64(n)
	}
	return 0
}
