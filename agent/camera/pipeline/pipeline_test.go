package pipeline

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"image/png"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pscm/pscm/agent/camera/ingest"
	"github.com/pscm/pscm/agent/camera/occupancy"
	"github.com/pscm/pscm/agent/outbox"
	"github.com/pscm/pscm/internal/config"
	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/rtspsim"
	"github.com/pscm/pscm/internal/scene"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/testenv"
	"github.com/pscm/pscm/internal/timezone"
)

// recorder is the outbox for these tests: it validates every event as the
// real one does and keeps it.
type recorder struct {
	mu     sync.Mutex
	events []schema.Event
}

func (r *recorder) Header() schema.Header {
	now := time.Now().UTC()
	return schema.Header{ID: outbox.NewID(now), TS: now, Site: "anlao"}
}

func (r *recorder) Emit(_ context.Context, ev schema.Event) error {
	if err := ev.Validate(time.Now()); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	return nil
}

func (r *recorder) EmitAll(ctx context.Context, evs ...schema.Event) error {
	for _, ev := range evs {
		if err := ev.Validate(time.Now()); err != nil {
			return err // none of them, as the spool's append
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, evs...)
	return nil
}

func (r *recorder) all() []schema.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]schema.Event(nil), r.events...)
}

func sessions(evs []schema.Event) []*schema.Session {
	var out []*schema.Session
	for _, e := range evs {
		if s, ok := e.(*schema.Session); ok {
			out = append(out, s)
		}
	}
	return out
}

func zonesOf(s scene.Scene) []occupancy.Zone {
	var out []occupancy.Zone
	for _, z := range s.Zones {
		out = append(out, occupancy.Zone{ID: z.ID, Counter: z.Counter, Kind: z.Kind, Polygon: z.Polygon})
	}
	return out
}

const (
	camUser     = "viewer"
	camPassword = "s3cret-camera-pw"
	calPassword = "calibrate-me-please"
)

// TestCameraThroughRTSP runs one camera end to end: a generated clip served
// over RTSP with Digest auth, health events with the stream's figures,
// occupancy changes of the two seats, the session they make, fused with the
// queue system's ticket, and the calibration page.
func TestCameraThroughRTSP(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: real RTSP, real H.264")
	}
	_, clip, _, cam := briefCamera(t)

	set := Defaults()
	set.Sessions.SessionMin, set.Sessions.SessionGap = 5*time.Second, 5*time.Second
	set.FuseWindow = time.Minute
	// Working every day all day, so presence counts whenever the test runs.
	set.WorkingHours = kpi.HoursConfig{TimeZone: timezone.Default, Days: []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}, Spans: []string{"00:00-24:00"}}
	set.Calibration = Calibration{Enabled: true, Password: config.Secret{Env: "UNUSED"}}
	rec := &recorder{}
	reg := prometheus.NewPedanticRegistry()
	started := time.Now() // the clip's 0 s, within the connection time
	w, err := New(set, []Camera{cam}, rec, slog.New(slog.NewTextHandler(io.Discard, nil)), reg, time.Now,
		WithHealthInterval(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	// The queue system's session for the same citizen, finished at about
	// the time the citizen stood up.
	queueOut := w.Queue()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})

	testenv.Eventually(t, 15*time.Second, 100*time.Millisecond, func() bool {
		for _, e := range rec.all() {
			if c, ok := e.(*schema.Camera); ok && c.Up && c.FPS > 0 && c.GopS > 0 {
				return true
			}
		}
		return false
	}, "a camera event with figures")
	var health *schema.Camera
	for _, e := range rec.all() {
		if c, ok := e.(*schema.Camera); ok && c.Up && c.FPS > 0 && c.GopS > 0 {
			health = c
		}
	}
	if health.Width != 640 || health.Height != 360 || health.Codec != schema.CodecH264 ||
		math.Abs(health.FPS-10) > 1.5 || math.Abs(health.GopS-1) > 0.3 {
		t.Fatalf("health %+v, want 640x360 h264 about 10 fps, keyframe every 1 s", health)
	}

	// Calibration: the page and the frame, only for the admin on loopback.
	cal := w.Calibration(calPassword)
	testenv.Eventually(t, 10*time.Second, 100*time.Millisecond, func() bool {
		return calGet(cal, "/calibration/cam1.png", "127.0.0.1:5000", calPassword, nil).Code == http.StatusOK
	}, "a calibration frame")
	res := calGet(cal, "/calibration/cam1.png", "127.0.0.1:5000", calPassword, nil)
	img, err := png.Decode(res.Body)
	if err != nil {
		t.Fatalf("calibration PNG: %v", err)
	}
	// The 160x90 frame, scaled up whole for the installer's eyes.
	if b := img.Bounds(); b.Dx() < 160 || b.Dx()%160 != 0 || b.Dx()*90 != b.Dy()*160 {
		t.Fatalf("calibration PNG %v, want a whole multiple of 160x90", b)
	}
	if res.Header().Get("Cache-Control") != "no-store" {
		t.Fatal("calibration frame may be cached")
	}
	page := calGet(cal, "/calibration/", "[::1]:5000", calPassword, nil)
	if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), "c01-citizen") || !strings.Contains(page.Body.String(), "Hiệu chỉnh camera") {
		t.Fatalf("calibration page %d: %s", page.Code, page.Body)
	}
	for _, tc := range []struct {
		name, remote, pw string
		hdr              map[string]string
		want             int
	}{
		{"wrong password", "127.0.0.1:5000", "guess", nil, http.StatusUnauthorized},
		{"no password", "127.0.0.1:5000", "", nil, http.StatusUnauthorized},
		{"from the LAN", "10.1.2.3:5000", calPassword, nil, http.StatusForbidden},
		{"through a proxy", "127.0.0.1:5000", calPassword, map[string]string{"X-Forwarded-For": "10.1.2.3"}, http.StatusForbidden},
	} {
		if got := calGet(cal, "/calibration/cam1.png", tc.remote, tc.pw, tc.hdr).Code; got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	if got := calPost(cal, "/calibration/cam1/reanchor", "https://evil.example").Code; got != http.StatusForbidden {
		t.Errorf("cross-origin reanchor: %d", got)
	}
	if got := calPost(cal, "/calibration/cam1/reanchor", "http://example.com").Code; got != http.StatusSeeOther {
		t.Errorf("same-origin reanchor: %d", got)
	}
	disabled := set
	disabled.Calibration.Enabled = false
	if (&Watch{set: disabled}).Calibration(calPassword) != nil {
		t.Error("calibration served while disabled")
	}

	// The queue session for the citizen: ticket called at 5 s, finished at
	// about 26 s of the clip.
	h := rec.Header()
	h.ID = "s-ticket-1"
	q := &schema.Session{Header: h, Counter: scene.Counter, Start: started.Add(6 * time.Second).UTC(),
		End: started.Add(26 * time.Second).UTC(), WaitS: 300, ServiceS: 20, Source: schema.SourceQueue, Ticket: "A012"}
	if err := queueOut.EmitAll(ctx, q); err != nil {
		t.Fatal(err)
	}
	if n := len(sessions(rec.all())); n != 0 {
		t.Fatalf("queue session at a watched counter sent before fusion: %d sessions", n)
	}

	testenv.Eventually(t, 60*time.Second, 200*time.Millisecond, func() bool { return len(sessions(rec.all())) > 0 },
		"the citizen's session")
	ss := sessions(rec.all())
	if len(ss) != 1 {
		t.Fatalf("%d sessions, want 1: %+v", len(ss), ss)
	}
	s := ss[0]
	truth := clip.Truth.Sessions[0]
	if s.Source != schema.SourceFused || s.ID != "s-ticket-1" || s.Ticket != "A012" || s.WaitS != 300 {
		t.Fatalf("session %+v, want fused with ticket A012", s)
	}
	if d := s.ServiceS - (truth[1] - truth[0]); math.Abs(d) > 5 {
		t.Fatalf("service %.1f s, truth %.1f s", s.ServiceS, truth[1]-truth[0])
	}

	// Occupancy: the official and the citizen arrive and the citizen leaves,
	// each once, at about the clip's times.
	type key struct {
		zone schema.Zone
		on   bool
	}
	// The first frame judged says every zone's state (each known from
	// then on); later events are the changes.
	first := map[key]time.Time{}
	prev := map[schema.Zone]*schema.Occupancy{}
	for _, e := range rec.all() {
		if o, ok := e.(*schema.Occupancy); ok {
			if o.Camera != "cam1" || o.Counter != scene.Counter || o.Confidence <= 0 || o.State == schema.ZoneUnknown || o.State == "" {
				t.Fatalf("occupancy %+v", o)
			}
			p := prev[o.Zone]
			prev[o.Zone] = o
			if p == nil {
				if o.Occupied || o.TS.Sub(started) > 6*time.Second {
					t.Errorf("first %s state %+v, want vacant at the first judged frame", o.Zone, o)
				}
				continue
			}
			k := key{o.Zone, o.Occupied}
			if _, seen := first[k]; !seen && p.Occupied != o.Occupied {
				first[k] = o.TS
			}
		}
	}
	for k, at := range map[key]float64{{schema.ZoneStaff, true}: 2 + scene.Walk, {schema.ZoneCitizen, true}: 7 + scene.Walk, {schema.ZoneCitizen, false}: 25} {
		got, ok := first[k]
		if !ok {
			t.Fatalf("no occupancy change %v", k)
		}
		// The stream starts within a second or two of started.
		if d := got.Sub(started).Seconds() - at; d < -2 || d > 6 {
			t.Errorf("%v at %.1f s of the clip, truth %.1f s", k, got.Sub(started).Seconds(), at)
		}
	}
	if v := testutil.ToFloat64(w.m.occupied.WithLabelValues("cam1", scene.Counter, "staff")); v != 1 {
		t.Errorf("pscm_agent_zone_occupied staff = %v while the official sits", v)
	}
	if v := testutil.ToFloat64(w.m.present.WithLabelValues(scene.Counter)); v < 15 {
		t.Errorf("staff present %v s, the official has sat for more than 20 s", v)
	}
	if v := testutil.ToFloat64(w.m.sessions.WithLabelValues(scene.Counter, "fused")); v != 1 {
		t.Errorf("fused sessions metric %v", v)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader("# HELP pscm_agent_shift_open 1 inside the configured working hours, else 0.\n# TYPE pscm_agent_shift_open gauge\npscm_agent_shift_open 1\n"), "pscm_agent_shift_open"); err != nil {
		t.Error(err)
	}
	for _, e := range rec.all() {
		b, _ := json.Marshal(e)
		if strings.Contains(string(b), camPassword) {
			t.Fatalf("camera password in an event: %s", b)
		}
	}
}

// briefCamera serves scene.Brief's clip as cam1 over RTSP with Digest auth
// and returns the camera's configuration, its zones and its stream.
func briefCamera(t *testing.T) (scene.Scene, scene.Clip, *rtspsim.Server, Camera) {
	t.Helper()
	sc := scene.Brief()
	rc, clip, err := rtspsim.SceneClip(context.Background(), sc)
	if err != nil {
		t.Fatal(err)
	}
	pwFile := filepath.Join(t.TempDir(), "cam1.pw")
	if err := os.WriteFile(pwFile, []byte(testenv.Secret(t, camPassword)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv, err := rtspsim.Start(context.Background(), rtspsim.Config{
		Paths: []rtspsim.Path{{Name: "cam1", Clip: rc}}, User: camUser, Password: camPassword, Auth: rtspsim.AuthDigest,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	cam := Camera{Zones: zonesOf(sc)}
	cam.Config = defaultsFor("cam1", srv.URL("cam1"), pwFile)
	return sc, clip, srv, cam
}

func defaultsFor(id, url, pwFile string) (c ingest.Config) {
	c = ingest.Defaults()
	c.ID, c.URL, c.Username, c.Password = id, url, camUser, config.Secret{File: pwFile}
	c.StallTimeout, c.DialTimeout = 3*time.Second, 3*time.Second
	return c
}

func calGet(h http.Handler, path, remote, pw string, hdr map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	r.RemoteAddr = remote
	if pw != "" {
		r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(CalibrationUser+":"+pw)))
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func calPost(h http.Handler, path, origin string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, path, nil) // Host example.com
	r.RemoteAddr = "127.0.0.1:5000"
	r.SetBasicAuth(CalibrationUser, calPassword)
	r.Header.Set("Origin", origin)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}
