package casedesk

import (
	"crypto/subtle"
	"html/template"
	"net/http"
	"strings"
	"time"
)

// PublicPath is the public status page: no login, no personal data.
const PublicPath = "/tra-cuu"

// Public serves the page a citizen opens with the case number and its
// code (the QR code they were given points at it with both filled in):
// the case's kind, when it was received, where it stands, its deadline,
// and the answer once given. No login and nothing personal: neither the
// message nor the phone number. Lookups are limited per client address
// (clientIP, as the login's limiter sees it), and a wrong code answers as
// an unknown number does, so the page tells nothing to someone guessing.
func (d *Desk) Public(clientIP func(*http.Request) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Robots-Tag", "noindex")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
		h.Set("Content-Type", "text/html; charset=utf-8")
		q := r.URL.Query()
		number, code := strings.TrimSpace(q.Get("so")), strings.ToUpper(strings.TrimSpace(q.Get("ma")))
		page := publicPage{Number: number}
		if number == "" && code == "" {
			_ = publicTmpl.Execute(w, page)
			return
		}
		if !d.public.allow(clientIP(r), d.cfg.Now()) {
			w.WriteHeader(http.StatusTooManyRequests)
			page.Error = "Quá nhiều lượt tra cứu, vui lòng thử lại sau một phút. / Too many lookups: try again in a minute."
			_ = publicTmpl.Execute(w, page)
			return
		}
		c, err := d.store.Get(r.Context(), number)
		if err != nil || len(number) > 64 || len(code) != len(c.Code) || subtle.ConstantTimeCompare([]byte(code), []byte(c.Code)) != 1 {
			w.WriteHeader(http.StatusNotFound)
			page.Error = "Không tìm thấy hồ sơ với số và mã này. / No case with this number and code."
			_ = publicTmpl.Execute(w, page)
			return
		}
		st := d.status(c, d.cfg.Now())
		loc := d.cfg.Calendar.Location()
		kvi, ken := c.Kind.Names()
		page.Case = &publicCase{Number: c.Number, KindVI: kvi, KindEN: ken, Received: c.Received.In(loc).Format("15:04 02/01/2006"),
			StateVI: stateVI(c.State), State: string(c.State), Answer: c.Answer(), SiteName: d.sites[c.Site].Name}
		if !c.State.Done() {
			if dl := c.Deadline(); !dl.IsZero() {
				// A deadline is the end of its last working day.
				page.Case.Deadline = dl.Add(-time.Nanosecond).In(loc).Format("02/01/2006")
			}
			page.Case.Standing = standingVI(st)
		}
		_ = publicTmpl.Execute(w, page)
	})
}

type publicPage struct {
	Number string
	Error  string
	Case   *publicCase
}

type publicCase struct {
	Number, SiteName   string
	KindVI, KindEN     string
	Received           string
	StateVI, State     string
	Deadline, Standing string
	Answer             string
}

var publicTmpl = template.Must(template.New("public").Parse(`<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tra cứu góp ý, phản ánh / Case status</title>
<style>
body{font-family:system-ui,sans-serif;max-width:36rem;margin:1rem auto;padding:0 1rem;font-size:1.1rem;line-height:1.5;color:#111}
h1{font-size:1.4rem} .en{color:#555;font-size:.9em} label{display:block;margin-top:.8rem}
input{font-size:1.1rem;padding:.4rem;width:100%;box-sizing:border-box} button{margin-top:1rem;font-size:1.1rem;padding:.5rem 1.2rem}
dl{display:grid;grid-template-columns:auto 1fr;gap:.3rem 1rem} dt{font-weight:600} .err{color:#a00;font-weight:600}
.answer{white-space:pre-wrap;border-left:4px solid #2a6;padding-left:.8rem}
</style></head><body>
<h1>Tra cứu góp ý, phản ánh, khiếu nại <span class="en">/ Your case's status</span></h1>
{{if .Error}}<p class="err" role="alert">{{.Error}}</p>{{end}}
{{with .Case}}
<dl>
<dt>Số hồ sơ <span class="en">/ Case</span></dt><dd>{{.Number}}</dd>
{{if .SiteName}}<dt>Nơi tiếp nhận <span class="en">/ Center</span></dt><dd>{{.SiteName}}</dd>{{end}}
<dt>Loại <span class="en">/ Kind</span></dt><dd>{{.KindVI}} <span class="en">/ {{.KindEN}}</span></dd>
<dt>Tiếp nhận lúc <span class="en">/ Received</span></dt><dd>{{.Received}}</dd>
<dt>Tình trạng <span class="en">/ State</span></dt><dd>{{.StateVI}} <span class="en">/ {{.State}}</span></dd>
{{if .Deadline}}<dt>Hạn xử lý <span class="en">/ Due</span></dt><dd>{{.Deadline}} ({{.Standing}})</dd>{{end}}
</dl>
{{if .Answer}}<h2>Trả lời <span class="en">/ Answer</span></h2><p class="answer">{{.Answer}}</p>{{end}}
{{else}}
<form method="get" action="/tra-cuu">
<label>Số hồ sơ <span class="en">/ Case number</span><input name="so" value="{{.Number}}" required maxlength="64" autocomplete="off"></label>
<label>Mã tra cứu <span class="en">/ Code</span><input name="ma" required maxlength="16" autocomplete="off"></label>
<button type="submit">Tra cứu / Look up</button>
</form>
{{end}}
</body></html>
`))
