package main

// Benchmarks of the agent, run with:
//   go test -run '^$' -bench . -benchtime 1x ./agent/
// They report figures with b.ReportMetric and assert no time.

import (
	"fmt"
	"sort"
	"testing"
	"time"
)

// BenchmarkPress50: 500 presses at 50/s over 4 kiosks through the kiosk API
// (the page's request), with real spool fsyncs, a real broker, collector and
// InfluxDB. Reports the time until the kiosk hears "accepted" and the time
// until the rating is visible in InfluxDB.
func BenchmarkPress50(b *testing.B) {
	w := newWorld(b)
	a := w.startAgent(b, agentOpts{minInterval: "0s", kiosks: 4})
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
