package rollup

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/schema"
)

// nearest is the nearest-rank q-quantile of values cut to the second, as
// kpidb reads it from the raw rows.
func nearest(values []float64, q float64) float64 {
	s := slices.Clone(values)
	slices.Sort(s)
	return math.Floor(s[NearestRank(int64(len(s)), q)-1])
}

// TestHistMerge: histograms of days merged give the nearest rank of all
// the values together, for any split of the values into days.
func TestHistMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		n := 1 + rng.IntN(400)
		values := make([]float64, n)
		for i := range values {
			values[i] = math.Round(rng.ExpFloat64()*600*1000) / 1000 // ms, as sessions carry them
		}
		var parts []Hist
		for lo := 0; lo < n; {
			hi := min(n, lo+1+rng.IntN(50))
			parts = append(parts, Of(values[lo:hi]))
			lo = hi
		}
		h := Merge(parts...)
		if h.Count() != int64(n) {
			t.Fatalf("round %d: %d values counted, want %d", round, h.Count(), n)
		}
		for _, q := range []float64{0.5, 0.9, 0.01, 1} {
			if got, want := h.Rank(NearestRank(h.Count(), q)), nearest(values, q); got != want {
				t.Fatalf("round %d: q %v = %v, want %v", round, q, got, want)
			}
		}
		back, err := ParseHist(h.String())
		if err != nil || !slices.Equal(back, h) {
			t.Fatalf("round %d: %q read back as %v (%v)", round, h.String(), back, err)
		}
	}
}

// TestParseHistRejects: what InfluxDB hands back that String cannot have
// written is an error, never a histogram.
func TestParseHistRejects(t *testing.T) {
	for _, s := range []string{"x", "1,", ",1", "1,0", "3x1", "3x0", "+3", "3x+2", "-1", "1 2", "4294967295,1", "99999999999", "1x"} {
		if h, err := ParseHist(s); err == nil {
			t.Errorf("%q read as %v", s, h)
		}
	}
	if h, err := ParseHist("412,3x2,17"); err != nil || !slices.Equal(h, Hist{{412, 1}, {415, 2}, {432, 1}}) {
		t.Errorf("412,3x2,17 = %v, %v", h, err)
	}
}

func FuzzParseHist(f *testing.F) {
	for _, s := range []string{"", "0", "412,3x2,17", "1x2,1x3", "4294967295"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHist(s)
		if err != nil {
			return
		}
		// What is accepted is a valid histogram written the one way.
		for i, b := range h {
			if b.N == 0 || (i > 0 && b.S <= h[i-1].S) {
				t.Fatalf("%q gave %v", s, h)
			}
		}
		if back := h.String(); back != s && !strings.HasPrefix(s, "0") {
			again, err := ParseHist(back)
			if err != nil || !slices.Equal(again, h) {
				t.Fatalf("%q -> %v -> %q", s, h, back)
			}
		}
	})
}

// TestSumAndLines: days written as line protocol and read back as rows
// sum to the same Stats as the days themselves.
func TestSumAndLines(t *testing.T) {
	loc := time.FixedZone("ICT", 7*3600)
	var days []*Day
	for n := range 3 {
		d := NewDay("anlao", time.Date(2026, 3, 2+n, 0, 0, 0, 0, loc))
		d.Events = int64(10 + n)
		d.Dossiers[schema.OutcomeLate] = int64(n)
		d.Dossiers[schema.OutcomeOnTime] = 5
		p := d.Part("c01")
		p.Ratings[schema.LevelSatisfied] = 3
		p.Ratings[schema.LevelDissatisfied] = int64(n)
		waits := []float64{12.5, 300.25, 301.75, float64(60 * n)}
		p.Sessions, p.Wait, p.Service = 4, Of(waits), Of([]float64{100, 200, 300, 400})
		for _, w := range waits {
			p.WaitSumS += w
		}
		p.ServiceSumS = 1000
		p.Watched, p.OccupiedS, p.CoveredS, p.WorkS = n != 1, 20000, 25000, 27000
		days = append(days, d)
	}
	sat := kpi.SatisfactionOf(nil)
	all, per := Sum(days, true, sat)
	if all.RatingsTotal != 12 || all.Sessions != 12 || all.DossiersTotal != 18 || all.StaffWorkS != 54000 || all.WaitP90S != 301 || per["c01"].WaitP50S != all.WaitP50S {
		t.Errorf("sum %+v", all)
	}

	// Back through line protocol as InfluxQL rows would bring it.
	lines := string(days[1].AppendLines(nil))
	if !strings.Contains(lines, `site_day,site=anlao `) || !strings.Contains(lines, `counter_day,counter=c01,site=anlao `) || !strings.Contains(lines, `wait_h="12,48,240,1"`) {
		t.Errorf("lines:\n%s", lines)
	}
}
