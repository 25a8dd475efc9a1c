package config

import (
	"reflect"
	"strings"
	"testing"

	"github.com/pscm/pscm/internal/testenv"
)

func TestInvalidFiles(t *testing.T) {
	want := map[string]string{
		"invalid-site.yml":           `site: "An Lao" must match`,
		"invalid-kiosk-no-token.yml": "kiosks[0].token: required",
		"invalid-kiosk-twice.yml":    `kiosks[1].id: "k01" listed twice`,
		"invalid-kiosk-counter.yml":  `kiosks[0].counter: "c 01" must match`,
		"invalid-two-buttons.yml":    "kiosk.buttons",
		"invalid-min-interval.yml":   "anti_abuse.min_interval",
		"invalid-spool.yml":          "spool.",
		"invalid-uplink-window.yml":  "uplink_window: 0 outside 1..20000",
		"invalid-unknown-key.yml":    "field status_intervall not found",
	}
	testenv.InvalidConfigs(t, want, func(path string) error {
		_, err := Load(path)
		return err
	})
}

func TestShippedConfig(t *testing.T) {
	c, err := Load("../../configs/agent.example.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Kiosks) == 0 || !c.Local.Enabled || c.Uplink.ClientID == "" {
		t.Fatalf("implausible example: %+v", c)
	}
}

// TestValidateChangesNothing: Validate only checks. The client IDs a file
// leaves out are derived by Load before it, so -config.check and the start
// judge the same configuration.
func TestValidateChangesNothing(t *testing.T) {
	for _, f := range []string{"../../configs/agent.example.yml", "testdata/minimal.yml"} {
		testenv.ValidateKeeps(t, f, Load)
	}
	c, err := Load("testdata/minimal.yml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Uplink.ClientID != "pscm-agent-anlao-edge-1" || c.Local.MQTT.ClientID != "pscm-agent-anlao-edge-1-local" {
		t.Errorf("derived client IDs %q, %q", c.Uplink.ClientID, c.Local.MQTT.ClientID)
	}
	// Not yet normalised: Validate says so and leaves it as it was.
	raw, want := Defaults(), Defaults()
	raw.Site, raw.Agent = "anlao", "anlao-edge-1"
	want.Site, want.Agent = raw.Site, raw.Agent
	if err := raw.Validate(); err == nil || !strings.Contains(err.Error(), "uplink.client_id: required") {
		t.Errorf("Validate without client IDs: %v", err)
	}
	if !reflect.DeepEqual(raw, want) {
		t.Errorf("Validate changed the configuration: %+v", raw.Uplink)
	}
}
