package kpidb

import (
	"fmt"
	"github.com/pscm/pscm/internal/kpi"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/testenv"
)

// lines builds line protocol exactly as the collector writes it: validated
// schema events through AppendLine.
type lines struct {
	t testing.TB
	b []byte
}

// validateNow is the receiver's clock for Validate: far enough ahead that
// any seeded ts is accepted.
var validateNow = utc("2099-01-01T00:00:00Z")

func (l *lines) add(ev schema.Event) {
	if err := ev.Validate(validateNow); err != nil {
		l.t.Fatalf("seed event %+v: %v", ev, err)
	}
	l.b = ev.AppendLine(l.b)
}

// write writes the lines to i in batches of 5,000, as the collector's
// batches would be.
func (l *lines) write(t testing.TB, i *testenv.Influx) {
	all := strings.SplitAfter(string(l.b), "\n")
	for n := 0; n < len(all); n += 5000 {
		i.Write(t, strings.Join(all[n:min(n+5000, len(all))], ""))
	}
}

// want is what the test expects for one site or counter, built in Go from
// the same events that are seeded.
type want struct {
	ratings         map[schema.Level]int64
	dossiers        map[schema.Outcome]int64
	waits, services []float64
	noShows         int64
}

func newWant() *want {
	return &want{ratings: map[schema.Level]int64{}, dossiers: map[schema.Outcome]int64{}}
}

// total is the number of ratings w expects.
func (w *want) total() int64 {
	var n int64
	for _, v := range w.ratings {
		n += v
	}
	return n
}

func (w *want) check(t *testing.T, name string, got kpi.Stats) {
	t.Helper()
	var total, sat int64
	for l, n := range w.ratings {
		total += n
		if l == schema.LevelSatisfied || l == schema.LevelVerySatisfied {
			sat += n
		}
		if got.Ratings[l] != n {
			t.Errorf("%s: Ratings[%s] = %d, want %d", name, l, got.Ratings[l], n)
		}
	}
	if got.RatingsTotal != total || got.Satisfied != sat || got.HasRatings != (total > 0) || got.SatisfiedPct != pct(sat, total) {
		t.Errorf("%s: ratings %d, satisfied %d (%v %%), want %d, %d (%v %%)", name,
			got.RatingsTotal, got.Satisfied, got.SatisfiedPct, total, sat, pct(sat, total))
	}
	var dt, ot int64
	for o, n := range w.dossiers {
		dt += n
		if o != schema.OutcomeLate {
			ot += n
		}
		if got.Dossiers[o] != n {
			t.Errorf("%s: Dossiers[%s] = %d, want %d", name, o, got.Dossiers[o], n)
		}
	}
	if got.DossiersTotal != dt || got.OnTime != ot || got.OnTimePct != pct(ot, dt) {
		t.Errorf("%s: dossiers %d, on time %d (%v %%), want %d, %d", name, got.DossiersTotal, got.OnTime, got.OnTimePct, dt, ot)
	}
	if got.NoShows != w.noShows {
		t.Errorf("%s: NoShows = %d, want %d", name, got.NoShows, w.noShows)
	}
	n := int64(len(w.waits))
	var ws, ss float64
	for i := range w.waits {
		ws += w.waits[i]
		ss += w.services[i]
	}
	wantMean := func(sum float64) float64 {
		if n == 0 {
			return 0
		}
		return sum / float64(n)
	}
	for _, c := range []struct {
		what      string
		got, want float64
	}{
		{"WaitMeanS", got.WaitMeanS, wantMean(ws)},
		{"WaitP50S", got.WaitP50S, nearestRank(w.waits, 0.5)},
		{"WaitP90S", got.WaitP90S, nearestRank(w.waits, 0.9)},
		{"ServiceMeanS", got.ServiceMeanS, wantMean(ss)},
		{"ServiceP50S", got.ServiceP50S, nearestRank(w.services, 0.5)},
		{"ServiceP90S", got.ServiceP90S, nearestRank(w.services, 0.9)},
	} {
		if c.got != c.want {
			t.Errorf("%s: %s = %v, want %v", name, c.what, c.got, c.want)
		}
	}
	if got.Sessions != n {
		t.Errorf("%s: Sessions = %d, want %d", name, got.Sessions, n)
	}
}

// seedCenter seeds one site for 2026 and returns the expected numbers,
// overall and per counter. ratings, dossiers and sessions are the counts;
// bad is how many ratings are not satisfied and late how many dossiers are
// late; waitBase shifts the site's wait times so sites differ.
func seedCenter(t testing.TB, l *lines, site string, ratings, bad, dossiers, late, sessions, noShows int, waitBase float64) (*want, map[string]*want) {
	counters := []string{"c01", "c02", "c03", "c04"}
	all := newWant()
	per := map[string]*want{}
	for _, c := range counters {
		per[c] = newWant()
	}
	// 2026-01-01 00:00 local (UTC+7), the first instant of the year.
	t0 := utc("2025-12-31T17:00:00Z")
	step := func(i, n int) time.Time { // spread n events over the year
		return t0.Add(time.Duration(i) * (364 * 24 * time.Hour / time.Duration(n)))
	}
	goodLevels := []schema.Level{schema.LevelVerySatisfied, schema.LevelSatisfied}
	badLevels := []schema.Level{schema.LevelNeutral, schema.LevelDissatisfied}
	for i := range ratings {
		c := counters[(i*7/3)%len(counters)] // uneven split across counters
		lv := goodLevels[i%2]
		if i%(ratings/bad) == 0 && i/(ratings/bad) < bad {
			lv = badLevels[(i/(ratings/bad))%2]
		}
		l.add(&schema.Rating{Header: schema.Header{ID: fmt.Sprintf("r%d", i), TS: step(i, ratings), Site: site},
			Counter: c, Kiosk: "k" + c, Level: lv, Reasons: []string{}, Session: fmt.Sprintf("s-%d", i)})
		all.ratings[lv]++
		per[c].ratings[lv]++
	}
	for i := range dossiers {
		o := []schema.Outcome{schema.OutcomeEarly, schema.OutcomeOnTime}[i%2]
		if i < late {
			o = schema.OutcomeLate
		}
		ts := step(i, dossiers)
		l.add(&schema.Dossier{Header: schema.Header{ID: fmt.Sprintf("d%d", i), TS: ts, Site: site},
			Dossier: fmt.Sprintf("000.00.12.H10-%06d", i), Procedure: "1.001234",
			Received: ts.Add(-72 * time.Hour), Due: ts.Add(24 * time.Hour), Resolved: ts, Outcome: o})
		all.dossiers[o]++
	}
	for i := range sessions {
		c := counters[(i*5/2)%len(counters)]
		wait := waitBase + float64((i*37)%900) + 0.5 // halves: every sum is exact in float64
		svc := float64((i*53)%1200) + 60
		ts := step(i, sessions)
		l.add(&schema.Session{Header: schema.Header{ID: fmt.Sprintf("s-%d", i), TS: ts, Site: site}, Counter: c,
			Start: ts.Add(-time.Duration(svc) * time.Second), End: ts, WaitS: wait, ServiceS: svc, Source: schema.SourceFused, Ticket: fmt.Sprintf("A%03d", i)})
		all.waits, all.services = append(all.waits, wait), append(all.services, svc)
		per[c].waits, per[c].services = append(per[c].waits, wait), append(per[c].services, svc)
	}
	for i := range noShows {
		c := counters[i%len(counters)]
		ts := step(i, noShows)
		for j, st := range []schema.Step{schema.StepCalled, schema.StepNoShow} {
			l.add(&schema.Queue{Header: schema.Header{ID: fmt.Sprintf("q%d-%d", i, j), TS: ts.Add(time.Duration(j) * time.Minute), Site: site},
				Ticket: fmt.Sprintf("B%03d", i), Service: "ho-tich", Counter: c, Step: st})
		}
		all.noShows++
		per[c].noShows++
	}
	return all, per
}

func TestLoad(t *testing.T) {
	i := testenv.StartInflux(t)
	seedLoadData(t, i)
	t.Run("influxql", func(t *testing.T) { testLoad(t, i, defaultSelectMin) })
	// Every percentile by TOP/BOTTOM, not only a large period's.
	t.Run("influxql-topbottom", func(t *testing.T) { testLoad(t, i, 1) })
}

func seedLoadData(t *testing.T, i *testenv.Influx) {
	l := &lines{t: t}
	seedCenter(t, l, "anlao", 1000, 40, 500, 9, 300, 12, 0)
	seedCenter(t, l, "baclieu", 100, 50, 20, 20, 10, 3, 5000)

	// Just outside 2026 local time, on both sides: must not count.
	for _, ts := range []time.Time{utc("2025-12-31T16:59:59.999999999Z"), utc("2026-12-31T17:00:00Z")} {
		l.add(rating("edge"+ts.Format("150405"), "anlao", "c01", schema.LevelDissatisfied, ts))
		l.add(&schema.Dossier{Header: schema.Header{ID: "edge", TS: ts, Site: "anlao"}, Dossier: "x", Procedure: "p",
			Received: ts.Add(-time.Hour), Due: ts, Resolved: ts, Outcome: schema.OutcomeLate})
	}

	// Staff presence on Monday 2 March 2026 at c01: 07:00-12:00 and 13:00-14:00
	// local, that is 4.5 h of the day's 7.5 working hours. The citizen zone
	// does not count; c02's seat is seen by two cameras.
	mon := func(hm string) time.Time {
		v, _ := time.Parse("2006-01-02 15:04 -0700", "2026-03-02 "+hm+" +0700")
		return v.UTC()
	}
	occ := func(id, counter, camera string, zone schema.Zone, at string, on bool) {
		l.add(&schema.Occupancy{Header: schema.Header{ID: id, TS: mon(at), Site: "anlao"}, Camera: camera, Counter: counter, Zone: zone, Occupied: on, Confidence: 0.9})
	}
	occ("o1", "c01", "cam1", schema.ZoneStaff, "07:00", true)
	occ("o2", "c01", "cam1", schema.ZoneStaff, "12:00", false)
	occ("o3", "c01", "cam1", schema.ZoneStaff, "13:00", true)
	occ("o4", "c01", "cam1", schema.ZoneStaff, "14:00", false)
	occ("o5", "c01", "cam1", schema.ZoneCitizen, "14:30", true)
	occ("o6", "c02", "cam2", schema.ZoneStaff, "08:00", true)
	occ("o7", "c02", "cam3", schema.ZoneStaff, "09:00", false) // another camera ends it

	l.write(t, i)

}

func testLoad(t *testing.T, i *testenv.Influx, selectMin int64) {
	l := &lines{t: t}
	anlao, anlaoPer := seedCenter(t, l, "anlao", 1000, 40, 500, 9, 300, 12, 0)
	bac, bacPer := seedCenter(t, l, "baclieu", 100, 50, 20, 20, 10, 3, 5000)
	src := NewSource(Config{URL: i.URL(), Token: i.Token(), Bucket: i.Bucket()})
	t.Cleanup(src.Close)
	src.selectMin = selectMin
	src.Now = func() time.Time { return utc("2027-06-01T00:00:00Z") }
	ctx := t.Context()
	start, end := calendarYear(2026)

	began := time.Now()
	got, gotPer, err := src.Load(ctx, "anlao", start, end)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Load took %v", time.Since(began))
	anlao.check(t, "anlao", got)
	if got.SatisfiedPct != 96.0 || got.OnTimePct != 98.2 || got.RatingsTotal != 1000 || got.DossiersTotal != 500 || got.Sessions != 300 {
		t.Errorf("anlao headline: satisfied %v %%, on time %v %%, %d ratings, %d dossiers, %d sessions",
			got.SatisfiedPct, got.OnTimePct, got.RatingsTotal, got.DossiersTotal, got.Sessions)
	}
	if b := kpi.BudgetFor(got, kpi.DefaultTargets()); b != (kpi.Budget{DissatisfiedLeft: 10, LateLeft: 1}) {
		t.Errorf("budget %+v, want {10 1}", b)
	}
	if len(gotPer) != 4 {
		t.Errorf("counters %v", keys(gotPer))
	}
	var perRatings int64
	for c, w := range anlaoPer {
		w.dossiers = map[schema.Outcome]int64{} // dossiers have no counter
		w.check(t, "anlao/"+c, gotPer[c])
		perRatings += gotPer[c].RatingsTotal
	}
	if perRatings != 1000 {
		t.Errorf("per-counter ratings sum to %d", perRatings)
	}
	// Presence over the year (hand-computed cases are TestPresenceCoverage's):
	// c01 and c02 have a camera on the staff seat, c03 and c04 none; the
	// queue's sessions and calls add evidence, never more than all the
	// working time, and no camera means no presence figure. The cameras
	// spoke on Monday 2 March only, so their seats are watched from that
	// day to a week after (kpi.SeatSilence): Monday 2 to Monday 9, six
	// working days, not the year.
	yearWork := 6 * 7.5 * 3600
	for _, c := range []string{"c01", "c02"} {
		if st := gotPer[c]; !st.HasPresence || st.StaffWorkS != yearWork || st.StaffCoveredS > yearWork || st.StaffOccupiedS > st.StaffCoveredS || st.StaffOccupiedS < 3600 {
			t.Errorf("%s presence %v of %v known of %v s", c, st.StaffOccupiedS, st.StaffCoveredS, st.StaffWorkS)
		}
	}
	if !got.HasPresence || got.StaffWorkS != 2*yearWork || got.StaffOccupiedS != gotPer["c01"].StaffOccupiedS+gotPer["c02"].StaffOccupiedS {
		t.Errorf("site presence %v / %v s = %v %%", got.StaffOccupiedS, got.StaffWorkS, got.StaffPresencePct)
	}
	if gotPer["c03"].HasPresence || gotPer["c03"].StaffWorkS != 0 {
		t.Error("c03 has presence without any staff-zone data")
	}

	// LoadTotals: the same overall Stats and per-counter counts; only the
	// per-counter percentiles are left out.
	tot, totPer, err := src.LoadTotals(ctx, "anlao", start, end)
	if err != nil {
		t.Fatal(err)
	}
	anlao.check(t, "anlao totals", tot)
	for c, w := range anlaoPer {
		g := totPer[c]
		if g.RatingsTotal != w.total() || g.Sessions != int64(len(w.waits)) || g.WaitMeanS != gotPer[c].WaitMeanS || g.StaffPresencePct != gotPer[c].StaffPresencePct {
			t.Errorf("anlao/%s totals: %d ratings, %d sessions, wait mean %v, presence %v %%", c, g.RatingsTotal, g.Sessions, g.WaitMeanS, g.StaffPresencePct)
		}
		if g.WaitP90S != 0 || g.ServiceP50S != 0 {
			t.Errorf("anlao/%s totals: per-counter percentiles %v %v computed", c, g.WaitP90S, g.ServiceP50S)
		}
	}

	// The second site: its own numbers, nothing of anlao's.
	gotB, gotBPer, err := src.Load(ctx, "baclieu", start, end)
	if err != nil {
		t.Fatal(err)
	}
	bac.check(t, "baclieu", gotB)
	if gotB.SatisfiedPct != 50 || gotB.OnTimePct != 0 || !gotB.HasDossiers || gotB.HasPresence {
		t.Errorf("baclieu: %+v", gotB)
	}
	for c, w := range bacPer {
		w.dossiers = map[schema.Outcome]int64{}
		w.check(t, "baclieu/"+c, gotBPer[c])
	}

	// A site with no data: zeros, no NaN, no error.
	empty, emptyPer, err := src.Load(ctx, "nowhere", start, end)
	if err != nil {
		t.Fatal(err)
	}
	if empty.HasRatings || empty.HasDossiers || empty.Sessions != 0 || len(emptyPer) != 0 {
		t.Errorf("empty site: %+v %v", empty, emptyPer)
	}
	if _, _, err := src.Load(ctx, `x") |> drop(`, start, end); err == nil {
		t.Error("invalid site accepted")
	}

	// Live on top of the year: one more dissatisfied rating, twice.
	live := kpi.NewLive(got, kpi.LiveConfig{Site: "anlao", Start: start, End: end, Satisfied: src.Satisfied()})
	ev := rating("live1", "anlao", "c02", schema.LevelDissatisfied, utc("2026-11-25T01:15:02Z"))
	live.Apply(ev)
	live.Apply(ev)
	if s := live.Stats(); s.RatingsTotal != 1001 || kpi.BudgetFor(s, kpi.DefaultTargets()).DissatisfiedLeft != 9 {
		t.Errorf("live: %d ratings, budget %+v", s.RatingsTotal, kpi.BudgetFor(s, kpi.DefaultTargets()))
	}
}

// TestPresenceCoverage loads a seat's record from a real InfluxDB and
// counts presence only on the time the system knows about: the camera's
// last state before the day holds into it, "unknown" (a camera down) is no
// data, the queue's sessions and calls are presence, a camera's own
// session is not, and a counter without a camera has no presence figure.
func TestPresenceCoverage(t *testing.T) {
	i := testenv.StartInflux(t)
	const site = "phuthanh"
	at := func(day, hm string) time.Time {
		v, err := time.Parse("2006-01-02 15:04 -0700", day+" "+hm+" +0700")
		if err != nil {
			t.Fatal(err)
		}
		return v.UTC()
	}
	mon := func(hm string) time.Time { return at("2026-03-02", hm) }
	l := &lines{t: t}
	n := 0
	seat := func(counter string, ts time.Time, state schema.ZoneState) {
		n++
		l.add(&schema.Occupancy{Header: schema.Header{ID: fmt.Sprintf("o%d", n), TS: ts, Site: site}, Camera: "cam-" + counter,
			Counter: counter, Zone: schema.ZoneStaff, Occupied: state == schema.ZoneOccupied, State: state})
	}
	session := func(counter string, from, to time.Time, src schema.SessionSource) {
		n++
		l.add(&schema.Session{Header: schema.Header{ID: fmt.Sprintf("s%d", n), TS: to.Add(30 * time.Second), Site: site}, Counter: counter,
			Start: from, End: to, ServiceS: to.Sub(from).Seconds(), Source: src})
	}
	seat("c01", at("2026-02-27", "17:30"), schema.ZoneVacant) // Friday evening: seen empty, and nothing since
	seat("c01", mon("08:00"), schema.ZoneOccupied)
	seat("c01", mon("09:00"), schema.ZoneUnknown) // camera down an hour
	seat("c01", mon("10:00"), schema.ZoneVacant)
	seat("c01", mon("10:30"), schema.ZoneOccupied)
	seat("c01", mon("11:30"), schema.ZoneVacant)
	session("c01", mon("14:00"), mon("14:20"), schema.SourceQueue)  // served: present
	session("c01", mon("16:00"), mon("16:30"), schema.SourceCamera) // the camera's own: not evidence
	l.add(&schema.Queue{Header: schema.Header{ID: "call", TS: mon("15:00"), Site: site}, Ticket: "A1", Service: "ho-tich", Counter: "c01", Step: schema.StepCalled})
	session("c02", mon("09:00"), mon("09:30"), schema.SourceFused) // no camera at c02
	seat("c03", at("2026-02-20", "17:30"), schema.ZoneVacant)      // more than a week before: unknown
	l.write(t, i)

	src := NewSource(Config{URL: i.URL(), Token: i.Token(), Bucket: i.Bucket()})
	t.Cleanup(src.Close)
	src.Now = func() time.Time { return mon("23:00") }
	start, end := kpi.Bounds(kpi.PeriodToday, mon("12:00"), nil)
	got, per, err := src.Load(t.Context(), site, start, end)
	if err != nil {
		t.Fatal(err)
	}
	// c01, working time 07:30-11:30 and 13:30-17:00 (27,000 s):
	//   07:30-08:00 empty (Friday's state)  known 1,800
	//   08:00-09:00 occupied                present 3,600
	//   09:00-10:00 unknown                 no data 3,600
	//   10:00-10:30 empty                   known 1,800
	//   10:30-11:30 occupied                present 3,600
	//   13:30-17:00 empty                   known 12,600, of which the queue's
	//               session 14:00-14:20 (1,200) and call at 15:00 (60) present
	// present 8,460 of 23,400 known = 36.15 %; no data 3,600 = 13.33 %.
	c := per["c01"]
	if c.StaffOccupiedS != 8460 || c.StaffCoveredS != 23400 || c.StaffWorkS != 27000 {
		t.Errorf("c01: present %v, known %v, work %v; want 8460, 23400, 27000", c.StaffOccupiedS, c.StaffCoveredS, c.StaffWorkS)
	}
	if math.Abs(c.StaffPresencePct-8460*100.0/23400) > 1e-9 || math.Abs(c.StaffNoDataPct-3600*100.0/27000) > 1e-9 {
		t.Errorf("c01: %v %% present, %v %% no data", c.StaffPresencePct, c.StaffNoDataPct)
	}
	for _, id := range []string{"c02", "c03"} {
		if st := per[id]; st.HasPresence || st.StaffWorkS != 0 {
			t.Errorf("%s: presence %+v without a camera watching in the week", id, st)
		}
	}
	if got.StaffOccupiedS != 8460 || got.StaffCoveredS != 23400 || got.StaffWorkS != 27000 {
		t.Errorf("site: %v / %v / %v", got.StaffOccupiedS, got.StaffCoveredS, got.StaffWorkS)
	}

	// At 10:15 the day so far: 07:30-10:15 is 9,900 s, of which 3,600 s
	// present and 6,300 known (the hour down is no data).
	src.Now = func() time.Time { return mon("10:15") }
	_, per, err = src.Load(t.Context(), site, start, end)
	if err != nil {
		t.Fatal(err)
	}
	if c := per["c01"]; c.StaffOccupiedS != 3600 || c.StaffCoveredS != 6300 || c.StaffWorkS != 9900 {
		t.Errorf("c01 at 10:15: present %v, known %v, work %v", c.StaffOccupiedS, c.StaffCoveredS, c.StaffWorkS)
	}
}

func keys(m map[string]kpi.Stats) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestYearVolume: last year's ratings count when they were recorded from
// its first month on; dossiers recorded only from March do not (a volume
// that would understate a whole year), and what lies outside the year is
// not counted.
func TestYearVolume(t *testing.T) {
	i := testenv.StartInflux(t)
	l := &lines{t: t}
	const site = "volume"
	for d := range 300 {
		ts := utc("2025-01-06T01:00:00Z").AddDate(0, 0, d)
		l.add(rating(fmt.Sprintf("r%d", d), site, "c01", schema.LevelSatisfied, ts))
		l.add(rating(fmt.Sprintf("s%d", d), site, "c01", schema.LevelNeutral, ts.Add(time.Hour)))
		if d >= 60 {
			l.add(&schema.Dossier{Header: schema.Header{ID: fmt.Sprintf("d%d", d), TS: ts, Site: site}, Dossier: fmt.Sprintf("HS-%d", d),
				Procedure: "1.001234", Received: ts.Add(-time.Hour), Due: ts.Add(time.Hour), Resolved: ts, Outcome: schema.OutcomeOnTime})
		}
	}
	l.add(rating("next-year", site, "c01", schema.LevelSatisfied, utc("2026-01-02T01:00:00Z")))
	l.write(t, i)
	src := NewSource(Config{URL: i.URL(), Token: i.Token(), Bucket: i.Bucket()})
	t.Cleanup(src.Close)
	start, end := calendarYear(2025)
	v, err := src.YearVolume(t.Context(), site, start, end)
	if err != nil {
		t.Fatal(err)
	}
	if v != (kpi.Volume{Ratings: 600, Dossiers: 0}) {
		t.Errorf("volume %+v, want 600 ratings and dossiers unknown", v)
	}
	if v, err := src.YearVolume(t.Context(), "nowhere", start, end); err != nil || v != (kpi.Volume{}) {
		t.Errorf("empty site: %+v %v", v, err)
	}
	if _, err := src.YearVolume(t.Context(), `x' OR 1=1`, start, end); err == nil {
		t.Error("invalid site accepted")
	}
}
