// Package auth keeps the dashboard behind a login and each manager inside
// their own sites (docs/design.md, "nobody in where they do not belong").
// Sessions are stateless signed cookies,
// so a dashboard restart does not log anyone out; CSRF tokens are derived
// from the session, so pages need no server-side token store either.
package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/pscm/pscm/internal/httpin"
)

// MinKeySize is the shortest HMAC key New accepts: 256 bits, the size of
// the SHA-256 output it feeds.
const MinKeySize = 32

const (
	// nonceSize is the random part of a session: 32 bytes cannot be guessed.
	nonceSize = 32
	// maxCookieLen refuses absurd cookies before any parsing.
	maxCookieLen = 512
	// maxRevoked bounds the logout list; see revoke.
	maxRevoked = 10000
	// maxConcurrentHashes bounds bcrypt work: a burst of logins on a
	// 2-core box must not starve the live dashboard.
	maxConcurrentHashes = 2
)

// Config holds the access settings. Start from DefaultConfig: zero fields
// other than Secure are filled with the defaults by New, but a bool cannot
// say "unset", so Secure is only true if the caller keeps it so.
type Config struct {
	// SessionTTL is the absolute life of a login; it is not extended by use,
	// so a stolen cookie dies with the working day.
	SessionTTL time.Duration `yaml:"session_ttl"`
	CookieName string        `yaml:"cookie_name"`
	// Secure sets the cookie's Secure attribute. Only the local demo on
	// http://127.0.0.1 turns it off.
	Secure bool `yaml:"secure"`
	// Past LoginMaxFailures failed logins for one user from one address
	// within LoginWindow, that pair may try again only after a wait that
	// doubles with each further failure, from 1 s up to LoginLockout; the
	// user's account over all addresses gets ten times the budget. Nobody
	// is locked out: the right password is taken once the wait is over,
	// and a browser that logged in as the user before is not slowed by
	// failures from elsewhere (limiter).
	LoginMaxFailures int           `yaml:"login_max_failures"`
	LoginWindow      time.Duration `yaml:"login_window"`
	LoginLockout     time.Duration `yaml:"login_lockout"`
	// TrustedProxies are the reverse proxies (addresses or CIDR prefixes)
	// whose ClientIPHeader names the client; from anyone else the header is
	// ignored. Behind a proxy without it every client would be the proxy,
	// and one address's failures would slow everyone.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// ClientIPHeader is X-Forwarded-For (the default) or X-Real-IP.
	ClientIPHeader string `yaml:"client_ip_header"`
	// MaxWebsocketsPerUser bounds the live connections one user holds
	// (tabs, a wall TV): one account cannot take the hub's whole budget.
	MaxWebsocketsPerUser int `yaml:"max_websockets_per_user"`
	// ClientIP names the client for the limiter and the logs; built from
	// TrustedProxies when nil.
	ClientIP func(*http.Request) string `yaml:"-"`
}

// DefaultConfig returns the settings for production: secure cookies, 12 h
// sessions, 5 failures per 15 min.
func DefaultConfig() Config {
	return Config{
		SessionTTL:           12 * time.Hour,
		CookieName:           "pscm_session",
		Secure:               true,
		LoginMaxFailures:     5,
		LoginWindow:          15 * time.Minute,
		LoginLockout:         time.Minute,
		ClientIPHeader:       "X-Forwarded-For",
		MaxWebsocketsPerUser: 20,
	}
}

// Validate checks the settings after defaults are applied.
func (c Config) Validate() error {
	switch {
	case c.SessionTTL < time.Minute:
		return fmt.Errorf("session_ttl: %s is shorter than 1m", c.SessionTTL)
	case c.LoginMaxFailures < 1:
		return fmt.Errorf("login_max_failures: %d must be at least 1", c.LoginMaxFailures)
	case c.LoginWindow <= 0:
		return fmt.Errorf("login_window: %s must be positive", c.LoginWindow)
	case c.LoginLockout < time.Second || c.LoginLockout > time.Hour:
		return fmt.Errorf("login_lockout: %s outside 1s..1h (the longest wait between two attempts)", c.LoginLockout)
	case c.MaxWebsocketsPerUser < 1 || c.MaxWebsocketsPerUser > 10000:
		return fmt.Errorf("max_websockets_per_user: %d outside 1..10000", c.MaxWebsocketsPerUser)
	case c.ClientIPHeader != "X-Forwarded-For" && c.ClientIPHeader != "X-Real-IP":
		return fmt.Errorf("client_ip_header: %q is not X-Forwarded-For or X-Real-IP", c.ClientIPHeader)
	case !validCookieName(c.CookieName):
		return fmt.Errorf("cookie_name: %q is not a valid cookie name", c.CookieName)
	}
	if _, err := httpin.ParsePrefixes(c.TrustedProxies); err != nil {
		return fmt.Errorf("trusted_proxies: %w", err)
	}
	return nil
}

func (c *Config) fillDefaults() {
	d := DefaultConfig()
	if c.SessionTTL == 0 {
		c.SessionTTL = d.SessionTTL
	}
	if c.CookieName == "" {
		c.CookieName = d.CookieName
	}
	if c.LoginMaxFailures == 0 {
		c.LoginMaxFailures = d.LoginMaxFailures
	}
	if c.LoginWindow == 0 {
		c.LoginWindow = d.LoginWindow
	}
	if c.LoginLockout == 0 {
		c.LoginLockout = d.LoginLockout
	}
	if c.ClientIPHeader == "" {
		c.ClientIPHeader = d.ClientIPHeader
	}
	if c.MaxWebsocketsPerUser == 0 {
		c.MaxWebsocketsPerUser = d.MaxWebsocketsPerUser
	}
	if c.ClientIP == nil {
		if trusted, err := httpin.ParsePrefixes(c.TrustedProxies); err == nil {
			c.ClientIP = httpin.ClientIP(trusted, c.ClientIPHeader)
		}
	}
}

func validCookieName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// Auth checks logins and sessions. It is safe for concurrent use.
type Auth struct {
	cfg        Config
	users      map[string]User
	sessionKey []byte
	csrfKey    []byte
	deviceKey  []byte // signs the device cookie (knownDevice)
	// dummyHash is compared against when the user is unknown, so an unknown
	// name costs the same bcrypt time as a wrong password. It has the
	// highest cost in the users file; padding holds a dummy of each lower
	// cost, and a user whose hash is cheaper is padded up to that (see
	// checkPassword).
	dummyHash []byte
	padding   map[int][]byte
	// compare is bcrypt.CompareHashAndPassword (a test counts its work).
	compare func(hash, pw []byte) error
	log     *slog.Logger
	now     func() time.Time
	limiter *limiter
	hashSem chan struct{}
	page    *loginPage

	mu sync.Mutex
	// revoked holds the nonces of sessions logged out before their expiry,
	// mapped to that expiry. revlog, when set (KeepRevocations), keeps it
	// on disk: without it, after a restart a cookie captured before logout
	// would be valid again until it expires.
	revoked    map[string]time.Time
	revlog     *revocationLog
	maxRevoked int // maxRevoked, smaller in tests
	// live holds the cancel functions of the open long-lived connections
	// by session nonce (logout ends them), liveUsers their count per user.
	live      map[string]map[uint64]context.CancelFunc
	liveUsers map[string]int
	liveSeq   uint64
}

// New builds an Auth. key is the HMAC key from a secret file, at least
// MinKeySize bytes; changing it logs everyone out. users are validated as
// LoadUsers does. now is the clock (time.Now when nil), injected so tests can
// expire sessions.
func New(cfg Config, users []User, key []byte, log *slog.Logger, now func() time.Time) (*Auth, error) {
	return newAuth(cfg, users, key, log, now, MinCost)
}

// CheckKey reports whether key may sign sessions: New's rule, for the
// dashboard's -config.check.
func CheckKey(key []byte) error {
	if len(key) < MinKeySize {
		return fmt.Errorf("session key is %d bytes, need at least %d", len(key), MinKeySize)
	}
	return nil
}

func newAuth(cfg Config, users []User, key []byte, log *slog.Logger, now func() time.Time, minCost int) (*Auth, error) {
	cfg.fillDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	if err := CheckKey(key); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	if err := validateUsers(users, minCost); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	if log == nil {
		return nil, errors.New("auth: nil logger")
	}
	if now == nil {
		now = time.Now
	}
	byName := make(map[string]User, len(users))
	maxCost, lowCost := minCost, bcrypt.MaxCost
	for _, u := range users {
		u.Sites = append([]string(nil), u.Sites...)
		byName[u.Name] = u
		c, _ := bcrypt.Cost([]byte(u.Hash))
		maxCost, lowCost = max(maxCost, c), min(lowCost, c)
	}
	// The dummy matches the slowest real hash so "no such user" is never
	// the faster answer.
	dummyPW := make([]byte, 16)
	rand.Read(dummyPW)
	dummy, err := bcrypt.GenerateFromPassword(dummyPW, maxCost)
	if err != nil {
		return nil, fmt.Errorf("auth: dummy hash: %w", err)
	}
	padding := map[int][]byte{}
	for c := lowCost; c < maxCost; c++ {
		if padding[c], err = bcrypt.GenerateFromPassword(dummyPW, c); err != nil {
			return nil, fmt.Errorf("auth: dummy hash: %w", err)
		}
	}
	page, err := newLoginPage()
	if err != nil {
		return nil, err
	}
	if !cfg.Secure {
		log.Warn("session cookies without the Secure attribute; use only for a local http demo")
	}
	return &Auth{
		cfg:   cfg,
		users: byName,
		// Separate keys per purpose, so a CSRF token can never pass as a
		// session signature or the other way round.
		sessionKey: derive(key, "pscm/dashboard/session/v1"),
		csrfKey:    derive(key, "pscm/dashboard/csrf/v1"),
		deviceKey:  derive(key, "pscm/dashboard/device/v1"),
		dummyHash:  dummy,
		padding:    padding,
		compare:    bcrypt.CompareHashAndPassword,
		log:        log,
		now:        now,
		limiter:    newLimiter(cfg.LoginMaxFailures, cfg.LoginWindow, cfg.LoginLockout),
		hashSem:    make(chan struct{}, maxConcurrentHashes),
		page:       page,
		revoked:    make(map[string]time.Time),
		maxRevoked: maxRevoked,
		live:       make(map[string]map[uint64]context.CancelFunc),
		liveUsers:  make(map[string]int),
	}, nil
}

func derive(key []byte, purpose string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

var b64 = base64.RawURLEncoding

// session is what a valid cookie proves.
type session struct {
	user    User
	nonce   string
	expires time.Time
}

// sign computes the cookie MAC. The user's current hash is part of it, so
// changing a password (or removing the user) ends that user's sessions
// without a session store.
func (a *Auth) sign(payload, hash string) string { return mac(a.sessionKey, payload, hash) }

// mac is the base64 HMAC-SHA256 under key of parts joined by zero bytes:
// one signing for sessions, CSRF tokens and device cookies, each with its
// own key (derive).
func mac(key []byte, parts ...string) string {
	m := hmac.New(sha256.New, key)
	for i, p := range parts {
		if i > 0 {
			m.Write([]byte{0})
		}
		m.Write([]byte(p))
	}
	return b64.EncodeToString(m.Sum(nil))
}

// newSession returns a cookie value: v1.<name>.<expiry unix>.<nonce>.<mac>,
// every part base64url or digits so the dots are unambiguous.
func (a *Auth) newSession(u User) (value string, s session) {
	nonce := make([]byte, nonceSize)
	rand.Read(nonce) // never fails: crypto/rand panics rather than return short
	exp := a.now().Add(a.cfg.SessionTTL).Truncate(time.Second)
	payload := "v1." + b64.EncodeToString([]byte(u.Name)) + "." + strconv.FormatInt(exp.Unix(), 10) + "." + b64.EncodeToString(nonce)
	s = session{user: u, nonce: b64.EncodeToString(nonce), expires: exp}
	return payload + "." + a.sign(payload, u.Hash), s
}

// Reasons a cookie is refused; logged at debug level, never the value.
var (
	errNoCookie  = errors.New("no session cookie")
	errMalformed = errors.New("malformed session cookie")
	errSignature = errors.New("bad session signature")
	errExpired   = errors.New("session expired")
	errRevoked   = errors.New("session logged out")
)

func (a *Auth) parseSession(value string) (session, error) {
	if value == "" {
		return session{}, errNoCookie
	}
	if len(value) > maxCookieLen {
		return session{}, errMalformed
	}
	parts := strings.Split(value, ".")
	if len(parts) != 5 || parts[0] != "v1" {
		return session{}, errMalformed
	}
	name, err := b64.DecodeString(parts[1])
	if err != nil {
		return session{}, errMalformed
	}
	exp, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return session{}, errMalformed
	}
	if n, err := b64.DecodeString(parts[3]); err != nil || len(n) != nonceSize {
		return session{}, errMalformed
	}
	u, ok := a.users[string(name)]
	if !ok {
		// Same answer as a bad MAC: a forged name learns nothing.
		return session{}, errSignature
	}
	payload := strings.Join(parts[:4], ".")
	if !hmac.Equal([]byte(parts[4]), []byte(a.sign(payload, u.Hash))) {
		return session{}, errSignature
	}
	expires := time.Unix(exp, 0)
	if !a.now().Before(expires) {
		return session{}, errExpired
	}
	a.mu.Lock()
	_, revoked := a.revoked[parts[3]]
	a.mu.Unlock()
	if revoked {
		return session{}, errRevoked
	}
	return session{user: u, nonce: parts[3], expires: expires}, nil
}

// sessionFrom reads and verifies the request's session cookie.
func (a *Auth) sessionFrom(r *http.Request) (session, error) {
	c, err := r.Cookie(a.cfg.CookieName)
	if err != nil {
		return session{}, errNoCookie
	}
	return a.parseSession(c.Value)
}

// revoke ends a session before its expiry. The list is bounded: expired
// entries are swept, and if it is still full the entry nearest its expiry
// goes first, since that cookie has the least life left to abuse.
func (a *Auth) revoke(s session) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	if len(a.revoked) >= a.maxRevoked {
		for n, exp := range a.revoked {
			if !now.Before(exp) {
				delete(a.revoked, n)
			}
		}
	}
	if len(a.revoked) >= a.maxRevoked {
		var oldest string
		var oldestExp time.Time
		for n, exp := range a.revoked {
			if oldest == "" || exp.Before(oldestExp) {
				oldest, oldestExp = n, exp
			}
		}
		delete(a.revoked, oldest)
	}
	a.revoked[s.nonce] = s.expires
	if a.revlog != nil {
		if err := a.revlog.add(s.nonce, s.expires, a.revoked); err != nil {
			// The session is still ended until the next restart.
			a.log.Error("logout not saved: a restart would let this session back in until it expires", "user", s.user.Name, "err", err)
		}
	}
	for _, cancel := range a.live[s.nonce] {
		cancel() // the session's open websockets end with it
	}
}

// ErrTooManyConnections: the user already has MaxWebsocketsPerUser open.
var ErrTooManyConnections = errors.New("auth: too many open connections for this user")

// Live returns a context for a long-lived connection (a websocket) opened
// with the request's session: it ends when the session expires or is
// logged out, so the hub closes the connection then. A user may hold at
// most MaxWebsocketsPerUser at once (ErrTooManyConnections beyond). stop
// must be called when the connection ends.
func (a *Auth) Live(ctx context.Context) (live context.Context, stop func(), err error) {
	s, ok := ctx.Value(ctxKey{}).(session)
	if !ok {
		return nil, nil, errors.New("auth: no session in the context")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.liveUsers[s.user.Name] >= a.cfg.MaxWebsocketsPerUser {
		return nil, nil, ErrTooManyConnections
	}
	live, cancel := context.WithDeadline(ctx, s.expires)
	a.liveSeq++
	id := a.liveSeq
	if a.live[s.nonce] == nil {
		a.live[s.nonce] = map[uint64]context.CancelFunc{}
	}
	a.live[s.nonce][id] = cancel
	a.liveUsers[s.user.Name]++
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			a.mu.Lock()
			defer a.mu.Unlock()
			delete(a.live[s.nonce], id)
			if len(a.live[s.nonce]) == 0 {
				delete(a.live, s.nonce)
			}
			if a.liveUsers[s.user.Name]--; a.liveUsers[s.user.Name] == 0 {
				delete(a.liveUsers, s.user.Name)
			}
		})
	}
	return live, stop, nil
}

func (a *Auth) sessionCookie(value string, expires time.Time) *http.Cookie {
	return &http.Cookie{
		Name:     a.cfg.CookieName,
		Value:    value,
		Path:     "/",
		Expires:  expires,
		MaxAge:   int(expires.Sub(a.now()).Seconds()),
		HttpOnly: true,
		Secure:   a.cfg.Secure,
		SameSite: http.SameSiteStrictMode,
	}
}

func (a *Auth) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name:     a.cfg.CookieName,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   a.cfg.Secure,
		SameSite: http.SameSiteStrictMode,
	})
}

// csrfFor derives the CSRF token of a session: nothing to store, and it
// changes with every login.
func (a *Auth) csrfFor(s session) string { return mac(a.csrfKey, s.nonce) }

// CSRFToken returns the token a page embeds for its state-changing
// requests, or "" when the request has no valid session.
func (a *Auth) CSRFToken(r *http.Request) string {
	if s, ok := r.Context().Value(ctxKey{}).(session); ok {
		return a.csrfFor(s)
	}
	s, err := a.sessionFrom(r)
	if err != nil {
		return ""
	}
	return a.csrfFor(s)
}

// maxFormBytes bounds the body read to find a csrf_token form field.
const maxFormBytes = 1 << 20

// checkCSRF accepts the X-CSRF-Token header or, for a form post, the
// csrf_token field. A token in the URL query is not accepted: URLs end up
// in logs and Referer headers.
func (a *Auth) checkCSRF(w http.ResponseWriter, r *http.Request, s session) bool {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		ct := r.Header.Get("Content-Type")
		if strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if err := r.ParseForm(); err == nil {
				got = r.PostForm.Get("csrf_token")
			}
		}
	}
	return got != "" && hmac.Equal([]byte(got), []byte(a.csrfFor(s)))
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions || m == http.MethodTrace
}

type ctxKey struct{}

// ClientIP names a request's client as the login's limiter does: the
// address, or what a trusted proxy says it is.
func (a *Auth) ClientIP(r *http.Request) string { return a.cfg.ClientIP(r) }

// UserFrom returns the user Require put in the context.
func UserFrom(ctx context.Context) (User, bool) {
	s, ok := ctx.Value(ctxKey{}).(session)
	return s.user, ok
}

// Require lets through only requests with a valid session. A browser page
// is sent to the login page; an API call or websocket upgrade gets a 401
// JSON answer it can act on. Unsafe methods need the CSRF token, and a
// websocket upgrade must come from this origin, so another site cannot ride
// the manager's cookie.
func (a *Auth) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := a.sessionFrom(r)
		if err != nil {
			if !errors.Is(err, errNoCookie) {
				a.log.Debug("session refused", "reason", err.Error(), "remote", a.cfg.ClientIP(r), "path", r.URL.Path)
			}
			if wantsHTML(r) && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			writeJSONError(w, http.StatusUnauthorized, "unauthenticated")
			return
		}
		if isWebSocket(r) && !CheckOrigin(r) {
			a.log.Warn("websocket origin refused", "user", s.user.Name, "remote", a.cfg.ClientIP(r), "origin", r.Header.Get("Origin"))
			writeJSONError(w, http.StatusForbidden, "cross-origin websocket refused")
			return
		}
		if !safeMethod(r.Method) && !a.checkCSRF(w, r, s) {
			a.log.Warn("csrf token refused", "user", s.user.Name, "remote", a.cfg.ClientIP(r), "method", r.Method, "path", r.URL.Path)
			writeJSONError(w, http.StatusForbidden, "missing or wrong CSRF token")
			return
		}
		// Live per-user numbers must not sit in a shared cache.
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, s)))
	})
}

// wantsHTML tells a browser navigation (which always asks for text/html)
// from a fetch or API client (which asks for JSON or */*).
func wantsHTML(r *http.Request) bool {
	return !isWebSocket(r) && strings.Contains(r.Header.Get("Accept"), "text/html")
}

func isWebSocket(r *http.Request) bool {
	return headerHasToken(r.Header, "Connection", "upgrade") && headerHasToken(r.Header, "Upgrade", "websocket")
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

func writeJSONError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	// A map of strings always encodes; a failed write means the client left.
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
