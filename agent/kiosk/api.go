package kiosk

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/pscm/pscm/internal/httpin"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/textclip"
)

// Reasons in the JSON errors ({"error": "...", "reason": "..."}): a closed
// set the page and the installer's tools can switch on.
const (
	reasonNotFound       = "not_found"
	reasonUnknownKiosk   = "unknown_kiosk"
	reasonMethod         = "method_not_allowed"
	reasonUnauthorized   = "unauthorized"
	reasonTooLarge       = "too_large"
	reasonMalformed      = "malformed_json"
	reasonUnknownLevel   = "unknown_level"
	reasonPressID        = "invalid_press_id"
	reasonRatingID       = "invalid_rating_id"
	reasonNoReasons      = "no_reasons"
	reasonTooManyReasons = "too_many_reasons"
	reasonUnknownReason  = "unknown_reason"
	reasonDuplicate      = "duplicate_reason"
	reasonUnknownRating  = "unknown_rating"
	reasonUnavailable    = "unavailable"
	reasonPressConflict  = "press_id_conflict"
	reasonInternal       = "internal"
)

// versionHeader carries the kiosk's version on every ping, so an open page
// notices an agent upgrade or a config change and reloads itself.
const versionHeader = "X-Kiosk-Version"

// setSecurityHeaders forbids everything the page does not need: no script
// or style from anywhere but the agent, no inline script, no framing. The
// page has no third-party asset, so nothing legitimate is blocked, and a
// script injected through a label could not run.
func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

// authorized checks the Authorization: Bearer header against the kiosk's
// token. It compares SHA-256 digests in constant time, so neither the
// content nor the length of the token leaks through response timing.
func (h *handler) authorized(w http.ResponseWriter, r *http.Request, k *kioskState) bool {
	if tok, ok := httpin.Bearer(r); ok {
		sum := sha256.Sum256([]byte(tok))
		if subtle.ConstantTimeCompare(sum[:], k.tokenHash[:]) == 1 {
			return true
		}
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="pscm-kiosk"`)
	h.fail(w, r, k, http.StatusUnauthorized, reasonUnauthorized, "missing or wrong pairing token")
	return false
}

// pageConfig is the JSON of GET /kiosk/{id}/config: everything the page
// shows that is not in its static files.
type pageConfig struct {
	Kiosk           string       `json:"kiosk"`
	Counter         string       `json:"counter"`
	CounterNameVI   string       `json:"counter_name_vi"`
	CounterNameEN   string       `json:"counter_name_en"`
	OfficerName     string       `json:"officer_name,omitempty"`
	OfficerPhoto    bool         `json:"officer_photo"`
	Buttons         []pageButton `json:"buttons"`
	Reasons         []pageReason `json:"reasons"`
	AskReasonsFor   []string     `json:"ask_reasons_for"`
	ReasonTimeoutMS int64        `json:"reason_timeout_ms"`
	ThankYouMS      int64        `json:"thank_you_ms"`
	// Feedback is set when citizens may leave feedback here.
	Feedback *pageFeedback `json:"feedback,omitempty"`
	Version  string        `json:"version"`
}

// pageFeedback is what the feedback screen shows besides its fixed words.
type pageFeedback struct {
	NoticeVI string `json:"notice_vi"`
	NoticeEN string `json:"notice_en"`
}

type pageButton struct {
	Level     schema.Level `json:"level"`
	LabelVI   string       `json:"label_vi"`
	LabelEN   string       `json:"label_en"`
	Emoji     string       `json:"emoji,omitempty"`
	Color     string       `json:"color"`
	TextColor string       `json:"text_color"`
}

type pageReason struct {
	ID      string `json:"id"`
	LabelVI string `json:"label_vi"`
	LabelEN string `json:"label_en"`
}

// pageConfig builds k's config, all but the version, which hashes it.
func (h *handler) pageConfig(k *kioskState) (pageConfig, error) {
	pc := pageConfig{
		Kiosk:           k.ID,
		Counter:         k.Counter,
		CounterNameVI:   k.CounterNameVI,
		CounterNameEN:   k.CounterNameEN,
		OfficerName:     k.OfficerName,
		OfficerPhoto:    k.photo != nil,
		Buttons:         make([]pageButton, 0, len(h.cfg.Buttons)),
		Reasons:         make([]pageReason, 0, len(h.cfg.Reasons)),
		AskReasonsFor:   make([]string, 0, len(h.cfg.AskReasonsFor)),
		ReasonTimeoutMS: h.cfg.ReasonTimeout.Milliseconds(),
		ThankYouMS:      h.cfg.ThankYou.Milliseconds(),
	}
	for _, b := range h.cfg.Buttons {
		c, err := parseColor(b.Color)
		if err != nil {
			return pc, err // Validate already refused it
		}
		pc.Buttons = append(pc.Buttons, pageButton{
			Level: b.Level, LabelVI: b.LabelVI, LabelEN: b.LabelEN, Emoji: b.Emoji,
			Color: strings.ToLower(b.Color), TextColor: textColor(c),
		})
	}
	for _, r := range h.cfg.Reasons {
		pc.Reasons = append(pc.Reasons, pageReason(r))
	}
	for _, l := range h.cfg.AskReasonsFor {
		pc.AskReasonsFor = append(pc.AskReasonsFor, string(l))
	}
	if h.feedback != nil {
		vi, en := h.feedback.Notice()
		pc.Feedback = &pageFeedback{NoticeVI: vi, NoticeEN: en}
	}
	return pc, nil
}

func (h *handler) serveConfig(w http.ResponseWriter, k *kioskState) {
	h.metrics.inc(k.ID, resultOK)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(k.config)
}

func (h *handler) ping(w http.ResponseWriter, k *kioskState) {
	h.metrics.inc(k.ID, resultOK)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set(versionHeader, k.version)
	w.WriteHeader(http.StatusNoContent)
}

// servePhoto needs the token like the API: an officer's face is personal
// data (Law 91/2025/QH15), shown on the counter's tablet, not to anyone who
// guesses a URL. The page fetches it with its token and shows it as a data:
// URL.
func (h *handler) servePhoto(w http.ResponseWriter, r *http.Request, k *kioskState) {
	if k.photo == nil {
		h.fail(w, r, k, http.StatusNotFound, reasonNotFound, "this kiosk has no officer photo")
		return
	}
	h.metrics.inc(k.ID, resultOK)
	w.Header().Set("Cache-Control", "no-store")
	k.photo.Serve(w, r)
}

// pressRequest is the body of POST /kiosk/{id}/press.
type pressRequest struct {
	Level   schema.Level `json:"level"`
	PressID string       `json:"press_id"`
}

func (h *handler) press(w http.ResponseWriter, r *http.Request, k *kioskState) {
	var req pressRequest
	if !h.decode(w, r, k, &req) {
		return
	}
	if req.Level == "" {
		h.fail(w, r, k, http.StatusBadRequest, reasonUnknownLevel, "level is required")
		return
	}
	if !h.levels[req.Level] {
		h.fail(w, r, k, http.StatusBadRequest, reasonUnknownLevel, "level "+textclip.Quote(string(req.Level), maxQuoted)+" has no button on this kiosk")
		return
	}
	if !schema.ValidPressID(req.PressID) {
		h.fail(w, r, k, http.StatusBadRequest, reasonPressID, "press_id must be 8 to 64 characters of A-Z, a-z, 0-9, _ and -")
		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
	defer cancel()
	p := Press{Kiosk: k.ID, Counter: k.Counter, Level: req.Level, PressID: req.PressID, At: h.now().UTC()}
	acc, err := h.acc.Press(ctx, p)
	if err != nil {
		h.acceptorFailed(w, r, k, err)
		return
	}
	switch acc.Status {
	case StatusAccepted:
		if !schema.ValidToken(acc.RatingID, 1, maxIDLen) {
			// The event is spooled, so the citizen must hear it worked;
			// only the follow-up, which needs the ID, is lost.
			k.log.Error("kiosk: Acceptor returned an unusable rating ID; not asking for reasons",
				"rating_id", textclip.Quote(acc.RatingID, maxQuoted), "press_id", p.PressID)
			acc.AskReasons = false
		} else {
			acc.AskReasons = (acc.AskReasons || h.ask[p.Level]) && len(h.cfg.Reasons) > 0
		}
	case StatusIgnored:
		acc.AskReasons = false
	default:
		h.acceptorFailed(w, r, k, errors.New("Acceptor returned status "+textclip.Quote(acc.Status, maxQuoted)))
		return
	}
	h.metrics.inc(k.ID, acc.Status)
	k.log.Info("kiosk press", "level", p.Level, "status", acc.Status, "rating_id", acc.RatingID, "press_id", p.PressID)
	writeJSON(w, http.StatusOK, acc)
}

// reasonsRequest is the body of POST /kiosk/{id}/reasons.
type reasonsRequest struct {
	RatingID string   `json:"rating_id"`
	Reasons  []string `json:"reasons"`
}

func (h *handler) addReasons(w http.ResponseWriter, r *http.Request, k *kioskState) {
	var req reasonsRequest
	if !h.decode(w, r, k, &req) {
		return
	}
	if !schema.ValidToken(req.RatingID, 1, maxIDLen) {
		h.fail(w, r, k, http.StatusBadRequest, reasonRatingID, "rating_id must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -")
		return
	}
	if len(req.Reasons) == 0 {
		h.fail(w, r, k, http.StatusBadRequest, reasonNoReasons, "reasons is empty; skip the follow-up instead")
		return
	}
	if len(req.Reasons) > len(h.cfg.Reasons) {
		h.fail(w, r, k, http.StatusBadRequest, reasonTooManyReasons,
			strconv.Itoa(len(req.Reasons))+" reasons, but only "+strconv.Itoa(len(h.cfg.Reasons))+" exist")
		return
	}
	seen := make(map[string]bool, len(req.Reasons))
	for _, id := range req.Reasons {
		if !h.reasons[id] {
			h.fail(w, r, k, http.StatusBadRequest, reasonUnknownReason, "no reason "+textclip.Quote(id, maxQuoted))
			return
		}
		if seen[id] {
			h.fail(w, r, k, http.StatusBadRequest, reasonDuplicate, "reason "+id+" given twice")
			return
		}
		seen[id] = true
	}

	ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
	defer cancel()
	if err := h.acc.Reasons(ctx, k.ID, req.RatingID, req.Reasons); err != nil {
		h.acceptorFailed(w, r, k, err)
		return
	}
	h.metrics.inc(k.ID, resultOK)
	k.log.Info("kiosk reasons", "rating_id", req.RatingID, "reasons", req.Reasons)
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// acceptorFailed maps an Acceptor error to the status the page acts on. The
// error itself goes only to the log: it may name files or internals the
// tablet has no business seeing.
func (h *handler) acceptorFailed(w http.ResponseWriter, r *http.Request, k *kioskState, err error) {
	switch {
	case errors.Is(err, ErrSpoolFull):
		w.Header().Set("Retry-After", "10")
		h.fail(w, r, k, http.StatusServiceUnavailable, reasonUnavailable, "the agent cannot record ratings right now")
		k.log.Error("kiosk: rating not recorded: spool full", "path", textclip.Clip(r.URL.Path, 80), "err", err)
	case errors.Is(err, context.DeadlineExceeded):
		h.fail(w, r, k, http.StatusServiceUnavailable, reasonUnavailable, "the agent did not record the rating in time")
		k.log.Error("kiosk: rating not recorded in time", "path", textclip.Clip(r.URL.Path, 80), "timeout", h.timeout, "err", err)
	case errors.Is(err, ErrUnknownRating):
		h.fail(w, r, k, http.StatusNotFound, reasonUnknownRating, "no such rating to add reasons to")
	case errors.Is(err, ErrPressConflict):
		h.fail(w, r, k, http.StatusConflict, reasonPressConflict, "this press_id was already used for another level; a new tap needs a new press_id")
	default:
		h.fail(w, r, k, http.StatusInternalServerError, reasonInternal, "the agent failed to record the rating")
		k.log.Error("kiosk: Acceptor failed", "path", textclip.Clip(r.URL.Path, 80), "err", err)
	}
}

// decode reads one JSON object of at most maxBody bytes, with no unknown
// keys and nothing after it, into dst.
func (h *handler) decode(w http.ResponseWriter, r *http.Request, k *kioskState, dst any) bool {
	body, err := httpin.ReadBody(w, r, maxBody)
	if err != nil {
		// 413 for a body too large (sending it again will not help), 408
		// for one that stalled or was cut (the page sends it again).
		status, reason, msg := httpin.Status(err, maxBody)
		h.fail(w, r, k, status, reason, msg)
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		h.fail(w, r, k, http.StatusBadRequest, reasonMalformed, "body is not the expected JSON object: "+textclip.Clip(err.Error(), 120))
		return false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		h.fail(w, r, k, http.StatusBadRequest, reasonMalformed, "body has data after the JSON object")
		return false
	}
	if err := schema.CheckKeys(body); err != nil {
		// {"level":"very_satisfied","Level":"dissatisfied"} would decode
		// as dissatisfied.
		h.fail(w, r, k, http.StatusBadRequest, reasonMalformed, err.Error())
		return false
	}
	return true
}

// fail writes a JSON error, counts it under k's result label and logs it.
// Client mistakes log at Warn with the reason only, never the body or the
// Authorization header.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, k *kioskState, status int, reason, msg string) {
	result := resultForStatus(status)
	h.metrics.inc(k.ID, result)
	if status < 500 {
		h.refusals.Refuse(r, "kiosk", reason, status)
	}
	writeError(w, status, reason, msg)
}

func resultForStatus(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return resultUnauthorized
	case status == http.StatusServiceUnavailable:
		return resultUnavailable
	case status >= 500:
		return resultError
	default:
		return resultBadRequest
	}
}

type errorBody struct {
	Error  string `json:"error"`
	Reason string `json:"reason"`
}

func writeError(w http.ResponseWriter, status int, reason, msg string) {
	writeJSON(w, status, errorBody{Error: msg, Reason: reason})
}

// writeJSON answers with v. API answers are never cached: each is about a
// single tap or the agent's state right now.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the tablet went away; nothing to do
}
