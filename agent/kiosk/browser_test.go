package kiosk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/testenv"
)

// browser drives the real page in a real headless Chromium.
type browser struct {
	t   *testing.T
	ctx context.Context
	dir string // screenshots
}

// do runs steps with a deadline, failing the test with what was being done.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

func (b *browser) eval(what, expr string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("%s: evaluate %s: %v", what, expr, err)
	}
	return v
}

func (b *browser) visible(id string) bool {
	b.t.Helper()
	return b.eval("is #"+id+" visible", `(() => { const e = document.getElementById(`+"`"+id+"`"+`); return String(!!e && !e.hidden && e.getClientRects().length > 0); })()`) == "true"
}

// screenshot saves the full page as artifacts/kiosk/<name>.png.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	// Let the tap feedback and screen change settle: the screenshot is for
	// a person to judge the layout, not a transition frame.
	settle := `Promise.all(document.getAnimations().filter(a => a instanceof CSSTransition).map(a => a.finished.catch(() => {})))
		.then(() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))))`
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](settle, chromedp.EvalAwaitPromise)); err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(b.dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", path)
}

// TestBrowser pairs a tablet, rates, answers the follow-up, sees failures
// and a lost connection, all in a real Chromium against the real handler.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs Chromium (run without -short)")
	}
	cfg := Defaults()
	cfg.ThankYou = 2 * time.Second // long enough to see, short enough to wait for
	kiosks, _ := testKiosks(t)
	acc := &fakeAcceptor{}
	var logBuf syncBuffer
	h, err := NewHandler(cfg, kiosks, acc, slog.New(slog.NewTextHandler(&logBuf, nil)), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	b := &browser{t: t, ctx: testenv.Chromium(t), dir: testenv.ArtifactsDir(t, "kiosk")}
	messages := collectConsole(t, b.ctx)
	b.do("tablet viewport", chromedp.EmulateViewport(testenv.ChromiumWidth, testenv.ChromiumHeight))

	// First start: no token, so the installer's pairing screen.
	pageURL := srv.URL + "/kiosk/k1/"
	b.do("open the page", chromedp.Navigate(pageURL), chromedp.WaitVisible(chromedp.ID("pair")))
	if got := b.eval("kiosk id", `document.querySelector('.kiosk-id').textContent`); got != "k1" {
		t.Errorf("pairing screen names kiosk %q", got)
	}
	b.do("type a wrong token",
		chromedp.SendKeys(chromedp.ID("pair-token"), "wrong-token-0123456789"),
		chromedp.Click(chromedp.ID("pair-submit")),
		chromedp.WaitVisible(chromedp.CSS(`[data-msg="wrong"]`)))
	b.screenshot("pairing")
	b.do("type the right token",
		chromedp.Evaluate[chromedp.Void](`document.getElementById('pair-token').value = ''`),
		chromedp.SendKeys(chromedp.ID("pair-token"), token1),
		chromedp.Click(chromedp.ID("pair-submit")),
		chromedp.WaitVisible(chromedp.ID("idle")))
	if got := b.eval("stored token", `localStorage.getItem('pscm.kiosk.k1.token')`); got != token1 {
		t.Errorf("localStorage token %q", got)
	}

	// The idle screen.
	b.do("officer photo", chromedp.WaitVisible(chromedp.ID("officer-photo")))
	for expr, want := range map[string]string{
		`document.getElementById('counter-vi').textContent`:                            "Quầy 1 — Hộ tịch",
		`document.getElementById('counter-en').textContent`:                            "Counter 1 — Civil status",
		`document.querySelector('#officer .officer-name').textContent`:                 "Nguyễn Thị Lan",
		`document.querySelector('#idle .question .vi').textContent`:                    "Ông/Bà có hài lòng với sự phục vụ của chúng tôi?",
		`String(document.querySelectorAll('#buttons .rate:enabled').length)`:           "4",
		`document.querySelector('.rate[data-level="satisfied"]').ariaLabel`:            "Hài lòng — Satisfied",
		`document.getElementById('officer-photo').src.slice(0, 22)`:                    "data:image/png;base64,",
		`getComputedStyle(document.querySelector('.rate')).backgroundColor`:            "rgb(27, 125, 58)",
		`getComputedStyle(document.querySelector('.rate .bi .vi')).color`:              "rgb(255, 255, 255)",
		`String(document.querySelector('.rate').getBoundingClientRect().height > 200)`: "true",
	} {
		if got := b.eval("idle screen", expr); got != want {
			t.Errorf("%s = %q, want %q", expr, got, want)
		}
	}
	if b.visible("banner") {
		t.Error("disconnected banner shown while connected")
	}
	b.screenshot("idle")

	// A tap: thank you, then idle again, and the agent got it.
	b.do("tap Satisfied", chromedp.Click(chromedp.CSS(`.rate[data-level="satisfied"]`)), chromedp.WaitVisible(chromedp.ID("thanks")))
	b.screenshot("thank-you")
	presses, _ := acc.calls()
	if len(presses) != 1 || presses[0].Kiosk != "k1" || presses[0].Counter != "c01" || presses[0].Level != schema.LevelSatisfied ||
		!regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(presses[0].PressID) {
		t.Fatalf("Acceptor got %+v", presses)
	}
	b.do("back to idle", chromedp.WaitVisible(chromedp.ID("idle")))

	// The language switch makes English primary, until the rating is done.
	b.do("switch to English", chromedp.Click(chromedp.ID("lang-en")))
	if got := b.eval("lang", `document.documentElement.lang + ' ' + document.body.className`); !strings.Contains(got, "en lang-en") {
		t.Errorf("after EN: %q", got)
	}
	if got := b.eval("English primary", `getComputedStyle(document.querySelector('#idle .question .en')).order`); got != "0" {
		t.Errorf("English order %q", got)
	}
	b.screenshot("idle-en")
	b.do("tap Very satisfied", chromedp.Click(chromedp.CSS(`.rate[data-level="very_satisfied"]`)), chromedp.WaitVisible(chromedp.ID("thanks")))
	b.screenshot("thank-you-en")
	b.do("back to idle", chromedp.WaitVisible(chromedp.ID("idle")))
	if got := b.eval("lang reset", `document.documentElement.lang`); got != "vi" {
		t.Errorf("language after a rating: %q, want vi", got)
	}

	// Dissatisfied: the follow-up, two reasons, send.
	b.do("tap Dissatisfied", chromedp.Click(chromedp.CSS(`.rate[data-level="dissatisfied"]`)), chromedp.WaitVisible(chromedp.ID("reasons")))
	if b.eval("send disabled", `String(document.getElementById('reasons-send').disabled)`) != "true" {
		t.Error("Send enabled before a reason is chosen")
	}
	b.do("choose reasons",
		chromedp.Click(chromedp.CSS(`.reason[data-reason="cho-lau"]`)),
		chromedp.Click(chromedp.CSS(`.reason[data-reason="thu-tuc"]`)))
	if got := b.eval("pressed", `Array.from(document.querySelectorAll('.reason[aria-pressed="true"]'), e => e.dataset.reason).join(',')`); got != "cho-lau,thu-tuc" {
		t.Errorf("chosen reasons %q", got)
	}
	b.screenshot("reasons")
	b.do("send reasons", chromedp.Click(chromedp.ID("reasons-send")), chromedp.WaitVisible(chromedp.ID("thanks")))
	presses, reasons := acc.calls()
	if len(presses) != 3 || presses[1].Level != schema.LevelVerySatisfied || presses[2].Level != schema.LevelDissatisfied {
		t.Fatalf("presses %+v", presses)
	}
	if len(reasons) != 1 || reasons[0].Kiosk != "k1" || reasons[0].RatingID != "r-3" || !slices.Equal(reasons[0].Reasons, []string{"cho-lau", "thu-tuc"}) {
		t.Fatalf("Reasons got %+v", reasons)
	}
	b.do("back to idle", chromedp.WaitVisible(chromedp.ID("idle")))

	// The agent fails: the press is retried twice with the same press_id,
	// then the citizen is told, and the buttons work again.
	acc.set(func(a *fakeAcceptor) { a.pressErr = errors.New("disk on fire") })
	b.do("tap Neutral, agent failing", chromedp.Click(chromedp.CSS(`.rate[data-level="neutral"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#notice [data-notice="not-sent"]`)))
	presses, _ = acc.calls()
	failed := presses[3:]
	if len(failed) != 3 || failed[0].PressID != failed[1].PressID || failed[1].PressID != failed[2].PressID {
		t.Errorf("a failed tap gave %d calls %+v, want 3 with one press_id", len(failed), failed)
	}
	if !b.visible("idle") || b.eval("enabled", `String(document.querySelectorAll('#buttons .rate:enabled').length)`) != "4" {
		t.Error("not back to idle with enabled buttons after a failure")
	}
	b.screenshot("not-sent")
	acc.set(func(a *fakeAcceptor) { a.pressErr = ErrSpoolFull })
	b.do("tap Neutral, spool full", chromedp.Click(chromedp.CSS(`.rate[data-level="neutral"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#notice [data-notice="unavailable"]`)))
	acc.reset()

	// Layouts: portrait tablet two by two, phone stacked.
	for _, vp := range []struct {
		name          string
		width, height int64
		columns       int
	}{{"idle-portrait", 800, 1280, 2}, {"idle-phone", 390, 844, 1}} {
		b.do("viewport "+vp.name, chromedp.EmulateViewport(vp.width, vp.height, chromedp.EmulatePortrait))
		lefts := b.eval(vp.name, `String(new Set(Array.from(document.querySelectorAll('.rate'), e => Math.round(e.getBoundingClientRect().left))).size)`)
		if lefts != fmt.Sprint(vp.columns) {
			t.Errorf("%s: buttons in %s columns, want %d", vp.name, lefts, vp.columns)
		}
		b.screenshot(vp.name)
	}
	b.do("tablet viewport", chromedp.EmulateViewport(testenv.ChromiumWidth, testenv.ChromiumHeight))

	// A token that stops working sends the tablet back to pairing.
	b.do("forget the right token", chromedp.Evaluate[chromedp.Void](`localStorage.setItem('pscm.kiosk.k1.token', 'revoked-token-0123456789')`),
		chromedp.Navigate(pageURL), chromedp.WaitVisible(chromedp.CSS(`[data-msg="expired"]`)))
	if got := b.eval("token removed", `String(localStorage.getItem('pscm.kiosk.k1.token'))`); got != "null" {
		t.Errorf("revoked token still stored: %q", got)
	}
	b.do("pair again",
		chromedp.SendKeys(chromedp.ID("pair-token"), token1),
		chromedp.Click(chromedp.ID("pair-submit")),
		chromedp.WaitVisible(chromedp.ID("idle")))

	// The agent goes away: the banner, disabled buttons; it comes back by
	// itself only with the agent, which a closed httptest server never is.
	srv.Close()
	b.do("disconnected banner", chromedp.WaitVisible(chromedp.ID("banner")))
	if got := b.eval("enabled", `String(document.querySelectorAll('#buttons .rate:enabled').length)`); got != "0" {
		t.Errorf("%s buttons enabled while disconnected", got)
	}
	b.screenshot("disconnected")

	// Nothing the page did broke its CSP or threw.
	msgs := messages()
	t.Logf("%d console messages (failed requests are expected: the test made the agent fail)", len(msgs))
	for _, m := range msgs {
		if m.IsException() || strings.Contains(m.Text, "Content Security Policy") || strings.Contains(m.Text, "Refused to") {
			t.Errorf("browser console: %s", m)
		}
	}
	if strings.Contains(logBuf.String(), token1) {
		t.Error("the token is in the agent's log")
	}
}

// collectConsole records the page's console messages until the test ends.
func collectConsole(t *testing.T, ctx context.Context) func() []chromedp.ConsoleMessage {
	ctx, cancel := context.WithCancel(ctx)
	var (
		mu   sync.Mutex
		msgs []chromedp.ConsoleMessage
		done = make(chan struct{})
	)
	seq := chromedp.Console(ctx)
	go func() {
		defer close(done)
		for m, err := range seq {
			if err != nil {
				return
			}
			mu.Lock()
			msgs = append(msgs, m)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return func() []chromedp.ConsoleMessage {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(msgs)
	}
}
