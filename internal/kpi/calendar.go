package kpi

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The reporting calendar: every span of days pscm shows or reports on is
// a Range, made here and nowhere else. The dashboard's tabs (RangeOf, and
// Bounds on it), the custom range of its page and API, the report's
// download and pscm-ctl report all read a spec with ParseRange, so a tab,
// a report and a command given the same words count the same days.
//
// The units, in the sites' zone:
//
//	day      "2026-11-30" (also "30/11/2026")
//	week     "2026-W49": ISO 8601, Monday to Sunday; a week belongs to the
//	         year of its Thursday, so 2026-W53 is 28/12/2026 to 03/01/2027
//	month    "2026-11" (also "11/2026")
//	half     "2026H2": the reporting half-year (see ReportPeriod)
//	year     "2026": the reporting year, the two halves of one label's
//	         year, 01/12/2025 to 30/11/2026; a calendar year is asked for
//	         as a custom range
//	custom   "2026-11-01..2026-11-30": whole days, both included
//
// and "today", "week", "month", "half", "year": the unit holding now.

// RangeKind says what a Range is: one of the calendar's units, or a custom
// span of days.
type RangeKind string

// Kinds of Range.
const (
	KindDay    RangeKind = "day"
	KindWeek   RangeKind = "week"
	KindMonth  RangeKind = "month"
	KindHalf   RangeKind = "half"
	KindYear   RangeKind = "year"
	KindCustom RangeKind = "custom"
)

// Range is [From, To) of whole local days, what it is, and its Label: the
// canonical spec, which ParseRange reads back to the same Range.
type Range struct {
	From, To time.Time
	Kind     RangeKind
	Label    string
}

// Last is the range's last day (at its midnight): To is the midnight
// after it.
func (r Range) Last() time.Time { return r.To.AddDate(0, 0, -1) }

// MaxRangeYears bounds a custom range: a longer one is a question for
// the database's operator, not for a page or a report (whose month rows it
// would also bound: at most 12×3+1).
const MaxRangeYears = 3

// MinRangeYear is the earliest year a spec may name: pscm holds nothing
// older, and a typo ("0226") gets a clear answer rather than an empty page.
const MinRangeYear = 2000

// RangeOf returns the unit p (PeriodToday, Week, Month, Half or Year) that
// holds now, in loc (Vietnam's zone when nil). An unknown period is today.
func RangeOf(p Period, now time.Time, loc *time.Location) Range {
	t := now.In(orVietnam(loc))
	switch p {
	case PeriodWeek:
		return weekOf(t)
	case PeriodMonth:
		return monthOf(t)
	case PeriodHalf:
		return halfOf(t)
	case PeriodYear:
		return yearOf(t)
	default:
		return dayOf(t)
	}
}

// midnight is the start of t's local day.
func midnight(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
}

func dayOf(t time.Time) Range {
	from := midnight(t)
	return Range{From: from, To: from.AddDate(0, 0, 1), Kind: KindDay, Label: from.Format(time.DateOnly)}
}

// weekOf is t's ISO week: from its Monday.
func weekOf(t time.Time) Range {
	from := midnight(t)
	from = from.AddDate(0, 0, -(int(from.Weekday())+6)%7)
	y, w := from.ISOWeek()
	return Range{From: from, To: from.AddDate(0, 0, 7), Kind: KindWeek, Label: fmt.Sprintf("%04d-W%02d", y, w)}
}

func monthOf(t time.Time) Range {
	y, m, _ := t.Date()
	from := time.Date(y, m, 1, 0, 0, 0, 0, t.Location())
	return Range{From: from, To: from.AddDate(0, 1, 0), Kind: KindMonth, Label: from.Format("2006-01")}
}

// halfOf is t's reporting half-year: 1 December to 1 June (the next
// year's H1), or 1 June to 1 December (H2).
func halfOf(t time.Time) Range {
	y, m, _ := t.Date()
	var from time.Time
	switch {
	case m == time.December:
		from = time.Date(y, time.December, 1, 0, 0, 0, 0, t.Location())
	case m < time.June:
		from = time.Date(y-1, time.December, 1, 0, 0, 0, 0, t.Location())
	default:
		from = time.Date(y, time.June, 1, 0, 0, 0, 0, t.Location())
	}
	return Range{From: from, To: from.AddDate(0, 6, 0), Kind: KindHalf, Label: HalfLabel(from)}
}

// yearOf is t's reporting year: 1 December to 1 December, named by the
// year it ends in (the year of both its reports' deadlines).
func yearOf(t time.Time) Range {
	y, m, _ := t.Date()
	if m != time.December {
		y--
	}
	from := time.Date(y, time.December, 1, 0, 0, 0, 0, t.Location())
	return Range{From: from, To: from.AddDate(1, 0, 0), Kind: KindYear, Label: strconv.Itoa(y + 1)}
}

// RangeError is a spec ParseRange refuses, said in Vietnamese and in
// English: the page and the command show it as it is.
type RangeError struct {
	VI, EN string
}

func (e *RangeError) Error() string { return e.VI + " / " + e.EN }

func rangeErr(vi, en string, args ...any) error {
	return &RangeError{VI: fmt.Sprintf(vi, args...), EN: fmt.Sprintf(en, args...)}
}

// maxSpecLen bounds what an error quotes back: no spec is longer than a
// custom range of two DD/MM/YYYY days.
const maxSpecLen = 32

const specForms = "today, week, month, half, year, 2026-11-30, 2026-W48, 2026-11, 2026H2, 2026, 2026-11-01..2026-11-30"

var (
	weekRe  = regexp.MustCompile(`^(\d{4})-?[Ww](\d{1,2})$`)
	monthRe = regexp.MustCompile(`^(\d{4})-(\d{1,2})$`)
	monthVN = regexp.MustCompile(`^(\d{1,2})/(\d{4})$`)
	yearRe  = regexp.MustCompile(`^\d{4}$`)
	dayRe   = regexp.MustCompile(`^(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{4})$`)
)

// ParseRange reads spec (the forms above) in loc (Vietnam's zone when
// nil), now being the present. It refuses, with a RangeError: an unknown
// form, a date that does not exist, a custom range whose last day is
// before its first or longer than MaxRangeYears, a year before
// MinRangeYear, and a range that starts after today (nothing to show).
// A range may end in the future: this week, the half-year under way.
func ParseRange(spec string, now time.Time, loc *time.Location) (Range, error) {
	loc = orVietnam(loc)
	s := strings.TrimSpace(spec)
	switch {
	case s == "":
		return Range{}, rangeErr("chưa chọn khoảng thời gian (%s)", "no range given (%s)", specForms)
	case len(s) > maxSpecLen:
		return Range{}, rangeErr("khoảng thời gian không hợp lệ (%s)", "not a range (%s)", specForms)
	}
	if p := Period(strings.ToLower(s)); p == PeriodToday || p == PeriodWeek || p == PeriodMonth || p == PeriodHalf || p == PeriodYear {
		return RangeOf(p, now, loc), nil
	}
	r, err := parseFixed(s, loc)
	if err != nil {
		return Range{}, err
	}
	if y := r.Last().Year(); y < MinRangeYear {
		return Range{}, rangeErr("năm %d quá xa: từ năm %d trở đi", "year %d is too early: %d or later", y, MinRangeYear)
	}
	if today := midnight(now.In(loc)); r.From.After(today) {
		return Range{}, rangeErr("khoảng thời gian bắt đầu ngày %s, sau hôm nay (%s): chưa có số liệu",
			"the range starts on %s, after today (%s): there are no figures yet", dmy(r.From), dmy(today))
	}
	return r, nil
}

// parseFixed reads a spec that names its days.
func parseFixed(s string, loc *time.Location) (Range, error) {
	if a, b, ok := strings.Cut(s, ".."); ok {
		first, err := parseDay(strings.TrimSpace(a), loc)
		if err != nil {
			return Range{}, err
		}
		last, err := parseDay(strings.TrimSpace(b), loc)
		if err != nil {
			return Range{}, err
		}
		if last.Before(first) {
			return Range{}, rangeErr("ngày cuối %s trước ngày đầu %s", "the last day, %s, is before the first, %s", dmy(last), dmy(first))
		}
		to := last.AddDate(0, 0, 1)
		if to.After(first.AddDate(MaxRangeYears, 0, 0)) {
			return Range{}, rangeErr("khoảng thời gian %s – %s dài hơn %d năm", "the range %s – %s is longer than %d years", dmy(first), dmy(last), MaxRangeYears)
		}
		return Range{From: first, To: to, Kind: KindCustom, Label: first.Format(time.DateOnly) + ".." + last.Format(time.DateOnly)}, nil
	}
	if dayRe.MatchString(s) {
		d, err := parseDay(s, loc)
		if err != nil {
			return Range{}, err
		}
		return dayOf(d), nil
	}
	if m := weekRe.FindStringSubmatch(s); m != nil {
		y, _ := strconv.Atoi(m[1])
		w, _ := strconv.Atoi(m[2])
		// Week 1 is the week of 4 January; a year has 52 or 53 weeks.
		from := weekOf(time.Date(y, time.January, 4, 0, 0, 0, 0, loc)).From.AddDate(0, 0, 7*(w-1))
		if gy, gw := from.ISOWeek(); w < 1 || gy != y || gw != w {
			return Range{}, rangeErr("năm %d không có tuần %d", "%d has no week %d", y, w)
		}
		return weekOf(from), nil
	}
	if m := monthRe.FindStringSubmatch(s); m != nil {
		return monthRange(m[1], m[2], s, loc)
	}
	if m := monthVN.FindStringSubmatch(s); m != nil {
		return monthRange(m[2], m[1], s, loc)
	}
	if labelRe.MatchString(s) {
		from, _, _, err := ParseReportPeriod(s, loc)
		if err != nil {
			return Range{}, err
		}
		return halfOf(from), nil
	}
	if yearRe.MatchString(s) {
		y, _ := strconv.Atoi(s)
		return yearOf(time.Date(y, time.January, 1, 0, 0, 0, 0, loc)), nil
	}
	return Range{}, rangeErr("%q không phải khoảng thời gian: dùng %s", "%q is not a range: use %s", s, specForms)
}

func monthRange(year, month, s string, loc *time.Location) (Range, error) {
	y, _ := strconv.Atoi(year)
	m, _ := strconv.Atoi(month)
	if m < 1 || m > 12 {
		return Range{}, rangeErr("%q không phải một tháng", "%q is not a month", s)
	}
	return monthOf(time.Date(y, time.Month(m), 1, 0, 0, 0, 0, loc)), nil
}

// parseDay reads one day, DD/MM/YYYY (one-digit day and month accepted)
// or YYYY-MM-DD, at its midnight in loc.
func parseDay(s string, loc *time.Location) (time.Time, error) {
	for _, l := range []string{"2/1/2006", time.DateOnly} {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, nil
		}
	}
	if len(s) > maxSpecLen {
		s = s[:maxSpecLen]
	}
	return time.Time{}, rangeErr("ngày %q không hợp lệ: dùng DD/MM/YYYY hoặc YYYY-MM-DD", "%q is not a day: use DD/MM/YYYY or YYYY-MM-DD", s)
}

// dmy is a day as DD/MM/YYYY, the order managers read in both languages.
func dmy(t time.Time) string { return t.Format("02/01/2006") }

// ParseReportYear returns [from, to) in loc (Vietnam's zone when nil) of
// a reporting year's label ("2026": 01/12/2025 to 30/11/2026), and false
// for anything else.
func ParseReportYear(label string, loc *time.Location) (from, to time.Time, ok bool) {
	s := strings.TrimSpace(label)
	if !yearRe.MatchString(s) {
		return time.Time{}, time.Time{}, false
	}
	y, _ := strconv.Atoi(s)
	r := yearOf(time.Date(y, time.January, 1, 0, 0, 0, 0, orVietnam(loc)))
	return r.From, r.To, true
}
