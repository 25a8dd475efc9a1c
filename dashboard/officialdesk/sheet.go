package officialdesk

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/xuri/excelize/v2"
)

// The yearly evaluation sheet (issue 17): an official's figures over a
// reporting year, by month, with their facts, and two fields left for the
// manager: notes, and a proposed classification. pscm proposes nothing
// about a person; the sheet says so.
//
//	GET /api/officials/{id}/sheet?range=<year>&format=xlsx|html

// sheetNote is the sheet's caveat, Vietnamese and English.
const sheetNote = "Số liệu do pscm tổng hợp từ hệ thống xếp hàng, lịch trực và camera (không nhận dạng khuôn mặt); " +
	"thời gian camera không quan sát được là \"không có dữ liệu\", không tính là vắng mặt. pscm không đề xuất xếp loại. / " +
	"Figures compiled by pscm from the queue system, the roster and the cameras (no face recognition); time the camera " +
	"could not see is \"no data\", never absence. pscm proposes no classification."

func (d *Desk) serveSheet(w http.ResponseWriter, r *http.Request, p Page) {
	switch r.URL.Query().Get("format") {
	case "", "html":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_ = sheetTmpl.Execute(w, struct {
			Page
			Note string
		}{p, sheetNote})
	case "xlsx":
		b, err := sheetXLSX(p)
		if err != nil {
			d.fail(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="pscm-danh-gia-%s-%s.xlsx"`, p.ID, strings.ReplaceAll(p.Range, "/", "-")))
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(b)
	default:
		writeError(w, http.StatusBadRequest, "format: html or xlsx")
	}
}

// Rows of the sheet's figures (column B).
const (
	SheetRowSessions  = 5
	SheetRowSatisfied = 6
	SheetRowServiceP  = 7
	SheetRowExpected  = 8
	SheetRowCovered   = 9
	SheetRowPresent   = 10
	SheetRowUnknown   = 11
	SheetRowMonths    = 14 // a header, then a row per month
)

func sheetXLSX(p Page) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	const s = "Đánh giá"
	if err := f.SetSheetName("Sheet1", s); err != nil {
		return nil, err
	}
	var err error
	set := func(cell string, v any) {
		if err == nil {
			err = f.SetCellValue(s, cell, v)
		}
	}
	set("A1", "PHIẾU TỔNG HỢP KẾT QUẢ CÔNG TÁC TẠI BỘ PHẬN MỘT CỬA / Yearly figures at the one-stop counters")
	set("A2", p.Name+" ("+p.ID+") — "+p.Site+" — "+p.From+"–"+p.To)
	set("A4", "Chỉ tiêu / Figure")
	set("B4", "Giá trị / Value")
	set(fmt.Sprintf("A%d", SheetRowSessions), "Lượt phục vụ (theo đăng nhập / theo lịch trực) / Sessions (by login / by roster)")
	set(fmt.Sprintf("B%d", SheetRowSessions), p.Sessions)
	set(fmt.Sprintf("C%d", SheetRowSessions), fmt.Sprintf("%d / %d", p.SessionsByLogin, p.SessionsByRoster))
	set(fmt.Sprintf("A%d", SheetRowSatisfied), "Tỷ lệ hài lòng (số đánh giá) / Satisfied (ratings)")
	if p.HasRatings {
		set(fmt.Sprintf("B%d", SheetRowSatisfied), p.SatisfiedPct/100)
	} else {
		set(fmt.Sprintf("B%d", SheetRowSatisfied), "không có dữ liệu / no data")
	}
	set(fmt.Sprintf("C%d", SheetRowSatisfied), p.RatingsTotal)
	set(fmt.Sprintf("A%d", SheetRowServiceP), "Thời gian phục vụ trung vị, phút / Median service, min")
	set(fmt.Sprintf("B%d", SheetRowServiceP), p.ServiceP50S/60)
	for row, v := range map[int]float64{SheetRowExpected: p.ExpectedS, SheetRowCovered: p.CoveredS, SheetRowPresent: p.PresentS, SheetRowUnknown: p.UnknownS} {
		set(fmt.Sprintf("B%d", row), v/3600)
	}
	set(fmt.Sprintf("A%d", SheetRowExpected), "Giờ theo lịch trực / Rostered hours")
	set(fmt.Sprintf("A%d", SheetRowCovered), "Giờ camera quan sát được / Hours seen by camera")
	set(fmt.Sprintf("A%d", SheetRowPresent), "Giờ có mặt / Hours present")
	set(fmt.Sprintf("A%d", SheetRowUnknown), "Giờ không có dữ liệu / Hours with no data")
	set(fmt.Sprintf("A%d", SheetRowMonths-1), "Theo tháng / By month")
	for i, h := range []string{"Tháng / Month", "Lượt phục vụ / Sessions", "Hài lòng / Satisfied", "Có mặt / Present"} {
		c, _ := excelize.CoordinatesToCellName(i+1, SheetRowMonths)
		set(c, h)
	}
	for i, m := range p.Months {
		row := SheetRowMonths + 1 + i
		set(fmt.Sprintf("A%d", row), m.Label)
		set(fmt.Sprintf("B%d", row), m.Sessions)
		if m.HasRatings {
			set(fmt.Sprintf("C%d", row), m.SatisfiedPct/100)
		}
		if m.HasPresence {
			set(fmt.Sprintf("D%d", row), m.PresencePct/100)
		}
	}
	end := SheetRowMonths + len(p.Months) + 2
	set(fmt.Sprintf("A%d", end), "Nhận xét của lãnh đạo / Manager's notes")
	set(fmt.Sprintf("A%d", end+3), "Đề xuất xếp loại (lãnh đạo điền) / Proposed classification (the manager fills it in)")
	set(fmt.Sprintf("A%d", end+5), sheetNote)
	if err == nil {
		err = f.SetColWidth(s, "A", "A", 70)
	}
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

var sheetTmpl = template.Must(template.New("sheet").Funcs(template.FuncMap{
	"pct":   func(v float64) string { return strings.Replace(fmt.Sprintf("%.1f %%", v), ".", ",", 1) },
	"hours": func(s float64) string { return strings.Replace(fmt.Sprintf("%.1f", s/3600), ".", ",", 1) },
	"mins":  func(s float64) string { return strings.Replace(fmt.Sprintf("%.1f", s/60), ".", ",", 1) },
}).Parse(`<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Phiếu tổng hợp — {{.Name}}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:52rem;margin:1.5rem auto;color:#111;font-size:14px}
table{border-collapse:collapse;width:100%;margin:.6rem 0}td,th{border:1px solid #999;padding:4px 8px;text-align:left}td.n{text-align:right}
.fill{height:6rem;border:1px solid #999}.small{height:2.2rem;border:1px solid #999}.note{color:#444;font-size:12px}.en{color:#555}
@media print{body{margin:0}}
</style></head><body>
<h1>Phiếu tổng hợp kết quả công tác tại Bộ phận Một cửa <span class="en">/ Yearly figures at the one-stop counters</span></h1>
<p><strong data-sheet="name">{{.Name}}</strong> ({{.ID}}) · {{.Site}} · {{.From}}–{{.To}}</p>
<table>
<tr><th>Chỉ tiêu <span class="en">/ Figure</span></th><th>Giá trị <span class="en">/ Value</span></th></tr>
<tr><td>Lượt phục vụ (theo đăng nhập / theo lịch trực)</td><td class="n" data-sheet="sessions">{{.Sessions}} ({{.SessionsByLogin}} / {{.SessionsByRoster}})</td></tr>
<tr><td>Tỷ lệ hài lòng (số đánh giá)</td><td class="n" data-sheet="satisfied">{{if .HasRatings}}{{pct .SatisfiedPct}}{{else}}không có dữ liệu{{end}} ({{.RatingsTotal}})</td></tr>
<tr><td>Hồ sơ giải quyết đúng hạn (số hồ sơ)</td><td class="n" data-sheet="dossiers">{{if .HasDossiers}}{{pct .OnTimePct}}{{else}}không có dữ liệu{{end}} ({{.DossiersTotal}})</td></tr>
<tr><td>Thời gian phục vụ trung vị (phút)</td><td class="n">{{if .Sessions}}{{mins .ServiceP50S}}{{else}}—{{end}}</td></tr>
<tr><td>Giờ theo lịch trực</td><td class="n" data-sheet="expected">{{hours .ExpectedS}}</td></tr>
<tr><td>Giờ camera quan sát được / có mặt / không có dữ liệu</td><td class="n" data-sheet="presence">{{hours .CoveredS}} / {{hours .PresentS}} / {{hours .UnknownS}}</td></tr>
</table>
<h2>Theo tháng <span class="en">/ By month</span></h2>
<table><tr><th>Tháng</th><th>Lượt phục vụ</th><th>Hài lòng</th><th>Có mặt</th></tr>
{{range .Months}}<tr><td>{{.Label}}</td><td class="n">{{.Sessions}}</td><td class="n">{{if .HasRatings}}{{pct .SatisfiedPct}}{{else}}—{{end}}</td><td class="n">{{if .HasPresence}}{{pct .PresencePct}}{{else}}—{{end}}</td></tr>{{end}}
</table>
{{if .Dissatisfied}}<h2>Đánh giá không hài lòng <span class="en">/ Dissatisfied ratings</span></h2>
<ul>{{range .Dissatisfied}}<li>{{.At.Format "02/01/2006 15:04"}} · {{.Counter}}{{if .Reasons}} · {{range $i, $r := .Reasons}}{{if $i}}, {{end}}{{$r}}{{end}}{{end}}</li>{{end}}</ul>{{end}}
{{if .Notes}}<h2>Ghi chú giải trình của cán bộ <span class="en">/ The official's notes</span></h2>
<ul>{{range .Notes}}<li>{{.Day}}: {{.Text}}</li>{{end}}</ul>{{end}}
<h2>Nhận xét của lãnh đạo <span class="en">/ Manager's notes</span></h2><div class="fill"></div>
<h2>Đề xuất xếp loại (lãnh đạo điền) <span class="en">/ Proposed classification (the manager fills it in)</span></h2><div class="small"></div>
<p class="note">{{.Note}}</p>
</body></html>
`))

// siteSheetXLSX is a site's officials over a period, one row each, for the
// yearly evaluation of the collective: the same figures, the manager's two
// columns left blank.
func siteSheetXLSX(l List) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	const s = "Cán bộ"
	if err := f.SetSheetName("Sheet1", s); err != nil {
		return nil, err
	}
	var err error
	row := func(r int, vals ...any) {
		for i, v := range vals {
			if err != nil {
				return
			}
			c, _ := excelize.CoordinatesToCellName(i+1, r)
			err = f.SetCellValue(s, c, v)
		}
	}
	row(1, "TỔNG HỢP KẾT QUẢ CÔNG TÁC CỦA CÁN BỘ TẠI BỘ PHẬN MỘT CỬA / Officials' figures — "+l.Site+" — "+l.From+"–"+l.To)
	row(3, "Cán bộ / Official", "Lượt phục vụ / Sessions", "theo đăng nhập / by login", "theo lịch trực / by roster",
		"Hài lòng / Satisfied", "Đánh giá / Ratings", "Không hài lòng / Dissatisfied", "Hồ sơ đúng hạn / Dossiers on time", "Hồ sơ / Dossiers",
		"Giờ theo lịch / Rostered h", "Giờ camera thấy / Seen h", "Giờ có mặt / Present h", "Giờ không có dữ liệu / No data h",
		"Nhận xét của lãnh đạo / Manager's notes", "Đề xuất xếp loại / Proposed classification")
	for i, o := range l.Officials {
		var sat, ot any = "", ""
		if o.HasRatings {
			sat = o.SatisfiedPct / 100
		}
		if o.HasDossiers {
			ot = o.OnTimePct / 100
		}
		row(4+i, o.Name, o.Sessions, o.SessionsByLogin, o.SessionsByRoster, sat, o.RatingsTotal, len(o.Dissatisfied), ot, o.DossiersTotal,
			o.ExpectedS/3600, o.CoveredS/3600, o.PresentS/3600, o.UnknownS/3600, "", "")
	}
	row(6+len(l.Officials), fmt.Sprintf("Không gán được cho cán bộ nào / attributed to nobody: %d lượt phục vụ, %d đánh giá", l.UnattributedSessions, l.UnattributedRatings))
	row(7+len(l.Officials), sheetNote)
	if err == nil {
		err = f.SetColWidth(s, "A", "A", 32)
	}
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
