package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"

	"github.com/pscm/pscm/dashboard/reports"
	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/report"
	"github.com/pscm/pscm/internal/testenv"
	"github.com/pscm/pscm/internal/timezone"
)

const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// get GETs path from the dashboard with c (its cookies, if any).
func get(t *testing.T, c *http.Client, addr, path string) (reply, []byte) {
	t.Helper()
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{StatusCode: resp.StatusCode, Header: resp.Header}, body
}

// reply is what get keeps of a response whose body it has read and closed.
type reply struct {
	StatusCode int
	Header     http.Header
}

// cells opens a workbook with excelize and returns the raw values at the
// given sheet!address keys.
func cells(t *testing.T, data []byte, addrs ...string) map[string]string {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("excelize cannot open the download: %v", err)
	}
	defer f.Close()
	out := map[string]string{}
	for _, a := range addrs {
		sheet, cell, _ := strings.Cut(a, "!")
		v, err := f.GetCellValue(sheet, cell, excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatalf("%s: %v", a, err)
		}
		out[a] = v
	}
	return out
}

func at(sheet, col string, row int) string { return sheet + "!" + col + strconv.Itoa(row) }

// checkSeededWorkbook checks the summary of the seeded dataset: 1000
// ratings (480 very satisfied, 480 satisfied, 20 neutral, 20
// dissatisfied: 96,0 %) and 500 dossiers (491 early, 9 late: 98,2 %).
func checkSeededWorkbook(t *testing.T, data []byte) {
	t.Helper()
	s := report.SheetSummary
	want := map[string]string{
		at(s, "B", report.RowSatisfaction): "0.96", at(s, "C", report.RowSatisfaction): "0.95", at(s, "D", report.RowSatisfaction): "Đạt / Met",
		at(s, "B", report.RowOnTime): "0.982", at(s, "C", report.RowOnTime): "0.98", at(s, "D", report.RowOnTime): "Đạt / Met",
		at(s, "B", report.RowLevels): "480", at(s, "B", report.RowLevels+1): "480", at(s, "B", report.RowLevels+2): "20", at(s, "B", report.RowLevels+3): "20",
		at(s, "B", report.RowLevels+4): strconv.Itoa(nRatings), at(s, "B", report.RowLevels+5): strconv.Itoa(nSatisfied),
		at(s, "B", report.RowOutcomes): strconv.Itoa(nOnTime), at(s, "B", report.RowOutcomes+1): "0", at(s, "B", report.RowOutcomes+2): "9",
		at(s, "B", report.RowOutcomes+3): strconv.Itoa(nDossiers), at(s, "B", report.RowOutcomes+4): strconv.Itoa(nOnTime),
	}
	var addrs []string
	for a := range want {
		addrs = append(addrs, a)
	}
	got := cells(t, data, addrs...)
	for a, w := range want {
		if got[a] != w {
			if gf, err := strconv.ParseFloat(got[a], 64); err == nil {
				if wf, _ := strconv.ParseFloat(w, 64); gf-wf < 1e-9 && wf-gf < 1e-9 {
					continue
				}
			}
			t.Errorf("%s = %q, want %q", a, got[a], w)
		}
	}
}

// TestReportDownload: the semi-annual report from the running dashboard,
// on the seeded dataset written through Mosquitto and the collector into a
// real InfluxDB. A manager downloads their site's workbook, whose cells
// hold the known totals and shares; the printable page renders them; scope,
// login and bad input are refused with the right status; and in Chromium
// the button is shown to the manager, its link downloads the workbook with
// the session, and the wall TV hides it. Screenshots go to
// artifacts/dashboard-report/.
func TestReportDownload(t *testing.T) {
	e := newDashEnv(t)
	d := e.start(t)
	loc := timezone.Vietnam()
	// The half-year holding the seeded data (written an hour ago), and the
	// one the next deadline reports on: the same except from 1 to 10 June
	// and December.
	label := reports.PeriodOf(time.Now().Add(-time.Hour), loc)
	_, _, def := kpi.ReportPeriod(time.Now(), loc)
	q := "/api/report?site=anlao&period=" + label

	anon := &http.Client{Timeout: 10 * time.Second}
	lan, code := login(t, d.addr, "lan", "correct horse battery")
	if code != http.StatusSeeOther {
		t.Fatalf("login: %d", code)
	}
	root, _ := login(t, d.addr, "root", "root-pass-xyz")

	t.Run("xlsx as the site's manager", func(t *testing.T) {
		resp, body := get(t, lan, d.addr, q+"&format=xlsx")
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		if got := resp.Header.Get("Content-Disposition"); got != `attachment; filename="pscm-bao-cao-anlao-`+label+`.xlsx"` {
			t.Errorf("Content-Disposition %q", got)
		}
		if ct := resp.Header.Get("Content-Type"); ct != xlsxType {
			t.Errorf("Content-Type %q", ct)
		}
		checkSeededWorkbook(t, body)
		got := cells(t, body, report.SheetSites+"!A2", report.SheetSites+"!C2", report.SheetSites+"!A3", report.SheetCounters+"!B2", report.SheetCounters+"!D2")
		if got[report.SheetSites+"!A2"] != "Trung tâm Phục vụ hành chính công xã An Lão" || got[report.SheetSites+"!C2"] != "1000" ||
			got[report.SheetSites+"!A3"] != "" || got[report.SheetCounters+"!B2"] != "Quầy 1 — Hộ tịch" || got[report.SheetCounters+"!D2"] != "250" {
			t.Errorf("sites and counters sheets: %v", got)
		}
	})

	t.Run("default period", func(t *testing.T) {
		resp, body := get(t, lan, d.addr, "/api/report?site=anlao")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Disposition") != `attachment; filename="pscm-bao-cao-anlao-`+def+`.xlsx"` {
			t.Fatalf("%d %q %.200s", resp.StatusCode, resp.Header.Get("Content-Disposition"), body)
		}
		resp, body = get(t, lan, d.addr, "/api/report/periods")
		var p struct {
			Default string           `json:"default"`
			Periods []reports.Period `json:"periods"`
		}
		if err := json.Unmarshal(body, &p); err != nil || resp.StatusCode != 200 || p.Default != def || len(p.Periods) < 2 {
			t.Fatalf("periods: %d %v %s", resp.StatusCode, err, body)
		}
	})

	t.Run("html", func(t *testing.T) {
		resp, body := get(t, lan, d.addr, q+"&format=html")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" ||
			resp.Header.Get("Content-Disposition") != `inline; filename="pscm-bao-cao-anlao-`+label+`.html"` {
			t.Fatalf("%d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"))
		}
		for _, want := range []string{"96,0 %", "98,2 %", "1.000", "Trung tâm Phục vụ hành chính công xã An Lão"} {
			if !bytes.Contains(body, []byte(want)) {
				t.Errorf("page lacks %q", want)
			}
		}
	})

	t.Run("province scope", func(t *testing.T) {
		// A manager's province is their own sites only: lan has one.
		resp, body := get(t, lan, d.addr, "/api/report?site=province&period="+label)
		if resp.StatusCode != 200 {
			t.Fatalf("lan's province: %d %s", resp.StatusCode, body)
		}
		got := cells(t, body, report.SheetSummary+"!A1", report.SheetSites+"!A2", report.SheetSites+"!A3")
		if got[report.SheetSites+"!A2"] != "Trung tâm Phục vụ hành chính công xã An Lão" || got[report.SheetSites+"!A3"] != "" ||
			!strings.HasSuffix(got[report.SheetSummary+"!A1"], "Tổng hợp 1 trung tâm được phân công") {
			t.Errorf("lan's province holds %v", got)
		}
		// An admin's is every configured site.
		resp, body = get(t, root, d.addr, "/api/report?site=province&period="+label)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Disposition") != `attachment; filename="pscm-bao-cao-tong-hop-`+label+`.xlsx"` {
			t.Fatalf("admin's province: %d %q", resp.StatusCode, resp.Header.Get("Content-Disposition"))
		}
		checkSeededWorkbook(t, body) // phuoc-thanh has no data: the sums are anlao's
		got = cells(t, body, report.SheetSummary+"!A1", report.SheetSites+"!A2", report.SheetSites+"!A3")
		if got[report.SheetSites+"!A3"] != "Trung tâm xã Phước Thành" || !strings.HasSuffix(got[report.SheetSummary+"!A1"], "Toàn tỉnh (2 trung tâm)") {
			t.Errorf("admin's province holds %v", got)
		}
	})

	t.Run("refused", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			c      *http.Client
			path   string
			status int
			msg    string
		}{
			{"no cookie", anon, q, 401, "unauthenticated"},
			{"no cookie, periods", anon, "/api/report/periods", 401, "unauthenticated"},
			{"another site", lan, "/api/report?site=phuoc-thanh&period=" + label, 403, "outside your scope"},
			{"bad format", lan, q + "&format=pdf", 400, `format "pdf" is not xlsx or html`},
			{"bad period", lan, "/api/report?site=anlao&period=2026-13", 400, `period "2026-13" is not one of`},
			{"period too old", lan, "/api/report?site=anlao&period=2001H1", 400, `period "2001H1" is not one of`},
			{"unknown site", root, "/api/report?site=nowhere", 400, `site "nowhere" is not configured`},
		} {
			resp, body := get(t, tc.c, d.addr, tc.path)
			var e struct{ Error string }
			json.Unmarshal(body, &e)
			if resp.StatusCode != tc.status || !strings.Contains(e.Error, tc.msg) || resp.Header.Get("Content-Disposition") != "" {
				t.Errorf("%s: %d %s, want %d with %q", tc.name, resp.StatusCode, body, tc.status, tc.msg)
			}
		}
	})

	t.Run("metrics", func(t *testing.T) {
		_, body := get(t, anon, d.admin, "/metrics")
		testenv.CheckMetrics(t, body)
		// 4 workbooks served above (site, default period, two provinces), 1 page.
		for _, want := range []string{`pscm_dashboard_reports_total{format="xlsx",result="ok"} 4`, `pscm_dashboard_reports_total{format="html",result="ok"} 1`,
			`pscm_dashboard_report_duration_seconds_count{format="xlsx"} 4`, `pscm_dashboard_build_info{goversion="`} {
			if !bytes.Contains(body, []byte(want)) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
	})

	t.Run("browser", func(t *testing.T) { reportInBrowser(t, d, label, def) })
}

// reportInBrowser: the manager logs in through the real login page; the
// report bar shows for the site, Vietnamese first, with the default period
// chosen; choosing the seeded period changes the links; the XLSX link,
// fetched by the page with its session, is a 200 workbook holding the
// seeded numbers; the HTML link renders the printable report; English
// beside; the overview offers the sum of the user's sites; hidden on the
// wall TV.
func reportInBrowser(t *testing.T, d *dash, label, def string) {
	ctx := testenv.Chromium(t)
	dir := testenv.ArtifactsDir(t, "dashboard-report")
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return v
	}
	text := func(sel string) string {
		return strings.TrimSpace(eval(`(document.querySelector('` + sel + `')||{}).innerText||""`))
	}
	visible := func(sel string) bool {
		return eval(`(() => { const e = document.querySelector('`+sel+`'); return String(!!e && e.offsetParent !== null && !e.closest('[hidden]')); })()`) == "true"
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name+".png")
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", p)
	}

	do("laptop viewport", chromedp.EmulateViewport(1366, 768))
	do("log in",
		chromedp.Navigate("http://"+d.addr+"/?site=anlao&lang=vi"),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "lan"),
		chromedp.SendKeys(chromedp.ID("password"), "correct horse battery"),
		chromedp.Submit(chromedp.ID("password")))
	testenv.Eventually(t, 15*time.Second, 100*time.Millisecond, func() bool { return visible("#report-xlsx") },
		"no report button for the manager; page: %.300s", text("body"))
	if got := text("#report-xlsx"); got != "Tải báo cáo 6 tháng (XLSX)" {
		t.Errorf("button %q", got)
	}
	if got := text("#report-html"); got != "In báo cáo (HTML)" {
		t.Errorf("print link %q", got)
	}
	if got := eval(`document.getElementById('report-period').value`); got != def {
		t.Errorf("preselected period %q, want the next deadline's %s", got, def)
	}
	if n, _ := strconv.Atoi(eval(`String(document.querySelectorAll('#report-period option').length)`)); n < 2 {
		t.Errorf("%d periods to choose from", n)
	}
	eval(`(() => { const s = document.getElementById('report-period');
		s.value = '` + label + `'; s.dispatchEvent(new Event('change')); return ''; })()`)
	wantHref := "/api/report?site=anlao&period=" + label + "&format=xlsx"
	if got := eval(`new URL(document.getElementById('report-xlsx').href).pathname + new URL(document.getElementById('report-xlsx').href).search`); got != wantHref {
		t.Errorf("XLSX link %q, want %q", got, wantHref)
	}
	shot("site-with-report-button")

	// The link as the browser follows it: same origin, the session cookie.
	var dl struct {
		Status      int    `json:"status"`
		Type        string `json:"type"`
		Disposition string `json:"disposition"`
		Body        string `json:"body"`
	}
	raw := eval(`fetch(document.getElementById('report-xlsx').href, { credentials: 'same-origin' }).then(async (r) => {
		const b = new Uint8Array(await r.arrayBuffer());
		let s = ''; for (const x of b) s += String.fromCharCode(x);
		return JSON.stringify({ status: r.status, type: r.headers.get('content-type'), disposition: r.headers.get('content-disposition'), body: btoa(s) });
	})`)
	if err := json.Unmarshal([]byte(raw), &dl); err != nil {
		t.Fatalf("%v: %.200s", err, raw)
	}
	data, err := base64.StdEncoding.DecodeString(dl.Body)
	if err != nil || dl.Status != 200 || dl.Type != xlsxType || dl.Disposition != `attachment; filename="pscm-bao-cao-anlao-`+label+`.xlsx"` {
		t.Fatalf("download from the page: %d %q %q %v", dl.Status, dl.Type, dl.Disposition, err)
	}
	checkSeededWorkbook(t, data)

	do("switch to English", chromedp.Click(chromedp.ID("lang-en")))
	testenv.Eventually(t, 5*time.Second, 50*time.Millisecond, func() bool { return text("#report-xlsx") == "Download half-year report (XLSX)" },
		"English button %q", text("#report-xlsx"))
	if got := eval(`document.getElementById('report-period').value`); got != label {
		t.Errorf("the chosen period %q did not survive the language switch", got)
	}
	do("back to Vietnamese", chromedp.Click(chromedp.ID("lang-vi")))

	// The printable page, as the print link opens it.
	do("open the printable report", chromedp.Navigate(eval(`document.getElementById('report-html').href`)))
	testenv.Eventually(t, 15*time.Second, 100*time.Millisecond, func() bool { return text(`[data-kpi="satisfaction"]`) == "96,0 %" },
		"printable report shows %q", text(`[data-kpi="satisfaction"]`))
	if got := text(`[data-kpi="on-time"]`); got != "98,2 %" {
		t.Errorf("printable report on time %q", got)
	}
	shot("printable-report")

	// The overview offers the sum of the user's sites.
	do("open the overview", chromedp.Navigate("http://"+d.addr+"/?view=sites&lang=vi"))
	testenv.Eventually(t, 15*time.Second, 100*time.Millisecond, func() bool { return visible("#report-xlsx") },
		"no report button in the overview; page: %.300s", text("body"))
	if got := eval(`new URL(document.getElementById('report-xlsx').href).search`); got != "?site=province&period="+def+"&format=xlsx" {
		t.Errorf("overview XLSX link %q", got)
	}
	shot("overview-with-report-button")

	// The wall TV has no report button.
	do("wall TV", chromedp.EmulateViewport(1920, 1080), chromedp.Navigate("http://"+d.addr+"/?site=anlao&tv=1"),
		chromedp.WaitVisible(chromedp.CSS(`[data-kpi="satisfaction"]`)))
	testenv.Eventually(t, 10*time.Second, 50*time.Millisecond, func() bool { return strings.Contains(text(`[data-kpi="satisfaction"]`), "%") },
		"TV mode shows no figures")
	if visible("#report") || visible("#report-xlsx") {
		t.Error("the wall TV shows the report button")
	}
}
