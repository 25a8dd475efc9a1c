package kpi

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/timezone"
)

// TestParseRange: every form of the one calendar, with its boundaries, in
// Vietnam's zone (no daylight saving), on Thursday 3 December 2026.
func TestParseRange(t *testing.T) {
	now := time.Date(2026, 12, 3, 7, 9, 0, 0, time.UTC) // 14:09 in Vietnam
	cases := []struct {
		spec  string
		first time.Time // first day
		last  time.Time // last day, inclusive
		kind  RangeKind
		label string
	}{
		// The units holding now.
		{"today", day(2026, 12, 3), day(2026, 12, 3), KindDay, "2026-12-03"},
		{" Today ", day(2026, 12, 3), day(2026, 12, 3), KindDay, "2026-12-03"},
		{"week", day(2026, 11, 30), day(2026, 12, 6), KindWeek, "2026-W49"},
		{"month", day(2026, 12, 1), day(2026, 12, 31), KindMonth, "2026-12"},
		{"half", day(2026, 12, 1), day(2027, 5, 31), KindHalf, "2027H1"},
		{"year", day(2026, 12, 1), day(2027, 11, 30), KindYear, "2027"},
		// Days, both orders.
		{"2026-11-30", day(2026, 11, 30), day(2026, 11, 30), KindDay, "2026-11-30"},
		{"30/11/2026", day(2026, 11, 30), day(2026, 11, 30), KindDay, "2026-11-30"},
		{"1/6/2026", day(2026, 6, 1), day(2026, 6, 1), KindDay, "2026-06-01"},
		{"2024-02-29", day(2024, 2, 29), day(2024, 2, 29), KindDay, "2024-02-29"},
		// ISO weeks: week 1 holds 4 January; 2026 has 53 weeks (1 January
		// is a Thursday), whose last ends in 2027; 2020 had 53 too.
		{"2026-W01", day(2025, 12, 29), day(2026, 1, 4), KindWeek, "2026-W01"},
		{"2026-W49", day(2026, 11, 30), day(2026, 12, 6), KindWeek, "2026-W49"},
		{"2026w5", day(2026, 1, 26), day(2026, 2, 1), KindWeek, "2026-W05"},
		{"2020-W53", day(2020, 12, 28), day(2021, 1, 3), KindWeek, "2020-W53"},
		{"2025-W01", day(2024, 12, 30), day(2025, 1, 5), KindWeek, "2025-W01"},
		// Months.
		{"2026-11", day(2026, 11, 1), day(2026, 11, 30), KindMonth, "2026-11"},
		{"2/2024", day(2024, 2, 1), day(2024, 2, 29), KindMonth, "2024-02"},
		// Reporting half-years and years.
		{"2026H1", day(2025, 12, 1), day(2026, 5, 31), KindHalf, "2026H1"},
		{"2026-h2", day(2026, 6, 1), day(2026, 11, 30), KindHalf, "2026H2"},
		{"2027H1", day(2026, 12, 1), day(2027, 5, 31), KindHalf, "2027H1"},
		{"2026", day(2025, 12, 1), day(2026, 11, 30), KindYear, "2026"},
		{"2027", day(2026, 12, 1), day(2027, 11, 30), KindYear, "2027"},
		// Custom ranges of whole days, both ends included, either order of
		// writing a day.
		{"2026-11-01..2026-11-30", day(2026, 11, 1), day(2026, 11, 30), KindCustom, "2026-11-01..2026-11-30"},
		{"01/06/2025..2026-11-30", day(2025, 6, 1), day(2026, 11, 30), KindCustom, "2025-06-01..2026-11-30"},
		{"2026-12-03..2026-12-03", day(2026, 12, 3), day(2026, 12, 3), KindCustom, "2026-12-03..2026-12-03"},
		{"2026-12-01 .. 2027-01-31", day(2026, 12, 1), day(2027, 1, 31), KindCustom, "2026-12-01..2027-01-31"}, // may end in the future
		{"2023-12-04..2026-12-03", day(2023, 12, 4), day(2026, 12, 3), KindCustom, "2023-12-04..2026-12-03"},   // three years exactly
		{"2000-01-01..2000-01-31", day(2000, 1, 1), day(2000, 1, 31), KindCustom, "2000-01-01..2000-01-31"},
	}
	for _, c := range cases {
		r, err := ParseRange(c.spec, now, ict)
		if err != nil {
			t.Errorf("%q: %v", c.spec, err)
			continue
		}
		if !r.From.Equal(c.first) || !r.Last().Equal(c.last) || !r.To.Equal(c.last.AddDate(0, 0, 1)) || r.Kind != c.kind || r.Label != c.label {
			t.Errorf("%q = %s..%s (to %s) %s %q; want %s..%s %s %q", c.spec, r.From.Format(time.DateOnly), r.Last().Format(time.DateOnly),
				r.To.Format(time.DateOnly), r.Kind, r.Label, c.first.Format(time.DateOnly), c.last.Format(time.DateOnly), c.kind, c.label)
		}
		// The label is a spec for the same days.
		again, err := ParseRange(r.Label, now, ict)
		if err != nil || again != r {
			t.Errorf("%q: its label %q reads %+v, %v", c.spec, r.Label, again, err)
		}
	}
}

// TestWeek53: 2026 has 53 ISO weeks (1 January is a Thursday); the last
// ends on Sunday 3 January 2027, and is this week on 1 January 2027.
func TestWeek53(t *testing.T) {
	now := time.Date(2027, 1, 1, 9, 0, 0, 0, ict)
	for _, spec := range []string{"2026-W53", "week"} {
		r, err := ParseRange(spec, now, ict)
		if err != nil || !r.From.Equal(day(2026, 12, 28)) || !r.To.Equal(day(2027, 1, 4)) || r.Label != "2026-W53" || r.Kind != KindWeek {
			t.Errorf("%q on 01/01/2027: %+v, %v", spec, r, err)
		}
	}
}

// TestParseRangeRefuses: bad input gets an error in Vietnamese and English
// that says what is wrong.
func TestParseRangeRefuses(t *testing.T) {
	now := time.Date(2026, 12, 3, 7, 9, 0, 0, time.UTC)
	cases := []struct{ spec, vi, en string }{
		{"", "chưa chọn khoảng thời gian", "no range given"},
		{"   ", "chưa chọn khoảng thời gian", "no range given"},
		{"yesterday", `"yesterday" không phải khoảng thời gian`, `"yesterday" is not a range: use today, week`},
		{"2026H3", `"2026H3" không phải khoảng thời gian`, `"2026H3" is not a range`},
		{"2026Q1", `"2026Q1" không phải khoảng thời gian`, `"2026Q1" is not a range`},
		{"2026/01/01", `"2026/01/01" không phải khoảng thời gian`, `"2026/01/01" is not a range`},
		{"2026-02-30", `ngày "2026-02-30" không hợp lệ`, `"2026-02-30" is not a day: use DD/MM/YYYY or YYYY-MM-DD`},
		{"31/04/2026", `ngày "31/04/2026" không hợp lệ`, `"31/04/2026" is not a day`},
		{"2026-13", `"2026-13" không phải một tháng`, `"2026-13" is not a month`},
		{"0/2026", `"0/2026" không phải một tháng`, `"0/2026" is not a month`},
		{"2027-W53", "năm 2027 không có tuần 53", "2027 has no week 53"},
		{"2026-W00", "năm 2026 không có tuần 0", "2026 has no week 0"},
		{"2026-W54", "năm 2026 không có tuần 54", "2026 has no week 54"},
		{"31/12/2026..01/01/2026", "ngày cuối 01/01/2026 trước ngày đầu 31/12/2026", "the last day, 01/01/2026, is before the first, 31/12/2026"},
		{"2026-11-01..", `ngày "" không hợp lệ`, `"" is not a day`},
		{"1/1/2026..2/1/2026..3/1/2026", `ngày "2/1/2026..3/1/2026" không hợp lệ`, "is not a day"},
		{"2023-12-03..2026-12-03", "dài hơn 3 năm", "the range 03/12/2023 – 03/12/2026 is longer than 3 years"},
		{"2026-12-04", "bắt đầu ngày 04/12/2026, sau hôm nay (03/12/2026)", "the range starts on 04/12/2026, after today (03/12/2026)"},
		{"2026-12-04..2026-12-05", "sau hôm nay", "after today"},
		{"2027-W01", "bắt đầu ngày 04/01/2027", "after today"},
		{"2027H2", "bắt đầu ngày 01/06/2027", "after today"},
		{"2028", "bắt đầu ngày 01/12/2027", "after today"},
		{"2027-01", "bắt đầu ngày 01/01/2027", "after today"},
		{"1999-12-31", "năm 1999 quá xa: từ năm 2000 trở đi", "year 1999 is too early: 2000 or later"},
		{"1999", "năm 1999 quá xa", "year 1999 is too early"},
		{strings.Repeat("2", 100), "khoảng thời gian không hợp lệ", "not a range (today, week"},
	}
	for _, c := range cases {
		r, err := ParseRange(c.spec, now, ict)
		var re *RangeError
		if !errors.As(err, &re) {
			t.Errorf("%q: %+v, %v; want a RangeError", c.spec, r, err)
			continue
		}
		if !strings.Contains(re.VI, c.vi) || !strings.Contains(re.EN, c.en) || err.Error() != re.VI+" / "+re.EN {
			t.Errorf("%q: %q; want %q and %q", c.spec, err, c.vi, c.en)
		}
		if len(err.Error()) > 400 {
			t.Errorf("%q: an error of %d bytes", c.spec, len(err.Error()))
		}
	}
}

// TestOneCalendarEveryUnit: for every day of three years, each tab's
// range holds the day, its label reads back as the same range, and the
// tab's half-year and year are the report's: two half-years make the year,
// which starts on 1 December.
func TestOneCalendarEveryUnit(t *testing.T) {
	loc := timezone.Vietnam()
	for d := time.Date(2025, 11, 20, 12, 0, 0, 0, loc); d.Year() < 2028; d = d.AddDate(0, 0, 1) {
		for _, p := range []Period{PeriodToday, PeriodWeek, PeriodMonth, PeriodHalf, PeriodYear} {
			r := RangeOf(p, d, loc)
			if d.Before(r.From) || !d.Before(r.To) {
				t.Fatalf("%s %s: %s..%s does not hold it", d.Format(time.DateOnly), p, r.From, r.To)
			}
			back, err := ParseRange(r.Label, d, loc)
			if err != nil || back != r {
				t.Fatalf("%s %s: label %q reads %+v, %v; want %+v", d.Format(time.DateOnly), p, r.Label, back, err, r)
			}
			if f, e := Bounds(p, d, loc); !f.Equal(r.From) || !e.Equal(r.To) {
				t.Fatalf("%s %s: Bounds %s..%s, RangeOf %s..%s", d.Format(time.DateOnly), p, f, e, r.From, r.To)
			}
		}
		y := RangeOf(PeriodYear, d, loc)
		h1, _, _, err1 := ParseReportPeriod(y.Label+"H1", loc)
		_, h2end, _, err2 := ParseReportPeriod(y.Label+"H2", loc)
		if err1 != nil || err2 != nil || !h1.Equal(y.From) || !h2end.Equal(y.To) || y.From.Month() != time.December || y.From.Day() != 1 {
			t.Fatalf("%s: year %s %s..%s, halves from %s to %s", d.Format(time.DateOnly), y.Label, y.From, y.To, h1, h2end)
		}
		if from, to, ok := ParseReportYear(y.Label, loc); !ok || !from.Equal(y.From) || !to.Equal(y.To) {
			t.Fatalf("%s: ParseReportYear(%s) = %s..%s %v", d.Format(time.DateOnly), y.Label, from, to, ok)
		}
		if w := RangeOf(PeriodWeek, d, loc); w.From.Weekday() != time.Monday || w.To.Sub(w.From) != 7*24*time.Hour {
			t.Fatalf("%s: week %s..%s", d.Format(time.DateOnly), w.From, w.To)
		}
	}
	if _, _, ok := ParseReportYear("2026H1", nil); ok {
		t.Error("ParseReportYear took a half-year")
	}
}
