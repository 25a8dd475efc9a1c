package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pscm/pscm/internal/testenv"
)

// TestKioskPageToInfluxDB: a citizen taps a button on the kiosk page in a
// real headless Chromium; the thank-you screen shows, and the rating arrives
// in InfluxDB through agent -> broker -> collector with the right counter,
// kiosk and level. Screenshots of the idle and thank-you screens go to
// artifacts/agent/.
func TestKioskPageToInfluxDB(t *testing.T) {
	w := newWorld(t)
	a := w.startAgent(t, agentOpts{})
	ctx := testenv.Chromium(t)
	dir := testenv.ArtifactsDir(t, "agent")
	shot := func(name string) {
		t.Helper()
		// Quality 100 makes a PNG; anything less, a JPEG.
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		p := filepath.Join(dir, name+".png")
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", p)
	}
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	step("tablet viewport", chromedp.EmulateViewport(testenv.ChromiumWidth, testenv.ChromiumHeight))
	step("open and pair the tablet",
		chromedp.Navigate("http://"+a.addr+"/kiosk/k02/"),
		chromedp.WaitVisible(chromedp.ID("pair")),
		chromedp.SendKeys(chromedp.ID("pair-token"), tokenPrefix+"k02"),
		chromedp.Click(chromedp.ID("pair-submit")),
		chromedp.WaitVisible(chromedp.ID("idle")))
	shot("idle")
	step("tap Very satisfied",
		chromedp.Click(chromedp.CSS(`.rate[data-level="very_satisfied"]`)),
		chromedp.WaitVisible(chromedp.ID("thanks")))
	shot("thank-you")
	testenv.Eventually(t, 20*time.Second, 20*time.Millisecond, func() bool { return count(t, w, "rating") == 1 },
		"the tapped rating did not reach InfluxDB")
	s := w.db.Query(t, `SELECT id FROM rating GROUP BY *`)
	if tags := s[0].Tags; tags["counter"] != "c02" || tags["kiosk"] != "k02" || tags["level"] != "very_satisfied" || tags["site"] != "anlao" {
		t.Fatalf("rating tags %v, want site anlao, counter c02, kiosk k02, level very_satisfied", tags)
	}
	step("back to idle", chromedp.WaitVisible(chromedp.ID("idle")))
}
