package main

// Benchmarks of the agent, run with:
//   go test -run '^$' -bench . -benchtime 1x ./agent/
// They report figures with b.ReportMetric and assert no time.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pscm/pscm/agent/config"
	"github.com/pscm/pscm/agent/outbox"
	"github.com/pscm/pscm/agent/spool"
	"github.com/pscm/pscm/internal/schema"
)

// BenchmarkPress50: 500 presses at 50/s over 4 kiosks through the kiosk API
// (the page's request), with real spool fsyncs, a real broker, collector and
// InfluxDB. Reports the time until the kiosk hears "accepted" and the time
// until the rating is visible in InfluxDB, without the acknowledged records
// kept for a replay (retain_acked 0s, as before issue 12) and with them (1m,
// the default), in one run.
func BenchmarkPress50(b *testing.B) {
	for _, retain := range []string{"0s", "1m"} {
		b.Run("retain_acked="+retain, func(b *testing.B) { press50(b, retain) })
	}
}

func press50(b *testing.B, retain string) {
	w := newWorld(b)
	a := w.startAgent(b, agentOpts{minInterval: "0s", kiosks: 4, retain: retain})
	const n, rate = 500, 50
	acks := make([]float64, n)
	sent := make([]time.Time, n)
	seen := make([]time.Time, n)
	done := make(chan struct{})
	b.ResetTimer()
	go func() {
		defer close(done)
		start := time.Now()
		for i := range n {
			if due := start.Add(time.Duration(i) * time.Second / rate); time.Until(due) > 0 {
				time.Sleep(time.Until(due))
			}
			sent[i] = time.Now()
			code, _ := press(b, a.addr, fmt.Sprintf("k%02d", i%4+1), "satisfied", fmt.Sprintf("bench-%d", i))
			acks[i] = time.Since(sent[i]).Seconds() * 1000
			if code != 200 {
				b.Errorf("press %d: HTTP %d", i, code)
				return
			}
		}
	}()
	next := 0
	deadline := time.Now().Add(2 * time.Minute)
	for next < n && time.Now().Before(deadline) {
		c := int(w.db.Count(b, "rating", "id"))
		now := time.Now()
		for ; next < c && next < n; next++ {
			seen[next] = now
		}
		time.Sleep(5 * time.Millisecond)
	}
	<-done
	b.StopTimer()
	if next < n {
		b.Fatalf("only %d of %d visible", next, n)
	}
	vis := make([]float64, n)
	for i := range n {
		vis[i] = seen[i].Sub(sent[i]).Seconds() * 1000
	}
	sort.Float64s(acks)
	sort.Float64s(vis)
	b.ReportMetric(acks[n/2], "ack_p50_ms")
	b.ReportMetric(acks[n*99/100], "ack_p99_ms")
	b.ReportMetric(vis[n/2], "visible_p50_ms")
	b.ReportMetric(vis[n*99/100], "visible_p99_ms")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkReplay100k: 100,000 ratings already in the spool (written
// through the outbox as the agent writes them) while the central broker was
// unreachable; the agent starts and the figure is the time until the broker
// acknowledged all (the spool is empty) and until all are in InfluxDB.
//
// It also reports how long the agent takes to start with the 100,000 in its
// spool (it reads them all back first, outbox.Recover) against starting
// with an empty one, in the same run.
//
// Without the acknowledged records kept for a replay (retain_acked 0s, as
// before issue 12) and with them (1m, the default), in one run.
func BenchmarkReplay100k(b *testing.B) {
	for _, retain := range []string{"0s", "1m"} {
		b.Run("retain_acked="+retain, func(b *testing.B) { replay100k(b, retain) })
	}
}

func replay100k(b *testing.B, retain string) {
	w := newWorld(b)
	began := time.Now()
	empty := w.startAgent(b, agentOpts{minInterval: "0s", retain: retain})
	startEmpty := time.Since(began)
	empty.stop(b)
	cfgPath := w.agentConfig(b, agentOpts{minInterval: "0s", retain: retain})
	cfg, err := config.Load(cfgPath)
	if err != nil {
		b.Fatal(err)
	}
	const n = 100000
	sp, err := spool.Open(cfg.Spool, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		b.Fatal(err)
	}
	ob := outbox.New(cfg.Site, cfg.Agent, sp, time.Now)
	levels := []schema.Level{schema.LevelVerySatisfied, schema.LevelSatisfied, schema.LevelNeutral, schema.LevelDissatisfied}
	batch := make([][]byte, 0, 1000)
	for i := range n {
		rec, err := ob.Encode(&schema.Rating{Header: ob.Header(), Counter: "c01", Kiosk: "k01", Level: levels[i%4]})
		if err != nil {
			b.Fatal(err)
		}
		batch = append(batch, rec)
		if len(batch) == cap(batch) {
			if _, err := sp.Append(context.Background(), batch...); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if err := sp.Close(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	a := w.startAgent(b, agentOpts{minInterval: "0s", retain: retain})
	started := time.Since(start)
	var forwarded time.Duration
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		if forwarded == 0 && agentMetric(b, a.admin, "pscm_agent_spool_records") == 0 {
			forwarded = time.Since(start)
		}
		if w.db.Count(b, "rating", "id") >= n {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	visible := time.Since(start)
	b.StopTimer()
	if c := w.db.Count(b, "rating", "id"); c != n {
		b.Fatalf("%d ratings in InfluxDB, want %d", c, n)
	}
	b.ReportMetric(startEmpty.Seconds(), "start_empty_s")
	b.ReportMetric(started.Seconds(), "start_100k_s")
	b.ReportMetric(forwarded.Seconds(), "forwarded_s")
	b.ReportMetric(visible.Seconds(), "in_influxdb_s")
	b.ReportMetric(n/visible.Seconds(), "events/s")
	b.ReportMetric(0, "ns/op")
}

// agentMetric reads one unlabelled metric from the agent's /metrics.
func agentMetric(t testing.TB, addr, name string) float64 {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err == nil {
				return v
			}
		}
	}
	return -1
}
