package reports

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/xuri/excelize/v2"

	"github.com/pscm/pscm/dashboard/auth"
	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/report"
	"github.com/pscm/pscm/internal/schema"
)

var ict = time.FixedZone("ICT", 7*3600)

// fakeLoader answers every site with the same known figures, and records
// which sites were asked for. While hold is set, each Load signals started
// and waits for hold to close: also past its context's end unless
// honourCtx, like a database that does not notice a cancelled query.
type fakeLoader struct {
	mu        sync.Mutex
	asked     map[string]bool
	hold      chan struct{}
	honourCtx bool
	started   chan struct{}
}

func (f *fakeLoader) holdWith(hold chan struct{}, honourCtx bool) {
	f.mu.Lock()
	f.hold, f.honourCtx = hold, honourCtx
	f.mu.Unlock()
}

func stats() kpi.Stats {
	return kpi.Stats{
		Ratings:      map[schema.Level]int64{schema.LevelVerySatisfied: 60, schema.LevelSatisfied: 36, schema.LevelNeutral: 3, schema.LevelDissatisfied: 1},
		RatingsTotal: 100, Satisfied: 96, HasRatings: true, SatisfiedPct: 96,
		Dossiers:      map[schema.Outcome]int64{schema.OutcomeEarly: 30, schema.OutcomeOnTime: 19, schema.OutcomeLate: 1},
		DossiersTotal: 50, OnTime: 49, HasDossiers: true, OnTimePct: 98,
	}
}

func (f *fakeLoader) Load(ctx context.Context, site string, _, _ time.Time) (kpi.Stats, map[string]kpi.Stats, error) {
	f.mu.Lock()
	if f.asked == nil {
		f.asked = map[string]bool{}
	}
	f.asked[site] = true
	hold, honour := f.hold, f.honourCtx
	f.mu.Unlock()
	if hold != nil {
		f.started <- struct{}{}
		if honour {
			select {
			case <-ctx.Done():
				return kpi.Stats{}, nil, ctx.Err()
			case <-hold:
			}
		}
		<-hold
	}
	return stats(), map[string]kpi.Stats{}, nil
}

func (f *fakeLoader) LoadTotals(context.Context, string, time.Time, time.Time) (kpi.Stats, map[string]kpi.Stats, error) {
	return stats(), nil, nil
}

func (f *fakeLoader) sites() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for s := range f.asked {
		out = append(out, s)
	}
	return out
}

var sites = []kpi.Site{
	{ID: "anlao", Name: "Trung tâm xã An Lão", Counters: []kpi.Counter{{ID: "c01", NameVI: "Quầy 1"}}},
	{ID: "anhoa", Name: "Trung tâm xã An Hòa"},
	{ID: "phuoc-thanh", Name: "Trung tâm xã Phước Thành"},
}

// 26/11/2026 in Vietnam: the next deadline is 10/12/2026, for 2026H2.
var now = time.Date(2026, 11, 26, 9, 0, 0, 0, ict)

// Users of auth/testdata/users.yml: root is an admin, lan manages anlao,
// minh anlao and phuoc-thanh.
const (
	admin = "root"
	lan   = "lan"
	minh  = "minh"
)

var passwords = map[string]string{admin: "root-pass-xyz", lan: "correct horse battery", minh: "mat-khau-an-lao-2026"}

// logins holds the real auth of the dashboard and a session cookie per
// user, made by its real login handler.
type logins struct {
	a       *auth.Auth
	cookies map[string]*http.Cookie
}

func newLogins(t *testing.T) *logins {
	t.Helper()
	b, err := os.ReadFile("../auth/testdata/users.yml")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "users.yml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	users, err := auth.LoadUsers(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := auth.DefaultConfig()
	cfg.Secure = false
	a, err := auth.New(cfg, users, []byte(strings.Repeat("k", 48)), slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	l := &logins{a: a, cookies: map[string]*http.Cookie{}}
	for name, pass := range passwords {
		r := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(url.Values{"username": {name}, "password": {pass}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		a.LoginHandler().ServeHTTP(w, r)
		for _, c := range w.Result().Cookies() {
			if c.Name == "pscm_session" && c.Value != "" {
				l.cookies[name] = c
			}
		}
		if l.cookies[name] == nil {
			t.Fatalf("login %s: %d, no cookie", name, w.Code)
		}
	}
	return l
}

func newHandler(t *testing.T, src report.Loader, mod func(*Config)) (*Handler, *prometheus.Registry) {
	t.Helper()
	cfg := Config{Sites: sites, Loc: ict, Targets: kpi.DefaultTargets(), Now: func() time.Time { return now }}
	if mod != nil {
		mod(&cfg)
	}
	reg := prometheus.NewRegistry()
	h, err := New(cfg, src, slog.New(slog.NewTextHandler(io.Discard, nil)), reg)
	if err != nil {
		t.Fatal(err)
	}
	return h, reg
}

// do calls h behind the dashboard's auth.Require, with user's session
// cookie (none when user is "").
func (l *logins) do(h http.Handler, user, target string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	if user != "" {
		r.AddCookie(l.cookies[user])
	}
	w := httptest.NewRecorder()
	l.a.Require(h).ServeHTTP(w, r)
	return w
}

func TestRefusals(t *testing.T) {
	src := &fakeLoader{}
	h, reg := newHandler(t, src, nil)
	l := newLogins(t)
	// Called without auth.Require (a wiring mistake), the handler refuses too.
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/report?site=anlao", nil))
	if w.Code != 401 {
		t.Errorf("without a user in the context: %d", w.Code)
	}
	for _, tc := range []struct {
		name   string
		user   string
		target string
		status int
		msg    string
	}{
		{"no cookie", "", "/api/report?site=anlao", 401, "unauthenticated"},
		{"another site", lan, "/api/report?site=anhoa", 403, "outside your scope"},
		{"another site, bad format too", lan, "/api/report?site=anhoa&format=pdf", 403, "outside your scope"},
		{"no site", lan, "/api/report", 400, "site is required"},
		{"invalid site ID", admin, "/api/report?site=An%20Lao", 400, "not a valid site ID"},
		{"unconfigured site", admin, "/api/report?site=nowhere", 400, "not configured"},
		{"bad format", lan, "/api/report?site=anlao&format=pdf", 400, `format "pdf" is not xlsx or html`},
		{"bad period", lan, "/api/report?site=anlao&period=2026Q3", 400, `period "2026Q3" is not one of 2022H1 to 2026H2`},
		{"future period", lan, "/api/report?site=anlao&period=2027H1", 400, "is not one of"},
		{"too old", lan, "/api/report?site=anlao&period=2021H2", 400, "is not one of"},
		{"repeated parameter", admin, "/api/report?site=anlao&site=anhoa", 400, "repeated"},
		{"period and range", lan, "/api/report?site=anlao&period=2026H2&range=2026", 400, "give period or range, not both"},
		{"bad range", lan, "/api/report?site=anlao&range=2026-W54", 400, "năm 2026 không có tuần 54 / 2026 has no week 54"},
		{"range in the future", lan, "/api/report?site=anlao&range=2027", 400, "after today (26/11/2026)"},
		{"range too long", lan, "/api/report?site=anlao&range=2020-01-01..2026-01-01", 400, "longer than 3 years"},
		{"another site, any range", lan, "/api/report?site=anhoa&range=2026", 403, "outside your scope"},
		{"province named as a site", admin, "/api/report?site=Province", 400, "not a valid site ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := l.do(h, tc.user, tc.target)
			var body struct{ Error string }
			json.Unmarshal(w.Body.Bytes(), &body)
			if w.Code != tc.status || !strings.Contains(body.Error, tc.msg) {
				t.Fatalf("%d %s, want %d with %q", w.Code, w.Body.String(), tc.status, tc.msg)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" || w.Header().Get("Content-Disposition") != "" {
				t.Errorf("refusal served as %q, %q", ct, w.Header().Get("Content-Disposition"))
			}
		})
	}
	if got := src.sites(); len(got) != 0 {
		t.Errorf("refused requests loaded %v", got)
	}
	if n := testutil.ToFloat64(h.served.WithLabelValues(FormatXLSX, "ok")); n != 0 {
		t.Errorf("%v reports counted as served", n)
	}
	if n, err := testutil.GatherAndCount(reg, "pscm_dashboard_reports_total"); err != nil || n != 8 {
		t.Errorf("%d report series (%v), want 8 from the start", n, err)
	}
}

func TestServes(t *testing.T) {
	l := newLogins(t)
	for _, tc := range []struct {
		name, target string
		user         string
		filename     string
		disposition  string
		sites        string
		title        string
	}{
		{"manager, own site, default period", "/api/report?site=anlao", lan,
			"pscm-bao-cao-anlao-2026H2.xlsx", "attachment", "anlao", "Trung tâm xã An Lão"},
		{"manager, own sites summed", "/api/report?site=province&period=2026h1&format=xlsx", minh,
			"pscm-bao-cao-tong-hop-2026H1.xlsx", "attachment", "anlao,phuoc-thanh", "Tổng hợp 2 trung tâm được phân công"},
		{"admin, province", "/api/report?site=province&period=2026-H2&format=xlsx", admin,
			"pscm-bao-cao-tong-hop-2026H2.xlsx", "attachment", "anhoa,anlao,phuoc-thanh", "Toàn tỉnh (3 trung tâm)"},
		{"admin, any site, html", "/api/report?site=phuoc-thanh&period=2026H1&format=html", admin,
			"pscm-bao-cao-phuoc-thanh-2026H1.html", "inline", "phuoc-thanh", "Trung tâm xã Phước Thành"},
		{"manager, reporting year", "/api/report?site=anlao&range=2026", lan,
			"pscm-bao-cao-anlao-2026.xlsx", "attachment", "anlao", "Trung tâm xã An Lão"},
		{"manager, custom range, html", "/api/report?site=anlao&range=01/11/2026..2026-11-25&format=html", lan,
			"pscm-bao-cao-anlao-2026-11-01_2026-11-25.html", "inline", "anlao", "Trung tâm xã An Lão"},
		{"manager, older half-year by range", "/api/report?site=province&range=2021H2", minh,
			"pscm-bao-cao-tong-hop-2021H2.xlsx", "attachment", "anlao,phuoc-thanh", "Tổng hợp 2 trung tâm được phân công"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &fakeLoader{}
			h, _ := newHandler(t, src, nil)
			w := l.do(h, tc.user, tc.target)
			if w.Code != 200 {
				t.Fatalf("%d %s", w.Code, w.Body.String())
			}
			if got := w.Header().Get("Content-Disposition"); got != tc.disposition+`; filename="`+tc.filename+`"` {
				t.Errorf("Content-Disposition %q", got)
			}
			got := src.sites()
			slices.Sort(got)
			if strings.Join(got, ",") != tc.sites {
				t.Errorf("loaded %v, want %s", got, tc.sites)
			}
			if strings.HasSuffix(tc.filename, ".html") {
				body := w.Body.String()
				if strings.Contains(tc.target, "range=01/11/2026") && !strings.Contains(body, "Từ ngày 01/11/2026 đến ngày 25/11/2026") {
					t.Errorf("the custom range's days are not on the page: %.2000s", body)
				}
				if w.Header().Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(w.Header().Get("Content-Security-Policy"), "default-src 'none'") ||
					!strings.Contains(body, tc.title) || !strings.Contains(body, "96,0 %") {
					t.Errorf("HTML %q %q: %.300s", w.Header().Get("Content-Type"), w.Header().Get("Content-Security-Policy"), body)
				}
				return
			}
			f, err := excelize.OpenReader(bytes.NewReader(w.Body.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			title, _ := f.GetCellValue(report.SheetSummary, "A1")
			sat, _ := f.GetCellValue(report.SheetSummary, "B8", excelize.Options{RawCellValue: true})
			if !strings.HasSuffix(title, "— "+tc.title) || sat != "0.96" {
				t.Errorf("workbook title %q, satisfaction %q", title, sat)
			}
		})
	}
}

func TestPeriods(t *testing.T) {
	for _, tc := range []struct {
		now         time.Time
		def, first  string
		last, count string
	}{
		// Late November: the next deadline (10/12) reports on the running H2.
		{time.Date(2026, 11, 26, 9, 0, 0, 0, ict), "2026H2", "2026H2", "2022H1", ""},
		// 5 December: H1 of 2027 has started, but the deadline still due is H2's.
		{time.Date(2026, 12, 5, 9, 0, 0, 0, ict), "2026H2", "2027H1", "2022H2", ""},
		// 11 December: the next deadline is 10/06/2027.
		{time.Date(2026, 12, 11, 9, 0, 0, 0, ict), "2027H1", "2027H1", "2022H2", ""},
		// 3 June: H2 has started, H1's report is due on the 10th.
		{time.Date(2026, 6, 3, 9, 0, 0, 0, ict), "2026H1", "2026H2", "2022H1", ""},
	} {
		h, _ := newHandler(t, &fakeLoader{}, func(c *Config) { c.Now = func() time.Time { return tc.now } })
		list, def := h.Periods()
		if def != tc.def || len(list) != pastPeriods+1 || list[0].Label != tc.first || list[len(list)-1].Label != tc.last {
			t.Errorf("at %v: default %s, list %+v", tc.now, def, list)
		}
		found := false
		for _, p := range list {
			found = found || p.Label == def
		}
		if !found {
			t.Errorf("at %v the default %s is not offered", tc.now, def)
		}
	}

	h, _ := newHandler(t, &fakeLoader{}, nil)
	l := newLogins(t)
	w := l.do(h.PeriodsHandler(), lan, "/api/report/periods")
	var got struct {
		Default string   `json:"default"`
		Periods []Period `json:"periods"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != 200 {
		t.Fatalf("%d %v %s", w.Code, err, w.Body.String())
	}
	want := Period{Label: "2026H2", From: "2026-06-01", To: "2026-11-30", Due: "2026-12-10"}
	if got.Default != "2026H2" || got.Periods[0] != want || got.Periods[1].Label != "2026H1" || got.Periods[1].From != "2025-12-01" {
		t.Errorf("periods %+v", got)
	}
	if w := l.do(h.PeriodsHandler(), "", "/api/report/periods"); w.Code != 401 {
		t.Errorf("periods without a user: %d", w.Code)
	}
}

func TestNewRefuses(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no sites", Config{}, "no sites"},
		{"a site named province", Config{Sites: []kpi.Site{{ID: "province", Name: "x"}}}, `may not be named "province"`},
	} {
		if _, err := New(tc.cfg, &fakeLoader{}, log, prometheus.NewRegistry()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestBounded: one report at a time per user (429), a global limit whose
// waiters give up with the timeout (503), and a build cut at the timeout
// (504); each counted by format and result.
func TestBounded(t *testing.T) {
	src := &fakeLoader{started: make(chan struct{}, 4)}
	h, _ := newHandler(t, src, func(c *Config) { c.MaxConcurrent = 1; c.Timeout = 300 * time.Millisecond })
	l := newLogins(t)

	// lan's first report holds the only slot until released.
	hold := make(chan struct{})
	src.holdWith(hold, false)
	first := make(chan *httptest.ResponseRecorder, 1)
	go func() { first <- l.do(h, lan, "/api/report?site=anlao") }()
	<-src.started
	if w := l.do(h, lan, "/api/report?site=anlao&format=html"); w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Errorf("lan's second report at once: %d %s, want 429", w.Code, w.Body.String())
	}
	if w := l.do(h, minh, "/api/report?site=anlao"); w.Code != http.StatusServiceUnavailable {
		t.Errorf("minh while the only slot is taken: %d %s, want 503", w.Code, w.Body.String())
	}
	close(hold)
	if w := <-first; w.Code != 200 {
		t.Errorf("held build, released: %d %s", w.Code, w.Body.String())
	}

	// A build that outlasts the timeout is cut off; the slot is free after.
	src.holdWith(make(chan struct{}), true)
	if w := l.do(h, minh, "/api/report?site=anlao"); w.Code != http.StatusGatewayTimeout {
		t.Errorf("slow build: %d %s, want 504", w.Code, w.Body.String())
	}
	src.holdWith(nil, false)
	if w := l.do(h, lan, "/api/report?site=anlao&format=html"); w.Code != 200 {
		t.Errorf("after the timeout: %d %s", w.Code, w.Body.String())
	}
	for _, c := range []struct {
		format, result string
		want           float64
	}{{FormatHTML, "busy", 1}, {FormatXLSX, "busy", 1}, {FormatXLSX, "timeout", 1}, {FormatXLSX, "ok", 1}, {FormatHTML, "ok", 1}, {FormatHTML, "error", 0}} {
		if got := testutil.ToFloat64(h.served.WithLabelValues(c.format, c.result)); got != c.want {
			t.Errorf("reports_total{%s,%s} = %v, want %v", c.format, c.result, got, c.want)
		}
	}
	if n := testutil.CollectAndCount(h.duration); n != 2 {
		t.Errorf("%d duration series, want 2", n)
	}
}
