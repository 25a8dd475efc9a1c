package insights

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/kpidb"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/testenv"
)

// TestWithInfluxDB serves March 2026 of a site from a real InfluxDB
// through kpidb, as the dashboard will: what was written is what the page
// and the workbook show.
//
//   - March 2026: c01 31 satisfied + 1 dissatisfied = 32 ratings (ranked,
//     96.875 %); c02 3 satisfied (not ranked); 35 of 35 satisfied site-wide
//     minus one: 34/35 = 97.142857 %. Dossiers: procedure P1 2 on time,
//     P2 1 late (2 days): 2/3 on time, P2 first.
//   - March 2025: 10 ratings, 5 satisfied (50 %): +47.142857 points.
func TestWithInfluxDB(t *testing.T) {
	i := testenv.StartInflux(t)
	var b []byte
	n := 0
	add := func(ev schema.Event) {
		if err := ev.Validate(time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
			t.Fatalf("seed %+v: %v", ev, err)
		}
		b = ev.AppendLine(b)
	}
	at := func(y int) time.Time {
		n++
		return time.Date(y, time.March, 3, 8, 0, n, 0, vn).UTC()
	}
	rate := func(y int, counter string, lv schema.Level) {
		add(&schema.Rating{Header: schema.Header{ID: fmt.Sprintf("r%d", n), TS: at(y), Site: "anlao"}, Counter: counter, Kiosk: "k" + counter, Level: lv})
	}
	for range 31 {
		rate(2026, "c01", schema.LevelSatisfied)
	}
	rate(2026, "c01", schema.LevelDissatisfied)
	for range 3 {
		rate(2026, "c02", schema.LevelVerySatisfied)
	}
	for k := range 10 {
		rate(2025, "c01", []schema.Level{schema.LevelSatisfied, schema.LevelNeutral}[k%2])
	}
	dossier := func(proc string, o schema.Outcome, late time.Duration) {
		ts := at(2026)
		add(&schema.Dossier{Header: schema.Header{ID: fmt.Sprintf("d%d", n), TS: ts, Site: "anlao"}, Dossier: fmt.Sprintf("HS-%d", n),
			Procedure: proc, Received: ts.Add(-240 * time.Hour), Due: ts.Add(-late), Resolved: ts, Outcome: o})
	}
	dossier("P1", schema.OutcomeOnTime, -time.Hour)
	dossier("P1", schema.OutcomeOnTime, -time.Hour)
	dossier("P2", schema.OutcomeLate, 48*time.Hour)
	i.Write(t, string(b))

	src := kpidb.NewSource(kpidb.Config{URL: i.URL(), Token: i.Token(), Bucket: i.Bucket(), Loc: vn})
	t.Cleanup(src.Close)
	sites := []kpi.Site{{ID: "anlao", Name: "An Lão", Counters: []kpi.Counter{{ID: "c01", NameVI: "Quầy 1"}, {ID: "c02", NameVI: "Quầy 2"}}}}
	h, err := New(Config{Sites: sites, Loc: vn, Targets: kpi.DefaultTargets(), Allowed: func(*http.Request, string) bool { return true },
		Now: func() time.Time { return time.Date(2026, time.June, 1, 0, 0, 0, 0, vn) }}, src, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}

	w := do(h.JSON(), http.MethodGet, march)
	if w.Code != http.StatusOK {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	var v View
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	o := v.Overview
	if o.This.Ratings != 35 || o.This.Satisfied != 34 || o.LastYear.Ratings != 10 || o.SatisfiedDeltaPP == nil ||
		fmt.Sprintf("%.6f", *o.SatisfiedDeltaPP) != "47.142857" || o.This.Dossiers != 3 || o.OnTimeDeltaPP != nil {
		t.Errorf("overview %+v, deltas %v %v", o, o.SatisfiedDeltaPP, o.OnTimeDeltaPP)
	}
	if l := v.Counters.List; len(l) != 2 || l[0].ID != "c01" || l[0].SatisfactionRank == nil || *l[0].SatisfactionRank != 1 ||
		l[0].Satisfaction.Pct != 96.875 || l[1].SatisfactionRank != nil {
		t.Errorf("counters %+v", l)
	}
	if p := v.Procedures.List; len(p) != 2 || p[0].Procedure != "P2" || p[0].Late != 1 || p[1].OnTimeOrEarly != 2 {
		t.Errorf("procedures %+v", p)
	}
	if l := v.Late; l.Total != 1 || len(l.Dossiers) != 1 || *l.Dossiers[0].DaysLate != 2 || l.Dossiers[0].Procedure != "P2" {
		t.Errorf("late %+v", l)
	}

	w = do(h.XLSX(), http.MethodGet, march)
	f, err := excelize.OpenReader(bytes.NewReader(w.Body.Bytes()))
	if err != nil {
		t.Fatal(w.Code, err)
	}
	defer f.Close()
	for ref, want := range map[string]string{"B8": "35", "C8": "10", "D8": "25", "C7": "50.0%", "D7": "+47.1"} {
		if got, _ := f.GetCellValue(SheetOverview, ref); got != want {
			t.Errorf("%s = %q, want %q", ref, got, want)
		}
	}
}
