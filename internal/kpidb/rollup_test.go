package kpidb

import (
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/officials"
	"github.com/pscm/pscm/internal/roster"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/simcenter"
	"github.com/pscm/pscm/internal/testenv"
	"github.com/pscm/pscm/internal/timezone"
)

// TestRollupsEqualRaw is issue 19's acceptance: a simulated province of
// three centers over a year (the simulator's story: a bad month, late
// weeks, an outage, holidays), kept as daily rollups, gives exactly the
// figures the raw events give for the year, every month, a week, a day and
// today's part, overall and per counter. One center's day is written with
// a backlog held back, as an agent offline that morning would leave it;
// the backlog arrives after the days are built, the rollup of that day is
// then wrong (checked, so the comparison can fail), Refresh builds that
// day and the week after it (which its seats' last states reach) and no
// other, and the figures agree again.
func TestRollupsEqualRaw(t *testing.T) {
	if testing.Short() {
		t.Skip("a province's year in InfluxDB")
	}
	i := testenv.StartInflux(t)
	i.Query(t, `CREATE DATABASE "rollups"`)
	vn := timezone.Vietnam()
	end := time.Date(2026, 12, 16, 0, 0, 0, 0, vn)
	now := end.Add(11 * time.Hour)                       // today's part is read raw
	backlogDay := time.Date(2026, 7, 14, 0, 0, 0, 0, vn) // a Tuesday
	sites := []struct {
		id       string
		counters int
	}{{"tinh-001", 4}, {"tinh-002", 6}, {"tinh-003", 5}}

	l, backlog := &lines{t: t}, &lines{t: t}
	points, held := 0, 0
	for n, s := range sites {
		story := simcenter.NewStory(int64(n+1), end, 365, s.counters)
		g := simcenter.New(simcenter.Config{Site: s.id, Counters: s.counters, Seed: int64(n + 1), Start: story.From, Calendar: story.Day, NoHeartbeats: true})
		for m := g.Next(); m.At.Before(end.Add(14 * time.Hour)); m = g.Next() {
			local := m.At.In(vn)
			// tinh-002's officials log in at counters 1 to 3, taking
			// turns by the week; counters 4 to 6 go by the roster.
			if q, ok := m.Event.(*schema.Queue); ok && s.id == "tinh-002" && q.Counter != "" {
				var c int
				fmt.Sscanf(q.Counter, "c%d", &c)
				if c <= 3 {
					_, week := local.ISOWeek()
					q.Staff = fmt.Sprintf("cb%02d", (c+week)%6+1)
				}
			}
			if s.id == "tinh-002" && local.After(backlogDay.Add(9*time.Hour)) && local.Before(backlogDay.Add(16*time.Hour)) {
				backlog.add(m.Event)
				held++
				continue
			}
			l.add(m.Event)
			points++
		}
	}
	l.write(t, i)
	t.Logf("wrote %d points of 3 centers' year; %d held back as tinh-002's backlog of %s", points, held, backlogDay.Format("2006-01-02"))
	if held < 100 {
		t.Fatalf("backlog of %d events: the day is too quiet to test anything", held)
	}

	raw := NewSource(Config{URL: i.URL(), Token: i.Token(), Bucket: i.Bucket()})
	t.Cleanup(raw.Close)
	kept := NewSource(Config{URL: i.URL(), Token: i.Token(), Bucket: i.Bucket()})
	t.Cleanup(kept.Close)
	raw.Now, kept.Now = func() time.Time { return now }, func() time.Time { return now }
	store := kept.WithRollups(i.URL(), "rollups", i.Token())
	t.Cleanup(store.Close)
	// tinh-002's roster: cb01..cb06 at c01..c06 on weekdays, cb02 on
	// leave for a fortnight in July, cb05 at a training the backlog's day.
	var rf strings.Builder
	rf.WriteString("officials:\n")
	for k := 1; k <= 6; k++ {
		fmt.Fprintf(&rf, "  - {id: cb%02d, name: \"Cán bộ %d\", site: tinh-002}\n", k, k)
	}
	rf.WriteString("shifts:\n")
	for k := 1; k <= 6; k++ {
		fmt.Fprintf(&rf, "  - {official: cb%02d, counter: c%02d, days: [mon, tue, wed, thu, fri], spans: [\"07:30-11:30\", \"13:30-17:00\"], from: 2025-01-01}\n", k, k)
	}
	rf.WriteString("away:\n  - {official: cb02, kind: leave, from: 2026-07-06, to: 2026-07-17}\n  - {official: cb05, kind: training, from: 2026-07-14, to: 2026-07-14}\n")
	rp := filepath.Join(t.TempDir(), "roster.yml")
	if err := os.WriteFile(rp, []byte(rf.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	ro, err := roster.Load(rp)
	if err != nil {
		t.Fatal(err)
	}
	kept.KeepOfficials(ro)
	ids := ro.IDsOf("tinh-002")

	from := time.Date(2026, 1, 1, 0, 0, 0, 0, vn)
	today := kept.Midnight(now)
	wantDays := int(today.Sub(from).Hours()/24 + 0.5)
	ctx := t.Context()
	for _, s := range sites {
		began := time.Now()
		n, err := kept.Refresh(ctx, store, s.id, from, today)
		if err != nil {
			t.Fatal(err)
		}
		if n != wantDays {
			t.Errorf("%s: first refresh built %d days, want %d", s.id, n, wantDays)
		}
		t.Logf("%s: %d days built in %v", s.id, n, time.Since(began).Round(time.Millisecond))
		if n, err := kept.Refresh(ctx, store, s.id, from, today); err != nil || n != 0 {
			t.Errorf("%s: second refresh built %d days (%v), want none", s.id, n, err)
		}
	}

	type span struct {
		name     string
		from, to time.Time
	}
	var spans []span
	spans = append(spans, span{"year", from, from.AddDate(1, 0, 0)})
	for _, m := range []int{0, 6, 11} { // January, the backlog's July, December with today
		s := from.AddDate(0, m, 0)
		spans = append(spans, span{s.Format("2006-01"), s, s.AddDate(0, 1, 0)})
	}
	spans = append(spans,
		span{"backlog week", backlogDay.AddDate(0, 0, -1), backlogDay.AddDate(0, 0, 6)},
		span{"backlog day", backlogDay, backlogDay.AddDate(0, 0, 1)},
		span{"today", today, today.AddDate(0, 0, 1)},
		span{"last 30 days", today.AddDate(0, 0, -29), today.AddDate(0, 0, 1)})

	compareAll := func(t *testing.T) (differ []string) {
		for _, sp := range spans {
			to := sp.to
			if now.Before(to) {
				to = now // the officials' pages stop at now
			}
			misses := kept.RollupMisses()
			got, err := kept.OfficialDays(ctx, "tinh-002", sp.from, to, ro, ids)
			if err != nil {
				t.Fatal(err)
			}
			want, err := raw.OfficialDays(ctx, "tinh-002", sp.from, to, ro, ids)
			if err != nil {
				t.Fatal(err)
			}
			if kept.RollupMisses() != misses {
				t.Fatalf("officials %s: a day of the period was not kept", sp.name)
			}
			g, w := officials.Sum(got, ids, kpi.DefaultSatisfied()), officials.Sum(want, ids, kpi.DefaultSatisfied())
			if g.UnattributedSessions != w.UnattributedSessions || g.UnattributedRatings != w.UnattributedRatings {
				differ = append(differ, fmt.Sprintf("officials %s: unattributed %d/%d, raw %d/%d", sp.name, g.UnattributedSessions, g.UnattributedRatings, w.UnattributedSessions, w.UnattributedRatings))
			}
			for k := range w.Officials {
				if d := figuresDiff(g.Officials[k], w.Officials[k]); d != "" {
					differ = append(differ, "officials "+sp.name+" "+ids[k]+": "+d)
				}
			}
			// One official's page reads only their rows.
			one, err := kept.OfficialDays(ctx, "tinh-002", sp.from, to, ro, ids[1:2])
			if err != nil {
				t.Fatal(err)
			}
			if d := figuresDiff(officials.Sum(one, ids[1:2], kpi.DefaultSatisfied()).Officials[0], w.Officials[1]); d != "" {
				differ = append(differ, "officials "+sp.name+" cb02 alone: "+d)
			}
		}
		for _, s := range sites {
			for _, sp := range spans {
				for _, totals := range []bool{false, true} {
					load, loadRaw := kept.Load, raw.Load
					if totals {
						load, loadRaw = kept.LoadTotals, raw.LoadTotals
					}
					misses := kept.RollupMisses()
					got, gotPer, err := load(ctx, s.id, sp.from, sp.to)
					if err != nil {
						t.Fatal(err)
					}
					want, wantPer, err := loadRaw(ctx, s.id, sp.from, sp.to)
					if err != nil {
						t.Fatal(err)
					}
					if kept.RollupMisses() != misses {
						t.Fatalf("%s %s: a day of the period was not kept", s.id, sp.name)
					}
					name := fmt.Sprintf("%s %s totals=%v", s.id, sp.name, totals)
					if d := statsDiff(got, want); d != "" {
						differ = append(differ, name+": "+d)
					}
					if !slices.Equal(slices.Sorted(maps.Keys(gotPer)), slices.Sorted(maps.Keys(wantPer))) {
						differ = append(differ, fmt.Sprintf("%s: counters %v, raw %v", name, slices.Sorted(maps.Keys(gotPer)), slices.Sorted(maps.Keys(wantPer))))
						continue
					}
					for c, w := range wantPer {
						if d := statsDiff(gotPer[c], w); d != "" {
							differ = append(differ, name+" "+c+": "+d)
						}
					}
				}
			}
		}
		return differ
	}
	if d := compareAll(t); len(d) > 0 {
		t.Fatalf("rollups differ from the raw events before the backlog:\n%v", d)
	}
	year, _, err := kept.Load(ctx, "tinh-002", from, from.AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("tinh-002's year: %d ratings (%.2f %% satisfied), %d sessions (wait p90 %v s), %d dossiers, presence %.1f %% of %.0f h covered",
		year.RatingsTotal, year.SatisfiedPct, year.Sessions, year.WaitP90S, year.DossiersTotal, year.StaffPresencePct, year.StaffCoveredS/3600)

	// The backlog arrives: until its day is built again, the kept day is
	// stale and the comparison must see it.
	backlog.write(t, i)
	if d := compareAll(t); len(d) == 0 {
		t.Fatal("the backlog changed nothing the comparison sees: it cannot fail")
	} else {
		t.Logf("before the refresh, %d figures differ, e.g. %s", len(d), d[0])
	}
	for _, s := range sites {
		n, err := kept.Refresh(ctx, store, s.id, from, today)
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		if s.id == "tinh-002" {
			want = 8 // the day, and the week its seats' last states reach
		}
		if n != want {
			t.Errorf("%s: refresh after the backlog built %d days, want %d", s.id, n, want)
		}
	}
	if d := compareAll(t); len(d) > 0 {
		t.Fatalf("rollups differ from the raw events after the backlog's day was built again:\n%v", d)
	}
}

// figuresDiff names what differs between an official's figures from the
// rollups and from the raw facts: all exactly but the seconds of presence
// (sums of days against sums in another order).
func figuresDiff(got, want officials.Figures) string {
	gs, ws := got, want
	var out []string
	for _, f := range []struct {
		name string
		g, w float64
	}{{"expected", got.ExpectedS, want.ExpectedS}, {"covered", got.CoveredS, want.CoveredS}, {"present", got.PresentS, want.PresentS}, {"unknown", got.UnknownS, want.UnknownS}} {
		if math.Abs(f.g-f.w) > 1e-9*math.Max(1, math.Abs(f.w)) {
			out = append(out, fmt.Sprintf("%s %v, raw %v", f.name, f.g, f.w))
		}
	}
	gs.ExpectedS, gs.CoveredS, gs.PresentS, gs.UnknownS = 0, 0, 0, 0
	ws.ExpectedS, ws.CoveredS, ws.PresentS, ws.UnknownS = 0, 0, 0, 0
	if len(gs.Dissatisfied) == 0 {
		gs.Dissatisfied = nil
	}
	if len(ws.Dissatisfied) == 0 {
		ws.Dissatisfied = nil
	}
	for k := range gs.Dissatisfied { // a time read back from JSON keeps its instant, not its zone
		gs.Dissatisfied[k].At = gs.Dissatisfied[k].At.UTC()
	}
	for k := range ws.Dissatisfied {
		ws.Dissatisfied[k].At = ws.Dissatisfied[k].At.UTC()
	}
	if !reflect.DeepEqual(gs, ws) {
		out = append(out, fmt.Sprintf("%+v, raw %+v", gs, ws))
	}
	return strings.Join(out, "; ")
}

// statsDiff names what differs between rollup and raw Stats: counts and
// percentiles exactly, sums of seconds to a microsecond in a year (the
// raw sums are InfluxDB's, added in another order).
func statsDiff(got, want kpi.Stats) string {
	var out []string
	near := func(name string, g, w float64) {
		if math.Abs(g-w) > 1e-9*math.Max(1, math.Abs(w)) {
			out = append(out, fmt.Sprintf("%s %v, raw %v", name, g, w))
		}
	}
	exact := func(name string, g, w any) {
		if g != w {
			out = append(out, fmt.Sprintf("%s %v, raw %v", name, g, w))
		}
	}
	for _, l := range []schema.Level{schema.LevelVerySatisfied, schema.LevelSatisfied, schema.LevelNeutral, schema.LevelDissatisfied} {
		exact("ratings "+string(l), got.Ratings[l], want.Ratings[l])
	}
	for _, o := range []schema.Outcome{schema.OutcomeEarly, schema.OutcomeOnTime, schema.OutcomeLate} {
		exact("dossiers "+string(o), got.Dossiers[o], want.Dossiers[o])
	}
	exact("satisfied %", got.SatisfiedPct, want.SatisfiedPct)
	exact("on time %", got.OnTimePct, want.OnTimePct)
	exact("sessions", got.Sessions, want.Sessions)
	exact("no-shows", got.NoShows, want.NoShows)
	exact("wait p50", got.WaitP50S, want.WaitP50S)
	exact("wait p90", got.WaitP90S, want.WaitP90S)
	exact("service p50", got.ServiceP50S, want.ServiceP50S)
	exact("service p90", got.ServiceP90S, want.ServiceP90S)
	near("wait sum", got.WaitSumS, want.WaitSumS)
	near("service sum", got.ServiceSumS, want.ServiceSumS)
	near("present s", got.StaffOccupiedS, want.StaffOccupiedS)
	near("covered s", got.StaffCoveredS, want.StaffCoveredS)
	exact("work s", got.StaffWorkS, want.StaffWorkS)
	exact("has presence", got.HasPresence, want.HasPresence)
	if len(out) == 0 {
		return ""
	}
	return fmt.Sprint(out)
}

// TestRefreshCarriesOn: a seat's last state carries into the next days,
// so events replayed into one day can change days that have none of
// their own. An official's seat is seen vacant at 14:58 on Monday, then
// the agent goes off the network until Friday: Tuesday to Thursday read
// as a vacant seat all day. The spool's replay says she came back at
// 15:05 and the agent stopped at 17:15 (unknown): Refresh must build
// Tuesday to Thursday again, or they would accuse her of three days'
// absence the raw events no longer show. Working hours changed in the
// configuration make every day be built again.
func TestRefreshCarriesOn(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: real InfluxDB")
	}
	i := testenv.StartInflux(t, testenv.WithoutFlux())
	i.Query(t, `CREATE DATABASE "rollups"`)
	vn := timezone.Vietnam()
	mon := time.Date(2026, 11, 2, 0, 0, 0, 0, vn)
	occ := func(id string, at time.Time, state schema.ZoneState) string {
		ev := &schema.Occupancy{Header: schema.Header{ID: id, TS: at.UTC(), Site: "anlao"}, Camera: "cam1", Counter: "c01",
			Zone: schema.ZoneStaff, Occupied: state == schema.ZoneOccupied, State: state, Confidence: 0.9}
		return string(ev.AppendLine(nil))
	}
	i.Write(t, occ("o1", mon.Add(7*time.Hour+30*time.Minute), schema.ZoneOccupied)+occ("o2", mon.Add(14*time.Hour+58*time.Minute), schema.ZoneVacant))
	now := mon.AddDate(0, 0, 4).Add(12 * time.Hour) // Friday noon
	raw := NewSource(Config{URL: i.URL(), Bucket: i.Bucket()})
	kept := NewSource(Config{URL: i.URL(), Bucket: i.Bucket()})
	t.Cleanup(raw.Close)
	t.Cleanup(kept.Close)
	raw.Now, kept.Now = func() time.Time { return now }, func() time.Time { return now }
	store := kept.WithRollups(i.URL(), "rollups", "")
	t.Cleanup(store.Close)
	ctx := t.Context()
	from, today := mon.AddDate(0, 0, -7), kept.Midnight(now)
	if _, err := kept.Refresh(ctx, store, "anlao", from, today); err != nil {
		t.Fatal(err)
	}
	tue, fri := mon.AddDate(0, 0, 1), mon.AddDate(0, 0, 4)
	got, _, err := kept.Load(ctx, "anlao", tue, fri)
	if err != nil {
		t.Fatal(err)
	}
	if got.StaffCoveredS != 3*7.5*3600 || got.StaffOccupiedS != 0 {
		t.Fatalf("before the replay: Tuesday to Thursday %v s covered, %v present; want three working days seen vacant", got.StaffCoveredS, got.StaffOccupiedS)
	}

	i.Write(t, occ("o3", mon.Add(15*time.Hour+5*time.Minute), schema.ZoneOccupied)+occ("o4", mon.Add(17*time.Hour+15*time.Minute), schema.ZoneUnknown))
	// The keeper checks a marked day with the week after it.
	n, err := kept.Refresh(ctx, store, "anlao", mon, today)
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Errorf("a refresh from Monday built %d days, want Monday and the three days after it", n)
	}
	n, err = kept.Refresh(ctx, store, "anlao", from, today)
	if err != nil {
		t.Fatal(err)
	}
	// Monday is current now; the days after it were rebuilt with it.
	t.Logf("the full check after it built %d more days", n)
	for _, sp := range [][2]time.Time{{tue, fri}, {mon, fri.AddDate(0, 0, 1)}, {from, today}} {
		got, _, err := kept.Load(ctx, "anlao", sp[0], sp[1])
		if err != nil {
			t.Fatal(err)
		}
		want, _, err := raw.Load(ctx, "anlao", sp[0], sp[1])
		if err != nil {
			t.Fatal(err)
		}
		if d := statsDiff(got, want); d != "" {
			t.Errorf("%s..%s after the replay: %s", sp[0].Format("02/01"), sp[1].Format("02/01"), d)
		}
	}
	if got, _, _ := kept.Load(ctx, "anlao", tue, fri); got.StaffCoveredS != 0 {
		t.Errorf("Tuesday to Thursday still %v s covered after the agent said it stopped", got.StaffCoveredS)
	}

	// Saturday mornings added to the working hours: every day is built
	// again under them.
	h := kpi.DefaultHoursConfig()
	h.Days = append(h.Days, "sat")
	hours, err := h.WorkHours()
	if err != nil {
		t.Fatal(err)
	}
	other := NewSource(Config{URL: i.URL(), Bucket: i.Bucket(), Hours: hours})
	t.Cleanup(other.Close)
	other.Now = kept.Now
	otherStore := other.WithRollups(i.URL(), "rollups", "")
	t.Cleanup(otherStore.Close)
	if n, err := other.Refresh(ctx, otherStore, "anlao", from, today); err != nil || n != int(today.Sub(from).Hours()/24+0.5) {
		t.Errorf("new working hours rebuilt %d days (%v), want all", n, err)
	}
	if _, _, err := kept.Load(ctx, "anlao", from, today); err != nil {
		t.Fatal(err)
	}
	misses := kept.RollupMisses()
	if _, _, err := kept.Load(ctx, "anlao", tue, fri); err != nil || kept.RollupMisses() != misses+1 {
		t.Errorf("days built under other hours were read (%v)", err)
	}
}
