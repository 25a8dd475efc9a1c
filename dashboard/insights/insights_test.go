package insights

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/kpidb"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/timezone"
)

// fakeSource answers Insights with ins or err, after release is closed
// when it is set (or the context ends), and records the call.
type fakeSource struct {
	ins     kpidb.Insights
	err     error
	release chan struct{}
	started chan struct{} // receives once per call, when set

	calls atomic.Int32
	mu    sync.Mutex
	site  string
	start time.Time
	end   time.Time
	opt   kpidb.InsightsOptions
}

func (f *fakeSource) Insights(ctx context.Context, site string, start, end time.Time, opt kpidb.InsightsOptions) (kpidb.Insights, error) {
	f.calls.Add(1)
	f.mu.Lock()
	f.site, f.start, f.end, f.opt = site, start, end, opt
	f.mu.Unlock()
	if f.started != nil {
		f.started <- struct{}{}
	}
	if f.release != nil {
		select {
		case <-f.release:
		case <-ctx.Done():
			return kpidb.Insights{}, ctx.Err()
		}
	}
	return f.ins, f.err
}

var vn = timezone.Vietnam()

func stats(levels map[schema.Level]int64, outcomes map[schema.Outcome]int64, sessions int64) kpi.Stats {
	st := kpi.NewStats()
	for l, n := range levels {
		st.Ratings[l] = n
	}
	for o, n := range outcomes {
		st.Dossiers[o] = n
	}
	st.Sessions = sessions
	st.Finish(kpi.SatisfactionOf(nil))
	return st
}

// fixture is a month of anlao as kpidb would read it:
//   - this period: 9,496 satisfied of 10,000 ratings (94.96 %: not met,
//     shown with two decimals, never "95,0"); 98 of 100 dossiers on time
//     (98 % is not above 98 %: not met, shown 98.0); 500 sessions;
//   - last year: no rating at all (no data, no difference), 50 of 50
//     dossiers on time: -2 points;
//   - c01 and c02 ranked, c03 with 12 ratings and no session not ranked;
//   - a procedure with every dossier late, and one whose code would be a
//     formula if the workbook took it for one;
//   - 2 late dossiers listed of 7, one with unreadable times.
func fixture() kpidb.Insights {
	at := func(d, h int) time.Time { return time.Date(2026, time.March, d, h, 0, 0, 0, vn) }
	return kpidb.Insights{
		Site: "anlao", From: at(1, 0), To: time.Date(2026, time.April, 1, 0, 0, 0, 0, vn),
		MinRatings: 30, MinSessions: 30, LateLimit: 2, LateTotal: 7,
		Counters: []kpidb.CounterInsight{
			{Counter: "c02", Ratings: 400, Satisfied: 396, SatisfiedPct: 99, HasRatings: true, Sessions: 300, ServiceP50S: 600, ServiceMeanS: 660, WaitP50S: 120, SatisfactionRank: 1, ServiceRank: 2},
			{Counter: "c01", Ratings: 9588, Satisfied: 9088, SatisfiedPct: 94.78, HasRatings: true, Sessions: 200, ServiceP50S: 300, ServiceMeanS: 330, WaitP50S: 60, SatisfactionRank: 2, ServiceRank: 1},
			{Counter: "c03", Ratings: 12, Satisfied: 12, SatisfiedPct: 100, HasRatings: true},
		},
		ByService: []string{"c01", "c02", "c03"},
		Procedures: []kpidb.ProcedureInsight{
			{Procedure: "1.000002", Dossiers: 3, Late: 3},
			{Procedure: "=HYPERLINK(\"http://x\")", Dossiers: 97, Early: 50, OnTime: 45, Late: 2, OnTimeOrEarly: 95, OnTimePct: 95 * 100 / 97.0},
		},
		Late: []kpidb.LateDossier{
			{Dossier: "HS-0007", Procedure: "1.000002", Received: at(20, 9), Due: at(25, 9), Resolved: at(28, 9), DaysLate: 3, HasDaysLate: true},
			{Dossier: "HS-0006", Procedure: "1.000002"},
		},
		Trend: kpidb.Trend{
			This: stats(map[schema.Level]int64{schema.LevelSatisfied: 9496, schema.LevelNeutral: 504},
				map[schema.Outcome]int64{schema.OutcomeEarly: 50, schema.OutcomeOnTime: 48, schema.OutcomeLate: 2}, 500),
			LastYear:     stats(nil, map[schema.Outcome]int64{schema.OutcomeOnTime: 50}, 0),
			LastYearFrom: time.Date(2025, time.March, 1, 0, 0, 0, 0, vn), LastYearTo: time.Date(2025, time.April, 1, 0, 0, 0, 0, vn),
			OnTimeDeltaPP: -2, HasOnTimeDelta: true,
		},
	}
}

var testSites = []kpi.Site{{ID: "anlao", Name: "Trung tâm An Lão", Counters: []kpi.Counter{
	{ID: "c01", NameVI: "Quầy 1", NameEN: "Counter 1"}, {ID: "c02", NameVI: "Quầy 2"}, {ID: "c03", NameVI: "Quầy 3", NameEN: "Counter 3"}}}}

func newHandler(t *testing.T, src Source, edit func(*Config)) *Handler {
	t.Helper()
	cfg := Config{
		Sites: testSites, Loc: vn, Targets: kpi.DefaultTargets(),
		Allowed: func(r *http.Request, site string) bool { return r.Header.Get("X-Test-Deny") == "" },
		Now:     func() time.Time { return time.Date(2026, time.June, 1, 9, 30, 0, 0, vn) },
	}
	if edit != nil {
		edit(&cfg)
	}
	h, err := New(cfg, src, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

const march = "/api/insights?site=anlao&from=2026-03-01&to=2026-03-31"

func do(h http.Handler, method, target string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestJSON(t *testing.T) {
	src := &fakeSource{ins: fixture()}
	h := newHandler(t, src, func(c *Config) { c.MinRatings, c.LateLimit = 40, 2 })
	w := do(h.JSON(), http.MethodGet, march)
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json; charset=utf-8" || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("%d %v: %s", w.Code, w.Header(), w.Body)
	}
	// The source was asked for March's local days, the configured
	// counters and the configured minimums.
	if src.site != "anlao" || !src.start.Equal(time.Date(2026, time.March, 1, 0, 0, 0, 0, vn)) || !src.end.Equal(time.Date(2026, time.April, 1, 0, 0, 0, 0, vn)) ||
		!slices.Equal(src.opt.Counters, []string{"c01", "c02", "c03"}) || src.opt.MinRatings != 40 || src.opt.LateLimit != 2 {
		t.Errorf("asked %s %v..%v %+v", src.site, src.start, src.end, src.opt)
	}

	// The shape, strictly: no field the page does not know of.
	var v View
	dec := json.NewDecoder(bytes.NewReader(w.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	if v.Site.Name != "Trung tâm An Lão" || v.From != "2026-03-01" || v.To != "2026-03-31" || v.Targets.SatisfactionRule != kpi.RuleAbove {
		t.Errorf("head: %+v %s %s %+v", v.Site, v.From, v.To, v.Targets)
	}
	o := v.Overview
	if s := o.This.Satisfaction; s == nil || s.Shown != 94.96 || s.Decimals != 2 || s.Met || s.Pct != 94.96 {
		t.Errorf("satisfaction %+v, want shown 94.96 with 2 decimals, not met", s)
	}
	if s := o.This.OnTime; s == nil || s.Shown != 98 || s.Decimals != 1 || s.Met {
		t.Errorf("on time %+v, want 98.0 not met (not above 98)", s)
	}
	if o.This.Ratings != 10000 || o.This.Late != 2 || o.This.OnTimeOrEarly != 98 || o.This.Sessions != 500 {
		t.Errorf("this: %+v", o.This)
	}
	if o.LastYear.From != "2025-03-01" || o.LastYear.To != "2025-03-31" || o.LastYear.Satisfaction != nil || o.LastYear.OnTime == nil || !o.LastYear.OnTime.Met {
		t.Errorf("last year: %+v", o.LastYear)
	}
	if o.SatisfiedDeltaPP != nil || o.OnTimeDeltaPP == nil || *o.OnTimeDeltaPP != -2 {
		t.Errorf("deltas %v %v", o.SatisfiedDeltaPP, o.OnTimeDeltaPP)
	}

	c := v.Counters
	if len(c.List) != 3 || !slices.Equal(c.ByService, []string{"c01", "c02", "c03"}) || c.MinRatings != 30 {
		t.Fatalf("counters %+v", c)
	}
	c2, c1, c3 := c.List[0], c.List[1], c.List[2]
	if c2.ID != "c02" || c2.NameVI != "Quầy 2" || c2.NameEN != "Quầy 2" || *c2.SatisfactionRank != 1 || *c2.ServiceRank != 2 || c2.SatisfactionNote != "" {
		t.Errorf("c02: %+v", c2)
	}
	if c1.NameEN != "Counter 1" || *c1.ServiceP50S != 300 || *c1.WaitP50S != 60 || c1.Satisfaction.Decimals != 1 || c1.Satisfaction.Shown != 94.8 {
		t.Errorf("c01: %+v %+v", c1, c1.Satisfaction)
	}
	if c3.SatisfactionRank != nil || c3.ServiceRank != nil || c3.ServiceP50S != nil || c3.Satisfaction == nil || c3.Satisfaction.Shown != 100 ||
		!strings.Contains(c3.SatisfactionNote, "chưa đủ dữ liệu: 12 lượt đánh giá, cần ít nhất 30") || !strings.Contains(c3.SatisfactionNote, "12 ratings, at least 30 needed") ||
		!strings.Contains(c3.ServiceNote, "không có dữ liệu / Not ranked: no data") {
		t.Errorf("c03: %+v", c3)
	}

	p := v.Procedures
	if p.TooMany || len(p.List) != 2 || p.List[0].Share.Shown != 0 || p.List[0].Share.Met || p.List[1].Share.Decimals != 1 || p.List[1].Share.Shown != 97.9 || p.List[1].Share.Met {
		t.Errorf("procedures %+v", p)
	}
	l := v.Late
	if l.Total != 7 || l.Shown != 2 || l.Limit != 2 || *l.Dossiers[0].DaysLate != 3 || !l.Dossiers[0].Due.Equal(time.Date(2026, time.March, 25, 9, 0, 0, 0, vn)) ||
		l.Dossiers[1].DaysLate != nil || l.Dossiers[1].Resolved != nil {
		t.Errorf("late %+v", l)
	}
	// In the sites' zone on the wire.
	if !strings.Contains(w.Body.String(), `"due":"2026-03-25T09:00:00+07:00"`) {
		t.Errorf("times not in the sites' zone: %s", w.Body)
	}
	// Unknown is null, never 0.
	var raw map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &raw)
	ly := raw["overview"].(map[string]any)["last_year"].(map[string]any)
	if sat, ok := ly["satisfaction"]; !ok || sat != nil {
		t.Errorf("last year's satisfaction %v, want null", sat)
	}

	// HEAD: the headers, no body.
	if w := do(h.JSON(), http.MethodHead, march); w.Code != http.StatusOK || w.Body.Len() != 0 || w.Header().Get("Content-Length") == "0" {
		t.Errorf("HEAD: %d, %d bytes, length %s", w.Code, w.Body.Len(), w.Header().Get("Content-Length"))
	}
}

// TestXLSX opens the workbook with excelize and reads it cell by cell.
func TestXLSX(t *testing.T) {
	src := &fakeSource{ins: fixture()}
	h := newHandler(t, src, nil)
	w := do(h.XLSX(), http.MethodGet, strings.Replace(march, "insights", "insights.xlsx", 1))
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" ||
		w.Header().Get("Content-Disposition") != `attachment; filename="pscm-phan-tich-anlao-2026-03-01_2026-03-31.xlsx"` {
		t.Fatalf("%d %v", w.Code, w.Header())
	}
	f, err := excelize.OpenReader(bytes.NewReader(w.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); !slices.Equal(got, []string{SheetOverview, SheetCounters, SheetProcedures, SheetLate}) {
		t.Errorf("sheets %q", got)
	}
	cell := func(sheet, ref string) string {
		t.Helper()
		v, err := f.GetCellValue(sheet, ref)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct{ sheet, ref, want string }{
		{SheetOverview, "A1", "PHÂN TÍCH KẾT QUẢ — Trung tâm An Lão / Insights — Trung tâm An Lão"},
		{SheetOverview, "B2", "01/03/2026"},
		{SheetOverview, "D2", "31/03/2026"},
		{SheetOverview, "B3", "01/03/2025"},
		{SheetOverview, "D3", "31/03/2025"},
		{SheetOverview, "B4", "01/06/2026 09:30"},
		{SheetOverview, "C6", "Cùng kỳ năm trước / Same period last year"},
		// 94.96 % with two decimals beside "not met"; last year no data.
		{SheetOverview, "B7", "94.96%"},
		{SheetOverview, "C7", noData},
		{SheetOverview, "D7", noData},
		{SheetOverview, "E7", "> 95 %"},
		{SheetOverview, "F7", "Chưa đạt / Not met"},
		{SheetOverview, "B8", "10,000"},
		{SheetOverview, "C8", "0"},
		{SheetOverview, "D8", noData},
		{SheetOverview, "B10", "98.0%"},
		{SheetOverview, "C10", "100.0%"},
		{SheetOverview, "D10", "-2.0"},
		{SheetOverview, "E10", "> 98 %"},
		{SheetOverview, "F10", "Chưa đạt / Not met"},
		{SheetOverview, "D11", "50"},
		{SheetOverview, "B13", "2"},
		{SheetOverview, "C13", "0"},
		{SheetOverview, "B14", "500"},
		{SheetOverview, "D14", noData},

		{SheetCounters, "A2", "Xếp hạng hài lòng khi có ít nhất 30 lượt đánh giá (bằng tỷ lệ thì quầy nhiều lượt hơn đứng trước); xếp hạng thời gian phục vụ (trung vị, ngắn nhất trước) khi có ít nhất 30 lượt phục vụ."},
		{SheetCounters, "A5", "1"},
		{SheetCounters, "B5", "Quầy 2"},
		{SheetCounters, "F5", "99.0%"},
		{SheetCounters, "G5", "2"},
		{SheetCounters, "I5", "10.0"}, // 600 s in minutes
		{SheetCounters, "B6", "Quầy 1 / Counter 1"},
		{SheetCounters, "F6", "94.8%"},
		{SheetCounters, "K6", "1.0"},
		{SheetCounters, "A7", "Chưa xếp hạng / Not ranked"},
		{SheetCounters, "D7", "12"},
		{SheetCounters, "G7", "Chưa xếp hạng / Not ranked"},
		{SheetCounters, "I7", noData},

		{SheetProcedures, "A4", "1.000002"},
		{SheetProcedures, "E4", "3"},
		{SheetProcedures, "F4", "0.0%"},
		{SheetProcedures, "G4", "Chưa đạt / Not met"},
		{SheetProcedures, "A5", `=HYPERLINK("http://x")`},
		{SheetProcedures, "F5", "97.9%"},

		{SheetLate, "A2", "Hiển thị 2 trên 7 hồ sơ trễ hạn / Showing 2 of 7 late dossiers"},
		{SheetLate, "A5", "HS-0007"},
		{SheetLate, "C5", "20/03/2026 09:00"},
		{SheetLate, "D5", "25/03/2026 09:00"},
		{SheetLate, "E5", "28/03/2026 09:00"},
		{SheetLate, "F5", "3.0"},
		{SheetLate, "A6", "HS-0006"},
		{SheetLate, "E6", noData},
		{SheetLate, "F6", noData},
	} {
		if got := cell(c.sheet, c.ref); got != c.want {
			t.Errorf("%s!%s = %q, want %q", c.sheet, c.ref, got, c.want)
		}
	}
	// The shares are numbers a manager can compute with, at kpi's value.
	if raw, _ := f.GetCellValue(SheetOverview, "B7", excelize.Options{RawCellValue: true}); raw != "0.9496" {
		t.Errorf("B7 raw %q", raw)
	}
	if c3 := cell(SheetCounters, "L7"); !strings.Contains(c3, "12 ratings, at least 30 needed") || !strings.Contains(c3, "Not ranked: no data") {
		t.Errorf("c03's note %q", c3)
	}
	// Text from outside stays text.
	if fm, _ := f.GetCellFormula(SheetProcedures, "A5"); fm != "" {
		t.Errorf("a procedure code became the formula %q", fm)
	}

	// Too many dossiers: the table says so instead of showing part of it.
	src.ins.Procedures, src.ins.ProceduresTooMany = nil, true
	w = do(h.XLSX(), http.MethodGet, march)
	f2, err := excelize.OpenReader(bytes.NewReader(w.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer f2.Close()
	if got, _ := f2.GetCellValue(SheetProcedures, "A4"); !strings.Contains(got, "hơn 1.000.000 hồ sơ") || !strings.Contains(got, "more than 1,000,000 dossiers") {
		t.Errorf("too many: %q", got)
	}
}

// TestStatuses: every refusal, each before any query when it can be.
func TestStatuses(t *testing.T) {
	t.Run("403 outside the scope, nothing read", func(t *testing.T) {
		src := &fakeSource{ins: fixture()}
		h := newHandler(t, src, nil)
		for _, hd := range []http.Handler{h.JSON(), h.XLSX()} {
			if w := do(hd, http.MethodGet, march, "X-Test-Deny", "1"); w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "outside your scope") {
				t.Errorf("%d %s", w.Code, w.Body)
			}
		}
		if src.calls.Load() != 0 {
			t.Error("the source was read for a refused request")
		}
	})
	t.Run("400 bad parameters, nothing read", func(t *testing.T) {
		src := &fakeSource{ins: fixture()}
		h := newHandler(t, src, nil)
		for _, q := range []string{"site=anlao&from=2026-02-30&to=2026-03-31", "site=anlao&from=2026-03-31&to=2026-03-01",
			"site=anlao&from=2020-01-01&to=2026-03-01", "site=ghost&from=2026-03-01&to=2026-03-31", "site=anlao"} {
			w := do(h.XLSX(), http.MethodGet, "/api/insights.xlsx?"+q)
			var body map[string]string
			if err := json.Unmarshal(w.Body.Bytes(), &body); w.Code != http.StatusBadRequest || err != nil || !strings.Contains(body["error"], " / ") {
				t.Errorf("%s: %d %s", q, w.Code, w.Body)
			}
		}
		if src.calls.Load() != 0 {
			t.Error("the source was read for a refused request")
		}
	})
	t.Run("405", func(t *testing.T) {
		h := newHandler(t, &fakeSource{}, nil)
		if w := do(h.JSON(), http.MethodPost, march); w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%d %v", w.Code, w.Header())
		}
	})
	t.Run("503 database", func(t *testing.T) {
		h := newHandler(t, &fakeSource{err: errors.New("kpidb: connection refused")}, nil)
		w := do(h.XLSX(), http.MethodGet, march)
		if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "the database could not be read") || strings.Contains(w.Body.String(), "refused") {
			t.Errorf("%d %s", w.Code, w.Body)
		}
	})
	t.Run("504 timeout", func(t *testing.T) {
		h := newHandler(t, &fakeSource{release: make(chan struct{})}, func(c *Config) { c.Timeout = 50 * time.Millisecond })
		w := do(h.JSON(), http.MethodGet, march)
		if w.Code != http.StatusGatewayTimeout || !strings.Contains(w.Body.String(), "choose a shorter range") {
			t.Errorf("%d %s", w.Code, w.Body)
		}
	})
	t.Run("503 busy", func(t *testing.T) {
		src := &fakeSource{ins: fixture(), release: make(chan struct{}), started: make(chan struct{}, 1)}
		h := newHandler(t, src, func(c *Config) { c.MaxConcurrent, c.QueueWait = 1, 30*time.Millisecond })
		first := make(chan int)
		go func() { first <- do(h.XLSX(), http.MethodGet, march).Code }()
		<-src.started // the one slot is taken
		w := do(h.JSON(), http.MethodGet, march)
		if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), "busy") {
			t.Errorf("second: %d %s", w.Code, w.Body)
		}
		close(src.release)
		if code := <-first; code != http.StatusOK {
			t.Errorf("first: %d", code)
		}
		// The slot is free again.
		if w := do(h.JSON(), http.MethodGet, march); w.Code != http.StatusOK {
			t.Errorf("after: %d", w.Code)
		}
		if src.calls.Load() != 2 {
			t.Errorf("%d reads, want 2", src.calls.Load())
		}
	})
	t.Run("client gone", func(t *testing.T) {
		h := newHandler(t, &fakeSource{release: make(chan struct{})}, nil)
		ctx, cancel := context.WithCancel(context.Background())
		r := httptest.NewRequest(http.MethodGet, march, nil).WithContext(ctx)
		w := httptest.NewRecorder()
		done := make(chan struct{})
		go func() { h.JSON().ServeHTTP(w, r); close(done) }()
		cancel()
		<-done
		if w.Body.Len() != 0 {
			t.Errorf("answered a client that left: %d %s", w.Code, w.Body)
		}
	})
}

func TestNew(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	allow := func(*http.Request, string) bool { return true }
	for name, c := range map[string]struct {
		cfg Config
		src Source
	}{
		"no Allowed": {Config{Sites: testSites}, &fakeSource{}},
		"no sites":   {Config{Allowed: allow}, &fakeSource{}},
		"no source":  {Config{Sites: testSites, Allowed: allow}, nil},
	} {
		if _, err := New(c.cfg, c.src, log); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
