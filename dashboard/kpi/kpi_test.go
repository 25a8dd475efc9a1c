package kpi

import (
	"math"
	"sort"
	"testing"
	"time"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestBounds(t *testing.T) {
	vn, err := Location(DefaultZone)
	if err != nil {
		t.Fatal(err)
	}
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

func TestLocationFallback(t *testing.T) {
	t.Setenv("ZONEINFO", t.TempDir()) // no tzdata there; the embedded copy may still answer
	loc, err := Location("")
	if err != nil {
		t.Fatal(err)
	}
	if _, off := time.Date(2026, 7, 1, 0, 0, 0, 0, loc).Zone(); off != 7*3600 {
		t.Errorf("offset %d, want UTC+7", off)
	}
	if _, err := Location("No/Such_Zone"); err == nil {
		t.Error("unknown zone accepted")
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
			// The budget is the largest x keeping the share at or above target.
			if tt.targets.SatisfactionPct > 0 && tt.total > 0 && b.DissatisfiedLeft > 0 {
				x := b.DissatisfiedLeft
				if pct(tt.sat, tt.total+x) < tt.targets.SatisfactionPct || pct(tt.sat, tt.total+x+1) >= tt.targets.SatisfactionPct {
					t.Errorf("ratings budget %d is not the largest x", x)
				}
			}
		})
	}
}

func TestFinishNoNaN(t *testing.T) {
	s := newStats()
	s.finish(levelSet(nil))
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
	wins := DefaultWorkHours().windows(start, end, loc)
	tests := []struct {
		name      string
		changes   []change
		stop      time.Time
		occ, work float64
	}{
		{"never there", nil, end, 0, 27000},
		{"all day", []change{{at(mon, "06:00"), true}}, end, 27000, 27000},
		{"morning only, lunch excluded", []change{
			{at(mon, "07:00"), true}, {at(mon, "12:00"), false}, {at(mon, "13:00"), true}, {at(mon, "14:00"), false},
		}, end, 4*3600 + 1800, 27000},
		{"repeated states", []change{
			{at(mon, "08:00"), true}, {at(mon, "08:30"), true}, {at(mon, "09:00"), false}, {at(mon, "09:10"), false},
		}, end, 3600, 27000},
		{"stopped at now", []change{{at(mon, "07:30"), true}}, at(mon, "10:30"), 3 * 3600, 3 * 3600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := wins
			if !tt.stop.Equal(end) {
				w = DefaultWorkHours().windows(start, tt.stop, loc)
			}
			occ, work := presence(tt.changes, w, start, tt.stop)
			if occ != tt.occ || work != tt.work {
				t.Errorf("presence = %v / %v, want %v / %v", occ, work, tt.occ, tt.work)
			}
		})
	}
	// A weekend has no working time; a year of 2026 has 261 weekdays.
	if w := DefaultWorkHours().windows(at("2026-03-07", "00:00"), at("2026-03-09", "00:00"), loc); len(w) != 0 {
		t.Errorf("weekend windows %v", w)
	}
	ys, ye := Bounds(PeriodYear, at(mon, "12:00"), loc)
	var total float64
	for _, w := range DefaultWorkHours().windows(ys, ye, loc) {
		total += w.to.Sub(w.from).Seconds()
	}
	if want := 261 * 7.5 * 3600; total != want {
		t.Errorf("2026 working seconds %v, want %v", total, want)
	}
}

// nearestRank is the nearest-rank q-quantile of values: the value at
// 1-based rank ceil(q*n) once sorted. Tests compute the expected
// percentiles with it, independently of InfluxDB.
func nearestRank(values []float64, q float64) float64 {
	if len(values) == 0 {
		return 0
	}
	s := append([]float64(nil), values...)
	sort.Float64s(s)
	r := int(math.Ceil(q * float64(len(s))))
	if r < 1 {
		r = 1
	}
	return s[r-1]
}
