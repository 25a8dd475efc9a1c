package casedesk

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pscm/pscm/internal/accesslog"
	"github.com/pscm/pscm/internal/caseimport"
	"github.com/pscm/pscm/internal/cases"
	"github.com/pscm/pscm/internal/casestore"
	"github.com/pscm/pscm/internal/schema"
)

// User is who makes a staff request, as the dashboard's login says.
type User struct {
	Name string
	// See reports whether the user may see a site's cases; Personal
	// whether they may read their personal data (the message and the
	// phone number): a manager of that site, not a province-wide account.
	See, Personal func(site string) bool
}

// maxBody bounds a staff request's body: a message is at most 2,000
// characters.
const maxBody = 32 << 10

// API serves the staff's endpoints, behind the dashboard's login (which
// checks the CSRF token of every POST); who returns the logged-in user.
//
//	GET  /api/cases?site=            the site's cases, open ones by deadline
//	POST /api/cases                  receive a case
//	GET  /api/cases/{number}         one case, its history (personal data logged)
//	POST /api/cases/{number}/steps   take a step
//	POST /api/cases/import?site=     a file of the province's cases (CSV or JSON)
func (d *Desk) API(who func(*http.Request) (User, bool)) http.Handler {
	mux := http.NewServeMux()
	withUser := func(f func(http.ResponseWriter, *http.Request, User)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			u, ok := who(r)
			if !ok {
				writeError(w, http.StatusUnauthorized, "unauthenticated / chưa đăng nhập")
				return
			}
			f(w, r, u)
		}
	}
	mux.Handle("GET /api/cases", withUser(d.serveList))
	mux.Handle("POST /api/cases", withUser(d.serveCreate))
	mux.Handle("GET /api/cases/{number}", withUser(d.serveCase))
	mux.Handle("POST /api/cases/{number}/steps", withUser(d.serveStep))
	mux.Handle("POST /api/cases/import", withUser(d.serveImport))
	return mux
}

func (d *Desk) serveList(w http.ResponseWriter, r *http.Request, u User) {
	site := r.URL.Query().Get("site")
	if _, ok := d.sites[site]; !ok || !u.See(site) {
		writeError(w, http.StatusForbidden, "no such site, or not yours / không có quyền xem trung tâm này")
		return
	}
	limit := 500
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			writeError(w, http.StatusBadRequest, "limit: 1 to 10000 / giới hạn không hợp lệ")
			return
		}
		limit = n
	}
	l, err := d.ListSite(r.Context(), site, limit)
	if err != nil {
		d.log.Error("cases not listed", "site", site, "err", err)
		writeError(w, http.StatusInternalServerError, "cases could not be read / không đọc được danh sách")
		return
	}
	writeJSON(w, http.StatusOK, l)
}

// createRequest is a case received by staff.
type createRequest struct {
	Site    string        `json:"site"`
	Kind    cases.Kind    `json:"kind"`
	Channel cases.Channel `json:"channel"`
	// Received defaults to now; a case written down later (a letter, the
	// reception day) gives its own day, never in the future.
	Received string `json:"received"`
	Counter  string `json:"counter"`
	Service  string `json:"service"`
	Official string `json:"official"`
	Message  string `json:"message"`
	Phone    string `json:"phone"`
	Complex  bool   `json:"complex"`
}

func (d *Desk) serveCreate(w http.ResponseWriter, r *http.Request, u User) {
	var req createRequest
	if !decode(w, r, &req) {
		return
	}
	if _, ok := d.sites[req.Site]; !ok || !u.See(req.Site) {
		writeError(w, http.StatusForbidden, "no such site, or not yours / không có quyền với trung tâm này")
		return
	}
	now := d.cfg.Now()
	received := now
	if req.Received != "" {
		t, err := time.Parse(time.RFC3339, req.Received)
		if err != nil || t.After(now.Add(5*time.Minute)) {
			writeError(w, http.StatusBadRequest, "received: an RFC 3339 time, not in the future / thời điểm tiếp nhận không hợp lệ")
			return
		}
		received = t
	}
	switch {
	case req.Counter != "" && !d.counterKnown(req.Site, req.Counter):
		writeError(w, http.StatusBadRequest, fmt.Sprintf("counter %q is not a counter of %s / quầy không thuộc trung tâm", req.Counter, req.Site))
		return
	case req.Service != "" && !schema.ValidID(req.Service):
		writeError(w, http.StatusBadRequest, "service: an ID (a-z, 0-9, - and _) / mã dịch vụ không hợp lệ")
		return
	case req.Official != "" && !schema.ValidID(req.Official):
		writeError(w, http.StatusBadRequest, "official: a roster ID / mã cán bộ không hợp lệ")
		return
	}
	code, err := cases.NewCode()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "no code / không tạo được mã tra cứu")
		return
	}
	in := cases.Intake{Code: code, Site: req.Site, Kind: req.Kind, Channel: req.Channel, Received: received,
		Counter: req.Counter, Service: req.Service, Official: req.Official, Message: req.Message, Phone: req.Phone,
		Complex: req.Complex, By: u.Name, Number: "-"}
	// Checked before a number is taken, so a refused case uses none.
	if _, err := cases.New(in, d.cfg.Rules, d.cfg.Calendar); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	in.Number, err = d.store.NextNumber(r.Context(), req.Site, received.In(d.cfg.Calendar.Location()).Year())
	if err == nil {
		var c cases.Case
		if c, err = cases.New(in, d.cfg.Rules, d.cfg.Calendar); err == nil {
			if err = d.store.Create(r.Context(), c); err == nil {
				d.log.Info("case received", "case", c.Number, "kind", c.Kind, "channel", c.Channel, "by", u.Name)
				d.changed()
				d.writeCase(w, r, u, c, http.StatusCreated)
				return
			}
		}
	}
	d.log.Error("case not stored", "site", req.Site, "err", err)
	writeError(w, http.StatusInternalServerError, "the case was not stored; try again / chưa lưu được, hãy thử lại")
}

// stepRequest is one step asked by staff.
type stepRequest struct {
	To         cases.State `json:"to"`
	Assignee   string      `json:"assignee"`
	Note       string      `json:"note"`
	ExtendDays int         `json:"extend_days"`
}

func (d *Desk) serveStep(w http.ResponseWriter, r *http.Request, u User) {
	var req stepRequest
	if !decode(w, r, &req) {
		return
	}
	c, ok := d.caseFor(w, r, u)
	if !ok {
		return
	}
	next, err := cases.Apply(c, cases.Step{To: req.To, At: d.cfg.Now(), By: u.Name, Assignee: req.Assignee, Note: req.Note, ExtendDays: req.ExtendDays},
		d.cfg.Rules, d.cfg.Calendar)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := d.store.Update(r.Context(), c, next); err != nil {
		if errors.Is(err, casestore.ErrConflict) {
			writeError(w, http.StatusConflict, "the case changed meanwhile: reload it / hồ sơ vừa được cập nhật, hãy tải lại")
			return
		}
		d.log.Error("case step not stored", "case", c.Number, "err", err)
		writeError(w, http.StatusInternalServerError, "the step was not stored; try again / chưa lưu được, hãy thử lại")
		return
	}
	last := next.History[len(next.History)-1]
	d.log.Info("case step", "case", c.Number, "from", last.From, "to", last.To, "extend_days", last.ExtendDays, "by", u.Name)
	d.changed()
	d.writeCase(w, r, u, next, http.StatusOK)
}

func (d *Desk) serveCase(w http.ResponseWriter, r *http.Request, u User) {
	if c, ok := d.caseFor(w, r, u); ok {
		d.writeCase(w, r, u, c, http.StatusOK)
	}
}

// caseFor reads the case the path names, if the user may see its site.
func (d *Desk) caseFor(w http.ResponseWriter, r *http.Request, u User) (cases.Case, bool) {
	c, err := d.store.Get(r.Context(), r.PathValue("number"))
	switch {
	case errors.Is(err, casestore.ErrNotFound) || err == nil && !u.See(c.Site):
		// The same answer for a case of another site as for none.
		writeError(w, http.StatusNotFound, "no such case / không có hồ sơ này")
		return c, false
	case err != nil:
		d.log.Error("case not read", "err", err)
		writeError(w, http.StatusInternalServerError, "the case could not be read / không đọc được hồ sơ")
		return c, false
	}
	return c, true
}

// Detail is one case for the staff.
type Detail struct {
	Row
	Code     string `json:"code"`
	Official string `json:"official,omitempty"`
	Complex  bool   `json:"complex,omitempty"`
	// Message and Phone are personal data: only for a manager of the
	// case's site, and each reading is logged; PersonalHidden says they
	// were left out.
	Message        string `json:"message,omitempty"`
	Phone          string `json:"phone,omitempty"`
	PersonalHidden bool   `json:"personal_hidden,omitempty"`
	// Erased is when the message and the phone were erased at the end of
	// their retention.
	Erased  time.Time `json:"erased,omitzero"`
	History []Step    `json:"history"`
}

// Step is one step of a case's history.
type Step struct {
	cases.Transition
	ToVI string `json:"to_vi"`
}

func (d *Desk) writeCase(w http.ResponseWriter, r *http.Request, u User, c cases.Case, code int) {
	out := Detail{Row: rowOf(c, d.status(c, d.cfg.Now())), Code: c.Code, Official: c.Official, Complex: c.Complex, Erased: c.Erased}
	for _, t := range c.History {
		out.History = append(out.History, Step{Transition: t, ToVI: stateVI(t.To)})
	}
	if u.Personal(c.Site) && c.Erased.IsZero() {
		// On record before it is shown: a reading that cannot be logged
		// is not made.
		if err := d.access.Append(accesslog.Entry{At: d.cfg.Now().UTC(), User: u.Name, Site: c.Site, Subject: c.Number, What: "message, phone"}); err != nil {
			d.log.Error("personal data not shown: the access log cannot be written", "err", err)
			out.PersonalHidden = true
		} else {
			out.Message, out.Phone = c.Message, c.Phone
		}
	} else {
		out.PersonalHidden = true
	}
	writeJSON(w, code, out)
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "send JSON / gửi dữ liệu JSON")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "malformed request: "+err.Error()+" / yêu cầu không hợp lệ")
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// intakeRequest is a case a citizen left at a kiosk, as the center's agent
// sends it: numbered and coded there, so the citizen had both at once,
// whether or not the agent could reach the dashboard.
type intakeRequest struct {
	Number   string        `json:"number"`
	Code     string        `json:"code"`
	Site     string        `json:"site"`
	Kind     cases.Kind    `json:"kind"`
	Channel  cases.Channel `json:"channel"`
	Received time.Time     `json:"received"`
	Counter  string        `json:"counter"`
	Message  string        `json:"message"`
	Phone    string        `json:"phone"`
}

// Intake serves POST /api/intake for the centers' agents, each with its
// site's token (Config.IntakeTokens). The agent sends a case again until
// it is answered 2xx: a case already stored with the same number and code
// answers 200 again, so a retry never makes a second case; one with the
// same number and another code is a 409 (two agents numbering alike).
func (d *Desk) Intake() http.Handler {
	sums := map[string][32]byte{}
	for site, tok := range d.cfg.IntakeTokens {
		sums[site] = sha256.Sum256([]byte(tok))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			writeError(w, http.StatusMethodNotAllowed, "POST only")
			return
		}
		var req intakeRequest
		if !decode(w, r, &req) {
			return
		}
		want, known := sums[req.Site]
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		got := sha256.Sum256([]byte(tok))
		if !known || tok == "" || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			writeError(w, http.StatusUnauthorized, "missing or wrong intake token for this site")
			return
		}
		switch {
		case !kioskNumber(req.Number, req.Site):
			writeError(w, http.StatusBadRequest, fmt.Sprintf("number %q: want %s-<year>-K<6 digits>", req.Number, req.Site))
			return
		case !cases.ValidCode(req.Code):
			writeError(w, http.StatusBadRequest, "code: 8 characters of "+cases.CodeAlphabet)
			return
		case req.Received.IsZero() || req.Received.After(d.cfg.Now().Add(24*time.Hour)):
			writeError(w, http.StatusBadRequest, "received: required, and not ahead of this clock by a day")
			return
		case req.Counter != "" && !d.counterKnown(req.Site, req.Counter):
			writeError(w, http.StatusBadRequest, fmt.Sprintf("counter %q is not a counter of %s", req.Counter, req.Site))
			return
		}
		c, err := cases.New(cases.Intake{Number: req.Number, Code: req.Code, Site: req.Site, Kind: req.Kind, Channel: req.Channel,
			Received: req.Received, Counter: req.Counter, Message: req.Message, Phone: req.Phone, By: "kiosk"}, d.cfg.Rules, d.cfg.Calendar)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		err = d.store.Create(r.Context(), c)
		if errors.Is(err, casestore.ErrConflict) {
			old, gerr := d.store.Get(r.Context(), c.Number)
			if gerr == nil && old.Code == c.Code {
				writeJSON(w, http.StatusOK, map[string]string{"number": c.Number, "status": "already received"})
				return
			}
			writeError(w, http.StatusConflict, "number "+c.Number+" is another case's")
			return
		}
		if err != nil {
			d.log.Error("kiosk case not stored", "case", c.Number, "err", err)
			writeError(w, http.StatusInternalServerError, "not stored; send again")
			return
		}
		d.log.Info("case received from a kiosk", "case", c.Number, "kind", c.Kind, "counter", c.Counter)
		d.changed()
		writeJSON(w, http.StatusCreated, map[string]string{"number": c.Number, "status": "received"})
	})
}

// kioskNumber reports whether n is a number an agent gives:
// <site>-<year>-K<6 digits>, apart from the dashboard's own
// <site>-<year>-<6 digits>.
func kioskNumber(n, site string) bool {
	rest, ok := strings.CutPrefix(n, site+"-")
	if !ok || len(rest) != 12 || rest[4] != '-' || rest[5] != 'K' {
		return false
	}
	for i, c := range rest {
		if i != 4 && i != 5 && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// serveImport takes a file of cases from the province's feedback system
// (internal/caseimport: CSV or JSON) for a site: every row checked first,
// the file refused whole with each bad row named; the cases already
// stored (a file imported again) are left as they are, the others stored
// in one transaction, received through the province's channel.
func (d *Desk) serveImport(w http.ResponseWriter, r *http.Request, u User) {
	site := r.URL.Query().Get("site")
	if _, ok := d.sites[site]; !ok || !u.See(site) {
		writeError(w, http.StatusForbidden, "no such site, or not yours / không có quyền với trung tâm này")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, caseimport.MaxBytes))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the file is larger than %d bytes / tệp quá lớn", caseimport.MaxBytes))
		return
	}
	loc := d.cfg.Calendar.Location()
	rows, err := caseimport.Parse(body, loc)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "the file was not imported / tệp chưa được nhập", "rows": strings.Split(err.Error(), "\n")})
		return
	}
	now := d.cfg.Now()
	var all []cases.Case
	var bad []string
	for _, row := range rows {
		switch {
		case row.Counter != "" && !d.counterKnown(site, row.Counter):
			bad = append(bad, fmt.Sprintf("%d: counter: %q is not a counter of %s", row.Line, row.Counter, site))
			continue
		case row.Received.After(now.Add(24 * time.Hour)):
			bad = append(bad, fmt.Sprintf("%d: received: in the future", row.Line))
			continue
		}
		code, err := cases.NewCode()
		if err != nil {
			writeError(w, http.StatusInternalServerError, "no code / không tạo được mã tra cứu")
			return
		}
		c, err := cases.New(cases.Intake{Number: row.Number(site, loc), Code: code, Site: site, Kind: row.Kind, Channel: cases.ChannelProvince,
			Received: row.Received, Counter: row.Counter, Service: row.Service, Message: row.Message, Phone: row.Phone, By: "import:" + u.Name},
			d.cfg.Rules, d.cfg.Calendar)
		if err != nil {
			bad = append(bad, fmt.Sprintf("%d: %v", row.Line, err))
			continue
		}
		all = append(all, c)
	}
	if len(bad) > 0 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "the file was not imported / tệp chưa được nhập", "rows": bad})
		return
	}
	numbers := make([]string, len(all))
	for i, c := range all {
		numbers[i] = c.Number
	}
	have, err := d.store.Existing(r.Context(), numbers)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "the cases could not be read / không đọc được hồ sơ")
		return
	}
	var fresh []cases.Case
	for _, c := range all {
		if !have[c.Number] {
			fresh = append(fresh, c)
		}
	}
	if len(fresh) > 0 {
		if err := d.store.CreateMany(r.Context(), fresh); err != nil {
			d.log.Error("imported cases not stored", "site", site, "err", err)
			writeError(w, http.StatusInternalServerError, "nothing was stored; try again / chưa lưu được, hãy thử lại")
			return
		}
		d.changed()
	}
	d.log.Info("cases imported", "site", site, "added", len(fresh), "already", len(all)-len(fresh), "by", u.Name)
	writeJSON(w, http.StatusOK, map[string]int{"rows": len(all), "added": len(fresh), "already": len(all) - len(fresh)})
}
