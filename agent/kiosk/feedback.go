package kiosk

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/pscm/pscm/internal/httpin"
	"github.com/pscm/pscm/internal/schema"
)

// Feedback is what a citizen leaves at the kiosk (issue 16): the kind they
// chose (gop_y, phan_anh, kien_nghi), their message, and a phone number
// for the answer if they want one.
type Feedback struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
	Phone   string `json:"phone"`
}

// Receipt is what the citizen leaves with: the case number, its code, and
// the status page's address, which the page shows as a QR code too.
type Receipt struct {
	Number string `json:"number"`
	Code   string `json:"code"`
	URL    string `json:"url"`
	// QR is the URL as a PNG data: URL (the page's CSP allows data:
	// images, nothing from elsewhere).
	QR string `json:"qr"`
}

// FeedbackTaker keeps what citizens leave (agent/intake): it numbers each
// case and has it on disk before it returns.
type FeedbackTaker interface {
	TakeFeedback(counter string, f Feedback) (Receipt, error)
	// Notice is the one line the page shows of what is kept and why.
	Notice() (vi, en string)
}

// Errors a FeedbackTaker returns for the handler to map.
var (
	// ErrFeedbackInvalid: the input is refused; the error says why. 400.
	ErrFeedbackInvalid = errors.New("kiosk: feedback refused")
	// ErrFeedbackFull: too many cases wait for the dashboard. 503.
	ErrFeedbackFull = errors.New("kiosk: feedback cannot be kept now")
)

// maxFeedbackBody: a message is at most 2,000 characters of up to 3 bytes
// in UTF-8, and JSON may escape them.
const maxFeedbackBody = 16 << 10

// WithFeedback lets citizens leave feedback at the kiosks, kept by t.
func WithFeedback(t FeedbackTaker) Option { return func(h *handler) { h.feedback = t } }

const reasonFeedback = "invalid_feedback"

// takeFeedback is POST /kiosk/{id}/feedback.
func (h *handler) takeFeedback(w http.ResponseWriter, r *http.Request, k *kioskState) {
	if h.feedback == nil {
		h.fail(w, r, k, http.StatusNotFound, reasonNotFound, "feedback is not taken at this center's kiosks")
		return
	}
	body, err := httpin.ReadBody(w, r, maxFeedbackBody)
	if err != nil {
		status, reason, msg := httpin.Status(err, maxFeedbackBody)
		h.fail(w, r, k, status, reason, msg)
		return
	}
	var f Feedback
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		h.fail(w, r, k, http.StatusBadRequest, reasonMalformed, "body is not the expected JSON object")
		return
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		h.fail(w, r, k, http.StatusBadRequest, reasonMalformed, "body has data after the JSON object")
		return
	}
	if err := schema.CheckKeys(body); err != nil {
		h.fail(w, r, k, http.StatusBadRequest, reasonMalformed, err.Error())
		return
	}
	rec, err := h.feedback.TakeFeedback(k.Counter, f)
	switch {
	case errors.Is(err, ErrFeedbackInvalid):
		h.fail(w, r, k, http.StatusBadRequest, reasonFeedback, err.Error())
		return
	case errors.Is(err, ErrFeedbackFull) || errors.Is(err, ErrSpoolFull):
		w.Header().Set("Retry-After", "60")
		h.fail(w, r, k, http.StatusServiceUnavailable, reasonUnavailable, "feedback cannot be kept right now")
		return
	case err != nil:
		h.fail(w, r, k, http.StatusInternalServerError, reasonInternal, "the feedback was not kept")
		k.log.Error("kiosk: feedback not kept", "err", err)
		return
	}
	png, err := qrcode.Encode(rec.URL, qrcode.Medium, 320)
	if err == nil {
		rec.QR = "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)
	} else {
		// The number and code are on screen; the QR code is a convenience.
		k.log.Warn("kiosk: no QR code for the case", "err", err)
	}
	h.metrics.inc(k.ID, resultOK)
	k.log.Info("kiosk feedback", "case", rec.Number)
	writeJSON(w, http.StatusOK, rec)
}
