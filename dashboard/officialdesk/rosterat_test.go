package officialdesk

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/roster"
)

// RosterAt names who the roster expected at a site's counter, with their
// page for that day; nobody when no shift covers the moment, when the
// rostered official is away, or when the counter's official is another
// site's; nil without a roster.
func TestRosterAt(t *testing.T) {
	if RosterAt(nil, ict) != nil {
		t.Fatal("a lookup without a roster")
	}
	r, err := roster.New(roster.File{
		Officials: []roster.Official{{ID: "lan", Name: "Nguyễn Thị Lan", Site: "anlao"}, {ID: "binh", Name: "Phạm Văn Bình", Site: "hoaan"}},
		Shifts: []roster.Shift{{Official: "lan", Counter: "c01", Days: []string{"mon", "tue", "wed", "thu", "fri"}, Spans: []string{"07:30-11:30"}, From: "2026-11-01"},
			{Official: "binh", Counter: "h01", Days: []string{"mon"}, Spans: []string{"07:30-11:30"}, From: "2026-11-01"}},
		Away: []roster.Away{{Official: "lan", Kind: "leave", From: "2026-11-24", To: "2026-11-24"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	at := RosterAt(r, ict)
	// 02:00 UTC is 09:00 in Vietnam: the page's day is the local one.
	mon := time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)
	for name, tc := range map[string]struct {
		site, counter string
		at            time.Time
		id, url       string
	}{
		"rostered":          {"anlao", "c01", mon, "lan", "/officials/lan?range=2026-11-23"},
		"after the shift":   {"anlao", "c01", mon.Add(3 * time.Hour), "", ""},
		"on leave":          {"anlao", "c01", mon.AddDate(0, 0, 1), "", ""},
		"no shift there":    {"anlao", "c02", mon, "", ""},
		"another site's":    {"anlao", "h01", mon, "", ""},
		"their own site's":  {"hoaan", "h01", mon, "binh", "/officials/binh?range=2026-11-23"},
		"before the roster": {"anlao", "c01", mon.AddDate(0, -1, 0), "", ""},
	} {
		id, who, url, ok := at(tc.site, tc.counter, tc.at)
		if ok != (tc.id != "") || id != tc.id || url != tc.url || ok && who == "" {
			t.Errorf("%s: %q %q %q %v, want %q %q", name, id, who, url, ok, tc.id, tc.url)
		}
	}
}

// The page opens on the day an alert's link names, the input escaped; a
// page without one opens on this month.
func TestPageOpensOnAskedRange(t *testing.T) {
	d, _ := newDesk(t)
	h := d.Page(func(*http.Request) (Viewer, bool) { return viewers["manager"], true }, func(*http.Request) string { return "tok" })
	for path, want := range map[string]string{
		"/officials/lan?range=2026-11-23":                 `id="range" value="2026-11-23"`,
		"/officials/lan":                                  `id="range" value="month"`,
		"/officials/lan?range=%22%3E%3Cscript%3Ex":        `id="range" value="&#34;&gt;&lt;script&gt;x"`,
		"/officials/lan?range=" + strings.Repeat("9", 41): `id="range" value="month"`,
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("%s: %d, want %s in\n%s", path, rec.Code, want, rec.Body.String())
		}
	}
}
