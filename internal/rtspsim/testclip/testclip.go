// Package testclip makes small H.264 and H.265 test clips with Debian's
// ffmpeg, cached in the user's cache directory so each clip is encoded once
// per machine, not once per test run. Clips are generated, never committed.
package testclip

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pscm/pscm/internal/rtspsim"
)

// Spec describes a clip: ffmpeg's testsrc2 pattern, a keyframe every GOP
// frames, no B-frames, parameter sets repeated before every keyframe (as
// IP cameras send them).
type Spec struct {
	Codec         string // rtspsim.H264 or rtspsim.H265
	Width, Height int
	FPS           int
	Seconds       int
	GOP           int // frames between keyframes
}

// H264 is the default H.264 test clip: 640x360, 10 fps, a keyframe every
// 2 s, 20 s long.
func H264(t testing.TB) *rtspsim.Clip {
	return Load(t, Spec{Codec: rtspsim.H264, Width: 640, Height: 360, FPS: 10, Seconds: 20, GOP: 20})
}

// H265 is the H.265 twin of H264.
func H265(t testing.TB) *rtspsim.Clip {
	return Load(t, Spec{Codec: rtspsim.H265, Width: 640, Height: 360, FPS: 10, Seconds: 20, GOP: 20})
}

// Load makes (or reuses) the clip of s and loads it.
func Load(t testing.TB, s Spec) *rtspsim.Clip {
	t.Helper()
	path := File(t, s)
	c, err := rtspsim.LoadClip(path, s.Codec, float64(s.FPS))
	if err != nil {
		t.Fatalf("testclip: %v", err)
	}
	return c
}

// File makes (or reuses) the clip of s and returns its path.
func File(t testing.TB, s Spec) string {
	t.Helper()
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatal("testclip: ffmpeg not found: run `make deps` (Debian: sudo apt-get install -y ffmpeg)")
	}
	var args []string
	src := fmt.Sprintf("testsrc2=size=%dx%d:rate=%d", s.Width, s.Height, s.FPS)
	args = append(args, "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", src, "-t", fmt.Sprint(s.Seconds), "-pix_fmt", "yuv420p")
	switch s.Codec {
	case rtspsim.H264:
		args = append(args, "-c:v", "libx264", "-g", fmt.Sprint(s.GOP), "-keyint_min", fmt.Sprint(s.GOP), "-sc_threshold", "0", "-bf", "0",
			"-x264-params", "repeat-headers=1", "-f", "h264")
	case rtspsim.H265:
		args = append(args, "-c:v", "libx265", "-g", fmt.Sprint(s.GOP), "-bf", "0",
			"-x265-params", fmt.Sprintf("keyint=%d:min-keyint=%d:scenecut=0:repeat-headers=1:log-level=error", s.GOP, s.GOP), "-f", "hevc")
	default:
		t.Fatalf("testclip: codec %q", s.Codec)
	}
	sum := sha256.Sum256([]byte(strings.Join(args, " ")))
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	dir = filepath.Join(dir, "pscm", "testclip")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("testclip: %v", err)
	}
	out := filepath.Join(dir, hex.EncodeToString(sum[:8])+"."+s.Codec)
	if fi, err := os.Stat(out); err == nil && fi.Size() > 0 {
		return out
	}
	// Encode to a temporary name and rename, so a concurrent test never
	// reads half a clip.
	tmp, err := os.CreateTemp(dir, "clip-*.tmp")
	if err != nil {
		t.Fatalf("testclip: %v", err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	cmd := exec.Command(ffmpeg, append(append(args, "-y"), tmp.Name())...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testclip: %s: %v\n%s", strings.Join(cmd.Args, " "), err, b)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		t.Fatalf("testclip: %v", err)
	}
	return out
}
