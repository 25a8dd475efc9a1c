package report

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/pscm/pscm/dashboard/kpi"
)

// Reporting periods.
//
// Results are due before 10 June and 10 December. A report due on 10 June
// cannot hold the days after it, so neither the calendar half-year
// (January-June) nor the closing period of Decree 09/2019/NĐ-CP
// (15 December-14 June) fits a deadline of 10 June. pscm's period is the
// six whole months that end before the deadline's month:
//
//	"2026H1", due 10/06/2026: 01/12/2025 to 31/05/2026 (inclusive)
//	"2026H2", due 10/12/2026: 01/06/2026 to 30/11/2026 (inclusive)
//
// Consecutive periods tile the year without gap or overlap, every month
// row is a whole month, and ten days are left to check and send the
// report. Any other period (e.g. the calendar half-year) is asked for with
// explicit dates.

var labelRe = regexp.MustCompile(`^(\d{4})-?[Hh]([12])$`)

// DefaultPeriod returns the period that the next deadline reports on, as
// [from, to) in loc (Asia/Ho_Chi_Minh when nil), with its label. On a
// deadline day itself (all of it, in loc) the deadline is that day's.
func DefaultPeriod(now time.Time, loc *time.Location) (from, to time.Time, label string) {
	if loc == nil {
		loc, _ = kpi.Location(kpi.DefaultZone)
	}
	y, m, d := now.In(loc).Date()
	half := 1
	switch {
	case m < time.June || m == time.June && d <= 10:
	case m < time.December || m == time.December && d <= 10:
		half = 2
	default:
		y++
	}
	from, to, label, _ = ParsePeriod(fmt.Sprintf("%dH%d", y, half), loc)
	return from, to, label
}

// ParsePeriod returns [from, to) in loc of a label such as "2026H2" (also
// "2026-H2", "2026h2"), and the label in its canonical form.
func ParsePeriod(label string, loc *time.Location) (from, to time.Time, canonical string, err error) {
	if loc == nil {
		loc, _ = kpi.Location(kpi.DefaultZone)
	}
	m := labelRe.FindStringSubmatch(strings.TrimSpace(label))
	if m == nil {
		return time.Time{}, time.Time{}, "", fmt.Errorf("report: period %q is not YYYYH1 or YYYYH2", label)
	}
	y, _ := strconv.Atoi(m[1])
	canonical = m[1] + "H" + m[2]
	if m[2] == "1" {
		return time.Date(y-1, time.December, 1, 0, 0, 0, 0, loc), time.Date(y, time.June, 1, 0, 0, 0, 0, loc), canonical, nil
	}
	return time.Date(y, time.June, 1, 0, 0, 0, 0, loc), time.Date(y, time.December, 1, 0, 0, 0, 0, loc), canonical, nil
}

// Deadline returns the day a labelled period's report is due, in loc.
func Deadline(label string, loc *time.Location) (time.Time, bool) {
	m := labelRe.FindStringSubmatch(strings.TrimSpace(label))
	if m == nil {
		return time.Time{}, false
	}
	y, _ := strconv.Atoi(m[1])
	month := time.June
	if m[2] == "2" {
		month = time.December
	}
	return time.Date(y, month, 10, 0, 0, 0, 0, loc), true
}

// periodVI and periodEN describe the report's period in words.
func (r *Report) periodVI() string {
	last := r.To.AddDate(0, 0, -1)
	s := fmt.Sprintf("Từ ngày %s đến ngày %s", dateVI(r.From), dateVI(last))
	if m := labelRe.FindStringSubmatch(r.Label); m != nil {
		which := "đầu"
		if m[2] == "2" {
			which = "cuối"
		}
		dl, _ := Deadline(r.Label, r.Loc)
		s = fmt.Sprintf("Kỳ báo cáo 6 tháng %s năm %s (hạn nộp %s): %s", which, m[1], dateVI(dl), strings.ToLower(s[:1])+s[1:])
	}
	return s
}

func (r *Report) periodEN() string {
	last := r.To.AddDate(0, 0, -1)
	s := fmt.Sprintf("from %s to %s", dateVI(r.From), dateVI(last))
	if m := labelRe.FindStringSubmatch(r.Label); m != nil {
		dl, _ := Deadline(r.Label, r.Loc)
		s = fmt.Sprintf("Half-year report %s (due %s), %s", m[1]+"H"+m[2], dateVI(dl), s)
	}
	return s
}
