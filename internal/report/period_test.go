package report

import (
	"strings"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/kpi"
)

var ict = time.FixedZone("ICT", 7*3600)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, ict) }

func TestFormat(t *testing.T) {
	cases := []struct{ got, want string }{
		{intVI(0), "0"}, {intVI(999), "999"}, {intVI(1000), "1.000"}, {intVI(1234567), "1.234.567"}, {intVI(-1234), "-1.234"},
		{intEN(1234567), "1,234,567"},
		{pctVI(96), "96,0 %"}, {pctVI(98.2), "98,2 %"}, {pctVI(100), "100,0 %"}, {pctVI(99.95), "100,0 %"},
		{decVI(1234.56), "1.234,6"}, {decEN(1234.56), "1,234.6"}, {decVI(-0.04), "0,0"},
		{dateVI(day(2026, 6, 1)), "01/06/2026"},
	}
	for i, c := range cases {
		if c.got != c.want {
			t.Errorf("case %d: %q, want %q", i, c.got, c.want)
		}
	}
}

// TestFindingsNeverRoundAcrossTheTarget: the report's sentence shows a
// share with the decimals its verdict needs (94,996 % is "Chưa đạt", never
// "95,0 %"; 95,004 % is "Đạt" and shown above 95), and exactly 95 % is not
// met ("trên 95 %").
func TestFindingsNeverRoundAcrossTheTarget(t *testing.T) {
	for _, c := range []struct {
		satisfied, total int64
		shown            string
		met              bool
	}{
		{94996, 100000, "94,996 %", false},
		{95004, 100000, "95,004 %", true},
		{9500, 10000, "95,0 %", false},
		{9496, 10000, "94,96 %", false},
		{99995, 100000, "99,995 %", true},
	} {
		st := kpi.Stats{RatingsTotal: c.total, Satisfied: c.satisfied, HasRatings: true, SatisfiedPct: float64(c.satisfied) * 100 / float64(c.total)}
		f := findings(&Report{Targets: kpi.DefaultTargets(), Total: st})[0]
		if f.Met != c.met || !strings.Contains(f.VI, "là "+c.shown+" trên") {
			t.Errorf("%d/%d: met %t, %q; want met %t and %q", c.satisfied, c.total, f.Met, f.VI, c.met, c.shown)
		}
	}
}

// TestPeriodWords: the period is named by what it is in kpi's calendar:
// a reporting half-year with its deadline, a reporting year, or its days.
func TestPeriodWords(t *testing.T) {
	for _, c := range []struct {
		label    string
		from, to time.Time
		vi, en   string
	}{
		{"2026H2", day(2026, 6, 1), day(2026, 12, 1),
			"Kỳ báo cáo 6 tháng cuối năm 2026 (hạn nộp 10/12/2026): từ ngày 01/06/2026 đến ngày 30/11/2026",
			"Half-year report 2026H2 (due 10/12/2026), from 01/06/2026 to 30/11/2026"},
		{"2026", day(2025, 12, 1), day(2026, 12, 1),
			"Năm báo cáo 2026 (hai kỳ 6 tháng): từ ngày 01/12/2025 đến ngày 30/11/2026",
			"Reporting year 2026 (two half-years), from 01/12/2025 to 30/11/2026"},
		{"2026-11-01..2026-11-25", day(2026, 11, 1), day(2026, 11, 26),
			"Từ ngày 01/11/2026 đến ngày 25/11/2026", "from 01/11/2026 to 25/11/2026"},
		{"", day(2026, 1, 1), day(2027, 1, 1), "Từ ngày 01/01/2026 đến ngày 31/12/2026", "from 01/01/2026 to 31/12/2026"},
	} {
		r := &Report{Label: c.label, From: c.from, To: c.to, Loc: ict}
		if vi, en := r.periodVI(), r.periodEN(); vi != c.vi || en != c.en {
			t.Errorf("%q: %q / %q; want %q / %q", c.label, vi, en, c.vi, c.en)
		}
	}
}
