package officialdesk

import (
	"embed"
	"html/template"
	"net/http"
	"strings"
)

//go:embed static
var static embed.FS

// PagePath is the officials' page: /officials (a manager's list) and
// /officials/{id} (one official; /officials/me for one's own).
const PagePath = "/officials"

// Page serves the officials' page shell and its script and stylesheet;
// the figures come from the API. Behind the login.
func (d *Desk) Page(who func(*http.Request) (Viewer, bool)) http.Handler {
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
			User, Official string
			Sites          []string
		}{v.Name, id, sites})
	})
}

var pageTmpl = template.Must(template.New("officials").Parse(`<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Cán bộ / Officials</title>
<link rel="stylesheet" href="/officials/static/officials.css">
<script src="/officials/static/officials.js" defer></script>
</head><body data-official="{{.Official}}">
<header><h1>Kết quả công tác của cán bộ <span class="en">/ Officials' work</span></h1>
<nav>{{if .Sites}}<a href="/">Bảng điều khiển / Dashboard</a> · {{end}}<span>{{.User}}</span></nav></header>
<main>
<section class="bar">
  {{if .Sites}}<label>Trung tâm <span class="en">/ Center</span> <select id="site">{{range .Sites}}<option>{{.}}</option>{{end}}</select></label>{{end}}
  <label>Kỳ <span class="en">/ Period</span> <input id="range" value="month" size="22"></label>
  <button type="button" id="load">Xem / Show</button>
</section>
<p class="notice">Số liệu tính từ hệ thống xếp hàng, lịch trực và camera; không dùng nhận dạng khuôn mặt. Mỗi lần xem đều được ghi lại.
<span class="en">Figures from the queue system, the roster and the cameras; no face recognition. Every reading is logged.</span></p>
<p id="error" class="error" role="alert" hidden></p>
<section id="list" hidden>
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
</section>
</main></body></html>
`))
