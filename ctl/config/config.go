// Package config is pscm-ctl's configuration file: where InfluxDB is, the
// sites with their names, their time zone and the plan's targets. It reuses
// the collector's InfluxDB section (pscm-ctl writes imported dossiers the
// way the collector writes events) and the dashboard's sites and targets
// (so the report and the dashboard name and judge things alike).
package config

import (
	"fmt"

	"github.com/pscm/pscm/collector/store"
	"github.com/pscm/pscm/dashboard/board"
	dconfig "github.com/pscm/pscm/dashboard/config"
	"github.com/pscm/pscm/dashboard/kpi"
	"github.com/pscm/pscm/internal/config"
	"github.com/pscm/pscm/internal/logging"
	"github.com/pscm/pscm/internal/schema"
)

// Config is the whole pscm-ctl configuration.
type Config struct {
	InfluxDB store.Config `yaml:"influxdb"`
	// Province names a report over every site (-province).
	Province string          `yaml:"province"`
	Sites    []board.Site    `yaml:"sites"`
	Targets  dconfig.Targets `yaml:"targets"`
	// Satisfied lists the rating levels that count as satisfied.
	Satisfied []schema.Level `yaml:"satisfied"`
	// TimeZone reads local times in imported files and bounds report
	// periods and months.
	TimeZone string         `yaml:"time_zone"`
	Log      logging.Config `yaml:"log"`
}

// Defaults returns a Config holding every default.
func Defaults() *Config {
	return &Config{
		InfluxDB:  store.Defaults(),
		Targets:   dconfig.Targets{SatisfactionPct: 95, OnTimePct: 98},
		Satisfied: kpi.DefaultSatisfied(),
		TimeZone:  kpi.DefaultZone,
		Log:       logging.Defaults(),
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

// Validate checks the whole configuration, naming the key at fault.
func (c *Config) Validate() error {
	if err := c.InfluxDB.Validate(); err != nil {
		return fmt.Errorf("influxdb.%w", err)
	}
	if err := dconfig.ValidateFigures(c.Sites, c.Targets, c.Satisfied, c.TimeZone); err != nil {
		return err
	}
	return c.Log.Validate()
}

// Site returns the configured site with id.
func (c *Config) Site(id string) (board.Site, bool) {
	for _, s := range c.Sites {
		if s.ID == id {
			return s, true
		}
	}
	return board.Site{}, false
}
