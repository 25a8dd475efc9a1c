package report

import (
	"context"
	"fmt"
	"time"

	"github.com/pscm/pscm/internal/cases"
)

// CaseSource is where a report finds citizens' cases (the dashboard's
// case desk); a report without one has no cases section.
type CaseSource interface {
	CaseSummary(ctx context.Context, site string, from, to time.Time) (cases.Summary, error)
}

// CasesReport is the feedback and complaints section (issue 16): the total
// of every site, and each site's.
type CasesReport struct {
	Total cases.Summary
	Sites []SiteCases
}

// SiteCases is one site's cases.
type SiteCases struct {
	Site    Site
	Summary cases.Summary
}

// OnTimePct is the share of the cases handled in the period that were
// handled on time, and whether any was handled; the plan's target is all
// of them (100 %), so only 100 meets it.
func OnTimePct(s cases.Summary) (float64, bool) {
	if s.Handled == 0 {
		return 0, false
	}
	return 100 * float64(s.OnTime) / float64(s.Handled), true
}

func loadCases(ctx context.Context, src CaseSource, sites []Site, from, to time.Time) (*CasesReport, error) {
	cr := &CasesReport{Total: cases.NewSummary()}
	for _, s := range sites {
		sum, err := src.CaseSummary(ctx, s.ID, from, to)
		if err != nil {
			return nil, fmt.Errorf("report: %s: cases: %w", s.ID, err)
		}
		cr.Sites = append(cr.Sites, SiteCases{Site: s, Summary: sum})
		cr.Total.Merge(sum)
	}
	return cr, nil
}

// caseKindNames and caseChannelNames are the section's rows, in order.
func caseKindNames() []struct {
	K      cases.Kind
	VI, EN string
} {
	var out []struct {
		K      cases.Kind
		VI, EN string
	}
	for _, k := range cases.Kinds() {
		vi, en := k.Names()
		out = append(out, struct {
			K      cases.Kind
			VI, EN string
		}{k, vi, en})
	}
	return out
}

var caseChannelNames = []struct {
	C      cases.Channel
	VI, EN string
}{
	{cases.ChannelKiosk, "Máy tại Trung tâm", "Kiosk"},
	{cases.ChannelInPerson, "Trực tiếp", "In person"},
	{cases.ChannelPhone, "Điện thoại", "Phone"},
	{cases.ChannelLetter, "Thư, đơn", "Letter"},
	{cases.ChannelZalo, "Zalo", "Zalo"},
	{cases.ChannelHotline, "Đường dây nóng", "Hotline"},
	{cases.ChannelReception, "Tiếp công dân", "Citizen reception"},
	{cases.ChannelProvince, "Hệ thống của tỉnh", "Province system"},
}

// SheetCases is the workbook's cases sheet (only with a CaseSource).
const SheetCases = "Góp ý, phản ánh"

// Cases sheet layout (B holds the count).
const (
	RowCasesReceived    = 4
	RowCasesHandled     = 5
	RowCasesOnTime      = 6 // B: count, C: share, D: target, E: assessment
	RowCasesLate        = 7
	RowCasesTransferred = 8
	RowCasesRejected    = 9
	RowCasesOpen        = 10
	RowCasesOverdue     = 11
	RowCasesKinds       = 14 // one row per kind, in cases.Kinds order
	RowCasesChannels    = 21 // one row per channel
	RowCasesSites       = 31 // a header, then one row per site
)

func (w *xlsxWriter) casesSheet(r *Report) {
	const s = SheetCases
	t := r.Cases.Total
	w.row(s, 1, styled("Góp ý, phản ánh, kiến nghị, khiếu nại, tố cáo / Citizens' feedback and complaints", "title"))
	w.row(s, 3, hdr("Chỉ tiêu / Figure"), hdr("Số / Count"), hdr("Tỷ lệ / Share"), hdr("Mục tiêu / Target"), hdr("Đánh giá / Assessment"))
	w.row(s, RowCasesReceived, txt("Tiếp nhận trong kỳ / Received"), num(int64(t.Received)))
	w.row(s, RowCasesHandled, txt("Đã xử lý trong kỳ / Handled"), num(int64(t.Handled)))
	pct, ok := OnTimePct(t)
	assess := ""
	if ok {
		assess = map[bool]string{true: "Đạt / Met", false: "Chưa đạt / Not met"}[pct == 100]
	}
	w.row(s, RowCasesOnTime, txt("Xử lý đúng hạn / Handled on time"), num(int64(t.OnTime)), shareIf(ok, pct), txt("100 %"), txt(assess))
	w.row(s, RowCasesLate, txt("Xử lý trễ hạn / Handled late"), num(int64(t.Late)))
	w.row(s, RowCasesTransferred, txt("Chuyển cơ quan có thẩm quyền / Transferred"), num(int64(t.Transferred)))
	w.row(s, RowCasesRejected, txt("Không thụ lý / Rejected"), num(int64(t.Rejected)))
	w.row(s, RowCasesOpen, txt("Đang xử lý cuối kỳ / Open at the end"), num(int64(t.Open)))
	w.row(s, RowCasesOverdue, txt("trong đó quá hạn / of which overdue"), num(int64(t.Overdue)))
	w.row(s, RowCasesKinds-1, hdr("Theo loại / By kind"), hdr("Tiếp nhận / Received"))
	for i, k := range caseKindNames() {
		w.row(s, RowCasesKinds+i, txt(k.VI+" / "+k.EN), num(int64(t.ByKind[k.K])))
	}
	w.row(s, RowCasesChannels-1, hdr("Theo kênh / By channel"), hdr("Tiếp nhận / Received"))
	for i, c := range caseChannelNames {
		w.row(s, RowCasesChannels+i, txt(c.VI+" / "+c.EN), num(int64(t.ByChannel[c.C])))
	}
	w.row(s, RowCasesSites, hdr("Trung tâm / Center"), hdr("Tiếp nhận / Received"), hdr("Đã xử lý / Handled"), hdr("Đúng hạn / On time"),
		hdr("Trễ hạn / Late"), hdr("Đang xử lý / Open"), hdr("Quá hạn / Overdue"))
	for i, sc := range r.Cases.Sites {
		x := sc.Summary
		w.row(s, RowCasesSites+1+i, txt(siteName(sc.Site)), num(int64(x.Received)), num(int64(x.Handled)), num(int64(x.OnTime)),
			num(int64(x.Late)), num(int64(x.Open)), num(int64(x.Overdue)))
	}
	if w.err == nil {
		w.err = w.f.SetColWidth(s, "A", "A", 46)
	}
	if w.err == nil {
		w.err = w.f.SetColWidth(s, "B", "G", 16)
	}
}
