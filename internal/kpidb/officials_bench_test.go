package kpidb

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/officials"
	"github.com/pscm/pscm/internal/roster"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/simcenter"
	"github.com/pscm/pscm/internal/testenv"
)

// BenchmarkOfficialsYear is issue 17's scale: the demo's year of a center
// (simcenter's story, 8 counters, about 660,000 points) with 30 officials
// logged in at the counters in turn (each queue step names the official of
// its counter that day) and 8 of them on a year-long roster. Reported, each
// the median of three right after an influxd restart, read from the raw
// facts and from the daily rollups (built first, as the dashboard's keeper
// does; rollup-build-s):
//   - list-cold-ms: a manager's list of the 30 officials for the year (the
//     year's days, then the figures of all 30);
//   - page-cold-ms: one official's page for the year with its twelve months
//     (their days read once, the year and each month summed from them).
//
// The target is a page under 1 s.
//
//	go test -run '^$' -bench OfficialsYear -benchtime 1x ./internal/kpidb/
func BenchmarkOfficialsYear(b *testing.B) {
	i := testenv.StartInflux(b)
	end := time.Date(2026, 12, 16, 0, 0, 0, 0, simcenter.Location())
	story := simcenter.NewStory(1, end, 380, 8)
	g := simcenter.New(simcenter.Config{Site: "anlao", Counters: 8, Seed: 1, Start: story.From, Calendar: story.Day, NoHeartbeats: true})
	ids := make([]string, 30)
	for k := range ids {
		ids[k] = fmt.Sprintf("cb%02d", k+1)
	}
	l := &lines{t: b}
	points := 0
	for m := g.Next(); m.At.Before(benchNow); m = g.Next() {
		if q, ok := m.Event.(*schema.Queue); ok && q.Counter != "" {
			var c int
			fmt.Sscanf(q.Counter, "c%d", &c)
			q.Staff = ids[(c+q.TS.YearDay()*8)%len(ids)]
		}
		l.add(m.Event)
		points++
	}
	l.write(b, i)
	b.Logf("wrote %d points of the demo's story, queue steps naming 30 officials", points)
	l.b = nil
	var file strings.Builder
	file.WriteString("officials:\n")
	for _, id := range ids {
		fmt.Fprintf(&file, "  - {id: %s, name: \"Cán bộ %s\", site: anlao}\n", id, id)
	}
	file.WriteString("shifts:\n")
	for c := 1; c <= 8; c++ {
		fmt.Fprintf(&file, "  - {official: %s, counter: c%02d, days: [mon, tue, wed, thu, fri], spans: [\"07:30-11:30\", \"13:30-17:00\"], from: 2025-01-01}\n", ids[c-1], c)
	}
	p := filepath.Join(b.TempDir(), "roster.yml")
	if err := os.WriteFile(p, []byte(file.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	r, err := roster.Load(p)
	if err != nil {
		b.Fatal(err)
	}
	src := benchSource(b, i)
	from, _ := calendarYear(2026)
	to := benchNow
	// The rollups' first build, as the dashboard's keeper makes it.
	i.Query(b, `CREATE DATABASE "rollups"`)
	kept := benchSource(b, i)
	store := kept.WithRollups(i.URL(), "rollups", "")
	b.Cleanup(store.Close)
	kept.KeepOfficials(r)
	began := time.Now()
	if _, err := kept.Refresh(b.Context(), store, "anlao", from, kept.Midnight(to)); err != nil {
		b.Fatal(err)
	}
	build := time.Since(began)
	// As the list does (every official, the range's days summed) and as
	// an official's page does (their days read once, the year and each
	// month summed from them), from a cold server each time.
	list := map[string][]time.Duration{}
	page := map[string][]time.Duration{}
	for range coldRounds {
		for _, v := range []struct {
			name string
			src  *Source
		}{{"raw", src}, {"rollups", kept}} {
			i.Stop(b)
			i.Start(b)
			began := time.Now()
			days, err := v.src.OfficialDays(b.Context(), "anlao", from, to, r, ids)
			if err != nil {
				b.Fatal(err)
			}
			res := officials.Sum(days, ids, kpi.DefaultSatisfied())
			list[v.name] = append(list[v.name], time.Since(began))
			if s := res.Officials[0].Sessions; s == 0 || res.Officials[0].ExpectedS == 0 {
				b.Fatalf("%s: the first official served %d sessions and was rostered %v s", v.name, s, res.Officials[0].ExpectedS)
			}
			i.Stop(b)
			i.Start(b)
			began = time.Now()
			days, err = v.src.OfficialDays(b.Context(), "anlao", from, to, r, ids[:1])
			if err != nil {
				b.Fatal(err)
			}
			officials.Sum(days, ids[:1], kpi.DefaultSatisfied())
			for m := from; m.Before(to); m = m.AddDate(0, 1, 0) {
				var in []*officials.Day
				for _, d := range days {
					if !d.Start.Before(m) && d.Start.Before(m.AddDate(0, 1, 0)) {
						in = append(in, d)
					}
				}
				officials.Sum(in, ids[:1], kpi.DefaultSatisfied())
			}
			page[v.name] = append(page[v.name], time.Since(began))
		}
	}
	if kept.RollupMisses() != 0 {
		b.Fatalf("%d loads missed the rollups", kept.RollupMisses())
	}
	for b.Loop() {
	}
	b.ReportMetric(build.Seconds(), "rollup-build-s")
	for _, v := range []string{"raw", "rollups"} {
		b.ReportMetric(float64(median(list[v]).Milliseconds()), v+"-list-cold-ms")
		b.ReportMetric(float64(median(page[v]).Milliseconds()), v+"-page-cold-ms")
		b.Logf("%s: list %v, page %v", v, list[v], page[v])
	}
}
