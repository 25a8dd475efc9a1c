package kpi

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/timezone"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestBounds(t *testing.T) {
	vn := timezone.Vietnam()
	fixed := time.FixedZone("ICT", 7*3600)
	tests := []struct {
		p          Period
		now        string // UTC
		start, end string // UTC
	}{
		// 16:59:59.999 UTC is 23:59:59.999 in Vietnam; 17:00 UTC is the next day.
		{PeriodToday, "2026-03-01T16:59:59.999999999Z", "2026-02-28T17:00:00Z", "2026-03-01T17:00:00Z"},
		{PeriodToday, "2026-03-01T17:00:00Z", "2026-03-01T17:00:00Z", "2026-03-02T17:00:00Z"},
		{PeriodToday, "2026-03-01T00:00:00Z", "2026-02-28T17:00:00Z", "2026-03-01T17:00:00Z"},
		{"bogus", "2026-03-01T00:00:00Z", "2026-02-28T17:00:00Z", "2026-03-01T17:00:00Z"},
		// Month ends: February of a common year, of a leap year, December.
		{PeriodMonth, "2026-02-28T16:59:59Z", "2026-01-31T17:00:00Z", "2026-02-28T17:00:00Z"},
		{PeriodMonth, "2026-02-28T17:00:00Z", "2026-02-28T17:00:00Z", "2026-03-31T17:00:00Z"},
		{PeriodMonth, "2028-02-29T12:00:00Z", "2028-01-31T17:00:00Z", "2028-02-29T17:00:00Z"},
		{PeriodMonth, "2026-12-31T16:59:59Z", "2026-11-30T17:00:00Z", "2026-12-31T17:00:00Z"},
		// The reporting half-years (the report's tiling), in Vietnam time.
		{PeriodHalf, "2026-05-31T16:59:59Z", "2025-11-30T17:00:00Z", "2026-05-31T17:00:00Z"},
		{PeriodHalf, "2026-05-31T17:00:00Z", "2026-05-31T17:00:00Z", "2026-11-30T17:00:00Z"},
		{PeriodHalf, "2026-11-30T16:59:59Z", "2026-05-31T17:00:00Z", "2026-11-30T17:00:00Z"},
		{PeriodHalf, "2026-11-30T17:00:00Z", "2026-11-30T17:00:00Z", "2027-05-31T17:00:00Z"},
		{PeriodHalf, "2027-01-15T03:00:00Z", "2026-11-30T17:00:00Z", "2027-05-31T17:00:00Z"},
		// Reporting years, 1 December to 30 November: 30 Nov 17:00 UTC is
		// already 1 December, the next reporting year, in Vietnam.
		{PeriodYear, "2026-11-30T16:59:59Z", "2025-11-30T17:00:00Z", "2026-11-30T17:00:00Z"},
		{PeriodYear, "2026-11-30T17:00:00Z", "2026-11-30T17:00:00Z", "2027-11-30T17:00:00Z"},
		{PeriodYear, "2026-01-01T00:00:00Z", "2025-11-30T17:00:00Z", "2026-11-30T17:00:00Z"},
		{PeriodYear, "2026-12-31T17:00:00Z", "2026-11-30T17:00:00Z", "2027-11-30T17:00:00Z"},
		// ISO weeks, Monday 00:00 to Monday 00:00 in Vietnam, across a new year.
		{PeriodWeek, "2026-12-03T00:00:00Z", "2026-11-29T17:00:00Z", "2026-12-06T17:00:00Z"},
		{PeriodWeek, "2026-12-06T16:59:59Z", "2026-11-29T17:00:00Z", "2026-12-06T17:00:00Z"},
		{PeriodWeek, "2026-12-06T17:00:00Z", "2026-12-06T17:00:00Z", "2026-12-13T17:00:00Z"},
		{PeriodWeek, "2026-12-31T12:00:00Z", "2026-12-27T17:00:00Z", "2027-01-03T17:00:00Z"},
	}
	for _, loc := range []*time.Location{vn, fixed, nil} {
		for _, tt := range tests {
			name := string(tt.p) + " " + tt.now
			if loc != nil {
				name += " " + loc.String()
			}
			t.Run(name, func(t *testing.T) {
				s, e := Bounds(tt.p, utc(tt.now), loc)
				if !s.Equal(utc(tt.start)) || !e.Equal(utc(tt.end)) {
					t.Errorf("Bounds = [%v, %v), want [%s, %s)", s.UTC(), e.UTC(), tt.start, tt.end)
				}
			})
		}
	}
}

func TestBudgetFor(t *testing.T) {
	tests := []struct {
		name                  string
		sat, total            int64
		onTime, dossiers      int64
		targets               Targets
		wantRatings, wantLate int64
	}{
		{"plan example", 960, 1000, 491, 500, DefaultTargets(), 10, 1},
		{"exactly at target", 95, 100, 98, 100, DefaultTargets(), 0, 0},
		{"below target", 90, 100, 90, 100, DefaultTargets(), 0, 0},
		{"empty year", 0, 0, 0, 0, DefaultTargets(), 0, 0},
		{"all satisfied", 100, 100, 100, 100, DefaultTargets(), 5, 2},
		{"no target", 1, 10, 1, 10, Targets{}, math.MaxInt64, math.MaxInt64},
		{"large", 199_000, 200_000, 49_500, 50_000, DefaultTargets(), 9473, 510},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := Stats{Satisfied: tt.sat, RatingsTotal: tt.total, OnTime: tt.onTime, DossiersTotal: tt.dossiers}
			b := BudgetFor(st, tt.targets)
			if b.DissatisfiedLeft != tt.wantRatings || b.LateLeft != tt.wantLate {
				t.Errorf("BudgetFor = %+v, want {%d %d}", b, tt.wantRatings, tt.wantLate)
			}
			// The budget is the largest x that still passes the one rule.
			if tt.targets.SatisfactionPct > 0 && tt.total > 0 && b.DissatisfiedLeft > 0 {
				x := b.DissatisfiedLeft
				if !Passes(tt.sat, tt.total+x, tt.targets.SatisfactionPct, RuleAbove) || Passes(tt.sat, tt.total+x+1, tt.targets.SatisfactionPct, RuleAbove) {
					t.Errorf("ratings budget %d is not the largest x", x)
				}
			}
		})
	}
}

func TestFinishNoNaN(t *testing.T) {
	s := NewStats()
	s.Finish(SatisfactionOf(nil))
	for _, v := range []float64{s.SatisfiedPct, s.OnTimePct, s.WaitMeanS, s.ServiceMeanS, s.StaffPresencePct} {
		if math.IsNaN(v) || v != 0 {
			t.Fatalf("empty Stats give %v", v)
		}
	}
	if s.HasRatings || s.HasDossiers || s.HasPresence {
		t.Fatalf("empty Stats claim data: %+v", s)
	}
}

func TestPresence(t *testing.T) {
	loc := time.FixedZone("ICT", 7*3600)
	at := func(day, hm string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", day+" "+hm, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	mon := "2026-03-02" // a Monday
	start, end := at(mon, "00:00"), at("2026-03-03", "00:00")
	hours := DefaultWorkHours()
	hours.Loc = loc
	wins := hours.Windows(start, end)
	on := func(hm string) Change { return Change{At: at(mon, hm), Occupied: true} }
	off := func(hm string) Change { return Change{At: at(mon, hm)} }
	dunno := func(hm string) Change { return Change{At: at(mon, hm), Unknown: true} }
	served := func(from, to string) Interval { return Interval{at(mon, from), at(mon, to)} }
	vacantBefore := &Change{At: at("2026-02-27", "17:30")}
	tests := []struct {
		name                string
		before              *Change
		changes             []Change
		evidence            []Interval
		stop                time.Time
		present, known, all float64
	}{
		// No camera data at all is no data, never 0 % presence.
		{"nothing known", nil, nil, nil, end, 0, 0, 27000},
		// The last state before the period holds into it.
		{"seen empty since Friday", vacantBefore, nil, nil, end, 0, 27000, 27000},
		{"all day", nil, []Change{on("06:00")}, nil, end, 27000, 27000, 27000},
		// Before the first event of the day nothing is known: the
		// morning until 08:00 is no data, not absence.
		{"first event at 08:00", nil, []Change{off("08:00"), on("09:00")}, nil, end, 27000 - 5400, 27000 - 1800, 27000},
		{"morning only, lunch excluded", vacantBefore, []Change{
			on("07:00"), off("12:00"), on("13:00"), off("14:00"),
		}, nil, end, 4*3600 + 1800, 27000, 27000},
		{"repeated states", vacantBefore, []Change{
			on("08:00"), on("08:30"), off("09:00"), off("09:10"),
		}, nil, end, 3600, 27000, 27000},
		// A camera down 09:00-10:00 while the seat was last seen empty:
		// that hour is no data, not one more hour away.
		{"camera down an hour", vacantBefore, []Change{dunno("09:00"), off("10:00")}, nil, end, 0, 27000 - 3600, 27000},
		// ...and the state before the outage does not carry across it.
		{"occupied, then down", nil, []Change{on("07:30"), dunno("09:30"), on("10:30")}, nil, end, 27000 - 3600, 27000 - 3600, 27000},
		// The queue system serving tickets at the counter is presence,
		// whether the camera saw an empty seat or nothing at all.
		{"serving while the camera saw the seat empty", vacantBefore, nil,
			[]Interval{served("08:00", "08:30"), served("08:20", "09:00")}, end, 3600, 27000, 27000},
		{"serving while the camera was down", nil, []Change{dunno("07:00")},
			[]Interval{served("13:30", "14:00"), served("06:00", "07:40")}, end, 1800 + 600, 1800 + 600, 27000},
		{"stopped at now", nil, []Change{on("07:30")}, nil, at(mon, "10:30"), 3 * 3600, 3 * 3600, 3 * 3600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := wins
			if !tt.stop.Equal(end) {
				w = hours.Windows(start, tt.stop)
			}
			present, known, all := Presence(tt.before, tt.changes, tt.evidence, w, start, tt.stop)
			if present != tt.present || known != tt.known || all != tt.all {
				t.Errorf("presence = %v / %v / %v, want %v / %v / %v", present, known, all, tt.present, tt.known, tt.all)
			}
		})
	}
	st := NewStats()
	st.StaffOccupiedS, st.StaffCoveredS, st.StaffWorkS = 9000, 18000, 27000
	st.Finish(nil)
	if !st.HasPresence || st.StaffPresencePct != 50 || math.Abs(st.StaffNoDataPct-100.0/3) > 1e-9 {
		t.Errorf("presence %v %% with %v %% no data, want 50 and 33.3", st.StaffPresencePct, st.StaffNoDataPct)
	}
	st = NewStats()
	st.StaffWorkS = 27000
	st.Finish(nil)
	if st.HasPresence || st.StaffNoDataPct != 100 {
		t.Errorf("no coverage: has %v, no data %v %%", st.HasPresence, st.StaffNoDataPct)
	}
	// A weekend has no working time; the reporting year 2026 (01/12/2025
	// to 30/11/2026) has 261 weekdays.
	if w := hours.Windows(at("2026-03-07", "00:00"), at("2026-03-09", "00:00")); len(w) != 0 {
		t.Errorf("weekend windows %v", w)
	}
	ys, ye := Bounds(PeriodYear, at(mon, "12:00"), loc)
	var total float64
	for _, w := range hours.Windows(ys, ye) {
		total += w.To.Sub(w.From).Seconds()
	}
	if want := 261 * 7.5 * 3600; total != want {
		t.Errorf("2026 working seconds %v, want %v", total, want)
	}
}

// TestPasses: the plan's "trên 95 %" is strictly above, decided on counts.
func TestPasses(t *testing.T) {
	tests := []struct {
		good, total int64
		target      float64
		want        bool
	}{
		{95, 100, 95, false},     // exactly at target: not above
		{9496, 10000, 95, false}, // 94.96 % would print "95,0 %": still not above
		{9501, 10000, 95, true},  // 95.01 %
		{96, 100, 95, true},      //
		{49, 50, 98, false},      // 98 % exactly
		{491, 500, 98, true},     // 98.2 %
		{0, 0, 95, false},        // nothing counted: nothing passes
		{1, 10, 0, true},         // no target
		{199_000, 200_000, 95, true},
	}
	for _, tt := range tests {
		if got := Passes(tt.good, tt.total, tt.target, RuleAbove); got != tt.want {
			t.Errorf("Passes(%d, %d, %v) = %v, want %v", tt.good, tt.total, tt.target, got, tt.want)
		}
	}
	st := Stats{Satisfied: 95, RatingsTotal: 100, OnTime: 99, DossiersTotal: 100}
	if tg := DefaultTargets(); tg.SatisfactionMet(st) || !tg.OnTimeMet(st) {
		t.Errorf("DefaultTargets on %+v: satisfaction met %v, on time met %v", st, tg.SatisfactionMet(st), tg.OnTimeMet(st))
	}
}

// TestHoursConfig: the one working-hours form parses, refuses what is
// wrong, and the default parses to the centers' 37.5 hours a week.
func TestHoursConfig(t *testing.T) {
	w := DefaultWorkHours()
	mon := time.Date(2026, 3, 2, 0, 0, 0, 0, w.Loc)
	if got := w.Overlap(mon, mon.AddDate(0, 0, 7)); got != 37*time.Hour+30*time.Minute {
		t.Errorf("default week: %v of working time", got)
	}
	if !w.Contains(mon.Add(8*time.Hour)) || w.Contains(mon.Add(12*time.Hour)) || w.Contains(mon.AddDate(0, 0, 5).Add(8*time.Hour)) {
		t.Error("Contains: 08:00 Monday in, 12:00 Monday out, Saturday out")
	}
	bad := []HoursConfig{
		{TimeZone: "Mars/Olympus", Days: []string{"mon"}, Spans: []string{"08:00-09:00"}},
		{Days: []string{"funday"}, Spans: []string{"08:00-09:00"}},
		{Days: []string{"mon", "Mon"}, Spans: []string{"08:00-09:00"}},
		{Days: []string{"mon"}, Spans: []string{"8:00-09:00"}},
		{Days: []string{"mon"}, Spans: []string{"09:00-08:00"}},
		{Days: []string{"mon"}, Spans: []string{"08:00-10:00", "09:00-11:00"}},
		{Days: []string{"mon"}, Spans: []string{"08:00-24:30"}},
	}
	for _, h := range bad {
		before := len(h.Days)
		if _, err := h.WorkHours(); err == nil {
			t.Errorf("%+v accepted", h)
		}
		if len(h.Days) != before {
			t.Errorf("%+v changed by WorkHours", h)
		}
	}
}

// TestShareShown: the shown figure never crosses its target or the ends:
// the boundary cases of the plan's 95 % target (95,00 %, 94,996 %,
// 95,004 %), 94,96 % (once shown "95,0 %" beside "Không đạt"), a share
// just short of everything, and one just above nothing.
func TestShareShown(t *testing.T) {
	for _, c := range []struct {
		good, total int64
		target      float64
		want        float64
		decimals    int
	}{
		{960, 1000, 95, 96, 1},                  // plain
		{95, 100, 95, 95, 1},                    // exactly the target: not met, shown at it
		{9500, 10000, 95, 95, 1},                // 95,00 %
		{94996, 100000, 95, 94.996, 3},          // 94,996 %: not met, never "95,0"
		{95004, 100000, 95, 95.004, 3},          // 95,004 %: met, never "95,0"
		{9496, 10000, 95, 94.96, 2},             // 94,96 %
		{99995, 100000, 95, 99.995, 3},          // never "100,0" short of all
		{1999999, 2000000, 95, 99.9999, 4},      // 99,99995: cut, not rounded, to 4 decimals
		{5, 100000, 0, 0.01, 2},                 // never "0,0" above nothing
		{949999999, 1000000000, 95, 94.9999, 4}, // a hair under: cut down
		{950000001, 1000000000, 95, 95.0001, 4}, // a hair over: cut up
		{0, 10, 95, 0, 1},
		{10, 10, 95, 100, 1},
	} {
		v, d := ShareShown(c.good, c.total, c.target, RuleAbove)
		if math.Abs(v-c.want) > 1e-9 || d != c.decimals {
			t.Errorf("ShareShown(%d, %d, %v) = %v with %d decimals, want %v with %d", c.good, c.total, c.target, v, d, c.want, c.decimals)
		}
		met := Passes(c.good, c.total, c.target, RuleAbove)
		if c.target > 0 && met != (v > c.target) {
			t.Errorf("%d/%d shown %v disagrees with its verdict (met %t)", c.good, c.total, v, met)
		}
	}
}

// TestRuleAtLeast: a target configured "at_least" is met at exactly the
// target, shown at it, and budgets count that as a pass; the plan's
// default ("above") is not; an unknown rule is refused.
func TestRuleAtLeast(t *testing.T) {
	if !Passes(95, 100, 95, RuleAtLeast) || Passes(95, 100, 95, RuleAbove) || Passes(95, 100, 95, RuleAbove) {
		t.Error("exactly 95 %: at_least passes, above does not")
	}
	if v, d := ShareShown(9500, 10000, 95, RuleAtLeast); v != 95 || d != 1 {
		t.Errorf("at_least 95,00 %% shown %v (%d decimals)", v, d)
	}
	if v, d := ShareShown(94996, 100000, 95, RuleAtLeast); v != 94.996 || d != 3 {
		t.Errorf("at_least 94,996 %% shown %v (%d decimals)", v, d)
	}
	above := Targets{SatisfactionPct: 95, OnTimePct: 98}
	atLeast := above
	atLeast.SatisfactionRule = RuleAtLeast
	year := Stats{Satisfied: 95, RatingsTotal: 95}
	if b, a := BudgetFor(year, above).DissatisfiedLeft, BudgetFor(year, atLeast).DissatisfiedLeft; b != 4 || a != 5 {
		t.Errorf("budget of 95 satisfied: above %d (want 4: 95/100 fails), at_least %d (want 5)", b, a)
	}
	f := Figures{Sites: []Site{{ID: "anlao", Name: "An Lão"}}, Targets: above, Satisfied: []schema.Level{schema.LevelSatisfied}, TimeZone: "Asia/Ho_Chi_Minh"}
	f.Targets.OnTimeRule = "at-least"
	if err := f.Validate(); err == nil || !strings.Contains(err.Error(), "on_time_rule") {
		t.Errorf("unknown rule: %v", err)
	}
}

// TestOneCalendar: the dashboard's half-year is the report's period, day
// for day, every day of two years (issue 14: on 2 December the two covered
// different days).
func TestOneCalendar(t *testing.T) {
	loc := timezone.Vietnam()
	for d := time.Date(2026, 1, 1, 12, 0, 0, 0, loc); d.Year() < 2028; d = d.AddDate(0, 0, 1) {
		from, to := Bounds(PeriodHalf, d, loc)
		rf, rt, label, err := ParseReportPeriod(HalfLabel(from), loc)
		if err != nil || !rf.Equal(from) || !rt.Equal(to) || d.Before(from) || !d.Before(to) {
			t.Fatalf("%s: tab %s..%s, report %s %s..%s (%v)", d.Format("2006-01-02"), from, to, label, rf, rt, err)
		}
	}
}

// TestYearBudgetAndRecovery: the budget on the year's volume (configured,
// else extrapolated, else the results so far, saying which), and how many
// good results in a row bring a failing share back.
func TestYearBudgetAndRecovery(t *testing.T) {
	tg := DefaultTargets()
	// 24 dossiers on time of 24, a month into the year: the so-far budget
	// is 0 (24/25 = 96 %), but the year's ~288 dossiers can hold 5 late.
	year := Stats{OnTime: 24, DossiersTotal: 24, Satisfied: 960, RatingsTotal: 1000}
	b := YearBudgetFor(year, tg, 1.0/12, Volume{})
	if BudgetFor(year, tg).LateLeft != 0 || b.DossiersBasis != BasisExtrapolated || b.ExpectedDossiers != 288 || b.LateLeft != 5 {
		t.Errorf("dossiers: %+v", b)
	}
	// 960 of 1,000 satisfied on an expected 12,000: the other 11,000 may
	// hold 559 not satisfied (11,401 of 12,000 is the least that passes).
	tg.ExpectedRatings = 12000
	b = YearBudgetFor(year, tg, 1.0/12, Volume{})
	if b.RatingsBasis != BasisExpected || b.DissatisfiedLeft != 559 {
		t.Errorf("ratings on the expected volume: %+v", b)
	}
	if !Passes(960+11000-559, 12000, 95, RuleAbove) || Passes(960+11000-560, 12000, 95, RuleAbove) {
		t.Error("559 is not the edge")
	}
	// Last year's volume, when a whole year is on record, before the
	// extrapolation: 24 of 24 on last year's 400 can hold 7 late (393/400
	// = 98.25 %); the configured volume still comes first.
	b = YearBudgetFor(year, tg, 1.0/12, Volume{Ratings: 20000, Dossiers: 400})
	if b.DossiersBasis != BasisLastYear || b.ExpectedDossiers != 400 || b.LateLeft != 7 || b.RatingsBasis != BasisExpected || b.ExpectedRatings != 12000 {
		t.Errorf("on last year's volume: %+v", b)
	}
	// The first week: too early to extrapolate, the results so far.
	if b := YearBudgetFor(Stats{OnTime: 100, DossiersTotal: 100}, DefaultTargets(), 0.01, Volume{}); b.DossiersBasis != BasisSoFar || b.LateLeft != 2 {
		t.Errorf("first week: %+v", b)
	}
	// Below target: 940 of 1,000 needs 201 satisfied in a row (1,141/1,201 = 95.004 %).
	for _, c := range []struct {
		good, total int64
		target      float64
		rule        Rule
		want        int64
	}{
		{940, 1000, 95, RuleAbove, 201}, {950, 1000, 95, RuleAbove, 1}, {950, 1000, 95, RuleAtLeast, 0},
		{960, 1000, 95, RuleAbove, 0}, {0, 0, 95, RuleAbove, 0}, {99, 100, 100, RuleAbove, -1}, {9, 10, 98, RuleAbove, 41},
	} {
		if got := Recovery(c.good, c.total, c.target, c.rule); got != c.want {
			t.Errorf("Recovery(%d, %d, %v, %s) = %d, want %d", c.good, c.total, c.target, c.rule, got, c.want)
		} else if got > 0 && (!Passes(c.good+got, c.total+got, c.target, c.rule) || Passes(c.good+got-1, c.total+got-1, c.target, c.rule)) {
			t.Errorf("Recovery(%d, %d) = %d is not the least", c.good, c.total, got)
		}
	}
}
