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
	"github.com/pscm/pscm/internal/kpidb"
	"github.com/pscm/pscm/internal/schema"
)

// fakeLoader returns the same year-like stats for every period (unit test:
// kpi's own tests cover the queries against a real InfluxDB).
type fakeLoader struct{}

func (fakeLoader) Load(_ context.Context, site string, start, end time.Time) (kpi.Stats, map[string]kpi.Stats, error) {
	s := kpi.Stats{
		Ratings:      map[schema.Level]int64{schema.LevelVerySatisfied: 500, schema.LevelSatisfied: 460, schema.LevelNeutral: 30, schema.LevelDissatisfied: 10},
		RatingsTotal: 1000, Satisfied: 960, HasRatings: true, SatisfiedPct: 96,
		Dossiers:      map[schema.Outcome]int64{schema.OutcomeEarly: 400, schema.OutcomeOnTime: 91, schema.OutcomeLate: 9},
		DossiersTotal: 500, OnTime: 491, HasDossiers: true, OnTimePct: 98.2,
	}
	return s, map[string]kpi.Stats{"c01": {RatingsTotal: 10, Satisfied: 9, HasRatings: true, SatisfiedPct: 90,
		Ratings: map[schema.Level]int64{schema.LevelSatisfied: 9, schema.LevelNeutral: 1}}}, nil
}

func (f fakeLoader) LoadTotals(ctx context.Context, site string, start, end time.Time) (kpi.Stats, map[string]kpi.Stats, error) {
	return f.Load(ctx, site, start, end)
}

// YearVolume answers a whole last year of 20,000 ratings and none of
// dossiers on record.
func (fakeLoader) YearVolume(context.Context, string, time.Time, time.Time) (kpi.Volume, error) {
	return kpi.Volume{Ratings: 20000}, nil
}

// DissatisfiedRatings has none: the test of reloaded alerts uses its own.
func (fakeLoader) DissatisfiedRatings(context.Context, string, time.Time, time.Time) ([]kpidb.Dissatisfied, error) {
	return nil, nil
}

// unhappyLoader has two dissatisfied ratings today, newest first.
type unhappyLoader struct {
	fakeLoader
	at time.Time
}

func (u unhappyLoader) DissatisfiedRatings(context.Context, string, time.Time, time.Time) ([]kpidb.Dissatisfied, error) {
	return []kpidb.Dissatisfied{
		{ID: "r2", TS: u.at.Add(-time.Minute), Counter: "c01", Reasons: []string{"wait"}},
		{ID: "r1", TS: u.at.Add(-time.Hour), Counter: "c01"},
	}, nil
}

// A dashboard that restarts raises today's dissatisfied ratings again from
// the data, each its own alert with its reasons, newest on top, and an
// acknowledgement on record shows on its alert again; a reload does not
// list them twice.
func TestAlertsReloaded(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.FixedZone("ICT", 7*3600))
	b := New([]kpi.Site{{ID: "anlao", Name: "Trung tâm An Lão", Counters: []kpi.Counter{{ID: "c01", NameVI: "Quầy 1", NameEN: "Counter 1"}}}},
		unhappyLoader{at: now}, time.FixedZone("ICT", 7*3600), kpi.DefaultTargets(), kpi.DefaultSatisfied(),
		slog.New(slog.NewTextHandler(io.Discard, nil)), func() time.Time { return now },
		WithReasons(kpi.Reasons{{ID: "wait", LabelVI: "Chờ lâu", LabelEN: "Long wait"}}))
	seen := Ack{By: "lan", Name: "Nguyễn Thị Lan", At: now.Add(-50 * time.Minute)}
	b.RememberAck("anlao", "rating/r1", seen)
	for range 2 {
		if err := b.Reload(context.Background(), "anlao"); err != nil {
			t.Fatal(err)
		}
	}
	s, _ := b.Snapshot("anlao")
	if len(s.Alerts) != 2 || s.Alerts[0].ID != "rating/r2" || s.Alerts[1].ID != "rating/r1" {
		t.Fatalf("alerts %+v", s.Alerts)
	}
	if s.Alerts[0].TextVI != "Đánh giá không hài lòng tại Quầy 1: Chờ lâu" || s.Alerts[0].Ack != nil {
		t.Errorf("newest %+v", s.Alerts[0])
	}
	if a := s.Alerts[1].Ack; a == nil || *a != seen {
		t.Errorf("acknowledgement on record not shown: %+v", s.Alerts[1])
	}
}

// Series returns every bucket with one satisfied rating and one session,
// as the board's Reload asks for them.
func (fakeLoader) Series(_ context.Context, site string, start, end time.Time, step time.Duration) ([]kpi.Point, error) {
	var out []kpi.Point
	for t := start; t.Before(end); {
		out = append(out, kpi.Point{Start: t, Ratings: 1, Satisfied: 1, Sessions: 1})
		if step == 24*time.Hour {
			t = t.AddDate(0, 0, 1)
		} else {
			t = t.Add(step)
		}
	}
	return out, nil
}

func newBoard(now time.Time) *Board {
	return New([]kpi.Site{{ID: "anlao", Name: "Trung tâm An Lão", Counters: []kpi.Counter{{ID: "c01", NameVI: "Quầy 1", NameEN: "Counter 1"}}}},
		fakeLoader{}, time.FixedZone("ICT", 7*3600), kpi.DefaultTargets(), kpi.DefaultSatisfied(),
		slog.New(slog.NewTextHandler(io.Discard, nil)), func() time.Time { return now })
}

func TestSnapshotAndLive(t *testing.T) {
	now := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	b := newBoard(now)
	if err := b.Reload(context.Background(), "anlao"); err != nil {
		t.Fatal(err)
	}
	s, ok := b.Snapshot("anlao")
	if !ok {
		t.Fatal("no snapshot")
	}
	if s.Periods[kpi.PeriodYear].SatisfiedPct != 96 || s.Periods[kpi.PeriodYear].OnTimePct != 98.2 {
		t.Fatalf("year %+v", s.Periods[kpi.PeriodYear])
	}
	// Ratings on last year's 20,000 (the loader's whole year): 960
	// satisfied and 19,000 to come leave room for 959 not satisfied
	// (19,041/20,000 = 95.005 %). Dossiers, with no whole last year: on
	// 25 November, 98.5 % of the reporting year gone (it began on
	// 1 December), 500 make a year of about 508, room for 1 more late.
	if s.Budget != (BudgetJSON{DissatisfiedLeft: 959, LateLeft: 1, RatingsBasis: kpi.BasisLastYear, ExpectedRatings: 20000,
		DossiersBasis: kpi.BasisExtrapolated, ExpectedDossiers: 508}) {
		t.Fatalf("budget %+v", s.Budget)
	}
	// The tabs' dates, one calendar: the half-year and the year are the
	// report's (2026H2 and the reporting year 2026 on 25 November), the
	// week is ISO's, Monday to Sunday.
	for p, want := range map[kpi.Period]BoundsJSON{
		kpi.PeriodToday: {First: "2026-11-25", Last: "2026-11-25"},
		kpi.PeriodWeek:  {First: "2026-11-23", Last: "2026-11-29"},
		kpi.PeriodMonth: {First: "2026-11-01", Last: "2026-11-30"},
		kpi.PeriodHalf:  {First: "2026-06-01", Last: "2026-11-30", Label: "2026H2"},
		kpi.PeriodYear:  {First: "2025-12-01", Last: "2026-11-30", Label: "2026"},
	} {
		if got := s.Bounds[p]; got != want {
			t.Errorf("%s bounds %+v, want %+v", p, got, want)
		}
		if _, ok := s.Periods[p]; !ok {
			t.Errorf("no figures for %s", p)
		}
	}
	ev := &schema.Rating{Header: schema.Header{ID: "r1", TS: now.Add(-time.Minute), Site: "anlao"}, Counter: "c01", Kiosk: "k01", Level: schema.LevelDissatisfied}
	if site, changed := b.Apply(ev); site != "anlao" || !changed {
		t.Fatalf("apply: %s %v", site, changed)
	}
	b.Apply(ev) // redelivered: counted once
	s, _ = b.Snapshot("anlao")
	if got := s.Periods[kpi.PeriodToday].RatingsTotal; got != 1001 {
		t.Fatalf("today's ratings %d, want 1001", got)
	}
	if c := s.Counters[0]; c.Today.RatingsTotal != 11 || c.LastRating == nil || c.LastRating.Level != schema.LevelDissatisfied {
		t.Fatalf("counter %+v", c)
	}
	if len(s.Alerts) != 1 || s.Alerts[0].Kind != "dissatisfied" || s.Alerts[0].TextVI != "Đánh giá không hài lòng tại Quầy 1" {
		t.Fatalf("alerts %+v", s.Alerts)
	}
	// The budget shrinks by the live dissatisfied rating.
	if s.Budget.DissatisfiedLeft != 958 {
		t.Fatalf("budget after a dissatisfied rating: %+v", s.Budget)
	}
	// Series: 24 hours of today, 30 days; the live rating (09:59 local,
	// dissatisfied) counted once in its hour and today.
	if len(s.Series.TodayByHour) != 24 || len(s.Series.Last30Days) != 30 {
		t.Fatalf("series: %d hours, %d days", len(s.Series.TodayByHour), len(s.Series.Last30Days))
	}
	if h := s.Series.TodayByHour[9]; h.Ratings != 2 || h.Satisfied != 1 || h.Start.Hour() != 9 {
		t.Fatalf("hour 9: %+v", h)
	}
	if h := s.Series.TodayByHour[10]; h.Ratings != 1 {
		t.Fatalf("hour 10: %+v", h)
	}
	if d := s.Series.Last30Days[29]; d.Ratings != 2 || d.Satisfied != 1 || !d.Start.Equal(time.Date(2026, 11, 25, 0, 0, 0, 0, time.FixedZone("", 7*3600))) {
		t.Fatalf("today: %+v", d)
	}
	if d := s.Series.Last30Days[0]; !d.Start.Equal(time.Date(2026, 10, 27, 0, 0, 0, 0, time.FixedZone("", 7*3600))) || d.Ratings != 1 {
		t.Fatalf("first day: %+v", d)
	}
	b.Apply(&schema.Rating{Header: schema.Header{ID: "r2", TS: now, Site: "anlao"}, Counter: "c01", Kiosk: "k01", Level: schema.LevelVerySatisfied})
	s, _ = b.Snapshot("anlao")
	if h, d := s.Series.TodayByHour[10], s.Series.Last30Days[29]; h.Ratings != 2 || h.Satisfied != 2 || d.Ratings != 3 || d.Satisfied != 2 {
		t.Fatalf("after a satisfied rating at 10:00: hour %+v, day %+v", h, d)
	}
	occ := &schema.Occupancy{Header: schema.Header{ID: "o1", TS: now, Site: "anlao"}, Camera: "cam1", Counter: "c01", Zone: schema.ZoneStaff, Occupied: true}
	b.Apply(occ)
	s, _ = b.Snapshot("anlao")
	if s.Counters[0].Staffed == nil || !*s.Counters[0].Staffed {
		t.Fatal("staffed not set")
	}
	raw, err := b.SnapshotJSON("anlao", &UserJSON{Name: "lan"})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil || m["type"] != "snapshot" || m["periods"].(map[string]any)["year"] == nil {
		t.Fatalf("json %s: %v", raw, err)
	}
	series, _ := m["series"].(map[string]any)
	if hours, _ := series["today_by_hour"].([]any); len(hours) != 24 || hours[0].(map[string]any)["start"] != "2026-11-25T00:00:00+07:00" || hours[0].(map[string]any)["satisfied"] != 1.0 {
		t.Fatalf("series json %v", series)
	}
	if _, changed := b.Apply(&schema.Rating{Header: schema.Header{ID: "x", TS: now, Site: "other"}, Counter: "c01", Kiosk: "k01", Level: schema.LevelNeutral}); changed {
		t.Fatal("event of an unknown site changed the board")
	}
}

func TestUnstaffedAlert(t *testing.T) {
	loc := time.FixedZone("ICT", 7*3600)
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, loc) // a Wednesday, 09:00
	clock := now
	b := New([]kpi.Site{{ID: "anlao", Name: "An Lão", Counters: []kpi.Counter{{ID: "c01", NameVI: "Quầy 1", NameEN: "Counter 1"}}}},
		fakeLoader{}, loc, kpi.DefaultTargets(), kpi.DefaultSatisfied(),
		slog.New(slog.NewTextHandler(io.Discard, nil)), func() time.Time { return clock })
	if err := b.Reload(context.Background(), "anlao"); err != nil {
		t.Fatal(err)
	}
	vacant := &schema.Occupancy{Header: schema.Header{ID: "o1", TS: now.UTC(), Site: "anlao"}, Camera: "cam1", Counter: "c01", Zone: schema.ZoneStaff, Occupied: false}
	b.Apply(vacant)
	// The camera reports every 10 s; its reports are the event time.
	watching := func(from, to time.Duration) {
		for d := from; d <= to; d += 10 * time.Second {
			b.Apply(&schema.Camera{Header: schema.Header{ID: fmt.Sprintf("h%d", d), TS: now.Add(d).UTC(), Site: "anlao"}, Camera: "cam1", Up: true, FPS: 10})
		}
	}
	watching(10*time.Second, 5*time.Minute)
	clock = now.Add(5 * time.Minute)
	if got := b.Tick(kpi.DefaultWorkHours()); len(got) != 0 {
		t.Fatal("alert after a 5-minute break")
	}
	// The wall clock alone proves nothing: 3 hours later with no newer
	// event from the camera (an uplink outage), no alert.
	clock = now.Add(3 * time.Hour)
	if got := b.Tick(kpi.DefaultWorkHours()); len(got) != 0 {
		t.Fatal("alert from the wall clock while the camera's events had not arrived")
	}
	watching(5*time.Minute+10*time.Second, 11*time.Minute)
	if got := b.Tick(kpi.DefaultWorkHours()); len(got) != 1 {
		t.Fatal("no alert after 11 minutes of event time")
	}
	if got := b.Tick(kpi.DefaultWorkHours()); len(got) != 0 {
		t.Fatal("the same absence alerted twice")
	}
	s, _ := b.Snapshot("anlao")
	if len(s.Alerts) != 1 || s.Alerts[0].Kind != "unstaffed" || s.Alerts[0].TextVI != "Quầy 1 không có cán bộ 11 phút trong giờ làm việc" {
		t.Fatalf("alerts %+v", s.Alerts)
	}
	// Outside working hours nothing is raised.
	b.Apply(&schema.Occupancy{Header: schema.Header{ID: "o2", TS: now.Add(12 * time.Minute).UTC(), Site: "anlao"}, Camera: "cam1", Counter: "c01", Zone: schema.ZoneStaff, Occupied: true})
	b.Apply(&schema.Occupancy{Header: schema.Header{ID: "o3", TS: now.Add(3 * time.Hour).UTC(), Site: "anlao"}, Camera: "cam1", Counter: "c01", Zone: schema.ZoneStaff, Occupied: false})
	clock = time.Date(2026, 11, 25, 12, 30, 0, 0, loc) // lunch
	if got := b.Tick(kpi.DefaultWorkHours()); len(got) != 0 {
		t.Fatal("alert at lunch time")
	}
}

// TestEveryDissatisfiedRatingAlerts: two dissatisfied ratings at one
// counter 57 s apart are two alerts (issue 14: the second raised nothing,
// swallowed by a de-duplication meant for cameras); the same rating sent
// again with the reasons the citizen ticked updates its own line, named in
// Vietnamese and English; a camera repeating "down" is still one line.
func TestEveryDissatisfiedRatingAlerts(t *testing.T) {
	now := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	b := newBoard(now)
	if err := b.Reload(context.Background(), "anlao"); err != nil {
		t.Fatal(err)
	}
	rating := func(id string, ts time.Time, reasons ...string) *schema.Rating {
		return &schema.Rating{Header: schema.Header{ID: id, TS: ts, Site: "anlao"}, Counter: "c01", Kiosk: "k01",
			Level: schema.LevelDissatisfied, Reasons: reasons}
	}
	b.Apply(rating("r1", now.Add(-2*time.Minute)))
	b.Apply(rating("r2", now.Add(-2*time.Minute+57*time.Second)))
	b.Apply(rating("r1", now.Add(-2*time.Minute), "cho-lau", "thai-do", "khac"))
	for range 3 {
		b.Apply(&schema.Camera{Header: schema.Header{ID: "cam", TS: now, Site: "anlao"}, Camera: "cam1", Up: false})
	}
	s, _ := b.Snapshot("anlao")
	var dissatisfied []Alert
	cameras := 0
	for _, a := range s.Alerts {
		switch a.Kind {
		case "dissatisfied":
			dissatisfied = append(dissatisfied, a)
		case "camera_down":
			cameras++
		}
	}
	if len(dissatisfied) != 2 || cameras != 1 {
		t.Fatalf("%d dissatisfied and %d camera alerts, want 2 and 1: %+v", len(dissatisfied), cameras, s.Alerts)
	}
	var withReasons *Alert
	for i := range dissatisfied {
		if len(dissatisfied[i].ReasonsVI) > 0 {
			withReasons = &dissatisfied[i]
		}
	}
	if withReasons == nil || withReasons.TextVI != "Đánh giá không hài lòng tại Quầy 1: Chờ lâu, Thái độ, khac" ||
		withReasons.TextEN != "Dissatisfied rating at Counter 1: Long wait, Attitude, khac" {
		t.Errorf("the rating's reasons: %+v", withReasons)
	}
}

// TestUnstaffedNeverFromReplay: an uplink outage replayed in order (the
// seat empty five minutes, then taken again, all arriving hours later)
// raises no "unstaffed" alert (issue 14: "Quầy 6 không có cán bộ 186 phút"
// for a seat empty five minutes); a camera that goes down while the seat
// is empty raises "camera down", never "unstaffed".
func TestUnstaffedNeverFromReplay(t *testing.T) {
	loc := time.FixedZone("ICT", 7*3600)
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, loc)
	clock := t0.Add(4*time.Hour + 45*time.Minute) // the replay arrives at 13:45, in working hours
	b := New([]kpi.Site{{ID: "anlao", Name: "An Lão", Counters: []kpi.Counter{{ID: "c01", NameVI: "Quầy 1", NameEN: "Counter 1"}, {ID: "c02", NameVI: "Quầy 2", NameEN: "Counter 2"}}}},
		fakeLoader{}, loc, kpi.DefaultTargets(), kpi.DefaultSatisfied(),
		slog.New(slog.NewTextHandler(io.Discard, nil)), func() time.Time { return clock })
	if err := b.Reload(context.Background(), "anlao"); err != nil {
		t.Fatal(err)
	}
	occ := func(id, cam, counter string, at time.Duration, occupied bool) {
		b.Apply(&schema.Occupancy{Header: schema.Header{ID: id, TS: t0.Add(at).UTC(), Site: "anlao"}, Camera: cam, Counter: counter, Zone: schema.ZoneStaff, Occupied: occupied})
	}
	health := func(cam string, at time.Duration, up bool) {
		b.Apply(&schema.Camera{Header: schema.Header{ID: fmt.Sprintf("%s-%d", cam, at), TS: t0.Add(at).UTC(), Site: "anlao"}, Camera: cam, Up: up, FPS: 10})
	}
	hours := kpi.DefaultWorkHours()
	occ("a1", "cam1", "c01", 0, false)
	occ("b1", "cam2", "c02", 0, false)
	health("cam2", time.Minute, false) // cam2 goes down with its seat empty
	for d := 10 * time.Second; d <= 5*time.Minute; d += 10 * time.Second {
		health("cam1", d, true)
		if got := b.Tick(hours); len(got) != 0 {
			t.Fatalf("alert while replaying minute %v", d)
		}
	}
	occ("a2", "cam1", "c01", 5*time.Minute, true)
	for d := 5*time.Minute + 10*time.Second; d <= 30*time.Minute; d += 10 * time.Second {
		health("cam1", d, true)
	}
	clock = clock.Add(time.Hour)
	if got := b.Tick(hours); len(got) != 0 {
		t.Fatalf("unstaffed raised for %v", got)
	}
	s, _ := b.Snapshot("anlao")
	for _, a := range s.Alerts {
		if a.Kind == "unstaffed" {
			t.Errorf("alert %+v", a)
		}
	}
	if len(s.Alerts) != 1 || s.Alerts[0].Kind != "camera_down" {
		t.Errorf("alerts %+v, want cam2's camera_down alone", s.Alerts)
	}

	// The agent says "unknown" for c01's seat (its view tampered with)
	// after the seat emptied: the tile says unknown, and however long the
	// camera keeps reporting, no absence is counted.
	occ("a3", "cam1", "c01", 31*time.Minute, false)
	b.Apply(&schema.Occupancy{Header: schema.Header{ID: "a4", TS: t0.Add(32 * time.Minute).UTC(), Site: "anlao"}, Camera: "cam1",
		Counter: "c01", Zone: schema.ZoneStaff, State: schema.ZoneUnknown})
	for d := 32*time.Minute + 10*time.Second; d <= 60*time.Minute; d += 10 * time.Second {
		health("cam1", d, true)
	}
	if got := b.Tick(hours); len(got) != 0 {
		t.Fatalf("unstaffed raised while the seat was unknown: %v", got)
	}
	s, _ = b.Snapshot("anlao")
	for _, c := range s.Counters {
		if c.ID == "c01" && c.Staffed != nil {
			t.Errorf("c01 staffed %v while its seat is unknown", *c.Staffed)
		}
	}
}
