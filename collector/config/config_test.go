package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/testenv"
)

func TestInvalidFiles(t *testing.T) {
	want := map[string]string{
		"invalid-inflight.yml":            "batch.max_inflight: 100 must be at least (writers+2) x size = 20000",
		"invalid-broker-scheme.yml":       `mqtt.broker: scheme "http" not supported`,
		"invalid-unknown-key.yml":         "field clientid not found",
		"invalid-shared-group.yml":        `subscribe.shared_group: "Group 1" must match`,
		"invalid-site.yml":                `subscribe.sites: "an lao" is not a valid site ID`,
		"invalid-influx-credentials.yml":  "influxdb.url: no credentials or query in the URL",
		"invalid-duration.yml":            "cannot unmarshal !!str `soon` into time.Duration",
		"invalid-log-level.yml":           `log.level: "loud" is not debug, info, warn or error`,
		"invalid-secret-both.yml":         "mqtt.password: set one of file, env or credential, not several",
		"invalid-client-id.yml":           "mqtt.client_id: required",
		"invalid-admission-cap.yml":       "admission.inventory.caps.counter: 0 outside 1..10000",
		"invalid-admission-key.yml":       "field counters not found",
		"invalid-admission-inventory.yml": `admission.inventory.sites[1].id: "anlao" listed twice`,
		"invalid-closed-through.yml":      `admission.closed_through: period "2026-06" is not YYYYH1 or YYYYH2`,
		"invalid-reopen-until.yml":        `admission.reopen[0].until: "2026-06-20" is not an RFC 3339 time with its offset`,
		"invalid-reopen-reason.yml":       "admission.reopen[0].reason: required",
	}
	testenv.InvalidConfigs(t, want, func(path string) error {
		_, err := Load(path)
		return err
	})
}

// TestCheckKnowsTheDate: what only the date can refuse is refused by
// Check, which -config.check and the start both run, and not by Load.
func TestCheckKnowsTheDate(t *testing.T) {
	now := time.Date(2026, 6, 5, 0, 0, 0, 0, time.UTC)
	for file, want := range map[string]string{
		"testdata/check-closed-future.yml": "admission.closed_through: 2099H1 runs until 2099-06-01T00:00:00+07:00, after now",
		"testdata/check-reopen-long.yml":   "admission.reopen[0].until: 2099-01-01T00:00:00+07:00 is more than 744h0m0s after now",
	} {
		c, err := Load(file)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if err := c.Check(now); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: Check = %v, want %q", file, err, want)
		}
	}
}

// TestShippedConfigs loads every collector config shipped in configs/.
func TestShippedConfigs(t *testing.T) {
	files, err := filepath.Glob("../../configs/collector*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no shipped collector configs found: %v", err)
	}
	for _, f := range files {
		c, err := Load(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if c.MQTT.ClientID == "" || c.Batch.MaxInflight < 2*c.Batch.BatchSize {
			t.Errorf("%s: implausible values %+v", f, c)
		}
	}
}

// TestMosquittoConfNeverDrops checks that the shipped broker config keeps
// the settings the collector's zero-loss promise depends on.
func TestMosquittoConfNeverDrops(t *testing.T) {
	b, err := os.ReadFile("../../configs/mosquitto/mosquitto.conf")
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && !strings.HasPrefix(f[0], "#") {
			settings[f[0]] = f[1]
		}
	}
	for k, v := range map[string]string{
		"max_queued_messages": "0", "max_queued_bytes": "0", "persistence": "true",
		"allow_anonymous": "false",
	} {
		if settings[k] != v {
			t.Errorf("%s = %q, want %q", k, settings[k], v)
		}
	}
	c := Defaults()
	if settings["max_inflight_messages"] == "" || settings["max_inflight_messages"] == "0" {
		t.Error("max_inflight_messages must be set, and bounded")
	} else if settings["max_inflight_messages"] != "20000" || c.Batch.MaxInflight != 20000 {
		t.Errorf("broker max_inflight_messages %s and collector batch.max_inflight %d must match",
			settings["max_inflight_messages"], c.Batch.MaxInflight)
	}
}

// TestValidateChangesNothing: Validate only checks, so -config.check and the
// start judge the same configuration.
func TestValidateChangesNothing(t *testing.T) {
	for _, f := range []string{"../../configs/collector.example.yml", "testdata/minimal.yml"} {
		testenv.ValidateKeeps(t, f, Load)
	}
}
