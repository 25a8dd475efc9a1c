package ingest

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pscm/pscm/internal/schema"
)

func msg(kind, source, payload string) *fakeMsg {
	topic := "pscm/v1/anlao/" + kind
	if source != "" {
		topic += "/" + source
	}
	return &fakeMsg{topic: topic, payload: []byte(payload)}
}

func ratingAt(id, counter, level string, ts time.Time) *fakeMsg {
	return msg("rating", "", fmt.Sprintf(`{"id":%q,"ts":%q,"site":"anlao","counter":%q,"kiosk":"k01","level":%q}`,
		id, ts.Format(time.RFC3339Nano), counter, level))
}

// TestEventMetricsCountOnlyWhenAcknowledged: ratings held by a stuck writer
// are not counted; once written they are, exactly, with every level of a new
// site and counter present from 0; rejected messages never count.
func TestEventMetricsCountOnlyWhenAcknowledged(t *testing.T) {
	w := &fakeWriter{block: make(chan struct{})}
	p, m, cancel, done := newTest(t, Config{BatchSize: 10, FlushInterval: time.Millisecond, MaxInflight: 100, Writers: 1}, w)
	ts := time.Now().UTC().Add(-time.Minute)
	in := []*fakeMsg{
		ratingAt("r1", "c01", "satisfied", ts),
		ratingAt("r2", "c01", "dissatisfied", ts.Add(time.Second)),
		ratingAt("r3", "c02", "very_satisfied", ts.Add(2*time.Second)),
		ratingAt("r4", "c01", "ecstatic", ts.Add(3*time.Second)), // rejected: invalid level
	}
	for _, x := range in {
		p.Handle(x)
	}
	waitFor(t, "the rejection", func() bool {
		return testutil.ToFloat64(m.rejected.WithLabelValues(string(schema.ReasonInvalidValue))) == 1
	})
	if n := testutil.CollectAndCount(m.events.ratings); n != 0 {
		t.Fatalf("%d rating series before the write was acknowledged", n)
	}
	close(w.block)
	waitFor(t, "acks", func() bool { return in[0].acked.Load() && in[3].acked.Load() })
	// The events are observed just after their acks: wait for the last one.
	waitFor(t, "the last rating observed", func() bool {
		return testutil.ToFloat64(m.events.ratings.WithLabelValues("anlao", "c02", "very_satisfied")) == 1
	})
	byCounter := map[[3]string]float64{
		{"anlao", "c01", "satisfied"}: 1, {"anlao", "c01", "dissatisfied"}: 1, {"anlao", "c01", "neutral"}: 0,
		{"anlao", "c01", "very_satisfied"}: 0, {"anlao", "c02", "very_satisfied"}: 1, {"anlao", "c02", "satisfied"}: 0,
		{"anlao", "c02", "neutral"}: 0, {"anlao", "c02", "dissatisfied"}: 0,
	}
	if n := testutil.CollectAndCount(m.events.ratings); n != len(byCounter) {
		t.Errorf("%d ratings_total series, want %d (every level of a new counter from 0)", n, len(byCounter))
	}
	for k, v := range byCounter {
		if got := testutil.ToFloat64(m.events.ratings.WithLabelValues(k[0], k[1], k[2])); got != v {
			t.Errorf("ratings_total%v = %v, want %v", k, got, v)
		}
	}
	cancel()
	<-done
}

// TestEventMetricsPartialBatchNotCounted: when InfluxDB refuses some points
// of a batch for good, which ones is unknown, so none of its events count.
func TestEventMetricsPartialBatchNotCounted(t *testing.T) {
	w := &fakeWriter{err: errPermanent}
	p, m, cancel, done := newTest(t, Defaults(), w)
	x := ratingAt("p1", "c01", "satisfied", time.Now().UTC())
	p.Handle(x)
	waitFor(t, "ack", x.acked.Load)
	if n := testutil.CollectAndCount(m.events.ratings); n != 0 {
		t.Errorf("%d rating series from a partly refused batch", n)
	}
	cancel()
	<-done
}

func observe(t *testing.T, m *EventMetrics, kind, source, payload string, now time.Time) {
	t.Helper()
	topic := "pscm/v1/anlao/" + kind
	if source != "" {
		topic += "/" + source
	}
	ev, err := schema.DecodeMessage(topic, []byte(payload), now)
	if err != nil {
		t.Fatalf("decode %s: %v", payload, err)
	}
	m.Observe(ev, now)
}

// TestEventMetricsState: the agent's status follows arrival order (its last
// will carries the older connect time), occupancy and camera health follow
// ts (a late redelivery does not undo a newer state), dossiers count by
// outcome.
func TestEventMetricsState(t *testing.T) {
	m := NewEventMetrics(prometheus.NewRegistry(), 0)
	now := time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC)
	at := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339Nano) }

	observe(t, m, "agent", "edge-1", `{"id":"a1","ts":"`+at(-time.Hour)+`","site":"anlao","agent":"edge-1","status":"online","spool_depth":7,"uptime_s":1}`, now)
	if got := testutil.ToFloat64(m.agentOnline.WithLabelValues("anlao", "edge-1")); got != 1 {
		t.Errorf("agent_online = %v after online", got)
	}
	if got := testutil.ToFloat64(m.agentSpool.WithLabelValues("anlao", "edge-1")); got != 7 {
		t.Errorf("agent_spool_depth = %v, want 7", got)
	}
	if got := testutil.ToFloat64(m.agentLastSeen.WithLabelValues("anlao", "edge-1")); got != float64(now.Unix()) {
		t.Errorf("agent_last_seen = %v, want %d", got, now.Unix())
	}
	later := now.Add(time.Minute)
	// The last will: made at connect, so its ts is before the online status.
	observe(t, m, "agent", "edge-1", `{"id":"a0","ts":"`+at(-2*time.Hour)+`","site":"anlao","agent":"edge-1","status":"offline","spool_depth":0,"uptime_s":0}`, later)
	if got := testutil.ToFloat64(m.agentOnline.WithLabelValues("anlao", "edge-1")); got != 0 {
		t.Errorf("agent_online = %v after the last will", got)
	}
	if got := testutil.ToFloat64(m.agentLastSeen.WithLabelValues("anlao", "edge-1")); got != float64(now.Unix()) {
		t.Errorf("agent_last_seen = %v moved on an offline status, want %d", got, now.Unix())
	}

	occ := func(id string, d time.Duration, occupied bool) string {
		return fmt.Sprintf(`{"id":%q,"ts":%q,"site":"anlao","camera":"cam1","counter":"c01","zone":"staff","occupied":%t}`, id, at(d), occupied)
	}
	observe(t, m, "occupancy", "", occ("o2", 0, true), now)
	observe(t, m, "occupancy", "", occ("o1", -time.Second, false), now) // late redelivery of an older event
	if got := testutil.ToFloat64(m.zoneOccupied.WithLabelValues("anlao", "c01", "staff")); got != 1 {
		t.Errorf("zone_occupied = %v, want 1 (the newer event)", got)
	}
	observe(t, m, "occupancy", "", occ("o3", time.Second, false), now)
	if got := testutil.ToFloat64(m.zoneOccupied.WithLabelValues("anlao", "c01", "staff")); got != 0 {
		t.Errorf("zone_occupied = %v, want 0", got)
	}

	cam := func(id string, d time.Duration, up bool) string {
		return fmt.Sprintf(`{"id":%q,"ts":%q,"site":"anlao","camera":"cam1","up":%t,"fps":0,"kbps":0,"gop_s":0,"width":0,"height":0,"reconnects":0}`, id, at(d), up)
	}
	observe(t, m, "camera", "", cam("k2", 0, false), now)
	observe(t, m, "camera", "", cam("k1", -10*time.Second, true), now)
	if got := testutil.ToFloat64(m.cameraUp.WithLabelValues("anlao", "cam1")); got != 0 {
		t.Errorf("camera_up = %v, want 0 (the newer event)", got)
	}

	dossier := func(id, outcome string) string {
		return fmt.Sprintf(`{"id":%q,"ts":%q,"site":"anlao","dossier":"d-%s","procedure":"1.001234","received":"2026-11-20T02:00:00Z","due":"2026-11-27T10:00:00Z","resolved":"2026-11-25T01:00:00Z","outcome":%q}`, id, at(0), id, outcome)
	}
	observe(t, m, "dossier", "", dossier("d1", "early"), now)
	observe(t, m, "dossier", "", dossier("d2", "early"), now)
	observe(t, m, "dossier", "", dossier("d3", "late"), now)
	for o, want := range map[string]float64{"early": 2, "on_time": 0, "late": 1} {
		if got := testutil.ToFloat64(m.dossiers.WithLabelValues("anlao", o)); got != want {
			t.Errorf("dossiers_total{outcome=%q} = %v, want %v", o, got, want)
		}
	}
}

// TestEventMetricsCap: past the cap a family takes no new label set and
// counts the overflow; known label sets keep counting.
func TestEventMetricsCap(t *testing.T) {
	m := NewEventMetrics(prometheus.NewRegistry(), 2)
	now := time.Now().UTC()
	r := func(id, counter string) string {
		return fmt.Sprintf(`{"id":%q,"ts":%q,"site":"anlao","counter":%q,"kiosk":"k01","level":"neutral"}`, id, now.Format(time.RFC3339Nano), counter)
	}
	for i, c := range []string{"c01", "c02", "c03", "c01"} {
		observe(t, m, "rating", "", r(fmt.Sprint("r", i), c), now)
	}
	if got := testutil.ToFloat64(m.overflow.WithLabelValues("ratings")); got != 1 {
		t.Errorf("overflow = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.ratings.WithLabelValues("anlao", "c01", "neutral")); got != 2 {
		t.Errorf("c01 neutral = %v, want 2", got)
	}
	if n := testutil.CollectAndCount(m.ratings); n != 8 {
		t.Errorf("%d series, want 8 (2 counters x 4 levels)", n)
	}
}
