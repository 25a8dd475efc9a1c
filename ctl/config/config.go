// Package config is pscm-ctl's configuration file: where InfluxDB is, the
// sites with their names, their time zone and the plan's targets. Its
// InfluxDB section is internal/store's, the collector's writer (pscm-ctl
// writes imported dossiers the way the collector writes events), and its
// figures are internal/kpi's, the dashboard's keys (so the report and the
// dashboard name and judge things alike).
package config

import (
	"fmt"
	"time"

	"github.com/pscm/pscm/internal/config"
	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/logging"
	"github.com/pscm/pscm/internal/store"
	"github.com/pscm/pscm/internal/timezone"
)

// Config is the whole pscm-ctl configuration.
type Config struct {
	InfluxDB store.Config `yaml:"influxdb"`
	// Province names a report over every site (-province).
	Province string `yaml:"province"`
	// Figures are the sites, targets, satisfied levels and time zone; the
	// zone also reads local times in imported files.
	kpi.Figures `yaml:",inline"`
	Log         logging.Config `yaml:"log"`
}

// Defaults returns a Config holding every default.
func Defaults() *Config {
	return &Config{
		InfluxDB: store.Defaults(),
		Figures:  kpi.DefaultFigures(),
		Log:      logging.Defaults(),
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
	if err := c.InfluxDB.Validate(); err != nil {
		return fmt.Errorf("influxdb.%w", err)
	}
	if err := c.Figures.Validate(); err != nil {
		return err
	}
	return c.Log.Validate()
}

// Check is everything pscm-ctl refuses before it reads or writes, short of
// the network: Validate (the time zone included) and the InfluxDB token
// (present, not empty). -config.check and every command call it.
func (c Config) Check() error {
	if err := c.Validate(); err != nil {
		return err
	}
	return c.InfluxDB.Check()
}

// Location returns the configured time zone.
func (c Config) Location() (*time.Location, error) {
	loc, err := timezone.Location(c.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("time_zone: %w", err)
	}
	return loc, nil
}
