package pipeline

import (
	"strings"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/config"
)

// file is the part of the agent's configuration this package owns.
type file struct {
	Cameras []Camera `yaml:"cameras"`
	Camera  Settings `yaml:"camera"`
}

func (f *file) Validate() error {
	if err := ValidateCameras(f.Cameras); err != nil {
		return err
	}
	return f.Camera.Validate()
}

func decode(t *testing.T, y string) (*file, error) {
	t.Helper()
	f := &file{Camera: Defaults()}
	return f, config.Decode([]byte(y), f)
}

const zones = `
    zones:
      - {id: c01-staff, counter: c01, kind: staff, polygon: [[0.1,0.3],[0.3,0.3],[0.3,0.8],[0.1,0.8]]}
      - {id: c01-citizen, counter: c01, kind: citizen, polygon: [[0.6,0.3],[0.8,0.3],[0.8,0.8],[0.6,0.8]]}`

func TestConfigDefaults(t *testing.T) {
	f, err := decode(t, `
cameras:
  - id: cam1
    url: rtsp://10.0.0.5:554/stream1
    username: viewer
    password: {env: CAM1_PASSWORD}`+zones+`
camera:
  sessions: {session_min: 20s}
  working_hours: {spans: ["08:00-12:00"]}
`)
	if err != nil {
		t.Fatal(err)
	}
	c := f.Cameras[0]
	if c.StallTimeout != 10*time.Second || c.Transport != "tcp" || c.BackoffMax != time.Minute || len(c.Zones) != 2 {
		t.Fatalf("camera defaults not applied: %+v", c)
	}
	s := f.Camera
	if s.Sessions.SessionMin != 20*time.Second || s.Sessions.SessionGap != 15*time.Second || s.DecodeWidth != 160 ||
		s.Occupancy.EnterRatio == 0 || s.Calibration.Enabled {
		t.Fatalf("settings: %+v", s)
	}
	h, err := s.WorkingHours.WorkHours()
	if err != nil || !h.Days[time.Friday] || h.Days[time.Saturday] || len(h.Shifts) != 1 || h.Shifts[0].From != 8*time.Hour {
		t.Fatalf("hours %+v, %v", h, err)
	}
	if !h.Contains(time.Date(2026, 11, 25, 9, 0, 0, 0, h.Loc)) || h.Contains(time.Date(2026, 11, 25, 13, 0, 0, 0, h.Loc)) {
		t.Fatal("08:00-12:00 not applied")
	}
}

func TestConfigErrors(t *testing.T) {
	cam := func(id, extra string) string {
		return "\n  - id: " + id + "\n    url: rtsp://10.0.0.5/" + id + extra + zones
	}
	for _, tc := range []struct{ yaml, want string }{
		{"cameras:" + cam("cam1", "\n    colour: red"), "field colour not found"},
		{"cameras:" + cam("Cam 1", ""), `id: "Cam 1"`},
		{"cameras:" + cam("cam1", "") + cam("cam1", ""), `[1].id: "cam1" listed twice`},
		{"cameras:" + cam("cam1", "") + cam("cam2", ""), "already watched by camera cam1"},
		{"cameras:\n  - id: cam1\n    url: rtsp://u:p@10.0.0.5/\n", "url"},
		{"cameras:\n  - id: cam1\n    url: rtsp://10.0.0.5/\n    zones: [{id: z, counter: c01, kind: desk, polygon: [[0,0],[1,0],[1,1]]}]", "[0].zones[0]"},
		{"cameras:\n  - id: cam1\n    url: rtsp://10.0.0.5/\n    zones: [{id: z, counter: c01, kind: staff, polygon: [[0,0],[2,0],[1,1]]}]", "[0].zones[0]"},
		{"camera:\n  decode_width: 4000", "decode_width: 4000 outside 64..640"},
		{"camera:\n  absence_after: 5s", "absence_after"},
		{"camera:\n  fuse_window: 0s", "fuse_window: 0s outside 5s..1h"},
		{"camera:\n  working_hours: {days: [mon, funday]}", `"funday" is not one of`},
		{"camera:\n  working_hours: {spans: [\"13:30-11:30\"]}", "working_hours"},
		{"camera:\n  working_hours: {spans: [\"7:30-11:30\"]}", `"7:30-11:30" is not HH:MM-HH:MM`},
		{"camera:\n  working_hours: {time_zone: Mars/Olympus}", "time_zone"},
		{"camera:\n  calibration: {enabled: true}", "calibration.password: required"},
		{"camera:\n  sessions: {session_min: -1s}", "sessions"},
	} {
		_, err := decode(t, tc.yaml)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q:\n  error %v, want it to contain %q", tc.yaml, err, tc.want)
		}
	}
}
