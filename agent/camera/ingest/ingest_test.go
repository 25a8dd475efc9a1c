package ingest

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pscm/pscm/agent/camera/health"
	"github.com/pscm/pscm/internal/annexb"
	"github.com/pscm/pscm/internal/config"
	"github.com/pscm/pscm/internal/rtspsim"
	"github.com/pscm/pscm/internal/rtspsim/testclip"
	"github.com/pscm/pscm/internal/testenv"
)

const (
	testUser     = "viewer"
	testPassword = "Pa55-w0rd&co"
)

// syncLog is a slog text logger whose output tests can read.
func syncLog() (*slog.Logger, *testenv.SyncBuffer) {
	var b testenv.SyncBuffer
	return slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug})), &b
}

// passwordFile writes pw to a file and returns the Secret reading it.
func passwordFile(t *testing.T, pw string) config.Secret {
	t.Helper()
	p := filepath.Join(t.TempDir(), "cam.pass")
	if err := os.WriteFile(p, []byte(pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return config.Secret{File: p}
}

// collected gathers what a Camera delivers.
type collected struct {
	block     chan struct{} // if set, consume waits for it to close: a slow consumer
	mu        sync.Mutex
	keyframes []Keyframe
	windows   []health.Snapshot
}

func (c *collected) consume(k Keyframe) {
	c.mu.Lock()
	block := c.block
	c.mu.Unlock()
	if block != nil {
		<-block
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keyframes = append(c.keyframes, k)
}

func (c *collected) window(s health.Snapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.windows = append(c.windows, s)
}

func (c *collected) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.keyframes)
}

func (c *collected) last() (Keyframe, health.Snapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var k Keyframe
	var s health.Snapshot
	if len(c.keyframes) > 0 {
		k = c.keyframes[len(c.keyframes)-1]
	}
	if len(c.windows) > 0 {
		s = c.windows[len(c.windows)-1]
	}
	return k, s
}

// running is a Camera under test with its Run goroutine.
type running struct {
	cam    *Camera
	got    *collected
	log    *testenv.SyncBuffer
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returned
	err    error         // what Run returned
}

func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case <-r.done:
		if r.err != nil {
			t.Errorf("Run returned %v, want nil after cancel", r.err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return within 15 s of cancel")
	}
}

func startCamera(t *testing.T, cfg Config, reg prometheus.Registerer) *running {
	t.Helper()
	log, buf := syncLog()
	got := &collected{}
	cam, err := New(cfg, log, reg, got.consume, WithHealth(2*time.Second, got.window))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cam: cam, got: got, log: buf, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = cam.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-r.done
		if strings.Contains(buf.String(), testPassword) {
			t.Errorf("the log contains the camera password:\n%s", buf.String())
		}
		if t.Failed() {
			t.Logf("camera log:\n%s", testenv.Tail(buf.String(), 40))
		}
	})
	return r
}

// noLeak waits until the goroutine count is back to before (the test's
// servers stopped first), and fails with the stacks if it is not.
func noLeak(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if runtime.NumGoroutine() <= before {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	t.Fatalf("goroutine leak: %d running, %d before\n%s", runtime.NumGoroutine(), before, buf[:n])
}

func simServer(t *testing.T, clip *rtspsim.Clip, auth string) *rtspsim.Server {
	t.Helper()
	s, err := rtspsim.Start(context.Background(), rtspsim.Config{
		Paths: []rtspsim.Path{{Name: "cam1", Clip: clip}, {Name: "cam2", Clip: clip, Offset: 5 * time.Second}},
		User:  testUser, Password: testPassword, Auth: auth,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func camConfig(id, url string, pw config.Secret) Config {
	c := Defaults()
	c.ID, c.URL, c.Username, c.Password = id, url, testUser, pw
	c.StallTimeout = 3 * time.Second
	c.DialTimeout = 3 * time.Second
	return c
}

// checkKeyframe asserts an H.264 keyframe is SPS, PPS, then IDR slices.
func checkKeyframe(t *testing.T, k Keyframe, codec string) {
	t.Helper()
	if k.Codec != codec || k.Width != 640 || k.Height != 360 {
		t.Fatalf("keyframe %s %dx%d, want %s 640x360", k.Codec, k.Width, k.Height, codec)
	}
	var types []int
	for _, n := range annexb.Split(k.AU) {
		t := annexb.Type(codec, n)
		if codec == "h264" && t == 6 || codec == "h265" && (t == 39 || t == 40) {
			continue // SEI may sit before the slices (x265 writes one, large enough to be fragmented)
		}
		types = append(types, t)
	}
	switch codec {
	case "h264":
		if len(types) < 3 || types[0] != annexb.H264SPS || types[1] != annexb.H264PPS || types[2] != annexb.H264IDR {
			t.Fatalf("H.264 keyframe NAL types %v, want SPS PPS IDR...", types)
		}
	case "h265":
		if len(types) < 4 || types[0] != annexb.H265VPS || types[1] != annexb.H265SPS || types[2] != annexb.H265PPS || types[3] < annexb.H265IRAPFirst || types[3] > annexb.H265IRAPLast {
			t.Fatalf("H.265 keyframe NAL types %v, want VPS SPS PPS IRAP...", types)
		}
	}
}

func TestDigestHealthAndKeyframes(t *testing.T) {
	before := runtime.NumGoroutine()
	clip := testclip.H264(t)
	srv := simServer(t, clip, rtspsim.AuthDigest)
	reg := prometheus.NewPedanticRegistry()
	r := startCamera(t, camConfig("cam1", srv.URL("cam1"), passwordFile(t, testPassword)), reg)

	testenv.Eventually(t, 20*time.Second, 100*time.Millisecond, func() bool { return r.got.count() >= 3 }, "3 keyframes through Digest auth")
	k, _ := r.got.last()
	checkKeyframe(t, k, "h264")

	// Two full 2 s windows after the first keyframes.
	var s health.Snapshot
	testenv.Eventually(t, 20*time.Second, 100*time.Millisecond, func() bool {
		r.got.mu.Lock()
		defer r.got.mu.Unlock()
		n := 0
		for _, w := range r.got.windows {
			if w.Up && w.FPS > 0 {
				n++
				s = w
			}
		}
		return n >= 3 && s.GopS > 0
	}, "health windows with video")
	if s.Width != 640 || s.Height != 360 || s.Codec != "h264" {
		t.Errorf("health %+v, want h264 640x360", s)
	}
	if s.FPS < 8.5 || s.FPS > 11.5 {
		t.Errorf("fps %.2f, want about 10", s.FPS)
	}
	if s.GopS < 1.9 || s.GopS > 2.1 {
		t.Errorf("gop %.2f s, want 2", s.GopS)
	}
	if s.Kbps <= 0 || s.NominalFPS != 10 || s.Grade != health.GradeGood {
		t.Errorf("kbps %.1f nominal %.1f grade %v, want >0, 10 (SPS timing), good", s.Kbps, s.NominalFPS, s.Grade)
	}
	if h := r.cam.Health(); !h.Up || h.Reconnects != 0 || h.Stalls != 0 {
		t.Errorf("health now %+v", h)
	}
	r.stop(t)
	srv.Close()
	noLeak(t, before)
}

func TestWrongPasswordBacksOff(t *testing.T) {
	before := runtime.NumGoroutine()
	srv := simServer(t, testclip.H264(t), rtspsim.AuthDigest)
	cfg := camConfig("cam1", srv.URL("cam1"), passwordFile(t, "not-"+testPassword))
	cfg.BackoffMin = 200 * time.Millisecond
	cfg.BackoffMax = 400 * time.Millisecond
	r := startCamera(t, cfg, nil)
	testenv.Eventually(t, 20*time.Second, 100*time.Millisecond, func() bool { return r.cam.Health().Reconnects >= 3 }, "three retries")
	if !strings.Contains(r.log.String(), "wrong username or password") {
		t.Fatalf("no clear authentication error in the log:\n%s", testenv.Tail(r.log.String(), 10))
	}
	if strings.Contains(r.log.String(), "not-"+testPassword) {
		t.Fatal("the wrong password is in the log")
	}
	if h := r.cam.Health(); h.Up || r.got.count() != 0 {
		t.Fatalf("up with a wrong password: %+v", h)
	}
	r.stop(t)
	srv.Close()
	noLeak(t, before)
}

func TestBasicAuthAndSlowConsumer(t *testing.T) {
	srv := simServer(t, testclip.H264(t), rtspsim.AuthBasic)
	cfg := camConfig("cam2", srv.URL("cam2"), passwordFile(t, testPassword))
	cfg.Auth = AuthBasic // allowed: the simulator is on loopback
	r := startCamera(t, cfg, nil)
	testenv.Eventually(t, 20*time.Second, 100*time.Millisecond, func() bool { return r.got.count() >= 1 }, "a keyframe through Basic auth")
	k, _ := r.got.last()
	checkKeyframe(t, k, "h264")

	// A consumer stuck on one keyframe: the queue (2) fills, the oldest
	// are dropped and counted, and video keeps flowing meanwhile.
	block := make(chan struct{})
	r.got.mu.Lock()
	r.got.block = block
	r.got.mu.Unlock()
	testenv.Eventually(t, 30*time.Second, 100*time.Millisecond, func() bool { return r.cam.Health().KeyframesDropped >= 2 }, "dropped keyframes counted")
	if h := r.cam.Health(); !h.Up || h.Stalls != 0 {
		t.Fatalf("a slow consumer disturbed the stream: %+v", h)
	}
	close(block)
	n := r.got.count()
	testenv.Eventually(t, 10*time.Second, 100*time.Millisecond, func() bool { return r.got.count() > n+2 }, "keyframes again once the consumer is back")
}

// TestServerAwayAndStall: the server goes away for 20 s and comes back;
// then the stream stalls with the session open. Both end in reconnects
// and keyframes flowing again.
func TestServerAwayAndStall(t *testing.T) {
	before := runtime.NumGoroutine()
	srv := simServer(t, testclip.H264(t), rtspsim.AuthDigest)
	reg := prometheus.NewPedanticRegistry()
	cfg := camConfig("cam1", srv.URL("cam1"), passwordFile(t, testPassword))
	// Sessions here play less than HealthyPeriod, so the backoff keeps
	// doubling from the outage into the stall; cap it to keep the test short.
	cfg.BackoffMax = 8 * time.Second
	r := startCamera(t, cfg, reg)
	testenv.Eventually(t, 20*time.Second, 100*time.Millisecond, func() bool { return r.got.count() >= 1 }, "first keyframe")

	srv.Stop()
	testenv.Eventually(t, 10*time.Second, 100*time.Millisecond, func() bool { return !r.cam.Health().Up }, "down once the server is gone")
	time.Sleep(20 * time.Second) // the outage itself, not a wait for a condition
	if h := r.cam.Health(); h.Up || h.Reconnects < 3 {
		t.Fatalf("after 20 s away: %+v, want down with at least 3 attempts (1+2+4+8 s backoff)", h)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	n := r.got.count()
	// Backoff is at most 8 s (+10 %) by now.
	testenv.Eventually(t, 30*time.Second, 100*time.Millisecond, func() bool { return r.cam.Health().Up && r.got.count() > n+1 }, "keyframes again after the server came back")
	away := r.cam.Health()
	if away.Stalls != 0 {
		t.Errorf("stalls %d after a clean outage, want 0", away.Stalls)
	}

	srv.Stall("cam1", 8*time.Second) // longer than the 3 s stall timeout
	testenv.Eventually(t, 15*time.Second, 100*time.Millisecond, func() bool { return r.cam.Health().Stalls == 1 }, "stall counted")
	n = r.got.count()
	testenv.Eventually(t, 30*time.Second, 100*time.Millisecond, func() bool { return r.cam.Health().Up && r.got.count() > n }, "keyframes after the stall")
	h := r.cam.Health()
	if h.Reconnects <= away.Reconnects {
		t.Errorf("reconnects %d after the stall, want more than %d", h.Reconnects, away.Reconnects)
	}
	if h.Grade != health.GradeDegraded && h.Grade != health.GradeUnusable {
		t.Errorf("grade %v after an outage and a stall within the hour, want degraded or worse", h.Grade)
	}
	if !strings.Contains(r.log.String(), "stream stalled") {
		t.Error("no stall in the log")
	}
	var text strings.Builder
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		text.WriteString(mf.GetName() + "\n")
	}
	for _, m := range []string{"pscm_agent_camera_stalls_total", "pscm_agent_camera_reconnects_total", "pscm_agent_camera_up"} {
		if !strings.Contains(text.String(), m) {
			t.Errorf("metric %s not registered", m)
		}
	}
	r.stop(t)
	srv.Close()
	noLeak(t, before)
}

func TestH265(t *testing.T) {
	srv, err := rtspsim.Start(context.Background(), rtspsim.Config{Paths: []rtspsim.Path{{Name: "cam1", Clip: testclip.H265(t)}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	cfg := camConfig("cam1", srv.URL("cam1"), config.Secret{})
	cfg.Username = ""
	r := startCamera(t, cfg, nil)
	testenv.Eventually(t, 20*time.Second, 100*time.Millisecond, func() bool { return r.got.count() >= 2 }, "H.265 keyframes")
	k, _ := r.got.last()
	checkKeyframe(t, k, "h265")
	var s health.Snapshot
	testenv.Eventually(t, 20*time.Second, 100*time.Millisecond, func() bool {
		_, s = r.got.last()
		return s.Up && s.GopS > 0 && s.FPS > 0
	}, "H.265 health")
	if s.Codec != "h265" || s.Width != 640 || s.Height != 360 || s.GopS < 1.9 || s.GopS > 2.1 || s.FPS < 8.5 || s.FPS > 11.5 {
		t.Fatalf("H.265 health %+v, want h265 640x360 10 fps gop 2", s)
	}
}
