// Package config is the dashboard's configuration file: strict YAML with
// defaults, validated as a whole before anything starts.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/pscm/pscm/dashboard/auth"
	"github.com/pscm/pscm/dashboard/board"
	"github.com/pscm/pscm/dashboard/kpi"
	"github.com/pscm/pscm/internal/config"
	"github.com/pscm/pscm/internal/logging"
	"github.com/pscm/pscm/internal/mqttconn"
	"github.com/pscm/pscm/internal/schema"
)

// Config is the whole dashboard configuration.
type Config struct {
	HTTP     HTTP            `yaml:"http"`
	InfluxDB InfluxDB        `yaml:"influxdb"`
	MQTT     mqttconn.Config `yaml:"mqtt"`
	Sites    []board.Site    `yaml:"sites"`
	Targets  Targets         `yaml:"targets"`
	// Satisfied lists the rating levels that count as satisfied.
	Satisfied []schema.Level `yaml:"satisfied"`
	// TimeZone bounds days, months, half-years and years.
	TimeZone string `yaml:"time_zone"`
	// ReloadInterval is how often the figures are reloaded from InfluxDB,
	// the source of truth; live events are applied in between.
	ReloadInterval time.Duration `yaml:"reload_interval"`
	// PushInterval bounds how often a site's snapshot is pushed to browsers.
	PushInterval time.Duration `yaml:"push_interval"`
	Auth         auth.Config   `yaml:"auth"`
	// UsersFile holds the users (bcrypt hashes, roles, sites), mode 0600.
	UsersFile string `yaml:"users_file"`
	// SessionKey signs session cookies: at least 32 bytes, from a file.
	SessionKey config.Secret  `yaml:"session_key"`
	Log        logging.Config `yaml:"log"`
}

// HTTP is where the dashboard listens.
type HTTP struct {
	Listen string `yaml:"listen"`
	// TLS serves HTTPS; without it, put the dashboard behind a proxy that
	// does (the session cookie is Secure unless auth.secure is false).
	TLS config.ServerTLS `yaml:"tls"`
}

// InfluxDB is where the figures come from.
type InfluxDB struct {
	URL    string        `yaml:"url"`
	Bucket string        `yaml:"bucket"`
	Org    string        `yaml:"org"`
	Token  config.Secret `yaml:"token"`
	// Lang is influxql (faster on 1.8) or flux.
	Lang string `yaml:"lang"`
}

// Targets are the plan's targets.
type Targets struct {
	SatisfactionPct float64 `yaml:"satisfaction_pct"`
	OnTimePct       float64 `yaml:"on_time_pct"`
	WaitP90S        float64 `yaml:"wait_p90_s"`
	ServiceP90S     float64 `yaml:"service_p90_s"`
}

// KPI returns the targets in kpi's form.
func (t Targets) KPI() kpi.Targets {
	return kpi.Targets{SatisfactionPct: t.SatisfactionPct, OnTimePct: t.OnTimePct, WaitP90S: t.WaitP90S, ServiceP90S: t.ServiceP90S}
}

// Defaults returns a Config holding every default.
func Defaults() *Config {
	m := mqttconn.Defaults()
	m.ClientID = "pscm-dashboard"
	return &Config{
		HTTP:           HTTP{Listen: "127.0.0.1:8490"},
		InfluxDB:       InfluxDB{URL: "http://127.0.0.1:8086", Bucket: "pscm/autogen", Lang: string(kpi.LangInfluxQL)},
		MQTT:           m,
		Targets:        Targets{SatisfactionPct: 95, OnTimePct: 98},
		Satisfied:      kpi.DefaultSatisfied(),
		TimeZone:       kpi.DefaultZone,
		ReloadInterval: 2 * time.Minute,
		PushInterval:   100 * time.Millisecond,
		Auth:           auth.DefaultConfig(),
		Log:            logging.Defaults(),
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
	if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
		return fmt.Errorf("http.listen: %w", err)
	}
	if err := c.HTTP.TLS.Validate(); err != nil {
		return fmt.Errorf("http.tls: %w", err)
	}
	if u, err := url.Parse(c.InfluxDB.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil {
		return fmt.Errorf("influxdb.url: %q is not an http(s) URL without credentials", c.InfluxDB.URL)
	}
	if c.InfluxDB.Bucket == "" {
		return errors.New("influxdb.bucket: required")
	}
	if c.InfluxDB.Lang != string(kpi.LangInfluxQL) && c.InfluxDB.Lang != string(kpi.LangFlux) {
		return fmt.Errorf("influxdb.lang: %q is not influxql or flux", c.InfluxDB.Lang)
	}
	if err := c.MQTT.Validate(); err != nil {
		return fmt.Errorf("mqtt.%w", err)
	}
	if err := ValidateFigures(c.Sites, c.Targets, c.Satisfied, c.TimeZone); err != nil {
		return err
	}
	if c.ReloadInterval < 10*time.Second || c.PushInterval < 10*time.Millisecond || c.PushInterval > 10*time.Second {
		return errors.New("reload_interval at least 10s; push_interval within 10ms..10s")
	}
	if err := c.Auth.Validate(); err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	if c.UsersFile == "" {
		return errors.New("users_file: required (the dashboard is never open without a login)")
	}
	if !c.SessionKey.IsSet() {
		return errors.New("session_key: required (file or env, at least 32 bytes)")
	}
	return c.Log.Validate()
}

// ValidateFigures checks what every reader of the figures configures
// alike (the dashboard and pscm-ctl): the sites and their counters, the
// targets, the levels that count as satisfied and the time zone.
func ValidateFigures(sites []board.Site, t Targets, satisfied []schema.Level, zone string) error {
	if len(sites) == 0 {
		return errors.New("sites: at least one")
	}
	seen := map[string]bool{}
	for i, s := range sites {
		if !schema.ValidID(s.ID) || seen[s.ID] {
			return fmt.Errorf("sites[%d].id: %q is invalid or repeated", i, s.ID)
		}
		seen[s.ID] = true
		if s.Name == "" {
			return fmt.Errorf("sites[%d].name: required", i)
		}
		for j, ct := range s.Counters {
			if !schema.ValidID(ct.ID) || ct.NameVI == "" {
				return fmt.Errorf("sites[%d].counters[%d]: id must be a valid ID and name_vi is required", i, j)
			}
		}
	}
	if t.SatisfactionPct <= 0 || t.SatisfactionPct > 100 || t.OnTimePct <= 0 || t.OnTimePct > 100 || t.WaitP90S < 0 || t.ServiceP90S < 0 {
		return errors.New("targets: satisfaction_pct and on_time_pct must be in (0, 100], wait_p90_s and service_p90_s at least 0")
	}
	if len(satisfied) == 0 {
		return errors.New("satisfied: at least one level")
	}
	for _, l := range satisfied {
		if !l.Valid() {
			return fmt.Errorf("satisfied: %q is not a rating level", l)
		}
	}
	if _, err := kpi.Location(zone); err != nil {
		return fmt.Errorf("time_zone: %w", err)
	}
	return nil
}
