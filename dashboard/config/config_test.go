package config

import (
	"strings"
	"testing"

	"github.com/pscm/pscm/internal/testenv"
)

func TestInvalidFiles(t *testing.T) {
	want := map[string]string{
		"invalid-no-sites.yml":    "sites: at least one",
		"invalid-site-id.yml":     `sites[0].id: "An Lao" is invalid`,
		"invalid-target.yml":      "targets: satisfaction_pct and on_time_pct must be in (0, 100]",
		"invalid-satisfied.yml":   `satisfied: "happy" is not a rating level`,
		"invalid-time-zone.yml":   "time_zone:",
		"invalid-lang.yml":        `influxdb.lang: "sql": influxql is the only query language`,
		"invalid-no-users.yml":    "users_file: required",
		"invalid-unknown-key.yml": "field reload_intervall not found",
		// The officials' retention: the key named, its bounds said.
		"invalid-officials-retention-zero.yml":     "officials.retention_months: 0 outside 1..120",
		"invalid-officials-retention-too-long.yml": "officials.retention_months: 121 outside 1..120",
		"invalid-officials-unknown-key.yml":        "field retention_month not found",
	}
	testenv.InvalidConfigs(t, want, func(path string) error {
		_, err := Load(path)
		return err
	})
}

func TestShippedConfig(t *testing.T) {
	c, err := Load("../../configs/dashboard.example.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Sites) == 0 || c.Targets.SatisfactionPct != 95 || c.Targets.OnTimePct != 98 || !c.Auth.Secure {
		t.Fatalf("implausible example: %+v", c)
	}
}

// TestValidateChangesNothing: Validate only checks, so -config.check and the
// start judge the same configuration.
func TestValidateChangesNothing(t *testing.T) {
	for _, f := range []string{"../../configs/dashboard.example.yml", "testdata/minimal.yml"} {
		testenv.ValidateKeeps(t, f, Load)
	}
}

// The cases' section: each mistake named, nothing started.
func TestCasesRefused(t *testing.T) {
	base := func() Config {
		c := *Defaults()
		c.Cases = Cases{Enabled: true, Calendar: "../../configs/calendar/vn.yml", RetentionMonths: 24}
		return c
	}
	for name, tc := range map[string]struct {
		mod  func(*Cases)
		want string
	}{
		"unknown database":  {func(c *Cases) { c.Database = "mysql" }, `cases.database: "mysql" is not sqlite or postgres`},
		"postgres, no dsn":  {func(c *Cases) { c.Database = "postgres" }, "cases.dsn: required for postgres"},
		"sqlite with a dsn": {func(c *Cases) { c.DSN.File = "/etc/pscm/dsn" }, "cases.dsn: only for database: postgres"},
		"relative path":     {func(c *Cases) { c.Path = "cases.db" }, `cases.path: "cases.db" is not absolute`},
		"no calendar":       {func(c *Cases) { c.Calendar = "" }, "cases.calendar: required"},
		"public limit":      {func(c *Cases) { c.PublicPerMinute = 5000 }, "cases.public_per_minute: 5000 outside"},
		"no retention":      {func(c *Cases) { c.RetentionMonths = 0 }, "cases.retention_months: 0 outside"},
	} {
		c := base()
		tc.mod(&c.Cases)
		err := c.Cases.validate()
		if err == nil || !strings.Contains("cases."+err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
	c := base()
	if err := c.Cases.validate(); err != nil {
		t.Fatalf("a valid section refused: %v", err)
	}
	c.StateDir = t.TempDir()
	rc, err := c.resolveCases()
	if err != nil || rc.Dialect != "sqlite" || rc.DSN != c.StateDir+"/cases.db" || rc.Calendar == nil || rc.Rules.WarnDays != 3 {
		t.Fatalf("resolved %+v %v", rc, err)
	}
	c.Cases.Calendar = "/nonexistent/vn.yml"
	if _, err := c.resolveCases(); err == nil || !strings.Contains(err.Error(), "calendar:") {
		t.Fatalf("a missing calendar: %v", err)
	}
}

// The officials' data is kept 24 months unless the file says otherwise.
func TestOfficialsRetention(t *testing.T) {
	c, err := Load("testdata/minimal.yml")
	if err != nil || c.Officials.RetentionMonths != 24 {
		t.Fatalf("default: %+v %v", c.Officials, err)
	}
	c.Officials.RetentionMonths = 120
	if err := c.Validate(); err != nil {
		t.Fatalf("120 months refused: %v", err)
	}
}
