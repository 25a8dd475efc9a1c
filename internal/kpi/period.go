package kpi

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/pscm/pscm/internal/timezone"
)

// Period names a dashboard tab: the unit of the reporting calendar
// (calendar.go) that holds now.
type Period string

// Periods the dashboard shows. Half-years and years are the reporting ones
// because the plan's results are reported before 10 June and 10 December.
const (
	PeriodToday Period = "today"
	PeriodWeek  Period = "week"
	PeriodMonth Period = "month"
	PeriodHalf  Period = "half"
	PeriodYear  Period = "year"
)

// orVietnam is loc, or Vietnam's zone when loc is nil.
func orVietnam(loc *time.Location) *time.Location {
	if loc == nil {
		return timezone.Vietnam()
	}
	return loc
}

// Bounds returns [start, end) of the period p containing now, in loc
// (Vietnam's zone when nil): RangeOf's day, ISO week (Monday to Sunday),
// calendar month, reporting half-year (the report's own tiling, see
// ReportPeriod: 1 December to 1 June, or 1 June to 1 December, so the
// "6 tháng" tab and the report count the same days) or reporting year
// (1 December to 1 December: the two half-years). An unknown period is
// treated as today.
func Bounds(p Period, now time.Time, loc *time.Location) (time.Time, time.Time) {
	r := RangeOf(p, now, loc)
	return r.From, r.To
}

// Last30Days returns the bounds of the 30 local days ending with today:
// from 29 days before today's midnight to tomorrow's midnight.
func Last30Days(now time.Time, loc *time.Location) (time.Time, time.Time) {
	start, end := Bounds(PeriodToday, now, loc)
	y, m, d := start.Date()
	return time.Date(y, m, d-29, 0, 0, 0, 0, start.Location()), end
}

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

// HalfLabel is the report label ("2027H1") of the reporting half-year that
// starts at start (a Bounds(PeriodHalf, ...) start).
func HalfLabel(start time.Time) string {
	y, m, _ := start.Date()
	if m == time.December {
		return fmt.Sprintf("%dH1", y+1)
	}
	return fmt.Sprintf("%dH2", y)
}

// ReportPeriod returns the period that the next deadline reports on, as
// [from, to) in loc (Vietnam's zone when nil), with its label. On a
// deadline day itself (all of it, in loc) the deadline is that day's.
func ReportPeriod(now time.Time, loc *time.Location) (from, to time.Time, label string) {
	loc = orVietnam(loc)
	y, m, d := now.In(loc).Date()
	half := 1
	switch {
	case m < time.June || m == time.June && d <= 10:
	case m < time.December || m == time.December && d <= 10:
		half = 2
	default:
		y++
	}
	from, to, label, _ = ParseReportPeriod(fmt.Sprintf("%dH%d", y, half), loc)
	return from, to, label
}

// ParseReportPeriod returns [from, to) in loc (Vietnam's zone when nil) of
// a label such as "2026H2" (also "2026-H2", "2026h2"), and the label in its
// canonical form.
func ParseReportPeriod(label string, loc *time.Location) (from, to time.Time, canonical string, err error) {
	loc = orVietnam(loc)
	m := labelRe.FindStringSubmatch(strings.TrimSpace(label))
	if m == nil {
		return time.Time{}, time.Time{}, "", fmt.Errorf("period %q is not YYYYH1 or YYYYH2", label)
	}
	y, _ := strconv.Atoi(m[1])
	canonical = m[1] + "H" + m[2]
	if m[2] == "1" {
		return time.Date(y-1, time.December, 1, 0, 0, 0, 0, loc), time.Date(y, time.June, 1, 0, 0, 0, 0, loc), canonical, nil
	}
	return time.Date(y, time.June, 1, 0, 0, 0, 0, loc), time.Date(y, time.December, 1, 0, 0, 0, 0, loc), canonical, nil
}

// ReportHalf splits a report label into its year and half (1 or 2).
func ReportHalf(label string) (year string, half int, ok bool) {
	m := labelRe.FindStringSubmatch(strings.TrimSpace(label))
	if m == nil {
		return "", 0, false
	}
	return m[1], int(m[2][0] - '0'), true
}

// Deadline returns the day a labelled period's report is due, in loc
// (Vietnam's zone when nil).
func Deadline(label string, loc *time.Location) (time.Time, bool) {
	y, half, ok := ReportHalf(label)
	if !ok {
		return time.Time{}, false
	}
	year, _ := strconv.Atoi(y)
	month := time.June
	if half == 2 {
		month = time.December
	}
	return time.Date(year, month, 10, 0, 0, 0, 0, orVietnam(loc)), true
}
