// Package config is the collector's configuration file: strict YAML with
// defaults, validated as a whole before anything starts.
package config

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/pscm/pscm/collector/admission"
	"github.com/pscm/pscm/collector/ingest"
	"github.com/pscm/pscm/internal/config"
	"github.com/pscm/pscm/internal/logging"
	"github.com/pscm/pscm/internal/mqttconn"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/store"
)

// Config is the whole collector configuration.
type Config struct {
	MQTT      mqttconn.Config `yaml:"mqtt"`
	Subscribe Subscribe       `yaml:"subscribe"`
	InfluxDB  store.Config    `yaml:"influxdb"`
	Batch     ingest.Config   `yaml:"batch"`
	// Admission bounds what valid events may still do: IDs per site, the
	// lag of ts, closed reporting periods.
	Admission admission.Config `yaml:"admission"`
	HTTP      HTTP             `yaml:"http"`
	Log       logging.Config   `yaml:"log"`
	// ShutdownTimeout bounds the final flush on stop; what is not written by
	// then is redelivered by the broker after restart.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// Subscribe says which events this collector takes.
type Subscribe struct {
	// SharedGroup, when set, subscribes through $share/<group>/ so several
	// collectors split the stream; all replicas use the same group.
	SharedGroup string `yaml:"shared_group"`
	// Sites limits the subscription to these site IDs; empty means all.
	Sites []string `yaml:"sites"`
}

// HTTP is the metrics and health endpoint.
type HTTP struct {
	Listen string `yaml:"listen"`
}

// Defaults returns a Config holding every default.
func Defaults() *Config {
	m := mqttconn.Defaults()
	m.ClientID = "pscm-collector"
	return &Config{
		MQTT:            m,
		InfluxDB:        store.Defaults(),
		Batch:           ingest.Defaults(),
		Admission:       admission.Defaults(),
		HTTP:            HTTP{Listen: "127.0.0.1:9481"},
		Log:             logging.Defaults(),
		ShutdownTimeout: 10 * time.Second,
	}
}

// Load reads and validates a file over the defaults.
func Load(path string) (*Config, error) {
	c := Defaults()
	if err := config.Load(path, c); err != nil {
		return nil, err
	}
	return c, nil
}

// Validate checks the whole configuration, naming the key at fault. It
// changes nothing: defaults come from Defaults.
func (c Config) Validate() error {
	if err := c.MQTT.Validate(); err != nil {
		return fmt.Errorf("mqtt.%w", err)
	}
	if g := c.Subscribe.SharedGroup; g != "" && !schema.ValidID(g) {
		return fmt.Errorf("subscribe.shared_group: %q must match ^[a-z0-9][a-z0-9_-]{0,62}$", g)
	}
	seen := map[string]bool{}
	for _, s := range c.Subscribe.Sites {
		if !schema.ValidID(s) {
			return fmt.Errorf("subscribe.sites: %q is not a valid site ID", s)
		}
		if seen[s] {
			return fmt.Errorf("subscribe.sites: %q listed twice", s)
		}
		seen[s] = true
	}
	if err := c.InfluxDB.Validate(); err != nil {
		return fmt.Errorf("influxdb.%w", err)
	}
	if err := c.Batch.Validate(); err != nil {
		return fmt.Errorf("batch.%w", err)
	}
	if err := c.Admission.Validate(); err != nil {
		return fmt.Errorf("admission.%w", err)
	}
	if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
		return fmt.Errorf("http.listen: %w", err)
	}
	if err := c.Log.Validate(); err != nil {
		return err
	}
	if c.ShutdownTimeout <= 0 || c.ShutdownTimeout > 5*time.Minute {
		return errors.New("shutdown_timeout: must be in 0s..5m")
	}
	return nil
}

// Check is everything the collector refuses at start, short of the
// network: Validate, the admission rules that depend on now (a closed
// period has ended, a reopening ends within a month), the MQTT password
// (present, not empty, not weak) and TLS files, and the InfluxDB token.
// -config.check and the start both call it, so a configuration the check
// passes starts.
func (c Config) Check(now time.Time) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if err := c.Admission.Check(now); err != nil {
		return fmt.Errorf("admission.%w", err)
	}
	if err := c.MQTT.Check(); err != nil {
		return err
	}
	return c.InfluxDB.Check()
}

// SiteSegments returns the site segments to subscribe to ("+" for all).
func (s Subscribe) SiteSegments() []string {
	if len(s.Sites) == 0 {
		return []string{"+"}
	}
	return s.Sites
}
