package pipeline

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pscm/pscm/agent/camera/occupancy"
	"github.com/pscm/pscm/internal/testenv"
)

// TestBackgroundKept: the agent keeps each camera's learned background in
// its state directory from the first frame judged and at a stop, and the
// next run starts from it; a damaged file is logged and the empty scene
// learned anew, never a failure to start. (What keeping it is for, an
// official seated at a restart, is TestRestartWhileSeated in occupancy.)
func TestBackgroundKept(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: real RTSP, real H.264")
	}
	_, _, _, cam := briefCamera(t)
	dir := t.TempDir()
	file := filepath.Join(dir, backgroundFile(cam.ID))
	if err := os.WriteFile(file, []byte("not a background"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(what string, until func() bool) string {
		t.Helper()
		logs := &testenv.SyncBuffer{}
		w, err := New(Defaults(), []Camera{cam}, &recorder{}, slog.New(slog.NewTextHandler(logs, nil)), prometheus.NewPedanticRegistry(), time.Now, WithStateDir(dir))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- w.Run(ctx) }()
		testenv.Eventually(t, 30*time.Second, 100*time.Millisecond, until, what)
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		return logs.String()
	}
	kept := func() bool {
		b, err := os.ReadFile(file)
		var bg occupancy.Background
		return err == nil && bg.UnmarshalBinary(b) == nil && bg.W == Defaults().DecodeWidth
	}
	logs := run("the background kept from the first frames", kept)
	if !strings.Contains(logs, "kept background of the camera not used") {
		t.Errorf("a damaged background file not reported:\n%s", logs)
	}
	before, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	logs = run("a second run", func() bool { return true })
	if !strings.Contains(logs, "camera starts from its kept background") {
		t.Errorf("the second run did not start from the kept background:\n%s", logs)
	}
	if after, err := os.Stat(file); err != nil || !kept() || after.ModTime().Before(before.ModTime()) {
		t.Errorf("background after a clean stop: %v", err)
	}
}
