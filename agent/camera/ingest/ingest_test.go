package ingest

import (
	"bytes"
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
	"github.com/pscm/pscm/internal/config"
	"github.com/pscm/pscm/internal/testenv"
	"github.com/pscm/pscm/sim/rtspsim"
	"github.com/pscm/pscm/sim/rtspsim/testclip"
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
	mu        sync.Mutex
	keyframes []Keyframe
	windows   []health.Snapshot
}

func (c *collected) consume(k Keyframe) {
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
	for _, n := range bytes.Split(k.AU, startCode)[1:] {
		types = append(types, nalType(codec, n))
	}
	switch codec {
	case "h264":
		if len(types) < 3 || types[0] != h264SPS || types[1] != h264PPS || types[2] != h264IDR {
			t.Fatalf("H.264 keyframe NAL types %v, want SPS PPS IDR...", types)
		}
	case "h265":
		if len(types) < 4 || types[0] != h265VPS || types[1] != h265SPS || types[2] != h265PPS || types[3] < h265IRAPFirst || types[3] > h265IRAPLast {
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
