package kpi

import (
	"bytes"
	"context"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/testenv"
)

// BenchmarkLoadYear loads a year of one center (200,000 ratings, 50,000
// dossiers, 300,000 sessions, 5,000 no-shows, written in batches through the
// HTTP write API) and reports:
//   - cold-page-ms: the dashboard's first page right after influxd
//     restarts (nothing of the query cached), loaded as the board does: the
//     four periods (today, month, half, year) and the two series at once,
//     per-counter percentiles for today only;
//   - warm-year-full-ms and warm-year-totals-ms: the year with and without
//     per-counter percentiles, one after the other in the same run;
//   - ns/op: a warm LoadTotals of the year;
//
// for each query language, and for InfluxQL both as now (influxql: TOP/BOTTOM
// percentiles for large periods, each step in two concurrent requests) and
// as before (influxql-percentile: PERCENTILE() for every period, one
// request per step), restarting influxd before each so each cold page is
// cold. The target is a first page
// under 2 s.
// Run with
//
//	go test -run '^$' -bench LoadYear -benchtime 5x ./dashboard/kpi/
func BenchmarkLoadYear(b *testing.B) {
	i := testenv.StartInflux(b)
	l := &lines{t: b}
	seedCenter(b, l, "anlao", 200_000, 4_000, 50_000, 500, 300_000, 5_000, 0)
	began := time.Now()
	const batch = 5000
	rest := l.b
	for len(rest) > 0 {
		n, cut := 0, 0
		for cut < len(rest) && n < batch {
			j := bytes.IndexByte(rest[cut:], '\n')
			cut += j + 1
			n++
		}
		i.Write(b, string(rest[:cut]))
		rest = rest[cut:]
	}
	b.Logf("wrote %d bytes of line protocol in %v", len(l.b), time.Since(began))
	l.b = nil
	for _, c := range []struct {
		name      string
		lang      Lang
		selectMin int64
		parts     int
	}{
		{"influxql-percentile", LangInfluxQL, math.MaxInt64, 1},
		{"influxql", LangInfluxQL, defaultSelectMin, maxParts},
		{"flux", LangFlux, defaultSelectMin, maxParts},
	} {
		b.Run(c.name, func(b *testing.B) { benchLoad(b, i, c.lang, c.selectMin, c.parts) })
	}
}

func benchLoad(b *testing.B, i *testenv.Influx, lang Lang, selectMin int64, parts int) {
	i.Stop(b)
	i.Start(b)

	src := NewSource(i.URL(), i.Token(), i.Org(), i.Bucket(), nil, nil)
	b.Cleanup(src.Close)
	src.Lang = lang
	src.selectMin, src.parts = selectMin, parts
	now := utc("2026-12-15T03:00:00Z")
	src.Now = func() time.Time { return now }
	ys, ye := Bounds(PeriodYear, now, nil)

	// The first page right after influxd starts, loaded as the board's
	// Reload does: the four periods and the two series at once, per-counter
	// percentiles for today only.
	began := time.Now()
	var wg sync.WaitGroup
	for _, p := range []Period{PeriodToday, PeriodMonth, PeriodHalf, PeriodYear} {
		wg.Go(func() {
			s, e := Bounds(p, now, nil)
			load := src.LoadTotals
			if p == PeriodToday {
				load = src.Load
			}
			st, _, err := load(b.Context(), "anlao", s, e)
			if err != nil {
				b.Error(err)
			}
			if p == PeriodYear && (st.RatingsTotal != 200_000 || st.DossiersTotal != 50_000 || st.Sessions != 300_000) {
				b.Errorf("loaded %d ratings, %d dossiers, %d sessions", st.RatingsTotal, st.DossiersTotal, st.Sessions)
			}
		})
	}
	wg.Go(func() {
		s, e := Bounds(PeriodToday, now, nil)
		if _, err := src.Series(b.Context(), "anlao", s, e, time.Hour); err != nil {
			b.Error(err)
		}
	})
	wg.Go(func() {
		s, e := Last30Days(now, nil)
		if _, err := src.Series(b.Context(), "anlao", s, e, 24*time.Hour); err != nil {
			b.Error(err)
		}
	})
	wg.Wait()
	coldPage := time.Since(began)

	// Warm, one after the other in the same run: the year with and without
	// the per-counter percentiles.
	warm := func(load func(context.Context, string, time.Time, time.Time) (Stats, map[string]Stats, error)) time.Duration {
		began := time.Now()
		if _, _, err := load(b.Context(), "anlao", ys, ye); err != nil {
			b.Fatal(err)
		}
		return time.Since(began)
	}
	full, totals := warm(src.Load), warm(src.LoadTotals)

	for b.Loop() {
		if _, _, err := src.LoadTotals(b.Context(), "anlao", ys, ye); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(coldPage.Milliseconds()), "cold-page-ms")
	b.ReportMetric(float64(full.Milliseconds()), "warm-year-full-ms")
	b.ReportMetric(float64(totals.Milliseconds()), "warm-year-totals-ms")
}
