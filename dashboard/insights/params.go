package insights

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/textclip"
)

// MaxYears bounds a range, as the dashboard's custom ranges are bounded: a
// longer question is for the database's operator, not for a page.
const MaxYears = 3

// MinYear is the earliest year a range may start in: pscm holds nothing
// older, and a typo ("0226") gets a clear answer rather than an empty page.
const MinYear = 2000

// request is a checked request: one configured site and [from, to) of
// whole local days.
type request struct {
	site     kpi.Site
	from, to time.Time
}

// last is the range's last day, at its midnight.
func (q request) last() time.Time { return q.to.AddDate(0, 0, -1) }

// requestError is a refusal with its status and a message in Vietnamese
// then English, shown to the manager as it is.
type requestError struct {
	status int
	msg    string
}

func (e *requestError) Error() string { return e.msg }

// badRequest is a 400; vi and en each take all of args, in order.
func badRequest(vi, en string, args ...any) *requestError {
	return &requestError{http.StatusBadRequest, fmt.Sprintf(vi, args...) + " / " + fmt.Sprintf(en, args...)}
}

// params are the query parameters the endpoints take; any other is
// refused, so a misspelt "form" is not silently a default.
var params = map[string]bool{"site": true, "from": true, "to": true}

// maxQuoted bounds what an error quotes back of a parameter.
const maxQuoted = 24

func quote(s string) string { return textclip.Quote(s, maxQuoted) }

// parse checks a request's parameters. The site is checked first and the
// scope before whether it is configured, so a manager probing a site
// outside their scope learns only 403, configured or not; allowed may be
// nil only in tests of the dates.
func parse(r *http.Request, sites []kpi.Site, allowed func(*http.Request, string) bool, now time.Time, loc *time.Location) (request, *requestError) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return request{}, badRequest("tham số không đọc được", "the query string cannot be read")
	}
	for k, v := range q {
		if !params[k] {
			return request{}, badRequest("tham số %s không được hỗ trợ (site, from, to)", "parameter %s is not supported (site, from, to)", quote(k))
		}
		if len(v) != 1 {
			return request{}, badRequest("tham số %s lặp lại", "parameter %s repeated", k)
		}
	}
	id := q.Get("site")
	switch {
	case id == "":
		return request{}, badRequest("thiếu mã trung tâm (site)", "site is required")
	case !schema.ValidID(id):
		return request{}, badRequest("mã trung tâm %s không hợp lệ", "site %s is not a valid site ID", quote(id))
	case allowed != nil && !allowed(r, id):
		return request{}, &requestError{http.StatusForbidden, "không có quyền xem trung tâm này / this site is outside your scope"}
	}
	var req request
	found := false
	for _, s := range sites {
		if s.ID == id {
			req.site, found = s, true
			break
		}
	}
	if !found {
		return request{}, badRequest("trung tâm %s không có trong cấu hình", "site %s is not configured", quote(id))
	}

	first, e := parseDay("from", q.Get("from"), loc)
	if e != nil {
		return request{}, e
	}
	last, e := parseDay("to", q.Get("to"), loc)
	if e != nil {
		return request{}, e
	}
	switch {
	case last.Before(first):
		return request{}, badRequest("ngày cuối (to) %s trước ngày đầu (from) %s", "the last day (to), %s, is before the first (from), %s", dmy(last), dmy(first))
	case first.Year() < MinYear:
		return request{}, badRequest("năm %d quá xa: từ năm %d trở đi", "year %d is too early: %d or later", first.Year(), MinYear)
	case last.AddDate(0, 0, 1).After(first.AddDate(MaxYears, 0, 0)):
		return request{}, badRequest("khoảng %s – %s dài hơn %d năm", "the range %s – %s is longer than %d years", dmy(first), dmy(last), MaxYears)
	}
	if y, m, d := now.In(loc).Date(); first.After(time.Date(y, m, d, 0, 0, 0, 0, loc)) {
		return request{}, badRequest("khoảng thời gian bắt đầu ngày %s, sau hôm nay: chưa có số liệu", "the range starts on %s, after today: there are no figures yet", dmy(first))
	}
	req.from, req.to = first, last.AddDate(0, 0, 1)
	return req, nil
}

// parseDay reads one day, exactly YYYY-MM-DD (what a date input sends), at
// its midnight in loc. time.ParseInLocation already refuses 2026-02-30 and
// 2026-3-1; the length check keeps it that way whatever its leniency.
func parseDay(name, s string, loc *time.Location) (time.Time, *requestError) {
	if s == "" {
		return time.Time{}, badRequest("thiếu ngày %s (YYYY-MM-DD)", "%s is required (YYYY-MM-DD)", name)
	}
	t, err := time.ParseInLocation(time.DateOnly, s, loc)
	if len(s) != len(time.DateOnly) || err != nil {
		return time.Time{}, badRequest("ngày %s = %s không hợp lệ: dùng YYYY-MM-DD", "%s = %s is not a day: use YYYY-MM-DD", name, quote(s))
	}
	return t, nil
}

// dmy is a day as DD/MM/YYYY, the order managers read in both languages.
func dmy(t time.Time) string { return t.Format("02/01/2006") }
