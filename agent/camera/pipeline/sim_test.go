package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/pscm/pscm/agent/camera/ingest"
	"github.com/pscm/pscm/internal/testenv"
)

// TestSimulatedCameras runs pscm-sim -mode cameras (the real binary: one
// program never imports another), which serves two simulated cameras
// behind Digest auth, and checks that the agent's cameras: section it
// writes is valid here and that the agent's RTSP client gets the clip's
// keyframes through it.
func TestSimulatedCameras(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: ffmpeg clip, RTSP")
	}
	dir := t.TempDir()
	pw := filepath.Join(dir, "cam.pass")
	if err := os.WriteFile(pw, []byte(testenv.Secret(t, "sim-camera-pw-31")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	yamlPath := filepath.Join(dir, "cameras.yml")
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	bin := testenv.BuildProgram(t, "../../../sim")
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr testenv.SyncBuffer
	cmd := exec.CommandContext(ctx, bin, "-mode", "cameras", "-cameras", "2", "-scene", "brief", "-rtsp-listen", addr,
		"-rtsp-user", "viewer", "-rtsp-password-file", pw, "-first-counter", "9", "-agent-yaml", yamlPath)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := cmd.Wait(); err != nil && ctx.Err() == nil {
			t.Errorf("pscm-sim: %v\n%s", err, stderr.String())
		}
		testenv.Keep(t, "pscm-sim", &stderr)
	})
	testenv.Eventually(t, 120*time.Second, 100*time.Millisecond, func() bool {
		_, err := os.Stat(yamlPath)
		return err == nil
	}, "the agent's cameras section")
	b, err := os.ReadFile(yamlPath)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Cameras []Camera `yaml:"cameras"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if err := ValidateCameras(f.Cameras); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if len(f.Cameras) != 2 || f.Cameras[0].ID != "cam9" || f.Cameras[1].Zones[0].Counter != "c10" || f.Cameras[0].Username != "viewer" {
		t.Fatalf("cameras section:\n%s", b)
	}
	if !strings.Contains(stdout.String(), "rtsp://"+addr+"/cam2") {
		t.Fatalf("stdout %q lacks the URLs", stdout.String())
	}

	// A real client through Digest auth.
	var mu sync.Mutex
	var got []ingest.Keyframe
	cam, err := ingest.New(f.Cameras[1].Config, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, func(k ingest.Keyframe) {
		mu.Lock()
		got = append(got, k)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	cctx, ccancel := context.WithCancel(ctx)
	cdone := make(chan struct{})
	go func() { cam.Run(cctx); close(cdone) }()
	testenv.Eventually(t, 20*time.Second, 100*time.Millisecond, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= 2
	}, "keyframes from the simulated camera")
	ccancel()
	<-cdone
	if k := got[0]; k.Width != 640 || k.Height != 360 || k.Codec != "h264" {
		t.Fatalf("keyframe %s %dx%d", k.Codec, k.Width, k.Height)
	}
}
