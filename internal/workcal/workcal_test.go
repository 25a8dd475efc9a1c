package workcal

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var ict = time.FixedZone("ICT", 7*3600)

func day(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, ict) }

// cal2025 is the shipped calendar; 2025 is as announced: Tết 27-31/1,
// 7/4, 30/4-2/5 with Saturday 26/4 worked in place of 2/5, and 1-2/9.
func cal2025(t *testing.T) *Calendar {
	t.Helper()
	c, err := Load(filepath.Join("..", "..", "configs", "calendar", "vn.yml"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestWorkdays(t *testing.T) {
	c := cal2025(t)
	for _, tc := range []struct {
		date time.Time
		work bool
		why  string
	}{
		{day(2025, 1, 27, 9), false, "Tết"},
		{day(2025, 1, 25, 9), false, "Saturday"},
		{day(2025, 2, 3, 9), true, ""},
		{day(2025, 4, 26, 9), true, "Làm bù"},
		{day(2025, 4, 30, 9), false, "Giải phóng"},
		{day(2025, 5, 2, 9), false, "Nghỉ bù"},
		{day(2025, 9, 2, 9), false, "Quốc khánh"},
		{day(2025, 9, 3, 9), true, ""},
		// 23:30 UTC on 26 April is 06:30 on Sunday 27 April in Vietnam.
		{time.Date(2025, 4, 26, 23, 30, 0, 0, time.UTC), false, "Sunday"},
	} {
		ok, why, err := c.IsWorkday(tc.date)
		if err != nil || ok != tc.work || !strings.Contains(why, tc.why) {
			t.Errorf("%s: workday %v (%q, %v), want %v (%q)", tc.date, ok, why, err, tc.work, tc.why)
		}
	}
	if _, _, err := c.IsWorkday(day(2030, 1, 2, 9)); err == nil {
		t.Error("a year the calendar does not cover was answered")
	}
}

// Deadlines counted by hand on the 2025 calendar.
func TestAddWorkdays(t *testing.T) {
	c := cal2025(t)
	for _, tc := range []struct {
		name string
		from time.Time
		n    int
		end  time.Time // the midnight after the deadline's last day
	}{
		// Friday 24/1, 2 working days: Tết from Monday 27/1 to Friday 31/1,
		// so Monday 3/2 and Tuesday 4/2.
		{"across Tết", day(2025, 1, 24, 16), 2, day(2025, 2, 5, 0)},
		// Friday 25/4, 3 working days: Saturday 26/4 is worked (1), Monday
		// 28 (2), Tuesday 29 (3); 30/4-2/5 are off.
		{"the compensating Saturday counts", day(2025, 4, 25, 10), 3, day(2025, 4, 30, 0)},
		// Tuesday 29/4, 2 working days: 30/4, 1/5, 2/5 off, weekend; Monday
		// 5/5 and Tuesday 6/5.
		{"across 30/4-1/5", day(2025, 4, 29, 10), 2, day(2025, 5, 7, 0)},
		// Friday 29/8, 1 working day: 1-2/9 off and the weekend: Wednesday 3/9.
		{"across 2/9", day(2025, 8, 29, 10), 1, day(2025, 9, 4, 0)},
		// Received on a holiday: counting starts the day after.
		{"received on a holiday", day(2025, 9, 2, 10), 1, day(2025, 9, 4, 0)},
		{"zero is the end of the day", day(2025, 6, 10, 10), 0, day(2025, 6, 11, 0)},
		// 15 working days from Monday 15/12/2025: 16-19 (4), 22-26 (9),
		// 29-31 (12), 1/1/2026 off, 2/1 (13), 5/1 (14), 6/1 (15).
		{"across the new year", day(2025, 12, 15, 9), 15, day(2026, 1, 7, 0)},
	} {
		got, err := c.AddWorkdays(tc.from, tc.n)
		if err != nil || !got.Equal(tc.end) {
			t.Errorf("%s: %s + %d working days = %s (%v), want %s", tc.name, tc.from, tc.n, got, err, tc.end)
		}
	}
	if _, err := c.AddWorkdays(day(2027, 12, 20, 9), 30); err == nil {
		t.Error("a deadline past the last listed year was guessed")
	}
	if _, err := c.AddWorkdays(day(2025, 6, 1, 9), -1); err == nil {
		t.Error("negative working days accepted")
	}
}

func TestLeft(t *testing.T) {
	c := cal2025(t)
	deadline := day(2025, 5, 7, 0) // the end of Tuesday 6/5
	for _, tc := range []struct {
		now     time.Time
		days    int
		overdue bool
	}{
		{day(2025, 4, 29, 10), 2, false}, // Monday 5 and Tuesday 6 after today
		{day(2025, 5, 5, 10), 1, false},
		{day(2025, 5, 6, 16), 0, false}, // today is the last day
		{day(2025, 5, 7, 8), 1, true},   // one working day late
		{day(2025, 5, 10, 8), 3, true},  // Saturday: Wed, Thu, Fri
	} {
		days, overdue, err := c.Left(tc.now, deadline)
		if err != nil || days != tc.days || overdue != tc.overdue {
			t.Errorf("%s: %d days, overdue %v (%v); want %d, %v", tc.now, days, overdue, err, tc.days, tc.overdue)
		}
	}
}

func TestLoadRefuses(t *testing.T) {
	for name, tc := range map[string]struct{ file, want string }{
		"no years":          {"holidays: []\n", "years: none"},
		"gap in years":      {"years: [2025, 2027]\n", "2026 missing"},
		"year twice":        {"years: [2025, 2025]\n", "listed twice"},
		"unreal date":       {"years: [2025]\nholidays: [{date: 2025-02-30, name: x}]\n", "not a real"},
		"unlisted year":     {"years: [2025]\nholidays: [{date: 2026-01-01, name: x}]\n", "not a listed year"},
		"no name":           {"years: [2025]\nholidays: [{date: 2025-01-01}]\n", "name"},
		"twice":             {"years: [2025]\nholidays: [{date: 2025-01-01, name: a}, {date: 2025-01-01, name: b}]\n", "already listed"},
		"holiday worked":    {"years: [2025]\nholidays: [{date: 2025-04-26, name: a}]\nworkdays: [{date: 2025-04-26, name: b}]\n", "already listed"},
		"weekday worked":    {"years: [2025]\nworkdays: [{date: 2025-04-25, name: b}]\n", "only a weekend day"},
		"unknown key":       {"years: [2025]\nholiday: []\n", "holiday"},
		"bad zone":          {"time_zone: Mars/Olympus\nyears: [2025]\n", "time_zone"},
		"year out of range": {"years: [1999]\n", "outside 2000..2100"},
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "cal.yml")
			if err := os.WriteFile(p, []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := Load(p); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}
