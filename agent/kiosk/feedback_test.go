package kiosk

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// fakeTaker records the feedback the handler hands to the intake.
type fakeTaker struct {
	mu   sync.Mutex
	got  []Feedback
	from []string
	err  error
}

func (f *fakeTaker) TakeFeedback(counter string, fb Feedback) (Receipt, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return Receipt{}, f.err
	}
	f.got, f.from = append(f.got, fb), append(f.from, counter)
	n := fmt.Sprintf("anlao-2026-K%06d", len(f.got))
	return Receipt{Number: n, Code: "K7P2QXAB", URL: "https://pscm.example.vn/tra-cuu?ma=K7P2QXAB&so=" + n}, nil
}

func (f *fakeTaker) Notice() (string, string) {
	return "Ý kiến được xóa sau 24 tháng.", "Erased after 24 months."
}

// A citizen's feedback: kept by the intake with the kiosk's counter, the
// receipt with a QR code of the status URL; the page's config says the
// screen is there and its notice; bad input never reaches the intake.
func TestFeedback(t *testing.T) {
	f := newFixture(t, Defaults())
	if w := f.do(t, "POST", "/kiosk/k1/feedback", token1, `{"kind":"gop_y","message":"x","phone":""}`); w.Code != http.StatusNotFound {
		t.Fatalf("feedback without an intake: %d", w.Code)
	}
	var cfg pageConfig
	if err := json.Unmarshal(f.do(t, "GET", "/kiosk/k1/config", token1, "").Body.Bytes(), &cfg); err != nil || cfg.Feedback != nil {
		t.Fatalf("config without an intake: %+v %v", cfg.Feedback, err)
	}
	taker := &fakeTaker{}
	f = newFixture(t, Defaults(), WithFeedback(taker))
	if err := json.Unmarshal(f.do(t, "GET", "/kiosk/k2/config", token2, "").Body.Bytes(), &cfg); err != nil || cfg.Feedback == nil || cfg.Feedback.NoticeVI == "" {
		t.Fatalf("config with an intake: %+v %v", cfg.Feedback, err)
	}
	w := f.do(t, "POST", "/kiosk/k2/feedback", token2, `{"kind":"phan_anh","message":"Chờ quá lâu.","phone":"0912345678"}`)
	if w.Code != http.StatusOK {
		t.Fatalf("feedback: %d %s", w.Code, w.Body)
	}
	var rec Receipt
	if err := json.Unmarshal(w.Body.Bytes(), &rec); err != nil || rec.Number != "anlao-2026-K000001" {
		t.Fatalf("receipt %s: %v", w.Body, err)
	}
	b64, ok := strings.CutPrefix(rec.QR, "data:image/png;base64,")
	raw, err := base64.StdEncoding.DecodeString(b64)
	if !ok || err != nil {
		t.Fatalf("QR %q", rec.QR[:min(40, len(rec.QR))])
	}
	if img, err := png.Decode(bytes.NewReader(raw)); err != nil || img.Bounds().Dx() < 100 {
		t.Fatalf("QR image: %v", err)
	}
	if len(taker.got) != 1 || taker.from[0] != "c02" || taker.got[0].Message != "Chờ quá lâu." {
		t.Fatalf("taken %+v from %v", taker.got, taker.from)
	}
	for name, tc := range map[string]struct {
		tok, body string
		err       error
		status    int
		reason    string
	}{
		"no token":      {"", `{"kind":"gop_y","message":"x"}`, nil, http.StatusUnauthorized, reasonUnauthorized},
		"other's token": {token1, `{"kind":"gop_y","message":"x"}`, nil, http.StatusUnauthorized, reasonUnauthorized},
		"unknown key":   {token2, `{"kind":"gop_y","message":"x","email":"a@b"}`, nil, http.StatusBadRequest, reasonMalformed},
		"key twice":     {token2, `{"kind":"gop_y","message":"x","message":"y"}`, nil, http.StatusBadRequest, reasonMalformed},
		"not JSON":      {token2, `kind=gop_y`, nil, http.StatusBadRequest, reasonMalformed},
		"too large":     {token2, `{"kind":"gop_y","message":"` + strings.Repeat("a", maxFeedbackBody) + `"}`, nil, http.StatusRequestEntityTooLarge, "too_large"},
		"refused":       {token2, `{"kind":"gop_y","message":""}`, fmt.Errorf("%w: message: empty", ErrFeedbackInvalid), http.StatusBadRequest, reasonFeedback},
		"intake full":   {token2, `{"kind":"gop_y","message":"x"}`, ErrFeedbackFull, http.StatusServiceUnavailable, reasonUnavailable},
		"intake broken": {token2, `{"kind":"gop_y","message":"x"}`, errors.New("disk gone"), http.StatusInternalServerError, reasonInternal},
	} {
		taker.err = tc.err
		w := f.do(t, "POST", "/kiosk/k2/feedback", tc.tok, tc.body)
		if w.Code != tc.status || decodeError(t, w).Reason != tc.reason {
			t.Errorf("%s: %d %s, want %d %s", name, w.Code, w.Body, tc.status, tc.reason)
		}
	}
	if len(taker.got) != 1 {
		t.Fatalf("bad input reached the intake: %+v", taker.got)
	}
	if w := f.do(t, "GET", "/kiosk/k2/feedback", token2, ""); w.Code != http.StatusMethodNotAllowed {
		t.Fatalf("GET feedback: %d", w.Code)
	}
}
