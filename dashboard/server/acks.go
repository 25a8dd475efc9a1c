package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/pscm/pscm/dashboard/acklog"
	"github.com/pscm/pscm/dashboard/auth"
	"github.com/pscm/pscm/dashboard/board"
	"github.com/pscm/pscm/internal/schema"
)

// maxAckBody bounds an acknowledgement's request body.
const maxAckBody = 4 << 10

// serveAck records that the logged-in manager acknowledged one alert of a
// site they may see: POST {"site": ..., "id": ...} with the CSRF token
// (auth.Require checks it). The acknowledgement is written to the log on
// disk before the board shows it, so what every page then shows ("đã xác
// nhận bởi ... lúc ...") is on record. Acknowledging an acknowledged alert
// answers the first acknowledgement and records nothing new.
func (s *Server) serveAck(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFrom(r.Context())
	if s.acks == nil {
		writeJSONError(w, http.StatusServiceUnavailable, "acknowledgements are not recorded here / không ghi nhận xác nhận")
		return
	}
	var req struct {
		Site string `json:"site"`
		ID   string `json:"id"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAckBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || !schema.ValidID(req.Site) || req.ID == "" || len(req.ID) > 256 {
		writeJSONError(w, http.StatusBadRequest, `want {"site": "<site>", "id": "<alert id>"} / yêu cầu không hợp lệ`)
		return
	}
	if !u.CanSee(req.Site) || !slices.Contains(s.board.Sites(), req.Site) {
		writeJSONError(w, http.StatusForbidden, "forbidden / không có quyền")
		return
	}
	a, ok := s.board.Alert(req.Site, req.ID)
	if !ok {
		writeJSONError(w, http.StatusNotFound, "no such alert (it may have scrolled off) / không còn cảnh báo này")
		return
	}
	if a.Ack == nil {
		ack := board.Ack{By: u.Name, Name: u.DisplayName, At: time.Now().UTC()}
		if err := s.acks.Append(acklog.Entry{At: ack.At, Site: req.Site, Alert: a.ID, Kind: a.Kind, Counter: a.Counter,
			TextVI: a.TextVI, By: ack.By, Name: ack.Name}); err != nil {
			s.log.Error("acknowledgement not recorded", "site", req.Site, "alert", a.ID, "user", u.Name, "err", err)
			writeJSONError(w, http.StatusInternalServerError, "not recorded; try again / chưa ghi nhận được, hãy thử lại")
			return
		}
		var err error
		if a, err = s.board.Acknowledge(req.Site, req.ID, ack); errors.Is(err, board.ErrNoAlert) {
			// Scrolled off between the two calls: recorded, nothing to show.
			writeJSONError(w, http.StatusNotFound, "no such alert (it scrolled off) / không còn cảnh báo này")
			return
		}
		s.log.Info("alert acknowledged", "site", req.Site, "alert", a.ID, "user", u.Name)
		s.dirty.mark(req.Site)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(a)
}
