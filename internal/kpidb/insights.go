package kpidb

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/schema"
)

// What a manager asks after the cards (issue 14): how does this period
// compare with the same days last year, which counters do best and worst,
// which procedures miss their deadlines, and which dossiers were late.
// Insights reads all of it for one site and one range of days. It reuses
// Load for everything that has a counter (the same counts, sums and
// nearest-rank percentiles the board and the report show) and reads the
// dossiers' procedure and dates, which are fields InfluxQL cannot group by,
// as raw rows, bounded.
//
// Figures about a counter judge the officials who staff it, so a counter
// with too few ratings (or sessions) for its share (or median) to mean
// much is listed with its numbers but given no rank; pass or fail and the
// decimals a share is shown with are decided by kpi.Targets where the
// figures are presented, never here.

// Defaults of InsightsOptions.
const (
	// DefaultMinRatings is how many ratings a counter needs in the range
	// to be ranked by satisfaction: with fewer, one citizen's press moves
	// its share by more than 3 points.
	DefaultMinRatings = 30
	// DefaultMinSessions is the same for the ranking by service time.
	DefaultMinSessions = 30
	// DefaultLateLimit is how many late dossiers are listed; the total is
	// always counted, so a page can say "500 of N".
	DefaultLateLimit = 500
	// MaxLateLimit bounds what a caller may ask to list.
	MaxLateLimit = 5000
)

// MaxProcedureDossiers bounds the dossiers read for the per-procedure
// table: three years of a large center. Past it the table is not computed
// (Insights.ProceduresTooMany) rather than computed from part of the range.
const MaxProcedureDossiers = 1_000_000

// procedureSlice is the span of one request of the per-procedure read:
// rows are decoded a slice at a time, so memory stays that of a quarter
// whatever the range.
const procedureSlice = 92 * 24 * time.Hour

// InsightsOptions configure Insights; zero values take the defaults.
type InsightsOptions struct {
	// Counters are the site's configured counters: each is listed even
	// when it has no data in the range ("no data", not rank last).
	Counters []string
	// MinRatings and MinSessions are the minimum ratings and sessions for a
	// counter to be ranked by satisfaction and by service time.
	MinRatings, MinSessions int64
	// LateLimit is how many late dossiers are listed, newest first (at
	// most MaxLateLimit).
	LateLimit int
}

// Insights are one site's figures over [From, To), for the questions
// above.
type Insights struct {
	Site     string
	From, To time.Time

	// Counters are every counter with data in the range or configured:
	// those ranked by satisfaction first, in rank order, then the others
	// by ID. ByService lists the same counters' IDs ranked by median
	// service time (shortest first), then the unranked by ID.
	Counters    []CounterInsight
	ByService   []string
	MinRatings  int64
	MinSessions int64

	// Procedures are the dossiers resolved in the range by procedure,
	// worst on-time share first; empty with ProceduresTooMany when the
	// range holds more than MaxProcedureDossiers dossiers.
	Procedures        []ProcedureInsight
	ProceduresTooMany bool

	// Late lists the late dossiers resolved in the range, newest first, at
	// most LateLimit of LateTotal.
	Late      []LateDossier
	LateTotal int64
	LateLimit int

	Trend Trend
}

// CounterInsight is one counter's figures and ranks.
type CounterInsight struct {
	Counter string
	// Ratings, Satisfied and SatisfiedPct (exact) as kpi.Stats counts
	// them; HasRatings false means no rating at all.
	Ratings, Satisfied int64
	SatisfiedPct       float64
	HasRatings         bool
	// Sessions served, and the nearest-rank medians and means of service
	// and wait time in seconds; all 0 and meaningless when Sessions is 0.
	Sessions                  int64
	ServiceP50S, ServiceMeanS float64
	WaitP50S, WaitMeanS       float64
	// SatisfactionRank is 1 for the highest share, ServiceRank 1 for the
	// shortest median; 0 is "not ranked": too few ratings or sessions.
	// Counters equal on the figure and on its count share a rank.
	SatisfactionRank, ServiceRank int
}

// ProcedureInsight is the dossiers of one procedure.
type ProcedureInsight struct {
	Procedure           string
	Dossiers            int64
	Early, OnTime, Late int64
	OnTimeOrEarly       int64
	OnTimePct           float64 // OnTimeOrEarly over Dossiers, exact
}

// LateDossier is one dossier the one-stop-shop software called late.
type LateDossier struct {
	Dossier, Procedure      string
	Received, Due, Resolved time.Time // in the sites' zone; zero if unreadable
	// DaysLate is Resolved - Due in days, to one decimal, rounded up when
	// positive so a dossier an hour late never reads 0.0; HasDaysLate is
	// false when a time was unreadable. The outcome is the software's and
	// is never recomputed, so a value of 0 or less is shown as it is.
	DaysLate    float64
	HasDaysLate bool
}

// Trend is the range against the same days a year before: each end moved
// back one year (AddDate(-1, 0, 0) in the sites' zone, so 29 February
// becomes 1 March).
type Trend struct {
	This, LastYear           kpi.Stats
	LastYearFrom, LastYearTo time.Time
	// SatisfiedDeltaPP and OnTimeDeltaPP are this period's share minus
	// last year's, in percentage points, exact; the Has flags are false
	// when either period has nothing to divide ("no data", never 0).
	SatisfiedDeltaPP, OnTimeDeltaPP   float64
	HasSatisfiedDelta, HasOnTimeDelta bool
}

// ErrEmptyRange is returned for a range that does not end after it starts.
var ErrEmptyRange = errors.New("kpidb: the range is empty")

// Insights reads site's insights over [start, end) (local midnights, as
// the dashboard's ranges are) and last year's same days.
func (s *Source) Insights(ctx context.Context, site string, start, end time.Time, opt InsightsOptions) (Insights, error) {
	if !schema.ValidID(site) {
		return Insights{}, fmt.Errorf("%w: %q", ErrInvalidSite, site)
	}
	if !end.After(start) {
		return Insights{}, ErrEmptyRange
	}
	opt = opt.withDefaults()
	start, end = start.In(s.loc), end.In(s.loc)
	ins := Insights{Site: site, From: start, To: end, MinRatings: opt.MinRatings, MinSessions: opt.MinSessions, LateLimit: opt.LateLimit}
	ins.Trend.LastYearFrom, ins.Trend.LastYearTo = start.AddDate(-1, 0, 0), end.AddDate(-1, 0, 0)

	var per map[string]kpi.Stats
	g, gctx := errgroup.WithContext(ctx)
	// Each Load already runs two requests at once; two steps at a time
	// keep one insight to about four, so a few managers cannot flood the
	// server the live figures are read from.
	g.SetLimit(2)
	g.Go(func() error {
		var err error
		ins.Trend.This, per, err = s.Load(gctx, site, start, end)
		return err
	})
	g.Go(func() error {
		var err error
		ins.Trend.LastYear, _, err = s.LoadTotals(gctx, site, ins.Trend.LastYearFrom, ins.Trend.LastYearTo)
		return err
	})
	g.Go(func() error {
		var err error
		ins.Procedures, ins.ProceduresTooMany, err = s.procedures(gctx, site, start, end, MaxProcedureDossiers)
		return err
	})
	g.Go(func() error {
		var err error
		ins.Late, ins.LateTotal, err = s.lateDossiers(gctx, site, start, end, opt.LateLimit)
		return err
	})
	if err := g.Wait(); err != nil {
		return Insights{}, fmt.Errorf("kpidb: insights %s: %w", site, err)
	}

	t := &ins.Trend
	if t.This.HasRatings && t.LastYear.HasRatings {
		t.SatisfiedDeltaPP, t.HasSatisfiedDelta = t.This.SatisfiedPct-t.LastYear.SatisfiedPct, true
	}
	if t.This.HasDossiers && t.LastYear.HasDossiers {
		t.OnTimeDeltaPP, t.HasOnTimeDelta = t.This.OnTimePct-t.LastYear.OnTimePct, true
	}
	ins.Counters, ins.ByService = RankCounters(counterInsights(per, opt.Counters), opt.MinRatings, opt.MinSessions)
	return ins, nil
}

func (o InsightsOptions) withDefaults() InsightsOptions {
	if o.MinRatings <= 0 {
		o.MinRatings = DefaultMinRatings
	}
	if o.MinSessions <= 0 {
		o.MinSessions = DefaultMinSessions
	}
	if o.LateLimit <= 0 {
		o.LateLimit = DefaultLateLimit
	}
	o.LateLimit = min(o.LateLimit, MaxLateLimit)
	return o
}

// counterInsights turns Load's per-counter Stats into rows, adding the
// configured counters that had no data.
func counterInsights(per map[string]kpi.Stats, configured []string) []CounterInsight {
	out := make([]CounterInsight, 0, len(per)+len(configured))
	seen := make(map[string]bool, len(per))
	for c, st := range per {
		seen[c] = true
		out = append(out, CounterInsight{
			Counter: c, Ratings: st.RatingsTotal, Satisfied: st.Satisfied, SatisfiedPct: st.SatisfiedPct, HasRatings: st.HasRatings,
			Sessions: st.Sessions, ServiceP50S: st.ServiceP50S, ServiceMeanS: st.ServiceMeanS, WaitP50S: st.WaitP50S, WaitMeanS: st.WaitMeanS,
		})
	}
	for _, c := range configured {
		if !seen[c] {
			seen[c] = true
			out = append(out, CounterInsight{Counter: c})
		}
	}
	return out
}

// whereRange is the WHERE clause of one site over [start, end). site is a
// valid ID (checked by the callers), which holds no quote.
func whereRange(site string, start, end time.Time) string {
	return fmt.Sprintf(`"site" = '%s' AND time >= '%s' AND time < '%s'`, site,
		start.UTC().Format(time.RFC3339Nano), end.UTC().Format(time.RFC3339Nano))
}

// procedures counts the dossiers resolved in [start, end) by procedure and
// outcome. The procedure is a field, so the rows come back one per dossier,
// a quarter per request; past maxRows it stops and says so.
func (s *Source) procedures(ctx context.Context, site string, start, end time.Time, maxRows int64) ([]ProcedureInsight, bool, error) {
	by := map[string]*ProcedureInsight{}
	var rows int64
	for from := start; from.Before(end); from = from.Add(procedureSlice) {
		to := from.Add(procedureSlice)
		if to.After(end) {
			to = end
		}
		// LIMIT bounds each outcome's series: one past what is left of the
		// budget is enough to know it is exceeded.
		stmt := fmt.Sprintf(`SELECT "procedure" FROM "dossier" WHERE %s GROUP BY "outcome" LIMIT %d`,
			whereRange(site, from, to), maxRows-rows+1)
		res, err := s.client.Query(ctx, []string{stmt})
		if err != nil {
			return nil, false, fmt.Errorf("procedures: %w", err)
		}
		for _, se := range res.Results[0].Series {
			o := schema.Outcome(se.Tags["outcome"])
			for _, row := range se.Values {
				if len(row) < 2 {
					continue
				}
				name, _ := row[1].(string)
				p, ok := by[name]
				if !ok {
					p = &ProcedureInsight{Procedure: name}
					by[name] = p
				}
				p.Dossiers++
				switch o {
				case schema.OutcomeEarly:
					p.Early++
				case schema.OutcomeOnTime:
					p.OnTime++
				case schema.OutcomeLate:
					p.Late++
				}
			}
			rows += int64(len(se.Values))
		}
		if rows > maxRows {
			return nil, true, nil
		}
	}
	out := make([]ProcedureInsight, 0, len(by))
	for _, p := range by {
		p.OnTimeOrEarly = p.Early + p.OnTime
		p.OnTimePct = float64(p.OnTimeOrEarly) * 100 / float64(p.Dossiers)
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return worseProcedure(out[i], out[j]) })
	return out, false, nil
}

// worseProcedure orders procedures worst first: the lower on-time share,
// compared on the counts (a*d < c*b), then the more dossiers (the same
// share over more dossiers is more late ones), then by code.
func worseProcedure(a, b ProcedureInsight) bool {
	l, r := a.OnTimeOrEarly*b.Dossiers, b.OnTimeOrEarly*a.Dossiers
	if l != r {
		return l < r
	}
	if a.Dossiers != b.Dossiers {
		return a.Dossiers > b.Dossiers
	}
	return a.Procedure < b.Procedure
}

// lateDossiers lists at most limit late dossiers resolved in [start, end),
// newest first, and counts them all, in one request so the two agree.
func (s *Source) lateDossiers(ctx context.Context, site string, start, end time.Time, limit int) ([]LateDossier, int64, error) {
	where := whereRange(site, start, end) + ` AND "outcome" = 'late'`
	res, err := s.client.Query(ctx, []string{
		`SELECT count("id") FROM "dossier" WHERE ` + where,
		fmt.Sprintf(`SELECT "dossier", "procedure", "received", "due", "resolved" FROM "dossier" WHERE %s ORDER BY time DESC LIMIT %d`, where, limit),
	})
	if err != nil {
		return nil, 0, fmt.Errorf("late dossiers: %w", err)
	}
	var total int64
	if se := res.Results[0].Series; len(se) == 1 && len(se[0].Values) == 1 && len(se[0].Values[0]) >= 2 {
		total = jsonInt(se[0].Values[0][1])
	}
	var out []LateDossier
	for _, se := range res.Results[1].Series {
		for _, row := range se.Values {
			if len(row) < 6 {
				continue
			}
			str := func(i int) string { v, _ := row[i].(string); return v }
			at := func(i int) (time.Time, bool) {
				t, err := time.Parse(time.RFC3339Nano, str(i))
				if err != nil {
					return time.Time{}, false
				}
				return t.In(s.loc), true
			}
			d := LateDossier{Dossier: str(1), Procedure: str(2)}
			d.Received, _ = at(3)
			due, okDue := at(4)
			resolved, okRes := at(5)
			d.Due, d.Resolved = due, resolved
			if okDue && okRes {
				d.DaysLate, d.HasDaysLate = daysLate(resolved.Sub(due)), true
			}
			out = append(out, d)
		}
	}
	// A dossier written between the two statements can make the list
	// longer than the count; the count is never less than what is shown.
	total = max(total, int64(len(out)))
	return out, total, nil
}

// daysLate is d in days to one decimal: rounded up when positive (a
// dossier late by an hour reads 0.1, never 0.0), to the nearest otherwise.
// It counts whole tenths of a day in integer nanoseconds, so 36 h is
// exactly 1.5.
func daysLate(d time.Duration) float64 {
	const tenth = 24 * time.Hour / 10
	if d > 0 {
		return float64((d+tenth-1)/tenth) / 10
	}
	v := math.Round(float64(d)/float64(tenth)) / 10
	if v == 0 {
		return 0 // not -0
	}
	return v
}
