package kiosk

import (
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pscm/pscm/internal/testenv"
)

// TestBrowserFeedback is issue 16's kiosk intake in a real Chromium: a
// citizen writes on the on-screen Vietnamese keyboard (tones on the right
// vowel), adds a ready phrase and a phone number, and leaves with a case
// number, its code and a QR code; after a dissatisfied rating the thanks
// offer the same screen, set to a report. Nothing typed stays on the page.
func TestBrowserFeedback(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs Chromium (run without -short)")
	}
	cfg := Defaults()
	cfg.ThankYou = 2 * time.Second
	kiosks, _ := testKiosks(t)
	taker := &fakeTaker{}
	h, err := NewHandler(cfg, kiosks, &fakeAcceptor{}, slog.New(slog.DiscardHandler), prometheus.NewRegistry(), WithFeedback(taker))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	b := &browser{t: t, ctx: testenv.Chromium(t), dir: testenv.ArtifactsDir(t, "kiosk")}
	messages := collectConsole(t, b.ctx)
	b.do("tablet viewport", chromedp.EmulateViewport(testenv.ChromiumWidth, testenv.ChromiumHeight))
	pageURL := srv.URL + "/kiosk/k2/"
	b.do("paired tablet", chromedp.Navigate(pageURL), chromedp.WaitVisible(chromedp.ID("pair")),
		chromedp.Evaluate[chromedp.Void](`localStorage.setItem('pscm.kiosk.k2.token', '`+token2+`')`),
		chromedp.Navigate(pageURL), chromedp.WaitVisible(chromedp.ID("feedback-open")))

	// From the idle screen: a suggestion, typed.
	b.do("open feedback", chromedp.Click(chromedp.ID("feedback-open")), chromedp.WaitVisible(chromedp.ID("vkb")))
	if got := b.eval("kind", `document.querySelector('.fb-kind[aria-pressed="true"]').dataset.kind`); got != "gop_y" {
		t.Errorf("kind from the idle screen %q", got)
	}
	if b.eval("send", `String(document.getElementById('fb-send').disabled)`) != "true" {
		t.Error("Send enabled with no message")
	}
	if got := b.eval("notice", `document.querySelector('#fb-notice .vi').textContent`); got != "Ý kiến được xóa sau 24 tháng." {
		t.Errorf("notice %q", got)
	}
	// "Chờ lâu, hoà" typed key by key: ⇧ c h ơ ` ␣ l â u , ␣ h o a `.
	press := func(label string) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](`Array.from(document.querySelectorAll('#vkb button')).find(b => b.textContent === '` + label + `' || b.ariaLabel === '` + label + `').click()`)
	}
	var keys []chromedp.Action[chromedp.Void]
	for _, k := range []string{"Chữ hoa / Shift", "C", "h", "ơ", "Dấu huyền", "Cách / Space", "l", "â", "u", "123", ",", "abc", "Cách / Space", "h", "o", "a", "Dấu huyền"} {
		keys = append(keys, press(k))
	}
	b.do("type on the on-screen keyboard", keys...)
	if got := b.eval("typed", `document.getElementById('fb-message').value`); got != "Chờ lâu, hòa" {
		t.Errorf("typed %q, want %q", got, "Chờ lâu, hòa")
	}
	b.do("tone again takes it off, then sắc", press("Dấu huyền"), press("Dấu sắc"))
	if got := b.eval("typed", `document.getElementById('fb-message').value`); got != "Chờ lâu, hóa" {
		t.Errorf("after two tones %q", got)
	}
	b.do("backspace the word and the comma", press("Xóa / Delete"), press("Xóa / Delete"), press("Xóa / Delete"), press("Xóa / Delete"), press("Xóa / Delete"))
	b.do("a ready phrase", chromedp.Click(chromedp.CSS(`.fb-phrase[data-vi="Thời gian chờ quá lâu."]`)))
	b.do("the phone", chromedp.Click(chromedp.ID("fb-phone")))
	var digits []chromedp.Action[chromedp.Void]
	for _, d := range "0912345678" {
		digits = append(digits, press(string(d)))
	}
	b.do("type the phone", digits...)
	b.screenshot("feedback")
	b.do("send", chromedp.Click(chromedp.ID("fb-send")), chromedp.WaitVisible(chromedp.ID("receipt")))
	if got := b.eval("number", `document.getElementById('rc-number').textContent`); got != "anlao-2026-K000001" {
		t.Errorf("number shown %q", got)
	}
	if got := b.eval("code", `document.getElementById('rc-code').textContent`); got != "K7P2QXAB" {
		t.Errorf("code shown %q", got)
	}
	b.do("QR decoded", chromedp.Poll[chromedp.Void](`document.getElementById('rc-qr').naturalWidth > 100`, chromedp.WithPollingTimeout(5*time.Second)))
	b.screenshot("feedback-receipt")
	if len(taker.got) != 1 || taker.got[0].Message != "Chờ lâu Thời gian chờ quá lâu." || taker.got[0].Phone != "0912345678" || taker.got[0].Kind != "gop_y" || taker.from[0] != "c02" {
		t.Fatalf("taken %+v from %v", taker.got, taker.from)
	}
	b.do("done", chromedp.Click(chromedp.ID("rc-done")), chromedp.WaitVisible(chromedp.ID("idle")))
	if got := b.eval("cleared", `document.getElementById('fb-message').value + document.getElementById('fb-phone').value + document.getElementById('rc-number').textContent`); got != "" {
		t.Errorf("left on the page after Done: %q", got)
	}

	// After a dissatisfied rating: the thanks offer a report.
	b.do("dissatisfied", chromedp.Click(chromedp.CSS(`.rate[data-level="dissatisfied"]`)), chromedp.WaitVisible(chromedp.ID("reasons")),
		chromedp.Click(chromedp.ID("reasons-skip")), chromedp.WaitVisible(chromedp.ID("thanks-feedback")))
	b.do("leave a message", chromedp.Click(chromedp.ID("thanks-feedback")), chromedp.WaitVisible(chromedp.ID("vkb")))
	if got := b.eval("kind", `document.querySelector('.fb-kind[aria-pressed="true"]').dataset.kind`); got != "phan_anh" {
		t.Errorf("kind after a dissatisfied rating %q", got)
	}
	b.do("phrase and send", chromedp.Click(chromedp.CSS(`.fb-phrase[data-vi="Thái độ phục vụ chưa tốt."]`)),
		chromedp.Click(chromedp.ID("fb-send")), chromedp.WaitVisible(chromedp.ID("receipt")))
	if len(taker.got) != 2 || taker.got[1].Kind != "phan_anh" || taker.got[1].Phone != "" {
		t.Fatalf("second case %+v", taker.got)
	}
	// A refused message: told, still on the screen, nothing lost of it.
	b.do("back", chromedp.Click(chromedp.ID("rc-done")), chromedp.WaitVisible(chromedp.ID("idle")),
		chromedp.Click(chromedp.ID("feedback-open")), chromedp.WaitVisible(chromedp.ID("vkb")))
	taker.mu.Lock()
	taker.err = ErrFeedbackInvalid
	taker.mu.Unlock()
	b.do("send refused", chromedp.Click(chromedp.CSS(`.fb-phrase[data-vi="Cơ sở vật chất chưa tốt."]`)), chromedp.Click(chromedp.ID("fb-send")),
		chromedp.WaitVisible(chromedp.CSS(`#fb-error [data-fb="invalid"]`)))
	if got := b.eval("kept", `document.getElementById('fb-message').value`); got != "Cơ sở vật chất chưa tốt." {
		t.Errorf("message after a refusal %q", got)
	}
	b.do("cancel", chromedp.Click(chromedp.ID("fb-cancel")), chromedp.WaitVisible(chromedp.ID("idle")))
	for _, m := range messages() {
		if m.IsException() || strings.Contains(m.Text, "Content Security Policy") || strings.Contains(m.Text, "Refused to") {
			t.Errorf("browser console: %s", m)
		}
	}
}
