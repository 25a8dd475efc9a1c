package insights

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/pscm/pscm/internal/kpi"
)

// The workbook is the view (View) as four sheets, Vietnamese first with
// English beside, laid out as internal/report's is: numbers stay numbers
// with Excel's built-in formats (the reader's locale gives 96,0%), shares
// with the decimals kpi gives them, and a figure without data says so in
// words rather than leaving a 0 or an empty cell a sum would take as 0.
//
// Sheet names cannot hold '/', so the English is in brackets.
const (
	SheetOverview   = "Tổng quan (Overview)"
	SheetCounters   = "Quầy (Counters)"
	SheetProcedures = "Thủ tục (Procedures)"
	SheetLate       = "Hồ sơ trễ hạn (Late dossiers)"
)

// Rows of SheetOverview, for tests and readers by address: column B is this
// period, C the same days last year, D the difference, E the target, F
// this period's assessment.
const (
	RowOverviewHeader = 6
	RowSatisfaction   = 7
	RowRatings        = 8
	RowSatisfied      = 9
	RowOnTime         = 10
	RowDossiers       = 11
	RowOnTimeOrEarly  = 12
	RowLate           = 13
	RowSessions       = 14
)

// First data rows of the other sheets (the header is the row above).
const (
	RowCountersFirst   = 5
	RowProceduresFirst = 4
	RowLateFirst       = 5
)

// noData is the cell of a figure the system does not have.
const noData = "Không có dữ liệu / No data"

const (
	fmtInt      = "#,##0"
	fmtDec      = "#,##0.0"
	fmtDate     = `dd\/mm\/yyyy`
	fmtDateTime = `dd\/mm\/yyyy hh:mm`
	fmtPP       = "+0.0;-0.0;0.0"
)

// sheet writes cells of one sheet, keeping the first error, so the layout
// reads as a list of cells.
type sheet struct {
	f      *excelize.File
	name   string
	styles map[string]int
	err    *error
}

// set writes v at (col, row) with a named style ("" for none).
func (s sheet) set(col, row int, v any, style string) {
	if *s.err != nil {
		return
	}
	cell, err := excelize.CoordinatesToCellName(col, row)
	if err != nil {
		*s.err = err
		return
	}
	switch x := v.(type) {
	case nil:
	case string:
		// Always a string cell: a procedure code or dossier number that
		// starts with '=' is text, never a formula.
		err = s.f.SetCellStr(s.name, cell, x)
	case float64:
		err = s.f.SetCellFloat(s.name, cell, x, -1, 64)
	default:
		err = s.f.SetCellValue(s.name, cell, v)
	}
	if err == nil && style != "" {
		err = s.f.SetCellStyle(s.name, cell, cell, s.styles[style])
	}
	*s.err = err
}

// row writes cells from column A.
func (s sheet) row(row int, cells ...cell) {
	for i, c := range cells {
		s.set(i+1, row, c.v, c.style)
	}
}

func (s sheet) widths(w ...float64) {
	for i, x := range w {
		if *s.err != nil {
			return
		}
		col, _ := excelize.ColumnNumberToName(i + 1)
		*s.err = s.f.SetColWidth(s.name, col, col, x)
	}
}

type cell struct {
	v     any
	style string
}

func txt(s string) cell { return cell{s, "cell"} }
func hdr(s string) cell { return cell{s, "header"} }
func num(n int64) cell  { return cell{n, "int"} }
func none() cell        { return cell{noData, "nodata"} }
func minutes(s float64) cell {
	return cell{s / 60, "dec"}
}

// shareCell is a share as a fraction with the decimals kpi shows it with,
// or "no data".
func shareCell(sh *Share) cell {
	if sh == nil {
		return none()
	}
	d := min(max(sh.Decimals, 1), 4)
	// The fraction rounded to the digits shown, so the cell holds 0.9496
	// and not the 0.94959999… that 94.96/100 is in binary.
	p := math.Pow10(d + 2)
	return cell{math.Round(sh.Shown/100*p) / p, "pct" + strconv.Itoa(d)}
}

func assessCell(sh *Share) cell {
	switch {
	case sh == nil:
		return none()
	case sh.Met:
		return cell{"Đạt / Met", "met"}
	}
	return cell{"Chưa đạt / Not met", "notmet"}
}

func ppCell(v *float64) cell {
	if v == nil {
		return none()
	}
	return cell{*v, "pp"}
}

// wall is t's wall clock as a zoneless spreadsheet date: excelize writes
// the instant it is given, and Excel has no zones.
func wall(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
}

func dayCell(s string) cell {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return txt(s)
	}
	return cell{t, "date"}
}

// writeXLSX writes v as a workbook.
func writeXLSX(v View, out io.Writer) error {
	f := excelize.NewFile()
	defer f.Close()
	styles, err := makeStyles(f)
	if err != nil {
		return err
	}
	if err := f.SetSheetName("Sheet1", SheetOverview); err != nil {
		return err
	}
	for _, name := range []string{SheetCounters, SheetProcedures, SheetLate} {
		if _, err := f.NewSheet(name); err != nil {
			return err
		}
	}
	_ = f.SetDocProps(&excelize.DocProperties{Title: "Phân tích kết quả — " + v.Site.Name, Creator: "pscm", Language: "vi-VN"})
	var werr error
	sh := func(name string) sheet { return sheet{f: f, name: name, styles: styles, err: &werr} }
	overviewSheet(sh(SheetOverview), v)
	countersSheet(sh(SheetCounters), v)
	proceduresSheet(sh(SheetProcedures), v)
	lateSheet(sh(SheetLate), v)
	if werr != nil {
		return fmt.Errorf("insights: xlsx: %w", werr)
	}
	if err := f.Write(out); err != nil {
		return fmt.Errorf("insights: xlsx: %w", err)
	}
	return nil
}

func makeStyles(f *excelize.File) (map[string]int, error) {
	border := []excelize.Border{{Type: "left", Color: "BBBBBB", Style: 1}, {Type: "right", Color: "BBBBBB", Style: 1},
		{Type: "top", Color: "BBBBBB", Style: 1}, {Type: "bottom", Color: "BBBBBB", Style: 1}}
	custom := func(s string) *string { return &s }
	defs := map[string]*excelize.Style{
		"title":    {Font: &excelize.Font{Bold: true, Size: 14}},
		"bold":     {Font: &excelize.Font{Bold: true}},
		"header":   {Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"E8EEF4"}}, Border: border, Alignment: &excelize.Alignment{WrapText: true, Vertical: "center"}},
		"cell":     {Border: border},
		"nodata":   {Font: &excelize.Font{Italic: true, Color: "666666"}, Border: border},
		"int":      {CustomNumFmt: custom(fmtInt), Border: border},
		"dec":      {CustomNumFmt: custom(fmtDec), Border: border},
		"pp":       {CustomNumFmt: custom(fmtPP), Border: border},
		"pct1":     {CustomNumFmt: custom("0.0%"), Border: border},
		"pct2":     {CustomNumFmt: custom("0.00%"), Border: border},
		"pct3":     {CustomNumFmt: custom("0.000%"), Border: border},
		"pct4":     {CustomNumFmt: custom("0.0000%"), Border: border},
		"date":     {CustomNumFmt: custom(fmtDate), Border: border},
		"datetime": {CustomNumFmt: custom(fmtDateTime), Border: border},
		"met":      {Font: &excelize.Font{Bold: true, Color: "1B7F3B"}, Border: border},
		"notmet":   {Font: &excelize.Font{Bold: true, Color: "B3261E"}, Border: border},
	}
	out := make(map[string]int, len(defs))
	for name, st := range defs {
		id, err := f.NewStyle(st)
		if err != nil {
			return nil, fmt.Errorf("insights: xlsx style %s: %w", name, err)
		}
		out[name] = id
	}
	return out, nil
}

// countDiff is this count minus last year's, or "no data" when last year
// has nothing of that kind: pscm may not have been counting then, and a
// difference against nothing is not a trend.
func countDiff(this, last int64, lastKnown bool) cell {
	if !lastKnown {
		return none()
	}
	return cell{this - last, "int"}
}

func overviewSheet(s sheet, v View) {
	o := v.Overview
	s.set(1, 1, "PHÂN TÍCH KẾT QUẢ — "+v.Site.Name+" / Insights — "+v.Site.Name, "title")
	s.row(2, cell{"Kỳ này / This period", "bold"}, dayCell(o.This.From), txt("đến / to"), dayCell(o.This.To))
	s.row(3, cell{"Cùng kỳ năm trước / Same period last year", "bold"}, dayCell(o.LastYear.From), txt("đến / to"), dayCell(o.LastYear.To))
	s.row(4, cell{"Lập lúc / Generated", "bold"}, cell{wall(v.Generated), "datetime"})

	s.row(RowOverviewHeader, hdr("Chỉ tiêu / Indicator"), hdr("Kỳ này / This period"), hdr("Cùng kỳ năm trước / Same period last year"),
		hdr("Chênh lệch (điểm %, số lượng) / Difference (points, count)"), hdr("Mục tiêu / Target"), hdr("Đánh giá kỳ này / Assessment, this period"))
	t, l := o.This, o.LastYear
	hasRatings, hasDossiers := l.Satisfaction != nil, l.OnTime != nil
	// The target with its rule, "> 95 %": the rule decides the verdict.
	target := func(pct float64, r kpi.Rule) cell {
		return txt(r.Symbol() + " " + strings.Replace(strconv.FormatFloat(pct, 'f', -1, 64), ".", ",", 1) + " %")
	}
	s.row(RowSatisfaction, txt("Tỷ lệ hài lòng / Satisfied share"), shareCell(t.Satisfaction), shareCell(l.Satisfaction), ppCell(o.SatisfiedDeltaPP),
		target(v.Targets.SatisfactionPct, v.Targets.SatisfactionRule), assessCell(t.Satisfaction))
	s.row(RowRatings, txt("Số lượt đánh giá / Ratings"), num(t.Ratings), num(l.Ratings), countDiff(t.Ratings, l.Ratings, hasRatings))
	s.row(RowSatisfied, txt("Hài lòng (được tính) / Counted as satisfied"), num(t.Satisfied), num(l.Satisfied), countDiff(t.Satisfied, l.Satisfied, hasRatings))
	s.row(RowOnTime, txt("Tỷ lệ đúng hạn và trước hạn / On time or early share"), shareCell(t.OnTime), shareCell(l.OnTime), ppCell(o.OnTimeDeltaPP),
		target(v.Targets.OnTimePct, v.Targets.OnTimeRule), assessCell(t.OnTime))
	s.row(RowDossiers, txt("Hồ sơ đã giải quyết / Dossiers resolved"), num(t.Dossiers), num(l.Dossiers), countDiff(t.Dossiers, l.Dossiers, hasDossiers))
	s.row(RowOnTimeOrEarly, txt("Đúng hạn và trước hạn / On time or early"), num(t.OnTimeOrEarly), num(l.OnTimeOrEarly), countDiff(t.OnTimeOrEarly, l.OnTimeOrEarly, hasDossiers))
	s.row(RowLate, txt("Trễ hạn / Late"), num(t.Late), num(l.Late), countDiff(t.Late, l.Late, hasDossiers))
	s.row(RowSessions, txt("Lượt phục vụ / Sessions"), num(t.Sessions), num(l.Sessions), countDiff(t.Sessions, l.Sessions, l.Sessions > 0))
	s.widths(52, 22, 26, 26, 14, 26)
}

func countersSheet(s sheet, v View) {
	c := v.Counters
	s.set(1, 1, "Xếp hạng quầy / Counters ranked", "title")
	s.set(1, 2, fmt.Sprintf("Xếp hạng hài lòng khi có ít nhất %s lượt đánh giá (bằng tỷ lệ thì quầy nhiều lượt hơn đứng trước); xếp hạng thời gian phục vụ (trung vị, ngắn nhất trước) khi có ít nhất %s lượt phục vụ.",
		intVI(c.MinRatings), intVI(c.MinSessions)), "")
	s.set(1, 3, fmt.Sprintf("Satisfaction ranked with at least %s ratings (equal shares: more ratings first); service time (median, shortest first) with at least %s sessions.",
		intEN(c.MinRatings), intEN(c.MinSessions)), "")
	s.row(RowCountersFirst-1, hdr("Hạng hài lòng / Satisfaction rank"), hdr("Quầy / Counter"), hdr("Mã / ID"), hdr("Số lượt đánh giá / Ratings"),
		hdr("Hài lòng / Satisfied"), hdr("Tỷ lệ hài lòng / Satisfied share"), hdr("Hạng thời gian phục vụ / Service-time rank"),
		hdr("Lượt phục vụ / Sessions"), hdr("Phục vụ, trung vị (phút) / Service median (min)"), hdr("Phục vụ, trung bình (phút) / Service mean (min)"),
		hdr("Chờ, trung vị (phút) / Wait median (min)"), hdr("Ghi chú / Note"))
	rank := func(r *int) cell {
		if r == nil {
			return cell{"Chưa xếp hạng / Not ranked", "nodata"}
		}
		return num(int64(*r))
	}
	mins := func(s *float64) cell {
		if s == nil {
			return none()
		}
		return minutes(*s)
	}
	for i, x := range c.List {
		name := x.NameVI
		if x.NameEN != "" && x.NameEN != x.NameVI {
			name += " / " + x.NameEN
		}
		var notes []string
		for _, n := range []string{x.SatisfactionNote, x.ServiceNote} {
			if n != "" {
				notes = append(notes, n)
			}
		}
		s.row(RowCountersFirst+i, rank(x.SatisfactionRank), txt(name), txt(x.ID), num(x.Ratings), num(x.Satisfied), shareCell(x.Satisfaction),
			rank(x.ServiceRank), num(x.Sessions), mins(x.ServiceP50S), mins(x.ServiceMeanS), mins(x.WaitP50S), txt(strings.Join(notes, "; ")))
	}
	s.widths(16, 30, 10, 14, 12, 16, 18, 12, 18, 18, 18, 90)
}

func proceduresSheet(s sheet, v View) {
	p := v.Procedures
	s.set(1, 1, "Hồ sơ đúng hạn theo thủ tục (kém nhất trước) / On time by procedure (worst first)", "title")
	s.row(RowProceduresFirst-1, hdr("Thủ tục / Procedure"), hdr("Hồ sơ / Dossiers"), hdr("Trước hạn / Early"), hdr("Đúng hạn / On time"),
		hdr("Trễ hạn / Late"), hdr("Tỷ lệ đúng hạn và trước hạn / On time or early share"), hdr("Đánh giá / Assessment"))
	if p.TooMany {
		s.set(1, RowProceduresFirst, p.Note, "nodata")
	}
	for i, x := range p.List {
		sh := x.Share
		s.row(RowProceduresFirst+i, txt(x.Procedure), num(x.Dossiers), num(x.Early), num(x.OnTime), num(x.Late), shareCell(&sh), assessCell(&sh))
	}
	s.widths(30, 12, 12, 12, 12, 22, 22)
}

func lateSheet(s sheet, v View) {
	l := v.Late
	s.set(1, 1, "Hồ sơ trễ hạn (mới nhất trước) / Late dossiers (newest first)", "title")
	s.set(1, 2, fmt.Sprintf("Hiển thị %s trên %s hồ sơ trễ hạn / Showing %s of %s late dossiers", intVI(int64(l.Shown)), intVI(l.Total), intEN(int64(l.Shown)), intEN(l.Total)), "bold")
	s.row(RowLateFirst-1, hdr("Số hồ sơ / Dossier"), hdr("Thủ tục / Procedure"), hdr("Ngày nhận / Received"), hdr("Hạn giải quyết / Due"),
		hdr("Ngày giải quyết / Resolved"), hdr("Số ngày trễ / Days late"))
	at := func(t *time.Time) cell {
		if t == nil {
			return none()
		}
		return cell{wall(*t), "datetime"}
	}
	for i, d := range l.Dossiers {
		days := none()
		if d.DaysLate != nil {
			days = cell{*d.DaysLate, "dec"}
		}
		s.row(RowLateFirst+i, txt(d.Dossier), txt(d.Procedure), at(d.Received), at(d.Due), at(d.Resolved), days)
	}
	s.widths(34, 18, 18, 18, 18, 14)
}
