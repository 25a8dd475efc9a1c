package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/mqttconn"
	"github.com/pscm/pscm/internal/mqttpub"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/simcenter"
	"github.com/pscm/pscm/internal/testenv"
)

// load returns n distinct events plus dups redeliveries, all valid now.
func load(n, dups int) []simcenter.Message {
	return simcenter.Load("anlao", 42, n, dups, time.Now().UTC().Add(-2*time.Hour))
}

// publishAll publishes msgs at about rate per second (0: as fast as
// possible) from a background goroutine and returns a wait function that
// fails the test if publishing did not complete.
func publishAll(t testing.TB, brokerURL string, msgs []simcenter.Message, rate int) (wait func()) {
	t.Helper()
	cfg := mqttconn.Defaults()
	cfg.Broker = brokerURL
	cfg.ClientID = "pscm-test-publisher"
	cfg.MaxReconnectInterval = time.Second
	pub, err := mqttpub.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	if err := pub.Start(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var perr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		start := time.Now()
		for i, m := range msgs {
			if rate > 0 {
				// Pace by schedule, not by sleeping per message.
				if due := start.Add(time.Duration(i) * time.Second / time.Duration(rate)); time.Until(due) > 0 {
					time.Sleep(time.Until(due))
				}
			}
			if err := pub.Publish(ctx, m.Topic, m.Payload, false); err != nil {
				perr = fmt.Errorf("publish %d: %w", i, err)
				return
			}
		}
		perr = pub.Flush(ctx)
	}()
	var once sync.Once
	wait = func() {
		once.Do(func() {
			wg.Wait()
			pub.Close()
			cancel()
			if perr != nil {
				t.Fatalf("publisher: %v", perr)
			}
		})
	}
	t.Cleanup(wait)
	return wait
}

// total counts points over every kind.
func total(t testing.TB, db *testenv.Influx) int64 {
	var n int64
	for _, k := range schema.Kinds() {
		n += db.Count(t, string(k), "id")
	}
	return n
}

// assertExact waits until InfluxDB holds exactly the distinct events of msgs
// per kind, then checks that it stays so (nothing counted twice).
func assertExact(t testing.TB, db *testenv.Influx, msgs []simcenter.Message, timeout time.Duration) {
	t.Helper()
	want := simcenter.Count(msgs)
	var wantTotal int64
	for _, n := range want {
		wantTotal += int64(n)
	}
	testenv.Eventually(t, timeout, 100*time.Millisecond, func() bool {
		return total(t, db) >= wantTotal
	}, "InfluxDB did not reach %d points", wantTotal)
	for _, k := range schema.Kinds() {
		if got := db.Count(t, string(k), "id"); got != int64(want[k]) {
			t.Errorf("%s: %d points, want %d", k, got, want[k])
		}
	}
}

func TestDuplicatesCountOnce(t *testing.T) {
	e := newEnv(t)
	c := e.startCollector(t, collectorOpts{})
	msgs := load(20000, 2000)
	publishAll(t, e.mq.URL(), msgs, 0)()
	testenv.Eventually(t, 60*time.Second, 50*time.Millisecond, func() bool {
		return metricValue(metrics(t, c.addr), "pscm_collector_messages_received_total") >= 22000
	}, "collector did not receive all 22,000 messages")
	assertExact(t, e.db, msgs, 30*time.Second)
	if n := total(t, e.db); n != 20000 {
		t.Fatalf("%d points, want exactly 20,000", n)
	}
}

func TestCollectorSIGKILL(t *testing.T) {
	e := newEnv(t)
	p := e.startProcess(t, collectorOpts{clientID: "pscm-collector-kill"})
	msgs := load(20000, 0)
	wait := publishAll(t, e.mq.URL(), msgs, 4000)
	testenv.Eventually(t, 30*time.Second, 20*time.Millisecond, func() bool {
		return total(t, e.db) >= 4000
	}, "no progress before the kill")
	p.kill(t)
	killedAt := total(t, e.db)
	p.start(t)
	wait()
	assertExact(t, e.db, msgs, 60*time.Second)
	t.Logf("killed at %d points; after restart exactly %d", killedAt, len(msgs))
}

func TestInfluxDownFor20s(t *testing.T) {
	e := newEnv(t)
	p := e.startProcess(t, collectorOpts{clientID: "pscm-collector-outage"})
	msgs := load(30000, 0)
	wait := publishAll(t, e.mq.URL(), msgs, 1000)
	testenv.Eventually(t, 30*time.Second, 20*time.Millisecond, func() bool {
		return total(t, e.db) >= 3000
	}, "no progress before the outage")
	e.db.Stop(t)
	// The outage lasts 20 s by design; meanwhile watch the collector's memory
	// and in-flight count.
	var maxRSS int64
	var maxInflight float64
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		maxRSS = max(maxRSS, p.rssBytes(t))
		maxInflight = max(maxInflight, metricValue(metrics(t, p.addr), "pscm_collector_inflight_messages"))
	}
	mf := metrics(t, p.addr)
	if up := metricValue(mf, "pscm_collector_influxdb_up"); up != 0 {
		t.Errorf("influxdb_up = %v during the outage", up)
	}
	if r := metricValue(mf, "pscm_collector_write_errors_total", "class", "retryable"); r == 0 {
		t.Error("no retryable write errors counted during the outage")
	}
	if resp, err := http.Get("http://" + p.addr + "/readyz"); err != nil {
		t.Errorf("/readyz during the outage: %v", err)
	} else {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		// 503, naming the dependency that is down. (Not "[+]mqtt ok": with
		// in-flight messages at their bound the broker connection may be
		// reconnecting too.)
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "[-]influxdb failed") {
			t.Errorf("/readyz during the outage: %d %q, want 503 naming influxdb", resp.StatusCode, body)
		}
	}
	e.db.Start(t)
	wait()
	assertExact(t, e.db, msgs, 90*time.Second)
	t.Logf("during 20 s outage: max RSS %.1f MB, max in flight %.0f", float64(maxRSS)/(1<<20), maxInflight)
	if maxInflight > 20000 {
		t.Errorf("in flight reached %.0f, bound is 20000", maxInflight)
	}
	// At most max_inflight messages are held whatever the outage's length;
	// the in-flight bound above is the sharp check, this one catches memory
	// that grows per retry.
	if maxRSS > 100<<20 {
		t.Errorf("RSS reached %d MB during the outage", maxRSS>>20)
	}
}

func TestBrokerRestart(t *testing.T) {
	e := newEnv(t)
	c := e.startCollector(t, collectorOpts{})
	msgs := load(20000, 0)
	wait := publishAll(t, e.mq.URL(), msgs, 4000)
	testenv.Eventually(t, 30*time.Second, 20*time.Millisecond, func() bool {
		return total(t, e.db) >= 4000
	}, "no progress before the broker restart")
	e.mq.Stop(t)
	e.mq.Start(t)
	wait()
	assertExact(t, e.db, msgs, 60*time.Second)
	if lost := metricValue(metrics(t, c.addr), "pscm_collector_mqtt_connection_lost_total"); lost < 1 {
		t.Errorf("connection_lost_total = %v; the restart went unnoticed?", lost)
	}
}

func TestSharedSubscription(t *testing.T) {
	e := newEnv(t)
	a := e.startCollector(t, collectorOpts{clientID: "pscm-collector-a", sharedGroup: "pscm"})
	b := e.startCollector(t, collectorOpts{clientID: "pscm-collector-b", sharedGroup: "pscm"})
	msgs := load(20000, 0)
	publishAll(t, e.mq.URL(), msgs, 0)()
	assertExact(t, e.db, msgs, 60*time.Second)
	wa := metricValue(metrics(t, a.addr), "pscm_collector_points_written_total")
	wb := metricValue(metrics(t, b.addr), "pscm_collector_points_written_total")
	t.Logf("collector a wrote %.0f points, b %.0f", wa, wb)
	if wa == 0 || wb == 0 {
		t.Fatalf("one collector did no work: a=%v b=%v", wa, wb)
	}
	if wa+wb < 20000 {
		t.Fatalf("a+b wrote %v points, want at least 20000", wa+wb)
	}
}
