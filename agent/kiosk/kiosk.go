// Package kiosk serves the citizen-facing rating page of each counter's
// tablet and turns a tap on it into a call to the agent's Acceptor, which
// spools a rating event before the tablet is answered.
//
// The page is deliberately dumb about failure: it queues nothing. A tap is
// either acknowledged by the agent after the event is on disk, or the citizen
// is told it was not sent and may tap again. A browser-side queue would hold
// ratings the agent never heard of, in a tablet's storage that an installer
// may wipe, which is exactly the silent loss the "nothing accepted is lost"
// rule forbids.
//
// Each kiosk has its own pairing token, typed once on the tablet by the
// installer and kept in the browser's localStorage. It travels only in the
// Authorization header, is compared in constant time and is never logged or
// put in a URL, so a citizen's phone on the center's Wi-Fi cannot post
// ratings for a counter.
//
// Routes, all under /kiosk/ (the handler answers nothing else):
//
//	GET  /kiosk/{id}/         the page (no token: it shows pairing when it has none)
//	GET  /kiosk/static/{file} its stylesheet and script
//	GET  /kiosk/{id}/config   counter, officer, buttons, reasons, timings (token)
//	GET  /kiosk/{id}/ping     204 for the connectivity indicator (token)
//	GET  /kiosk/{id}/photo    the officer's photo (token)
//	POST /kiosk/{id}/press    {"level":"satisfied","press_id":"..."} (token)
//	POST /kiosk/{id}/reasons  {"rating_id":"...","reasons":["cho-lau"]} (token)
//	POST /kiosk/{id}/feedback {"kind":"phan_anh","message":"...","phone":""} (token; when enabled)
//
// Every error is JSON, {"error": "...", "reason": "unknown_level"}, and bad
// input never reaches the Acceptor.
package kiosk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pscm/pscm/internal/assets"
	"github.com/pscm/pscm/internal/httpin"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/textclip"
)

// Kiosk is one tablet: the counter it rates and what its idle screen shows.
type Kiosk struct {
	ID, Counter                  string // schema IDs
	CounterNameVI, CounterNameEN string // e.g. "Quầy 3 — Hộ tịch" / "Counter 3 — Civil status"
	OfficerName                  string // optional
	OfficerPhoto                 string // optional path to a JPEG or PNG file of at most 1 MiB
	Token                        string // the pairing token, at least 16 printable ASCII characters
}

// Press is one accepted tap on a rating button.
type Press struct {
	Kiosk   string
	Counter string
	Level   schema.Level
	PressID string    // random per tap, made by the browser; a retry of the same tap repeats it
	At      time.Time // when the agent received it, UTC
}

// Accepted is the Acceptor's answer to a Press, and the JSON the page gets.
type Accepted struct {
	RatingID string `json:"rating_id,omitempty"`
	// Status is StatusAccepted, or StatusIgnored when anti-abuse dropped the
	// press (too soon after the last one, session already rated). The page
	// thanks the citizen either way: telling someone off for a double tap
	// helps nobody.
	Status string `json:"status"`
	// AskReasons makes the page ask for reasons. The handler also sets it
	// when Config.AskReasonsFor lists the level, so an Acceptor normally
	// leaves it false; it is never set for an ignored press.
	AskReasons bool `json:"ask_reasons"`
}

// Values of Accepted.Status.
const (
	StatusAccepted = "accepted"
	StatusIgnored  = "ignored"
)

// Acceptor is implemented by the agent: it applies anti-abuse, builds the
// rating event, spools it (fsync) and only then returns.
type Acceptor interface {
	Press(ctx context.Context, p Press) (Accepted, error)
	// Reasons adds follow-up reasons to a rating accepted moments ago (the
	// agent re-sends the same event with reasons; same identity, so it
	// overwrites rather than double counts).
	Reasons(ctx context.Context, kiosk, ratingID string, reasons []string) error
}

// Errors an Acceptor returns for the handler to map to HTTP statuses; any
// other error is a 500.
var (
	// ErrSpoolFull: the spool is at its size limit, so nothing new can be
	// made durable. 503, and the page says the system cannot take ratings
	// for now.
	ErrSpoolFull = errors.New("kiosk: spool full")
	// ErrUnknownRating: Reasons named a rating the agent does not know (or no
	// longer keeps). 404.
	ErrUnknownRating = errors.New("kiosk: unknown rating")
	// ErrPressConflict: the press ID was already used for another level,
	// so this is not a retry of that tap. 409; the page makes a new ID per
	// tap, so only a broken or hostile client sees it.
	ErrPressConflict = errors.New("kiosk: press ID already used for another level")
)

// Limits of the HTTP API.
const (
	maxBody      = 4 << 10 // a press is under 100 bytes; reasons a few hundred
	maxPhoto     = 1 << 20
	minTokenLen  = 16
	maxTokenLen  = 256
	maxIDLen     = 64 // rating_id (press_id: schema.ValidPressID)
	maxNameLen   = 128
	staticPrefix = "static"
	// acceptTimeout bounds one Acceptor call. It is shorter than the page's
	// own request timeout (7 s in kiosk.js), so a stuck spool gives the
	// tablet a 503 it can show rather than a request it abandons.
	acceptTimeout = 5 * time.Second
)

// NewHandler serves every kiosk under /kiosk/{id}/ and answers nothing
// outside /kiosk/. It checks cfg and the kiosks, and reads the officers'
// photos, before it returns, so a broken configuration stops the agent at
// start instead of showing a broken page to citizens. A nil log discards;
// a nil reg registers no metrics.
func NewHandler(cfg Config, kiosks []Kiosk, acc Acceptor, log *slog.Logger, reg prometheus.Registerer, opts ...Option) (http.Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("kiosk: %w", err)
	}
	if acc == nil {
		return nil, errors.New("kiosk: no Acceptor")
	}
	if len(kiosks) == 0 {
		return nil, errors.New("kiosk: no kiosks")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	files, err := loadAssets()
	if err != nil {
		return nil, err
	}
	h := &handler{
		cfg:     cfg,
		acc:     acc,
		log:     log,
		assets:  files,
		kiosks:  make(map[string]*kioskState, len(kiosks)),
		levels:  make(map[schema.Level]bool, len(cfg.Buttons)),
		ask:     make(map[schema.Level]bool, len(cfg.AskReasonsFor)),
		reasons: make(map[string]bool, len(cfg.Reasons)),
		now:     time.Now,
		timeout: acceptTimeout,
		metrics: newMetrics(),
	}
	for _, o := range opts {
		o(h)
	}
	if h.refusals == nil {
		h.refusals = httpin.NewRefusals("agent", nil, log)
	}
	for _, b := range cfg.Buttons {
		h.levels[b.Level] = true
	}
	for _, l := range cfg.AskReasonsFor {
		h.ask[l] = true
	}
	for _, r := range cfg.Reasons {
		h.reasons[r.ID] = true
	}

	tokens := make(map[[sha256.Size]byte]string, len(kiosks))
	for i, k := range kiosks {
		ks, err := h.newKioskState(k)
		if err != nil {
			return nil, fmt.Errorf("kiosk: kiosks[%d]: %w", i, err)
		}
		if _, dup := h.kiosks[k.ID]; dup {
			return nil, fmt.Errorf("kiosk: kiosks[%d]: id %s is used twice", i, k.ID)
		}
		if other, dup := tokens[ks.tokenHash]; dup {
			// Never print the token itself.
			return nil, fmt.Errorf("kiosk: kiosks[%d] (%s): same token as kiosk %s; each tablet needs its own", i, k.ID, other)
		}
		tokens[ks.tokenHash] = k.ID
		h.kiosks[k.ID] = ks
		h.metrics.zero(k.ID)
	}
	if reg != nil {
		if err := h.metrics.register(reg); err != nil {
			return nil, fmt.Errorf("kiosk: register metrics: %w", err)
		}
	}
	return h, nil
}

// kioskState is what the handler keeps about one kiosk. It holds a hash of
// the token, not the token, so nothing the handler keeps can be logged or
// dumped as a usable credential.
type kioskState struct {
	Kiosk
	tokenHash [sha256.Size]byte
	photo     *assets.File // nil without a photo
	config    []byte       // the JSON of GET config
	version   string       // changes when the page or the config does
	log       *slog.Logger
}

func (h *handler) newKioskState(k Kiosk) (*kioskState, error) {
	if !schema.ValidID(k.ID) {
		return nil, fmt.Errorf("id %s does not match %s", textclip.Quote(k.ID, maxQuoted), schema.IDPattern)
	}
	if k.ID == staticPrefix {
		return nil, fmt.Errorf("id %q is reserved for the page's files (/kiosk/static/)", k.ID)
	}
	if !schema.ValidID(k.Counter) {
		return nil, fmt.Errorf("%s: counter %s does not match %s", k.ID, textclip.Quote(k.Counter, maxQuoted), schema.IDPattern)
	}
	if err := checkLabel(k.ID+": counter_name_vi", k.CounterNameVI, maxNameLen); err != nil {
		return nil, err
	}
	if err := checkLabel(k.ID+": counter_name_en", k.CounterNameEN, maxNameLen); err != nil {
		return nil, err
	}
	if k.OfficerName != "" {
		if err := checkLabel(k.ID+": officer_name", k.OfficerName, maxNameLen); err != nil {
			return nil, err
		}
	}
	if err := checkToken(k.Token); err != nil {
		return nil, fmt.Errorf("%s: token: %w", k.ID, err)
	}
	ks := &kioskState{
		Kiosk:     k,
		tokenHash: sha256.Sum256([]byte(k.Token)),
		log:       h.log.With("kiosk", k.ID),
	}
	ks.Token = ""
	if k.OfficerPhoto != "" {
		p, err := loadPhoto(k.OfficerPhoto)
		if err != nil {
			return nil, fmt.Errorf("%s: officer_photo: %w", k.ID, err)
		}
		ks.photo = p
	}
	pc, err := h.pageConfig(ks)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", k.ID, err)
	}
	unversioned, err := json.Marshal(pc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", k.ID, err)
	}
	sum := sha256.New()
	for _, name := range h.assets.Names() {
		sum.Write([]byte(h.assets.File(name).ETag()))
	}
	sum.Write(unversioned)
	if ks.photo != nil {
		sum.Write([]byte(ks.photo.ETag()))
	}
	ks.version = hex.EncodeToString(sum.Sum(nil)[:8])
	pc.Version = ks.version
	if ks.config, err = json.Marshal(pc); err != nil {
		return nil, fmt.Errorf("%s: %w", k.ID, err)
	}
	return ks, nil
}

// checkToken requires a token that fits an HTTP header unchanged and is long
// enough that guessing it over the center's network is hopeless.
func checkToken(tok string) error {
	if len(tok) < minTokenLen {
		return fmt.Errorf("%d characters, want at least %d", len(tok), minTokenLen)
	}
	if len(tok) > maxTokenLen {
		return fmt.Errorf("%d characters, more than %d", len(tok), maxTokenLen)
	}
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; c <= ' ' || c >= 0x7f {
			return fmt.Errorf("character %d is not printable ASCII (spaces are not allowed either)", i)
		}
	}
	return nil
}

// loadPhoto reads an officer's photo once, at start: the file is small and
// rarely changes, and a missing or wrong file is a configuration error the
// installer should see in the agent's start-up log, not a broken image.
func loadPhoto(path string) (*assets.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPhoto+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > maxPhoto {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxPhoto)
	}
	ct := http.DetectContentType(b)
	if ct != "image/jpeg" && ct != "image/png" {
		return nil, fmt.Errorf("%s is %s, not a JPEG or PNG image", path, ct)
	}
	return assets.NewFile(b, ct), nil
}

// handler is the http.Handler NewHandler returns. Nothing in it changes
// after NewHandler, so requests need no locking.
type handler struct {
	cfg     Config
	acc     Acceptor
	log     *slog.Logger
	assets  *assets.Bundle
	kiosks  map[string]*kioskState
	levels  map[schema.Level]bool // levels that have a button
	ask     map[schema.Level]bool // levels that get the follow-up
	reasons map[string]bool       // reason IDs
	now     func() time.Time
	timeout time.Duration // of one Acceptor call
	metrics *metrics
	// refusals counts and logs refused requests, shared with the agent's
	// other doors.
	refusals *httpin.Refusals
	// feedback keeps what citizens leave (nil: not taken here).
	feedback FeedbackTaker
}

// Option changes a default of NewHandler.
type Option func(*handler)

// WithRefusals counts and logs the kiosk API's refusals with r (endpoint
// "kiosk"), which the agent's other doors share; without it they are
// logged and counted in the kiosk's own requests metric only.
func WithRefusals(r *httpin.Refusals) Option { return func(h *handler) { h.refusals = r } }

// ServeHTTP routes by hand rather than with http.ServeMux: "static" would
// overlap /kiosk/{id}/, and every error, a wrong method included, must be
// the page's JSON error with a metric, not the mux's plain-text one.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())
	rest, ok := strings.CutPrefix(r.URL.Path, "/kiosk/")
	if !ok {
		writeError(w, http.StatusNotFound, reasonNotFound, "not a kiosk path")
		return
	}
	if name, ok := strings.CutPrefix(rest, staticPrefix+"/"); ok {
		h.serveStatic(w, r, name)
		return
	}
	id, sub, slash := strings.Cut(rest, "/")
	k := h.kiosks[id]
	if k == nil {
		h.metrics.unknown.Inc()
		writeError(w, http.StatusNotFound, reasonUnknownKiosk, "no kiosk "+textclip.Quote(id, maxQuoted)+" on this agent")
		return
	}
	if !slash {
		// Relative (http.Redirect would make it absolute), so it works
		// behind a proxy that mounts the agent under a prefix.
		w.Header().Set("Location", id+"/")
		w.WriteHeader(http.StatusMovedPermanently)
		return
	}
	switch sub {
	case "":
		h.servePage(w, r, k)
	case "config":
		if h.allow(w, r, k, http.MethodGet) && h.authorized(w, r, k) {
			h.serveConfig(w, k)
		}
	case "ping":
		if h.allow(w, r, k, http.MethodGet) && h.authorized(w, r, k) {
			h.ping(w, k)
		}
	case "photo":
		if h.allow(w, r, k, http.MethodGet) && h.authorized(w, r, k) {
			h.servePhoto(w, r, k)
		}
	case "press":
		if h.allow(w, r, k, http.MethodPost) && h.authorized(w, r, k) {
			h.press(w, r, k)
		}
	case "reasons":
		if h.allow(w, r, k, http.MethodPost) && h.authorized(w, r, k) {
			h.addReasons(w, r, k)
		}
	case "feedback":
		if h.allow(w, r, k, http.MethodPost) && h.authorized(w, r, k) {
			h.takeFeedback(w, r, k)
		}
	default:
		h.fail(w, r, k, http.StatusNotFound, reasonNotFound, "no such kiosk resource "+textclip.Quote(sub, maxQuoted))
	}
}

// allow answers 405 unless r uses method (GET also allows HEAD).
func (h *handler) allow(w http.ResponseWriter, r *http.Request, k *kioskState, method string) bool {
	if r.Method == method || method == http.MethodGet && r.Method == http.MethodHead {
		return true
	}
	allowed := method
	if method == http.MethodGet {
		allowed = "GET, HEAD"
	}
	w.Header().Set("Allow", allowed)
	h.fail(w, r, k, http.StatusMethodNotAllowed, reasonMethod, r.Method+" is not allowed here; use "+method)
	return false
}
