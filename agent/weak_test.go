package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWeakSecretsRefused: a kiosk token, webhook token, calibration or MQTT
// password that is a default, a placeholder or too short stops the agent at
// start with the key at fault, before it serves anything; the secret itself
// is never printed.
func TestWeakSecretsRefused(t *testing.T) {
	good := "strong-kiosk-token-8d1f0c"
	for _, tc := range []struct {
		name, kiosk, webhook, mqtt, want string
	}{
		{"kiosk placeholder", "changeme-changeme-changeme", "", "", "kiosk k01 token: a placeholder"},
		{"kiosk short", "k01-token-9", "", "", "kiosk k01 token: shorter than 16"},
		{"webhook", good, "password123", "", "queue webhook token: shorter than 16"},
		{"mqtt", good, "", "Administrator", "mqtt password: a well-known default"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			secret := func(name, v string) string {
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, []byte(v+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				return p
			}
			cfg := `site: anlao
agent: anlao-edge-1
uplink:
  broker: tcp://127.0.0.1:1
`
			if tc.mqtt != "" {
				cfg += fmt.Sprintf("  username: anlao-edge-1\n  password: {file: %s}\n", secret("mqtt.pass", tc.mqtt))
			}
			cfg += fmt.Sprintf(`http:
  listen: 127.0.0.1:0
spool:
  dir: %s
kiosks:
  - id: k01
    counter: c01
    counter_name_vi: "Quầy 1"
    counter_name_en: "Counter 1"
    token: {file: %s}
`, filepath.Join(dir, "spool"), secret("k01.token", tc.kiosk))
			if tc.webhook != "" {
				cfg += fmt.Sprintf("queue:\n  webhook_token: {file: %s}\n  services: [ho-tich]\n", secret("webhook.token", tc.webhook))
			}
			path := secret("agent.yml", cfg)
			var out bytes.Buffer
			// A start that is wrongly accepted runs until this ends.
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := run(ctx, []string{"-config", path}, &out, &out)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("run: %v, want %q\n%s", err, tc.want, out.String())
			}
			for _, s := range []string{tc.kiosk, tc.webhook, tc.mqtt} {
				if s != "" && s != good && (strings.Contains(err.Error(), s) || strings.Contains(out.String(), s)) {
					t.Fatalf("the secret is in the error or the log: %v", err)
				}
			}
		})
	}
}
