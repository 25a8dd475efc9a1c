package main

import (
	"fmt"
	"math"
	"os"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/mqttpub"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/testenv"
)

// TestReplayAfterUplinkOutage is issue 14's replay case through the real
// path (Mosquitto, the collector, InfluxDB, the dashboard): a center's
// uplink is down 30 minutes in working hours with its official present,
// then the agent's spool replays the backlog in a burst. Nothing in the
// replay may raise "unstaffed" and the official's presence must come out
// as it would had the uplink never failed.
//
// Three counters, each watched by its own camera, from T0 = 40 minutes ago:
//   - c01, the outage: its camera's events stop reaching the center at
//     T0+5m and arrive all at once at the end; the official took a 4-minute
//     break (T0+10m to T0+14m) inside the outage.
//   - c03, the same day with no outage: the same events, live. Its figures
//     are what c01's must equal.
//   - c02, the control: the official left at T0+12m and has not come back;
//     its events are live. A real absence of 28 minutes: the one alert the
//     dashboard must raise, which proves the check below can fail.
//
// The working hours are the whole day, so the test means the same at any
// hour it runs.
func TestReplayAfterUplinkOutage(t *testing.T) {
	e := newDashEnv(t)
	f, err := os.OpenFile(e.cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(f, "working_hours: {time_zone: Asia/Ho_Chi_Minh, days: [mon, tue, wed, thu, fri, sat, sun], spans: [\"00:00-23:59\"]}\nreload_interval: 10s\n")
	f.Close()
	d := e.start(t)
	c, code := login(t, d.addr, "lan", "correct horse battery")
	if code != 303 {
		t.Fatalf("login: %d", code)
	}
	pub := e.publisher(t)

	now := time.Now().UTC().Truncate(time.Second)
	t0 := now.Add(-40 * time.Minute)
	n := 0
	occ := func(counter, cam string, at time.Duration, occupied bool) {
		n++
		e.send(t, pub, "pscm/v1/anlao/occupancy", schema.Occupancy{Header: schema.Header{ID: fmt.Sprintf("o%04d", n), TS: t0.Add(at), Site: "anlao"},
			Camera: cam, Counter: counter, Zone: schema.ZoneStaff, Occupied: occupied, Confidence: 0.9})
	}
	health := func(cam string, from, to time.Duration) {
		for at := from; at < to; at += 10 * time.Second {
			n++
			e.send(t, pub, "pscm/v1/anlao/camera", schema.Camera{Header: schema.Header{ID: fmt.Sprintf("h%04d", n), TS: t0.Add(at), Site: "anlao"},
				Camera: cam, Up: true, Codec: schema.CodecH264, FPS: 10, Kbps: 2000, GopS: 1, Width: 1280, Height: 720})
		}
	}
	const (
		outage   = 5 * time.Minute
		back     = 40 * time.Minute
		breakAt  = 10 * time.Minute
		breakEnd = 14 * time.Minute
		leftAt   = 12 * time.Minute
	)
	// Before the outage, all three cameras report live.
	for _, cc := range [][2]string{{"c01", "cam1"}, {"c02", "cam2"}, {"c03", "cam3"}} {
		occ(cc[0], cc[1], 0, true)
		health(cc[1], 0, outage)
	}
	// During it, only c02's and c03's arrive.
	health("cam3", outage, breakAt)
	occ("c03", "cam3", breakAt, false)
	health("cam3", breakAt, breakEnd)
	occ("c03", "cam3", breakEnd, true)
	health("cam3", breakEnd, back)
	health("cam2", outage, leftAt)
	occ("c02", "cam2", leftAt, false)
	health("cam2", leftAt, back)
	flush(t, pub)

	unstaffed := func() map[string]int {
		s, code := snapshot(t, c, d.addr, "anlao")
		if code != 200 {
			t.Fatalf("snapshot: %d", code)
		}
		out := map[string]int{}
		alerts, _ := s["alerts"].([]any)
		for _, a := range alerts {
			m, _ := a.(map[string]any)
			if m["kind"] == "unstaffed" {
				out[fmt.Sprint(m["counter"])]++
			}
		}
		return out
	}
	testenv.Eventually(t, 20*time.Second, 100*time.Millisecond, func() bool { return unstaffed()["c02"] == 1 },
		"the control's 28-minute absence raised no alert: %v", unstaffed())
	if u := unstaffed(); u["c01"] != 0 || u["c03"] != 0 {
		t.Fatalf("unstaffed raised while c01's camera was silent: %v", u)
	}

	// The uplink is back: c01's backlog arrives in one burst, in order.
	health("cam1", outage, breakAt)
	occ("c01", "cam1", breakAt, false)
	health("cam1", breakAt, breakEnd)
	occ("c01", "cam1", breakEnd, true)
	health("cam1", breakEnd, back)
	flush(t, pub)
	testenv.Eventually(t, 20*time.Second, 100*time.Millisecond, func() bool {
		return e.db.Count(t, "camera", "id") == int64(3*back/(10*time.Second))
	}, "the backlog is not all in InfluxDB")
	time.Sleep(time.Second) // ten pushes and their ticks
	if u := unstaffed(); u["c01"] != 0 || u["c03"] != 0 || u["c02"] != 1 {
		t.Fatalf("after the replay: unstaffed alerts %v, want only c02's", u)
	}

	// Presence, once a reload has read the replayed day: c01's equals
	// c03's, and both are the time covered less the 4-minute break.
	type presence struct{ present, covered float64 }
	counterPresence := func() map[string]presence {
		s, _ := snapshot(t, c, d.addr, "anlao")
		out := map[string]presence{}
		cs, _ := s["counters"].([]any)
		for _, x := range cs {
			m, _ := x.(map[string]any)
			out[fmt.Sprint(m["id"])] = presence{num(m, "today", "staff_present_s"), num(m, "today", "staff_covered_s")}
		}
		return out
	}
	var got map[string]presence
	testenv.Eventually(t, 45*time.Second, 200*time.Millisecond, func() bool {
		got = counterPresence()
		p1, p3 := got["c01"], got["c03"]
		return p3.covered >= back.Seconds()-5 && math.Abs(p1.covered-p3.covered) < 1 && math.Abs(p1.present-p3.present) < 1
	}, "after the replay and a reload, c01's presence differs from the same day without an outage: %+v", got)
	t.Logf("presence after the replay: %+v", got)
	for _, id := range []string{"c01", "c03"} {
		p := got[id]
		if off := p.covered - p.present - (breakEnd - breakAt).Seconds(); math.Abs(off) > 1 {
			t.Errorf("%s: present %.0f s of %.0f s covered: want the covered time less the 240 s break", id, p.present, p.covered)
		}
	}
	if p := got["c02"]; math.Abs(p.present-leftAt.Seconds()) > 1 {
		t.Errorf("c02: present %.0f s, want the %0.f s before the official left", p.present, leftAt.Seconds())
	}
}

func flush(t *testing.T, pub *mqttpub.Publisher) {
	t.Helper()
	if err := pub.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
}
