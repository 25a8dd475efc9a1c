package board

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/schema"
)

// absence raises an "unstaffed" alert at c01 of anlao: the seat empty at
// 09:00 on a Wednesday, its camera reporting every 10 s to 09:11, the
// board's clock at clock. It returns the board's snapshot as JSON, and
// the lookups the roster was asked.
func absence(t *testing.T, clock time.Time, opts ...Option) (Snapshot, map[string]any) {
	t.Helper()
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, ict)
	b := New([]kpi.Site{{ID: "anlao", Name: "An Lão", Counters: []kpi.Counter{{ID: "c01", NameVI: "Quầy 1", NameEN: "Counter 1"}}}},
		fakeLoader{}, ict, kpi.DefaultTargets(), kpi.DefaultSatisfied(), slog.New(slog.NewTextHandler(io.Discard, nil)),
		func() time.Time { return clock }, opts...)
	if err := b.Reload(context.Background(), "anlao"); err != nil {
		t.Fatal(err)
	}
	b.Apply(&schema.Occupancy{Header: schema.Header{ID: "o1", TS: t0.UTC(), Site: "anlao"}, Camera: "cam1", Counter: "c01", Zone: schema.ZoneStaff})
	for d := 10 * time.Second; d <= 11*time.Minute; d += 10 * time.Second {
		b.Apply(&schema.Camera{Header: schema.Header{ID: fmt.Sprintf("h%d", d), TS: t0.Add(d).UTC(), Site: "anlao"}, Camera: "cam1", Up: true, FPS: 10})
	}
	b.Apply(&schema.Rating{Header: schema.Header{ID: "r1", TS: t0.UTC(), Site: "anlao"}, Counter: "c01", Kiosk: "k01", Level: schema.LevelDissatisfied})
	if got := b.Tick(kpi.DefaultWorkHours()); len(got) != 1 {
		t.Fatalf("no unstaffed alert: %v", got)
	}
	s, _ := b.Snapshot("anlao")
	raw, err := b.SnapshotJSON("anlao", nil)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return s, m
}

var ict = time.FixedZone("ICT", 7*3600)

// alertOf returns the snapshot's alert of kind, in the struct and as JSON.
func alertOf(t *testing.T, s Snapshot, m map[string]any, kind string) (Alert, map[string]any) {
	t.Helper()
	for i, a := range s.Alerts {
		if a.Kind == kind {
			return a, m["alerts"].([]any)[i].(map[string]any)
		}
	}
	t.Fatalf("no %s alert in %+v", kind, s.Alerts)
	return Alert{}, nil
}

// An "unstaffed" alert carries its facts: since when the seat was empty,
// the camera and its last report, live when raised; with a roster, who
// was rostered then, with the link to their page for the day. Other
// alerts carry none.
func TestUnstaffedFactsRostered(t *testing.T) {
	type ask struct {
		site, counter string
		at            time.Time
	}
	var asked []ask
	roster := func(site, counter string, at time.Time) (string, string, string, bool) {
		asked = append(asked, ask{site, counter, at})
		return "lan", "Nguyễn Thị Lan", "/officials/lan?range=2026-11-25", true
	}
	seen := time.Date(2026, 11, 25, 9, 11, 0, 0, ict)
	s, m := absence(t, seen.Add(5*time.Second), WithRoster(roster))
	a, j := alertOf(t, s, m, "unstaffed")
	want := Facts{VacantSince: time.Date(2026, 11, 25, 9, 0, 0, 0, ict), Camera: "cam1", CameraSeenUntil: seen, CoverageCurrent: true,
		Roster: &RosterFacts{At: seen, Official: &RosteredOfficial{ID: "lan", Name: "Nguyễn Thị Lan", URL: "/officials/lan?range=2026-11-25"}}}
	if a.Facts == nil || !a.Facts.VacantSince.Equal(want.VacantSince) || !a.Facts.CameraSeenUntil.Equal(seen) || a.Facts.Camera != "cam1" ||
		!a.Facts.CoverageCurrent || a.Facts.Roster == nil || !a.Facts.Roster.At.Equal(seen) || *a.Facts.Roster.Official != *want.Roster.Official {
		t.Fatalf("facts %+v, want %+v", a.Facts, want)
	}
	if len(asked) != 1 || asked[0].site != "anlao" || asked[0].counter != "c01" || !asked[0].at.Equal(seen) {
		t.Errorf("the roster was asked %+v", asked)
	}
	f := j["facts"].(map[string]any)
	for key, v := range map[string]any{"vacant_since": "2026-11-25T02:00:00Z", "camera": "cam1", "camera_seen_until": "2026-11-25T02:11:00Z", "coverage_current": true} {
		if f[key] != v {
			t.Errorf("facts.%s = %v, want %v (%v)", key, f[key], v, f)
		}
	}
	o := f["roster"].(map[string]any)["official"].(map[string]any)
	if o["id"] != "lan" || o["name"] != "Nguyễn Thị Lan" || o["url"] != "/officials/lan?range=2026-11-25" {
		t.Errorf("facts.roster.official = %v", o)
	}
	if _, r := alertOf(t, s, m, "dissatisfied"); r["facts"] != nil {
		t.Errorf("a rating's alert with facts: %v", r)
	}
}

// Nobody rostered at the counter then: the roster part says so (no
// official), which the page reads as "không có lịch trực".
func TestUnstaffedFactsNobodyRostered(t *testing.T) {
	nobody := func(string, string, time.Time) (string, string, string, bool) { return "", "", "", false }
	s, m := absence(t, time.Date(2026, 11, 25, 9, 11, 5, 0, ict), WithRoster(nobody))
	a, j := alertOf(t, s, m, "unstaffed")
	if a.Facts == nil || a.Facts.Roster == nil || a.Facts.Roster.Official != nil {
		t.Fatalf("facts %+v", a.Facts)
	}
	r, ok := j["facts"].(map[string]any)["roster"].(map[string]any)
	if !ok || r["at"] != "2026-11-25T02:11:00Z" || r["official"] != nil {
		t.Errorf("facts.roster = %v", j["facts"])
	}
}

// Without a roster (none configured, or WithRoster(nil)), the facts say
// nothing of people; an absence measured on events that arrived late (a
// spool replayed hours later) says its coverage was not current.
func TestUnstaffedFactsNoRoster(t *testing.T) {
	for name, opts := range map[string][]Option{"no option": nil, "nil roster": {WithRoster(nil)}} {
		s, m := absence(t, time.Date(2026, 11, 25, 13, 45, 0, 0, ict), opts...)
		a, j := alertOf(t, s, m, "unstaffed")
		if a.Facts == nil || a.Facts.Roster != nil || a.Facts.CoverageCurrent || a.Facts.Camera != "cam1" {
			t.Errorf("%s: facts %+v", name, a.Facts)
		}
		f := j["facts"].(map[string]any)
		if _, has := f["roster"]; has || f["coverage_current"] != false || f["vacant_since"] != "2026-11-25T02:00:00Z" {
			t.Errorf("%s: facts JSON %v", name, f)
		}
	}
}
