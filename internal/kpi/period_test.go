package kpi

import (
	"testing"
	"time"
)

var ict = time.FixedZone("ICT", 7*3600)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, ict) }

// TestReportPeriod: the period is the one the next deadline (10 June or
// 10 December, in Vietnam time, the whole deadline day included) reports on.
func TestReportPeriod(t *testing.T) {
	cases := []struct {
		now      time.Time
		from, to time.Time
		label    string
	}{
		{time.Date(2026, 11, 25, 12, 0, 0, 0, ict), day(2026, 6, 1), day(2026, 12, 1), "2026H2"},
		{time.Date(2026, 12, 10, 23, 59, 59, 0, ict), day(2026, 6, 1), day(2026, 12, 1), "2026H2"},
		{time.Date(2026, 12, 10, 16, 59, 59, 0, time.UTC), day(2026, 6, 1), day(2026, 12, 1), "2026H2"}, // 23:59:59 in Vietnam
		{time.Date(2026, 12, 10, 17, 0, 0, 0, time.UTC), day(2026, 12, 1), day(2027, 6, 1), "2027H1"},   // 11 Dec 00:00 in Vietnam
		{time.Date(2026, 12, 31, 23, 0, 0, 0, ict), day(2026, 12, 1), day(2027, 6, 1), "2027H1"},
		{time.Date(2027, 1, 1, 0, 0, 0, 0, ict), day(2026, 12, 1), day(2027, 6, 1), "2027H1"},
		{time.Date(2026, 1, 5, 9, 0, 0, 0, ict), day(2025, 12, 1), day(2026, 6, 1), "2026H1"},
		{time.Date(2026, 6, 10, 16, 59, 0, 0, time.UTC), day(2025, 12, 1), day(2026, 6, 1), "2026H1"},
		{time.Date(2026, 6, 10, 17, 0, 0, 0, time.UTC), day(2026, 6, 1), day(2026, 12, 1), "2026H2"},
		{time.Date(2026, 6, 1, 0, 0, 0, 0, ict), day(2025, 12, 1), day(2026, 6, 1), "2026H1"},
		{time.Date(2028, 2, 29, 8, 0, 0, 0, ict), day(2027, 12, 1), day(2028, 6, 1), "2028H1"},
	}
	for _, c := range cases {
		from, to, label := ReportPeriod(c.now, ict)
		if !from.Equal(c.from) || !to.Equal(c.to) || label != c.label {
			t.Errorf("ReportPeriod(%v) = %v..%v %s; want %v..%v %s", c.now, from, to, label, c.from, c.to, c.label)
		}
	}
}

func TestParseReportPeriod(t *testing.T) {
	for _, l := range []string{"2026H1", "2026-H1", "2026h1", " 2026H1 "} {
		from, to, canon, err := ParseReportPeriod(l, ict)
		if err != nil || !from.Equal(day(2025, 12, 1)) || !to.Equal(day(2026, 6, 1)) || canon != "2026H1" {
			t.Errorf("ParseReportPeriod(%q) = %v..%v, %v", l, from, to, err)
		}
	}
	for _, l := range []string{"2026H3", "H1", "26H1", "2026", "2026Q1", ""} {
		if _, _, _, err := ParseReportPeriod(l, ict); err == nil {
			t.Errorf("ParseReportPeriod(%q): no error", l)
		}
	}
	if d, ok := Deadline("2026H2", ict); !ok || !d.Equal(day(2026, 12, 10)) {
		t.Errorf("Deadline(2026H2) = %v %v", d, ok)
	}
}
