package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/testenv"
	"github.com/pscm/pscm/internal/timezone"
)

// TestDashboardInBrowser: a manager logs in through the real login page and
// sees exactly the seeded figures, also for a range of days chosen with the
// date picker; a rating published meanwhile changes the open page within a
// second, without a reload. Screenshots of the overview,
// the counter grid and wall-TV mode go to artifacts/dashboard-e2e/.
func TestDashboardInBrowser(t *testing.T) {
	e := newDashEnv(t)
	d := e.start(t)
	ctx := testenv.Chromium(t)
	dir := testenv.ArtifactsDir(t, "dashboard-e2e")
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('`+sel+`')||{}).textContent||""`))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(v)
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100 makes a PNG
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
	do("open the login page",
		chromedp.Navigate("http://"+d.addr+"/?site=anlao&period=year"),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "lan"),
		chromedp.SendKeys(chromedp.ID("password"), "correct horse battery"),
		chromedp.Submit(chromedp.ID("password")))
	testenv.Eventually(t, 15*time.Second, 100*time.Millisecond, func() bool {
		return text(`[data-kpi="satisfaction"]`) != ""
	}, "no dashboard after login; page: %.300s", text("body"))
	testenv.Eventually(t, 10*time.Second, 50*time.Millisecond, func() bool {
		return text(`[data-kpi="satisfaction"]`) == "96,0 %"
	}, "satisfaction shows %q, want 96,0 %%", text(`[data-kpi="satisfaction"]`))
	if got := text(`[data-kpi="on-time"]`); got != "98,2 %" {
		t.Errorf("on time shows %q, want 98,2 %%", got)
	}
	// The budgets on the configured year's volumes (wantBudgetSat, Late).
	if got, want := text(`[data-budget="dissatisfied"]`), fmt.Sprintf("Còn có thể nhận thêm %d đánh giá không hài lòng trong năm (theo số dự kiến cả năm: 20.000)", wantBudgetSat); got != want {
		t.Errorf("dissatisfied budget shows %q, want %q", got, want)
	}
	if got, want := text(`[data-budget="late"]`), fmt.Sprintf("Còn có thể có thêm %d hồ sơ trễ hạn trong năm (theo số dự kiến cả năm: 5.000)", wantBudgetLate); got != want {
		t.Errorf("late budget shows %q, want %q", got, want)
	}
	shot("overview")

	// A chosen range, read by the real server from InfluxDB: the day before
	// the seeded ones has nothing; the week ending today holds them all.
	vn := time.Now().In(timezone.Vietnam())
	pick := func(from, to time.Time) {
		t.Helper()
		do("pick a range", chromedp.SetValue(chromedp.ID("range-from"), from.Format(time.DateOnly)),
			chromedp.SetValue(chromedp.ID("range-to"), to.Format(time.DateOnly)), chromedp.Click(chromedp.ID("range-show")))
	}
	yesterday := vn.AddDate(0, 0, -1)
	pick(yesterday, yesterday)
	testenv.Eventually(t, 10*time.Second, 50*time.Millisecond, func() bool {
		return text(`#period-label`) == "Khoảng tùy chọn: "+yesterday.Format("02/01/2006")
	}, "range label %q", text(`#period-label`))
	if got, status := text(`[data-kpi="satisfaction"]`), text(`[data-status="satisfaction"]`); got != "—" || status != "Chưa có dữ liệu" {
		t.Errorf("yesterday: %q %q, want no data", got, status)
	}
	weekAgo := vn.AddDate(0, 0, -6)
	pick(weekAgo, vn)
	want := "Khoảng tùy chọn: " + weekAgo.Format("02/01/2006") + " – " + vn.Format("02/01/2006")
	testenv.Eventually(t, 10*time.Second, 50*time.Millisecond, func() bool { return text(`#period-label`) == want },
		"range label %q, want %q", text(`#period-label`), want)
	for sel, want := range map[string]string{
		`[data-kpi="satisfaction"]`:    "96,0 %",
		`[data-detail="satisfaction"]`: "960 / 1.000 đánh giá hài lòng",
		`[data-kpi="on-time"]`:         "98,2 %",
		`[data-detail="on-time"]`:      "491 / 500 hồ sơ đúng hoặc trước hạn",
	} {
		if got := text(sel); got != want {
			t.Errorf("range: %s shows %q, want %q", sel, got, want)
		}
	}
	shot("range")

	// What a manager asks next, for the range on screen: the same days last
	// year (nothing), the counters ranked (all four at 240 of 250, sharing
	// rank 1), the procedure's on-time share and the nine late dossiers.
	do("analyse the range", chromedp.Click(chromedp.ID("ins-load")))
	testenv.Eventually(t, 15*time.Second, 50*time.Millisecond, func() bool { return text(`#ins-late-count`) != "" },
		"no insights: status %q", text(`#ins-status`))
	for sel, want := range map[string]string{
		`#ins-trend tr[data-row="satisfaction"] td`:                       "96,0 %",
		`#ins-trend tr[data-row="ratings"] td:nth-of-type(2)`:             "0",
		`#ins-counters tr[data-counter="c03"] td`:                         "1",
		`#ins-counters tr[data-counter="c03"] td:nth-of-type(3)`:          "96,0 %",
		`#ins-procedures tr[data-procedure="1.001234"] td:nth-of-type(3)`: "9",
		`#ins-procedures tr[data-procedure="1.001234"] td:nth-of-type(4)`: "98,2 %",
		`#ins-late-count`: "· 9 hồ sơ",
		`#ins-dates`:      "· " + weekAgo.Format("02/01/2006") + " – " + vn.Format("02/01/2006"),
	} {
		if got := text(sel); got != want {
			t.Errorf("insights: %s shows %q, want %q", sel, got, want)
		}
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#ins-late tbody tr').length`)); n != 9 {
		t.Errorf("insights: %d late dossiers listed, want 9", n)
	}
	href, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('ins-xlsx').getAttribute('href')`))
	hc, _ := login(t, d.addr, "lan", "correct horse battery")
	resp, err := hc.Get("http://" + d.addr + "/" + href)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.HasPrefix(body, []byte("PK")) {
		t.Errorf("insights export %s: %d, %d bytes", href, resp.StatusCode, len(body))
	}
	shot("insights")
	do("back to the live figures", chromedp.Click(chromedp.ID("range-back")))
	testenv.Eventually(t, 5*time.Second, 50*time.Millisecond, func() bool { return strings.HasPrefix(text(`#period-label`), "Năm báo cáo ") },
		"not back on the year tab: %q", text(`#period-label`))

	// Live: a rating changes the open page within a second, no reload.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](`window.__noReload = 1`)); err != nil {
		t.Fatal(err)
	}
	pub := e.publisher(t)
	before := text(`[data-kpi="satisfaction"]`)
	e.send(t, pub, "pscm/v1/anlao/rating", schema.Rating{Header: schema.Header{ID: "browser-live", TS: time.Now().UTC(), Site: "anlao"},
		Counter: "c01", Kiosk: "k01", Level: schema.LevelDissatisfied})
	testenv.Eventually(t, time.Second, 20*time.Millisecond, func() bool {
		return text(`[data-kpi="satisfaction"]`) != before
	}, "the open page did not change within 1 s")
	if got := text(`[data-kpi="satisfaction"]`); got != "95,9 %" {
		t.Errorf("after a dissatisfied rating: %q, want 95,9 %% (960/1001)", got)
	}
	if v, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`window.__noReload || 0`)); v != 1 {
		t.Error("the page reloaded")
	}
	// The dissatisfied rating is an alert with its own line; the manager
	// acknowledges it with one click, and the page says who and when.
	ackBtn := `#alerts li[data-id="rating/browser-live"] .a-ackbtn`
	testenv.Eventually(t, 5*time.Second, 50*time.Millisecond, func() bool { return text(ackBtn) == "Xác nhận đã xem" },
		"no acknowledge button on the rating's alert: %q", text("#alerts"))
	do("acknowledge the alert", chromedp.Click(chromedp.CSS(ackBtn)))
	ackText := `#alerts li[data-id="rating/browser-live"] .a-ack`
	testenv.Eventually(t, 5*time.Second, 50*time.Millisecond, func() bool {
		return strings.HasPrefix(text(ackText), "Đã xác nhận: Nguyễn Thị Lan lúc ")
	}, "acknowledgement not shown: %q", text(`#alerts li[data-id="rating/browser-live"]`))
	shot("alert-acknowledged")
	do("scroll to the counters", chromedp.ScrollIntoView(chromedp.CSS(`.counter, [data-counter]`)))
	shot("counters")

	do("wall TV", chromedp.EmulateViewport(1920, 1080),
		chromedp.Navigate("http://"+d.addr+"/?site=anlao&tv=1"),
		chromedp.WaitVisible(chromedp.CSS(`[data-kpi="satisfaction"]`)))
	testenv.Eventually(t, 10*time.Second, 50*time.Millisecond, func() bool {
		return strings.Contains(text(`[data-kpi="satisfaction"]`), "%")
	}, "TV mode shows no figures")
	shot("wall-tv")
}
