package board

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"reflect"
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
	b := anlaoBoard(t, &clock, opts...)
	b.Apply(&schema.Occupancy{Header: schema.Header{ID: "o1", TS: t0.UTC(), Site: "anlao"}, Camera: "cam1", Counter: "c01", Zone: schema.ZoneStaff})
	for d := 10 * time.Second; d <= 11*time.Minute; d += 10 * time.Second {
		b.Apply(&schema.Camera{Header: schema.Header{ID: fmt.Sprintf("h%d", d), TS: t0.Add(d).UTC(), Site: "anlao"}, Camera: "cam1", Up: true, FPS: 10})
	}
	b.Apply(&schema.Rating{Header: schema.Header{ID: "r1", TS: t0.UTC(), Site: "anlao"}, Counter: "c01", Kiosk: "k01", Level: schema.LevelDissatisfied})
	if got := b.Tick(kpi.DefaultWorkHours()); len(got) != 1 {
		t.Fatalf("no unstaffed alert: %v", got)
	}
	return snapshot(t, b)
}

// anlaoBoard is a board of An Lão's one counter, c01, reloaded, whose
// clock reads *clock.
func anlaoBoard(t *testing.T, clock *time.Time, opts ...Option) *Board {
	t.Helper()
	b := New([]kpi.Site{{ID: "anlao", Name: "An Lão", Counters: []kpi.Counter{{ID: "c01", NameVI: "Quầy 1", NameEN: "Counter 1"}}}},
		fakeLoader{}, ict, kpi.DefaultTargets(), kpi.DefaultSatisfied(), slog.New(slog.NewTextHandler(io.Discard, nil)),
		func() time.Time { return *clock }, opts...)
	if err := b.Reload(context.Background(), "anlao"); err != nil {
		t.Fatal(err)
	}
	return b
}

// snapshot is anlao's snapshot, in the struct and as JSON.
func snapshot(t *testing.T, b *Board) (Snapshot, map[string]any) {
	t.Helper()
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

// tileOf returns the snapshot's tile of c01, in the struct and as JSON.
func tileOf(t *testing.T, s Snapshot, m map[string]any) (CounterJSON, map[string]any) {
	t.Helper()
	if len(s.Counters) != 1 || s.Counters[0].ID != "c01" {
		t.Fatalf("counters %+v", s.Counters)
	}
	return s.Counters[0], m["counters"].([]any)[0].(map[string]any)
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
	// Once for the alert, then for the tile at each snapshot: always of
	// c01 at the camera's last report.
	if len(asked) == 0 {
		t.Error("the roster was not asked")
	}
	for _, q := range asked {
		if q.site != "anlao" || q.counter != "c01" || !q.at.Equal(seen) {
			t.Errorf("the roster was asked %+v", asked)
		}
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
	// The tile, still unstaffed, shows the same facts as its alert.
	c, cj := tileOf(t, s, m)
	if c.Facts == nil || !reflect.DeepEqual(*c.Facts, *a.Facts) {
		t.Errorf("the tile's facts %+v, want the alert's %+v", c.Facts, a.Facts)
	}
	if !reflect.DeepEqual(cj["facts"], j["facts"]) {
		t.Errorf("the tile's facts JSON %v, want the alert's %v", cj["facts"], j["facts"])
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
		// The replay is history: the tile shows no live absence's facts.
		if c, cj := tileOf(t, s, m); c.Facts != nil || cj["facts"] != nil {
			t.Errorf("%s: the tile's facts %+v from a replay", name, c.Facts)
		}
	}
}

// A tile's live "unstaffed" carries its facts from the moment the seat
// empties in working hours, before any alert; none once the seat is
// taken again, while the agent does not know, while the camera is down
// or silent, or at lunch.
func TestUnstaffedTileFacts(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, ict) // a Wednesday
	clock := t0.Add(5 * time.Second)
	roster := func(string, string, time.Time) (string, string, string, bool) {
		return "lan", "Nguyễn Thị Lan", "/officials/lan?range=2026-11-25", true
	}
	b := anlaoBoard(t, &clock, WithRoster(roster))
	hours := kpi.DefaultWorkHours()
	seat := func(id string, at time.Duration, occupied bool, state schema.ZoneState) {
		b.Apply(&schema.Occupancy{Header: schema.Header{ID: id, TS: t0.Add(at).UTC(), Site: "anlao"}, Camera: "cam1", Counter: "c01",
			Zone: schema.ZoneStaff, Occupied: occupied, State: state})
	}
	camera := func(at time.Duration, up bool) {
		b.Apply(&schema.Camera{Header: schema.Header{ID: fmt.Sprintf("h%d", at), TS: t0.Add(at).UTC(), Site: "anlao"}, Camera: "cam1", Up: up, FPS: 10})
	}
	// tile ticks at clock, as the server does before each push, and
	// returns c01's tile.
	tile := func() (CounterJSON, map[string]any) {
		t.Helper()
		b.Tick(hours)
		s, m := snapshot(t, b)
		return tileOf(t, s, m)
	}
	none := func(why string) {
		t.Helper()
		c, cj := tile()
		if _, has := cj["facts"]; has || c.Facts != nil {
			t.Errorf("%s: the tile carries facts %v", why, cj["facts"])
		}
	}

	seat("o1", 0, false, schema.ZoneVacant)
	if s, m := snapshot(t, b); s.Counters[0].Facts != nil || m["counters"].([]any)[0].(map[string]any)["facts"] != nil {
		t.Errorf("facts before the first Tick said what the working hours are: %+v", s.Counters[0].Facts)
	}
	for d := 10 * time.Second; d <= 3*time.Minute; d += 10 * time.Second {
		camera(d, true)
	}
	clock = t0.Add(3*time.Minute + 5*time.Second)
	c, cj := tile()
	seen := t0.Add(3 * time.Minute)
	if c.Staffed == nil || *c.Staffed || c.Facts == nil || !c.Facts.VacantSince.Equal(t0) || c.Facts.Camera != "cam1" ||
		!c.Facts.CameraSeenUntil.Equal(seen) || !c.Facts.CoverageCurrent || c.Facts.Roster == nil || !c.Facts.Roster.At.Equal(seen) ||
		c.Facts.Roster.Official == nil || c.Facts.Roster.Official.ID != "lan" {
		t.Fatalf("unstaffed 3 minutes: staffed %v, facts %+v", c.Staffed, c.Facts)
	}
	f, _ := cj["facts"].(map[string]any)
	for key, v := range map[string]any{"vacant_since": "2026-11-25T02:00:00Z", "camera": "cam1", "camera_seen_until": "2026-11-25T02:03:00Z", "coverage_current": true} {
		if f[key] != v {
			t.Errorf("the tile's facts.%s = %v, want %v (%v)", key, f[key], v, cj)
		}
	}
	if o, _ := f["roster"].(map[string]any)["official"].(map[string]any); o["url"] != "/officials/lan?range=2026-11-25" {
		t.Errorf("the tile's facts.roster = %v", f["roster"])
	}

	seat("o2", 4*time.Minute, true, schema.ZoneOccupied)
	clock = t0.Add(4*time.Minute + 5*time.Second)
	none("staffed again")

	seat("o3", 5*time.Minute, false, schema.ZoneVacant)
	camera(6*time.Minute, false)
	clock = t0.Add(6*time.Minute + 5*time.Second)
	none("camera down")
	camera(7*time.Minute, true)
	clock = t0.Add(7*time.Minute + 5*time.Second)
	if c, _ := tile(); c.Facts == nil || !c.Facts.VacantSince.Equal(t0.Add(5*time.Minute)) || !c.Facts.CameraSeenUntil.Equal(t0.Add(7*time.Minute)) {
		t.Errorf("the camera back up: facts %+v", c.Facts)
	}

	seat("o4", 8*time.Minute, false, schema.ZoneUnknown)
	clock = t0.Add(8*time.Minute + 5*time.Second)
	none("the seat unknown")

	seat("o5", 9*time.Minute, false, schema.ZoneVacant)
	clock = t0.Add(11 * time.Minute) // nothing from the camera since 09:09
	none("camera silent")

	camera(3*time.Hour+30*time.Minute, true) // 12:30, lunch
	clock = t0.Add(3*time.Hour + 30*time.Minute + 5*time.Second)
	none("at lunch")
}
