package kpi

import (
	"math"
	"testing"
	"time"

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
		// Half-years turn on 1 July and 1 January local time.
		{PeriodHalf, "2026-06-30T16:59:59Z", "2025-12-31T17:00:00Z", "2026-06-30T17:00:00Z"},
		{PeriodHalf, "2026-06-30T17:00:00Z", "2026-06-30T17:00:00Z", "2026-12-31T17:00:00Z"},
		{PeriodHalf, "2026-12-31T16:59:59Z", "2026-06-30T17:00:00Z", "2026-12-31T17:00:00Z"},
		{PeriodHalf, "2026-12-31T17:00:00Z", "2026-12-31T17:00:00Z", "2027-06-30T17:00:00Z"},
		// Years: 31 Dec 17:00 UTC is already next year in Vietnam.
		{PeriodYear, "2026-12-31T16:59:59Z", "2025-12-31T17:00:00Z", "2026-12-31T17:00:00Z"},
		{PeriodYear, "2026-12-31T17:00:00Z", "2026-12-31T17:00:00Z", "2027-12-31T17:00:00Z"},
		{PeriodYear, "2026-01-01T00:00:00Z", "2025-12-31T17:00:00Z", "2026-12-31T17:00:00Z"},
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
				if !Passes(tt.sat, tt.total+x, tt.targets.SatisfactionPct) || Passes(tt.sat, tt.total+x+1, tt.targets.SatisfactionPct) {
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
	tests := []struct {
		name      string
		changes   []Change
		stop      time.Time
		occ, work float64
	}{
		{"never there", nil, end, 0, 27000},
		{"all day", []Change{{at(mon, "06:00"), true}}, end, 27000, 27000},
		{"morning only, lunch excluded", []Change{
			{at(mon, "07:00"), true}, {at(mon, "12:00"), false}, {at(mon, "13:00"), true}, {at(mon, "14:00"), false},
		}, end, 4*3600 + 1800, 27000},
		{"repeated states", []Change{
			{at(mon, "08:00"), true}, {at(mon, "08:30"), true}, {at(mon, "09:00"), false}, {at(mon, "09:10"), false},
		}, end, 3600, 27000},
		{"stopped at now", []Change{{at(mon, "07:30"), true}}, at(mon, "10:30"), 3 * 3600, 3 * 3600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := wins
			if !tt.stop.Equal(end) {
				w = hours.Windows(start, tt.stop)
			}
			occ, work := Presence(tt.changes, w, start, tt.stop)
			if occ != tt.occ || work != tt.work {
				t.Errorf("presence = %v / %v, want %v / %v", occ, work, tt.occ, tt.work)
			}
		})
	}
	// A weekend has no working time; a year of 2026 has 261 weekdays.
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
		if got := Passes(tt.good, tt.total, tt.target); got != tt.want {
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
