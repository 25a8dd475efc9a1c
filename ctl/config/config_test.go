package config

import (
	"testing"

	"github.com/pscm/pscm/internal/report"
	"github.com/pscm/pscm/internal/testenv"
)

func TestInvalidFiles(t *testing.T) {
	want := map[string]string{
		"invalid-no-sites.yml":     "sites: at least one",
		"invalid-site-id.yml":      `sites[0].id: "An Lao" is invalid`,
		"invalid-target.yml":       "targets: satisfaction_pct and on_time_pct must be in (0, 100]",
		"invalid-satisfied.yml":    `satisfied: "happy" is not a rating level`,
		"invalid-time-zone.yml":    "time_zone:",
		"invalid-influxdb-url.yml": "influxdb.url: no credentials",
		"invalid-unknown-key.yml":  "field provinse not found",
	}
	testenv.InvalidConfigs(t, want, func(path string) error {
		_, err := Load(path)
		return err
	})
}

func TestShippedConfig(t *testing.T) {
	c, err := Load("../../configs/ctl.example.yml")
	if err != nil {
		t.Fatal(err)
	}
	s, ok := c.Site("anlao")
	if !ok || len(s.Counters) == 0 || c.Targets.SatisfactionPct != 95 || c.Targets.OnTimePct != 98 || c.Province == "" {
		t.Fatalf("implausible example: %+v", c)
	}
	if rs := report.SiteOf(s); rs.Name != s.Name || rs.Counters[0].Name != s.Counters[0].NameVI {
		t.Errorf("report.SiteOf: %+v", rs)
	}
}

// TestValidateChangesNothing: Validate only checks, so -config.check and the
// start judge the same configuration.
func TestValidateChangesNothing(t *testing.T) {
	for _, f := range []string{"../../configs/ctl.example.yml", "testdata/minimal.yml"} {
		testenv.ValidateKeeps(t, f, Load)
	}
}
