package kpidb

import (
	"fmt"
	"github.com/pscm/pscm/internal/kpi"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/testenv"
)

func TestNearestRankK(t *testing.T) {
	tests := []struct {
		n        int64
		q        float64
		want     int64
		wantText string
	}{
		{1, 0.5, 1, "100"},
		{1, 0.9, 1, "100"},
		{2, 0.5, 1, "50"},
		{2, 0.9, 2, "100"},
		{10, 0.9, 9, "90"},
		{11, 0.9, 10, "90.909090909090907"},
		{300_000, 0.5, 150_000, "50"},
		{300_000, 0.9, 270_000, "90"},
		{300_001, 0.5, 150_001, "50.000166666111113"},
	}
	for _, tt := range tests {
		if got := nearestRankK(tt.n, tt.q); got != tt.want {
			t.Errorf("nearestRankK(%d, %v) = %d, want %d", tt.n, tt.q, got, tt.want)
		}
		if got := rankPct(tt.n, tt.q); got != tt.wantText {
			t.Errorf("rankPct(%d, %v) = %s, want %s", tt.n, tt.q, got, tt.wantText)
		}
	}
}

func TestPivotLiteral(t *testing.T) {
	for _, tt := range []struct {
		v    float64
		want string
	}{
		{450, "450.0"},
		{449.75, "449.75"},
		{0, "0.0"},
		{1e21, "1000000000000000000000.0"},
		{1.0 / 3, "0.3333333333333333"},
		{1e-7, "0.0000001"},
	} {
		got := pivotLiteral(tt.v)
		if got != tt.want {
			t.Errorf("pivotLiteral(%v) = %s, want %s", tt.v, got, tt.want)
		}
		if back, err := strconv.ParseFloat(got, 64); err != nil || back != tt.v {
			t.Errorf("pivotLiteral(%v) = %s reads back as %v, %v", tt.v, got, back, err)
		}
	}
}

func TestKthStmt(t *testing.T) {
	const w = `"site" = 'a'`
	tests := []struct {
		k, m int64
		want string
	}{
		// The 90th of 100 is the smallest of the 11 largest.
		{90, 100, `SELECT min("top") FROM (SELECT top("wait_s", 11) FROM "session" WHERE "site" = 'a')`},
		// The 10th of 100 is the largest of the 10 smallest.
		{10, 100, `SELECT max("bottom") FROM (SELECT bottom("wait_s", 10) FROM "session" WHERE "site" = 'a')`},
		// Halfway either heap is as big; bottom is used.
		{50, 99, `SELECT max("bottom") FROM (SELECT bottom("wait_s", 50) FROM "session" WHERE "site" = 'a')`},
		{1, 1, `SELECT max("bottom") FROM (SELECT bottom("wait_s", 1) FROM "session" WHERE "site" = 'a')`},
		// A count made stale by a deletion never asks for top(0).
		{5, 3, `SELECT max("bottom") FROM (SELECT bottom("wait_s", 5) FROM "session" WHERE "site" = 'a')`},
	}
	for _, tt := range tests {
		if got := kthStmt("wait_s", w, tt.k, tt.m); got != tt.want {
			t.Errorf("kthStmt(%d, %d) =\n%s\nwant\n%s", tt.k, tt.m, got, tt.want)
		}
	}
}

// TestPercentilePaths seeds sessions whose percentiles are hard for the
// TOP/BOTTOM path (right- and left-skewed times, so the mean pivot falls on
// either side of the median; heavy ties; a value equal to the pivot; two
// counters with a session at the same instant; one and two sessions; a
// session exactly at the period's end, which must not count; waits so
// large that the pivot has 22 digits) and checks,
// for several periods, that both paths (PERCENTILE() and TOP/BOTTOM) give
// exactly the kpi.Stats computed in Go, and therefore exactly each other's.
func TestPercentilePaths(t *testing.T) {
	i := testenv.StartInflux(t, testenv.WithoutFlux())
	l := &lines{t: t}
	t0 := utc("2025-12-31T17:00:00Z") // 2026-01-01 00:00 local
	yearEnd := utc("2026-12-31T17:00:00Z")
	rng := rand.New(rand.NewPCG(4, 2026))
	type session struct {
		counter    string
		ts         time.Time
		wait, serv float64
	}
	seeded := map[string][]session{}
	add := func(site string, s session) {
		seeded[site] = append(seeded[site], s)
		l.add(&schema.Session{Header: schema.Header{ID: fmt.Sprintf("%s-%d", site, len(seeded[site])), TS: s.ts, Site: site},
			Counter: s.counter, Start: s.ts.Add(-time.Minute), End: s.ts, WaitS: s.wait, ServiceS: s.serv, Source: schema.SourceQueue})
	}
	// Halves only, so every sum is exact and the means compare equal.
	half := func(v float64) float64 { return math.Floor(v*2) / 2 }
	counters := []string{"c01", "c02", "c03"}
	spread := func(site string, n int, gen func(i int) (float64, float64)) {
		for j := range n {
			w, s := gen(j)
			ts := t0.Add(time.Duration(j) * (364 * 24 * time.Hour / time.Duration(n)))
			add(site, session{counters[j%3], ts, w, s})
		}
	}
	// Right-skewed: the mean is above the median (pivot count c >= k).
	spread("right", 3000, func(int) (float64, float64) {
		return half(rng.ExpFloat64() * 300), half(60 + rng.ExpFloat64()*400)
	})
	// Left-skewed: the mean is below the median (c < k).
	spread("left", 3000, func(int) (float64, float64) {
		return half(3600 - rng.ExpFloat64()*300), half(max(0, 2400-rng.ExpFloat64()*500))
	})
	// Ties: three values, the middle one equal to the mean (the pivot).
	spread("ties", 3000, func(j int) (float64, float64) {
		return float64(60 * (1 + j%3)), float64(100 * (1 + (j/7)%3))
	})
	// Two counters at the same instant, equal and different values.
	for j := range 1500 {
		ts := t0.Add(time.Duration(j) * 3 * time.Hour)
		add("same", session{"c01", ts, float64(j % 17), float64(j % 5)})
		add("same", session{"c02", ts, float64(j % 17), float64(j%11) + 0.5})
	}
	mid := utc("2026-06-01T00:00:00Z")
	// Huge waits (multiples of 2^70, so sums stay exact): the pivot literal
	// has 22 digits before its point.
	for j := range 40 {
		add("huge", session{counters[j%2], mid.Add(time.Duration(j) * time.Minute), math.Ldexp(float64(j%7), 70), float64(j)})
	}
	add("one", session{"c01", mid, 42.5, 17})
	add("two", session{"c01", mid, 10, 20})
	add("two", session{"c02", mid.Add(time.Hour), 30, 10})
	// Exactly at the year's end: outside the year, and far from the rest.
	for _, site := range []string{"right", "left", "ties"} {
		add(site, session{"c01", yearEnd, 1e6, 1e6})
	}
	l.write(t, i)

	src := NewSource(Config{URL: i.URL(), Token: i.Token(), Bucket: i.Bucket()})
	t.Cleanup(src.Close)
	src.Now = func() time.Time { return utc("2027-06-01T00:00:00Z") }
	hs, he := kpi.Bounds(kpi.PeriodHalf, mid, nil)
	ms, me := kpi.Bounds(kpi.PeriodMonth, mid, nil)
	periods := []struct {
		name       string
		start, end time.Time
	}{
		{"year", t0, yearEnd},
		{"half", hs, he},
		{"month", ms, me},
	}
	for _, site := range []string{"right", "left", "ties", "same", "huge", "one", "two"} {
		for _, p := range periods {
			t.Run(site+"/"+p.name, func(t *testing.T) {
				all, per := newWant(), map[string]*want{}
				for _, s := range seeded[site] {
					if s.ts.Before(p.start) || !s.ts.Before(p.end) {
						continue
					}
					if per[s.counter] == nil {
						per[s.counter] = newWant()
					}
					for _, w := range []*want{all, per[s.counter]} {
						w.waits, w.services = append(w.waits, s.wait), append(w.services, s.serv)
					}
				}
				var got [2]kpi.Stats
				var gotPer [2]map[string]kpi.Stats
				// The old path exactly as it was (PERCENTILE(), one request
				// per step), then every percentile by TOP/BOTTOM.
				for n, path := range []struct {
					selectMin int64
					parts     int
				}{{math.MaxInt64, 1}, {1, maxParts}} {
					src.selectMin, src.parts = path.selectMin, path.parts
					var err error
					got[n], gotPer[n], err = src.Load(t.Context(), site, p.start, p.end)
					if err != nil {
						t.Fatal(err)
					}
					name := []string{"percentile", "top/bottom"}[n]
					all.check(t, name, got[n])
					for c, w := range per {
						w.check(t, name+"/"+c, gotPer[n][c])
					}
					if len(gotPer[n]) != len(per) {
						t.Errorf("%s: counters %v, want %d", name, keys(gotPer[n]), len(per))
					}
				}
				if !reflect.DeepEqual(got[0], got[1]) || !reflect.DeepEqual(gotPer[0], gotPer[1]) {
					t.Errorf("paths differ:\npercentile %+v\ntop/bottom %+v", got[0], got[1])
				}
				if len(all.waits) == 0 {
					t.Fatalf("no sessions seeded in %s", p.name)
				}
				// The skewed sites take both sides of the pivot.
				if p.name == "year" && (site == "right" || site == "left") {
					n, sum, c := int64(len(all.waits)), 0.0, int64(0)
					for _, v := range all.waits {
						sum += v
					}
					for _, v := range all.waits {
						if v <= sum/float64(n) {
							c++
						}
					}
					if k := nearestRankK(n, 0.5); (c >= k) != (site == "right") {
						t.Errorf("%s: %d of %d at or below the mean, median rank %d", site, c, n, k)
					}
				}
			})
		}
	}
}
