package main

import (
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/rtspsim"
	"github.com/pscm/pscm/internal/scene"
	"github.com/pscm/pscm/internal/testenv"
)

const (
	camUser     = "pscm-viewer"
	camPassword = "cam-digest-secret-77"
	calPassword = "calibration-secret-88"
)

// TestCamerasEndToEnd runs the agent with a camera served over RTSP with
// Digest auth from a generated clip (scene.Brief: an official, one citizen
// served) and checks what reaches InfluxDB through the spool, the central
// broker and the collector: camera health with the stream's real figures,
// the zone changes, the session; then the camera server goes away for 20 s,
// the agent reports it down and every zone unknown, reconnects when it is
// back and counts the reconnects. The calibration page serves the decoded frame on loopback.
func TestCamerasEndToEnd(t *testing.T) {
	w := newWorld(t)
	sc := scene.Brief()
	rc, clip, err := rtspsim.SceneClip(context.Background(), sc)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := rtspsim.Start(context.Background(), rtspsim.Config{
		Paths: []rtspsim.Path{{Name: "cam1", Clip: rc}}, User: camUser, Password: camPassword, Auth: rtspsim.AuthDigest,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	for name, secret := range map[string]string{"cam1.pass": camPassword, "calibration.pass": calPassword} {
		if err := os.WriteFile(filepath.Join(w.dir, name), []byte(testenv.Secret(t, secret)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var zones strings.Builder
	for _, z := range sc.Zones {
		pts, _ := json.Marshal(z.Polygon)
		fmt.Fprintf(&zones, "      - {id: %s, counter: %s, kind: %s, polygon: %s}\n", z.ID, z.Counter, z.Kind, pts)
	}
	extra := fmt.Sprintf(`cameras:
  - id: cam1
    url: %s
    username: %s
    password: {file: %s}
    stall_timeout: 3s
    dial_timeout: 3s
    backoff_max: 2s
    zones:
%scamera:
  sessions: {session_min: 5s, session_gap: 5s}
  fuse_window: 5s
  working_hours: {days: [mon, tue, wed, thu, fri, sat, sun], spans: ["00:00-24:00"]}
  calibration: {enabled: true, password: {file: %s}}
`, srv.URL("cam1"), camUser, filepath.Join(w.dir, "cam1.pass"), zones.String(), filepath.Join(w.dir, "calibration.pass"))
	a := w.startAgent(t, agentOpts{extra: extra})

	// Health: the first 10 s window with video.
	testenv.Eventually(t, 30*time.Second, 250*time.Millisecond, func() bool {
		return len(w.db.Query(t, `SELECT "width" FROM "camera" WHERE "camera" = 'cam1' AND "up" = true AND "fps" > 0`)) > 0
	}, "a camera event with video in InfluxDB")
	row := w.db.Query(t, `SELECT "width", "height", "fps", "gop_s" FROM "camera" WHERE "camera" = 'cam1' AND "fps" > 0 ORDER BY time DESC LIMIT 1`)[0]
	num := func(i int) float64 {
		f, err := row.Values[0][i].(json.Number).Float64()
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	if num(1) != 640 || num(2) != 360 || num(3) < 8.5 || num(3) > 11.5 || num(4) < 0.7 || num(4) > 1.3 {
		t.Fatalf("camera health %v, want 640x360, about 10 fps, a keyframe every 1 s", row.Values[0])
	}

	// The calibration page, as an installer on the box sees it.
	req, _ := http.NewRequest(http.MethodGet, "http://"+a.admin+"/calibration/cam1.png", nil)
	req.SetBasicAuth("admin", calPassword)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || err != nil || img.Bounds().Dx() < 160 {
		t.Fatalf("calibration frame: %d, %v", res.StatusCode, err)
	}
	res, err = http.Get("http://" + a.admin + "/calibration/")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("calibration page without the password: %d", res.StatusCode)
	}
	// Not on the kiosks' port, even with the password (issue 13 item 7:
	// it was served there before).
	req, _ = http.NewRequest(http.MethodGet, "http://"+a.addr+"/calibration/cam1.png", nil)
	req.SetBasicAuth("admin", calPassword)
	if res, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("calibration frame on the kiosk port: %d, want 404", res.StatusCode)
	}

	// The citizen's session, 18 s in the clip, ends about 30 s in.
	testenv.Eventually(t, 60*time.Second, 500*time.Millisecond, func() bool { return w.db.Count(t, "session", "service_s") > 0 },
		"the camera session in InfluxDB")
	s := w.db.Query(t, `SELECT "service_s" FROM "session" WHERE "source" = 'camera' AND "counter" = 'c01'`)
	if len(s) != 1 || len(s[0].Values) != 1 {
		t.Fatalf("sessions %+v, want one camera session", s)
	}
	service, _ := s[0].Values[0][1].(json.Number).Float64()
	truth := clip.Truth.Sessions[0]
	if d := service - (truth[1] - truth[0]); d < -5 || d > 5 {
		t.Fatalf("session of %.1f s, truth %.1f s", service, truth[1]-truth[0])
	}
	for zone, want := range map[string]int64{"staff": 1, "citizen": 2} {
		q := fmt.Sprintf(`SELECT count("occupied") FROM "occupancy" WHERE "zone" = '%s' AND "camera" = 'cam1'`, zone)
		got := w.db.Query(t, q)
		if len(got) == 0 {
			t.Fatalf("no %s occupancy points", zone)
		}
		if n, _ := got[0].Values[0][1].(json.Number).Int64(); n < want {
			t.Fatalf("%d %s occupancy changes, want at least %d", n, zone, want)
		}
	}

	// The camera goes away for 20 s.
	srv.Stop()
	testenv.Eventually(t, 30*time.Second, 250*time.Millisecond, func() bool {
		return len(w.db.Query(t, `SELECT "up" FROM "camera" WHERE "camera" = 'cam1' AND "up" = false`)) > 0
	}, "the camera reported down")
	// Every zone unknown while it cannot see: neither vacant nor occupied.
	testenv.Eventually(t, 20*time.Second, 250*time.Millisecond, func() bool {
		return len(w.db.Query(t, `SELECT count("occupied") FROM "occupancy" WHERE "camera" = 'cam1' AND "state" = 'unknown' AND "occupied" = false GROUP BY "zone"`)) == len(sc.Zones)
	}, "every zone of the camera unknown in InfluxDB while it is down")
	time.Sleep(20 * time.Second) // the outage itself, not a wait for a result
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	testenv.Eventually(t, 40*time.Second, 250*time.Millisecond, func() bool {
		q := fmt.Sprintf(`SELECT "reconnects" FROM "camera" WHERE "camera" = 'cam1' AND "up" = true AND "fps" > 0 AND time > %d ORDER BY time DESC LIMIT 1`, back.UnixNano())
		got := w.db.Query(t, q)
		if len(got) == 0 {
			return false
		}
		n, _ := got[0].Values[0][1].(json.Number).Int64()
		return n > 0
	}, "the camera back up with its reconnects counted")

	metrics := get(t, "http://"+a.admin+"/metrics")
	testenv.CheckMetrics(t, []byte(metrics))
	for _, m := range []string{`pscm_agent_zone_occupied{camera="cam1",counter="c01",zone="staff"}`, "pscm_agent_shift_open 1",
		`pscm_agent_camera_up{camera="cam1"} 1`, `pscm_agent_staff_absent_seconds{counter="c01"}`} {
		if !strings.Contains(metrics, m) {
			t.Errorf("metrics lack %s", m)
		}
	}
	if strings.Contains(a.logs.String(), camPassword) || strings.Contains(metrics, camPassword) {
		t.Fatal("the camera password is in the agent's log or metrics")
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
