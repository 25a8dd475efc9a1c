package pipeline

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestCalibrationGuard (issue 18, row 10): any forwarding header means a
// proxy, refused; wrong passwords are answered later and later and a right
// one resets that.
func TestCalibrationGuard(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	slow := &slowDown{}
	g := guard("right-password-123", ok, slow, slog.New(slog.DiscardHandler))
	get := func(pw string, hdr map[string]string) int {
		r := httptest.NewRequest(http.MethodGet, "/calibration/", nil)
		r.RemoteAddr = "127.0.0.1:5000"
		r.SetBasicAuth(CalibrationUser, pw)
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		g.ServeHTTP(w, r)
		return w.Code
	}
	for _, h := range []string{"X-Real-IP", "X-Forwarded-For", "Forwarded", "True-Client-IP", "Via"} {
		if code := get("right-password-123", map[string]string{h: "10.1.2.3"}); code != http.StatusForbidden {
			t.Errorf("with %s: %d, want 403", h, code)
		}
	}
	if code := get("right-password-123", nil); code != http.StatusOK {
		t.Fatalf("right password: %d", code)
	}

	// The first three wrong ones are answered at once, then later each time.
	now := time.Now()
	var waits []time.Duration
	for range 10 {
		d, _ := slow.failed(now)
		waits = append(waits, d)
	}
	if waits[0] != 0 || waits[2] != 0 || waits[3] != 100*time.Millisecond || waits[4] != 200*time.Millisecond || waits[9] != 5*time.Second {
		t.Fatalf("waits %v, want 0, 0, 0, 100 ms doubling to 5 s", waits)
	}
	slow.succeeded()
	for range 4 {
		slow.failed(now)
	}
	start := time.Now()
	if code := get("wrong", nil); code != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", code)
	}
	if took := time.Since(start); took < 150*time.Millisecond {
		t.Fatalf("the 5th wrong password in a row was answered in %v, want after 200 ms", took)
	}
	if code := get("right-password-123", nil); code != http.StatusOK {
		t.Fatalf("right password after wrong ones: %d", code)
	}
	if d, n := slow.failed(now); d != 0 || n != 1 {
		t.Fatalf("after a right password: wait %v, %d in a row; want 0, 1", d, n)
	}
}
