package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pscm/pscm/internal/testenv"
)

// TestAbsenceFacts: at the desk, each "unstaffed" alert shows the facts
// behind it (since when the seat was empty, the camera's last report and
// whether it was live) and the roster's answer: the official rostered,
// linked to their page for the day, or "Không có lịch trực"; without a
// roster, nothing of people. An unstaffed counter's tile shows the same
// facts under its "Trống"; a staffed one none. The wall TV shows none of
// it, and no official's name.
func TestAbsenceFacts(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs Chromium (run without -short)")
	}
	ws := &wsServer{t: t, conns: make(chan *wsConn, 4)}
	mux := http.NewServeMux()
	mux.Handle("/ws", ws)
	mux.Handle("/", Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	now := time.Now()
	ict := time.FixedZone("ICT", 7*3600)
	at := func(d time.Duration) string { return now.Add(-d).UTC().Format(time.RFC3339) }
	hm := func(d time.Duration) string { return now.Add(-d).In(ict).Format("15:04") }
	hms := func(d time.Duration) string { return now.Add(-d).In(ict).Format("15:04:05") }
	facts := func(roster obj, live bool) obj {
		f := obj{"vacant_since": at(51 * time.Minute), "camera": "cam3", "camera_seen_until": at(40 * time.Minute), "coverage_current": live}
		if roster != nil {
			f["roster"] = roster
		}
		return f
	}
	unstaffed := func(id string, f obj) obj {
		return obj{"id": id, "ts": at(40 * time.Minute), "kind": "unstaffed", "counter": "c03",
			"text_vi": "Quầy 3 không có cán bộ 11 phút trong giờ làm việc", "text_en": "Counter 3 unstaffed for 11 min in working hours", "facts": f}
	}
	snap := snapshot(now, 960, 10, 1)
	snap["alerts"] = []obj{
		unstaffed("unstaffed/c03/1", facts(obj{"at": at(40 * time.Minute), "official": obj{"id": "hoa", "name": "Lê Thị Hoa", "url": "/officials/hoa?range=2026-12-02"}}, true)),
		unstaffed("unstaffed/c03/2", facts(obj{"at": at(40 * time.Minute)}, false)),
		unstaffed("unstaffed/c03/3", facts(nil, true)),
	}
	// c03's tile, "Trống" while the alert's absence goes on, carries the
	// facts as they stand now.
	counters := snap["counters"].([]obj)
	if counters[2]["id"] != "c03" || counters[2]["staffed"] != false {
		t.Fatalf("snapshot's third counter %v, want c03 unstaffed", counters[2])
	}
	counters[2]["facts"] = obj{"vacant_since": at(51 * time.Minute), "camera": "cam3", "camera_seen_until": at(5 * time.Second), "coverage_current": true,
		"roster": obj{"at": at(5 * time.Second), "official": obj{"id": "hoa", "name": "Lê Thị Hoa", "url": "/officials/hoa?range=2026-12-02"}}}

	b := &browser{t: t, ctx: testenv.Chromium(t), dir: testenv.ArtifactsDir(t, "dashboard")}
	b.do("laptop viewport", chromedp.EmulateViewport(1366, 768))
	b.do("open the page", chromedp.Navigate(srv.URL+"/?site=anlao&lang=vi&period=today"))
	ws.next(t, 10*time.Second).send(t, snap)
	one := `#alerts li[data-id="unstaffed/c03/1"] `
	b.waitText(one+".f-official", "Lê Thị Hoa")
	for _, c := range []struct{ sel, want string }{
		{one + ".f-seat", "Ghế cán bộ trống từ " + hm(51*time.Minute)},
		{one + ".f-camera", "camera cam3 báo lần cuối lúc " + hms(40*time.Minute) + " (đang quan sát)"},
		{one + ".f-roster", "Lịch trực: Lê Thị Hoa"},
		{`#alerts li[data-id="unstaffed/c03/2"] .f-roster`, "Không có lịch trực"},
		{`#alerts li[data-id="unstaffed/c03/2"] .f-camera`, "camera cam3 báo lần cuối lúc " + hms(40*time.Minute) + " (dữ liệu đến muộn)"},
		{`#alerts li[data-id="unstaffed/c03/3"] .f-roster`, "<none>"},
		{`#alerts li[data-id="unstaffed/c03/3"] .f-seat`, "Ghế cán bộ trống từ " + hm(51*time.Minute)},
		{`#alerts li[data-id="unstaffed/c03/1"] .a-text`, "Quầy 3 không có cán bộ 11 phút trong giờ làm việc"},
	} {
		if got := b.text(c.sel); got != c.want {
			t.Errorf("%s shows %q, want %q", c.sel, got, c.want)
		}
	}
	if got := b.attr(one+".f-official", "href"); got != "/officials/hoa?range=2026-12-02" {
		t.Errorf("the official's link %q", got)
	}
	tile := `#counters li[data-counter="c03"] `
	for _, c := range []struct{ sel, want string }{
		{tile + ".chip", "Trống"},
		{tile + ".a-facts .f-seat", "Ghế cán bộ trống từ " + hm(51*time.Minute)},
		{tile + ".a-facts .f-camera", "camera cam3 báo lần cuối lúc " + hms(5*time.Second) + " (đang quan sát)"},
		{tile + ".a-facts .f-roster", "Lịch trực: Lê Thị Hoa"},
	} {
		if got := b.text(c.sel); got != c.want {
			t.Errorf("%s shows %q, want %q", c.sel, got, c.want)
		}
	}
	if got := b.attr(tile+".f-official", "href"); got != "/officials/hoa?range=2026-12-02" {
		t.Errorf("the tile's link to the official %q", got)
	}
	if n := b.eval(`String(document.querySelectorAll('#counters .a-facts').length)`); n != "1" {
		t.Errorf("%s tiles with facts, want c03's alone", n)
	}
	b.do("English", chromedp.Click(chromedp.ID("lang-en")))
	b.waitText(`#alerts li[data-id="unstaffed/c03/2"] .f-roster`, "Nobody rostered")
	if got := b.text(one + ".f-roster"); got != "Rostered: Lê Thị Hoa" {
		t.Errorf("in English: %q", got)
	}
	if got := b.text(tile + ".f-seat"); got != "Staff seat empty since "+hm(51*time.Minute) {
		t.Errorf("the tile in English: %q", got)
	}
	b.screenshot("absence-facts", "#alerts")
	b.screenshot("absence-facts-tile", tile)

	b.do("TV viewport", chromedp.EmulateViewport(1920, 1080))
	b.do("open TV mode", chromedp.Navigate(srv.URL+"/?site=anlao&tv=1&lang=vi&period=today"))
	ws.next(t, 10*time.Second).send(t, snap)
	b.waitText(`[data-kpi="satisfaction"]`, "96,0 %")
	b.eventually("the alerts drawn on the wall", 5*time.Second, func() (bool, string) {
		n := b.eval(`String(document.querySelectorAll('#alerts > li').length)`)
		return n != "0", n
	})
	if got := b.attr(`#counters li[data-counter="c03"]`, "data-staffed"); got != "no" {
		t.Errorf("c03's tile on the wall TV: data-staffed %q", got)
	}
	if n := b.eval(`String(document.querySelectorAll('.a-facts').length)`); n != "0" {
		t.Errorf("%s alerts or tiles with facts on the wall TV", n)
	}
	if body := b.eval(`document.body.innerText`); strings.Contains(body, "Lê Thị Hoa") {
		t.Error("the wall TV names the rostered official")
	}
}
