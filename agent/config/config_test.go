package config

import (
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
