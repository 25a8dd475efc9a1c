package config

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pscm/pscm/agent/camera/pipeline"
	"github.com/pscm/pscm/agent/kiosk"
	"github.com/pscm/pscm/internal/config"
)

// Shortest secrets the agent accepts: a kiosk token or the queue webhook's
// is typed once into a device and never again, so it can be long; the
// calibration password is typed by an installer.
const (
	MinTokenLen               = 16
	MinCalibrationPasswordLen = 12
)

// Secrets are the secrets the agent serves with, read and judged once by
// Resolve.
type Secrets struct {
	// Kiosks are the kiosk pages with their tokens, in config order.
	Kiosks []kiosk.Kiosk
	// WebhookToken is the queue webhook's token; "" leaves it closed.
	WebhookToken string
	// CalibrationPassword is set when the calibration page is enabled.
	CalibrationPassword string
	// AdminToken guards /metrics on the admin listener; "" when unset.
	AdminToken string
}

// Check is everything the agent refuses at start, short of the network
// (see Resolve). -config.check calls it.
func (c Config) Check() error {
	_, err := c.Resolve()
	return err
}

// Resolve is everything the agent refuses at start, short of the network:
// Validate; every secret read (present, not empty) and judged by the weak
// secret rules; the HTTPS certificate and the brokers' TLS files loaded;
// the spool directory usable; and the camera pipelines and kiosk pages built
// exactly as the agent builds them, then dropped. It returns the secrets
// the agent serves with. -config.check (through Check) and the start both
// call it, so a configuration the check passes starts, and the start reads
// no secret a second time.
func (c Config) Resolve() (Secrets, error) {
	var s Secrets
	if err := c.Validate(); err != nil {
		return s, err
	}
	if err := c.HTTP.TLS.Check(); err != nil {
		return s, fmt.Errorf("http.tls: %w", err)
	}
	var err error
	if s.AdminToken, err = c.Admin.Resolve(); err != nil {
		return s, fmt.Errorf("admin.%w", err)
	}
	if len(c.Cameras) > 0 {
		for i, cam := range c.Cameras {
			// Read at every connection: a missing file would otherwise
			// show only as a camera that never comes up.
			if _, err := cam.Password.Value(); err != nil {
				return s, fmt.Errorf("cameras[%d].password: %w", i, err)
			}
		}
		// Working hours, zones, detectors and sessions: what pipeline.New
		// refuses. Nothing connects before Run.
		if _, err := pipeline.New(c.Camera, c.Cameras, nil, slog.New(slog.DiscardHandler), prometheus.NewRegistry(), time.Now); err != nil {
			return s, err
		}
	}
	if s.Kiosks, err = c.kioskPages(); err != nil {
		return s, err
	}
	if c.Queue.WebhookToken.IsSet() {
		if s.WebhookToken, err = readSecret(c.Queue.WebhookToken, MinTokenLen); err != nil {
			return s, fmt.Errorf("queue webhook token: %w", err)
		}
	}
	if err := c.Uplink.Check(); err != nil {
		return s, fmt.Errorf("uplink: %w", err)
	}
	if c.Local.Enabled {
		if err := c.Local.MQTT.Check(); err != nil {
			return s, fmt.Errorf("local: %w", err)
		}
	}
	if c.Camera.Calibration.Enabled {
		if s.CalibrationPassword, err = readSecret(c.Camera.Calibration.Password, MinCalibrationPasswordLen); err != nil {
			return s, fmt.Errorf("camera.calibration.password: %w", err)
		}
	}
	if err := c.Spool.CheckDir(); err != nil {
		return s, fmt.Errorf("spool.%w", err)
	}
	return s, nil
}

// kioskPages reads each kiosk's token and builds the kiosk pages as the
// agent does, to see that they build: the officers' photos load, no two
// tablets share a token, the names fit the page.
func (c Config) kioskPages() ([]kiosk.Kiosk, error) {
	pages := make([]kiosk.Kiosk, 0, len(c.Kiosks))
	for _, k := range c.Kiosks {
		token, err := readSecret(k.Token, MinTokenLen)
		if err != nil {
			return nil, fmt.Errorf("kiosk %s token: %w", k.ID, err)
		}
		pages = append(pages, kiosk.Kiosk{ID: k.ID, Counter: k.Counter, CounterNameVI: k.CounterNameVI,
			CounterNameEN: k.CounterNameEN, OfficerName: k.OfficerName, OfficerPhoto: k.OfficerPhoto, Token: token})
	}
	if _, err := kiosk.NewHandler(c.Kiosk, pages, refuseAll{}, nil, nil); err != nil {
		return nil, err
	}
	return pages, nil
}

// readSecret reads s and refuses it if it is weak.
func readSecret(s config.Secret, minLen int) (string, error) {
	v, err := s.Value()
	if err != nil {
		return "", err
	}
	if err := config.WeakSecret(v, minLen); err != nil {
		return "", err
	}
	return v, nil
}

// refuseAll is the kiosk pages' acceptor while Check builds them to see
// that they build; nothing is ever served with it.
type refuseAll struct{}

var errCheckOnly = errors.New("configuration check: nothing is accepted")

func (refuseAll) Press(context.Context, kiosk.Press) (kiosk.Accepted, error) {
	return kiosk.Accepted{}, errCheckOnly
}

func (refuseAll) Reasons(context.Context, string, string, []string) error { return errCheckOnly }
