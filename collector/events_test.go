package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/testenv"
)

// TestEventMetrics publishes known events through the real broker and checks
// the exact values of the event metrics once InfluxDB holds them. A
// duplicate (the same payload delivered twice, as after a lost PUBACK) is one
// point in InfluxDB but two deliveries in the counters: the collector cannot
// tell a redelivery from a new event, which is why the alert rules use rates.
func TestEventMetrics(t *testing.T) {
	e := newEnv(t)
	c := e.startCollector(t, collectorOpts{})
	pub := newTestPublisher(t, e.mq.URL(), "events-pub")
	base := time.Now().UTC().Add(-10 * time.Minute).Truncate(time.Second)
	n := 0
	ts := func() string { n++; return base.Add(time.Duration(n) * time.Second).Format(time.RFC3339Nano) }
	rating := func(id, counter, level string) string {
		return fmt.Sprintf(`{"id":%q,"ts":%q,"site":"anlao","counter":%q,"kiosk":"k-%s","level":%q}`, id, ts(), counter, counter, level)
	}
	dup := rating("r-dup", "c02", "neutral")
	msgs := []struct{ topic, payload string }{
		{"pscm/v1/anlao/rating", rating("r1", "c01", "satisfied")},
		{"pscm/v1/anlao/rating", rating("r2", "c01", "satisfied")},
		{"pscm/v1/anlao/rating", rating("r3", "c01", "dissatisfied")},
		{"pscm/v1/anlao/rating/k-c02", rating("r4", "c02", "very_satisfied")},
		{"pscm/v1/anlao/rating", dup},
		{"pscm/v1/anlao/rating", dup},                             // redelivered
		{"pscm/v1/anlao/rating", rating("r5", "c02", "furious")},  // rejected: never counted
		{"pscm/v1/anlao/rating", rating("r6", "C 02", "neutral")}, // rejected: bad counter id
		{"pscm/v1/anlao/dossier", fmt.Sprintf(`{"id":"d1","ts":%q,"site":"anlao","dossier":"D-1","procedure":"1.001234","received":"2026-01-05T02:00:00Z","due":"2026-01-09T10:00:00Z","resolved":"2026-01-07T03:00:00Z","outcome":"early"}`, ts())},
		{"pscm/v1/anlao/dossier", fmt.Sprintf(`{"id":"d2","ts":%q,"site":"anlao","dossier":"D-2","procedure":"1.001234","received":"2026-01-05T02:00:00Z","due":"2026-01-09T10:00:00Z","resolved":"2026-01-12T03:00:00Z","outcome":"late"}`, ts())},
		{"pscm/v1/anlao/agent/edge-1", fmt.Sprintf(`{"id":"a1","ts":%q,"site":"anlao","agent":"edge-1","status":"online","version":"0.1.0","spool_depth":42,"uptime_s":60}`, ts())},
		{"pscm/v1/anlao/agent/edge-2", fmt.Sprintf(`{"id":"a2","ts":%q,"site":"anlao","agent":"edge-2","status":"online","spool_depth":0,"uptime_s":60}`, ts())},
		{"pscm/v1/anlao/agent/edge-2", fmt.Sprintf(`{"id":"a3","ts":%q,"site":"anlao","agent":"edge-2","status":"offline","spool_depth":3,"uptime_s":0}`, base.Format(time.RFC3339Nano))},
		{"pscm/v1/anlao/occupancy", fmt.Sprintf(`{"id":"o1","ts":%q,"site":"anlao","camera":"cam1","counter":"c01","zone":"staff","occupied":true,"confidence":0.9}`, ts())},
		{"pscm/v1/anlao/occupancy", fmt.Sprintf(`{"id":"o2","ts":%q,"site":"anlao","camera":"cam1","counter":"c01","zone":"citizen","occupied":false}`, ts())},
		{"pscm/v1/anlao/camera", fmt.Sprintf(`{"id":"k1","ts":%q,"site":"anlao","camera":"cam2","up":false,"fps":0,"kbps":0,"gop_s":0,"width":0,"height":0,"reconnects":3}`, ts())},
	}
	before := time.Now()
	for _, m := range msgs {
		publishOne(t, pub, m.topic, []byte(m.payload))
	}
	// Every message handled: 13 written (the duplicate twice), 2 rejected.
	testenv.Eventually(t, 15*time.Second, 20*time.Millisecond, func() bool {
		mf := metrics(t, c.addr)
		return metricValue(mf, "pscm_collector_points_written_total") == 14 &&
			metricValue(mf, "pscm_collector_rejected_total") == 2 &&
			metricValue(mf, "pscm_collector_inflight_messages") == 0
	}, "not every message handled")
	after := time.Now()
	if got := e.db.Count(t, "rating", "id"); got != 5 {
		t.Errorf("InfluxDB holds %d ratings, want 5 (the duplicate overwrote itself)", got)
	}

	mf := metrics(t, c.addr)
	type sample struct {
		name   string
		labels []string
		want   float64
	}
	for _, s := range []sample{
		{"pscm_collector_ratings_total", []string{"site", "anlao", "level", "very_satisfied"}, 1},
		{"pscm_collector_ratings_total", []string{"site", "anlao", "level", "satisfied"}, 2},
		{"pscm_collector_ratings_total", []string{"site", "anlao", "level", "neutral"}, 2},
		{"pscm_collector_ratings_total", []string{"site", "anlao", "level", "dissatisfied"}, 1},
		{"pscm_collector_ratings_total", []string{"site", "anlao"}, 6},
		{"pscm_collector_ratings_total", []string{"counter", "c01", "level", "satisfied"}, 2},
		{"pscm_collector_ratings_total", []string{"counter", "c01", "level", "dissatisfied"}, 1},
		{"pscm_collector_ratings_total", []string{"counter", "c01", "level", "neutral"}, 0},
		{"pscm_collector_ratings_total", []string{"counter", "c02", "level", "very_satisfied"}, 1},
		{"pscm_collector_ratings_total", []string{"counter", "c02", "level", "neutral"}, 2},
		{"pscm_collector_dossiers_total", []string{"site", "anlao", "outcome", "early"}, 1},
		{"pscm_collector_dossiers_total", []string{"site", "anlao", "outcome", "on_time"}, 0},
		{"pscm_collector_dossiers_total", []string{"site", "anlao", "outcome", "late"}, 1},
		{"pscm_collector_agent_online", []string{"agent", "edge-1"}, 1},
		{"pscm_collector_agent_online", []string{"agent", "edge-2"}, 0},
		{"pscm_collector_agent_spool_depth", []string{"agent", "edge-1"}, 42},
		{"pscm_collector_agent_spool_depth", []string{"agent", "edge-2"}, 3},
		{"pscm_collector_zone_occupied", []string{"counter", "c01", "zone", "staff"}, 1},
		{"pscm_collector_zone_occupied", []string{"counter", "c01", "zone", "citizen"}, 0},
		{"pscm_collector_camera_up", []string{"site", "anlao", "camera", "cam2"}, 0},
	} {
		if got := metricValue(mf, s.name, s.labels...); got != s.want {
			t.Errorf("%s%v = %v, want %v", s.name, s.labels, got, s.want)
		}
	}
	if n := len(mf["pscm_collector_ratings_total"].GetMetric()); n != 8 {
		t.Errorf("%d ratings_total series, want 8 (2 counters x 4 levels)", n)
	}
	for _, a := range []string{"edge-1", "edge-2"} {
		seen := metricValue(mf, "pscm_collector_agent_last_seen_timestamp_seconds", "agent", a)
		if seen < float64(before.Unix()) || seen > float64(after.Unix()+1) {
			t.Errorf("agent_last_seen{agent=%q} = %v, want the collector's clock at the write, in [%d, %d]",
				a, seen, before.Unix(), after.Unix()+1)
		}
	}
}
