package pipeline

import (
	"errors"
	"fmt"
	"time"

	"github.com/pscm/pscm/agent/camera/ingest"
	"github.com/pscm/pscm/agent/camera/keyframe"
	"github.com/pscm/pscm/agent/camera/occupancy"
	"github.com/pscm/pscm/agent/camera/presence"
	"github.com/pscm/pscm/internal/config"
	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/schema"
)

// MaxCameras bounds the agent's `cameras:` list: one edge box decodes
// keyframes of a few dozen streams, not hundreds.
const MaxCameras = 64

// Camera is one entry of the agent's `cameras:` list: the stream (ingest)
// and the zones drawn on its picture.
type Camera struct {
	ingest.Config
	Zones []occupancy.Zone
}

// UnmarshalYAML starts the stream settings from ingest.Defaults, so an
// entry that gives only id, url and zones gets the rest. The strict
// decoder's unknown-key check still applies to every key.
func (c *Camera) UnmarshalYAML(unmarshal func(any) error) error {
	// ingestFields has ingest.Config's fields without its UnmarshalYAML,
	// which would otherwise be promoted to plain and refuse `zones`.
	type ingestFields ingest.Config
	var p struct {
		ingestFields `yaml:",inline"`
		Zones        []occupancy.Zone `yaml:"zones"`
	}
	p.ingestFields = ingestFields(ingest.Defaults())
	if err := unmarshal(&p); err != nil {
		return err
	}
	*c = Camera{Config: ingest.Config(p.ingestFields), Zones: p.Zones}
	return nil
}

// Settings are the camera settings shared by every camera (the agent's
// `camera:` section).
type Settings struct {
	// DecodeWidth is the width keyframes are decoded to; the detector's
	// defaults are tuned at 160 (a 16:9 picture becomes 160x90).
	DecodeWidth int `yaml:"decode_width"`
	// MaxPictureWidth and MaxPictureHeight bound the pictures a camera may
	// send: a keyframe declaring more is refused before it is decoded (a
	// hostile 16000x16000 would cost ~600 MiB and seconds of CPU each).
	MaxPictureWidth  int              `yaml:"max_picture_width"`
	MaxPictureHeight int              `yaml:"max_picture_height"`
	Occupancy        occupancy.Config `yaml:"occupancy"`
	Sessions         presence.Config  `yaml:"sessions"`
	// AbsenceAfter: the official's seat vacant this long inside working
	// hours is an absence (logged once, counted, and on the
	// pscm_agent_staff_absent_seconds gauge the alert rules watch).
	AbsenceAfter time.Duration `yaml:"absence_after"`
	// WorkingHours are the same form, and should be the same hours, as the
	// dashboard's working_hours: both count presence in them.
	WorkingHours kpi.HoursConfig `yaml:"working_hours"`
	// FuseWindow is how long a session from one source (camera or queue)
	// waits for the other before it is sent alone.
	FuseWindow  time.Duration `yaml:"fuse_window"`
	Calibration Calibration   `yaml:"calibration"`
}

// Calibration is the installer's page that shows each camera's latest small
// frame with its zones: the only place a picture is ever shown. It answers
// only on loopback, only with the password, and only when enabled.
type Calibration struct {
	Enabled  bool          `yaml:"enabled"`
	Password config.Secret `yaml:"password"`
}

// Defaults returns the settings used where the file says nothing.
func Defaults() Settings {
	return Settings{
		DecodeWidth:      160,
		MaxPictureWidth:  keyframe.DefaultMaxPictureWidth,
		MaxPictureHeight: keyframe.DefaultMaxPictureHeight,
		Occupancy:        occupancy.Defaults(),
		Sessions:         presence.Defaults(),
		AbsenceAfter:     10 * time.Minute,
		WorkingHours:     kpi.DefaultHoursConfig(),
		FuseWindow:       2 * time.Minute,
		Calibration:      Calibration{},
	}
}

// Validate checks the settings, naming the key at fault.
func (s Settings) Validate() error {
	if err := keyframe.CheckMaxPicture(s.MaxPictureWidth, s.MaxPictureHeight); err != nil {
		return fmt.Errorf("max_picture_width, max_picture_height: %w", err)
	}
	if s.DecodeWidth < 64 || s.DecodeWidth > 640 {
		return fmt.Errorf("decode_width: %d outside 64..640", s.DecodeWidth)
	}
	if err := s.Occupancy.Validate(); err != nil {
		return fmt.Errorf("occupancy: %w", err)
	}
	if err := s.Sessions.Validate(); err != nil {
		return fmt.Errorf("sessions: %w", err)
	}
	if s.AbsenceAfter < time.Minute || s.AbsenceAfter > 8*time.Hour {
		return fmt.Errorf("absence_after: %v outside 1m..8h", s.AbsenceAfter)
	}
	if _, err := s.WorkingHours.WorkHours(); err != nil {
		return fmt.Errorf("working_hours: %w", err)
	}
	if s.FuseWindow < 5*time.Second || s.FuseWindow > time.Hour {
		// Without a window a citizen seen by both the camera and the queue
		// system would be counted twice.
		return fmt.Errorf("fuse_window: %v outside 5s..1h", s.FuseWindow)
	}
	if err := s.Calibration.Password.Validate(); err != nil {
		return fmt.Errorf("calibration.password: %w", err)
	}
	if s.Calibration.Enabled && !s.Calibration.Password.IsSet() {
		return errors.New("calibration.password: required (file, env or credential) while calibration.enabled is true")
	}
	return nil
}

// ValidateCameras checks the list: each camera, unique IDs, and zones that
// map one-to-one onto (camera, counter, kind), since that is an occupancy
// point's identity, and a counter's staff or citizen seat watched by one
// camera only, since sessions need one ordered story per seat.
func ValidateCameras(cams []Camera) error {
	if len(cams) > MaxCameras {
		return fmt.Errorf("more than %d cameras", MaxCameras)
	}
	ids := map[string]bool{}
	seats := map[string]string{}
	for i, c := range cams {
		if err := c.Config.Validate(); err != nil {
			return fmt.Errorf("[%d].%w", i, err)
		}
		if ids[c.ID] {
			return fmt.Errorf("[%d].id: %q listed twice", i, c.ID)
		}
		ids[c.ID] = true
		if len(c.Zones) > 32 {
			return fmt.Errorf("[%d].zones: more than 32", i)
		}
		zoneIDs := map[string]bool{}
		kinds := map[string]bool{}
		for j, z := range c.Zones {
			if err := z.Validate(); err != nil {
				return fmt.Errorf("[%d].zones[%d]: %w", i, j, err)
			}
			if zoneIDs[z.ID] {
				return fmt.Errorf("[%d].zones[%d].id: %q listed twice", i, j, z.ID)
			}
			zoneIDs[z.ID] = true
			key := z.Counter + "/" + string(z.Kind)
			if kinds[key] {
				return fmt.Errorf("[%d].zones[%d]: a second %s zone of counter %s on this camera", i, j, z.Kind, z.Counter)
			}
			kinds[key] = true
			if z.Kind == schema.ZoneStaff || z.Kind == schema.ZoneCitizen {
				if other, ok := seats[key]; ok {
					return fmt.Errorf("[%d].zones[%d]: the %s seat of counter %s is already watched by camera %s", i, j, z.Kind, z.Counter, other)
				}
				seats[key] = c.ID
			}
		}
	}
	return nil
}
