package report

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/kpi"
)

// failing is a Loader whose every load fails.
type failing struct{ err error }

func (f failing) Load(context.Context, string, time.Time, time.Time) (kpi.Stats, map[string]kpi.Stats, error) {
	return kpi.Stats{}, nil, f.err
}

func (f failing) LoadTotals(ctx context.Context, site string, a, b time.Time) (kpi.Stats, map[string]kpi.Stats, error) {
	return f.Load(ctx, site, a, b)
}

func TestBuildRefuses(t *testing.T) {
	boom := errors.New("influxdb down")
	ok := []Site{{ID: "anlao"}}
	cases := []struct {
		name string
		src  Loader
		p    Params
		want string
	}{
		{"no site", failing{boom}, Params{From: h1From, To: h1To}, "report: no site"},
		{"empty period", failing{boom}, Params{Sites: ok, From: h1To, To: h1To}, "is empty"},
		{"bad site", failing{boom}, Params{Sites: []Site{{ID: "An Lão"}}, From: h1From, To: h1To}, `site "An Lão" is invalid`},
		{"repeated site", failing{boom}, Params{Sites: []Site{{ID: "anlao"}, {ID: "anlao"}}, From: h1From, To: h1To}, "repeated"},
		{"too long", failing{boom}, Params{Sites: ok, From: h1From, To: h1From.AddDate(4, 0, 0)}, "more than 37"},
		// kpi's longest range, three years from mid-month, is 37 month
		// rows: it gets as far as loading.
		{"the longest range", failing{boom}, Params{Sites: ok, From: day(2023, 12, 15), To: day(2026, 12, 15)}, "report: anlao: influxdb down"},
		{"load error", failing{boom}, Params{Sites: ok, From: h1From, To: h1To}, "report: anlao: influxdb down"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := Build(context.Background(), c.src, c.p)
			if err == nil || !strings.Contains(err.Error(), c.want) || r != nil {
				t.Fatalf("Build: %v, %v; want error containing %q", r, err, c.want)
			}
		})
	}
}

// TestMonthBounds: months are cut at local month starts and to the period.
func TestMonthBounds(t *testing.T) {
	got := monthBounds(day(2026, 1, 15), day(2026, 3, 10))
	want := [][2]time.Time{{day(2026, 1, 15), day(2026, 2, 1)}, {day(2026, 2, 1), day(2026, 3, 1)}, {day(2026, 3, 1), day(2026, 3, 10)}}
	if len(got) != len(want) {
		t.Fatalf("%v", got)
	}
	for i := range want {
		if !got[i][0].Equal(want[i][0]) || !got[i][1].Equal(want[i][1]) {
			t.Errorf("month %d: %v, want %v", i, got[i], want[i])
		}
	}
}
