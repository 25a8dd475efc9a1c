package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/testenv"
)

// TestCasesEndToEnd is a citizen's case through the real path: received by
// a manager through the dashboard's API (SQLite store), its steps published
// as case events through Mosquitto and the collector into InfluxDB, with
// no personal data on the way; a step taken while the broker is down waits
// in the store's outbox and arrives once the broker is back; the citizen's
// public page shows the state without logging in.
func TestCasesEndToEnd(t *testing.T) {
	e := newDashEnv(t)
	f, err := os.OpenFile(e.cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "cases: {enabled: true, calendar: %s}\n", filepath.Join(testenv.RepoRoot(t), "configs", "calendar", "vn.yml"))
	f.Close()
	d := e.start(t)
	c, code := login(t, d.addr, "lan", "correct horse battery")
	if code != http.StatusSeeOther {
		t.Fatalf("login: %d", code)
	}
	csrf := csrfToken(t, c, d.addr)
	post := func(path, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, "http://"+d.addr+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRF-Token", csrf)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	const message = "Cán bộ quầy 2 hẹn trả kết quả ba lần chưa có."
	status, cs := post("/api/cases", `{"site":"anlao","kind":"phan_anh","channel":"in_person","counter":"c02","message":"`+message+`","phone":"0987654321"}`)
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, cs)
	}
	number, caseCode := cs["number"].(string), cs["code"].(string)
	points := func() int64 {
		rows := e.db.Query(t, fmt.Sprintf(`SELECT count("late") FROM "case" WHERE "case" = '%s' AND "counter" = 'c02' AND "case_kind" = 'phan_anh' AND "channel" = 'in_person'`, number))
		if len(rows) == 0 {
			return 0
		}
		n, _ := rows[0].Values[0][1].(json.Number).Int64()
		return n
	}
	testenv.Eventually(t, 30*time.Second, 100*time.Millisecond, func() bool { return points() == 1 }, "the received step in InfluxDB")
	if status, cs = post("/api/cases/"+number+"/steps", `{"to":"acknowledged"}`); status != http.StatusOK {
		t.Fatalf("acknowledge: %d %v", status, cs)
	}
	testenv.Eventually(t, 30*time.Second, 100*time.Millisecond, func() bool { return points() == 2 }, "the acknowledged step in InfluxDB")

	// The broker goes away; the step is kept and published once it is back.
	e.mq.Stop(t)
	if status, cs = post("/api/cases/"+number+"/steps", `{"to":"assigned","assignee":"Văn phòng HĐND & UBND"}`); status != http.StatusOK {
		t.Fatalf("assign with the broker down: %d %v", status, cs)
	}
	e.mq.Start(t)
	testenv.Eventually(t, 60*time.Second, 200*time.Millisecond, func() bool { return points() == 3 }, "the step taken while the broker was down, in InfluxDB")
	rows := e.db.Query(t, fmt.Sprintf(`SELECT * FROM "case" WHERE "case" = '%s'`, number))
	raw, _ := json.Marshal(rows)
	if strings.Contains(string(raw), "0987654321") || strings.Contains(string(raw), "hẹn trả") {
		t.Fatalf("personal data in InfluxDB: %s", raw)
	}
	for _, step := range []string{"received", "acknowledged", "assigned"} {
		if !strings.Contains(string(raw), `"`+step+`"`) {
			t.Errorf("no %s step in InfluxDB: %s", step, raw)
		}
	}

	// The citizen's page, without a login.
	resp, err := http.Get("http://" + d.addr + "/tra-cuu?so=" + number + "&ma=" + caseCode)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Đang xử lý") || strings.Contains(string(body), "0987654321") {
		t.Fatalf("public page: %d\n%s", resp.StatusCode, body)
	}
	resp, err = http.Get("http://" + d.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	metrics := string(b)
	if !strings.Contains(metrics, `pscm_dashboard_cases_open{site="anlao",standing=`) || !strings.Contains(metrics, "pscm_dashboard_case_events_published_total 3") {
		t.Errorf("case metrics missing:\n%s", grepLines(metrics, "case"))
	}
}

// csrfToken reads the page's CSRF token, as its script does.
func csrfToken(t *testing.T, c *http.Client, addr string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
	req.Header.Set("Accept", "text/html")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	_, rest, ok := strings.Cut(string(b), `<meta name="csrf-token" content="`)
	token, _, _ := strings.Cut(rest, `"`)
	if !ok || token == "" {
		t.Fatalf("no CSRF token in the page (%d)", resp.StatusCode)
	}
	return token
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
