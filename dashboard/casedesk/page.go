package casedesk

import (
	"embed"
	"html/template"
	"net/http"
	"slices"
	"strings"

	"github.com/pscm/pscm/internal/cases"
)

//go:embed static
var static embed.FS

// PagePath is the staff's cases page.
const PagePath = "/cases"

// Page serves the staff's cases page (behind the login) and its script and
// stylesheet: the open cases of a site by deadline, one case's history and
// the steps it may take, and the form of a case received in person, by
// phone, letter, Zalo, the hotline or the reception day. The page calls the
// JSON API with the session's CSRF token, which csrf returns.
func (d *Desk) Page(who func(*http.Request) (User, bool), csrf func(*http.Request) string) http.Handler {
	files := http.FileServerFS(static)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setPageHeaders(w.Header())
		if name, ok := strings.CutPrefix(r.URL.Path, PagePath+"/static/"); ok {
			if name != "cases.js" && name != "cases.css" {
				http.NotFound(w, r)
				return
			}
			r2 := r.Clone(r.Context())
			r2.URL.Path = "/static/" + name
			files.ServeHTTP(w, r2)
			return
		}
		if r.URL.Path != PagePath && r.URL.Path != PagePath+"/" {
			http.NotFound(w, r)
			return
		}
		u, ok := who(r)
		if !ok {
			http.Error(w, "unauthenticated", http.StatusUnauthorized)
			return
		}
		var sites []pageSite
		for _, s := range d.cfg.Sites {
			if u.See(s.ID) {
				var counters []string
				for _, c := range s.Counters {
					counters = append(counters, c.ID)
				}
				sites = append(sites, pageSite{ID: s.ID, Name: s.Name, Counters: strings.Join(counters, ",")})
			}
		}
		site := r.URL.Query().Get("site")
		if !slices.ContainsFunc(sites, func(s pageSite) bool { return s.ID == site }) && len(sites) > 0 {
			site = sites[0].ID
		}
		var kinds, channels []pageOption
		for _, k := range cases.Kinds() {
			vi, en := k.Names()
			kinds = append(kinds, pageOption{string(k), vi + " / " + en})
		}
		for _, c := range cases.Channels() {
			if c != cases.ChannelKiosk && c != cases.ChannelProvince { // those come by themselves
				channels = append(channels, pageOption{string(c), channelVI(c) + " / " + string(c)})
			}
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_ = pageTmpl.Execute(w, pageData{CSRF: csrf(r), User: u.Name, Site: site, Sites: sites, Kinds: kinds, Channels: channels})
	})
}

func setPageHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

type pageSite struct{ ID, Name, Counters string }

type pageOption struct{ Value, Label string }

type pageData struct {
	CSRF, User, Site string
	Sites            []pageSite
	Kinds, Channels  []pageOption
}

var pageTmpl = template.Must(template.New("cases").Parse(`<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="{{.CSRF}}">
<title>Góp ý, phản ánh / Citizens' cases</title>
<link rel="stylesheet" href="/cases/static/cases.css">
<script src="/cases/static/cases.js" defer></script>
</head><body>
<header>
  <h1>Góp ý, phản ánh, khiếu nại <span class="en">/ Citizens' cases</span></h1>
  <nav><a href="/">Bảng điều khiển / Dashboard</a> · <span>{{.User}}</span></nav>
</header>
<main>
<section class="bar">
  <label>Trung tâm <span class="en">/ Center</span>
    <select id="site">{{range .Sites}}<option value="{{.ID}}" data-counters="{{.Counters}}"{{if eq .ID $.Site}} selected{{end}}>{{.Name}}</option>{{end}}</select>
  </label>
  <div id="counts" class="counts" aria-live="polite"></div>
  <button type="button" id="new-open">+ Tiếp nhận mới / Receive a case</button>
  <label class="import">Nhập tệp của tỉnh (CSV, JSON) <span class="en">/ Import the province's file</span>
    <input type="file" id="import-file" accept=".csv,.json,text/csv,application/json"></label>
  <span id="import-result" aria-live="polite"></span>
</section>
<p id="error" class="error" role="alert" hidden></p>
<section id="new" class="panel" hidden>
  <h2>Tiếp nhận góp ý, phản ánh <span class="en">/ Receive a case</span></h2>
  <form id="new-form">
    <label>Loại <span class="en">/ Kind</span><select name="kind">{{range .Kinds}}<option value="{{.Value}}">{{.Label}}</option>{{end}}</select></label>
    <label>Kênh <span class="en">/ Channel</span><select name="channel">{{range .Channels}}<option value="{{.Value}}">{{.Label}}</option>{{end}}</select></label>
    <label>Quầy liên quan <span class="en">/ Counter</span><select name="counter" id="new-counter"><option value="">—</option></select></label>
    <label>Dịch vụ <span class="en">/ Service</span><input name="service" maxlength="63"></label>
    <label>Cán bộ liên quan <span class="en">/ Official</span><input name="official" maxlength="63"></label>
    <label>Ngày tiếp nhận <span class="en">/ Received (if earlier)</span><input name="received" type="datetime-local"></label>
    <label class="wide">Nội dung <span class="en">/ Message</span><textarea name="message" maxlength="2000" rows="4" required></textarea></label>
    <label>Số điện thoại <span class="en">/ Phone</span><input name="phone" maxlength="14"></label>
    <label class="check"><input type="checkbox" name="complex"> Vụ việc phức tạp <span class="en">/ complex</span></label>
    <div class="actions"><button type="submit">Lưu / Save</button><button type="button" id="new-cancel">Hủy / Cancel</button></div>
  </form>
</section>
<section class="list">
  <table id="cases">
    <thead><tr><th>Số phiếu</th><th>Loại</th><th>Kênh</th><th>Tiếp nhận</th><th>Hạn</th><th>Tình hình</th><th>Trạng thái</th><th>Người xử lý</th></tr></thead>
    <tbody></tbody>
  </table>
</section>
<section id="detail" class="panel" hidden>
  <h2 id="d-title"></h2>
  <dl id="d-facts"></dl>
  <h3>Quá trình xử lý <span class="en">/ History</span></h3>
  <ol id="d-history"></ol>
  <form id="step-form" class="step">
    <label>Bước tiếp theo <span class="en">/ Next step</span><select name="to" id="step-to"></select></label>
    <label>Giao cho <span class="en">/ Assignee</span><input name="assignee" maxlength="120"></label>
    <label class="wide">Nội dung trả lời, lý do, nơi chuyển <span class="en">/ Answer, reason, body</span><textarea name="note" maxlength="2000" rows="3"></textarea></label>
    <label>Gia hạn (ngày làm việc) <span class="en">/ Extend (working days)</span><input name="extend_days" type="number" min="0" max="60" value="0"></label>
    <div class="actions"><button type="submit">Thực hiện / Do it</button><button type="button" id="d-close">Đóng / Close</button></div>
  </form>
</section>
</main>
</body></html>
`))
