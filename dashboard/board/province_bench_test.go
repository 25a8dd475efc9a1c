package board

import (
	"bytes"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/kpidb"
	"github.com/pscm/pscm/internal/report"
	"github.com/pscm/pscm/internal/testenv"
	"github.com/pscm/pscm/internal/timezone"
)

// BenchmarkProvince is issue 19's measurement: PSCM_SCALE_SITES simulated
// centers (10 unless set; 150 for the figures) with a year each,
// written by pscm-sim's backfill into a fresh InfluxDB 1.8, then, from a
// cold server each time (influxd restarted), with the events read raw and
// with the daily rollups:
//   - province-reload: every site's figures loaded as the dashboard's
//     reload does before the province view has them all (sites one after
//     another, each its periods at once);
//   - site-reload: one site's figures, the first page of a site's view;
//   - province-report: the year's province report built and written as
//     XLSX, as GET /api/report?site=province does.
//
// It also prints the load, the rollups' first build, series cardinality,
// disk per site-year and influxd's peak memory.
//
//	PSCM_SCALE_SITES=150 go test -run '^$' -bench Province -benchtime 1x -timeout 120m ./dashboard/board/
func BenchmarkProvince(b *testing.B) {
	n := 10
	if v := os.Getenv("PSCM_SCALE_SITES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 2 || n > 1000 {
			b.Fatalf("PSCM_SCALE_SITES=%q: 2 to 1000", v)
		}
	}
	i := testenv.StartInflux(b)
	i.Query(b, `CREATE DATABASE "rollups"`)
	sim := testenv.BuildProgram(b, "../../sim")
	vn := timezone.Vietnam()
	end := time.Date(2026, 12, 1, 0, 0, 0, 0, vn)
	now := end.Add(10 * time.Hour)
	began := time.Now()
	out, err := exec.Command(sim, "-mode", "backfill", "-influx", i.URL(), "-db", i.Database(), "-site", "tinh", "-sites", strconv.Itoa(n),
		"-seed", "1", "-days", "365", "-end", end.Format(time.DateOnly), "-timeout", "100m").CombinedOutput()
	if err != nil {
		b.Fatalf("backfill: %v\n%s", err, out)
	}
	load := time.Since(began)
	points := i.Count(b, "rating", "id") + i.Count(b, "queue", "id") + i.Count(b, "session", "id") + i.Count(b, "dossier", "id") + i.Count(b, "occupancy", "id")
	b.ReportMetric(float64(points), "points")
	b.Logf("%d sites: %d points written in %v (%.0f points/s)", n, points, load.Round(time.Second), float64(points)/load.Seconds())

	sites := make([]kpi.Site, n)
	rsites := make([]report.Site, n)
	for k := range sites {
		id := fmt.Sprintf("tinh-%03d", k+1)
		sites[k], rsites[k] = kpi.Site{ID: id, Name: id}, report.Site{ID: id, Name: id}
	}
	source := func(rollups bool) *kpidb.Source {
		s := kpidb.NewSource(kpidb.Config{URL: i.URL(), Bucket: i.Bucket()})
		b.Cleanup(s.Close)
		s.Now = func() time.Time { return now }
		if rollups {
			st := s.WithRollups(i.URL(), "rollups", "")
			b.Cleanup(st.Close)
		}
		return s
	}
	raw, kept := source(false), source(true)

	// The rollups' first build, as the dashboard's keeper makes it.
	store := kpidb.NewSource(kpidb.Config{URL: i.URL(), Bucket: i.Bucket()}).WithRollups(i.URL(), "rollups", "")
	began = time.Now()
	days := 0
	from := time.Date(now.Year()-1, time.January, 1, 0, 0, 0, 0, vn)
	for _, s := range sites {
		d, err := kept.Refresh(b.Context(), store, s.ID, from, kept.Midnight(now))
		if err != nil {
			b.Fatal(err)
		}
		days += d
	}
	build := time.Since(began)
	b.ReportMetric(build.Seconds()/float64(n), "rollup-build-s/site")
	b.Logf("rollups: %d site-days built in %v", days, build.Round(time.Millisecond))
	began = time.Now()
	checked := 0
	for _, s := range sites {
		d, err := kept.Refresh(b.Context(), store, s.ID, from, kept.Midnight(now))
		if err != nil {
			b.Fatal(err)
		}
		checked += d
	}
	b.ReportMetric(time.Since(began).Seconds(), "rollup-check-s")
	b.Logf("rollups: the hourly check of every day of every site took %v (%d rebuilt)", time.Since(began).Round(time.Millisecond), checked)

	cold := func() {
		i.Stop(b)
		i.Start(b)
	}
	log := slog.New(slog.DiscardHandler)
	for _, v := range []struct {
		name string
		src  *kpidb.Source
	}{{"raw", raw}, {"rollups", kept}} {
		brd := New(sites, v.src, vn, kpi.DefaultTargets(), nil, log, func() time.Time { return now })
		cold()
		began := time.Now()
		if err := brd.Reload(b.Context(), sites[n/2].ID); err != nil {
			b.Fatal(err)
		}
		site := time.Since(began)
		cold()
		began = time.Now()
		for _, s := range sites {
			if err := brd.Reload(b.Context(), s.ID); err != nil {
				b.Fatal(err)
			}
		}
		province := time.Since(began)
		began = time.Now()
		for _, s := range sites {
			if err := brd.Reload(b.Context(), s.ID); err != nil {
				b.Fatal(err)
			}
		}
		warm := time.Since(began)
		cold()
		began = time.Now()
		r, err := report.Build(b.Context(), v.src, report.Params{Title: "Tỉnh", Sites: rsites, From: time.Date(2026, 1, 1, 0, 0, 0, 0, vn), To: now, Loc: vn, Targets: kpi.DefaultTargets(), Generated: now})
		if err != nil {
			b.Fatal(err)
		}
		var x bytes.Buffer
		if err := r.WriteXLSX(&x); err != nil {
			b.Fatal(err)
		}
		rep := time.Since(began)
		b.ReportMetric(site.Seconds(), v.name+"-site-reload-s")
		b.ReportMetric(province.Seconds(), v.name+"-province-reload-s")
		b.ReportMetric(warm.Seconds(), v.name+"-province-warm-s")
		b.ReportMetric(rep.Seconds(), v.name+"-province-report-s")
		b.Logf("%s: one site's reload %v cold; every site's %v cold, %v warm; the province's year report (%d KB XLSX) %v cold",
			v.name, site.Round(time.Millisecond), province.Round(time.Millisecond), warm.Round(time.Millisecond), x.Len()>>10, rep.Round(time.Millisecond))
	}

	card := i.Query(b, `SHOW SERIES CARDINALITY`)
	var series any
	if len(card) > 0 && len(card[0].Values) > 0 {
		series = card[0].Values[0][0]
	}
	var bytes int64
	_ = filepath.WalkDir(i.DataDir(), func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				bytes += info.Size()
			}
		}
		return nil
	})
	rss := testenv.ProcStatusKB(b, i.PID(), "VmHWM:") * 1024
	b.ReportMetric(float64(bytes)/float64(n)/1e6, "disk-MB/site-year")
	b.ReportMetric(float64(rss)/1e6, "influxd-peak-MB")
	b.Logf("series cardinality %v; data %d MB (%.1f MB per site-year); influxd peak RSS since the last start %d MB", series, bytes>>20, float64(bytes)/float64(n)/1e6, rss>>20)
}
