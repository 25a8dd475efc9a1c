package kpi

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/testenv"
)

// BenchmarkLoadYear loads a year of one center (200,000 ratings, 50,000
// dossiers, 300,000 sessions, 5,000 no-shows, written in batches through the
// HTTP write API) and reports:
//   - cold-year-ms: the first Load of the year right after influxd restarts,
//     so nothing of the query is cached;
//   - cold-page-ms: then the dashboard's first page, the four periods
//     (today, month, half, year) loaded one after the other;
//   - ns/op: a warm Load of the year;
//
// for each query language. The target is a first page under 2 s.
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
	for _, lang := range []Lang{LangInfluxQL, LangFlux} {
		b.Run(string(lang), func(b *testing.B) { benchLoad(b, i, lang) })
	}
}

func benchLoad(b *testing.B, i *testenv.Influx, lang Lang) {
	i.Stop(b)
	i.Start(b)

	src := NewSource(i.URL(), i.Token(), i.Org(), i.Bucket(), nil, nil)
	b.Cleanup(src.Close)
	src.Lang = lang
	now := utc("2026-12-15T03:00:00Z")
	src.Now = func() time.Time { return now }
	ys, ye := Bounds(PeriodYear, now, nil)

	began := time.Now()
	st, _, err := src.Load(b.Context(), "anlao", ys, ye)
	if err != nil {
		b.Fatal(err)
	}
	cold := time.Since(began)
	if st.RatingsTotal != 200_000 || st.DossiersTotal != 50_000 || st.Sessions != 300_000 {
		b.Fatalf("loaded %d ratings, %d dossiers, %d sessions", st.RatingsTotal, st.DossiersTotal, st.Sessions)
	}

	began = time.Now()
	for _, p := range []Period{PeriodToday, PeriodMonth, PeriodHalf, PeriodYear} {
		s, e := Bounds(p, now, nil)
		if _, _, err := src.Load(b.Context(), "anlao", s, e); err != nil {
			b.Fatal(err)
		}
	}
	page := time.Since(began)

	// The same four periods at once, as the dashboard's board loads them.
	began = time.Now()
	var wg sync.WaitGroup
	for _, p := range []Period{PeriodToday, PeriodMonth, PeriodHalf, PeriodYear} {
		wg.Go(func() {
			s, e := Bounds(p, now, nil)
			if _, _, err := src.Load(b.Context(), "anlao", s, e); err != nil {
				b.Error(err)
			}
		})
	}
	wg.Wait()
	pageConcurrent := time.Since(began)

	for b.Loop() {
		if _, _, err := src.Load(b.Context(), "anlao", ys, ye); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cold.Milliseconds()), "cold-year-ms")
	b.ReportMetric(float64(page.Milliseconds()), "cold-page-ms")
	b.ReportMetric(float64(pageConcurrent.Milliseconds()), "page-concurrent-ms")
}
