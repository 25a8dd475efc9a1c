package report

import (
	"fmt"
	"strings"

	"github.com/pscm/pscm/internal/kpi"
)

// periodVI and periodEN describe the report's period in words; the
// periods themselves are kpi's (kpi.ReportPeriod).
func (r *Report) periodVI() string {
	last := r.To.AddDate(0, 0, -1)
	s := fmt.Sprintf("Từ ngày %s đến ngày %s", dateVI(r.From), dateVI(last))
	if y, half, ok := kpi.ReportHalf(r.Label); ok {
		which := "đầu"
		if half == 2 {
			which = "cuối"
		}
		dl, _ := kpi.Deadline(r.Label, r.Loc)
		s = fmt.Sprintf("Kỳ báo cáo 6 tháng %s năm %s (hạn nộp %s): %s", which, y, dateVI(dl), strings.ToLower(s[:1])+s[1:])
	} else if r.reportYear() {
		s = fmt.Sprintf("Năm báo cáo %s (hai kỳ 6 tháng): %s", strings.TrimSpace(r.Label), strings.ToLower(s[:1])+s[1:])
	}
	return s
}

// reportYear reports whether the report covers exactly the reporting year
// its label names ("2026": 01/12/2025 to 30/11/2026).
func (r *Report) reportYear() bool {
	from, to, ok := kpi.ParseReportYear(r.Label, r.Loc)
	return ok && from.Equal(r.From) && to.Equal(r.To)
}

func (r *Report) periodEN() string {
	last := r.To.AddDate(0, 0, -1)
	s := fmt.Sprintf("from %s to %s", dateVI(r.From), dateVI(last))
	if y, half, ok := kpi.ReportHalf(r.Label); ok {
		dl, _ := kpi.Deadline(r.Label, r.Loc)
		s = fmt.Sprintf("Half-year report %sH%d (due %s), %s", y, half, dateVI(dl), s)
	} else if r.reportYear() {
		s = fmt.Sprintf("Reporting year %s (two half-years), %s", strings.TrimSpace(r.Label), s)
	}
	return s
}
