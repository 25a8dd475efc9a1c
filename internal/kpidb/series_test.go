package kpidb

import (
	"fmt"
	"github.com/pscm/pscm/internal/kpi"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/testenv"
)

// TestSeries seeds ratings and sessions around local midnights and hour
// boundaries and checks every bucket of today by hour and the last 30 days.
func TestSeries(t *testing.T) {
	i := testenv.StartInflux(t)
	loc := time.FixedZone("ICT", 7*3600)
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04:05.999999999", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	l := &lines{t: t}
	n := 0
	rate := func(site string, lv schema.Level, ts string) {
		n++
		l.add(rating(fmt.Sprintf("r%d", n), site, "c01", lv, at(ts).UTC()))
	}
	session := func(ts string) {
		n++
		end := at(ts).UTC()
		l.add(&schema.Session{Header: schema.Header{ID: fmt.Sprintf("s%d", n), TS: end, Site: "anlao"}, Counter: "c01",
			Start: end.Add(-time.Minute), End: end, WaitS: 30, ServiceS: 60, Source: schema.SourceFused, Ticket: "A001"})
	}
	sat, vsat, neu, dis := schema.LevelSatisfied, schema.LevelVerySatisfied, schema.LevelNeutral, schema.LevelDissatisfied
	rate("anlao", dis, "2026-10-26 23:59:59.999999999") // before the 30 days
	rate("anlao", sat, "2026-10-27 00:00:00")           // first instant of the 30 days
	rate("anlao", sat, "2026-11-24 23:59:59.999999999") // yesterday's last instant
	session("2026-11-24 23:59:59")
	rate("anlao", dis, "2026-11-25 00:00:00") // today's first instant
	rate("anlao", vsat, "2026-11-25 07:00:00")
	rate("anlao", neu, "2026-11-25 07:59:59.999999999")
	rate("anlao", sat, "2026-11-25 08:00:00")
	session("2026-11-25 07:30:00")
	session("2026-11-25 07:45:00")
	rate("anlao", sat, "2026-11-25 16:59:59")
	rate("anlao", sat, "2026-11-26 00:00:00") // tomorrow: outside both
	rate("baclieu", sat, "2026-11-25 07:10:00")
	i.Write(t, string(l.b))

	src := NewSource(Config{URL: i.URL(), Token: i.Token(), Bucket: i.Bucket(), Loc: loc})
	t.Cleanup(src.Close)
	now := at("2026-11-25 10:20:00")

	start, end := kpi.Bounds(kpi.PeriodToday, now, loc)
	hours, err := src.Series(t.Context(), "anlao", start, end, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	wantH := map[int]kpi.Point{0: {Ratings: 1}, 7: {Ratings: 2, Satisfied: 1, Sessions: 2}, 8: {Ratings: 1, Satisfied: 1}, 16: {Ratings: 1, Satisfied: 1}}
	if len(hours) != 24 {
		t.Fatalf("%d hourly points, want 24", len(hours))
	}
	for h, p := range hours {
		w := wantH[h]
		w.Start = start.Add(time.Duration(h) * time.Hour)
		if !p.Start.Equal(w.Start) || p.Ratings != w.Ratings || p.Satisfied != w.Satisfied || p.Sessions != w.Sessions {
			t.Errorf("hour %d: %+v, want %+v", h, p, w)
		}
	}

	start, end = kpi.Last30Days(now, loc)
	if !start.Equal(at("2026-10-27 00:00:00")) || !end.Equal(at("2026-11-26 00:00:00")) {
		t.Fatalf("Last30Days = %v..%v", start, end)
	}
	days, err := src.Series(t.Context(), "anlao", start, end, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 30 {
		t.Fatalf("%d daily points, want 30", len(days))
	}
	wantD := map[int]kpi.Point{0: {Ratings: 1, Satisfied: 1}, 28: {Ratings: 1, Satisfied: 1, Sessions: 1}, 29: {Ratings: 5, Satisfied: 3, Sessions: 2}}
	for d, p := range days {
		w := wantD[d]
		w.Start = time.Date(2026, 10, 27+d, 0, 0, 0, 0, loc)
		if !p.Start.Equal(w.Start) || p.Ratings != w.Ratings || p.Satisfied != w.Satisfied || p.Sessions != w.Sessions {
			t.Errorf("day %d: %+v, want %+v", d, p, w)
		}
		if h, m, s := p.Start.In(loc).Clock(); h+m+s != 0 {
			t.Errorf("day %d starts at %v, not local midnight", d, p.Start)
		}
	}

	if _, err := src.Series(t.Context(), "anlao", start, end, 15*time.Minute); err == nil {
		t.Error("a 15 min step was accepted")
	}
	if _, err := src.Series(t.Context(), "x' OR 1=1", start, end, time.Hour); err == nil {
		t.Error("an invalid site was accepted")
	}
}
