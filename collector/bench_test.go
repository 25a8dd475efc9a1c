package main

// Benchmarks of the collector end to end, against the ceilings it runs under.
// Run them with `make bench` (go test -run '^$' -bench . -benchtime 1x
// ./collector/). Each reports its figures with b.ReportMetric; they measure,
// they never assert a time. The collector runs as a child process built
// without -race, so its CPU time and peak RSS are read from /proc.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	influxdb2 "github.com/influxdata/influxdb-client-go/v2"

	"github.com/pscm/pscm/internal/mqttconn"
	"github.com/pscm/pscm/internal/mqttpub"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/simcenter"
	"github.com/pscm/pscm/internal/testenv"
)

const drainN = 200000

func benchEnv(b *testing.B) *env {
	b.Helper()
	e := &env{
		mq: testenv.StartMosquitto(b, testenv.WithMaxInflight(20000)),
		db: testenv.StartInflux(b, testenv.WithoutFlux()),
	}
	return e
}

// BenchmarkCeilingMosquitto: QoS 1 publish -> subscribe through the broker
// alone, paho on both ends, nothing written anywhere.
func BenchmarkCeilingMosquitto(b *testing.B) {
	e := benchEnv(b)
	msgs := simcenter.Load("anlao", 7, drainN, 0, time.Now().UTC().Add(-2*time.Hour))
	var got atomic.Int64
	o := mqtt.NewClientOptions().AddBroker(e.mq.URL()).SetClientID("ceiling-sub").SetCleanSession(false)
	o.SetDefaultPublishHandler(func(mqtt.Client, mqtt.Message) { got.Add(1) })
	sub := mqtt.NewClient(o)
	if t := sub.Connect(); !t.WaitTimeout(10*time.Second) || t.Error() != nil {
		b.Fatal(t.Error())
	}
	defer sub.Disconnect(100)
	if t := sub.Subscribe("pscm/v1/#", 1, nil); !t.WaitTimeout(10*time.Second) || t.Error() != nil {
		b.Fatal(t.Error())
	}
	b.ResetTimer()
	start := time.Now()
	wait := publishAllB(b, e.mq.URL(), msgs)
	waitUntil(b, 5*time.Minute, func() bool { return got.Load() >= drainN })
	el := time.Since(start)
	wait()
	b.ReportMetric(float64(drainN)/el.Seconds(), "msgs/s")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkCeilingMosquittoDrain: 200,000 events queued for a stopped
// persistent-session subscriber, then drained by paho over the collector's
// connection (internal/mqttconn) with automatic acknowledgement and nothing
// else to do: the broker's delivery ceiling that BenchmarkDrain runs under.
func BenchmarkCeilingMosquittoDrain(b *testing.B) {
	e := benchEnv(b)
	msgs := simcenter.Load("anlao", 7, drainN, 0, time.Now().UTC().Add(-2*time.Hour))
	var got atomic.Int64
	cfg := mqttconn.Defaults()
	cfg.Broker = e.mq.URL()
	cfg.ClientID = "ceiling-drain"
	o, err := cfg.Options(false) // the collector's connection: buffered reads, coalesced acks
	if err != nil {
		b.Fatal(err)
	}
	o.SetDefaultPublishHandler(func(mqtt.Client, mqtt.Message) { got.Add(1) })
	sub := mqtt.NewClient(o)
	if t := sub.Connect(); !t.WaitTimeout(10*time.Second) || t.Error() != nil {
		b.Fatal(t.Error())
	}
	if t := sub.Subscribe("pscm/v1/#", 1, nil); !t.WaitTimeout(10*time.Second) || t.Error() != nil {
		b.Fatal(t.Error())
	}
	sub.Disconnect(100)
	publishAllB(b, e.mq.URL(), msgs)()
	got.Store(0)
	b.ResetTimer()
	start := time.Now()
	sub = mqtt.NewClient(o)
	if t := sub.Connect(); !t.WaitTimeout(10*time.Second) || t.Error() != nil {
		b.Fatal(t.Error())
	}
	defer sub.Disconnect(100)
	waitUntil(b, 5*time.Minute, func() bool { return got.Load() >= drainN })
	b.ReportMetric(float64(drainN)/time.Since(start).Seconds(), "msgs/s")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkCeilingInflux: pre-encoded line protocol written in batches of
// 5,000 with the blocking write API, one writer: InfluxDB alone.
func BenchmarkCeilingInflux(b *testing.B) {
	e := benchEnv(b)
	msgs := simcenter.Load("anlao", 7, drainN, 0, time.Now().UTC().Add(-2*time.Hour))
	var batches []string
	var buf []byte
	for i, m := range msgs {
		ev, err := schema.DecodeMessage(m.Topic, m.Payload, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		buf = ev.AppendLine(buf)
		if (i+1)%5000 == 0 || i == len(msgs)-1 {
			batches = append(batches, string(buf))
			buf = buf[:0]
		}
	}
	client := influxdb2.NewClientWithOptions(e.db.URL(), "", influxdb2.DefaultOptions().SetPrecision(time.Nanosecond))
	defer client.Close()
	w := client.WriteAPIBlocking("", e.db.Bucket())
	b.ResetTimer()
	start := time.Now()
	for _, batch := range batches {
		if err := w.WriteRecord(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	el := time.Since(start)
	b.ReportMetric(float64(drainN)/el.Seconds(), "points/s")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkDrain: 200,000 events queued on the broker while the collector is
// stopped (its persistent session exists), then the collector started; the
// figure is events per second until all are in InfluxDB.
func BenchmarkDrain(b *testing.B) {
	e := benchEnv(b)
	t := b
	p := e.startProcess(t, collectorOpts{clientID: "pscm-collector-drain", logLevel: "warn"})
	p.stop(t) // session created; the broker now queues for it
	msgs := simcenter.Load("anlao", 11, drainN, 0, time.Now().UTC().Add(-2*time.Hour))
	publishAllB(b, e.mq.URL(), msgs)()

	b.ResetTimer()
	start := time.Now()
	p.start(t)
	cpu0 := p.cpuSeconds(t)
	mq0, db0 := testenv.ProcCPUSeconds(t, e.mq.PID()), testenv.ProcCPUSeconds(t, e.db.PID())
	waitUntil(b, 5*time.Minute, func() bool {
		return metricValue(metrics(t, p.addr), "pscm_collector_points_written_total") >= drainN
	})
	el := time.Since(start)
	cpu := p.cpuSeconds(t) - cpu0
	b.ReportMetric((testenv.ProcCPUSeconds(t, e.mq.PID())-mq0)/el.Seconds()*100, "mosquitto_cpu_%")
	b.ReportMetric((testenv.ProcCPUSeconds(t, e.db.PID())-db0)/el.Seconds()*100, "influxd_cpu_%")
	rss := p.peakRSS(t)
	b.StopTimer()
	mf := metrics(t, p.addr)
	for _, name := range []string{"pscm_collector_batch_points", "pscm_collector_write_duration_seconds"} {
		if h := mf[name].GetMetric()[0].GetHistogram(); h != nil {
			b.Logf("%s: count %d mean %.4g", name, h.GetSampleCount(), h.GetSampleSum()/float64(h.GetSampleCount()))
		}
	}
	b.Logf("handler blocked %v times", metricValue(mf, "pscm_collector_handler_blocked_total"))
	if n := total(t, e.db); n != drainN {
		b.Fatalf("InfluxDB holds %d points, want %d", n, drainN)
	}
	b.ReportMetric(float64(drainN)/el.Seconds(), "events/s")
	b.ReportMetric(cpu/el.Seconds()*100, "cpu_%")
	b.ReportMetric(float64(rss)/(1<<20), "peak_rss_MB")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkLag200: ratings published at 200/s for 15 s; lag from publish to
// visible in InfluxDB (polled every 2 ms), p50 and p99.
func BenchmarkLag200(b *testing.B) { benchLag(b, 200, 3000) }

// BenchmarkLagFull: 50,000 ratings published as fast as the windowed QoS 1
// publisher goes (2,000 awaiting PUBACK).
func BenchmarkLagFull(b *testing.B) { benchLag(b, 0, 50000) }

func benchLag(b *testing.B, rate, n int) {
	e := benchEnv(b)
	t := b
	p := e.startProcess(t, collectorOpts{clientID: "pscm-collector-lag", logLevel: "warn"})
	cfg := mqttconn.Defaults()
	cfg.Broker = e.mq.URL()
	cfg.ClientID = "lag-pub"
	pub, err := mqttpub.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := pub.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer pub.Close()

	sent := make([]time.Time, n)
	seen := make([]time.Time, n)
	done := make(chan error, 1)
	base := time.Now().UTC()
	b.ResetTimer()
	go func() {
		start := time.Now()
		for i := range n {
			if rate > 0 {
				if due := start.Add(time.Duration(i) * time.Second / time.Duration(rate)); time.Until(due) > 0 {
					time.Sleep(time.Until(due))
				}
			}
			ts := base.Add(time.Duration(i) * time.Microsecond).Format(time.RFC3339Nano)
			payload := fmt.Sprintf(`{"id":"lag-%d","ts":"%s","site":"anlao","counter":"c01","kiosk":"k01","level":"satisfied"}`, i, ts)
			sent[i] = time.Now()
			if err := pub.Publish(ctx, "pscm/v1/anlao/rating", []byte(payload), false); err != nil {
				done <- err
				return
			}
		}
		done <- pub.Flush(ctx)
	}()
	cpu0 := p.cpuSeconds(t)
	mq0, db0 := testenv.ProcCPUSeconds(t, e.mq.PID()), testenv.ProcCPUSeconds(t, e.db.PID())
	runStart := time.Now()
	// Events are published in order by one client and written in order by
	// one collector, so "count >= i+1" means event i is visible.
	next := 0
	deadline := time.Now().Add(5 * time.Minute)
	for next < n && time.Now().Before(deadline) {
		// Count only from the first event not yet seen: a count over the
		// whole measurement would grow with n and load InfluxDB more than
		// the collector does, distorting what is measured.
		q := fmt.Sprintf(`SELECT count(id) FROM rating WHERE time >= %d`, base.Add(time.Duration(next)*time.Microsecond).UnixNano())
		c := next
		if s := e.db.Query(t, q); len(s) > 0 && len(s[0].Values) > 0 {
			var k int
			fmt.Sscan(fmt.Sprint(s[0].Values[0][1]), &k)
			c += k
		}
		now := time.Now()
		for ; next < c && next < n; next++ {
			seen[next] = now
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	el := time.Since(runStart)
	b.StopTimer()
	if next < n {
		b.Fatalf("only %d of %d visible", next, n)
	}
	lags := make([]float64, n)
	for i := range n {
		lags[i] = seen[i].Sub(sent[i]).Seconds() * 1000
	}
	sort.Float64s(lags)
	b.ReportMetric(lags[n/2], "lag_p50_ms")
	b.ReportMetric(lags[n*99/100], "lag_p99_ms")
	b.ReportMetric(lags[n-1], "lag_max_ms")
	b.ReportMetric(float64(n)/el.Seconds(), "events/s")
	b.ReportMetric((p.cpuSeconds(t)-cpu0)/el.Seconds()*100, "cpu_%")
	b.ReportMetric((testenv.ProcCPUSeconds(t, e.mq.PID())-mq0)/el.Seconds()*100, "mosquitto_cpu_%")
	b.ReportMetric((testenv.ProcCPUSeconds(t, e.db.PID())-db0)/el.Seconds()*100, "influxd_cpu_%")
	b.ReportMetric(float64(p.peakRSS(t))/(1<<20), "peak_rss_MB")
	b.ReportMetric(0, "ns/op")
}

func publishAllB(b *testing.B, url string, msgs []simcenter.Message) func() {
	return publishAll(b, url, msgs, 0)
}

func waitUntil(b *testing.B, timeout time.Duration, cond func() bool) {
	b.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatal("timed out")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// cpuSeconds is the collector process's user+system CPU time.
func (p *process) cpuSeconds(t testing.TB) float64 {
	return testenv.ProcCPUSeconds(t, p.cmd.Process.Pid)
}

// peakRSS is VmHWM, the process's peak resident set.
func (p *process) peakRSS(t testing.TB) int64 {
	return testenv.ProcStatusKB(t, p.cmd.Process.Pid, "VmHWM:") * 1024
}
