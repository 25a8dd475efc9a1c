package spool

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

// eventBytes is about a rating event on the wire.
const eventBytes = 300

func benchSpool(b *testing.B) *Spool {
	b.Helper()
	cfg := Defaults()
	cfg.Dir = b.TempDir()
	s, err := Open(cfg, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

// reportAppends reports throughput and how many appends shared an fsync.
func reportAppends(b *testing.B, s *Spool, elapsed time.Duration, lat []time.Duration) {
	fsyncs := float64(s.fsyncs.Load())
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "records/s")
	b.ReportMetric(fsyncs/elapsed.Seconds(), "fsyncs/s")
	b.ReportMetric(float64(b.N)/fsyncs, "records/fsync")
	if len(lat) > 0 {
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
}

// ackEvery keeps long runs under the limits, as the uplink would.
const ackEvery = 50_000

func BenchmarkAppendSerial(b *testing.B) {
	s := benchSpool(b)
	data := bytes.Repeat([]byte("x"), eventBytes)
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		t0 := time.Now()
		seq, err := s.Append(ctx, data)
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
		if i%ackEvery == ackEvery-1 {
			_ = s.Ack(seq)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	reportAppends(b, s, elapsed, lat)
}

// BenchmarkAppendParallel: 16 appenders per CPU, like many kiosks pressing
// at once; group commit shares each fsync among the waiting ones.
func BenchmarkAppendParallel(b *testing.B) {
	s := benchSpool(b)
	data := bytes.Repeat([]byte("x"), eventBytes)
	ctx := context.Background()
	var mu sync.Mutex
	var lat []time.Duration
	b.SetParallelism(16)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			t0 := time.Now()
			seq, err := s.Append(ctx, data)
			if err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(t0))
			if seq%ackEvery == 0 {
				_ = s.Ack(seq)
			}
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	reportAppends(b, s, elapsed, lat)
}

// BenchmarkReplay: the uplink draining a backlog of 100,000 events, as after
// an outage: Read in batches of 1,000, Ack each batch.
func BenchmarkReplay(b *testing.B) {
	const backlog, batch = 100_000, 1000
	s := benchSpool(b)
	ctx := context.Background()
	unit := make([][]byte, batch)
	for i := range unit {
		unit[i] = bytes.Repeat([]byte("x"), eventBytes)
	}
	var elapsed time.Duration
	var after uint64
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		for range backlog / batch {
			if _, err := s.Append(ctx, unit...); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		start := time.Now()
		for n := 0; n < backlog; {
			recs, err := s.Read(ctx, after, batch)
			if err != nil {
				b.Fatal(err)
			}
			n += len(recs)
			after = recs[len(recs)-1].Seq
			if err := s.Ack(after); err != nil {
				b.Fatal(err)
			}
		}
		elapsed += time.Since(start)
	}
	b.StopTimer()
	b.ReportMetric(float64(backlog*b.N)/elapsed.Seconds(), "records/s")
	b.ReportMetric(float64(backlog*b.N*(headerSize+eventBytes))/elapsed.Seconds()/(1<<20), "MiB/s")
}

// BenchmarkOpen: recovery after a restart verifies every stored record;
// this is how long the agent waits for it with 100,000 events spooled.
func BenchmarkOpen(b *testing.B) {
	const backlog, batch = 100_000, 1000
	cfg := Defaults()
	cfg.Dir = b.TempDir()
	s, err := Open(cfg, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	unit := make([][]byte, batch)
	for i := range unit {
		unit[i] = bytes.Repeat([]byte("x"), eventBytes)
	}
	for range backlog / batch {
		if _, err := s.Append(context.Background(), unit...); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		s, err := Open(cfg, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if n, _, _ := s.Stats(); n != backlog {
			b.Fatalf("%d records after Open", n)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(backlog*b.N)/b.Elapsed().Seconds(), "records/s")
}
