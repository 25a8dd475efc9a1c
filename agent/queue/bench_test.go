package queue

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkStep10k: one queue step with 10,000 tickets open, each step
// made durable before it is acknowledged: the whole state file rewritten
// (before issue 18) against a line appended to the journal, in one run.
//
//	go test -run '^$' -bench Step10k -benchtime 300x ./agent/queue/
func BenchmarkStep10k(b *testing.B) {
	for _, mode := range []string{"rewrite", "journal"} {
		b.Run(mode, func(b *testing.B) {
			const open = 10000
			now := time.Now().UTC()
			cfg := testConfig()
			cfg.MaxOpenTickets = 2 * open
			out := &fakeOut{now: func() time.Time { return now }}
			tr, err := Open(cfg, b.TempDir(), "anlao", out, slog.New(slog.DiscardHandler), prometheus.NewRegistry(), func() time.Time { return now })
			if err != nil {
				b.Fatal(err)
			}
			defer tr.Close()
			ctx := context.Background()
			issued := now.Add(-time.Hour)
			for i := range open {
				p := step(fmt.Sprintf("i%d", i), issued.Add(time.Duration(i)*time.Millisecond).Format(time.RFC3339Nano), fmt.Sprintf("T%05d", i), "", "issued")
				if err := tr.Step(ctx, p); err != nil {
					b.Fatal(err)
				}
			}
			if mode == "rewrite" {
				tr.compactAt = func(int) int { return 0 }
			}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				p := step(fmt.Sprintf("c%d", i), now.Add(-time.Minute).Format(time.RFC3339Nano), fmt.Sprintf("T%05d", i%open), "c01", "called")
				start := time.Now()
				if err := tr.Step(ctx, p); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50_ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99_ms")
		})
	}
}
