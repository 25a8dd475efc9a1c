package kpidb

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/testenv"
	"github.com/pscm/pscm/internal/timezone"
)

// insightsSeed writes the events of TestInsights and counts them as it
// goes, so each seeded event has a point time of its own.
type insightsSeed struct {
	l *lines
	n int
}

// at is a moment of March 2026 (or of March 2025 with year 2025), local
// time, one second apart for every event seeded.
func (s *insightsSeed) at(year int) time.Time {
	s.n++
	return time.Date(year, time.March, 2, 8, 0, 0, 0, timezone.Vietnam()).Add(time.Duration(s.n) * time.Second).UTC()
}

func (s *insightsSeed) ratings(site, counter string, year, good, bad int) {
	for i := range good + bad {
		lv := []schema.Level{schema.LevelVerySatisfied, schema.LevelSatisfied}[i%2]
		if i >= good {
			lv = []schema.Level{schema.LevelNeutral, schema.LevelDissatisfied}[i%2]
		}
		s.l.add(rating(fmt.Sprintf("r%d", s.n), site, counter, lv, s.at(year)))
	}
}

func (s *insightsSeed) session(site, counter string, year int, wait, service float64) {
	ts := s.at(year)
	s.l.add(&schema.Session{Header: schema.Header{ID: fmt.Sprintf("s%d", s.n), TS: ts, Site: site}, Counter: counter,
		Start: ts.Add(-time.Duration(service) * time.Second), End: ts, WaitS: wait, ServiceS: service, Source: schema.SourceQueue})
}

// dossier seeds one dossier resolved at ts, due late before it (a negative
// late is early).
func (s *insightsSeed) dossier(site, procedure string, o schema.Outcome, ts time.Time, late time.Duration) {
	s.n++
	s.l.add(&schema.Dossier{Header: schema.Header{ID: fmt.Sprintf("d%d", s.n), TS: ts, Site: site},
		Dossier: fmt.Sprintf("HS-%04d", s.n), Procedure: procedure,
		Received: ts.Add(-10 * 24 * time.Hour), Due: ts.Add(-late), Resolved: ts, Outcome: o})
}

func (s *insightsSeed) dossiers(site, procedure string, year, early, onTime, late int) {
	for range early {
		s.dossier(site, procedure, schema.OutcomeEarly, s.at(year), -24*time.Hour)
	}
	for range onTime {
		s.dossier(site, procedure, schema.OutcomeOnTime, s.at(year), 0)
	}
	for range late {
		s.dossier(site, procedure, schema.OutcomeLate, s.at(year), 24*time.Hour)
	}
}

// TestInsights reads a month of one site from a real InfluxDB and checks
// every figure against values computed by hand from the seed below.
func TestInsights(t *testing.T) {
	i := testenv.StartInflux(t)
	vn := timezone.Vietnam()
	s := &insightsSeed{l: &lines{t: t}}
	const site = "xephang"

	// March 2026. Ratings by counter (satisfied + not):
	//   c01 38+2 = 40  95.0 %    c02 48+2 = 50  96.0 %
	//   c03 29+1 = 30  96.67 %   c04 29+0 = 29  100 % but under 30: not ranked
	//   c06 57+3 = 60  95.0 %    c07 38+2 = 40  95.0 % (c01's twin)
	//   c05 configured, nothing.
	// By satisfaction: c03 1, c02 2, c06 3 (95 % on 60 ratings before 40),
	// c01 and c07 both 4 (same share, same count), then c04, c05 unranked.
	// Site: 239 satisfied of 249 = 95.98393574297189 %.
	s.ratings(site, "c01", 2026, 38, 2)
	s.ratings(site, "c02", 2026, 48, 2)
	s.ratings(site, "c03", 2026, 29, 1)
	s.ratings(site, "c04", 2026, 29, 0)
	s.ratings(site, "c06", 2026, 57, 3)
	s.ratings(site, "c07", 2026, 38, 2)
	// Sessions:
	//   c01 31 sessions, service 60, 120, ..., 1860 s: median (rank
	//       ceil(15.5) = 16) 960 s, mean 960 s; wait 0, 10, ..., 300: median 150
	//   c02 35 sessions of 600 s; c03 30 sessions of 600 s (same median,
	//       fewer sessions: after c02); c04 10 sessions of 100 s (too few)
	// By service time: c02 1, c03 2, c01 3, then c04, c05, c06, c07.
	// Site: 106 sessions.
	for n := range 31 {
		s.session(site, "c01", 2026, float64(10*n), float64(60*(n+1)))
	}
	for range 35 {
		s.session(site, "c02", 2026, 30, 600)
	}
	for range 30 {
		s.session(site, "c03", 2026, 30, 600)
	}
	for range 10 {
		s.session(site, "c04", 2026, 5, 100)
	}
	// Dossiers by procedure (early, on time, late):
	//   1.000001  5, 4, 1   9/10 = 90 %
	//   1.000002  0, 0, 3   0/3 = 0 %: all late
	//   1.000003  2, 2, 0   100 %
	//   1.000004  9, 9, 2   18/20 = 90 %, more dossiers than 1.000001
	// Worst first: 1.000002, 1.000004, 1.000001, 1.000003. Site: 31 on time
	// or early of 37 = 83.78378378378379 %, 6 late.
	s.dossiers(site, "1.000001", 2026, 5, 4, 0)
	s.dossiers(site, "1.000003", 2026, 2, 2, 0)
	s.dossiers(site, "1.000004", 2026, 9, 9, 0)
	// The six late ones, oldest first, each with how late it was:
	//   1.000001  HS-late1  1 h        0.1 day (rounded up, never 0.0)
	//   1.000002  HS-late2  36 h       1.5 days
	//   1.000002  HS-late3  54 h       2.25 days, shown 2.3
	//   1.000002  HS-late4  3 days     3.0 days
	//   1.000004  HS-late5  30 min     0.1 day
	//   1.000004  HS-late6  0          0.0 (the software's "late" is kept)
	// With LateLimit 4 the list is late6, late5, late4, late3 of 6.
	lateAt := func(day int) time.Time { return time.Date(2026, time.March, day, 15, 0, 0, 0, vn).UTC() }
	for n, d := range []struct {
		proc string
		late time.Duration
	}{
		{"1.000001", time.Hour}, {"1.000002", 36 * time.Hour}, {"1.000002", 54 * time.Hour},
		{"1.000002", 72 * time.Hour}, {"1.000004", 30 * time.Minute}, {"1.000004", 0},
	} {
		ts := lateAt(10 + n)
		s.l.add(&schema.Dossier{Header: schema.Header{ID: fmt.Sprintf("late%d", n+1), TS: ts, Site: site},
			Dossier: fmt.Sprintf("HS-late%d", n+1), Procedure: d.proc,
			Received: ts.Add(-10 * 24 * time.Hour), Due: ts.Add(-d.late), Resolved: ts, Outcome: schema.OutcomeLate})
	}
	// Just outside March on both sides: counted nowhere.
	for _, ts := range []time.Time{time.Date(2026, time.March, 1, 0, 0, 0, -1, vn).UTC(), time.Date(2026, time.April, 1, 0, 0, 0, 0, vn).UTC()} {
		s.l.add(rating(fmt.Sprintf("edge%d", ts.Unix()), site, "c01", schema.LevelDissatisfied, ts))
		s.dossier(site, "1.000003", schema.OutcomeLate, ts, time.Hour)
	}
	// March 2025: 90 satisfied of 100 (90 %), 49 of 50 dossiers on time
	// (98 %), 20 sessions. Deltas: 95.98393574297189 - 90 points of
	// satisfaction, 83.78378378378379 - 98 points on time.
	s.ratings(site, "c01", 2025, 90, 10)
	s.dossiers(site, "1.000001", 2025, 0, 49, 1)
	for range 20 {
		s.session(site, "c01", 2025, 30, 300)
	}
	// November 2026, for the year's per-procedure read: a slice of its own.
	s.dossier(site, "1.000003", schema.OutcomeEarly, time.Date(2026, time.November, 20, 9, 0, 0, 0, vn).UTC(), -time.Hour)
	// Another site with March 2026 only: no last year.
	s.ratings("moi", "c01", 2026, 5, 0)
	s.dossiers("moi", "1.000001", 2026, 1, 0, 0)
	s.l.write(t, i)

	src := NewSource(Config{URL: i.URL(), Token: i.Token(), Bucket: i.Bucket()})
	t.Cleanup(src.Close)
	src.Now = func() time.Time { return time.Date(2026, time.June, 1, 0, 0, 0, 0, vn) }
	from, to := time.Date(2026, time.March, 1, 0, 0, 0, 0, vn), time.Date(2026, time.April, 1, 0, 0, 0, 0, vn)
	ins, err := src.Insights(t.Context(), site, from, to, InsightsOptions{
		Counters: []string{"c01", "c02", "c03", "c04", "c05", "c06", "c07"}, LateLimit: 4})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("counters", func(t *testing.T) {
		if ins.MinRatings != 30 || ins.MinSessions != 30 {
			t.Errorf("minimums %d, %d; want the defaults 30, 30", ins.MinRatings, ins.MinSessions)
		}
		type row struct {
			id                 string
			ratings, satisfied int64
			satRank            int
			sessions           int64
			serviceP50         float64
			servRank           int
		}
		want := []row{
			{"c03", 30, 29, 1, 30, 600, 2},
			{"c02", 50, 48, 2, 35, 600, 1},
			{"c06", 60, 57, 3, 0, 0, 0},
			{"c01", 40, 38, 4, 31, 960, 3},
			{"c07", 40, 38, 4, 0, 0, 0},
			{"c04", 29, 29, 0, 10, 100, 0},
			{"c05", 0, 0, 0, 0, 0, 0},
		}
		var got []row
		for _, c := range ins.Counters {
			got = append(got, row{c.Counter, c.Ratings, c.Satisfied, c.SatisfactionRank, c.Sessions, c.ServiceP50S, c.ServiceRank})
		}
		if !slices.Equal(got, want) {
			t.Errorf("counters:\n got %v\nwant %v", got, want)
		}
		if wantServ := []string{"c02", "c03", "c01", "c04", "c05", "c06", "c07"}; !slices.Equal(ins.ByService, wantServ) {
			t.Errorf("by service %v, want %v", ins.ByService, wantServ)
		}
		c01 := ins.Counters[3]
		if c01.ServiceMeanS != 960 || c01.WaitP50S != 150 || c01.WaitMeanS != 150 || c01.SatisfiedPct != 95 || !c01.HasRatings {
			t.Errorf("c01: %+v", c01)
		}
		if c05 := ins.Counters[6]; c05.HasRatings || c05.Sessions != 0 {
			t.Errorf("c05 has data: %+v", c05)
		}
	})

	t.Run("procedures", func(t *testing.T) {
		type row struct {
			proc                             string
			dossiers, early, onTime, late, g int64
			pct                              float64
		}
		want := []row{
			{"1.000002", 3, 0, 0, 3, 0, 0},
			{"1.000004", 20, 9, 9, 2, 18, 90},
			{"1.000001", 10, 5, 4, 1, 9, 90},
			{"1.000003", 4, 2, 2, 0, 4, 100},
		}
		var got []row
		for _, p := range ins.Procedures {
			got = append(got, row{p.Procedure, p.Dossiers, p.Early, p.OnTime, p.Late, p.OnTimeOrEarly, p.OnTimePct})
		}
		if !slices.Equal(got, want) || ins.ProceduresTooMany {
			t.Errorf("procedures (too many %v):\n got %v\nwant %v", ins.ProceduresTooMany, got, want)
		}
	})

	t.Run("late", func(t *testing.T) {
		if ins.LateTotal != 6 || ins.LateLimit != 4 || len(ins.Late) != 4 {
			t.Fatalf("late: %d listed of %d (limit %d), want 4 of 6", len(ins.Late), ins.LateTotal, ins.LateLimit)
		}
		type row struct {
			dossier, proc string
			days          float64
		}
		want := []row{{"HS-late6", "1.000004", 0}, {"HS-late5", "1.000004", 0.1}, {"HS-late4", "1.000002", 3}, {"HS-late3", "1.000002", 2.3}}
		for n, d := range ins.Late {
			if got := (row{d.Dossier, d.Procedure, d.DaysLate}); got != want[n] || !d.HasDaysLate {
				t.Errorf("late[%d] = %+v, want %+v", n, got, want[n])
			}
		}
		l := ins.Late[2] // late4: resolved 13 March 15:00, due 10 March 15:00, received 3 March 15:00
		if !l.Resolved.Equal(lateAt(13)) || !l.Due.Equal(lateAt(10)) || !l.Received.Equal(lateAt(3)) || l.Resolved.Location() != src.loc {
			t.Errorf("late4 times: received %v, due %v, resolved %v", l.Received, l.Due, l.Resolved)
		}
	})

	t.Run("trend", func(t *testing.T) {
		tr := ins.Trend
		if !tr.LastYearFrom.Equal(time.Date(2025, time.March, 1, 0, 0, 0, 0, vn)) || !tr.LastYearTo.Equal(time.Date(2025, time.April, 1, 0, 0, 0, 0, vn)) {
			t.Errorf("last year %v .. %v", tr.LastYearFrom, tr.LastYearTo)
		}
		this, last := tr.This, tr.LastYear
		if this.RatingsTotal != 249 || this.Satisfied != 239 || this.DossiersTotal != 37 || this.OnTime != 31 || this.Sessions != 106 {
			t.Errorf("this year: %d/%d ratings, %d/%d dossiers, %d sessions", this.Satisfied, this.RatingsTotal, this.OnTime, this.DossiersTotal, this.Sessions)
		}
		if last.RatingsTotal != 100 || last.Satisfied != 90 || last.DossiersTotal != 50 || last.OnTime != 49 || last.Sessions != 20 {
			t.Errorf("last year: %d/%d ratings, %d/%d dossiers, %d sessions", last.Satisfied, last.RatingsTotal, last.OnTime, last.DossiersTotal, last.Sessions)
		}
		if !tr.HasSatisfiedDelta || math.Abs(tr.SatisfiedDeltaPP-(23900.0/249-90)) > 1e-12 {
			t.Errorf("satisfaction delta %v (%v), want %v", tr.SatisfiedDeltaPP, tr.HasSatisfiedDelta, 23900.0/249-90)
		}
		if !tr.HasOnTimeDelta || math.Abs(tr.OnTimeDeltaPP-(3100.0/37-98)) > 1e-12 {
			t.Errorf("on-time delta %v (%v), want %v", tr.OnTimeDeltaPP, tr.HasOnTimeDelta, 3100.0/37-98)
		}
	})

	t.Run("last year empty", func(t *testing.T) {
		got, err := src.Insights(t.Context(), "moi", from, to, InsightsOptions{})
		if err != nil {
			t.Fatal(err)
		}
		tr := got.Trend
		if tr.This.RatingsTotal != 5 || tr.This.DossiersTotal != 1 || tr.LastYear.HasRatings || tr.LastYear.HasDossiers ||
			tr.HasSatisfiedDelta || tr.HasOnTimeDelta || tr.SatisfiedDeltaPP != 0 || tr.OnTimeDeltaPP != 0 {
			t.Errorf("trend with no last year: %+v", tr)
		}
		// Five ratings: listed, not ranked.
		if len(got.Counters) != 1 || got.Counters[0].SatisfactionRank != 0 || got.LateTotal != 0 || len(got.Late) != 0 || got.LateLimit != DefaultLateLimit {
			t.Errorf("counters %+v, late %d of %d", got.Counters, len(got.Late), got.LateTotal)
		}
	})

	t.Run("nothing", func(t *testing.T) {
		got, err := src.Insights(t.Context(), "nowhere", from, to, InsightsOptions{Counters: []string{"c01"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Counters) != 1 || got.Counters[0].HasRatings || len(got.Procedures) != 0 || got.Trend.This.HasRatings || got.Trend.HasSatisfiedDelta {
			t.Errorf("empty site: %+v", got)
		}
	})

	t.Run("refused", func(t *testing.T) {
		if _, err := src.Insights(t.Context(), `x' OR 1=1`, from, to, InsightsOptions{}); err == nil {
			t.Error("invalid site accepted")
		}
		if _, err := src.Insights(t.Context(), site, to, from, InsightsOptions{}); err == nil {
			t.Error("reversed range accepted")
		}
	})

	// The per-procedure read goes a quarter at a time: a year of it counts
	// every dossier once, and a bound smaller than the dossiers gives no
	// table rather than part of one.
	t.Run("procedure slices and bound", func(t *testing.T) {
		ys, ye := time.Date(2026, time.January, 1, 0, 0, 0, 0, vn), time.Date(2027, time.January, 1, 0, 0, 0, 0, vn)
		got, over, err := src.procedures(t.Context(), site, ys, ye, 1000)
		if err != nil || over {
			t.Fatal(over, err)
		}
		var n int64
		for _, p := range got {
			n += p.Dossiers
		}
		// March's 37, the two just outside it (last day of February and
		// 1 April, in the first quarter's slice) and November's in the
		// fourth.
		if n != 40 {
			t.Errorf("%d dossiers in the year's slices, want 40", n)
		}
		for _, bound := range []int64{39, 20} {
			if got, over, err := src.procedures(t.Context(), site, ys, ye, bound); err != nil || !over || got != nil {
				t.Errorf("bound %d: %v, %v, %v", bound, got, over, err)
			}
		}
		if _, over, err := src.procedures(t.Context(), site, ys, ye, 40); err != nil || over {
			t.Errorf("bound 40 exactly: over %v, %v", over, err)
		}
	})
}

func TestDaysLate(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want float64
	}{
		{time.Hour, 0.1},
		{time.Nanosecond, 0.1},
		{36 * time.Hour, 1.5},
		{54 * time.Hour, 2.3},
		{72 * time.Hour, 3},
		{24*time.Hour + 2*time.Hour + 24*time.Minute, 1.1}, // 1.1 days exactly
		{0, 0},
		{-time.Hour, 0},
		{-36 * time.Hour, -1.5},
	} {
		if got := daysLate(c.d); got != c.want || math.Signbit(got) && c.want == 0 {
			t.Errorf("daysLate(%v) = %v, want %v", c.d, got, c.want)
		}
	}
}

func TestRankCounters(t *testing.T) {
	in := []CounterInsight{
		{Counter: "a", Ratings: 100, Satisfied: 95, Sessions: 40, ServiceP50S: 300, SatisfactionRank: 9},
		{Counter: "b", Ratings: 200, Satisfied: 190, Sessions: 40, ServiceP50S: 300},
		{Counter: "c", Ratings: 30, Satisfied: 30, Sessions: 29, ServiceP50S: 10},
		{Counter: "d", Ratings: 29, Satisfied: 29, Sessions: 50, ServiceP50S: 400},
		{Counter: "e", Ratings: 100, Satisfied: 95, Sessions: 40, ServiceP50S: 300},
		{Counter: "f"},
	}
	got, bySrv := RankCounters(in, 30, 30)
	// Satisfaction: c 100 % on 30; b 95 % on 200; a and e 95 % on 100
	// share 3; d (29 ratings) and f unranked.
	want := map[string][2]int{"c": {1, 0}, "b": {2, 1}, "a": {3, 1}, "e": {3, 1}, "d": {0, 4}, "f": {0, 0}}
	var order []string
	for _, c := range got {
		order = append(order, c.Counter)
		if r := [2]int{c.SatisfactionRank, c.ServiceRank}; r != want[c.Counter] {
			t.Errorf("%s ranks %v, want %v", c.Counter, r, want[c.Counter])
		}
	}
	if !slices.Equal(order, []string{"c", "b", "a", "e", "d", "f"}) {
		t.Errorf("satisfaction order %v", order)
	}
	// Service: a, b, e tie on 300 s and 40 sessions (rank 1, by ID); d
	// 400 s is 4th; c (29 sessions) and f unranked.
	if !slices.Equal(bySrv, []string{"a", "b", "e", "d", "c", "f"}) {
		t.Errorf("service order %v", bySrv)
	}
	if in[0].SatisfactionRank != 9 {
		t.Error("RankCounters changed its input")
	}
	// A minimum of 0 still never ranks a counter without ratings.
	got, _ = RankCounters([]CounterInsight{{Counter: "x"}}, 0, 0)
	if got[0].SatisfactionRank != 0 || got[0].ServiceRank != 0 {
		t.Errorf("empty counter ranked: %+v", got[0])
	}
}
