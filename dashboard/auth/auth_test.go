package auth

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

const (
	rootPW = "root-pass-xyz"
	lanPW  = "correct horse battery"
	minhPW = "mat-khau-an-lao-2026"
)

var testKey = []byte("0123456789abcdef0123456789abcdef-test-key")

// fakeClock is the injected clock: tests move time instead of sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// logBuf collects log output for the no-secrets check.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type fixture struct {
	a     *Auth
	clock *fakeClock
	logs  *logBuf
	users []User
}

// testMinCost lets the fixture use cost-4 hashes: the real bcrypt code
// path, at a price the race detector can afford (cost 10 takes ~0.8 s a
// comparison under -race). TestRealUsersFile covers the production cost.
const testMinCost = 4

// cheapUsers mirror testdata/users.yml with the same passwords.
func cheapUsers() []User {
	return []User{
		{Name: "root", Hash: "$2a$04$fdau94Af6WClJQ4drRDMUOKrOP0eiJL6xMoSXwtTKpjTC5QC67Er.", Role: RoleAdmin},
		{Name: "lan", Hash: "$2a$04$W7AsjilRA7GqOMiaif1PG.UQJyLrgh6IoxlxXdSrNfG7i52zZa8ia", Role: RoleManager, Sites: []string{"anlao"}},
		{Name: "minh", Hash: "$2a$04$Q5ws.T/VVNs202v46VWrvOde4F6MP2xi3.rJCNTQwBkpWIg7L3tUe", Role: RoleManager, Sites: []string{"anlao", "phuoc-thanh"}},
	}
}

func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	return newFixtureUsers(t, cfg, cheapUsers(), &fakeClock{t: time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)})
}

func newFixtureUsers(t *testing.T, cfg Config, users []User, clock *fakeClock) *fixture {
	t.Helper()
	logs := &logBuf{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := newAuth(cfg, users, testKey, log, clock.Now, testMinCost)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{a: a, clock: clock, logs: logs, users: users}
}

// TestRealUsersFile runs the production path once: LoadUsers, New with its
// cost-10 minimum, a login with a cost-10 hash.
func TestRealUsersFile(t *testing.T) {
	users, err := LoadUsers(copyFixture(t, "users.yml", 0o600))
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(DefaultConfig(), users, testKey, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{a: a, clock: &fakeClock{}, logs: &logBuf{}, users: users}
	tests := []struct {
		user, pw string
		want     int
	}{
		{"lan", lanPW, http.StatusSeeOther},
		{"lan", "wrong", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		if w := f.login(t, tt.user, tt.pw, ""); w.Code != tt.want {
			t.Errorf("login %s: status %d, want %d", tt.user, w.Code, tt.want)
		}
	}
	// New refuses the cheap test hashes: the minimum is not a test knob.
	if _, err := New(DefaultConfig(), cheapUsers(), testKey, slog.New(slog.DiscardHandler), nil); err == nil ||
		err.Error() != `auth: users[0] "root": hash: bcrypt cost 4 is below the minimum 10; rehash the password` {
		t.Errorf("New with cost-4 hashes: %v", err)
	}
}

const remote = "198.51.100.7:40000"

func (f *fixture) login(t *testing.T, user, pw, next string) *httptest.ResponseRecorder {
	return f.loginFrom(t, user, pw, next, remote)
}

func (f *fixture) loginFrom(t *testing.T, user, pw, next, remoteAddr string) *httptest.ResponseRecorder {
	t.Helper()
	form := url.Values{"username": {user}, "password": {pw}}
	if next != "" {
		form.Set("next", next)
	}
	r := httptest.NewRequest(http.MethodPost, "http://dash.example/login", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.RemoteAddr = remoteAddr
	w := httptest.NewRecorder()
	f.a.LoginHandler().ServeHTTP(w, r)
	return w
}

// session logs in and returns the cookie.
func (f *fixture) session(t *testing.T, user, pw string) *http.Cookie {
	t.Helper()
	w := f.login(t, user, pw, "")
	if w.Code != http.StatusSeeOther {
		t.Fatalf("login %s: status %d", user, w.Code)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == "pscm_session" {
			return c
		}
	}
	t.Fatal("no session cookie")
	return nil
}

// protected is a handler behind Require that reports who it saw.
func (f *fixture) protected() http.Handler {
	return f.a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := UserFrom(r.Context())
		if !ok {
			http.Error(w, "no user in context", http.StatusInternalServerError)
			return
		}
		io.WriteString(w, u.Name+" csrf="+f.a.CSRFToken(r))
	}))
}

func (f *fixture) do(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestNewRejects(t *testing.T) {
	users := cheapUsers()
	log := slog.New(slog.DiscardHandler)
	tests := []struct {
		name  string
		cfg   Config
		users []User
		key   []byte
		log   *slog.Logger
		want  string
	}{
		{"short key", DefaultConfig(), users, make([]byte, 31), log, "auth: session key is 31 bytes, need at least 32"},
		{"no users", DefaultConfig(), nil, testKey, log, "auth: no users"},
		{"bad user", DefaultConfig(), []User{{Name: "root", Hash: "x", Role: RoleAdmin}}, testKey, log, `auth: users[0] "root": hash: not a bcrypt hash`},
		{"nil logger", DefaultConfig(), users, testKey, nil, "auth: nil logger"},
		{"short ttl", Config{SessionTTL: time.Second}, users, testKey, log, "auth: session_ttl: 1s is shorter than 1m"},
		{"negative failures", Config{LoginMaxFailures: -1}, users, testKey, log, "auth: login_max_failures: -1 must be at least 1"},
		{"bad cookie name", Config{CookieName: "a b"}, users, testKey, log, `auth: cookie_name: "a b" is not a valid cookie name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newAuth(tt.cfg, tt.users, tt.key, tt.log, nil, testMinCost)
			if err == nil || err.Error() != tt.want {
				t.Errorf("err = %v, want %s", err, tt.want)
			}
		})
	}
}

func TestLogin(t *testing.T) {
	longPW := strings.Repeat("mk", 36) // 72 bytes, bcrypt's limit
	if len(longPW) != 72 {
		t.Fatalf("longPW is %d bytes", len(longPW))
	}
	longHash, err := bcrypt.GenerateFromPassword([]byte(longPW), testMinCost)
	if err != nil {
		t.Fatal(err)
	}
	weakHash, err := bcrypt.GenerateFromPassword([]byte("Admin@123"), testMinCost)
	if err != nil {
		t.Fatal(err)
	}
	users := append(cheapUsers(), User{Name: "long", Hash: string(longHash), Role: RoleAdmin},
		User{Name: "weak", Hash: string(weakHash), Role: RoleAdmin})
	f := newFixtureUsers(t, DefaultConfig(), users, &fakeClock{t: time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)})
	tests := []struct {
		name, user, pw string
		wantCode       int
		wantCookie     bool
	}{
		{"admin", "root", rootPW, http.StatusSeeOther, true},
		{"manager", "lan", lanPW, http.StatusSeeOther, true},
		{"wrong password", "lan", "correct horse", http.StatusUnauthorized, false},
		{"other user's password", "lan", minhPW, http.StatusUnauthorized, false},
		{"unknown user", "mallory", lanPW, http.StatusUnauthorized, false},
		{"empty", "", "", http.StatusUnauthorized, false},
		{"name case matters", "LAN", lanPW, http.StatusUnauthorized, false},
		{"long password", "long", longPW, http.StatusSeeOther, true},
		// bcrypt compares only the first 72 bytes and would let this in.
		{"over 72 bytes", "long", longPW + "!", http.StatusUnauthorized, false},
		// The right password, but a well-known default: no session.
		{"default password", "weak", "Admin@123", http.StatusForbidden, false},
	}
	var failBody string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := f.login(t, tt.user, tt.pw, "")
			if w.Code != tt.wantCode {
				t.Fatalf("status = %d, want %d", w.Code, tt.wantCode)
			}
			gotCookie := len(w.Result().Cookies()) > 0
			if gotCookie != tt.wantCookie {
				t.Errorf("cookie set = %v, want %v", gotCookie, tt.wantCookie)
			}
			if tt.wantCode == http.StatusSeeOther {
				if loc := w.Header().Get("Location"); loc != "/" {
					t.Errorf("Location = %q, want /", loc)
				}
				return
			}
			body := w.Body.String()
			if tt.wantCode == http.StatusForbidden {
				if !strings.Contains(body, "mật khẩu mặc định hoặc quá yếu") {
					t.Errorf("weak-password page lacks its message:\n%s", body)
				}
				return
			}
			if !strings.Contains(body, "Sai tên đăng nhập hoặc mật khẩu / Wrong username or password") {
				t.Errorf("failure page lacks the generic error:\n%s", body)
			}
			// Unknown user and wrong password must read the same.
			if failBody == "" {
				failBody = body
			} else if body != failBody {
				t.Errorf("failure page differs between cases")
			}
		})
	}
}

func TestLoginCrossOriginPostRefused(t *testing.T) {
	f := newFixture(t, DefaultConfig())
	form := url.Values{"username": {"root"}, "password": {rootPW}}
	r := httptest.NewRequest(http.MethodPost, "http://dash.example/login", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Origin", "https://evil.example")
	w := f.do(f.a.LoginHandler(), r)
	if w.Code != http.StatusForbidden || len(w.Result().Cookies()) != 0 {
		t.Errorf("status %d, cookies %d; want 403 and none", w.Code, len(w.Result().Cookies()))
	}
}

func TestLoginPage(t *testing.T) {
	f := newFixture(t, DefaultConfig())
	r := httptest.NewRequest(http.MethodGet, "http://dash.example/login?next=%2Fsite%2Fanlao", nil)
	w := f.do(f.a.LoginHandler(), r)
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d", w.Code)
	}
	body := w.Body.String()
	for _, s := range []string{`lang="vi"`, "Đăng nhập", "Sign in", "Tên đăng nhập", "Username", "Mật khẩu", "Password", `value="/site/anlao"`} {
		if !strings.Contains(body, s) {
			t.Errorf("page lacks %q", s)
		}
	}
	for _, s := range []string{"http://", "https://", "<script", "src="} {
		if strings.Contains(body, s) {
			t.Errorf("page has external asset or script %q", s)
		}
	}
	csp := w.Header().Get("Content-Security-Policy")
	for _, s := range []string{"default-src 'none'", "style-src 'sha256-", "frame-ancestors 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, s) {
			t.Errorf("CSP %q lacks %q", csp, s)
		}
	}
	if strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP allows unsafe-inline: %q", csp)
	}

	// Already logged in: straight on to next.
	c := f.session(t, "lan", lanPW)
	r = httptest.NewRequest(http.MethodGet, "http://dash.example/login?next=%2Fsite%2Fanlao", nil)
	r.AddCookie(c)
	w = f.do(f.a.LoginHandler(), r)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/site/anlao" {
		t.Errorf("logged-in GET /login: %d %q", w.Code, w.Header().Get("Location"))
	}
}

func TestCookieAttributes(t *testing.T) {
	tests := []struct {
		name       string
		secure     bool
		wantSecure bool
	}{
		{"default secure", true, true},
		{"demo over http", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Secure = tt.secure
			f := newFixture(t, cfg)
			c := f.session(t, "lan", lanPW)
			if !c.HttpOnly {
				t.Error("cookie not HttpOnly")
			}
			if c.SameSite != http.SameSiteStrictMode {
				t.Errorf("SameSite = %v, want Strict", c.SameSite)
			}
			if c.Secure != tt.wantSecure {
				t.Errorf("Secure = %v, want %v", c.Secure, tt.wantSecure)
			}
			if c.Path != "/" {
				t.Errorf("Path = %q, want /", c.Path)
			}
			if c.MaxAge != int((12 * time.Hour).Seconds()) {
				t.Errorf("MaxAge = %d, want 12h", c.MaxAge)
			}
			if !tt.secure && !strings.Contains(f.logs.String(), "without the Secure attribute") {
				t.Error("no warning logged for insecure cookies")
			}
		})
	}
}

func get(c *http.Cookie, target, accept string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	if accept != "" {
		r.Header.Set("Accept", accept)
	}
	if c != nil {
		r.AddCookie(c)
	}
	return r
}

func TestSessionExpiry(t *testing.T) {
	f := newFixture(t, DefaultConfig())
	c := f.session(t, "lan", lanPW)
	h := f.protected()
	tests := []struct {
		advance  time.Duration
		wantCode int
	}{
		{0, http.StatusOK},
		{12*time.Hour - time.Second, http.StatusOK},
		{time.Second, http.StatusUnauthorized}, // exactly 12 h after login
		{time.Hour, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		f.clock.Advance(tt.advance)
		w := f.do(h, get(c, "http://dash.example/api/site/anlao", "application/json"))
		if w.Code != tt.wantCode {
			t.Errorf("at %s: status %d, want %d", f.clock.Now().Format(time.TimeOnly), w.Code, tt.wantCode)
		}
	}
}

func TestSessionSurvivesRestart(t *testing.T) {
	f := newFixture(t, DefaultConfig())
	c := f.session(t, "minh", minhPW)
	// A new Auth with the same key and users is a restarted dashboard.
	g := newFixtureUsers(t, DefaultConfig(), f.users, f.clock)
	w := g.do(g.protected(), get(c, "http://dash.example/api/x", ""))
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Body.String(), "minh ") {
		t.Errorf("after restart: %d %q", w.Code, w.Body.String())
	}
}

func TestTamperedCookie(t *testing.T) {
	f := newFixture(t, DefaultConfig())
	c := f.session(t, "lan", lanPW)
	parts := strings.Split(c.Value, ".")
	if len(parts) != 5 {
		t.Fatalf("cookie has %d parts", len(parts))
	}
	with := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, ".")
	}
	flip := func(s string) string {
		b := []byte(s)
		if b[0] == 'A' {
			b[0] = 'B'
		} else {
			b[0] = 'A'
		}
		return string(b)
	}
	enc := base64.RawURLEncoding.EncodeToString
	farFuture := "4102444800" // 2100-01-01

	// The same cookie signed with another key.
	other := newFixtureUsers(t, DefaultConfig(), f.users, f.clock)
	other.a.sessionKey = derive([]byte("another-key-another-key-another-key!"), "pscm/dashboard/session/v1")
	otherCookie := other.session(t, "lan", lanPW)

	tests := []struct{ name, value string }{
		{"user swapped to admin", with(1, enc([]byte("root")))},
		{"expiry extended", with(2, farFuture)},
		{"nonce changed", with(3, flip(parts[3]))},
		{"mac changed", with(4, flip(parts[4]))},
		{"mac removed", strings.Join(parts[:4], ".")},
		{"extra part", c.Value + ".x"},
		{"version changed", with(0, "v2")},
		{"empty", ""},
		{"garbage", "not-a-cookie"},
		{"oversized", strings.Repeat("A", 4000)},
		{"other key", otherCookie.Value},
	}
	h := f.protected()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := f.do(h, get(&http.Cookie{Name: "pscm_session", Value: tt.value}, "http://dash.example/api/x", ""))
			if w.Code != http.StatusUnauthorized {
				t.Errorf("status %d, want 401", w.Code)
			}
		})
	}
	t.Run("untouched still works", func(t *testing.T) {
		if w := f.do(h, get(c, "http://dash.example/api/x", "")); w.Code != http.StatusOK {
			t.Errorf("status %d", w.Code)
		}
	})
	t.Run("password changed", func(t *testing.T) {
		users := append([]User(nil), f.users...)
		users[1].Hash = users[0].Hash // lan's password is reset
		g := newFixtureUsers(t, DefaultConfig(), users, f.clock)
		if w := g.do(g.protected(), get(c, "http://dash.example/api/x", "")); w.Code != http.StatusUnauthorized {
			t.Errorf("status %d, want 401", w.Code)
		}
	})
	t.Run("user removed", func(t *testing.T) {
		g := newFixtureUsers(t, DefaultConfig(), []User{f.users[0], f.users[2]}, f.clock)
		if w := g.do(g.protected(), get(c, "http://dash.example/api/x", "")); w.Code != http.StatusUnauthorized {
			t.Errorf("status %d, want 401", w.Code)
		}
	})
}

func TestRequireUnauthenticated(t *testing.T) {
	f := newFixture(t, DefaultConfig())
	h := f.protected()
	browser := "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	tests := []struct {
		name, method, accept string
		websocket            bool
		wantCode             int
		wantLocation         string
	}{
		{"page", http.MethodGet, browser, false, http.StatusSeeOther, "/login?next=%2Fsite%2Fanlao%3Fday%3D2026-11-25"},
		{"page HEAD", http.MethodHead, browser, false, http.StatusSeeOther, "/login?next=%2Fsite%2Fanlao%3Fday%3D2026-11-25"},
		{"json", http.MethodGet, "application/json", false, http.StatusUnauthorized, ""},
		{"fetch default", http.MethodGet, "*/*", false, http.StatusUnauthorized, ""},
		{"websocket", http.MethodGet, browser, true, http.StatusUnauthorized, ""},
		{"form post", http.MethodPost, browser, false, http.StatusUnauthorized, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "http://dash.example/site/anlao?day=2026-11-25", nil)
			r.Header.Set("Accept", tt.accept)
			if tt.websocket {
				r.Header.Set("Connection", "Upgrade")
				r.Header.Set("Upgrade", "websocket")
				r.Header.Set("Origin", "http://dash.example")
			}
			w := f.do(h, r)
			if w.Code != tt.wantCode {
				t.Fatalf("status %d, want %d", w.Code, tt.wantCode)
			}
			if loc := w.Header().Get("Location"); loc != tt.wantLocation {
				t.Errorf("Location = %q, want %q", loc, tt.wantLocation)
			}
			if tt.wantCode == http.StatusUnauthorized {
				var body struct{ Error string }
				if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error != "unauthenticated" {
					t.Errorf("body %q is not the JSON error", w.Body.String())
				}
			}
		})
	}
}

func TestRequireWebsocketOrigin(t *testing.T) {
	f := newFixture(t, DefaultConfig())
	c := f.session(t, "lan", lanPW)
	tests := []struct {
		origin   string
		wantCode int
	}{
		{"http://dash.example", http.StatusOK},
		{"http://evil.example", http.StatusForbidden},
		{"", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.origin, func(t *testing.T) {
			r := get(c, "http://dash.example/ws", "")
			r.Header.Set("Connection", "keep-alive, Upgrade")
			r.Header.Set("Upgrade", "websocket")
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			if w := f.do(f.protected(), r); w.Code != tt.wantCode {
				t.Errorf("status %d, want %d", w.Code, tt.wantCode)
			}
		})
	}
}

func TestRequireUserAndCSRF(t *testing.T) {
	f := newFixture(t, DefaultConfig())
	lan := f.session(t, "lan", lanPW)
	minh := f.session(t, "minh", minhPW)
	h := f.protected()

	// The page gets the token through CSRFToken, as a template would.
	w := f.do(h, get(lan, "http://dash.example/", "text/html"))
	if w.Code != http.StatusOK {
		t.Fatalf("GET: status %d", w.Code)
	}
	name, token, _ := strings.Cut(w.Body.String(), " csrf=")
	if name != "lan" || token == "" {
		t.Fatalf("handler saw %q", w.Body.String())
	}
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q", w.Header().Get("Cache-Control"))
	}
	minhToken := f.a.CSRFToken(get(minh, "http://dash.example/", ""))
	if minhToken == "" || minhToken == token {
		t.Fatalf("minh's token %q", minhToken)
	}
	if got := f.a.CSRFToken(get(nil, "http://dash.example/", "")); got != "" {
		t.Errorf("CSRFToken without session = %q", got)
	}

	tests := []struct {
		name, method, target string
		header, form         string
		wantCode             int
	}{
		{"GET needs none", http.MethodGet, "/api/x", "", "", http.StatusOK},
		{"POST missing", http.MethodPost, "/api/x", "", "", http.StatusForbidden},
		{"POST wrong", http.MethodPost, "/api/x", "AAAA" + token[4:], "", http.StatusForbidden},
		{"POST other session's", http.MethodPost, "/api/x", minhToken, "", http.StatusForbidden},
		{"POST header", http.MethodPost, "/api/x", token, "", http.StatusOK},
		{"POST form field", http.MethodPost, "/api/x", "", token, http.StatusOK},
		{"POST form field wrong", http.MethodPost, "/api/x", "", "x" + token, http.StatusForbidden},
		{"POST token in URL refused", http.MethodPost, "/api/x?csrf_token=" + token, "", "", http.StatusForbidden},
		{"PUT missing", http.MethodPut, "/api/x", "", "", http.StatusForbidden},
		{"PUT header", http.MethodPut, "/api/x", token, "", http.StatusOK},
		{"DELETE missing", http.MethodDelete, "/api/x", "", "", http.StatusForbidden},
		{"DELETE header", http.MethodDelete, "/api/x", token, "", http.StatusOK},
		{"PATCH missing", http.MethodPatch, "/api/x", "", "", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Every unsafe request carries a form body, so a token that is
			// only in the URL query is seen by a form parser and still refused.
			var body io.Reader
			form := url.Values{"note": {"x"}}
			if tt.form != "" {
				form.Set("csrf_token", tt.form)
			}
			if tt.method != http.MethodGet {
				body = strings.NewReader(form.Encode())
			}
			r := httptest.NewRequest(tt.method, "http://dash.example"+tt.target, body)
			if body != nil {
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if tt.header != "" {
				r.Header.Set("X-CSRF-Token", tt.header)
			}
			r.AddCookie(lan)
			w := f.do(h, r)
			if w.Code != tt.wantCode {
				t.Errorf("status %d, want %d (%s)", w.Code, tt.wantCode, w.Body.String())
			}
		})
	}
}

func TestLogout(t *testing.T) {
	f := newFixture(t, DefaultConfig())
	c := f.session(t, "lan", lanPW)
	token := f.a.CSRFToken(get(c, "http://dash.example/", ""))
	logout := func(method, token string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "http://dash.example/logout", nil)
		if token != "" {
			r.Header.Set("X-CSRF-Token", token)
		}
		r.AddCookie(c)
		return f.do(f.a.LogoutHandler(), r)
	}
	if w := logout(http.MethodGet, token); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: status %d, want 405", w.Code)
	}
	if w := logout(http.MethodPost, ""); w.Code != http.StatusForbidden {
		t.Errorf("POST without CSRF: status %d, want 403", w.Code)
	}
	w := logout(http.MethodPost, token)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login" {
		t.Fatalf("POST: %d %q", w.Code, w.Header().Get("Location"))
	}
	cleared := w.Result().Cookies()
	if len(cleared) != 1 || cleared[0].Name != "pscm_session" || cleared[0].Value != "" || cleared[0].MaxAge >= 0 {
		t.Errorf("cookie not cleared: %+v", cleared)
	}
	// A copy of the cookie kept after logout is dead too.
	if w := f.do(f.protected(), get(c, "http://dash.example/api/x", "")); w.Code != http.StatusUnauthorized {
		t.Errorf("cookie replayed after logout: status %d", w.Code)
	}
	// Logging out without a session is harmless.
	r := httptest.NewRequest(http.MethodPost, "http://dash.example/logout", nil)
	if w := f.do(f.a.LogoutHandler(), r); w.Code != http.StatusSeeOther {
		t.Errorf("logout without session: status %d", w.Code)
	}
}

func TestOpenRedirect(t *testing.T) {
	f := newFixture(t, DefaultConfig())
	tests := []struct{ next, want string }{
		{"", "/"},
		{"/site/anlao", "/site/anlao"},
		{"/site/anlao?day=2026-11-25#counters", "/site/anlao?day=2026-11-25#counters"},
		{"//evil.com", "/"},
		{"///evil.com", "/"},
		{"https://evil.com", "/"},
		{"http:evil.com", "/"},
		{`/\evil`, "/"},
		{`/\\evil`, "/"},
		{`\\evil.com`, "/"},
		{"/\t/evil.com", "/"},
		{"/%0d%0aSet-Cookie:x", "/%0d%0aSet-Cookie:x"}, // stays escaped: a path on this site
		{"javascript:alert(1)", "/"},
		{"evil.com", "/"},
		{"/" + strings.Repeat("a", 3000), "/"},
	}
	for _, tt := range tests {
		t.Run(tt.next, func(t *testing.T) {
			w := f.login(t, "root", rootPW, tt.next)
			if w.Code != http.StatusSeeOther {
				t.Fatalf("status %d", w.Code)
			}
			if loc := w.Header().Get("Location"); loc != tt.want {
				t.Errorf("Location = %q, want %q", loc, tt.want)
			}
		})
	}
}

// TestBruteForce (issue 13, rows 2 and 3): past five failures one user
// from one address waits 1 s, 2 s, 4 s... (capped by login_lockout)
// between attempts instead of being locked out for hours; the right
// password is taken once the wait is over; other addresses and other users
// are not slowed; an early attempt is refused without counting.
func TestBruteForce(t *testing.T) {
	f := newFixture(t, DefaultConfig())
	const other = "203.0.113.9:5555"
	type step struct {
		name      string
		advance   time.Duration
		user, pw  string
		from      string
		wantCode  int
		wantRetry string
	}
	steps := []step{
		{"fail 1", 0, "lan", "guess1", remote, 401, ""},
		{"fail 2", time.Minute, "lan", "guess2", remote, 401, ""},
		{"fail 3", time.Minute, "lan", "guess3", remote, 401, ""},
		{"fail 4", time.Minute, "lan", "guess4", remote, 401, ""},
		{"fail 5: from now on, waits", time.Minute, "lan", "guess5", remote, 401, ""},
		{"too soon", 0, "lan", "guess6", remote, 429, "1"},
		{"right password too soon", 0, "lan", lanPW, remote, 429, "1"},
		{"same user other address", 0, "lan", lanPW, other, 303, ""},
		{"other user same address", 0, "minh", minhPW, remote, 303, ""},
		{"after 1 s: fail 6", time.Second, "lan", "guess7", remote, 401, ""},
		{"wait doubles", 0, "lan", "guess8", remote, 429, "2"},
		{"after 2 s: fail 7", 2 * time.Second, "lan", "guess9", remote, 401, ""},
		{"wait doubles again", 0, "lan", "guess10", remote, 429, "4"},
		{"right password after the wait", 4 * time.Second, "lan", lanPW, remote, 303, ""},
		// Success cleared the pair: a fresh count.
		{"fresh fail", 0, "lan", "x", remote, 401, ""},
		// Unknown users slow down the same way, so 429 tells nothing.
		{"unknown 1", 0, "ghost", "x", remote, 401, ""},
		{"unknown 2", 0, "ghost", "x", remote, 401, ""},
		{"unknown 3", 0, "ghost", "x", remote, 401, ""},
		{"unknown 4", 0, "ghost", "x", remote, 401, ""},
		{"unknown 5", 0, "ghost", "x", remote, 401, ""},
		{"unknown 6", 0, "ghost", "x", remote, 429, "1"},
	}
	for _, s := range steps {
		f.clock.Advance(s.advance)
		w := f.loginFrom(t, s.user, s.pw, "", s.from)
		if w.Code != s.wantCode {
			t.Fatalf("%s: status %d, want %d", s.name, w.Code, s.wantCode)
		}
		if got := w.Header().Get("Retry-After"); got != s.wantRetry {
			t.Errorf("%s: Retry-After %q, want %q", s.name, got, s.wantRetry)
		}
		if s.wantCode == 429 && len(w.Result().Cookies()) != 0 {
			t.Errorf("%s: cookie set while slowed down", s.name)
		}
	}
	// The wait is capped by login_lockout (1 min by default), never hours.
	for i := range 12 {
		f.clock.Advance(61 * time.Second) // past any wait, inside the 15-min window
		if w := f.loginFrom(t, "minh", "nope", "", other); w.Code != 401 {
			t.Fatalf("failure %d after its wait: %d", i+1, w.Code)
		}
	}
	if w := f.loginFrom(t, "minh", "nope", "", other); w.Header().Get("Retry-After") != "60" {
		t.Errorf("after 12 failures Retry-After %q, want the cap of 60", w.Header().Get("Retry-After"))
	}
}

// TestProxyAndKnownDevice (issue 13, row 2): behind a trusted proxy the
// limiter and the logs see each client's own address, so one address's
// failures slow nobody else; guesses spread over many addresses slow the
// account as a whole, except for the browser its owner logged in from.
func TestProxyAndKnownDevice(t *testing.T) {
	cfg := DefaultConfig()
	cfg.TrustedProxies = []string{"127.0.0.1"}
	f := newFixture(t, cfg)
	via := func(user, pw, client string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
		form := url.Values{"username": {user}, "password": {pw}}
		r := httptest.NewRequest(http.MethodPost, "http://dash.example/login", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("X-Forwarded-For", client)
		r.RemoteAddr = "127.0.0.1:45000" // the proxy
		for _, c := range cookies {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		f.a.LoginHandler().ServeHTTP(w, r)
		return w
	}
	// The owner logs in once from their browser and keeps its device cookie.
	w := via("lan", lanPW, "10.0.0.5")
	var device *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == "pscm_session_device" {
			device = c
		}
	}
	if w.Code != 303 || device == nil || !device.HttpOnly || device.Path != "/login" {
		t.Fatalf("login: %d, device cookie %+v", w.Code, device)
	}
	// Five wrong passwords from one address slow that address only.
	for range 5 {
		via("lan", "guess", "203.0.113.66")
	}
	if w := via("lan", "guess", "203.0.113.66"); w.Code != 429 {
		t.Fatalf("the guessing address: %d, want 429", w.Code)
	}
	if w := via("lan", lanPW, "10.0.0.9"); w.Code != 303 {
		t.Fatalf("the owner from another address behind the same proxy: %d, want 303", w.Code)
	}
	if !strings.Contains(f.logs.String(), "remote=203.0.113.66") {
		t.Errorf("the log does not name the real client:\n%s", f.logs.String())
	}
	// Fifty wrong passwords from fifty addresses: the account slows down...
	for i := range 50 {
		via("lan", "guess", fmt.Sprintf("198.18.0.%d", i+1))
	}
	if w := via("lan", lanPW, "198.18.1.1"); w.Code != 429 {
		t.Fatalf("a new address after a spread attack: %d, want 429 (account slowed)", w.Code)
	}
	// ...but not for the owner's browser.
	if w := via("lan", lanPW, "10.0.0.9", device); w.Code != 303 {
		t.Fatalf("the owner's browser during a spread attack: %d, want 303", w.Code)
	}
	// A forged header from a client that is not the proxy is ignored.
	form := url.Values{"username": {"minh"}, "password": {"x"}}
	r := httptest.NewRequest(http.MethodPost, "http://dash.example/login", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("X-Forwarded-For", "10.9.9.9")
	r.RemoteAddr = "192.0.2.77:1234"
	f.a.LoginHandler().ServeHTTP(httptest.NewRecorder(), r)
	if !strings.Contains(f.logs.String(), "remote=192.0.2.77") || strings.Contains(f.logs.String(), "10.9.9.9") {
		t.Errorf("a header from an untrusted peer was believed:\n%s", f.logs.String())
	}
}

func TestBruteForceWindowSlides(t *testing.T) {
	f := newFixture(t, DefaultConfig())
	// Four failures, a quiet window, four more: never five within 15 min.
	for i := 0; i < 4; i++ {
		if w := f.login(t, "lan", "nope", ""); w.Code != 401 {
			t.Fatalf("fail %d: status %d", i, w.Code)
		}
	}
	f.clock.Advance(16 * time.Minute)
	for i := 0; i < 4; i++ {
		if w := f.login(t, "lan", "nope", ""); w.Code != 401 {
			t.Fatalf("fail %d after window: status %d", i, w.Code)
		}
	}
	if w := f.login(t, "lan", lanPW, ""); w.Code != 303 {
		t.Errorf("5th attempt, right password: status %d, want 303", w.Code)
	}
}

func TestCheckOrigin(t *testing.T) {
	tests := []struct {
		name, target, host, origin, xfp string
		tls                             bool
		want                            bool
	}{
		{"same origin", "http://dash.example:8080/ws", "", "http://dash.example:8080", "", false, true},
		{"same origin default port", "http://dash.example/ws", "", "http://dash.example", "", false, true},
		{"explicit default port", "http://dash.example/ws", "dash.example:80", "http://dash.example", "", false, true},
		{"host case", "http://dash.example/ws", "", "http://DASH.example", "", false, true},
		{"https", "https://dash.example/ws", "", "https://dash.example", "", true, true},
		{"https explicit 443", "https://dash.example/ws", "dash.example", "https://dash.example:443", "", true, true},
		{"loopback demo", "http://127.0.0.1:8088/ws", "", "http://127.0.0.1:8088", "", false, true},
		{"ipv6", "http://[::1]:8088/ws", "", "http://[::1]:8088", "", false, true},
		{"behind tls proxy", "http://dash.example/ws", "", "https://dash.example", "https", false, true},
		{"other host", "http://dash.example/ws", "", "http://evil.example", "", false, false},
		{"suffix host", "http://dash.example/ws", "", "http://dash.example.evil.com", "", false, false},
		{"other port", "http://dash.example:8080/ws", "", "http://dash.example:8081", "", false, false},
		{"port vs default", "http://dash.example:8080/ws", "", "http://dash.example", "", false, false},
		{"other scheme", "http://dash.example/ws", "", "https://dash.example", "", false, false},
		{"downgraded scheme", "https://dash.example/ws", "", "http://dash.example", "", true, false},
		{"missing", "http://dash.example/ws", "", "", "", false, false},
		{"null", "http://dash.example/ws", "", "null", "", false, false},
		{"userinfo", "http://dash.example/ws", "", "http://dash.example@evil.example", "", false, false},
		{"with path", "http://dash.example/ws", "", "http://dash.example/x", "", false, false},
		{"file", "http://dash.example/ws", "", "file://", "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tt.target, nil)
			if tt.host != "" {
				r.Host = tt.host
			}
			if !tt.tls {
				r.TLS = nil
			} else if r.TLS == nil {
				r.TLS = &tls.ConnectionState{}
			}
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			if tt.xfp != "" {
				r.Header.Set("X-Forwarded-Proto", tt.xfp)
			}
			if got := CheckOrigin(r); got != tt.want {
				t.Errorf("CheckOrigin = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestNoSecretsInLogs drives every path that logs and checks that no
// password, hash, cookie value or CSRF token reaches the log.
func TestNoSecretsInLogs(t *testing.T) {
	f := newFixture(t, DefaultConfig())
	typo := "hunter2-typed-into-username"
	f.login(t, "lan", "wrong-secret-1", "")
	f.login(t, typo, lanPW, "")
	f.login(t, "ghost", "wrong-secret-2", "")
	for i := 0; i < 6; i++ {
		f.loginFrom(t, "minh", "wrong-secret-3", "", "192.0.2.50:1")
	}
	c := f.session(t, "lan", lanPW)
	token := f.a.CSRFToken(get(c, "http://dash.example/", ""))
	h := f.protected()
	r := httptest.NewRequest(http.MethodPost, "http://dash.example/api/x", nil)
	r.Header.Set("X-CSRF-Token", "wrong-"+token)
	r.AddCookie(c)
	f.do(h, r)
	f.do(h, get(&http.Cookie{Name: "pscm_session", Value: c.Value + "x"}, "http://dash.example/api/x", ""))
	r = httptest.NewRequest(http.MethodPost, "http://dash.example/logout", nil)
	r.Header.Set("X-CSRF-Token", token)
	r.AddCookie(c)
	f.do(f.a.LogoutHandler(), r)
	f.do(h, get(c, "http://dash.example/api/x", ""))

	logs := f.logs.String()
	for _, want := range []string{"login failed", "user=lan", "remote=198.51.100.7", "slowed down", "user=minh", "logout", "csrf token refused", "session refused"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	parts := strings.Split(c.Value, ".")
	secrets := map[string]string{
		"lan's password": lanPW, "wrong password": "wrong-secret", "typo": typo,
		"cookie": c.Value, "cookie nonce": parts[3], "cookie mac": parts[4], "csrf token": token,
	}
	for _, u := range f.users {
		secrets[u.Name+"'s hash"] = u.Hash
	}
	for name, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("log contains %s:\n%s", name, logs)
		}
	}
}

// TestBruteForceParallelBurst: attempts are counted before bcrypt answers,
// so a burst of parallel guesses gets no more tries than a sequence.
func TestBruteForceParallelBurst(t *testing.T) {
	f := newFixture(t, DefaultConfig())
	const n = 20
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- f.login(t, "lan", "guess", "").Code
		}()
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	// Checked again once a bcrypt slot is held: at most the budget plus
	// the other slots' comparisons get through.
	if count[401] < 5 || count[401] > 5+maxConcurrentHashes-1 || count[401]+count[429] != n {
		t.Errorf("statuses %v, want 5 to %d×401 and the rest 429", count, 5+maxConcurrentHashes-1)
	}
}

// TestLimiterBounded (issue 13, row 3): a flood of fresh names neither
// grows the table past its bound nor evicts a pair that is slowing down;
// attempts that never reach a comparison leave nothing behind.
func TestLimiterBounded(t *testing.T) {
	l := newLimiter(5, 15*time.Minute, time.Minute)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for range 5 {
		l.failed("victim", "a", now)
	}
	for i := 0; i < maxTracked+100; i++ {
		l.failed("flood-"+strconv.Itoa(i), "a", now)
	}
	if len(l.pairs) > maxTracked {
		t.Errorf("limiter holds %d pairs, bound %d", len(l.pairs), maxTracked)
	}
	if l.wait("victim", "a", false, now) == 0 {
		t.Error("the flood evicted a pair that was slowing down")
	}
	for i := range 1000 {
		l.wait("probe-"+strconv.Itoa(i), "b", false, now) // cancelled before its comparison
	}
	if _, ok := l.pairs["probe-0\x00b"]; ok {
		t.Error("an attempt that never reached a comparison was recorded")
	}
}

func TestRevokedBounded(t *testing.T) {
	f := newFixture(t, DefaultConfig())
	now := f.clock.Now()
	for i := 0; i < maxRevoked+100; i++ {
		f.a.revoke(session{nonce: "n" + strconv.Itoa(i), expires: now.Add(time.Hour + time.Duration(i)*time.Second)})
	}
	if len(f.a.revoked) > maxRevoked {
		t.Errorf("revoked holds %d, bound %d", len(f.a.revoked), maxRevoked)
	}
	// The newest revocations are kept: they have the most life left.
	if _, ok := f.a.revoked["n"+strconv.Itoa(maxRevoked+99)]; !ok {
		t.Error("latest revocation evicted")
	}
}

// TestLiveConnections (issue 13, row 9): a websocket's context ends when
// its session is logged out, not hours later at its expiry, and one user
// holds at most max_websockets_per_user at once.
func TestLiveConnections(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxWebsocketsPerUser = 2
	f := newFixture(t, cfg)
	c := f.session(t, "lan", lanPW)
	type opened struct {
		ctx  context.Context
		stop func()
		err  error
	}
	open := func() opened {
		var o opened
		h := f.a.Require(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			o.ctx, o.stop, o.err = f.a.Live(r.Context())
		}))
		f.do(h, get(c, "http://dash.example/ws", ""))
		return o
	}
	first, second := open(), open()
	if first.err != nil || second.err != nil {
		t.Fatalf("two connections: %v, %v", first.err, second.err)
	}
	if third := open(); !errors.Is(third.err, ErrTooManyConnections) {
		t.Fatalf("a third connection for the same user: %v, want ErrTooManyConnections", third.err)
	}
	second.stop()
	if again := open(); again.err != nil {
		t.Fatalf("after one closed: %v", again.err)
	} else {
		defer again.stop()
	}
	// Logout ends the session's connections at once.
	token := f.a.CSRFToken(get(c, "http://dash.example/", ""))
	r := httptest.NewRequest(http.MethodPost, "http://dash.example/logout", nil)
	r.Header.Set("X-CSRF-Token", token)
	r.AddCookie(c)
	f.do(f.a.LogoutHandler(), r)
	select {
	case <-first.ctx.Done():
	case <-time.After(time.Second):
		t.Fatal("the websocket's context outlived the logout")
	}
	first.stop()
}

// TestRevocationsSurviveRestart: a cookie copied before its logout stays
// dead after the dashboard restarts (issue 13 item 9: the list was in
// memory only, and the same cookie was accepted again by a restarted
// dashboard, as the control below still shows without the file). The file
// drops expired and malformed entries at start.
func TestRevocationsSurviveRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "revoked-sessions")
	f := newFixture(t, DefaultConfig())
	if err := f.a.KeepRevocations(path); err != nil {
		t.Fatal(err)
	}
	c := f.session(t, "lan", lanPW)
	kept := f.session(t, "minh", minhPW) // never logged out
	r := httptest.NewRequest(http.MethodPost, "http://dash.example/logout", nil)
	r.Header.Set("X-CSRF-Token", f.a.CSRFToken(get(c, "http://dash.example/", "")))
	r.AddCookie(c)
	if w := f.do(f.a.LogoutHandler(), r); w.Code != http.StatusSeeOther {
		t.Fatalf("logout: %d", w.Code)
	}
	if err := f.a.Close(); err != nil {
		t.Fatal(err)
	}
	// Junk and an expired entry in the file are dropped at the next start.
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(fh, "not a line\nbad/nonce 99999999999\nold %d\n", f.clock.Now().Add(-time.Minute).Unix())
	fh.Close()

	restarted := func(keep bool) *fixture {
		g := newFixtureUsers(t, DefaultConfig(), f.users, f.clock)
		if keep {
			if err := g.a.KeepRevocations(path); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { g.a.Close() })
		}
		return g
	}
	g := restarted(true)
	if w := g.do(g.protected(), get(c, "http://dash.example/api/x", "")); w.Code != http.StatusUnauthorized {
		t.Errorf("logged-out cookie after a restart: %d, want 401", w.Code)
	}
	if w := g.do(g.protected(), get(kept, "http://dash.example/api/x", "")); w.Code != http.StatusOK {
		t.Errorf("a session never logged out, after a restart: %d", w.Code)
	}
	if !strings.Contains(g.logs.String(), "malformed lines dropped") || !strings.Contains(g.logs.String(), "lines=2") {
		t.Errorf("malformed lines not reported:\n%s", g.logs.String())
	}
	b, _ := os.ReadFile(path)
	if lines := strings.Count(string(b), "\n"); lines != 1 {
		t.Errorf("file after start holds %d lines, want the one live logout:\n%s", lines, b)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode: %v %v", fi, err)
	}
	// The control: without the file, the restarted dashboard takes it.
	if h := restarted(false); h.do(h.protected(), get(c, "http://dash.example/api/x", "")).Code != http.StatusOK {
		t.Error("control: an Auth without the file refused the cookie; the test proves nothing")
	}
	// Once expired the cookie is refused anyway, and the entry goes.
	f.clock.Advance(13 * time.Hour)
	g.a.Close()
	restarted(true)
	if b, _ := os.ReadFile(path); len(b) != 0 {
		t.Errorf("expired logouts kept: %q", b)
	}
}

// TestRevocationLogBounded: the file is rewritten once it holds twice the
// list's bound, so it never grows past that.
func TestRevocationLogBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "revoked-sessions")
	f := newFixture(t, DefaultConfig())
	f.a.maxRevoked = 50 // one fsync per logout: the bound's size does not matter here
	if err := f.a.KeepRevocations(path); err != nil {
		t.Fatal(err)
	}
	defer f.a.Close()
	now := f.clock.Now()
	for i := range 2*f.a.maxRevoked + 5 {
		f.a.revoke(session{nonce: "n" + strconv.Itoa(i), expires: now.Add(time.Hour + time.Duration(i)*time.Second)})
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(string(b), "\n"); lines > 2*f.a.maxRevoked || lines < f.a.maxRevoked {
		t.Errorf("file holds %d lines, want between %d and %d", lines, f.a.maxRevoked, 2*f.a.maxRevoked)
	}
	if !strings.Contains(string(b), "n"+strconv.Itoa(2*f.a.maxRevoked+4)+" ") {
		t.Error("the last logout is not in the file")
	}
}

// TestLoginWorkIsConstant: whatever bcrypt costs the users file mixes, a
// login costs the same bcrypt work for an unknown name, a known one with
// the cheapest hash and one with the dearest, right password or wrong
// (issue 13 item 9: a cheaper known user answered faster than an unknown
// name, which told the names apart). Work is counted in bcrypt's units,
// 2^cost per comparison, not timed.
func TestLoginWorkIsConstant(t *testing.T) {
	hash := func(pw string, cost int) string {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), cost)
		if err != nil {
			t.Fatal(err)
		}
		return string(h)
	}
	users := []User{
		{Name: "cheap", Hash: hash("cheap-password-2026", testMinCost), Role: RoleManager, Sites: []string{"anlao"}},
		{Name: "dear", Hash: hash("dear-password-2026", testMinCost+3), Role: RoleManager, Sites: []string{"anlao"}},
	}
	f := newFixtureUsers(t, DefaultConfig(), users, &fakeClock{t: time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)})
	var work int
	f.a.compare = func(h, pw []byte) error {
		c, err := bcrypt.Cost(h)
		if err != nil {
			t.Fatal(err)
		}
		work += 1 << c
		return bcrypt.CompareHashAndPassword(h, pw)
	}
	want := 1 << (testMinCost + 3)
	for i, c := range []struct{ user, pw string }{
		{"cheap", "wrong-password-0001"}, {"cheap", "cheap-password-2026"},
		{"dear", "wrong-password-0001"}, {"dear", "dear-password-2026"},
		{"nobody", "wrong-password-0001"},
	} {
		work = 0
		f.loginFrom(t, c.user, c.pw, "/", fmt.Sprintf("192.0.2.%d:1234", i+1))
		if work != want {
			t.Errorf("login %s/%s: bcrypt work %d, want %d as for every login", c.user, c.pw, work, want)
		}
	}
}
