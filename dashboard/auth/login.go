package auth

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/pscm/pscm/internal/config"
)

//go:embed login.html
var loginHTML string

// Messages shown on the login page, Vietnamese first. The failure message
// is the same for an unknown user and a wrong password on purpose.
const (
	msgWrong    = "Sai tên đăng nhập hoặc mật khẩu / Wrong username or password"
	msgTooMany  = "Quá nhiều lần đăng nhập sai. Vui lòng thử lại sau / Too many failed attempts, try again later"
	msgBadInput = "Yêu cầu không hợp lệ / Invalid request"
	msgWeak     = "Mật khẩu này là mật khẩu mặc định hoặc quá yếu nên không được dùng. Đề nghị quản trị viên đặt mật khẩu mới / This password is a default or too weak and is not accepted: ask the administrator to set a new one"
)

const (
	// maxLoginForm bounds the login POST body.
	maxLoginForm = 8 << 10
	// maxPasswordBytes is bcrypt's limit; a longer password would be
	// compared on its first 72 bytes only, so it is refused.
	maxPasswordBytes = 72
	// maxNameBytes bounds what an attacker can put in the limiter key.
	maxNameBytes = 64
	// maxNext bounds the return address kept through the login.
	maxNext = 2048
)

type loginPage struct {
	tmpl *template.Template
	csp  string
}

// newLoginPage parses the embedded page and pins its one inline style by
// hash in the CSP, so the page needs neither external assets nor
// 'unsafe-inline'.
func newLoginPage() (*loginPage, error) {
	t, err := template.New("login").Parse(loginHTML)
	if err != nil {
		return nil, fmt.Errorf("auth: login page: %w", err)
	}
	start := strings.Index(loginHTML, "<style>")
	end := strings.Index(loginHTML, "</style>")
	if start < 0 || end < start {
		return nil, errors.New("auth: login page: no <style> block")
	}
	sum := sha256.Sum256([]byte(loginHTML[start+len("<style>") : end]))
	csp := "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	return &loginPage{tmpl: t, csp: csp}, nil
}

type pageData struct {
	Error string
	Next  string
}

func (a *Auth) renderLogin(w http.ResponseWriter, code int, d pageData) {
	var buf bytes.Buffer
	if err := a.page.tmpl.Execute(&buf, d); err != nil {
		a.log.Error("login page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", a.page.csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	// same-origin, not no-referrer: with no-referrer Chromium sends
	// "Origin: null" on form posts, and the login's Origin check (rightly)
	// refuses those. Nothing leaves for other sites either way.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

// LoginHandler serves the login page (GET) and checks credentials (POST).
// It is meant to be mounted at /login, where Require sends browsers.
func (a *Auth) LoginHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			next := safeNext(r.URL.Query().Get("next"))
			if _, err := a.sessionFrom(r); err == nil {
				http.Redirect(w, r, next, http.StatusSeeOther)
				return
			}
			a.renderLogin(w, http.StatusOK, pageData{Next: next})
		case http.MethodPost:
			a.login(w, r)
		default:
			w.Header().Set("Allow", "GET, HEAD, POST")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		}
	})
}

func (a *Auth) login(w http.ResponseWriter, r *http.Request) {
	ip := a.cfg.ClientIP(r)
	// Login CSRF: another site must not log the manager in as someone
	// else. Browsers send Origin on every form POST; clients without one
	// (curl) hold no victim's cookies anyway.
	if r.Header.Get("Origin") != "" && !CheckOrigin(r) {
		a.log.Warn("login refused: cross-origin post", "remote", ip, "origin", r.Header.Get("Origin"))
		a.renderLogin(w, http.StatusForbidden, pageData{Error: msgBadInput, Next: "/"})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginForm)
	if err := r.ParseForm(); err != nil {
		a.renderLogin(w, http.StatusBadRequest, pageData{Error: msgBadInput, Next: "/"})
		return
	}
	name := r.PostForm.Get("username")
	pw := r.PostForm.Get("password")
	next := safeNext(r.FormValue("next"))
	if len(name) > maxNameBytes {
		name = name[:maxNameBytes]
	}
	user, known := a.users[name]
	logName := name
	if !known {
		// An unknown "name" is often a password typed into the wrong box:
		// log a fingerprint, enough to see one name tried again and again.
		sum := sha256.Sum256([]byte(name))
		logName = "unknown:" + hex.EncodeToString(sum[:4])
	}
	account := name
	if !known {
		account = unknownAccount // inventing names buys no budget
	}
	device := known && a.knownDevice(r, name)
	if a.slowedDown(w, account, ip, device, logName, next) {
		return
	}
	select {
	case a.hashSem <- struct{}{}:
	case <-r.Context().Done():
		return
	}
	// Again with the slot held: the failures of a parallel burst ahead of
	// this one are recorded by now.
	if a.slowedDown(w, account, ip, device, logName, next) {
		<-a.hashSem
		return
	}
	err := a.checkPassword(user, known, pw)
	<-a.hashSem
	if !known || err != nil || len(pw) > maxPasswordBytes {
		a.limiter.failed(account, ip, a.now())
		a.log.Warn("login failed", "user", logName, "remote", ip, "known_device", device)
		a.renderLogin(w, http.StatusUnauthorized, pageData{Error: msgWrong, Next: next})
		return
	}
	if err := config.WeakSecret(pw, config.MinPasswordLen); err != nil {
		// The right password, but one an attacker would try first: no
		// session until the admin sets a real one (issue 7: no default
		// password accepted).
		a.log.Warn("login refused: weak or default password", "user", user.Name, "remote", ip, "why", err)
		a.renderLogin(w, http.StatusForbidden, pageData{Error: msgWeak, Next: next})
		return
	}
	a.limiter.succeeded(account, ip)
	http.SetCookie(w, a.deviceCookie(user.Name))
	value, s := a.newSession(user)
	http.SetCookie(w, a.sessionCookie(value, s.expires))
	a.log.Info("login", "user", user.Name, "remote", ip)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// slowedDown answers 429 with Retry-After when the limiter says this
// attempt comes too soon, and reports whether it did. Nothing is counted.
func (a *Auth) slowedDown(w http.ResponseWriter, account, ip string, device bool, logName, next string) bool {
	wait := a.limiter.wait(account, ip, device, a.now())
	if wait <= 0 {
		return false
	}
	secs := int(math.Ceil(wait.Seconds()))
	a.log.Warn("login slowed down: too many wrong passwords", "user", logName, "remote", ip, "retry_after_s", secs)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	a.renderLogin(w, http.StatusTooManyRequests, pageData{Error: msgTooMany, Next: next})
	return true
}

// deviceCookieMaxAge is how long a browser is remembered as one its user
// logged in from.
const deviceCookieMaxAge = 365 * 24 * time.Hour

// deviceCookie marks this browser as one user has logged in from: the
// user name, a random ID and their signature. It only spares the browser
// the account-wide slow-down (limiter); it opens no session.
func (a *Auth) deviceCookie(user string) *http.Cookie {
	id := make([]byte, 16)
	rand.Read(id)
	payload := b64.EncodeToString([]byte(user)) + "." + b64.EncodeToString(id)
	return &http.Cookie{Name: a.cfg.CookieName + "_device", Value: payload + "." + mac(a.deviceKey, payload),
		Path: "/login", MaxAge: int(deviceCookieMaxAge.Seconds()), HttpOnly: true, Secure: a.cfg.Secure,
		SameSite: http.SameSiteStrictMode}
}

// knownDevice reports whether the request carries a device cookie of user.
func (a *Auth) knownDevice(r *http.Request, user string) bool {
	c, err := r.Cookie(a.cfg.CookieName + "_device")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(c.Value, '.')
	if i < 0 {
		return false
	}
	payload := c.Value[:i]
	if !hmac.Equal([]byte(c.Value[i+1:]), []byte(mac(a.deviceKey, payload))) {
		return false
	}
	name, _, _ := strings.Cut(payload, ".")
	got, err := b64.DecodeString(name)
	return err == nil && string(got) == user
}

// LogoutHandler ends the session (POST with the CSRF token, so another
// site cannot log a manager out) and sends the browser to /login.
func (a *Auth) LogoutHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		s, err := a.sessionFrom(r)
		if err != nil {
			// Nothing to end; still clear whatever the browser holds.
			a.clearCookie(w)
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		if !a.checkCSRF(w, r, s) {
			a.log.Warn("csrf token refused", "user", s.user.Name, "remote", a.cfg.ClientIP(r), "method", r.Method, "path", r.URL.Path)
			writeJSONError(w, http.StatusForbidden, "missing or wrong CSRF token")
			return
		}
		a.revoke(s)
		a.clearCookie(w)
		a.log.Info("logout", "user", s.user.Name, "remote", a.cfg.ClientIP(r))
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	})
}

// safeNext returns next if it is a path on this site, else "/". Anything a
// browser could read as another host is refused: "//host", "/\host"
// (browsers treat \ as /), absolute URLs, and control characters, which
// browsers strip before resolving.
func safeNext(next string) string {
	if next == "" || len(next) > maxNext || next[0] != '/' {
		return "/"
	}
	if len(next) > 1 && (next[1] == '/' || next[1] == '\\') {
		return "/"
	}
	for i := 0; i < len(next); i++ {
		if c := next[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return next
}

// CheckOrigin reports whether a websocket upgrade (or any request) comes
// from a page of this same origin: scheme, host and port must all match.
// A missing Origin is refused: every browser sends one on an upgrade, and a
// cookie-carrying request without one is not a page of ours. Behind a
// TLS-terminating proxy the scheme is taken from X-Forwarded-Proto; a page
// script cannot set that header, so it cannot be used to forge a match.
func CheckOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || r.Host == "" {
		return false
	}
	u, err := url.Parse(origin)
	if err != nil || u.User != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return false
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	} else if p := r.Header.Get("X-Forwarded-Proto"); p == "https" {
		scheme = "https"
	}
	if !strings.EqualFold(u.Scheme, scheme) {
		return false
	}
	oh, op := splitHostPort(u.Host, scheme)
	rh, rp := splitHostPort(r.Host, scheme)
	return oh != "" && strings.EqualFold(oh, rh) && op == rp
}

// splitHostPort fills in the scheme's default port, so "https://x" and a
// Host of "x:443" compare equal.
func splitHostPort(hostport, scheme string) (host, port string) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = strings.Trim(hostport, "[]"), ""
	}
	if port == "" {
		port = "80"
		if scheme == "https" {
			port = "443"
		}
	}
	return host, port
}

// checkPassword compares pw with the user's hash, or with a dummy when the
// user is unknown, so the response time does not tell which names are
// real. bcrypt's work doubles with each cost step, and the dummy has the
// highest cost in the users file: a user whose hash is cheaper (cost c) is
// also compared with dummies of costs c to max-1, whose work adds up to
// the difference (2^c + 2^c + ... + 2^(max-1) = 2^max). Every login then
// costs the same, whatever costs the users file mixes.
func (a *Auth) checkPassword(user User, known bool, pw string) error {
	if !known {
		return a.compare(a.dummyHash, []byte(pw))
	}
	err := a.compare([]byte(user.Hash), []byte(pw))
	c, _ := bcrypt.Cost([]byte(user.Hash))
	for ; a.padding[c] != nil; c++ {
		_ = a.compare(a.padding[c], []byte(pw))
	}
	return err
}
