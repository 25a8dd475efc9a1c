package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pscm/pscm/internal/testenv"
	"github.com/pscm/pscm/internal/timezone"
)

const intakeToken = "anlao-intake-token-for-the-test-0123"

// TestCasesAcceptance is issue 16's acceptance through the real programs in
// a real Chromium: a citizen leaves feedback at the kiosk of the real agent
// after a dissatisfied rating and another from the idle screen, each with
// a case number; the agent sends both to the real dashboard; a manager,
// logged in, assigns, answers and closes one on the cases page, and the
// site's count of cases handled on time goes up; the citizen's status page
// shows the answer; the year's report counts them; InfluxDB has each step
// as a case event.
func TestCasesAcceptance(t *testing.T) {
	e := newDashEnv(t)
	tokFile := filepath.Join(e.dir, "intake.token")
	if err := os.WriteFile(tokFile, []byte(testenv.Secret(t, intakeToken)), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(e.cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "cases:\n  enabled: true\n  calendar: %s\n  intake: [{site: anlao, token: {file: %s}}]\n",
		filepath.Join(testenv.RepoRoot(t), "configs", "calendar", "vn.yml"), tokFile)
	f.Close()
	d := e.start(t)

	// The center's agent, its kiosk k01 at counter c01, sending cases to
	// the dashboard.
	agentBin := testenv.BuildProgram(t, "../agent")
	kioskTok := filepath.Join(e.dir, "k01.token")
	if err := os.WriteFile(kioskTok, []byte(testenv.Secret(t, "kiosk-k01-token-0123456789")), 0o600); err != nil {
		t.Fatal(err)
	}
	agentAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	acfg := filepath.Join(e.dir, "agent.yml")
	if err := os.WriteFile(acfg, []byte(fmt.Sprintf(`site: anlao
agent: anlao-edge-1
uplink:
  broker: %s
  client_id: cases-test-agent
  keepalive: 5s
  max_reconnect_interval: 1s
http:
  listen: %s
admin:
  listen: 127.0.0.1:0
spool:
  dir: %s
kiosks:
  - {id: k01, counter: c01, counter_name_vi: "Quầy 1 — Hộ tịch", counter_name_en: "Counter 1 — Civil status", token: {file: %s}}
anti_abuse:
  min_interval: 0s
cases:
  enabled: true
  dashboard: http://%s/api/intake
  token: {file: %s}
  public_url: http://%s/tra-cuu
`, e.mq.URL(), agentAddr, filepath.Join(e.dir, "spool"), kioskTok, d.addr, tokFile, d.addr)), 0o600); err != nil {
		t.Fatal(err)
	}
	testenv.StartProgram(t, "agent", e.dir, []string{agentBin, "-config", acfg}, 30*time.Second, testenv.HTTPReady("http://"+agentAddr+"/healthz"))

	b := testenv.Chromium(t)
	shots := testenv.ArtifactsDir(t, "cases")
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx, cancel := context.WithTimeout(b, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(expr string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(b, 10*time.Second)
		defer cancel()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("evaluate %s: %v", expr, err)
		}
		return v
	}
	shot := func(name string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(b, 10*time.Second)
		defer cancel()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err == nil {
			err = os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644)
		}
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
	}

	// The citizen, at the kiosk: a dissatisfied rating, then a message.
	kiosk := "http://" + agentAddr + "/kiosk/k01/"
	run("the paired kiosk", chromedp.Navigate(kiosk), chromedp.WaitVisible(chromedp.ID("pair")),
		chromedp.Evaluate[chromedp.Void](`localStorage.setItem('pscm.kiosk.k01.token', 'kiosk-k01-token-0123456789')`),
		chromedp.Navigate(kiosk), chromedp.WaitVisible(chromedp.ID("feedback-open")))
	run("dissatisfied", chromedp.Click(chromedp.CSS(`.rate[data-level="dissatisfied"]`)), chromedp.WaitVisible(chromedp.ID("reasons")),
		chromedp.Click(chromedp.ID("reasons-skip")), chromedp.WaitVisible(chromedp.ID("thanks-feedback")),
		chromedp.Click(chromedp.ID("thanks-feedback")), chromedp.WaitVisible(chromedp.ID("vkb")),
		chromedp.Click(chromedp.CSS(`.fb-phrase[data-vi="Thời gian chờ quá lâu."]`)),
		chromedp.Click(chromedp.ID("fb-send")), chromedp.WaitVisible(chromedp.ID("receipt")))
	number, code := eval(`document.getElementById('rc-number').textContent`), eval(`document.getElementById('rc-code').textContent`)
	if !strings.HasPrefix(number, "anlao-") || !strings.Contains(number, "-K") || len(code) != 8 {
		t.Fatalf("receipt %q %q", number, code)
	}
	shot("kiosk-receipt")
	run("from the idle screen", chromedp.Click(chromedp.ID("rc-done")), chromedp.WaitVisible(chromedp.ID("feedback-open")),
		chromedp.Click(chromedp.ID("feedback-open")), chromedp.WaitVisible(chromedp.ID("vkb")),
		chromedp.Click(chromedp.CSS(`.fb-phrase[data-vi="Cơ sở vật chất chưa tốt."]`)),
		chromedp.Click(chromedp.ID("fb-send")), chromedp.WaitVisible(chromedp.ID("receipt")))
	second := eval(`document.getElementById('rc-number').textContent`)
	if second == number || second == "" {
		t.Fatalf("second case %q after %q", second, number)
	}

	// Both reach the dashboard.
	c, st := login(t, d.addr, "lan", "correct horse battery")
	if st != http.StatusSeeOther {
		t.Fatalf("login: %d", st)
	}
	getCase := func(n string) map[string]any {
		resp, err := c.Get("http://" + d.addr + "/api/cases/" + n)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil
		}
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return m
	}
	testenv.Eventually(t, 30*time.Second, 200*time.Millisecond, func() bool { return getCase(number) != nil && getCase(second) != nil },
		"the kiosk's cases on the dashboard")
	if cs := getCase(number); cs["channel"] != "kiosk" || cs["counter"] != "c01" || cs["kind"] != "phan_anh" || cs["message"] != "Thời gian chờ quá lâu." {
		t.Fatalf("the first case on the dashboard: %v", cs)
	}

	// The manager, on the cases page.
	run("log in", chromedp.Navigate("http://"+d.addr+"/login"), chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "lan"), chromedp.SendKeys(chromedp.ID("password"), "correct horse battery"),
		chromedp.Submit(chromedp.ID("password")), chromedp.WaitVisible(chromedp.ID("cases-link")))
	run("the cases page", chromedp.Click(chromedp.ID("cases-link")), chromedp.WaitVisible(chromedp.CSS(`tr[data-number="`+number+`"]`)))
	before := eval(`document.getElementById('counts').textContent`)
	step := func(to, field, value, want string) {
		t.Helper()
		actions := []chromedp.Action[chromedp.Void]{chromedp.SetValue(chromedp.ID("step-to"), to)}
		if field != "" {
			actions = append(actions, chromedp.SendKeys(chromedp.CSS(`#step-form [name="`+field+`"]`), value))
		}
		actions = append(actions, chromedp.Click(chromedp.CSS(`#step-form button[type="submit"]`)),
			chromedp.Poll[chromedp.Void](`document.getElementById('d-title').textContent.includes('`+want+`')`, chromedp.WithPollingTimeout(10*time.Second)))
		run("step "+to, actions...)
	}
	run("open the case", chromedp.Click(chromedp.CSS(`tr[data-number="`+number+`"]`)), chromedp.WaitVisible(chromedp.ID("detail")))
	if got := eval(`document.getElementById('d-facts').textContent`); !strings.Contains(got, "Thời gian chờ quá lâu.") {
		t.Errorf("the manager does not see the message: %q", got)
	}
	step("assigned", "assignee", "Tổ một cửa", "Đang xử lý")
	step("answered", "note", "Trung tâm đã bố trí thêm một quầy vào buổi sáng.", "Đã trả lời")
	shot("cases-page")
	step("closed", "", "", "Đã kết thúc")
	run("the counts", chromedp.Poll[chromedp.Void](`document.getElementById('counts').textContent !== `+jsString(before), chromedp.WithPollingTimeout(10*time.Second)))
	after := eval(`document.getElementById('counts').textContent`)
	if !strings.Contains(after, "Đúng hạn / on time 1/1") || !strings.Contains(after, "Đang mở / open 1") {
		t.Errorf("counts after closing: %q (before %q)", after, before)
	}

	// The citizen's page shows the answer.
	run("the status page", chromedp.Navigate("http://"+d.addr+"/tra-cuu?so="+number+"&ma="+code), chromedp.WaitVisible(chromedp.CSS(".answer")))
	if got := eval(`document.body.textContent`); !strings.Contains(got, "Trung tâm đã bố trí thêm một quầy vào buổi sáng.") || !strings.Contains(got, "Đã kết thúc") {
		t.Errorf("the status page: %q", got)
	}
	shot("status-page")

	// The report of the reporting year under way has the section: two
	// received, one handled, on time (100 %), one open.
	vn := time.Now().In(timezone.Vietnam())
	year := vn.Year()
	if vn.Month() == time.December {
		year++
	}
	resp, err := c.Get(fmt.Sprintf("http://%s/api/report?site=anlao&range=%d&format=html", d.addr, year))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`data-cases="received">2<`, `data-cases="handled">1<`, `class="n met" data-cases="on-time">1 (100,0 %)<`, `data-cases="open">1<`} {
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), want) {
			t.Errorf("the report (%d) lacks %s", resp.StatusCode, want)
		}
	}

	// Every step as a case event, in InfluxDB.
	testenv.Eventually(t, 30*time.Second, 200*time.Millisecond, func() bool {
		rows := e.db.Query(t, `SELECT count("late") FROM "case" WHERE "case" = '`+number+`'`)
		if len(rows) == 0 {
			return false
		}
		n, _ := rows[0].Values[0][1].(json.Number).Int64()
		return n == 4
	}, "received, assigned, answered and closed in InfluxDB")
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
