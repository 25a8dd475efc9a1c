// Package config is the dashboard's configuration file: strict YAML with
// defaults, validated as a whole before anything starts.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/pscm/pscm/dashboard/auth"
	"github.com/pscm/pscm/internal/adminhttp"
	"github.com/pscm/pscm/internal/cases"
	"github.com/pscm/pscm/internal/casestore"
	"github.com/pscm/pscm/internal/config"
	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/logging"
	"github.com/pscm/pscm/internal/mqttconn"
	"github.com/pscm/pscm/internal/roster"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/timezone"
	"github.com/pscm/pscm/internal/workcal"
)

// Config is the whole dashboard configuration.
type Config struct {
	HTTP HTTP `yaml:"http"`
	// Admin serves /metrics, /healthz and /readyz apart from the port a
	// reverse proxy publishes.
	Admin    adminhttp.Config `yaml:"admin"`
	InfluxDB InfluxDB         `yaml:"influxdb"`
	MQTT     mqttconn.Config  `yaml:"mqtt"`
	// Figures are the sites, targets, satisfied levels and time zone, the
	// same keys as pscm-ctl's.
	kpi.Figures `yaml:",inline"`
	// WorkingHours count staff presence and gate the unstaffed alert: the
	// same form, and the same hours, as the agent's camera.working_hours.
	WorkingHours kpi.HoursConfig `yaml:"working_hours"`
	// ReloadInterval is how often the figures are reloaded from InfluxDB,
	// the source of truth; live events are applied in between.
	ReloadInterval time.Duration `yaml:"reload_interval"`
	// PushInterval bounds how often a site's snapshot is pushed to browsers.
	PushInterval time.Duration `yaml:"push_interval"`
	Auth         auth.Config   `yaml:"auth"`
	// UsersFile holds the users (bcrypt hashes, roles, sites), mode 0600.
	UsersFile string `yaml:"users_file"`
	// StateDir keeps what must outlive a restart: the sessions logged out
	// before their expiry (revoked-sessions), which would otherwise be
	// valid again. The unit's StateDirectory=.
	StateDir string `yaml:"state_dir"`
	// SessionKey signs session cookies: at least 32 bytes, from a file.
	SessionKey config.Secret  `yaml:"session_key"`
	Log        logging.Config `yaml:"log"`
	// Cases keeps citizens' feedback and complaints (docs/cases.md); off
	// unless enabled.
	Cases Cases `yaml:"cases"`
	// RosterFile is the officials' schedule (docs/officials.md): with it
	// the dashboard serves each official's figures. Refused whole on any
	// doubt, as the roster is.
	RosterFile string `yaml:"roster_file"`
	// Officials is how long the per-official data the dashboard keeps
	// is kept.
	Officials Officials `yaml:"officials"`
}

// Officials is the retention of per-official data (Law 91/2025/QH15).
type Officials struct {
	// RetentionMonths: a reading of an official's figures
	// (officials-access.jsonl) and an official's note on their record
	// (officials-notes.jsonl) are removed this long after their time.
	RetentionMonths int `yaml:"retention_months"`
}

// Cases is where citizens' cases are kept and by which rules.
type Cases struct {
	Enabled bool `yaml:"enabled"`
	// Database is sqlite (embedded, the default: Path, by default
	// cases.db in state_dir) or postgres (DSN, from a file or the
	// environment: it holds a password).
	Database string        `yaml:"database"`
	Path     string        `yaml:"path"`
	DSN      config.Secret `yaml:"dsn"`
	// Calendar is the yearly working-day file deadlines are counted on.
	Calendar string `yaml:"calendar"`
	// Rules are the deadlines per kind, in working days; absent, the
	// laws' (cases.DefaultRules).
	Rules *cases.Rules `yaml:"rules"`
	// PublicPerMinute bounds the public status page's lookups per client
	// address and minute.
	PublicPerMinute int `yaml:"public_per_minute"`
	// Intake lists the centers whose agents send the cases citizens leave
	// at their kiosks (POST /api/intake), each with its own token.
	Intake []IntakeToken `yaml:"intake"`
	// RetentionMonths: a handled case's message and phone number are
	// erased this long after its last step (the agents' kiosks say so).
	RetentionMonths int `yaml:"retention_months"`
}

// IntakeToken is one site's agents' token for the intake.
type IntakeToken struct {
	Site  string        `yaml:"site"`
	Token config.Secret `yaml:"token"`
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
	// RollupBucket is the database ("db" or "db/rp") where the dashboard
	// keeps its sites' daily rollups, which it must be allowed to write
	// (scripts/influxdb-setup.sh: ALL on pscm_rollup); empty keeps none
	// and every figure is read from the raw events (docs/scale.md).
	RollupBucket string `yaml:"rollup_bucket"`
	// Lang is kept so that existing files that say "influxql" still load;
	// InfluxQL is the only query language (a Flux path was removed: it was
	// several times slower on 1.8 and no user needed it).
	Lang string `yaml:"lang"`
}

// Defaults returns a Config holding every default.
func Defaults() *Config {
	m := mqttconn.Defaults()
	m.ClientID = "pscm-dashboard"
	return &Config{
		HTTP:           HTTP{Listen: "127.0.0.1:8490"},
		StateDir:       "/var/lib/pscm-dashboard",
		Admin:          adminhttp.Config{Listen: "127.0.0.1:8491"},
		InfluxDB:       InfluxDB{URL: "http://127.0.0.1:8086", Bucket: "pscm/autogen"},
		MQTT:           m,
		Figures:        kpi.DefaultFigures(),
		WorkingHours:   kpi.DefaultHoursConfig(),
		ReloadInterval: 2 * time.Minute,
		PushInterval:   100 * time.Millisecond,
		Auth:           auth.DefaultConfig(),
		Log:            logging.Defaults(),
		Cases:          Cases{RetentionMonths: 24},
		Officials:      Officials{RetentionMonths: 24},
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
	if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
		return fmt.Errorf("http.listen: %w", err)
	}
	if err := c.HTTP.TLS.Validate(); err != nil {
		return fmt.Errorf("http.tls: %w", err)
	}
	if err := c.Admin.ValidateBeside(c.HTTP.Listen); err != nil {
		return fmt.Errorf("admin.%w", err)
	}
	if u, err := url.Parse(c.InfluxDB.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil {
		return fmt.Errorf("influxdb.url: %q is not an http(s) URL without credentials", c.InfluxDB.URL)
	}
	if c.InfluxDB.Bucket == "" {
		return errors.New("influxdb.bucket: required")
	}
	if rb, _, _ := strings.Cut(c.InfluxDB.RollupBucket, "/"); rb != "" {
		if b, _, _ := strings.Cut(c.InfluxDB.Bucket, "/"); rb == b {
			return fmt.Errorf("influxdb.rollup_bucket: %q is the events' database: the rollups need one of their own, the only one the dashboard writes", rb)
		}
	}
	if c.InfluxDB.Lang != "" && c.InfluxDB.Lang != "influxql" {
		return fmt.Errorf("influxdb.lang: %q: influxql is the only query language (remove the key)", c.InfluxDB.Lang)
	}
	if err := c.MQTT.Validate(); err != nil {
		return fmt.Errorf("mqtt.%w", err)
	}
	if err := c.Figures.Validate(); err != nil {
		return err
	}
	if _, err := c.Hours(); err != nil {
		return err
	}
	if c.ReloadInterval < 10*time.Second || c.PushInterval < 10*time.Millisecond || c.PushInterval > 10*time.Second {
		return errors.New("reload_interval at least 10s; push_interval within 10ms..10s")
	}
	if err := c.Auth.Validate(); err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	if c.StateDir == "" || !filepath.IsAbs(c.StateDir) {
		return fmt.Errorf("state_dir: %q: an absolute directory is required (logouts are kept there)", c.StateDir)
	}
	if c.UsersFile == "" {
		return errors.New("users_file: required (the dashboard is never open without a login)")
	}
	if !c.SessionKey.IsSet() {
		return errors.New("session_key: required (file or env, at least 32 bytes)")
	}
	if err := c.Cases.validate(); err != nil {
		return fmt.Errorf("cases.%w", err)
	}
	if m := c.Officials.RetentionMonths; m < 1 || m > 120 {
		return fmt.Errorf("officials.retention_months: %d outside 1..120", m)
	}
	return c.Log.Validate()
}

func (c Cases) validate() error {
	if !c.Enabled {
		return nil
	}
	switch c.Database {
	case "", "sqlite":
		if c.DSN.IsSet() {
			return errors.New("dsn: only for database: postgres")
		}
		if c.Path != "" && !filepath.IsAbs(c.Path) {
			return fmt.Errorf("path: %q is not absolute", c.Path)
		}
	case "postgres":
		if !c.DSN.IsSet() || c.Path != "" {
			return errors.New("dsn: required for postgres (file or env), and no path")
		}
	default:
		return fmt.Errorf("database: %q is not sqlite or postgres", c.Database)
	}
	if c.Calendar == "" {
		return errors.New("calendar: required: the working-day file deadlines are counted on (configs/calendar/vn.yml)")
	}
	if c.Rules != nil {
		if err := c.Rules.Validate(); err != nil {
			return fmt.Errorf("rules: %w", err)
		}
	}
	if c.RetentionMonths < 1 || c.RetentionMonths > 120 {
		return fmt.Errorf("retention_months: %d outside 1..120", c.RetentionMonths)
	}
	if c.PublicPerMinute < 0 || c.PublicPerMinute > 1000 {
		return fmt.Errorf("public_per_minute: %d outside 0..1000", c.PublicPerMinute)
	}
	seen := map[string]bool{}
	for i, it := range c.Intake {
		if !schema.ValidID(it.Site) || seen[it.Site] || !it.Token.IsSet() {
			return fmt.Errorf("intake[%d]: a site's ID, once, and its token (file or env)", i)
		}
		seen[it.Site] = true
	}
	return nil
}

// Check is everything the dashboard refuses at start, short of the
// network: Validate (time zones and working hours included), the users file
// (owner-only, every user valid), the session key (present, long enough),
// the InfluxDB token, the MQTT password (not weak) and TLS files, and the
// HTTPS certificate. -config.check calls it; the start calls Resolve, which
// runs the same checks, so a configuration the check passes starts.
func (c Config) Check() error {
	_, err := c.Resolve()
	return err
}

// Resolved is what Resolve read and checked, which the dashboard starts
// with: nothing is read twice.
type Resolved struct {
	Users       []auth.User
	SessionKey  []byte
	InfluxToken string
	Loc         *time.Location
	Hours       kpi.WorkHours
	AdminToken  string
	// Cases is the cases' store and rules, when enabled.
	Cases *ResolvedCases
	// Roster is the officials' schedule, when roster_file is set.
	Roster *roster.Roster
}

// ResolvedCases is the cases' part of Resolved.
type ResolvedCases struct {
	Dialect  casestore.Dialect
	DSN      string // a file path for SQLite
	Calendar *workcal.Calendar
	Rules    cases.Rules
	// IntakeTokens are the agents' tokens, by site.
	IntakeTokens map[string]string
}

// Resolve runs Check's checks and returns what they read.
func (c Config) Resolve() (Resolved, error) {
	var r Resolved
	if err := c.Validate(); err != nil {
		return r, err
	}
	var err error
	if r.Loc, err = c.Location(); err != nil {
		return r, err
	}
	if r.Hours, err = c.Hours(); err != nil {
		return r, err
	}
	if r.Users, err = auth.LoadUsers(c.UsersFile); err != nil {
		return r, err
	}
	key, err := c.SessionKey.Value()
	if err != nil {
		return r, fmt.Errorf("session_key: %w", err)
	}
	if err := auth.CheckKey([]byte(key)); err != nil {
		return r, fmt.Errorf("session_key: %w", err)
	}
	r.SessionKey = []byte(key)
	if r.InfluxToken, err = c.InfluxDB.Token.Value(); err != nil {
		return r, fmt.Errorf("influxdb token: %w", err)
	}
	if err := c.MQTT.Check(); err != nil {
		return r, err
	}
	if err := c.HTTP.TLS.Check(); err != nil {
		return r, fmt.Errorf("http.tls: %w", err)
	}
	if r.AdminToken, err = c.Admin.Resolve(); err != nil {
		return r, fmt.Errorf("admin.%w", err)
	}
	if err := config.DirWritable(c.StateDir); err != nil {
		return r, fmt.Errorf("state_dir: %w", err)
	}
	if r.Cases, err = c.resolveCases(); err != nil {
		return r, fmt.Errorf("cases.%w", err)
	}
	if c.RosterFile != "" {
		if r.Roster, err = roster.Load(c.RosterFile); err != nil {
			return r, fmt.Errorf("roster_file: %w", err)
		}
	}
	return r, nil
}

func (c Config) resolveCases() (*ResolvedCases, error) {
	if !c.Cases.Enabled {
		return nil, nil
	}
	rc := &ResolvedCases{Dialect: casestore.SQLite, DSN: c.Cases.Path, Rules: cases.DefaultRules()}
	if c.Cases.Rules != nil {
		rc.Rules = *c.Cases.Rules
	}
	if rc.DSN == "" {
		rc.DSN = filepath.Join(c.StateDir, "cases.db")
	}
	if c.Cases.Database == "postgres" {
		dsn, err := c.Cases.DSN.Value()
		if err != nil {
			return nil, fmt.Errorf("dsn: %w", err)
		}
		rc.Dialect, rc.DSN = casestore.Postgres, dsn
	}
	cal, err := workcal.Load(c.Cases.Calendar)
	if err != nil {
		return nil, fmt.Errorf("calendar: %w", err)
	}
	rc.Calendar = cal
	rc.IntakeTokens = map[string]string{}
	for _, it := range c.Cases.Intake {
		tok, err := it.Token.Value()
		if err != nil {
			return nil, fmt.Errorf("intake %s: %w", it.Site, err)
		}
		if len(tok) < 24 {
			return nil, fmt.Errorf("intake %s: the token has %d characters, want at least 24", it.Site, len(tok))
		}
		rc.IntakeTokens[it.Site] = tok
	}
	return rc, nil
}

// OfficialAccessLog is where readings of officials' figures are logged.
func (c Config) OfficialAccessLog() string {
	return filepath.Join(c.StateDir, "officials-access.jsonl")
}

// OfficialNotesFile keeps the officials' own notes on their records.
func (c Config) OfficialNotesFile() string { return filepath.Join(c.StateDir, "officials-notes.jsonl") }

// CaseAccessLog is where readings of cases' personal data are logged.
func (c Config) CaseAccessLog() string { return filepath.Join(c.StateDir, "case-access.jsonl") }

// Hours returns the working hours, which must be in the figures' zone
// (a presence figure and its days must be counted in one zone).
func (c Config) Hours() (kpi.WorkHours, error) {
	w, err := c.WorkingHours.WorkHours()
	if err != nil {
		return w, fmt.Errorf("working_hours.%w", err)
	}
	loc, err := c.Location()
	if err != nil {
		return w, err
	}
	if w.Loc.String() != loc.String() {
		return w, fmt.Errorf("working_hours.time_zone: %q differs from time_zone %q", c.WorkingHours.TimeZone, c.TimeZone)
	}
	return w, nil
}

// Location returns the figures' time zone.
func (c Config) Location() (*time.Location, error) {
	loc, err := timezone.Location(c.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("time_zone: %w", err)
	}
	return loc, nil
}

// RevocationsFile is where logged-out sessions are kept.
func (c Config) RevocationsFile() string { return filepath.Join(c.StateDir, "revoked-sessions") }
