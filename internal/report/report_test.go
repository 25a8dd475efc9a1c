package report

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"

	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/kpidb"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/testenv"
)

// The seeded half-year is 2026H1: 01/12/2025 to 31/05/2026 in Vietnam.
var (
	h1From = day(2025, 12, 1)
	h1To   = day(2026, 6, 1)
	// seedNow is the validation clock and the presence clock: after the period.
	seedNow = time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
)

// seed is what one site's data holds, the ground truth the report must show.
type seed struct {
	site                                   string
	veryS, sat, neutral, dissat            int // ratings by level
	early, onTime, late                    int // dossiers by outcome
	sessions                               int // session i (1-based) waits 6i s and takes 300+i s
	noShows                                int
	c02Until                               time.Time // c01's staff seat is taken all period, c02's until then
	monthRatings, monthSatisfied, monthOnT [6]int64
	monthDossiers                          [6]int64
}

// write seeds s into InfluxDB through the contract's line protocol, plus
// points just outside the period that must not count.
func (s *seed) write(t *testing.T, in *testenv.Influx) {
	t.Helper()
	var lines []byte
	add := func(e schema.Event) {
		if err := e.Validate(seedNow); err != nil {
			t.Fatalf("seed event invalid: %v", err)
		}
		lines = e.AppendLine(lines)
	}
	// at spreads item i over the six months, working hours, distinct seconds.
	at := func(i int) (time.Time, int) {
		m := i % 6
		start := h1From.AddDate(0, m, 0)
		return start.Add(time.Duration(1+(i/6)%27)*24*time.Hour + 9*time.Hour + time.Duration(i)*time.Second), m
	}
	total := s.veryS + s.sat + s.neutral + s.dissat
	for i := range total {
		lvl := schema.LevelDissatisfied
		switch {
		case i < s.veryS:
			lvl = schema.LevelVerySatisfied
		case i < s.veryS+s.sat:
			lvl = schema.LevelSatisfied
		case i < s.veryS+s.sat+s.neutral:
			lvl = schema.LevelNeutral
		}
		ts, m := at(i)
		c := "c01"
		if i%2 == 1 {
			c = "c02"
		}
		add(&schema.Rating{Header: schema.Header{ID: fmt.Sprintf("r%d", i), TS: ts.UTC(), Site: s.site}, Counter: c, Kiosk: "k" + c[1:], Level: lvl})
		s.monthRatings[m]++
		if lvl == schema.LevelVerySatisfied || lvl == schema.LevelSatisfied {
			s.monthSatisfied[m]++
		}
	}
	dossiers := s.early + s.onTime + s.late
	for i := range dossiers {
		o := schema.OutcomeLate
		switch {
		case i < s.early:
			o = schema.OutcomeEarly
		case i < s.early+s.onTime:
			o = schema.OutcomeOnTime
		}
		ts, m := at(i)
		ts = ts.Add(time.Hour)
		add(&schema.Dossier{Header: schema.Header{ID: fmt.Sprintf("d%d", i), TS: ts.UTC(), Site: s.site},
			Dossier: fmt.Sprintf("HS-%04d", i), Procedure: "1.001234", Received: ts.AddDate(0, 0, -5).UTC(),
			Due: ts.AddDate(0, 0, 1).UTC(), Resolved: ts.UTC(), Outcome: o})
		s.monthDossiers[m]++
		if o != schema.OutcomeLate {
			s.monthOnT[m]++
		}
	}
	// Sessions from the camera alone: the queue's would be evidence of an
	// official at c02 after its seat empties (kpi.Presence), which
	// TestPresenceCoverage counts; here presence is the seats' alone.
	for i := 1; i <= s.sessions; i++ {
		ts, _ := at(i)
		ts = ts.Add(2 * time.Hour)
		c := "c01"
		if i%2 == 0 {
			c = "c02"
		}
		add(&schema.Session{Header: schema.Header{ID: fmt.Sprintf("s%d", i), TS: ts.UTC(), Site: s.site}, Counter: c,
			Start: ts.Add(-time.Duration(300+i) * time.Second).UTC(), End: ts.UTC(), WaitS: float64(6 * i), ServiceS: float64(300 + i), Source: schema.SourceCamera})
	}
	for i := range s.noShows {
		ts, _ := at(i)
		add(&schema.Queue{Header: schema.Header{ID: fmt.Sprintf("q%d", i), TS: ts.Add(3 * time.Hour).UTC(), Site: s.site},
			Ticket: fmt.Sprintf("A%03d", i), Service: "ho-tich", Counter: "c01", Step: schema.StepNoShow})
	}
	occ := func(id string, ts time.Time, c string, on bool) {
		add(&schema.Occupancy{Header: schema.Header{ID: id, TS: ts.UTC(), Site: s.site}, Camera: "cam1", Counter: c, Zone: schema.ZoneStaff, Occupied: on, Confidence: 0.9})
	}
	// Staff seats change state every weekday, as cameras report them:
	// taken at 07:00, left at 18:00; c02's stays empty from c02Until on.
	for d := h1From; d.Before(h1To); d = d.AddDate(0, 0, 1) {
		if d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
			continue
		}
		key := d.Format("20060102")
		occ("o1-"+key, d.Add(7*time.Hour), "c01", true)
		occ("o2-"+key, d.Add(18*time.Hour), "c01", false)
		occ("o3-"+key, d.Add(7*time.Hour), "c02", d.Before(s.c02Until))
		occ("o4-"+key, d.Add(18*time.Hour), "c02", false)
	}
	// Outside the period: the day before and the first instant after.
	before, after := h1From.Add(-time.Minute), h1To
	add(&schema.Rating{Header: schema.Header{ID: "out1", TS: before.UTC(), Site: s.site}, Counter: "c01", Kiosk: "k01", Level: schema.LevelDissatisfied})
	add(&schema.Rating{Header: schema.Header{ID: "out2", TS: after.UTC(), Site: s.site}, Counter: "c01", Kiosk: "k01", Level: schema.LevelDissatisfied})
	add(&schema.Dossier{Header: schema.Header{ID: "out3", TS: after.UTC(), Site: s.site}, Dossier: "HS-OUT", Procedure: "p",
		Received: before.UTC(), Due: before.UTC(), Resolved: after.UTC(), Outcome: schema.OutcomeLate})
	in.Write(t, string(lines))
}

// anlao: 1,000 ratings of which 960 satisfied or better; 500 dossiers of
// which 491 on time or early; 200 sessions; 7 no-shows; presence c01 100 %,
// c02 50 % (Dec-Feb hold 65 of the period's 130 weekdays), site 75 %.
func anlaoSeed() *seed {
	return &seed{site: "anlao", veryS: 600, sat: 360, neutral: 25, dissat: 15, early: 300, onTime: 191, late: 9,
		sessions: 200, noShows: 7, c02Until: day(2026, 3, 1)}
}

// hoaiduc: 200 ratings, 180 satisfied (90 %, below target); 100 dossiers,
// all early. The province then has 1,140 of 1,200 satisfied: 95,0 %, met.
func hoaiducSeed() *seed {
	return &seed{site: "hoaiduc", veryS: 100, sat: 80, neutral: 10, dissat: 10, early: 100,
		sessions: 20, noShows: 0, c02Until: day(2026, 3, 1)}
}

func newSource(t *testing.T, in *testenv.Influx) *kpidb.Source {
	src := kpidb.NewSource(kpidb.Config{URL: in.URL(), Token: in.Token(), Bucket: in.Bucket(), Loc: ict})
	src.Now = func() time.Time { return seedNow }
	t.Cleanup(src.Close)
	return src
}

var anlaoSite = Site{ID: "anlao", Name: "Trung tâm Phục vụ hành chính công xã An Lão",
	Counters: []Counter{{ID: "c01", Name: "Quầy 1 — Hộ tịch"}, {ID: "c02", Name: "Quầy 2 — Đất đai"}}}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// TestSiteReport: the report of a seeded half-year has exactly the seeded
// totals and percentages; its workbook, reopened with excelize, holds them
// in the documented cells; its HTML page, rendered in headless Chromium,
// shows them in Vietnamese format. A screenshot goes to artifacts/report/.
func TestSiteReport(t *testing.T) {
	in := testenv.StartInflux(t, testenv.WithoutFlux())
	s := anlaoSeed()
	s.write(t, in)
	src := newSource(t, in)
	from, to, label := kpi.ReportPeriod(time.Date(2026, 3, 15, 10, 0, 0, 0, ict), ict)
	if label != "2026H1" || !from.Equal(h1From) || !to.Equal(h1To) {
		t.Fatalf("DefaultPeriod in March 2026 = %v..%v %s", from, to, label)
	}
	r, err := Build(context.Background(), src, Params{Sites: []Site{anlaoSite}, From: from, To: to, Label: label,
		Loc: ict, Targets: kpi.Targets{SatisfactionPct: 95, OnTimePct: 98, WaitP90S: 1200}, Generated: seedNow})
	if err != nil {
		t.Fatal(err)
	}
	st := r.Total
	checks := []struct {
		name      string
		got, want float64
	}{
		{"ratings", float64(st.RatingsTotal), 1000}, {"satisfied", float64(st.Satisfied), 960}, {"satisfied %", st.SatisfiedPct, 96},
		{"very satisfied", float64(st.Ratings[schema.LevelVerySatisfied]), 600}, {"neutral", float64(st.Ratings[schema.LevelNeutral]), 25},
		{"dissatisfied", float64(st.Ratings[schema.LevelDissatisfied]), 15},
		{"dossiers", float64(st.DossiersTotal), 500}, {"on time", float64(st.OnTime), 491}, {"on time %", st.OnTimePct, 98.2},
		{"early", float64(st.Dossiers[schema.OutcomeEarly]), 300}, {"late", float64(st.Dossiers[schema.OutcomeLate]), 9},
		{"sessions", float64(st.Sessions), 200}, {"wait mean", st.WaitMeanS, 603}, {"wait p50", st.WaitP50S, 600},
		{"wait p90", st.WaitP90S, 1080}, {"service mean", st.ServiceMeanS, 400.5}, {"service p50", st.ServiceP50S, 400},
		{"service p90", st.ServiceP90S, 480}, {"no-shows", float64(st.NoShows), 7}, {"presence %", st.StaffPresencePct, 75},
		{"c01 presence %", r.Sites[0].Counters[0].Stats.StaffPresencePct, 100}, {"c02 presence %", r.Sites[0].Counters[1].Stats.StaffPresencePct, 50},
		{"c01 ratings", float64(r.Sites[0].Counters[0].Stats.RatingsTotal), 500}, {"months", float64(len(r.Months)), 6},
		{"December presence %", r.Months[0].Stats.StaffPresencePct, 100}, {"May presence %", r.Months[5].Stats.StaffPresencePct, 50},
	}
	for _, c := range checks {
		if !near(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	var sumR, sumD int64
	for i, m := range r.Months {
		if !m.Start.Equal(h1From.AddDate(0, i, 0)) || m.Stats.RatingsTotal != s.monthRatings[i] || m.Stats.Satisfied != s.monthSatisfied[i] ||
			m.Stats.DossiersTotal != s.monthDossiers[i] || m.Stats.OnTime != s.monthOnT[i] {
			t.Errorf("month %d (%v): ratings %d/%d satisfied %d/%d dossiers %d/%d on time %d/%d", i, m.Start, m.Stats.RatingsTotal, s.monthRatings[i],
				m.Stats.Satisfied, s.monthSatisfied[i], m.Stats.DossiersTotal, s.monthDossiers[i], m.Stats.OnTime, s.monthOnT[i])
		}
		sumR += m.Stats.RatingsTotal
		sumD += m.Stats.DossiersTotal
	}
	if sumR != 1000 || sumD != 500 {
		t.Errorf("months sum to %d ratings, %d dossiers", sumR, sumD)
	}
	wantFindings := map[string]bool{"satisfaction": true, "on_time": true, "wait_p90": true}
	for _, f := range r.Findings {
		if met, ok := wantFindings[f.Key]; ok && (!f.Known || f.Met != met) {
			t.Errorf("finding %s: known %v met %v", f.Key, f.Known, f.Met)
		}
	}
	if len(r.Findings) != 4 || !strings.Contains(r.Findings[0].VI, "96,0 %") || !strings.Contains(r.Findings[1].VI, "98,2 %") {
		t.Errorf("findings: %+v", r.Findings)
	}

	var xb bytes.Buffer
	if err := r.WriteXLSX(&xb); err != nil {
		t.Fatal(err)
	}
	checkXLSX(t, xb.Bytes(), map[string]map[string]string{
		SheetSummary: {
			"B4": "01/12/2025", "D4": "31/05/2026",
			cell("B", RowSatisfaction): "0.96", cell("C", RowSatisfaction): "0.95", cell("D", RowSatisfaction): "Đạt / Met",
			cell("B", RowOnTime): "0.982", cell("C", RowOnTime): "0.98", cell("D", RowOnTime): "Đạt / Met",
			cell("B", RowWaitP90): "18", cell("C", RowWaitP90): "20",
			cell("B", RowPresence): "0.75",
			cell("B", RowLevels):   "600", cell("B", RowLevels+1): "360", cell("B", RowLevels+2): "25", cell("B", RowLevels+3): "15",
			cell("B", RowLevels+4): "1000", cell("B", RowLevels+5): "960",
			cell("B", RowOutcomes): "300", cell("B", RowOutcomes+1): "191", cell("B", RowOutcomes+2): "9",
			cell("B", RowOutcomes+3): "500", cell("B", RowOutcomes+4): "491", cell("C", RowOutcomes+4): "0.982",
			cell("B", RowTimes): "10.05", cell("C", RowTimes): "10", cell("D", RowTimes): "18",
			cell("B", RowTimes+1): "6.675", cell("C", RowTimes+1): "6.666666666666667", cell("D", RowTimes+1): "8",
			cell("B", RowTimes+2): "200", cell("B", RowTimes+3): "7",
			cell("A", RowFindings): r.Findings[0].VI, cell("A", RowFindings+1): r.Findings[0].EN,
		},
		SheetSites:    {"A2": anlaoSite.Name, "C2": "1000", "E2": "0.96", "G2": "500", "I2": "0.982", "Q2": "0.75", "A3": ""},
		SheetCounters: {"B2": "Quầy 1 — Hộ tịch", "D2": "500", "M2": "1", "B3": "Quầy 2 — Đất đai", "M3": "0.5", "A4": ""},
		SheetMonths: {"A2": "12/2025", "B2": strconv.FormatInt(s.monthRatings[0], 10), "E2": strconv.FormatInt(s.monthDossiers[0], 10),
			"A7": "05/2026", "B7": strconv.FormatInt(s.monthRatings[5], 10), "A8": ""},
	})

	var hb bytes.Buffer
	if err := r.WriteHTML(&hb); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(hb.String(), "http://") || strings.Contains(hb.String(), "https://") || strings.Contains(hb.String(), "<script") {
		t.Error("the page refers to an outside asset or has a script")
	}
	// Levels by name, never by ID (issue 14: "very_satisfied, satisfied").
	if !strings.Contains(hb.String(), "levels counted as satisfied: Rất hài lòng (Very satisfied), Hài lòng (Satisfied).") {
		t.Error("the page does not name the levels counted as satisfied")
	}
	texts := renderHTML(t, hb.Bytes(), "site", []string{`[data-kpi="satisfaction"]`, `[data-kpi="on-time"]`, `[data-kpi="ratings"]`,
		`[data-kpi="dossiers"]`, `[data-kpi="wait-mean"]`, `[data-kpi="wait-p90"]`, `[data-kpi="presence"]`, `[data-level="very_satisfied"]`,
		`[data-counter="anlao/c02"] [data-presence]`, `[data-period]`})
	want := []string{"96,0 %", "98,2 %", "1.000", "500", "10,1", "18,0", "75,0 %", "600", "50,0 %",
		"Kỳ báo cáo 6 tháng đầu năm 2026 (hạn nộp 10/06/2026): từ ngày 01/12/2025 đến ngày 31/05/2026"}
	for i, w := range want {
		if texts[i] != w {
			t.Errorf("page shows %q, want %q", texts[i], w)
		}
	}
}

// TestProvinceReport: two sites summed and each shown; percentiles of the
// sum are not invented; a site below target is named in the summary.
func TestProvinceReport(t *testing.T) {
	in := testenv.StartInflux(t, testenv.WithoutFlux())
	a, h := anlaoSeed(), hoaiducSeed()
	a.write(t, in)
	h.write(t, in)
	src := newSource(t, in)
	hoaiduc := Site{ID: "hoaiduc", Name: "Trung tâm Phục vụ hành chính công xã Hoài Đức"}
	r, err := Build(context.Background(), src, Params{Title: "Tỉnh Gia Lai", Sites: []Site{anlaoSite, hoaiduc},
		From: h1From, To: h1To, Label: "2026H1", Loc: ict, Targets: kpi.DefaultTargets(), Generated: seedNow})
	if err != nil {
		t.Fatal(err)
	}
	st := r.Total
	if st.RatingsTotal != 1200 || st.Satisfied != 1140 || !near(st.SatisfiedPct, 95) || st.DossiersTotal != 600 || st.OnTime != 591 ||
		!near(st.OnTimePct, 98.5) || st.Sessions != 220 || st.WaitP90S != 0 || r.HasPercentiles {
		t.Errorf("province total: %+v (percentiles %v)", st, r.HasPercentiles)
	}
	// Means of the sum are exact: (603*200 + 6*210/2... ) computed from the seeds.
	wantWait := (6*200*201/2 + 6*20*21/2) / 220.0
	if !near(st.WaitMeanS, wantWait) {
		t.Errorf("province wait mean %v, want %v", st.WaitMeanS, wantWait)
	}
	if r.Sites[1].Stats.RatingsTotal != 200 || !near(r.Sites[1].Stats.SatisfiedPct, 90) || r.Sites[1].Stats.WaitP90S != 108 {
		t.Errorf("hoaiduc: %+v", r.Sites[1].Stats)
	}
	// 95.0 % exactly is not "trên 95 %": not met, by kpi's one rule.
	if r.Findings[0].Met || r.Findings[len(r.Findings)-1].Key != "sites" ||
		!strings.Contains(r.Findings[len(r.Findings)-1].VI, "hài lòng — "+hoaiduc.Name) {
		t.Errorf("findings: %+v", r.Findings)
	}
	var xb bytes.Buffer
	if err := r.WriteXLSX(&xb); err != nil {
		t.Fatal(err)
	}
	checkXLSX(t, xb.Bytes(), map[string]map[string]string{
		SheetSummary: {cell("B", RowSatisfaction): "0.95", cell("D", RowSatisfaction): "Chưa đạt / Not met", cell("B", RowWaitP90): "",
			cell("D", RowWaitP90): "Xem từng trung tâm / See each center", cell("B", RowLevels+4): "1200", cell("B", RowOutcomes+3): "600"},
		SheetSites: {"A2": anlaoSite.Name, "C2": "1000", "A3": hoaiduc.Name, "C3": "200", "E3": "0.9", "F3": "Chưa đạt / Not met",
			"M3": "1.8", "A4": "Tổng / Total", "C4": "1200", "D4": "1140", "E4": "0.95", "G4": "600", "M4": ""},
	})
	var hb bytes.Buffer
	if err := r.WriteHTML(&hb); err != nil {
		t.Fatal(err)
	}
	texts := renderHTML(t, hb.Bytes(), "province", []string{`[data-kpi="satisfaction"]`, `[data-kpi="ratings"]`,
		`[data-site="hoaiduc"] td:nth-child(3)`, `[data-kpi="wait-p90"]`})
	for i, w := range []string{"95,0 %", "1.200", "90,0 %", "—"} {
		if texts[i] != w {
			t.Errorf("page shows %q, want %q", texts[i], w)
		}
	}
}

func cell(col string, row int) string { return col + strconv.Itoa(row) }

// checkXLSX reopens a workbook and compares cells: dates, months and text
// by their shown value, numbers by their stored value.
func checkXLSX(t *testing.T, data []byte, want map[string]map[string]string) {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("excelize cannot open the workbook: %v", err)
	}
	defer f.Close()
	if got := f.GetSheetList(); len(got) != 4 || got[0] != SheetSummary {
		t.Errorf("sheets %q", got)
	}
	for sheet, cells := range want {
		for addr, w := range cells {
			raw, err := f.GetCellValue(sheet, addr, excelize.Options{RawCellValue: true})
			if err != nil {
				t.Fatal(err)
			}
			shown, _ := f.GetCellValue(sheet, addr)
			typ, _ := f.GetCellType(sheet, addr)
			got := raw
			if typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset || strings.Contains(w, "/") && !strings.Contains(w, " / ") {
				got = shown // text, or a date checked as dd/mm/yyyy
			}
			if got != w {
				if gf, err1 := strconv.ParseFloat(got, 64); err1 == nil {
					if wf, err2 := strconv.ParseFloat(w, 64); err2 == nil && math.Abs(gf-wf) < 1e-9 {
						continue
					}
				}
				t.Errorf("%s!%s = %q (shown %q), want %q", sheet, addr, raw, shown, w)
			}
		}
	}
}

// renderHTML opens page in headless Chromium, saves a full-page screenshot
// as artifacts/report/<name>.png and returns the text of each selector.
func renderHTML(t *testing.T, page []byte, name string, selectors []string) []string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "report.html")
	if err := os.WriteFile(path, page, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := testenv.Chromium(t)
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, chromedp.EmulateViewport(1200, 900), chromedp.Navigate("file://"+path),
		chromedp.WaitVisible(chromedp.CSS(`[data-kpi="satisfaction"]`))); err != nil {
		t.Fatalf("open the report: %v", err)
	}
	var out []string
	for _, sel := range selectors {
		v, err := chromedp.Run(sctx, chromedp.Evaluate[string](`(document.querySelector('`+sel+`')||{}).innerText||"<missing>"`))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.TrimSpace(v))
	}
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(testenv.ArtifactsDir(t, "report"), name+".png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", shot)
	return out
}
