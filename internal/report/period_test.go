package report

import (
	"testing"
	"time"
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
