package report

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/schema"
)

// Sheet names of the workbook.
const (
	SheetSummary  = "Tổng hợp"
	SheetSites    = "Theo trung tâm"
	SheetCounters = "Theo quầy"
	SheetMonths   = "Theo tháng"
)

// Number formats. Numbers stay numbers, so a manager can compute with
// them; the codes are Excel's built-in ones, whose separators Excel and
// LibreOffice take from the reader's regional settings: on a Vietnamese
// system 1234.5 shows as 1.234,5 and 0.96 as 96,0%. A format code cannot
// force a decimal comma (the code's '.' always means "the decimal point of
// the reader's locale"), so the workbook does not try; the HTML page
// prints Vietnamese separators whatever the reader's settings. Dates use
// escaped slashes so they read dd/mm/yyyy in every locale.
const (
	fmtInt      = "#,##0"
	fmtDec      = "#,##0.0"
	fmtPct      = "0.0%"
	fmtDate     = `dd\/mm\/yyyy`
	fmtDateTime = `dd\/mm\/yyyy hh:mm`
	fmtMonth    = `mm\/yyyy`
)

// Summary sheet layout: the rows that hold each figure, so that the
// workbook's cells can be checked by address (B is the result column).
const (
	RowSatisfaction = 8  // B: satisfied share, C: target, D: assessment
	RowOnTime       = 9  // same for dossiers on time or early
	RowWaitP90      = 10 // minutes
	RowServiceP90   = 11
	RowPresence     = 12
	RowLevels       = 15 // four levels from very_satisfied, then total, then satisfied
	RowOutcomes     = 23 // early, on_time, late, then total, then on time or early
	RowTimes        = 30 // wait, service (B mean, C p50, D p90, minutes), then sessions, no-shows
	RowFindings     = 36 // each finding: Vietnamese, then English on the next row
)

// Levels and outcomes in report order, with their Vietnamese and English names.
var (
	levelNames = []struct {
		L      schema.Level
		VI, EN string
	}{
		{schema.LevelVerySatisfied, "Rất hài lòng", "Very satisfied"},
		{schema.LevelSatisfied, "Hài lòng", "Satisfied"},
		{schema.LevelNeutral, "Bình thường", "Neutral"},
		{schema.LevelDissatisfied, "Không hài lòng", "Dissatisfied"},
	}
	outcomeNames = []struct {
		O      schema.Outcome
		VI, EN string
	}{
		{schema.OutcomeEarly, "Trước hạn", "Early"},
		{schema.OutcomeOnTime, "Đúng hạn", "On time"},
		{schema.OutcomeLate, "Quá hạn", "Late"},
	}
)

// levelName is a level's Vietnamese and English names (its ID when unknown).
func levelName(l schema.Level) (vi, en string) {
	for _, n := range levelNames {
		if n.L == l {
			return n.VI, n.EN
		}
	}
	return string(l), string(l)
}

// xlsxWriter carries the workbook, its styles and the first error, so the
// layout code reads as a list of cells.
type xlsxWriter struct {
	f      *excelize.File
	err    error
	styles map[string]int
}

func (w *xlsxWriter) style(name string) int { return w.styles[name] }

// set writes v at (col, row) of sheet with a named style ("" for none).
func (w *xlsxWriter) set(sheet string, col, row int, v any, style string) {
	if w.err != nil {
		return
	}
	cell, err := excelize.CoordinatesToCellName(col, row)
	if err != nil {
		w.err = err
		return
	}
	switch x := v.(type) {
	case float64:
		w.err = w.f.SetCellFloat(sheet, cell, x, -1, 64)
	case nil:
	default:
		w.err = w.f.SetCellValue(sheet, cell, v)
	}
	if w.err == nil && style != "" {
		w.err = w.f.SetCellStyle(sheet, cell, cell, w.style(style))
	}
}

// row writes values from column A, each with its style.
func (w *xlsxWriter) row(sheet string, row int, cells ...cellv) {
	for i, c := range cells {
		w.set(sheet, i+1, row, c.v, c.s)
	}
}

type cellv struct {
	v any
	s string
}

func txt(s string) cellv            { return cellv{s, ""} }
func hdr(s string) cellv            { return cellv{s, "header"} }
func num(n int64) cellv             { return cellv{n, "int"} }
func blank() cellv                  { return cellv{nil, ""} }
func styled(v any, s string) cellv  { return cellv{v, s} }
func share(pct float64) cellv       { return cellv{pct / 100, "pct"} }
func minutes(seconds float64) cellv { return cellv{seconds / 60, "dec"} }

// shownIf is a share against its target (the plan's two) as a fraction,
// with the decimals kpi.ShareShown gives it, so the cell never reads
// across the target beside its assessment; a blank cell without data.
func shownIf(ok bool, v float64, d int) cellv {
	if !ok {
		return blank()
	}
	if d <= 1 {
		return share(v)
	}
	return cellv{v / 100, "pct" + strconv.Itoa(d)}
}

// satCell and onTimeCell are the plan's two shares of st as cells.
func (r *Report) satCell(st kpi.Stats) cellv {
	v, d := r.Targets.SatisfactionShown(st.Satisfied, st.RatingsTotal)
	return shownIf(st.HasRatings, v, d)
}

func (r *Report) onTimeCell(st kpi.Stats) cellv {
	v, d := r.Targets.OnTimeShown(st.OnTime, st.DossiersTotal)
	return shownIf(st.HasDossiers, v, d)
}

// shareIf is the share as a fraction, or a blank cell without data.
func shareIf(ok bool, pct float64) cellv {
	if !ok {
		return blank()
	}
	return share(pct)
}

func minutesIf(ok bool, seconds float64) cellv {
	if !ok {
		return blank()
	}
	return minutes(seconds)
}

// wallUTC returns t's wall clock in loc as a UTC time: Excel dates have no
// zone, and excelize converts the instant given.
func wallUTC(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), 0, time.UTC)
}

// WriteXLSX writes the report as an XLSX workbook with four sheets:
// SheetSummary (layout in the Row* constants), SheetSites, SheetCounters
// and SheetMonths (a header row, then one row per site, counter or month).
func (r *Report) WriteXLSX(out io.Writer) error {
	f := excelize.NewFile()
	defer f.Close()
	w := &xlsxWriter{f: f, styles: map[string]int{}}
	if err := w.makeStyles(); err != nil {
		return err
	}
	if err := f.SetSheetName("Sheet1", SheetSummary); err != nil {
		return err
	}
	sheets := []string{SheetSites, SheetCounters, SheetMonths}
	if r.Cases != nil {
		sheets = append(sheets, SheetCases)
	}
	for _, s := range sheets {
		if _, err := f.NewSheet(s); err != nil {
			return err
		}
	}
	_ = f.SetDocProps(&excelize.DocProperties{Title: "Báo cáo kết quả — " + r.Title, Creator: "pscm", Language: "vi-VN"})
	r.xlsxSummary(w)
	r.xlsxSites(w)
	r.xlsxCounters(w)
	r.xlsxMonths(w)
	if r.Cases != nil {
		w.casesSheet(r)
	}
	if w.err != nil {
		return fmt.Errorf("report: xlsx: %w", w.err)
	}
	if err := f.Write(out); err != nil {
		return fmt.Errorf("report: xlsx: %w", err)
	}
	return nil
}

func (w *xlsxWriter) makeStyles() error {
	border := []excelize.Border{{Type: "left", Color: "BBBBBB", Style: 1}, {Type: "right", Color: "BBBBBB", Style: 1},
		{Type: "top", Color: "BBBBBB", Style: 1}, {Type: "bottom", Color: "BBBBBB", Style: 1}}
	custom := func(s string) *string { return &s }
	defs := map[string]*excelize.Style{
		"title":    {Font: &excelize.Font{Bold: true, Size: 14}},
		"bold":     {Font: &excelize.Font{Bold: true}},
		"en":       {Font: &excelize.Font{Italic: true, Color: "555555"}},
		"header":   {Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"E8EEF4"}}, Border: border, Alignment: &excelize.Alignment{WrapText: true, Vertical: "center"}},
		"int":      {CustomNumFmt: custom(fmtInt), Border: border},
		"dec":      {CustomNumFmt: custom(fmtDec), Border: border},
		"pct":      {CustomNumFmt: custom(fmtPct), Border: border},
		"pct2":     {CustomNumFmt: custom("0.00%"), Border: border},
		"pct3":     {CustomNumFmt: custom("0.000%"), Border: border},
		"pct4":     {CustomNumFmt: custom("0.0000%"), Border: border},
		"date":     {CustomNumFmt: custom(fmtDate)},
		"datetime": {CustomNumFmt: custom(fmtDateTime)},
		"month":    {CustomNumFmt: custom(fmtMonth), Border: border},
		"met":      {Font: &excelize.Font{Bold: true, Color: "1B7F3B"}, Border: border},
		"notmet":   {Font: &excelize.Font{Bold: true, Color: "B3261E"}, Border: border},
		"cell":     {Border: border},
	}
	for name, st := range defs {
		id, err := w.f.NewStyle(st)
		if err != nil {
			return fmt.Errorf("report: xlsx style %s: %w", name, err)
		}
		w.styles[name] = id
	}
	return nil
}

// assess is the Vietnamese/English verdict cell for a target.
func assess(known, met bool) cellv {
	switch {
	case !known:
		return styled("Không có dữ liệu / No data", "cell")
	case met:
		return styled("Đạt / Met", "met")
	}
	return styled("Chưa đạt / Not met", "notmet")
}

func (r *Report) xlsxSummary(w *xlsxWriter) {
	const s = SheetSummary
	st, t := r.Total, r.Targets
	w.set(s, 1, 1, "BÁO CÁO KẾT QUẢ THỰC HIỆN KẾ HOẠCH — "+r.Title, "title")
	w.set(s, 1, 2, r.periodVI(), "bold")
	w.set(s, 1, 3, r.periodEN(), "en")
	w.row(s, 4, txt("Từ ngày / From"), styled(wallUTC(r.From, r.Loc), "date"), txt("Đến ngày / To"), styled(wallUTC(r.To.AddDate(0, 0, -1), r.Loc), "date"))
	w.row(s, 5, txt("Lập lúc / Generated"), styled(wallUTC(r.Generated, r.Loc), "datetime"))

	w.row(s, RowSatisfaction-1, hdr("Chỉ tiêu / Indicator"), hdr("Kết quả / Result"), hdr("Mục tiêu / Target"), hdr("Đánh giá / Assessment"))
	w.row(s, RowSatisfaction, styled("Tỷ lệ hài lòng / Satisfied share", "cell"), r.satCell(st),
		share(t.SatisfactionPct), assess(st.HasRatings, t.SatisfactionMet(st)))
	w.row(s, RowOnTime, styled("Hồ sơ đúng hạn và trước hạn / Dossiers on time or early", "cell"), r.onTimeCell(st),
		share(t.OnTimePct), assess(st.HasDossiers, t.OnTimeMet(st)))
	for _, x := range []struct {
		row         int
		label       string
		target, p90 float64
	}{
		{RowWaitP90, "Thời gian chờ P90 (phút) / Wait time P90 (min)", t.WaitP90S, st.WaitP90S},
		{RowServiceP90, "Thời gian phục vụ P90 (phút) / Service time P90 (min)", t.ServiceP90S, st.ServiceP90S},
	} {
		known := st.Sessions > 0 && r.HasPercentiles
		target, verdict := styled("—", "cell"), styled("Không đặt mục tiêu / No target", "cell")
		if x.target > 0 {
			target, verdict = minutes(x.target), assess(known, x.p90 <= x.target)
		}
		if st.Sessions > 0 && !r.HasPercentiles {
			verdict = styled("Xem từng trung tâm / See each center", "cell")
		}
		w.row(s, x.row, styled(x.label, "cell"), minutesIf(known, x.p90), target, verdict)
	}
	// Presence is of the time with camera data; the rest is stated as no
	// data beside it, never counted as absence.
	presenceNote := styled("Theo dõi / Monitored", "cell")
	if st.StaffWorkS > 0 && st.StaffNoDataPct >= 0.05 {
		presenceNote = styled(fmt.Sprintf("Không có dữ liệu camera %s thời gian làm việc / No camera data %s of working time",
			pctVI(st.StaffNoDataPct), pctEN(st.StaffNoDataPct)), "cell")
	}
	w.row(s, RowPresence, styled("Cán bộ có mặt tại quầy (thời gian có dữ liệu camera) / Staff presence (time with camera data)", "cell"),
		shareIf(st.HasPresence, st.StaffPresencePct), styled("—", "cell"), presenceNote)

	w.row(s, RowLevels-1, hdr("Đánh giá theo mức / Ratings by level"), hdr("Số lượt / Count"), hdr("Tỷ lệ / Share"))
	for i, l := range levelNames {
		n := st.Ratings[l.L]
		w.row(s, RowLevels+i, styled(l.VI+" / "+l.EN, "cell"), num(n), shareIf(st.HasRatings, pct(n, st.RatingsTotal)))
	}
	w.row(s, RowLevels+4, styled("Tổng / Total", "bold"), num(st.RatingsTotal))
	w.row(s, RowLevels+5, styled("Hài lòng (được tính) / Counted as satisfied", "cell"), num(st.Satisfied), r.satCell(st))

	w.row(s, RowOutcomes-1, hdr("Hồ sơ theo kết quả / Dossiers by outcome"), hdr("Số hồ sơ / Count"), hdr("Tỷ lệ / Share"))
	for i, o := range outcomeNames {
		n := st.Dossiers[o.O]
		w.row(s, RowOutcomes+i, styled(o.VI+" / "+o.EN, "cell"), num(n), shareIf(st.HasDossiers, pct(n, st.DossiersTotal)))
	}
	w.row(s, RowOutcomes+3, styled("Tổng / Total", "bold"), num(st.DossiersTotal))
	w.row(s, RowOutcomes+4, styled("Đúng hạn và trước hạn / On time or early", "cell"), num(st.OnTime), r.onTimeCell(st))

	w.row(s, RowTimes-1, hdr("Thời gian (phút) / Times (min)"), hdr("Trung bình / Mean"), hdr("Trung vị / Median"), hdr("P90"))
	has, pctl := st.Sessions > 0, st.Sessions > 0 && r.HasPercentiles
	w.row(s, RowTimes, styled("Chờ / Wait", "cell"), minutesIf(has, st.WaitMeanS), minutesIf(pctl, st.WaitP50S), minutesIf(pctl, st.WaitP90S))
	w.row(s, RowTimes+1, styled("Phục vụ / Service", "cell"), minutesIf(has, st.ServiceMeanS), minutesIf(pctl, st.ServiceP50S), minutesIf(pctl, st.ServiceP90S))
	w.row(s, RowTimes+2, styled("Lượt phục vụ / Sessions", "cell"), num(st.Sessions))
	w.row(s, RowTimes+3, styled("Không có mặt khi gọi / No-shows", "cell"), num(st.NoShows))

	w.set(s, 1, RowFindings-1, "Tóm tắt / Summary", "title")
	for i, fd := range r.Findings {
		w.set(s, 1, RowFindings+2*i, fd.VI, "")
		w.set(s, 1, RowFindings+2*i+1, fd.EN, "en")
	}
	if w.err == nil {
		w.err = w.f.SetColWidth(s, "A", "A", 58)
	}
	if w.err == nil {
		w.err = w.f.SetColWidth(s, "B", "D", 20)
	}
}

// siteRow is the figures of one site, or the total, on SheetSites.
func (r *Report) siteRow(name, id string, st kpi.Stats, pctl bool) []cellv {
	t := r.Targets
	has := st.Sessions > 0
	return []cellv{styled(name, "cell"), styled(id, "cell"),
		num(st.RatingsTotal), num(st.Satisfied), r.satCell(st), assess(st.HasRatings, t.SatisfactionMet(st)),
		num(st.DossiersTotal), num(st.OnTime), r.onTimeCell(st), assess(st.HasDossiers, t.OnTimeMet(st)),
		num(st.Sessions), minutesIf(has, st.WaitMeanS), minutesIf(has && pctl, st.WaitP90S),
		minutesIf(has, st.ServiceMeanS), minutesIf(has && pctl, st.ServiceP90S), num(st.NoShows), shareIf(st.HasPresence, st.StaffPresencePct)}
}

func (r *Report) xlsxSites(w *xlsxWriter) {
	const s = SheetSites
	w.row(s, 1, hdr("Trung tâm / Center"), hdr("Mã / ID"), hdr("Số lượt đánh giá / Ratings"), hdr("Hài lòng / Satisfied"),
		hdr("Tỷ lệ hài lòng / Satisfied share"), hdr("Đánh giá / Assessment"), hdr("Hồ sơ / Dossiers"), hdr("Đúng hạn và trước hạn / On time or early"),
		hdr("Tỷ lệ đúng hạn / On-time share"), hdr("Đánh giá / Assessment"), hdr("Lượt phục vụ / Sessions"),
		hdr("Chờ TB (phút) / Wait mean (min)"), hdr("Chờ P90 (phút) / Wait P90 (min)"), hdr("Phục vụ TB (phút) / Service mean (min)"),
		hdr("Phục vụ P90 (phút) / Service P90 (min)"), hdr("Không có mặt khi gọi / No-shows"), hdr("Cán bộ có mặt / Staff presence"))
	for i, sr := range r.Sites {
		w.row(s, 2+i, r.siteRow(siteName(sr.Site), sr.Site.ID, sr.Stats, true)...)
	}
	if len(r.Sites) > 1 {
		w.row(s, 2+len(r.Sites), r.siteRow("Tổng / Total", "", r.Total, false)...)
	}
	if w.err == nil {
		w.err = w.f.SetColWidth(s, "A", "A", 40)
	}
	if w.err == nil {
		w.err = w.f.SetColWidth(s, "B", "Q", 14)
	}
}

func (r *Report) xlsxCounters(w *xlsxWriter) {
	const s = SheetCounters
	w.row(s, 1, hdr("Trung tâm / Center"), hdr("Quầy / Counter"), hdr("Mã quầy / ID"), hdr("Số lượt đánh giá / Ratings"),
		hdr("Hài lòng / Satisfied"), hdr("Tỷ lệ hài lòng / Satisfied share"), hdr("Lượt phục vụ / Sessions"),
		hdr("Chờ TB (phút) / Wait mean (min)"), hdr("Chờ P90 (phút) / Wait P90 (min)"), hdr("Phục vụ TB (phút) / Service mean (min)"),
		hdr("Phục vụ P90 (phút) / Service P90 (min)"), hdr("Không có mặt khi gọi / No-shows"), hdr("Cán bộ có mặt / Staff presence"))
	row := 2
	for _, sr := range r.Sites {
		for _, c := range sr.Counters {
			st, has := c.Stats, c.Stats.Sessions > 0
			w.row(s, row, styled(siteName(sr.Site), "cell"), styled(c.Name, "cell"), styled(c.ID, "cell"),
				num(st.RatingsTotal), num(st.Satisfied), r.satCell(st), num(st.Sessions),
				minutesIf(has, st.WaitMeanS), minutesIf(has, st.WaitP90S), minutesIf(has, st.ServiceMeanS), minutesIf(has, st.ServiceP90S),
				num(st.NoShows), shareIf(st.HasPresence, st.StaffPresencePct))
			row++
		}
	}
	if w.err == nil {
		w.err = w.f.SetColWidth(s, "A", "B", 32)
	}
	if w.err == nil {
		w.err = w.f.SetColWidth(s, "C", "M", 14)
	}
}

func (r *Report) xlsxMonths(w *xlsxWriter) {
	const s = SheetMonths
	w.row(s, 1, hdr("Tháng / Month"), hdr("Số lượt đánh giá / Ratings"), hdr("Hài lòng / Satisfied"), hdr("Tỷ lệ hài lòng / Satisfied share"),
		hdr("Hồ sơ / Dossiers"), hdr("Đúng hạn và trước hạn / On time or early"), hdr("Tỷ lệ đúng hạn / On-time share"),
		hdr("Lượt phục vụ / Sessions"), hdr("Chờ TB (phút) / Wait mean (min)"), hdr("Phục vụ TB (phút) / Service mean (min)"),
		hdr("Cán bộ có mặt / Staff presence"))
	for i, m := range r.Months {
		st, has := m.Stats, m.Stats.Sessions > 0
		w.row(s, 2+i, styled(wallUTC(m.Start, r.Loc), "month"), num(st.RatingsTotal), num(st.Satisfied), r.satCell(st),
			num(st.DossiersTotal), num(st.OnTime), r.onTimeCell(st), num(st.Sessions),
			minutesIf(has, st.WaitMeanS), minutesIf(has, st.ServiceMeanS), shareIf(st.HasPresence, st.StaffPresencePct))
	}
	if w.err == nil {
		w.err = w.f.SetColWidth(s, "A", "K", 16)
	}
}

func pct(n, total int64) float64 {
	if total == 0 {
		return 0
	}
	return float64(n) * 100 / float64(total)
}
