package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/testenv"
)

// designExamples are the example lines of the event contract (docs/events.md), with
// the tags and fields each must become in InfluxDB (written by hand from the
// contract, not from the code under test).
var designExamples = []struct {
	topic   string
	payload string
	ts      string
	tags    map[string]string
	fields  map[string]string
}{
	{
		topic:   "pscm/v1/anlao/rating",
		payload: `{"id":"01JDX8K3Q7A1","ts":"2026-11-25T01:15:02.123456789Z","site":"anlao","counter":"c03","kiosk":"k03","level":"satisfied","reasons":[],"session":"s-8812"}`,
		ts:      "2026-11-25T01:15:02.123456789Z",
		tags:    map[string]string{"site": "anlao", "counter": "c03", "kiosk": "k03", "level": "satisfied"},
		fields:  map[string]string{"id": "01JDX8K3Q7A1", "session": "s-8812"},
	},
	{
		topic:   "pscm/v1/anlao/queue",
		payload: `{"id":"01JDX8K3Q7A2","ts":"2026-11-25T01:02:10Z","site":"anlao","ticket":"A012","service":"ho-tich","counter":"c03","step":"called"}`,
		ts:      "2026-11-25T01:02:10Z",
		tags:    map[string]string{"site": "anlao", "service": "ho-tich", "counter": "c03", "step": "called"},
		fields:  map[string]string{"id": "01JDX8K3Q7A2", "ticket": "A012"},
	},
	{
		topic:   "pscm/v1/anlao/occupancy",
		payload: `{"id":"01JDX8K3Q7A3","ts":"2026-11-25T01:02:40Z","site":"anlao","camera":"cam1","counter":"c03","zone":"citizen","occupied":true,"confidence":0.93}`,
		ts:      "2026-11-25T01:02:40Z",
		tags:    map[string]string{"site": "anlao", "camera": "cam1", "counter": "c03", "zone": "citizen"},
		fields:  map[string]string{"id": "01JDX8K3Q7A3", "occupied": "true", "confidence": "0.93"},
	},
	{
		topic:   "pscm/v1/anlao/session",
		payload: `{"id":"s-8812","ts":"2026-11-25T01:14:55Z","site":"anlao","counter":"c03","start":"2026-11-25T01:02:41Z","end":"2026-11-25T01:14:55Z","wait_s":612.0,"service_s":734.0,"source":"fused","ticket":"A012"}`,
		ts:      "2026-11-25T01:14:55Z",
		tags:    map[string]string{"site": "anlao", "counter": "c03", "source": "fused"},
		fields: map[string]string{"id": "s-8812", "start": "2026-11-25T01:02:41Z", "end": "2026-11-25T01:14:55Z",
			"wait_s": "612", "service_s": "734", "ticket": "A012"},
	},
	{
		topic:   "pscm/v1/anlao/dossier",
		payload: `{"id":"01JDX8K3Q7A4","ts":"2026-11-25T03:00:00Z","site":"anlao","dossier":"000.00.12.H10-261125-0001","procedure":"1.001234","received":"2026-11-20T02:00:00Z","due":"2026-11-27T10:00:00Z","resolved":"2026-11-25T03:00:00Z","outcome":"early"}`,
		ts:      "2026-11-25T03:00:00Z",
		tags:    map[string]string{"site": "anlao", "outcome": "early"},
		fields: map[string]string{"id": "01JDX8K3Q7A4", "dossier": "000.00.12.H10-261125-0001", "procedure": "1.001234",
			"received": "2026-11-20T02:00:00Z", "due": "2026-11-27T10:00:00Z", "resolved": "2026-11-25T03:00:00Z"},
	},
	{
		topic:   "pscm/v1/anlao/camera",
		payload: `{"id":"01JDX8K3Q7A5","ts":"2026-11-25T01:15:00Z","site":"anlao","camera":"cam1","up":true,"fps":25.0,"kbps":3990,"gop_s":2.0,"width":1920,"height":1080,"codec":"h264","reconnects":0}`,
		ts:      "2026-11-25T01:15:00Z",
		tags:    map[string]string{"site": "anlao", "camera": "cam1", "codec": "h264"},
		fields: map[string]string{"id": "01JDX8K3Q7A5", "up": "true", "fps": "25", "kbps": "3990", "gop_s": "2",
			"width": "1920", "height": "1080", "reconnects": "0"},
	},
	{
		topic:   "pscm/v1/anlao/agent/anlao-edge-1",
		payload: `{"id":"01JDX8K3Q7A6","ts":"2026-11-25T01:15:00Z","site":"anlao","agent":"anlao-edge-1","status":"online","version":"0.1.0","spool_depth":0,"uptime_s":3600}`,
		ts:      "2026-11-25T01:15:00Z",
		tags:    map[string]string{"site": "anlao", "agent": "anlao-edge-1"},
		fields:  map[string]string{"id": "01JDX8K3Q7A6", "status": "online", "version": "0.1.0", "spool_depth": "0", "uptime_s": "3600"},
	},
}

// TestContract: every kind published to the broker arrives in InfluxDB with
// exactly the tags, fields and timestamp of the contract.
func TestContract(t *testing.T) {
	e := newEnv(t)
	c := e.startCollector(t, collectorOpts{})
	pub := newTestPublisher(t, e.mq.URL(), "contract-pub")
	for _, ex := range designExamples {
		publishOne(t, pub, ex.topic, []byte(ex.payload))
	}
	for _, ex := range designExamples {
		kind := strings.Split(ex.topic, "/")[3]
		t.Run(kind, func(t *testing.T) {
			var series []testenv.Series
			testenv.Eventually(t, 10*time.Second, 20*time.Millisecond, func() bool {
				series = e.db.Query(t, fmt.Sprintf(`SELECT * FROM %q GROUP BY *`, kind))
				return len(series) > 0
			}, "no %s point", kind)
			if len(series) != 1 || len(series[0].Values) != 1 {
				t.Fatalf("want exactly one %s point, got %+v", kind, series)
			}
			s := series[0]
			if !equalMaps(s.Tags, ex.tags) {
				t.Errorf("tags = %v, want %v", s.Tags, ex.tags)
			}
			got := map[string]string{}
			for i, col := range s.Columns {
				v := s.Values[0][i]
				if col == "time" {
					want, _ := time.Parse(time.RFC3339Nano, ex.ts)
					if fmt.Sprint(v) != fmt.Sprint(want.UnixNano()) {
						t.Errorf("time = %v, want %d (%s)", v, want.UnixNano(), ex.ts)
					}
					continue
				}
				if v != nil {
					got[col] = fmt.Sprint(v)
				}
			}
			if !equalMaps(got, ex.fields) {
				t.Errorf("fields = %v\nwant     %v", got, ex.fields)
			}
		})
	}
	mf := metrics(t, c.addr)
	if got := metricValue(mf, "pscm_collector_points_written_total"); got != float64(len(designExamples)) {
		t.Errorf("points_written_total = %v, want %d", got, len(designExamples))
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

// TestBadInputs: each bad message is rejected with its reason, acknowledged,
// and nothing of it is written.
func TestBadInputs(t *testing.T) {
	e := newEnv(t)
	c := e.startCollector(t, collectorOpts{})
	pub := newTestPublisher(t, e.mq.URL(), "bad-pub")
	now := time.Now().UTC()
	ts := now.Format(time.RFC3339Nano)
	rating := func(mod func(string) string) string {
		return mod(`{"id":"bad-1","ts":"` + ts + `","site":"anlao","counter":"c03","kiosk":"k03","level":"satisfied"}`)
	}
	repl := func(old, new string) func(string) string {
		return func(s string) string { return strings.Replace(s, old, new, 1) }
	}
	tests := []struct {
		name, topic, payload string
		reason               schema.Reason
	}{
		{"malformed json", "pscm/v1/anlao/rating", `{"id":"x",`, schema.ReasonMalformed},
		{"not an object", "pscm/v1/anlao/rating", `[1,2,3]`, schema.ReasonMalformed},
		{"wrong type", "pscm/v1/anlao/rating", rating(repl(`"counter":"c03"`, `"counter":3`)), schema.ReasonWrongType},
		{"over the limit", "pscm/v1/anlao/rating", rating(repl(`"level"`, `"pad":"`+strings.Repeat("x", schema.MaxPayload)+`","level"`)), schema.ReasonTooLarge},
		{"invalid utf-8", "pscm/v1/anlao/rating", rating(repl(`"bad-1"`, "\"bad-\xff\xfe\"")), schema.ReasonInvalidUTF8},
		{"unknown level", "pscm/v1/anlao/rating", rating(repl(`"satisfied"`, `"ecstatic"`)), schema.ReasonInvalidValue},
		{"id with space", "pscm/v1/anlao/rating", rating(repl(`"c03"`, `"c 03"`)), schema.ReasonInvalidID},
		{"id with comma", "pscm/v1/anlao/rating", rating(repl(`"c03"`, `"c03,evil=1"`)), schema.ReasonInvalidID},
		{"id with quote", "pscm/v1/anlao/rating", rating(repl(`"c03"`, `"c03\""`)), schema.ReasonInvalidID},
		{"id with newline", "pscm/v1/anlao/rating", rating(repl(`"c03"`, `"c03\nrating x=1"`)), schema.ReasonInvalidID},
		{"id of 200 chars", "pscm/v1/anlao/rating", rating(repl(`"c03"`, `"`+strings.Repeat("c", 200)+`"`)), schema.ReasonInvalidID},
		{"ts a day ahead", "pscm/v1/anlao/rating", rating(repl(ts, now.Add(25*time.Hour).Format(time.RFC3339Nano))), schema.ReasonTimeRange},
		{"ts before 2020", "pscm/v1/anlao/rating", rating(repl(ts, "2019-12-31T23:59:59Z")), schema.ReasonTimeRange},
		{"site disagrees", "pscm/v1/other/rating", rating(func(s string) string { return s }), schema.ReasonSiteMismatch},
		{"missing level", "pscm/v1/anlao/rating", rating(repl(`,"level":"satisfied"`, ``)), schema.ReasonMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := metricValue(metrics(t, c.addr), "pscm_collector_rejected_total", "reason", string(tt.reason))
			publishOne(t, pub, tt.topic, []byte(tt.payload))
			testenv.Eventually(t, 10*time.Second, 10*time.Millisecond, func() bool {
				return metricValue(metrics(t, c.addr), "pscm_collector_rejected_total", "reason", string(tt.reason)) == before+1
			}, "rejected_total{reason=%q} did not go up by one", tt.reason)
			if !strings.Contains(c.logs.String(), "reason="+string(tt.reason)) {
				t.Errorf("no log line with reason=%s", tt.reason)
			}
		})
	}
	// An unknown kind (an agent newer than this collector) is received,
	// refused as unknown_kind, counted and logged, and never written.
	received := metricValue(metrics(t, c.addr), "pscm_collector_messages_received_total")
	unknown := metricValue(metrics(t, c.addr), "pscm_collector_rejected_total", "reason", "unknown_kind")
	publishOne(t, pub, "pscm/v1/anlao/complaint", []byte(rating(func(s string) string { return s })))
	publishOne(t, pub, "pscm/v1/anlao/complaint/anlao-edge-1", []byte(rating(func(s string) string { return s })))
	testenv.Eventually(t, 10*time.Second, 10*time.Millisecond, func() bool {
		return metricValue(metrics(t, c.addr), "pscm_collector_rejected_total", "reason", "unknown_kind") == unknown+2
	}, "rejected_total{reason=unknown_kind} did not go up by two")
	if !strings.Contains(c.logs.String(), "complaint") {
		t.Error("no log line names the unknown kind")
	}

	// A valid event published after the bad ones is written; the bad ones never are.
	publishOne(t, pub, "pscm/v1/anlao/rating", []byte(rating(repl(`"bad-1"`, `"good-1"`))))
	testenv.Eventually(t, 10*time.Second, 20*time.Millisecond, func() bool {
		return e.db.Count(t, "rating", "id") == 1
	}, "the valid rating was not written")
	if n := e.db.Count(t, "complaint", "id"); n != 0 {
		t.Errorf("unknown kind written: %d points", n)
	}
	if got := metricValue(metrics(t, c.addr), "pscm_collector_messages_received_total"); got != received+3 {
		t.Errorf("messages_received_total went from %v to %v; want the two of an unknown kind and the valid rating", received, got)
	}
	if got := e.db.Query(t, `SELECT id FROM rating`); len(got) != 1 || fmt.Sprint(got[0].Values[0][1]) != "good-1" {
		t.Errorf("rating points = %+v, want only good-1", got)
	}
	// Everything was acknowledged: nothing left in flight.
	testenv.Eventually(t, 5*time.Second, 20*time.Millisecond, func() bool {
		return metricValue(metrics(t, c.addr), "pscm_collector_inflight_messages") == 0
	}, "messages left unacknowledged")
}

func TestConfigCheck(t *testing.T) {
	var out, errb testenv.SyncBuffer
	// The check means "this will start": the example's secrets are systemd
	// credentials, which exist only in the unit's run, so its check fails
	// on the first of them, after the YAML itself was accepted
	// (config.TestShippedConfigs).
	t.Setenv("CREDENTIALS_DIRECTORY", "")
	err := run(context.Background(), []string{"-config", "../configs/collector.example.yml", "-config.check"}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "credential collector_") || out.String() != "" {
		t.Fatalf("example config check: %v, stdout %q", err, out.String())
	}
	err = run(context.Background(), []string{"-config", "testdata/invalid-unknown-key.yml", "-config.check"}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "field batchsize not found") {
		t.Fatalf("unknown key: err = %v", err)
	}
	err = run(context.Background(), []string{"-config", "testdata/check-closed-future.yml", "-config.check"}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "admission.closed_through: 2099H2 runs until") {
		t.Fatalf("closing a period not ended: err = %v", err)
	}
}

// TestTypeConflictDoesNotBlock: a point InfluxDB refuses for good (here a
// field type conflict with data written by someone else) is counted and
// acknowledged; the events after it still flow.
func TestTypeConflictDoesNotBlock(t *testing.T) {
	e := newEnv(t)
	ts := time.Now().UTC().Add(-time.Minute)
	e.db.Write(t, fmt.Sprintf("camera,camera=cam1,site=anlao fps=25i %d\n", ts.Add(-time.Second).UnixNano()))
	c := e.startCollector(t, collectorOpts{})
	pub := newTestPublisher(t, e.mq.URL(), "conflict-pub")
	publishOne(t, pub, "pscm/v1/anlao/camera", []byte(`{"id":"c1","ts":"`+ts.Format(time.RFC3339Nano)+`","site":"anlao","camera":"cam1","up":true,"fps":25.0}`))
	testenv.Eventually(t, 10*time.Second, 20*time.Millisecond, func() bool {
		return metricValue(metrics(t, c.addr), "pscm_collector_rejected_total", "reason", "influxdb_rejected") >= 1
	}, "type conflict not counted as influxdb_rejected")
	publishOne(t, pub, "pscm/v1/anlao/rating", []byte(`{"id":"r1","ts":"`+ts.Format(time.RFC3339Nano)+`","site":"anlao","counter":"c01","kiosk":"k01","level":"neutral"}`))
	testenv.Eventually(t, 10*time.Second, 20*time.Millisecond, func() bool {
		return e.db.Count(t, "rating", "id") == 1
	}, "the event after the refused one was not written")
	if !strings.Contains(c.logs.String(), "field type conflict") {
		t.Error("InfluxDB's reason not logged")
	}
}

// TestMetricsLint runs promtool check metrics over the collector's /metrics,
// with every metric family present (after traffic), as node_exporter does.
func TestMetricsLint(t *testing.T) {
	e := newEnv(t)
	c := e.startCollector(t, collectorOpts{})
	pub := newTestPublisher(t, e.mq.URL(), "lint-pub")
	publishOne(t, pub, designExamples[0].topic, []byte(designExamples[0].payload))
	testenv.Eventually(t, 10*time.Second, 20*time.Millisecond, func() bool {
		return metricValue(metrics(t, c.addr), "pscm_collector_points_written_total") == 1
	}, "no point written")
	resp, err := http.Get("http://" + c.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{
		"pscm_collector_messages_received_total", "pscm_collector_points_written_total",
		"pscm_collector_rejected_total", "pscm_collector_batch_points", "pscm_collector_write_duration_seconds",
		"pscm_collector_inflight_messages", "pscm_collector_inflight_limit_messages", "pscm_collector_mqtt_connected",
		"pscm_collector_influxdb_up", "pscm_collector_last_write_timestamp_seconds", "pscm_collector_build_info",
		"pscm_collector_ratings_total", "pscm_collector_event_series_overflow_total",
	} {
		if !bytes.Contains(body, []byte("\n"+name)) {
			t.Errorf("metric %s missing", name)
		}
	}
	testenv.CheckMetrics(t, body)
	// A client that never finishes its headers is cut (the read timeout).
	testenv.SlowClientsCut(t, 15*time.Second, c.addr)
	// Readiness says what it checks.
	resp, err = http.Get("http://" + c.addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	rb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(rb), "[+]mqtt ok\n[+]influxdb ok\n") {
		t.Fatalf("/readyz = %d %q", resp.StatusCode, rb)
	}
}
