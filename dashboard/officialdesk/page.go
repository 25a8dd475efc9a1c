package officialdesk

import (
	"embed"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pscm/pscm/internal/roster"
)

//go:embed static
var static embed.FS

// PagePath is the officials' page: /officials (a manager's list) and
// /officials/{id} (one official; /officials/me for one's own).
const PagePath = "/officials"

// Page serves the officials' page shell and its script and stylesheet;
// the figures come from the API. Behind the login.
func (d *Desk) Page(who func(*http.Request) (Viewer, bool), csrf func(*http.Request) string) http.Handler {
	files := http.FileServerFS(static)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if name, ok := strings.CutPrefix(r.URL.Path, PagePath+"/static/"); ok {
			if name != "officials.js" && name != "officials.css" {
				http.NotFound(w, r)
				return
			}
			r2 := r.Clone(r.Context())
			r2.URL.Path = "/static/" + name
			files.ServeHTTP(w, r2)
			return
		}
		v, ok := who(r)
		if !ok {
			http.Error(w, "unauthenticated", http.StatusUnauthorized)
			return
		}
		id := strings.Trim(strings.TrimPrefix(r.URL.Path, PagePath), "/")
		if id == "notice" {
			h.Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(noticePage))
			return
		}
		if v.Own != "" && id != v.Own && id != "me" {
			// An official has their own page only.
			http.Redirect(w, r, PagePath+"/me", http.StatusSeeOther)
			return
		}
		var sites []string
		for _, s := range d.sites {
			if v.Own == "" && v.See(s) {
				sites = append(sites, s)
			}
		}
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		_ = pageTmpl.Execute(w, struct {
			User, Official, CSRF, Range string
			Own                         bool
			Sites                       []string
		}{v.Name, id, csrf(r), rangeAsked(r), v.Own != "", sites})
	})
}

// rangeAsked is the period the page opens on: ?range= (a link from an
// alert names its day), else this month. The API judges it when the page
// asks for the figures.
func rangeAsked(r *http.Request) string {
	if s := r.URL.Query().Get("range"); s != "" && len(s) <= 40 {
		return s
	}
	return "month"
}

// DayURL is the page of official id opened on one day (day's date as it
// reads in its own zone), where the facts behind that day's figures are.
func DayURL(id string, day time.Time) string {
	return PagePath + "/" + url.PathEscape(id) + "?range=" + day.Format(time.DateOnly)
}

// RosterAt answers, for the dashboard's "counter unstaffed" alerts, who
// the roster expected at a site's counter at a moment, with the link to
// their page on that day (in loc); ok false when nobody was: no shift
// then, or the rostered official away (leave, a trip, training), who is
// never named. Nil without a roster: the alerts then say nothing of
// people.
func RosterAt(r *roster.Roster, loc *time.Location) func(site, counter string, at time.Time) (id, name, link string, ok bool) {
	if r == nil {
		return nil
	}
	return func(site, counter string, at time.Time) (string, string, string, bool) {
		a, ok := r.At(counter, at)
		if !ok || a.Away {
			return "", "", "", false
		}
		// Counters are named alike across sites; the official must be
		// this site's.
		o, known := r.Official(a.Official)
		if !known || o.Site != site {
			return "", "", "", false
		}
		return o.ID, o.Name, DayURL(o.ID, at.In(loc)), true
	}
}

var pageTmpl = template.Must(template.New("officials").Parse(`<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="{{.CSRF}}">
<title>Cán bộ / Officials</title>
<link rel="stylesheet" href="/officials/static/officials.css">
<script src="/officials/static/officials.js" defer></script>
</head><body data-official="{{.Official}}">
<header><h1>Kết quả công tác của cán bộ <span class="en">/ Officials' work</span></h1>
<nav>{{if .Sites}}<a href="/">Bảng điều khiển / Dashboard</a> · {{end}}<a href="/officials/notice">Thông báo về dữ liệu / What is recorded</a> · <span>{{.User}}</span></nav></header>
<main>
<section class="bar">
  {{if .Sites}}<label>Trung tâm <span class="en">/ Center</span> <select id="site">{{range .Sites}}<option>{{.}}</option>{{end}}</select></label>{{end}}
  <label>Kỳ <span class="en">/ Period</span> <input id="range" value="{{.Range}}" size="22"></label>
  <button type="button" id="load">Xem / Show</button>
</section>
<p class="notice">Số liệu tính từ hệ thống xếp hàng, lịch trực và camera; không dùng nhận dạng khuôn mặt. Mỗi lần xem đều được ghi lại.
<span class="en">Figures from the queue system, the roster and the cameras; no face recognition. Every reading is logged.</span></p>
<p id="error" class="error" role="alert" hidden></p>
<section id="list" hidden>
  <p><a id="site-sheet" class="off" download>Bảng tổng hợp của trung tâm (XLSX) / The site's sheet</a></p>
  <table><thead><tr><th>Cán bộ</th><th>Lượt phục vụ <span class="en">(xếp hàng / lịch trực)</span></th><th>Hài lòng</th><th>Không hài lòng</th><th>Phục vụ trung vị</th><th>Có mặt</th><th>Không có dữ liệu camera</th></tr></thead><tbody></tbody></table>
  <p id="unattributed" class="note"></p>
</section>
<section id="one" hidden>
  <h2 id="name"></h2>
  <p><a id="sheet-html" class="off" target="_blank" rel="noopener">Phiếu tổng hợp (in) / Yearly sheet (print)</a> ·
     <a id="sheet-xlsx" class="off" download>Phiếu tổng hợp (XLSX)</a></p>
  <dl id="facts"></dl>
  <h3>Theo tháng <span class="en">/ By month</span></h3>
  <table id="months"><thead><tr><th>Tháng</th><th>Lượt phục vụ</th><th>Hài lòng</th><th>Có mặt</th></tr></thead><tbody></tbody></table>
  <h3>Không hài lòng <span class="en">/ Dissatisfied</span></h3>
  <ul id="dissatisfied"></ul>
  <h3>Ghi chú của cán bộ <span class="en">/ The official's notes</span></h3>
  <ul id="notes"></ul>
  {{if .Own}}<form id="note-form">
    <label>Ngày <span class="en">/ Day</span> <input type="date" name="day" required></label>
    <label>Ghi chú giải trình <span class="en">/ Note</span> <input name="text" maxlength="500" size="60" required></label>
    <button type="submit">Lưu ghi chú / Save</button>
  </form>{{end}}
</section>
</main></body></html>
`))

// noticePage tells officials what pscm records about their work and why
// (Law 91/2025/QH15): the manager prints it or shows it at the counters.
const noticePage = `<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Thông báo về dữ liệu công tác / What is recorded</title>
<style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;line-height:1.5;color:#111}.en{color:#555}h1{font-size:1.4rem}</style>
</head><body>
<h1>Thông báo về việc ghi nhận kết quả công tác tại Bộ phận Một cửa <span class="en">/ What is recorded about your work at the counters</span></h1>
<p>Theo Kế hoạch của Trung tâm, việc giám sát thái độ, tác phong của cán bộ tại Bộ phận Một cửa được gắn với đánh giá, xếp loại hằng năm. Hệ thống pscm ghi nhận:</p>
<ul>
<li>các lượt phục vụ tại quầy (từ hệ thống xếp hàng: cán bộ đăng nhập tại quầy; nếu không có, theo lịch trực do lãnh đạo lập);</li>
<li>đánh giá của người dân cho các lượt phục vụ đó, và lý do khi không hài lòng;</li>
<li>ghế của cán bộ tại quầy có người hay không, do camera ghi nhận trong giờ làm việc. Camera không nhận dạng khuôn mặt và không lưu hình ảnh ra ngoài máy tại Trung tâm; thời gian camera không quan sát được ghi là "không có dữ liệu", không tính là vắng mặt;</li>
<li>ngày nghỉ phép, công tác, tập huấn trong lịch trực không tính vào thời gian phải có mặt.</li>
</ul>
<p>Chỉ lãnh đạo Trung tâm và chính cán bộ được xem số liệu của cán bộ; mỗi lần xem đều được ghi lại. Cán bộ có thể ghi chú giải trình vào hồ sơ của mình (ví dụ: "camera bị che khuất sáng nay"). pscm không tự đề xuất xếp loại; lãnh đạo xem xét và quyết định.</p>
<p class="en">The center's plan ties the supervision of officials at the one-stop counters to their yearly evaluation. pscm records: the sessions served at the counters (from the queue system's login, or else the manager's roster); citizens' ratings of those sessions, with reasons when dissatisfied; whether the official's seat is occupied, from the camera, in working hours — no face recognition, no picture leaves the center's computer, and time the camera could not see is "no data", never absence; leave, business trips and training in the roster are not counted as time expected at the counter. Only the center's managers and the official themself see an official's figures, and every reading is logged. An official may annotate their own record. pscm proposes no classification: the managers judge.</p>
</body></html>
`
