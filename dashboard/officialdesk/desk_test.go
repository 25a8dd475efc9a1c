package officialdesk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/pscm/pscm/internal/cases"
	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/officials"
	"github.com/pscm/pscm/internal/roster"
	"github.com/pscm/pscm/internal/schema"
)

var ict = time.FixedZone("ICT", 7*3600)

// facts answers any period with one Monday's facts (23/11/2026): Lan
// logged in at c01 with one rated session; Hoa rostered at c02.
type facts struct{ calls int }

func (f *facts) OfficialDays(_ context.Context, site string, start, end time.Time, r *roster.Roster, ids []string) ([]*officials.Day, error) {
	f.calls++
	at := func(h, m int) time.Time { return time.Date(2026, 11, 23, h, m, 0, 0, ict) }
	return officials.Days(officials.Facts{From: start, To: end,
		Steps:    []officials.Step{{At: at(8, 0), Counter: "c01", Staff: "lan", Ticket: "A001"}},
		Sessions: []officials.Session{{ID: "s1", Counter: "c01", Start: at(8, 5), End: at(8, 15), ServiceS: 600, Ticket: "A001"}},
		Ratings:  []officials.Rating{{At: at(8, 16), Counter: "c01", Level: schema.LevelSatisfied, Session: "s1"}},
		Seats: map[string]officials.Seat{"c01": {Covered: []kpi.Interval{{From: at(7, 30), To: at(11, 30)}},
			Occupied: []kpi.Interval{{From: at(7, 30), To: at(10, 30)}}}},
	}, r, ids), nil
}

func newDesk(t *testing.T) (*Desk, string) {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "roster.yml")
	if err := os.WriteFile(p, []byte(`officials:
  - {id: lan, name: "Nguyễn Thị Lan", site: anlao}
  - {id: hoa, name: "Lê Thị Hoa", site: anlao}
  - {id: binh, name: "Phạm Văn Bình", site: hoaan}
shifts:
  - {official: lan, counter: c01, days: [mon, tue, wed, thu, fri], spans: ["07:30-11:30"], from: 2026-11-01}
  - {official: hoa, counter: c02, days: [mon, tue, wed, thu, fri], spans: ["07:30-11:30"], from: 2026-11-01}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := roster.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "officials-access.jsonl")
	d, err := New(Config{Roster: r, Loc: ict, Satisfied: kpi.DefaultSatisfied(), AccessLog: log, NotesFile: filepath.Join(dir, "notes.jsonl"),
		Now: func() time.Time { return time.Date(2026, 11, 30, 12, 0, 0, 0, ict) }}, &facts{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d, log
}

var viewers = map[string]Viewer{
	"manager": {Name: "minh", See: func(s string) bool { return s == "anlao" }},
	"other":   {Name: "tam", See: func(s string) bool { return s == "hoaan" }},
	"lan":     {Name: "lan", See: func(string) bool { return false }, Own: "lan"},
}

func get(t *testing.T, h http.Handler, who, path string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("X-Who", who)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out
}

// A manager reads their site's officials and each page; an official reads
// only their own, by "me" or by ID, never another's nor the list; a
// manager of another site reads none; each reading is logged.
func TestAccess(t *testing.T) {
	d, logPath := newDesk(t)
	h := d.API(func(r *http.Request) (Viewer, bool) { v, ok := viewers[r.Header.Get("X-Who")]; return v, ok })
	code, l := get(t, h, "manager", "/api/officials?site=anlao&range=2026-11")
	if code != 200 || len(l["officials"].([]any)) != 2 {
		t.Fatalf("manager's list: %d %v", code, l)
	}
	first := l["officials"].([]any)[0].(map[string]any)
	if first["id"] != "hoa" || first["has_presence"] != false || first["sessions_by_roster"] != float64(0) {
		t.Errorf("hoa (no camera on c02, nothing served): %v", first)
	}
	lan := l["officials"].([]any)[1].(map[string]any)
	if lan["sessions"] != float64(1) || lan["sessions_by_login"] != float64(1) || lan["satisfied_pct"] != float64(100) || lan["presence_pct"] != float64(75) {
		t.Errorf("lan: %v", lan)
	}
	for _, tc := range []struct {
		who, path string
		want      int
	}{
		{"lan", "/api/officials/me?range=2026-11", 200},
		{"lan", "/api/officials/lan?range=2026-11", 200},
		{"lan", "/api/officials/hoa?range=2026-11", 404},
		{"lan", "/api/officials?site=anlao", 403},
		{"manager", "/api/officials/lan?range=2026-11", 200},
		{"manager", "/api/officials/binh", 404},
		{"other", "/api/officials/lan", 404},
		{"other", "/api/officials?site=anlao", 403},
		{"nobody", "/api/officials/lan", 404},
		{"manager", "/api/officials/lan?range=2026-13", 400},
	} {
		if code, out := get(t, h, tc.who, tc.path); code != tc.want {
			t.Errorf("%s %s: %d %v, want %d", tc.who, tc.path, code, out, tc.want)
		}
	}
	_, p := get(t, h, "lan", "/api/officials/me?range=2026-11")
	if p["id"] != "lan" || len(p["months"].([]any)) != 1 {
		t.Errorf("lan's own page: %v", p)
	}
	b, _ := os.ReadFile(logPath)
	// The list, and five pages read: lan twice, the manager once, lan's own page once more.
	if n := bytes.Count(b, []byte("\n")); n != 5 {
		t.Errorf("%d readings logged, want 5:\n%s", n, b)
	}
}

// The yearly sheet: the figures with their facts, the manager's two
// fields left blank, in HTML and XLSX; an official gets their own only.
func TestSheet(t *testing.T) {
	d, _ := newDesk(t)
	h := d.API(func(r *http.Request) (Viewer, bool) { v, ok := viewers[r.Header.Get("X-Who")]; return v, ok })
	req := httptest.NewRequest("GET", "/api/officials/me/sheet?range=2026-11&format=html", nil)
	req.Header.Set("X-Who", "lan")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	page := rec.Body.String()
	for _, want := range []string{`data-sheet="name">Nguyễn Thị Lan<`, `data-sheet="sessions">1 (1 / 0)<`, `data-sheet="satisfied">100,0 % (1)<`,
		"Đề xuất xếp loại (lãnh đạo điền)", "pscm không đề xuất xếp loại"} {
		if rec.Code != 200 || !bytes.Contains([]byte(page), []byte(want)) {
			t.Errorf("the HTML sheet (%d) lacks %s", rec.Code, want)
		}
	}
	req = httptest.NewRequest("GET", "/api/officials/lan/sheet?range=2026-11&format=xlsx", nil)
	req.Header.Set("X-Who", "manager")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	f, err := excelize.OpenReader(bytes.NewReader(rec.Body.Bytes()))
	if err != nil {
		t.Fatalf("xlsx (%d): %v", rec.Code, err)
	}
	defer f.Close()
	for cell, want := range map[string]string{fmt.Sprintf("B%d", SheetRowSessions): "1", fmt.Sprintf("B%d", SheetRowSatisfied): "1",
		fmt.Sprintf("A%d", SheetRowMonths+1): "11/2026"} {
		if got, _ := f.GetCellValue("Đánh giá", cell, excelize.Options{RawCellValue: true}); got != want {
			t.Errorf("%s = %q, want %q", cell, got, want)
		}
	}
	req = httptest.NewRequest("GET", "/api/officials/hoa/sheet?range=2026-11", nil)
	req.Header.Set("X-Who", "lan")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotFound {
		t.Errorf("lan downloading hoa's sheet: %d", rec.Code)
	}
}

// An official annotates their own record; a manager may not; the notes
// show on the official's page and come back after a restart.
func TestNotes(t *testing.T) {
	d, _ := newDesk(t)
	h := d.API(func(r *http.Request) (Viewer, bool) { v, ok := viewers[r.Header.Get("X-Who")]; return v, ok })
	post := func(who, body string) int {
		req := httptest.NewRequest("POST", "/api/officials/me/notes", bytes.NewReader([]byte(body)))
		req.Header.Set("X-Who", who)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	if code := post("lan", `{"day":"2026-11-23","text":"Sáng nay camera bị che bởi thùng hồ sơ."}`); code != http.StatusCreated {
		t.Fatalf("lan's note: %d", code)
	}
	for name, tc := range map[string]struct{ who, body string }{
		"a manager":   {"manager", `{"day":"2026-11-23","text":"x"}`},
		"future day":  {"lan", `{"day":"2026-12-25","text":"x"}`},
		"bad day":     {"lan", `{"day":"23/11/2026","text":"x"}`},
		"empty":       {"lan", `{"day":"2026-11-23","text":"  "}`},
		"control":     {"lan", `{"day":"2026-11-23","text":"a\u0001b"}`},
		"unknown key": {"lan", `{"day":"2026-11-23","text":"x","official":"hoa"}`},
	} {
		if code := post(tc.who, tc.body); code < 400 {
			t.Errorf("%s: %d", name, code)
		}
	}
	_, p := get(t, h, "manager", "/api/officials/lan?range=2026-11")
	notes := p["notes"].([]any)
	if len(notes) != 1 || notes[0].(map[string]any)["text"] != "Sáng nay camera bị che bởi thùng hồ sơ." {
		t.Fatalf("notes on lan's page: %v", p["notes"])
	}
	if _, p := get(t, h, "manager", "/api/officials/lan?range=2026-10"); len(p["notes"].([]any)) != 0 {
		t.Errorf("a note of November on October's page")
	}
	d.Close()
	ns, err := openNotes(d.cfg.NotesFile)
	if err != nil || len(ns.of("lan", "2026-11-01", "2026-11-30")) != 1 {
		t.Fatalf("notes after a restart: %v", err)
	}
	ns.close()
}

// caseStub answers every official's cases from a table.
type caseStub map[string]cases.Summary

func (c caseStub) OfficialSummaries(context.Context, string, time.Time, time.Time) (map[string]cases.Summary, error) {
	return c, nil
}

// With a case desk, each official's figures carry the cases concerning
// them (none is zero, not missing); without one, nothing.
func TestCasesConcerning(t *testing.T) {
	d, _ := newDesk(t)
	h := d.API(func(r *http.Request) (Viewer, bool) { v, ok := viewers[r.Header.Get("X-Who")]; return v, ok })
	if _, p := get(t, h, "manager", "/api/officials/lan?range=2026-11"); p["cases"] != nil {
		t.Fatalf("cases without a case desk: %v", p["cases"])
	}
	s := cases.NewSummary()
	s.Received, s.Handled, s.Late = 3, 2, 1
	d.cfg.Cases = caseStub{"lan": s}
	_, p := get(t, h, "manager", "/api/officials/lan?range=2026-11")
	if c, _ := p["cases"].(map[string]any); c == nil || c["received"] != float64(3) || c["late"] != float64(1) {
		t.Fatalf("lan's cases: %v", p["cases"])
	}
	_, l := get(t, h, "manager", "/api/officials?site=anlao&range=2026-11")
	if c := l["officials"].([]any)[0].(map[string]any)["cases"].(map[string]any); c["received"] != float64(0) {
		t.Fatalf("hoa's cases: %v", c)
	}
}

// The site's sheet: a row per official with the manager's columns blank,
// for the site's managers only.
func TestSiteSheet(t *testing.T) {
	d, _ := newDesk(t)
	h := d.API(func(r *http.Request) (Viewer, bool) { v, ok := viewers[r.Header.Get("X-Who")]; return v, ok })
	req := httptest.NewRequest("GET", "/api/officials/sheet?site=anlao&range=2026-11", nil)
	req.Header.Set("X-Who", "manager")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	f, err := excelize.OpenReader(bytes.NewReader(rec.Body.Bytes()))
	if err != nil {
		t.Fatalf("site sheet (%d): %v", rec.Code, err)
	}
	defer f.Close()
	for cell, want := range map[string]string{"A4": "Lê Thị Hoa", "A5": "Nguyễn Thị Lan", "B5": "1", "C5": "1", "N3": "Nhận xét của lãnh đạo / Manager's notes", "N5": ""} {
		if got, _ := f.GetCellValue("Cán bộ", cell, excelize.Options{RawCellValue: true}); got != want {
			t.Errorf("%s = %q, want %q", cell, got, want)
		}
	}
	for _, who := range []string{"lan", "other"} {
		req := httptest.NewRequest("GET", "/api/officials/sheet?site=anlao&range=2026-11", nil)
		req.Header.Set("X-Who", who)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusForbidden {
			t.Errorf("%s downloading the site's sheet: %d", who, rec.Code)
		}
	}
}
