package health

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/testenv"
)

func TestRate(t *testing.T) {
	cases := []struct {
		name string
		in   GradeInput
		want Grade
	}{
		{"healthy", GradeInput{Up: true, FPS: 25, NominalFPS: 25}, GradeGood},
		{"down", GradeInput{Up: false, FPS: 25, NominalFPS: 25}, GradeUnusable},
		{"nominal unknown ignores fps", GradeInput{Up: true, FPS: 1}, GradeGood},
		{"exactly 90 percent", GradeInput{Up: true, FPS: 9, NominalFPS: 10}, GradeGood},
		{"just under 90 percent", GradeInput{Up: true, FPS: 8.9, NominalFPS: 10}, GradeDegraded},
		{"exactly half", GradeInput{Up: true, FPS: 5, NominalFPS: 10}, GradeDegraded},
		{"under half", GradeInput{Up: true, FPS: 4.9, NominalFPS: 10}, GradeUnusable},
		{"one reconnect", GradeInput{Up: true, FPS: 10, NominalFPS: 10, Reconnects: 1}, GradeGood},
		{"two reconnects", GradeInput{Up: true, FPS: 10, NominalFPS: 10, Reconnects: 2}, GradeDegraded},
		{"five reconnects", GradeInput{Up: true, FPS: 10, NominalFPS: 10, Reconnects: 5}, GradeDegraded},
		{"six reconnects", GradeInput{Up: true, FPS: 10, NominalFPS: 10, Reconnects: 6}, GradeUnusable},
		{"one stall", GradeInput{Up: true, FPS: 10, NominalFPS: 10, Stalls: 1, Reconnects: 1}, GradeDegraded},
		{"faster than nominal", GradeInput{Up: true, FPS: 30, NominalFPS: 25}, GradeGood},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Rate(c.in); got != c.want {
				t.Fatalf("Rate(%+v) = %v, want %v", c.in, got, c.want)
			}
		})
	}
}

// clock is a manual clock for meter tests.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

// feed plays n seconds of a 10 fps stream with a keyframe every gop frames
// and frames of size bytes, starting at pts.
func feed(m *Meter, c *clock, pts *time.Duration, frames, gop, size int) {
	for i := 0; i < frames; i++ {
		key := (int(*pts/(100*time.Millisecond)))%gop == 0
		// two packets per frame: same pts, counted once as a frame
		m.Packet(*pts, size/2, key)
		m.Packet(*pts, size-size/2, key)
		*pts += 100 * time.Millisecond
		c.advance(100 * time.Millisecond)
	}
}

func TestMeterWindow(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)}
	m := NewMeter("cam1", 0, c.now)
	m.Connected(Stream{Codec: schema.CodecH264, Width: 640, Height: 360, DeclaredFPS: 10})
	var pts time.Duration
	feed(m, c, &pts, 100, 20, 1000) // 10 s, keyframe every 2 s, 1000 B frames
	s := m.Tick()
	if !s.Up || s.Codec != "h264" || s.Width != 640 || s.Height != 360 {
		t.Fatalf("snapshot %+v", s)
	}
	if s.FPS != 10 {
		t.Errorf("fps = %v, want 10", s.FPS)
	}
	if s.Kbps != 80 { // 1000 B * 10/s * 8 / 1000
		t.Errorf("kbps = %v, want 80", s.Kbps)
	}
	if s.GopS != 2 {
		t.Errorf("gop = %v, want 2", s.GopS)
	}
	if s.Grade != GradeGood || s.NominalFPS != 10 {
		t.Errorf("grade %v nominal %v, want good 10", s.Grade, s.NominalFPS)
	}

	// Half the frame rate next window: 5 fps against a declared 10.
	for i := 0; i < 50; i++ {
		m.Packet(pts, 500, false)
		pts += 200 * time.Millisecond
		c.advance(200 * time.Millisecond)
	}
	s = m.Tick()
	if s.FPS != 5 || s.Grade != GradeDegraded {
		t.Errorf("fps %v grade %v, want 5 degraded", s.FPS, s.Grade)
	}
	if s.GopS != 2 {
		t.Errorf("gop kept from the previous window: %v, want 2", s.GopS)
	}

	// Disconnect: down, unusable, rates zero, counters kept.
	m.Disconnected()
	m.Reconnect()
	m.Stall()
	m.Dropped()
	c.advance(10 * time.Second)
	s = m.Tick()
	if s.Up || s.FPS != 0 || s.Grade != GradeUnusable || s.Reconnects != 1 || s.Stalls != 1 || s.KeyframesDropped != 1 {
		t.Errorf("after disconnect: %+v", s)
	}
}

func TestMeterLearnsNominalAndForgetsOldReconnects(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)}
	m := NewMeter("cam1", 0, c.now)
	m.Reconnect()
	m.Reconnect()
	m.Connected(Stream{Codec: schema.CodecH265}) // declares no fps: learn it
	var pts time.Duration
	for w := 0; w < 5; w++ {
		feed(m, c, &pts, 100, 20, 100)
		s := m.Tick()
		if s.NominalFPS != 10 {
			t.Fatalf("window %d nominal %v, want the learned 10", w, s.NominalFPS)
		}
		if s.Grade != GradeDegraded {
			t.Fatalf("window %d grade %v, want degraded (2 reconnects in the hour)", w, s.Grade)
		}
	}
	c.advance(time.Hour)
	m.Tick() // the hour-long window itself
	feed(m, c, &pts, 100, 20, 100)
	if s := m.Tick(); s.Grade != GradeGood || s.Reconnects != 2 {
		t.Fatalf("an hour later: grade %v reconnects %d, want good with the counter kept at 2", s.Grade, s.Reconnects)
	}
}

func TestSnapshotEvent(t *testing.T) {
	s := Snapshot{Camera: "cam1", Up: true, FPS: 9.996, Kbps: 123.456, GopS: 2.004, Width: 640, Height: 360, Codec: "h264", Reconnects: 3}
	e := s.Event()
	e.Header = schema.Header{ID: "01JDX8K3Q7A5", TS: time.Date(2026, 11, 25, 1, 15, 0, 0, time.UTC), Site: "anlao"}
	if err := e.Validate(e.TS); err != nil {
		t.Fatalf("event invalid: %v", err)
	}
	if e.FPS != 10 || e.Kbps != 123.46 || e.GopS != 2 || e.Reconnects != 3 || e.Codec != "h264" {
		t.Fatalf("event %+v", e)
	}
	if (Snapshot{Camera: "cam2"}).Event().Codec != schema.CodecUnknown {
		t.Fatal("an unconnected camera's codec should be unknown, a valid tag value")
	}
}

func TestCollector(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)}
	reg := prometheus.NewPedanticRegistry()
	m1 := NewMeter("cam1", 10, c.now)
	m2 := NewMeter("cam2", 0, c.now)
	if err := reg.Register(NewCollector(m1)); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(NewCollector(m2)); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(NewCollector(NewMeter("cam1", 0, c.now))); err == nil {
		t.Fatal("a second collector for cam1 registered; want a duplicate error")
	}
	m1.Connected(Stream{Codec: "h264", Width: 640, Height: 360})
	var pts time.Duration
	feed(m1, c, &pts, 100, 20, 1000)
	m1.Tick()
	m1.Stall()
	m1.Reconnect()

	want := `
# HELP pscm_agent_camera_up 1 if the camera's stream is playing and video arrives, else 0.
# TYPE pscm_agent_camera_up gauge
pscm_agent_camera_up{camera="cam1"} 1
pscm_agent_camera_up{camera="cam2"} 0
# HELP pscm_agent_camera_grade Quality grade: 0 good, 1 degraded, 2 unusable (see agent/camera/health.Rate).
# TYPE pscm_agent_camera_grade gauge
pscm_agent_camera_grade{camera="cam1"} 1
pscm_agent_camera_grade{camera="cam2"} 2
# HELP pscm_agent_camera_info Always 1; the codec label tells the stream's codec.
# TYPE pscm_agent_camera_info gauge
pscm_agent_camera_info{camera="cam1",codec="h264"} 1
pscm_agent_camera_info{camera="cam2",codec="unknown"} 1
# HELP pscm_agent_camera_stalls_total Sessions closed because no video arrived for the stall timeout.
# TYPE pscm_agent_camera_stalls_total counter
pscm_agent_camera_stalls_total{camera="cam1"} 1
pscm_agent_camera_stalls_total{camera="cam2"} 0
# HELP pscm_agent_camera_width_pixels Picture width from the stream's SPS.
# TYPE pscm_agent_camera_width_pixels gauge
pscm_agent_camera_width_pixels{camera="cam1"} 640
pscm_agent_camera_width_pixels{camera="cam2"} 0
# HELP pscm_agent_camera_fps Frames per second received over the last health window.
# TYPE pscm_agent_camera_fps gauge
pscm_agent_camera_fps{camera="cam1"} 10
pscm_agent_camera_fps{camera="cam2"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"pscm_agent_camera_up", "pscm_agent_camera_grade", "pscm_agent_camera_info",
		"pscm_agent_camera_stalls_total", "pscm_agent_camera_width_pixels", "pscm_agent_camera_fps"); err != nil {
		t.Fatal(err)
	}

	names := []string{"up", "fps", "bitrate_kbps", "keyframe_interval_seconds", "width_pixels", "height_pixels",
		"info", "reconnects_total", "stalls_total", "last_frame_timestamp_seconds", "grade", "keyframes_dropped_total"}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	var text bytes.Buffer
	for _, mf := range mfs {
		got[mf.GetName()] = true
		if _, err := expfmt.MetricFamilyToText(&text, mf); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range names {
		if !got["pscm_agent_camera_"+n] {
			t.Errorf("metric pscm_agent_camera_%s missing", n)
		}
	}
	testenv.CheckMetrics(t, text.Bytes())
}
