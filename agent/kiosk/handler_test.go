package kiosk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/textclip"
)

const (
	token1 = "k1-token-0123456789abcdef"
	token2 = "k2-token-0123456789abcdef"
)

// fakeAcceptor records what the handler hands to the agent.
type fakeAcceptor struct {
	mu         sync.Mutex
	presses    []Press
	reasons    []reasonsCall
	status     string // of every press; "" means accepted
	ask        bool   // Accepted.AskReasons
	ratingID   string // "" gives r-<n>
	pressErr   error
	reasonsErr error
	block      bool // wait for the context to end
}

type reasonsCall struct {
	Kiosk, RatingID string
	Reasons         []string
}

func (f *fakeAcceptor) Press(ctx context.Context, p Press) (Accepted, error) {
	f.mu.Lock()
	f.presses = append(f.presses, p)
	n := len(f.presses)
	status, ask, id, err, block := f.status, f.ask, f.ratingID, f.pressErr, f.block
	f.mu.Unlock()
	if block {
		<-ctx.Done()
		return Accepted{}, ctx.Err()
	}
	if err != nil {
		return Accepted{}, err
	}
	if status == "" {
		status = StatusAccepted
	}
	if id == "" {
		id = fmt.Sprintf("r-%d", n)
	}
	return Accepted{RatingID: id, Status: status, AskReasons: ask}, nil
}

func (f *fakeAcceptor) Reasons(ctx context.Context, kiosk, ratingID string, reasons []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reasons = append(f.reasons, reasonsCall{kiosk, ratingID, slices.Clone(reasons)})
	return f.reasonsErr
}

// reset forgets the behaviour set before, keeping the recorded calls.
func (f *fakeAcceptor) reset() {
	f.set(func(a *fakeAcceptor) {
		a.status, a.ask, a.ratingID, a.pressErr, a.reasonsErr, a.block = "", false, "", nil, nil, false
	})
}

func (f *fakeAcceptor) set(fn func(f *fakeAcceptor)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeAcceptor) calls() (presses []Press, reasons []reasonsCall) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.presses), slices.Clone(f.reasons)
}

// fixture is a handler with two kiosks, k1 with an officer photo, a fake
// Acceptor, its own registry and a log buffer.
type fixture struct {
	h     *handler
	acc   *fakeAcceptor
	reg   *prometheus.Registry
	log   *syncBuffer
	photo []byte
	now   time.Time
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func testKiosks(t testing.TB) ([]Kiosk, []byte) {
	t.Helper()
	photoPath, photo := writePhoto(t)
	return []Kiosk{
		{ID: "k1", Counter: "c01", CounterNameVI: "Quầy 1 — Hộ tịch", CounterNameEN: "Counter 1 — Civil status",
			OfficerName: "Nguyễn Thị Lan", OfficerPhoto: photoPath, Token: token1},
		{ID: "k2", Counter: "c02", CounterNameVI: "Quầy 2 — Đất đai", CounterNameEN: "Counter 2 — Land", Token: token2},
	}, photo
}

// writePhoto makes a small PNG portrait placeholder: a head and shoulders
// on a soft background, so screenshots show where the photo goes.
func writePhoto(t testing.TB) (string, []byte) {
	t.Helper()
	const size = 160
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	bg := color.RGBA{0xdb, 0xe4, 0xf0, 0xff}
	fg := color.RGBA{0x7a, 0x8b, 0xa3, 0xff}
	for y := range size {
		for x := range size {
			c := bg
			dx, dy := x-size/2, y-62
			if dx*dx+dy*dy < 30*30 { // head
				c = fg
			}
			sx, sy := x-size/2, y-size-10
			if sx*sx/2+sy*sy < 70*70 { // shoulders
				c = fg
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "officer.png")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, buf.Bytes()
}

func newFixture(t testing.TB, cfg Config, opts ...Option) *fixture {
	t.Helper()
	kiosks, photo := testKiosks(t)
	f := &fixture{acc: &fakeAcceptor{}, reg: prometheus.NewRegistry(), log: &syncBuffer{}, photo: photo,
		now: time.Date(2026, 11, 25, 8, 15, 2, 0, time.FixedZone("ICT", 7*3600))}
	log := slog.New(slog.NewTextHandler(f.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h, err := NewHandler(cfg, kiosks, f.acc, log, f.reg, opts...)
	if err != nil {
		t.Fatalf("NewHandler: %v", err)
	}
	f.h = h.(*handler)
	f.h.now = func() time.Time { return f.now }
	return f
}

// do sends one request; tok "" sends no Authorization header.
func (f *fixture) do(t testing.TB, method, path, tok, body string) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, req)
	return w
}

func decodeError(t testing.TB, w *httptest.ResponseRecorder) errorBody {
	t.Helper()
	var e errorBody
	if ct := w.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("error Content-Type %q", ct)
	}
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" || e.Reason == "" {
		t.Fatalf("error body %q: %v", w.Body, err)
	}
	return e
}

func wantError(t testing.TB, w *httptest.ResponseRecorder, status int, reason string) errorBody {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d; body %s", w.Code, status, w.Body)
	}
	e := decodeError(t, w)
	if e.Reason != reason {
		t.Fatalf("reason %q, want %q (error %q)", e.Reason, reason, e.Error)
	}
	return e
}

func TestPage(t *testing.T) {
	f := newFixture(t, Defaults())
	w := f.do(t, "GET", "/kiosk/k1/", "", "")
	if w.Code != http.StatusOK {
		t.Fatalf("GET page: %d %s", w.Code, w.Body)
	}
	h := w.Header()
	if ct := h.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if csp := h.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'self'; img-src 'self' data:") {
		t.Errorf("CSP %q", csp)
	}
	if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Cache-Control") != "no-cache" || h.Get("ETag") == "" {
		t.Errorf("headers %v", h)
	}
	page := w.Body.String()
	for _, want := range []string{`lang="vi"`, `src="../static/kiosk.js"`, `href="../static/kiosk.css"`,
		"Ông/Bà có hài lòng với sự phục vụ của chúng tôi?", "How satisfied are you with our service?",
		"Cảm ơn Ông/Bà!", "Thank you!", "Mất kết nối với hệ thống", "Not connected",
		"Chưa gửi được đánh giá, vui lòng thử lại", "Your rating was not sent, please try again",
		"Hệ thống tạm thời không nhận được đánh giá", "Temporarily unable to record your rating",
		"Gửi", "Send", "Bỏ qua", "Skip"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}

	// Revalidation costs a 304, and the same page serves every kiosk.
	req := httptest.NewRequest("GET", "/kiosk/k2/", nil)
	req.Header.Set("If-None-Match", h.Get("ETag"))
	w2 := httptest.NewRecorder()
	f.h.ServeHTTP(w2, req)
	if w2.Code != http.StatusNotModified {
		t.Errorf("conditional GET: %d", w2.Code)
	}

	w = f.do(t, "GET", "/kiosk/k1", "", "")
	if w.Code != http.StatusMovedPermanently || w.Header().Get("Location") != "k1/" {
		t.Errorf("GET /kiosk/k1: %d Location %q", w.Code, w.Header().Get("Location"))
	}
	w = f.do(t, "HEAD", "/kiosk/k1/", "", "")
	if w.Code != http.StatusOK {
		t.Errorf("HEAD page: %d", w.Code)
	}
	wantError(t, f.do(t, "POST", "/kiosk/k1/", "", ""), http.StatusMethodNotAllowed, reasonMethod)
	wantError(t, f.do(t, "GET", "/kiosk/k1/nothing", token1, ""), http.StatusNotFound, reasonNotFound)
	wantError(t, f.do(t, "GET", "/other", "", ""), http.StatusNotFound, reasonNotFound)
}

// TestStaticFiles checks the rules the page's CSP relies on: no inline
// script, nothing loaded from another origin.
func TestStaticFiles(t *testing.T) {
	f := newFixture(t, Defaults())
	for name, ct := range map[string]string{
		"kiosk.css": "text/css; charset=utf-8",
		"kiosk.js":  "text/javascript; charset=utf-8",
	} {
		w := f.do(t, "GET", "/kiosk/static/"+name, "", "")
		if w.Code != http.StatusOK || w.Header().Get("Content-Type") != ct || w.Body.Len() == 0 {
			t.Errorf("GET %s: %d %q, %d bytes", name, w.Code, w.Header().Get("Content-Type"), w.Body.Len())
		}
		if w.Header().Get("Cache-Control") != "no-cache" || w.Header().Get("ETag") == "" {
			t.Errorf("GET %s: cache headers %v", name, w.Header())
		}
	}
	for _, p := range []string{"/kiosk/static/index.html", "/kiosk/static/", "/kiosk/static/nope.js",
		"/kiosk/static/../kiosk.go", "/kiosk/static/static/kiosk.js"} {
		wantError(t, f.do(t, "GET", p, "", ""), http.StatusNotFound, reasonNotFound)
	}
	wantError(t, f.do(t, "POST", "/kiosk/static/kiosk.js", "", ""), http.StatusMethodNotAllowed, reasonMethod)

	for _, name := range f.h.assets.Names() {
		b, err := staticFiles.ReadFile("static/" + name)
		if err != nil {
			t.Fatal(err)
		}
		body := string(b)
		for _, bad := range []string{"http://", "https://", "@import", "url(", "<style", "style=\"", "javascript:", "eval(", "innerHTML"} {
			if strings.Contains(body, bad) {
				t.Errorf("static/%s contains %q", name, bad)
			}
		}
		if name == pageFile {
			for _, script := range strings.Split(body, "<script")[1:] {
				if !strings.HasPrefix(strings.TrimSpace(script), "src=") {
					t.Errorf("inline script in %s: <script%s", name, textclip.Clip(script, 60))
				}
			}
		}
	}
}

func TestUnknownKiosk(t *testing.T) {
	f := newFixture(t, Defaults())
	for _, p := range []string{"/kiosk/k9/", "/kiosk/k9/press", "/kiosk/K1/config", "/kiosk//ping"} {
		wantError(t, f.do(t, "POST", p, token1, `{"level":"satisfied","press_id":"abcdefgh"}`), http.StatusNotFound, reasonUnknownKiosk)
	}
	if p, _ := f.acc.calls(); len(p) != 0 {
		t.Errorf("Acceptor called for an unknown kiosk: %v", p)
	}
	if got := counterValue(t, f.reg, "pscm_agent_kiosk_unknown_requests_total", nil); got != 4 {
		t.Errorf("unknown requests = %v, want 4", got)
	}
}

func TestAuthorization(t *testing.T) {
	f := newFixture(t, Defaults())
	routes := []struct{ method, path, body string }{
		{"GET", "/kiosk/k1/config", ""},
		{"GET", "/kiosk/k1/ping", ""},
		{"GET", "/kiosk/k1/photo", ""},
		{"POST", "/kiosk/k1/press", `{"level":"satisfied","press_id":"abcdefgh12"}`},
		{"POST", "/kiosk/k1/reasons", `{"rating_id":"r-1","reasons":["cho-lau"]}`},
	}
	headers := map[string]string{
		"missing":                     "",
		"empty bearer":                "Bearer ",
		"wrong, same length":          "Bearer " + token1[:len(token1)-1] + "X",
		"prefix":                      "Bearer " + token1[:len(token1)-1],
		"longer":                      "Bearer " + token1 + "0",
		"other kiosk's token":         "Bearer " + token2,
		"basic scheme":                "Basic " + token1,
		"no scheme":                   token1,
		"token in a second parameter": "Bearer x " + token1,
	}
	for _, rt := range routes {
		for name, hdr := range headers {
			t.Run(rt.path+"/"+name, func(t *testing.T) {
				req := httptest.NewRequest(rt.method, rt.path, strings.NewReader(rt.body))
				if hdr != "" {
					req.Header.Set("Authorization", hdr)
				}
				w := httptest.NewRecorder()
				f.h.ServeHTTP(w, req)
				wantError(t, w, http.StatusUnauthorized, reasonUnauthorized)
				if !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("WWW-Authenticate %q", w.Header().Get("WWW-Authenticate"))
				}
			})
		}
		t.Run(rt.path+"/right token", func(t *testing.T) {
			req := httptest.NewRequest(rt.method, rt.path, strings.NewReader(rt.body))
			req.Header.Set("Authorization", "bearer  "+token1+" ") // scheme is case-insensitive
			w := httptest.NewRecorder()
			f.h.ServeHTTP(w, req)
			if w.Code/100 != 2 {
				t.Errorf("status %d: %s", w.Code, w.Body)
			}
		})
	}
	presses, reasons := f.acc.calls()
	if len(presses) != 1 || len(reasons) != 1 {
		t.Errorf("Acceptor got %d presses and %d reasons, want 1 and 1 (the authorised ones)", len(presses), len(reasons))
	}
	if got := counterValue(t, f.reg, "pscm_agent_kiosk_requests_total", map[string]string{"kiosk": "k1", "result": resultUnauthorized}); got != float64(len(routes)*len(headers)) {
		t.Errorf("unauthorized count %v, want %d", got, len(routes)*len(headers))
	}
	// No token, right or wrong, ever reaches the log.
	logs := f.log.String()
	for _, secret := range []string{token1, token2, token1[:len(token1)-1]} {
		if strings.Contains(logs, secret) {
			t.Errorf("log contains a token:\n%s", logs)
		}
	}
}

func TestConfigAndPing(t *testing.T) {
	f := newFixture(t, Defaults())
	w := f.do(t, "GET", "/kiosk/k1/config", token1, "")
	if w.Code != http.StatusOK || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("config: %d %v %s", w.Code, w.Header(), w.Body)
	}
	var pc pageConfig
	if err := json.Unmarshal(w.Body.Bytes(), &pc); err != nil {
		t.Fatal(err)
	}
	if pc.Kiosk != "k1" || pc.Counter != "c01" || pc.CounterNameVI != "Quầy 1 — Hộ tịch" || pc.CounterNameEN != "Counter 1 — Civil status" ||
		pc.OfficerName != "Nguyễn Thị Lan" || !pc.OfficerPhoto || pc.ThankYouMS != 4000 || pc.ReasonTimeoutMS != 20000 ||
		len(pc.Buttons) != 4 || len(pc.Reasons) != 4 || !slices.Equal(pc.AskReasonsFor, []string{"dissatisfied"}) || pc.Version == "" {
		t.Errorf("config %+v", pc)
	}
	wantText := map[schema.Level]string{
		schema.LevelVerySatisfied: "#ffffff", schema.LevelSatisfied: "#000000",
		schema.LevelNeutral: "#000000", schema.LevelDissatisfied: "#ffffff",
	}
	for _, b := range pc.Buttons {
		if b.TextColor != wantText[b.Level] || b.Emoji == "" || b.LabelVI == "" || b.LabelEN == "" {
			t.Errorf("button %+v", b)
		}
	}
	if pc.Reasons[0] != (pageReason{ID: "cho-lau", LabelVI: "Chờ lâu", LabelEN: "Long wait"}) {
		t.Errorf("reason %+v", pc.Reasons[0])
	}

	w = f.do(t, "GET", "/kiosk/k1/ping", token1, "")
	if w.Code != http.StatusNoContent || w.Body.Len() != 0 || w.Header().Get(versionHeader) != pc.Version {
		t.Errorf("ping: %d %q, version %q want %q", w.Code, w.Body, w.Header().Get(versionHeader), pc.Version)
	}
	wantError(t, f.do(t, "POST", "/kiosk/k1/ping", token1, ""), http.StatusMethodNotAllowed, reasonMethod)

	w = f.do(t, "GET", "/kiosk/k2/config", token2, "")
	var pc2 pageConfig
	if err := json.Unmarshal(w.Body.Bytes(), &pc2); err != nil {
		t.Fatal(err)
	}
	if pc2.OfficerName != "" || pc2.OfficerPhoto || pc2.Version == pc.Version {
		t.Errorf("k2 config %+v", pc2)
	}
}

func TestPhoto(t *testing.T) {
	f := newFixture(t, Defaults())
	w := f.do(t, "GET", "/kiosk/k1/photo", token1, "")
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "image/png" || !bytes.Equal(w.Body.Bytes(), f.photo) ||
		w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("photo: %d %v, %d bytes", w.Code, w.Header(), w.Body.Len())
	}
	wantError(t, f.do(t, "GET", "/kiosk/k2/photo", token2, ""), http.StatusNotFound, reasonNotFound)
}

func TestPress(t *testing.T) {
	f := newFixture(t, Defaults())
	tests := []struct {
		name   string
		setup  func(*fakeAcceptor)
		level  schema.Level
		status string
		ask    bool
		result string
	}{
		{"accepted", nil, schema.LevelSatisfied, StatusAccepted, false, resultAccepted},
		{"dissatisfied asks for reasons", nil, schema.LevelDissatisfied, StatusAccepted, true, resultAccepted},
		{"Acceptor asks", func(a *fakeAcceptor) { a.ask = true }, schema.LevelVerySatisfied, StatusAccepted, true, resultAccepted},
		{"ignored never asks", func(a *fakeAcceptor) { a.status = StatusIgnored; a.ask = true }, schema.LevelDissatisfied, StatusIgnored, false, resultIgnored},
		{"unusable rating ID: thanked, not asked", func(a *fakeAcceptor) { a.ratingID = "bad id" }, schema.LevelDissatisfied, StatusAccepted, false, resultAccepted},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.acc.reset()
			if tt.setup != nil {
				f.acc.set(tt.setup)
			}
			before := counterValue(t, f.reg, "pscm_agent_kiosk_requests_total", map[string]string{"kiosk": "k1", "result": tt.result})
			pressID := fmt.Sprintf("press-%d-0123456789", i)
			w := f.do(t, "POST", "/kiosk/k1/press", token1, `{"level":"`+string(tt.level)+`","press_id":"`+pressID+`"}`)
			if w.Code != http.StatusOK || w.Header().Get("Cache-Control") != "no-store" {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			var got map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if got["status"] != tt.status || got["ask_reasons"] != tt.ask {
				t.Errorf("response %s", w.Body)
			}
			presses, _ := f.acc.calls()
			p := presses[len(presses)-1]
			want := Press{Kiosk: "k1", Counter: "c01", Level: tt.level, PressID: pressID, At: f.now.UTC()}
			if p != want || p.At.Location() != time.UTC {
				t.Errorf("Acceptor got %+v, want %+v", p, want)
			}
			if after := counterValue(t, f.reg, "pscm_agent_kiosk_requests_total", map[string]string{"kiosk": "k1", "result": tt.result}); after != before+1 {
				t.Errorf("%s count %v -> %v", tt.result, before, after)
			}
		})
	}

	// The response is exactly the documented shape.
	f.acc.reset()
	f.acc.set(func(a *fakeAcceptor) { a.ratingID = "01JDX8K3Q7A1" })
	w := f.do(t, "POST", "/kiosk/k2/press", token2, `{"level":"dissatisfied","press_id":"0123456789abcdef"}`)
	if got := strings.TrimSpace(w.Body.String()); got != `{"rating_id":"01JDX8K3Q7A1","status":"accepted","ask_reasons":true}` {
		t.Errorf("body %s", got)
	}
}

func TestPressBadInput(t *testing.T) {
	cfg := Defaults()
	cfg.Buttons = cfg.Buttons[1:] // no very_satisfied button
	f := newFixture(t, cfg)
	tests := []struct {
		name, method, body, reason string
		status                     int
	}{
		{"malformed JSON", "POST", `{"level":`, reasonMalformed, 400},
		{"not an object", "POST", `["satisfied"]`, reasonMalformed, 400},
		{"level not a string", "POST", `{"level":3,"press_id":"abcdefgh"}`, reasonMalformed, 400},
		{"unknown key", "POST", `{"level":"satisfied","press_id":"abcdefgh","kiosk":"k2"}`, reasonMalformed, 400},
		{"trailing data", "POST", `{"level":"satisfied","press_id":"abcdefgh"} {}`, reasonMalformed, 400},
		{"empty body", "POST", ``, reasonMalformed, 400},
		{"unknown level", "POST", `{"level":"great","press_id":"abcdefgh"}`, reasonUnknownLevel, 400},
		{"level without a button", "POST", `{"level":"very_satisfied","press_id":"abcdefgh"}`, reasonUnknownLevel, 400},
		{"missing level", "POST", `{"press_id":"abcdefgh"}`, reasonUnknownLevel, 400},
		{"missing press_id", "POST", `{"level":"satisfied"}`, reasonPressID, 400},
		{"short press_id", "POST", `{"level":"satisfied","press_id":"abc"}`, reasonPressID, 400},
		{"press_id with a space", "POST", `{"level":"satisfied","press_id":"abc defgh"}`, reasonPressID, 400},
		{"press_id too long", "POST", `{"level":"satisfied","press_id":"` + strings.Repeat("a", 65) + `"}`, reasonPressID, 400},
		{"body over 4 KiB", "POST", `{"level":"satisfied","press_id":"` + strings.Repeat("a", 4100) + `"}`, reasonTooLarge, 413},
		{"level twice, in two cases", "POST", `{"level":"very_satisfied","press_id":"abcdefgh","Level":"dissatisfied"}`, reasonMalformed, 400},
		{"GET", "GET", ``, reasonMethod, 405},
		{"PUT", "PUT", `{"level":"satisfied","press_id":"abcdefgh"}`, reasonMethod, 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := f.do(t, tt.method, "/kiosk/k1/press", token1, tt.body)
			e := wantError(t, w, tt.status, tt.reason)
			if len(e.Error) > 200 {
				t.Errorf("error message is %d bytes long", len(e.Error))
			}
			if tt.status == 405 && w.Header().Get("Allow") != "POST" {
				t.Errorf("Allow %q", w.Header().Get("Allow"))
			}
		})
	}
	if presses, _ := f.acc.calls(); len(presses) != 0 {
		t.Errorf("Acceptor called on bad input: %+v", presses)
	}
	if got := counterValue(t, f.reg, "pscm_agent_kiosk_requests_total", map[string]string{"kiosk": "k1", "result": resultBadRequest}); got != float64(len(tests)) {
		t.Errorf("bad_request count %v, want %d", got, len(tests))
	}
}

func TestReasons(t *testing.T) {
	f := newFixture(t, Defaults())
	w := f.do(t, "POST", "/kiosk/k2/reasons", token2, `{"rating_id":"01JDX8K3Q7A1","reasons":["thu-tuc","cho-lau"]}`)
	if w.Code != http.StatusOK || strings.TrimSpace(w.Body.String()) != `{"status":"ok"}` {
		t.Fatalf("reasons: %d %s", w.Code, w.Body)
	}
	_, calls := f.acc.calls()
	want := []reasonsCall{{Kiosk: "k2", RatingID: "01JDX8K3Q7A1", Reasons: []string{"thu-tuc", "cho-lau"}}}
	if len(calls) != 1 || calls[0].Kiosk != want[0].Kiosk || calls[0].RatingID != want[0].RatingID || !slices.Equal(calls[0].Reasons, want[0].Reasons) {
		t.Errorf("Acceptor got %+v, want %+v", calls, want)
	}

	tests := []struct{ name, body, reason string }{
		{"unknown reason", `{"rating_id":"r1","reasons":["slow"]}`, reasonUnknownReason},
		{"duplicate reason", `{"rating_id":"r1","reasons":["cho-lau","cho-lau"]}`, reasonDuplicate},
		{"too many reasons", `{"rating_id":"r1","reasons":["cho-lau","thai-do","huong-dan","thu-tuc","cho-lau"]}`, reasonTooManyReasons},
		{"no reasons", `{"rating_id":"r1","reasons":[]}`, reasonNoReasons},
		{"null reasons", `{"rating_id":"r1","reasons":null}`, reasonNoReasons},
		{"missing rating_id", `{"reasons":["cho-lau"]}`, reasonRatingID},
		{"bad rating_id", `{"rating_id":"r1\n","reasons":["cho-lau"]}`, reasonRatingID},
		{"reasons not strings", `{"rating_id":"r1","reasons":[1]}`, reasonMalformed},
		{"malformed", `{"rating_id":`, reasonMalformed},
		{"too large", `{"rating_id":"r1","reasons":["` + strings.Repeat("x", 5000) + `"]}`, reasonTooLarge},
		{"reasons twice", `{"rating_id":"r1","reasons":["cho-lau"],"Reasons":["thai-do"]}`, reasonMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status := http.StatusBadRequest
			if tt.reason == reasonTooLarge {
				status = http.StatusRequestEntityTooLarge
			}
			wantError(t, f.do(t, "POST", "/kiosk/k2/reasons", token2, tt.body), status, tt.reason)
		})
	}
	wantError(t, f.do(t, "GET", "/kiosk/k2/reasons", token2, ""), http.StatusMethodNotAllowed, reasonMethod)
	if _, calls := f.acc.calls(); len(calls) != 1 {
		t.Errorf("Acceptor called on bad input: %+v", calls[1:])
	}

	// Reasons turned off: nothing can be added.
	cfg := Defaults()
	cfg.Reasons, cfg.AskReasonsFor = nil, nil
	f = newFixture(t, cfg)
	wantError(t, f.do(t, "POST", "/kiosk/k1/reasons", token1, `{"rating_id":"r1","reasons":["cho-lau"]}`), http.StatusBadRequest, reasonTooManyReasons)
	w = f.do(t, "POST", "/kiosk/k1/press", token1, `{"level":"dissatisfied","press_id":"abcdefgh"}`)
	if !strings.Contains(w.Body.String(), `"ask_reasons":false`) {
		t.Errorf("asks for reasons with none configured: %s", w.Body)
	}
}

func TestAcceptorErrors(t *testing.T) {
	f := newFixture(t, Defaults())
	f.h.timeout = 50 * time.Millisecond
	press := `{"level":"satisfied","press_id":"abcdefgh"}`
	reasons := `{"rating_id":"r1","reasons":["cho-lau"]}`
	secret := errors.New("open /var/lib/pscm/spool/000042.seg: no space left on device")
	tests := []struct {
		name   string
		setup  func(*fakeAcceptor)
		path   string
		body   string
		status int
		reason string
		result string
	}{
		{"spool full", func(a *fakeAcceptor) { a.pressErr = ErrSpoolFull }, "press", press, 503, reasonUnavailable, resultUnavailable},
		{"spool full, wrapped", func(a *fakeAcceptor) { a.pressErr = fmt.Errorf("spool: %w", ErrSpoolFull) }, "press", press, 503, reasonUnavailable, resultUnavailable},
		{"too slow", func(a *fakeAcceptor) { a.block = true }, "press", press, 503, reasonUnavailable, resultUnavailable},
		{"press_id reused for another level", func(a *fakeAcceptor) { a.pressErr = fmt.Errorf("ratings: %w", ErrPressConflict) }, "press", press, 409, reasonPressConflict, resultBadRequest},
		{"other error", func(a *fakeAcceptor) { a.pressErr = secret }, "press", press, 500, reasonInternal, resultError},
		{"unknown status", func(a *fakeAcceptor) { a.status = "maybe" }, "press", press, 500, reasonInternal, resultError},
		{"reasons: unknown rating", func(a *fakeAcceptor) { a.reasonsErr = fmt.Errorf("x: %w", ErrUnknownRating) }, "reasons", reasons, 404, reasonUnknownRating, resultBadRequest},
		{"reasons: spool full", func(a *fakeAcceptor) { a.reasonsErr = ErrSpoolFull }, "reasons", reasons, 503, reasonUnavailable, resultUnavailable},
		{"reasons: other error", func(a *fakeAcceptor) { a.reasonsErr = secret }, "reasons", reasons, 500, reasonInternal, resultError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.acc.reset()
			f.acc.set(tt.setup)
			before := counterValue(t, f.reg, "pscm_agent_kiosk_requests_total", map[string]string{"kiosk": "k1", "result": tt.result})
			w := f.do(t, "POST", "/kiosk/k1/"+tt.path, token1, tt.body)
			e := wantError(t, w, tt.status, tt.reason)
			if strings.Contains(e.Error, "spool/") || strings.Contains(e.Error, "no space") {
				t.Errorf("internal error leaked to the tablet: %q", e.Error)
			}
			if tt.status == 503 && tt.path == "press" && tt.name != "too slow" && w.Header().Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			if after := counterValue(t, f.reg, "pscm_agent_kiosk_requests_total", map[string]string{"kiosk": "k1", "result": tt.result}); after != before+1 {
				t.Errorf("%s count %v -> %v", tt.result, before, after)
			}
		})
	}
	if !strings.Contains(f.log.String(), "no space left on device") {
		t.Error("the Acceptor's error is not in the log")
	}
}

// TestMetricsBounded sends every kind of request, garbage included, and
// checks that only configured kiosks and the fixed results appear.
func TestMetricsBounded(t *testing.T) {
	f := newFixture(t, Defaults())
	// Every series exists from the start.
	fams := gather(t, f.reg)
	if n := len(fams["pscm_agent_kiosk_requests_total"]); n != 2*len(results()) {
		t.Fatalf("%d series before any request, want %d", n, 2*len(results()))
	}
	for _, p := range []string{"/kiosk/k1/", "/kiosk/k1/config", "/kiosk/k1/ping", "/kiosk/k1/photo", "/kiosk/k1/press",
		"/kiosk/k1/reasons", "/kiosk/k1/x", "/kiosk/evil-" + strings.Repeat("x", 100) + "/press", "/kiosk/k2/%00", "/kiosk/static/kiosk.js"} {
		for _, tok := range []string{"", token1, token2} {
			for _, m := range []string{"GET", "POST", "DELETE"} {
				f.do(t, m, p, tok, `{"level":"neutral","press_id":"abcdefgh"}`)
			}
		}
	}
	fams = gather(t, f.reg)
	kiosks := map[string]bool{"k1": true, "k2": true}
	for _, labels := range fams["pscm_agent_kiosk_requests_total"] {
		if !kiosks[labels["kiosk"]] || !slices.Contains(results(), labels["result"]) || len(labels) != 2 {
			t.Errorf("unexpected series %v", labels)
		}
	}
	if n := len(fams["pscm_agent_kiosk_requests_total"]); n != 2*len(results()) {
		t.Errorf("%d series after garbage, want %d", n, 2*len(results()))
	}
}

func TestNewHandlerErrors(t *testing.T) {
	kiosks, _ := testKiosks(t)
	dir := t.TempDir()
	big := filepath.Join(dir, "big.png")
	if err := os.WriteFile(big, append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, maxPhoto)...), 0o644); err != nil {
		t.Fatal(err)
	}
	text := filepath.Join(dir, "photo.jpg")
	if err := os.WriteFile(text, []byte("not an image"), 0o644); err != nil {
		t.Fatal(err)
	}
	badCfg := Defaults()
	badCfg.ThankYou = 0

	with := func(i int, change func(*Kiosk)) []Kiosk {
		ks := slices.Clone(kiosks)
		change(&ks[i])
		return ks
	}
	tests := []struct {
		name   string
		cfg    Config
		kiosks []Kiosk
		acc    Acceptor
		want   string
	}{
		{"bad config", badCfg, kiosks, &fakeAcceptor{}, "thank_you"},
		{"no acceptor", Defaults(), kiosks, nil, "no Acceptor"},
		{"no kiosks", Defaults(), nil, &fakeAcceptor{}, "no kiosks"},
		{"bad id", Defaults(), with(0, func(k *Kiosk) { k.ID = "K1" }), &fakeAcceptor{}, `kiosks[0]: id "K1" does not match`},
		{"reserved id", Defaults(), with(1, func(k *Kiosk) { k.ID = "static" }), &fakeAcceptor{}, `kiosks[1]: id "static" is reserved`},
		{"duplicate id", Defaults(), with(1, func(k *Kiosk) { k.ID = "k1" }), &fakeAcceptor{}, "kiosks[1]: id k1 is used twice"},
		{"bad counter", Defaults(), with(0, func(k *Kiosk) { k.Counter = "" }), &fakeAcceptor{}, "k1: counter"},
		{"no Vietnamese name", Defaults(), with(0, func(k *Kiosk) { k.CounterNameVI = "" }), &fakeAcceptor{}, "k1: counter_name_vi: required"},
		{"no English name", Defaults(), with(0, func(k *Kiosk) { k.CounterNameEN = "" }), &fakeAcceptor{}, "k1: counter_name_en: required"},
		{"name with newline", Defaults(), with(0, func(k *Kiosk) { k.OfficerName = "Lan\n" }), &fakeAcceptor{}, "k1: officer_name"},
		{"short token", Defaults(), with(0, func(k *Kiosk) { k.Token = "secret" }), &fakeAcceptor{}, "k1: token: 6 characters, want at least 16"},
		{"token with space", Defaults(), with(0, func(k *Kiosk) { k.Token = "0123456789 abcdef" }), &fakeAcceptor{}, "k1: token: character 10"},
		{"shared token", Defaults(), with(1, func(k *Kiosk) { k.Token = token1 }), &fakeAcceptor{}, "same token as kiosk k1"},
		{"missing photo", Defaults(), with(0, func(k *Kiosk) { k.OfficerPhoto = filepath.Join(dir, "none.jpg") }), &fakeAcceptor{}, "k1: officer_photo: open"},
		{"photo too large", Defaults(), with(0, func(k *Kiosk) { k.OfficerPhoto = big }), &fakeAcceptor{}, "larger than 1048576 bytes"},
		{"photo not an image", Defaults(), with(0, func(k *Kiosk) { k.OfficerPhoto = text }), &fakeAcceptor{}, "not a JPEG or PNG"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewHandler(tt.cfg, tt.kiosks, tt.acc, nil, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), token1) || strings.Contains(err.Error(), "0123456789 abcdef") {
				t.Errorf("error reveals a token: %v", err)
			}
		})
	}

	// The same registry twice: the second registration fails cleanly.
	reg := prometheus.NewRegistry()
	if _, err := NewHandler(Defaults(), kiosks, &fakeAcceptor{}, nil, reg); err != nil {
		t.Fatal(err)
	}
	if _, err := NewHandler(Defaults(), kiosks, &fakeAcceptor{}, nil, reg); err == nil || !strings.Contains(err.Error(), "register metrics") {
		t.Errorf("second registration: %v", err)
	}
}

// gather returns, per metric family, the label sets of its series.
func gather(t testing.TB, reg *prometheus.Registry) map[string][]map[string]string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]map[string]string{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			out[mf.GetName()] = append(out[mf.GetName()], labels)
		}
	}
	return out
}

// counterValue returns the counter of name whose labels are exactly want.
func counterValue(t testing.TB, reg *prometheus.Registry, name string, want map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(want) {
				continue
			}
			for _, l := range m.GetLabel() {
				if want[l.GetName()] != l.GetValue() {
					continue metric
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no %s%v", name, want)
	return 0
}
