package config

import (
	"os"
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

// TestListeners: the kiosks' port is HTTPS unless it is loopback or the
// file opts out for a closed LAN; metrics and calibration are on an admin
// listener of their own, loopback unless it has a token and TLS. Before
// issue 13 items 6 and 7, the first case passed (plain HTTP on 0.0.0.0) and
// there was no admin listener.
func TestListeners(t *testing.T) {
	tlsFiles := "{cert_file: a.pem, key_file: a.key}"
	for _, c := range []struct{ name, yaml, want string }{
		{"default plain on the LAN", "", "http.tls: required on 0.0.0.0:8480 (not loopback)"},
		{"tls", "http: {tls: " + tlsFiles + "}", ""},
		{"plain opt-out", "http: {plain_http: true}", ""},
		{"loopback plain", "http: {listen: 127.0.0.1:8480}", ""},
		{"ipv6 loopback plain", "http: {listen: '[::1]:8480'}", ""},
		{"every address v6 plain", "http: {listen: '[::]:8480'}", "http.tls: required"},
		{"tls and plain", "http: {plain_http: true, tls: " + tlsFiles + "}", "contradict"},
		{"admin on the LAN", "http: {plain_http: true}\nadmin: {listen: 0.0.0.0:8481}", "admin.listen: 0.0.0.0:8481 is not loopback: set token and tls"},
		{"admin on the LAN, token only", "http: {plain_http: true}\nadmin: {listen: 0.0.0.0:8481, token: {env: T}}", "set token and tls"},
		{"admin on the LAN, token and tls", "http: {plain_http: true}\nadmin: {listen: 0.0.0.0:8481, token: {env: T}, tls: " + tlsFiles + "}", ""},
		{"admin on the kiosks' port", "http: {listen: 127.0.0.1:8480}\nadmin: {listen: 127.0.0.1:8480}", "admin.listen: must differ"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := t.TempDir() + "/agent.yml"
			body := "site: anlao\nagent: anlao-edge-1\n" + c.yaml + "\n"
			if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("got %v, want an error with %q", err, c.want)
			}
		})
	}
}
