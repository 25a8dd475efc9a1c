package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pscm/pscm/internal/config"
	"github.com/pscm/pscm/internal/rtspsim"
	"github.com/pscm/pscm/internal/scene"
)

// benchSceneSeconds is the length of the bench1080p scene's clip.
const benchSceneSeconds = 20

// cameraOptions are the flags of -mode cameras.
type cameraOptions struct {
	n            int
	listen       string
	user         string
	passwordFile string
	scene        string
	firstCounter int
	agentYAML    string
}

func (c *cameraOptions) flags(fs *flag.FlagSet) {
	fs.IntVar(&c.n, "cameras", 2, "cameras mode: how many cameras (paths cam1..camN)")
	fs.StringVar(&c.listen, "rtsp-listen", "127.0.0.1:8554", "cameras mode: RTSP address to serve on")
	fs.StringVar(&c.user, "rtsp-user", "", "cameras mode: user the cameras require (Digest auth); empty serves without auth")
	fs.StringVar(&c.passwordFile, "rtsp-password-file", "", "cameras mode: file holding the cameras' password")
	fs.StringVar(&c.scene, "scene", "day", "cameras mode: what the cameras show: day (6 minutes of a counter, 640x360, looped), brief (40 s) or bench1080p (20 s at 1920x1080 25 fps 4 Mbit/s)")
	fs.IntVar(&c.firstCounter, "first-counter", 1, "cameras mode: camera i watches counter c<first-counter+i-1>")
	fs.StringVar(&c.agentYAML, "agent-yaml", "", "cameras mode: write the agent's cameras: section for these cameras to this file")
}

func (c cameraOptions) validate() error {
	switch {
	case c.n < 1 || c.n > rtspsim.MaxPaths:
		return fmt.Errorf("-cameras: %d outside 1..%d", c.n, rtspsim.MaxPaths)
	case c.scene != "day" && c.scene != "brief" && c.scene != "bench1080p":
		return fmt.Errorf("-scene: %q is not day, brief or bench1080p", c.scene)
	case c.firstCounter < 1 || c.firstCounter+c.n-1 > 99:
		return fmt.Errorf("-first-counter: cameras would watch counters beyond c99")
	case (c.user == "") != (c.passwordFile == ""):
		return errors.New("-rtsp-user and -rtsp-password-file go together")
	}
	if _, _, err := net.SplitHostPort(c.listen); err != nil {
		return fmt.Errorf("-rtsp-listen: %w", err)
	}
	return nil
}

// runCameras serves simulated IP cameras over RTSP until ctx ends: each
// plays a generated counter scene (internal/scene; made with Debian's
// ffmpeg the first time and cached under .cache/clips) in a loop, real
// H.264 paced in real time, the cameras offset so they are not in step.
// Each camera's zones are the scene's, renamed for its counter.
func runCameras(ctx context.Context, o cameraOptions, stdout io.Writer, log *slog.Logger) error {
	// A camera's substream bit rate: at constant quality the six-minute
	// scene is larger than rtspsim holds in memory.
	sc := scene.Day()
	sc.Name, sc.KbitRate = "day-500k", 500
	switch o.scene {
	case "brief":
		sc = scene.Brief()
	case "bench1080p":
		sc = scene.Bench1080p(benchSceneSeconds)
	}
	var password string
	if o.passwordFile != "" {
		var err error
		if password, err = (config.Secret{File: o.passwordFile}).Value(); err != nil {
			return err
		}
	}
	log.Info("preparing the camera clip (generated with ffmpeg the first time, then cached)", "scene", sc.Name)
	rc, _, err := rtspsim.SceneClip(ctx, sc)
	if err != nil {
		return err
	}
	var paths []rtspsim.Path
	for i := range o.n {
		paths = append(paths, rtspsim.Path{Name: fmt.Sprintf("cam%d", i+1), Clip: rc,
			Offset: time.Duration(float64(i) * sc.Duration / float64(o.n) * float64(time.Second))})
	}
	srv, err := rtspsim.Start(ctx, rtspsim.Config{Addr: o.listen, Paths: paths, User: o.user, Password: password,
		Auth: rtspsim.AuthDigest, Log: log.With("component", "rtsp")})
	if err != nil {
		return err
	}
	defer srv.Close()
	if o.agentYAML != "" {
		if err := writeAgentCameras(o, srv, sc.Zones); err != nil {
			return err
		}
	}
	for _, p := range paths {
		fmt.Fprintln(stdout, srv.URL(p.Name))
	}
	log.Info("serving cameras", "addr", srv.Addr(), "cameras", o.n, "scene", sc.Name)
	<-ctx.Done()
	return nil
}

// writeAgentCameras writes the agent's `cameras:` section: one camera per
// path, watching counter c<first+i>, with the scene's zones.
func writeAgentCameras(o cameraOptions, srv *rtspsim.Server, zones []scene.Zone) error {
	var b strings.Builder
	b.WriteString("# Written by pscm-sim -mode cameras.\ncameras:\n")
	for i := range o.n {
		counter := fmt.Sprintf("c%02d", o.firstCounter+i)
		fmt.Fprintf(&b, "  - id: cam%d\n    url: %s\n", o.firstCounter+i, srv.URL(fmt.Sprintf("cam%d", i+1)))
		if o.user != "" {
			abs, err := filepath.Abs(o.passwordFile)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, "    username: %s\n    password: {file: %s}\n", o.user, abs)
		}
		b.WriteString("    zones:\n")
		for _, z := range zones {
			pts, err := json.Marshal(z.Polygon)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, "      - {id: %s-%s, counter: %s, kind: %s, polygon: %s}\n", counter, z.Kind, counter, z.Kind, pts)
		}
	}
	tmp := o.agentYAML + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, o.agentYAML)
}
