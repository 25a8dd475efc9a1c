package casedesk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pscm/pscm/internal/cases"
	"github.com/pscm/pscm/internal/casestore"
	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/testenv"
	"github.com/pscm/pscm/internal/workcal"
)

var ict = time.FixedZone("ICT", 7*3600)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

type fixture struct {
	desk  *Desk
	store *casestore.Store
	clock *clock
	api   http.Handler
	pub   http.Handler
	dir   string
	reg   *prometheus.Registry
}

// The users of the tests: lan manages anlao, hoa manages phuoc-thanh, tinh
// is a province-wide admin.
func users(r *http.Request) (User, bool) {
	name := r.Header.Get("X-Test-User")
	only := func(site string) func(string) bool { return func(s string) bool { return s == site } }
	switch name {
	case "lan":
		return User{Name: name, See: only("anlao"), Personal: only("anlao")}, true
	case "hoa":
		return User{Name: name, See: only("phuoc-thanh"), Personal: only("phuoc-thanh")}, true
	case "tinh":
		return User{Name: name, See: func(string) bool { return true }, Personal: func(string) bool { return false }}, true
	}
	return User{}, false
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	dir := t.TempDir()
	store, err := casestore.Open(context.Background(), casestore.SQLite, filepath.Join(dir, "cases.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cal, err := workcal.Load(filepath.Join(testenv.RepoRoot(t), "configs", "calendar", "vn.yml"))
	if err != nil {
		t.Fatal(err)
	}
	// Monday 16/11/2026, 09:00 in Vietnam.
	clk := &clock{t: time.Date(2026, 11, 16, 9, 0, 0, 0, ict)}
	reg := prometheus.NewPedanticRegistry()
	d, err := New(Config{
		Sites: []kpi.Site{
			{ID: "anlao", Name: "Trung tâm xã An Lão", Counters: []kpi.Counter{{ID: "c01"}, {ID: "c02"}, {ID: "c03"}}},
			{ID: "phuoc-thanh", Name: "Trung tâm xã Phước Thành", Counters: []kpi.Counter{{ID: "c01"}}},
		},
		Rules: cases.DefaultRules(), Calendar: cal, Now: clk.now, AccessLog: filepath.Join(dir, "case-access.jsonl"), PublicPerMinute: 5,
	}, store, slog.New(slog.NewTextHandler(io.Discard, nil)), reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return &fixture{desk: d, store: store, clock: clk, api: d.API(users), pub: d.Public(func(r *http.Request) string { return r.RemoteAddr }), dir: dir, reg: reg}
}

func (f *fixture) do(t *testing.T, user, method, path, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("X-Test-User", user)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	f.api.ServeHTTP(rec, req)
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out
}

func (f *fixture) accessLines(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.dir, "case-access.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte("\n"))
}

const reflection = `{"site":"anlao","kind":"phan_anh","channel":"phone","counter":"c03","message":"Chờ quá lâu ở quầy 3, không được hướng dẫn.","phone":"0912 345 678"}`

// A case received by phone, read by its site's manager (personal data,
// logged), by a province admin (hidden, not logged) and by another site's
// manager (no such case), then taken through its life.
func TestCaseLife(t *testing.T) {
	f := newFixture(t)
	code, c := f.do(t, "lan", "POST", "/api/cases", reflection)
	if code != http.StatusCreated || c["number"] != "anlao-2026-000001" || len(c["code"].(string)) != 8 || c["phone"] != "0912345678" {
		t.Fatalf("create: %d %v", code, c)
	}
	// Received Monday 16/11: to acknowledge within 2 working days (the
	// end of Wednesday 18/11, the deadline shown while it is received).
	if c["deadline"] != "2026-11-18T17:00:00Z" || c["state_vi"] != "Đã tiếp nhận" || c["standing"] != "at_risk" {
		t.Fatalf("new case: deadline %v, %v, %v", c["deadline"], c["state_vi"], c["standing"])
	}
	if n := f.accessLines(t); n != 1 {
		t.Fatalf("%d access log lines after the manager's reading, want 1", n)
	}
	number := c["number"].(string)
	if code, c = f.do(t, "tinh", "GET", "/api/cases/"+number, ""); code != 200 || c["message"] != nil || c["phone"] != nil || c["personal_hidden"] != true {
		t.Fatalf("admin's reading: %d %v", code, c)
	}
	if code, _ = f.do(t, "hoa", "GET", "/api/cases/"+number, ""); code != http.StatusNotFound {
		t.Fatalf("another site's manager: %d, want 404", code)
	}
	if n := f.accessLines(t); n != 1 {
		t.Fatalf("%d access log lines: only the manager's reading is personal", n)
	}
	steps := []struct {
		body string
		want int
	}{
		{`{"to":"assigned"}`, http.StatusBadRequest}, // no assignee
		{`{"to":"acknowledged"}`, 200},
		{`{"to":"assigned","assignee":"Văn phòng HĐND & UBND"}`, 200},
		{`{"to":"closed"}`, http.StatusBadRequest}, // not answered yet
		{`{"to":"answered","note":"Đã nhắc nhở cán bộ quầy 3."}`, 200},
		{`{"to":"answered","note":"again"}`, http.StatusBadRequest},
	}
	for _, s := range steps {
		f.clock.set(f.clock.now().Add(time.Hour))
		if code, c = f.do(t, "lan", "POST", "/api/cases/"+number+"/steps", s.body); code != s.want {
			t.Fatalf("step %s: %d %v, want %d", s.body, code, c, s.want)
		}
	}
	if _, c = f.do(t, "lan", "GET", "/api/cases/"+number, ""); c["state"] != "answered" || len(c["history"].([]any)) != 4 {
		t.Fatalf("after the steps: %v", c)
	}
	if code, _ = f.do(t, "hoa", "POST", "/api/cases/"+number+"/steps", `{"to":"closed"}`); code != http.StatusNotFound {
		t.Fatalf("another site's manager taking a step: %d", code)
	}
}

// Bad input: a clear error, nothing stored, no number used.
func TestCreateRefused(t *testing.T) {
	f := newFixture(t)
	for name, body := range map[string]string{
		"unknown kind":       strings.Replace(reflection, "phan_anh", "than_phien", 1),
		"unknown channel":    strings.Replace(reflection, `"phone"`, `"email"`, 1),
		"counter elsewhere":  strings.Replace(reflection, "c03", "c09", 1),
		"bad phone":          strings.Replace(reflection, "0912 345 678", "12345", 1),
		"empty message":      `{"site":"anlao","kind":"gop_y","channel":"phone","message":"  "}`,
		"unknown field":      `{"site":"anlao","kind":"gop_y","channel":"phone","message":"x","email":"a@b"}`,
		"future receipt":     `{"site":"anlao","kind":"gop_y","channel":"letter","message":"x","received":"2026-12-31T09:00:00+07:00"}`,
		"service not an ID":  `{"site":"anlao","kind":"gop_y","channel":"phone","message":"x","service":"Đất đai"}`,
		"message too long":   `{"site":"anlao","kind":"gop_y","channel":"phone","message":"` + strings.Repeat("á", 2001) + `"}`,
		"not JSON":           `site=anlao`,
		"site not the users": strings.Replace(reflection, "anlao", "phuoc-thanh", 1),
	} {
		code, out := f.do(t, "lan", "POST", "/api/cases", body)
		if code != http.StatusBadRequest && code != http.StatusForbidden || out["error"] == nil || out["error"] == "" {
			t.Errorf("%s: %d %v, want a clear error", name, code, out)
		}
	}
	if l, _ := f.desk.ListSite(context.Background(), "anlao", 100); len(l.Cases) != 0 {
		t.Fatalf("refused cases stored: %+v", l.Cases)
	}
	if _, c := f.do(t, "lan", "POST", "/api/cases", reflection); c["number"] != "anlao-2026-000001" {
		t.Fatalf("the first accepted case is %v: a refused one used a number", c["number"])
	}
}

// The list: open cases by deadline, the ones at risk and overdue counted;
// the gauges say the same.
func TestListByDeadline(t *testing.T) {
	f := newFixture(t)
	mk := func(body string, at time.Time) string {
		f.clock.set(at)
		code, c := f.do(t, "lan", "POST", "/api/cases", body)
		if code != http.StatusCreated {
			t.Fatalf("create: %d %v", code, c)
		}
		return c["number"].(string)
	}
	// A complaint on Friday 30/10 (10 working days to accept: 2-6/11 and
	// 9-13/11, so Friday 13/11; overdue by a working day on Monday 16/11),
	// a reflection on Monday 16/11 (2 days: at risk), feedback answered on
	// time.
	complaint := mk(`{"site":"anlao","kind":"khieu_nai","channel":"letter","message":"Khiếu nại quyết định."}`, time.Date(2026, 10, 30, 9, 0, 0, 0, ict))
	answered := mk(`{"site":"anlao","kind":"gop_y","channel":"kiosk","message":"Nên có thêm ghế chờ."}`, time.Date(2026, 11, 10, 9, 0, 0, 0, ict))
	f.clock.set(time.Date(2026, 11, 11, 9, 0, 0, 0, ict))
	for _, s := range []string{`{"to":"acknowledged"}`, `{"to":"assigned","assignee":"Văn phòng"}`, `{"to":"answered","note":"Đã bổ sung ghế."}`} {
		if code, c := f.do(t, "lan", "POST", "/api/cases/"+answered+"/steps", s); code != 200 {
			t.Fatalf("%s: %d %v", s, code, c)
		}
	}
	reflectionNo := mk(reflection, time.Date(2026, 11, 16, 9, 0, 0, 0, ict))
	f.clock.set(time.Date(2026, 11, 16, 10, 0, 0, 0, ict))
	l, err := f.desk.ListSite(context.Background(), "anlao", 100)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, r := range l.Cases {
		order = append(order, r.Number+" "+string(r.Standing))
	}
	want := []string{complaint + " overdue", reflectionNo + " at_risk", answered + " on_time"}
	if strings.Join(order, ", ") != strings.Join(want, ", ") || l.Open != 2 || l.AtRisk != 1 || l.Overdue != 1 || l.Handled != 1 || l.HandledOnTime != 1 {
		t.Fatalf("list %v (open %d, at risk %d, overdue %d, handled %d on time %d), want %v", order, l.Open, l.AtRisk, l.Overdue, l.Handled, l.HandledOnTime, want)
	}
	if l.Cases[0].StandingVI != "Quá hạn 1 ngày làm việc" {
		t.Errorf("the overdue case says %q", l.Cases[0].StandingVI)
	}
	f.desk.refresh(context.Background())
	for st, n := range map[string]float64{"overdue": 1, "at_risk": 1, "on_time": 0} {
		if got := testutil.ToFloat64(f.desk.openCases.WithLabelValues("anlao", st)); got != n {
			t.Errorf("pscm_dashboard_cases_open{site=anlao,standing=%s} = %v, want %v", st, got, n)
		}
	}
	if code, _ := f.do(t, "hoa", "GET", "/api/cases?site=anlao", ""); code != http.StatusForbidden {
		t.Errorf("another site's manager listing anlao: %d", code)
	}
}

// The public page: the right number and code show the state and the
// answer, never the message nor the phone; a wrong code answers as an
// unknown number; lookups past the limit are refused.
func TestPublicPage(t *testing.T) {
	f := newFixture(t)
	_, c := f.do(t, "lan", "POST", "/api/cases", reflection)
	number, code := c["number"].(string), c["code"].(string)
	for _, s := range []string{`{"to":"acknowledged"}`, `{"to":"assigned","assignee":"Văn phòng"}`, `{"to":"answered","note":"Cán bộ quầy 3 đã được nhắc nhở."}`} {
		f.do(t, "lan", "POST", "/api/cases/"+number+"/steps", s)
	}
	get := func(ip, query string) (int, string) {
		req := httptest.NewRequest("GET", PublicPath+query, nil)
		req.RemoteAddr = ip
		rec := httptest.NewRecorder()
		f.pub.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	status, body := get("192.0.2.1", "?so="+number+"&ma="+strings.ToLower(code))
	if status != 200 || !strings.Contains(body, "Đã trả lời") || !strings.Contains(body, "Cán bộ quầy 3 đã được nhắc nhở.") {
		t.Fatalf("the citizen's lookup: %d\n%s", status, body)
	}
	if strings.Contains(body, "0912345678") || strings.Contains(body, "Chờ quá lâu") {
		t.Fatal("the public page shows personal data")
	}
	_, unknown := get("192.0.2.2", "?so=anlao-2026-999999&ma="+code)
	status, wrong := get("192.0.2.2", "?so="+number+"&ma=AAAAAAAA")
	if status != http.StatusNotFound || wrong != strings.Replace(unknown, "anlao-2026-999999", number, 1) {
		t.Fatalf("a wrong code (%d) answers otherwise than an unknown number", status)
	}
	for range 3 {
		get("192.0.2.2", "?so="+number+"&ma=BBBBBBBB")
	}
	if status, _ = get("192.0.2.2", "?so="+number+"&ma="+code); status != http.StatusTooManyRequests {
		t.Fatalf("the sixth lookup in a minute: %d, want 429", status)
	}
	if status, _ = get("192.0.2.3", "?so="+number+"&ma="+code); status != 200 {
		t.Fatalf("another address: %d", status)
	}
	f.clock.set(f.clock.now().Add(time.Minute))
	if status, _ = get("192.0.2.2", "?so="+number+"&ma="+code); status != 200 {
		t.Fatalf("a minute later: %d", status)
	}
	if status, body = get("192.0.2.4", ""); status != 200 || !strings.Contains(body, `name="ma"`) {
		t.Fatalf("the empty form: %d", status)
	}
}

// Every step goes out as a valid case event, a case's steps in order; a
// broker that refuses holds them back, and they go out once it answers.
func TestPublishOutbox(t *testing.T) {
	f := newFixture(t)
	_, c := f.do(t, "lan", "POST", "/api/cases", reflection)
	number := c["number"].(string)
	f.do(t, "lan", "POST", "/api/cases/"+number+"/steps", `{"to":"acknowledged"}`)
	var mu sync.Mutex
	var got []*schema.Case
	down := true
	publish := func(_ context.Context, topic string, payload []byte) error {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return errors.New("broker away")
		}
		ev, err := schema.DecodeMessage(topic, payload, f.clock.now())
		if err != nil {
			t.Errorf("published an invalid event: %v\n%s", err, payload)
			return nil
		}
		if bytes.Contains(payload, []byte("0912345678")) || bytes.Contains(payload, []byte("Chờ")) {
			t.Errorf("personal data in the event: %s", payload)
		}
		got = append(got, ev.(*schema.Case))
		return nil
	}
	f.desk.publishOutbox(context.Background(), publish)
	if pend, _ := f.store.Unpublished(context.Background(), 10); len(pend) != 2 {
		t.Fatalf("with the broker away, %d steps wait, want 2", len(pend))
	}
	mu.Lock()
	down = false
	mu.Unlock()
	f.desk.publishOutbox(context.Background(), publish)
	if len(got) != 2 || got[0].Step != schema.CaseReceived || got[1].Step != schema.CaseAcknowledged ||
		got[0].ID != number+"-0" || got[1].Case != number || got[1].Counter != "c03" || got[1].Late || got[1].Due.IsZero() {
		t.Fatalf("published %+v", got)
	}
	f.desk.publishOutbox(context.Background(), publish)
	if len(got) != 2 {
		t.Fatalf("published again: %d events", len(got))
	}
	if n := testutil.ToFloat64(f.desk.published); n != 2 {
		t.Fatalf("published_total %v", n)
	}
}

// The agents' door: each site's token, a retry answered again without a
// second case, a number or code not an agent's refused.
func TestIntake(t *testing.T) {
	f := newFixture(t)
	f.desk.cfg.IntakeTokens = map[string]string{"anlao": "anlao-intake-token-0123456789", "phuoc-thanh": "phuoc-thanh-intake-token-0123"}
	h := f.desk.Intake()
	post := func(token, body string) (int, string) {
		req := httptest.NewRequest("POST", "/api/intake", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	body := `{"number":"anlao-2026-K000001","code":"K7P2QXAB","site":"anlao","kind":"phan_anh","channel":"kiosk","received":"2026-11-16T01:55:00Z","counter":"c02","message":"Chờ lâu quá."}`
	for name, tc := range map[string]struct {
		token, body string
		want        int
	}{
		"no token":           {"", body, http.StatusUnauthorized},
		"another site's":     {"phuoc-thanh-intake-token-0123", body, http.StatusUnauthorized},
		"a dashboard number": {"anlao-intake-token-0123456789", strings.Replace(body, "K000001", "000001", 1), http.StatusBadRequest},
		"another site's no.": {"anlao-intake-token-0123456789", strings.Replace(body, "anlao-2026", "hoaan-2026", 1), http.StatusBadRequest},
		"code with an O":     {"anlao-intake-token-0123456789", strings.Replace(body, "K7P2QXAB", "K7P2QXAO", 1), http.StatusBadRequest},
		"unknown counter":    {"anlao-intake-token-0123456789", strings.Replace(body, "c02", "c09", 1), http.StatusBadRequest},
		"empty message":      {"anlao-intake-token-0123456789", strings.Replace(body, "Chờ lâu quá.", " ", 1), http.StatusBadRequest},
		"HTML in a field":    {"anlao-intake-token-0123456789", strings.Replace(body, `"kiosk"`, `"<b>kiosk</b>"`, 1), http.StatusBadRequest},
	} {
		if code, out := post(tc.token, tc.body); code != tc.want {
			t.Errorf("%s: %d %s, want %d", name, code, out, tc.want)
		}
	}
	if l, _ := f.desk.ListSite(context.Background(), "anlao", 10); len(l.Cases) != 0 {
		t.Fatalf("refused intakes stored: %+v", l.Cases)
	}
	if code, out := post("anlao-intake-token-0123456789", body); code != http.StatusCreated {
		t.Fatalf("intake: %d %s", code, out)
	}
	if code, out := post("anlao-intake-token-0123456789", body); code != http.StatusOK || !strings.Contains(out, "already received") {
		t.Fatalf("the agent's retry: %d %s", code, out)
	}
	if code, _ := post("anlao-intake-token-0123456789", strings.Replace(body, "K7P2QXAB", "K7P2QXAC", 1)); code != http.StatusConflict {
		t.Fatalf("the same number with another code: %d", code)
	}
	l, _ := f.desk.ListSite(context.Background(), "anlao", 10)
	if len(l.Cases) != 1 || l.Cases[0].Channel != cases.ChannelKiosk || l.Cases[0].Counter != "c02" {
		t.Fatalf("after the intake: %+v", l.Cases)
	}
}

// The province's file: every row checked, a bad file refused whole with
// its rows named, a file imported again adding nothing.
func TestImport(t *testing.T) {
	f := newFixture(t)
	file := "Mã phản ánh;Loại;Ngày tiếp nhận;Nội dung;Số điện thoại;Quầy\n" +
		"PA-12;Phản ánh;13/11/2026 09:15;Chờ lâu.;0912345678;c02\n" +
		"PA-13;Khiếu nại;14/11/2026;Khiếu nại quyết định.;;\n"
	post := func(body string) (int, map[string]any) {
		req := httptest.NewRequest("POST", "/api/cases/import?site=anlao", strings.NewReader(body))
		req.Header.Set("X-Test-User", "lan")
		rec := httptest.NewRecorder()
		f.api.ServeHTTP(rec, req)
		var out map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		return rec.Code, out
	}
	bad := strings.Replace(file, "c02", "c09", 1) + "PA-14;Góp ý;31/02/2026;x;;\n"
	if code, out := post(bad); code != http.StatusBadRequest || len(out["rows"].([]any)) != 1 {
		// The parser names the date first; the counter is checked once
		// every row parses.
		t.Fatalf("a bad file: %d %v", code, out)
	}
	if code, out := post(strings.Replace(file, "c02", "c09", 1)); code != http.StatusBadRequest || !strings.Contains(fmt.Sprint(out["rows"]), "counter") {
		t.Fatalf("a counter of another site: %d %v", code, out)
	}
	if l, _ := f.desk.ListSite(context.Background(), "anlao", 10); len(l.Cases) != 0 {
		t.Fatalf("a refused file stored %d cases", len(l.Cases))
	}
	if code, out := post(file); code != 200 || out["added"] != float64(2) {
		t.Fatalf("import: %d %v", code, out)
	}
	if code, out := post(file); code != 200 || out["added"] != float64(0) || out["already"] != float64(2) {
		t.Fatalf("the same file again: %d %v", code, out)
	}
	_, c := f.do(t, "lan", "GET", "/api/cases/anlao-2026-PPA-12", "")
	if c["channel"] != "province" || c["counter"] != "c02" || c["phone"] != "0912345678" || c["state"] != "received" {
		t.Fatalf("imported case %v", c)
	}
	req := httptest.NewRequest("POST", "/api/cases/import?site=anlao", strings.NewReader(file))
	req.Header.Set("X-Test-User", "hoa")
	rec := httptest.NewRecorder()
	f.api.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Fatalf("another site's manager importing: %d", rec.Code)
	}
}

// At the end of its retention a handled case loses its message and phone;
// its history, answer and counts stay; an open case keeps them however old.
func TestRetention(t *testing.T) {
	f := newFixture(t)
	f.desk.cfg.RetentionMonths = 12
	f.clock.set(time.Date(2026, 1, 5, 9, 0, 0, 0, ict))
	_, done := f.do(t, "lan", "POST", "/api/cases", reflection)
	_, open := f.do(t, "lan", "POST", "/api/cases", strings.Replace(reflection, "0912 345 678", "0987654321", 1))
	n := done["number"].(string)
	for _, s := range []string{`{"to":"assigned","assignee":"VP"}`, `{"to":"answered","note":"Đã trả lời."}`} {
		f.do(t, "lan", "POST", "/api/cases/"+n+"/steps", s)
	}
	before, _ := f.desk.CaseSummary(context.Background(), "anlao", time.Date(2026, 1, 1, 0, 0, 0, 0, ict), time.Date(2028, 6, 1, 0, 0, 0, 0, ict))
	f.clock.set(time.Date(2026, 12, 31, 9, 0, 0, 0, ict))
	f.desk.erase(context.Background())
	if _, c := f.do(t, "lan", "GET", "/api/cases/"+n, ""); c["phone"] != "0912345678" || c["erased"] != nil {
		t.Fatalf("erased before its retention ended: %v", c)
	}
	f.clock.set(time.Date(2027, 1, 6, 9, 0, 0, 0, ict))
	f.desk.erase(context.Background())
	_, c := f.do(t, "lan", "GET", "/api/cases/"+n, "")
	if c["message"] != nil || c["phone"] != nil || c["erased"] == nil || len(c["history"].([]any)) != 3 {
		t.Fatalf("after its retention: %v", c)
	}
	if _, o := f.do(t, "lan", "GET", "/api/cases/"+open["number"].(string), ""); o["phone"] != "0987654321" {
		t.Fatalf("an open case lost its phone: %v", o)
	}
	after, _ := f.desk.CaseSummary(context.Background(), "anlao", time.Date(2026, 1, 1, 0, 0, 0, 0, ict), time.Date(2028, 6, 1, 0, 0, 0, 0, ict))
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Fatalf("the counts changed: %+v then %+v", before, after)
	}
	b, _ := f.store.Get(context.Background(), n)
	if b.Answer() != "Đã trả lời." {
		t.Fatalf("the answer went: %q", b.Answer())
	}
}

// Hostile text is kept as text: the citizens' page escapes it, and the
// staff's page writes it with textContent (cases.js), never as markup.
func TestHostileText(t *testing.T) {
	f := newFixture(t)
	_, c := f.do(t, "lan", "POST", "/api/cases", strings.Replace(reflection, "Chờ quá lâu ở quầy 3, không được hướng dẫn.", `<script>alert(1)</script> =HYPERLINK(\"x\")`, 1))
	number, code := c["number"].(string), c["code"].(string)
	if c["message"] != `<script>alert(1)</script> =HYPERLINK("x")` {
		t.Fatalf("kept as %v", c["message"])
	}
	f.do(t, "lan", "POST", "/api/cases/"+number+"/steps", `{"to":"assigned","assignee":"<b>VP</b>"}`)
	f.do(t, "lan", "POST", "/api/cases/"+number+"/steps", `{"to":"answered","note":"<img src=x onerror=alert(1)>"}`)
	req := httptest.NewRequest("GET", PublicPath+"?so="+number+"&ma="+code, nil)
	rec := httptest.NewRecorder()
	f.pub.ServeHTTP(rec, req)
	if body := rec.Body.String(); strings.Contains(body, "<img src=x") || !strings.Contains(body, "&lt;img src=x onerror=alert(1)&gt;") {
		t.Fatalf("the answer is not escaped on the citizens' page:\n%s", body)
	}
	js, err := static.ReadFile("static/cases.js")
	if err != nil || strings.Contains(string(js), "innerHTML") || strings.Contains(string(js), "insertAdjacentHTML") {
		t.Fatalf("the staff's page writes markup (%v)", err)
	}
}

// The cases concerning an official, per official, for their figures.
func TestOfficialSummaries(t *testing.T) {
	f := newFixture(t)
	for _, body := range []string{
		strings.Replace(reflection, `"counter":"c03"`, `"counter":"c03","official":"lan"`, 1),
		strings.Replace(reflection, `"counter":"c03"`, `"counter":"c03","official":"lan"`, 1),
		strings.Replace(reflection, `"counter":"c03"`, `"counter":"c03","official":"minh"`, 1),
		reflection,
	} {
		if code, c := f.do(t, "lan", "POST", "/api/cases", body); code != http.StatusCreated {
			t.Fatalf("create: %d %v", code, c)
		}
	}
	got, err := f.desk.OfficialSummaries(context.Background(), "anlao", time.Date(2026, 11, 1, 0, 0, 0, 0, ict), time.Date(2026, 12, 1, 0, 0, 0, 0, ict))
	if err != nil || len(got) != 2 || got["lan"].Received != 2 || got["minh"].Received != 1 || got["lan"].Open != 2 {
		t.Fatalf("per official %+v %v", got, err)
	}
}
