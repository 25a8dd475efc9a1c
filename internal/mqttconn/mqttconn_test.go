package mqttconn

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pscm/pscm/internal/config"
)

func TestValidate(t *testing.T) {
	ok := Defaults()
	ok.ClientID = "pscm-collector-1"
	tests := []struct {
		name    string
		mut     func(*Config)
		wantErr string
	}{
		{"defaults with id", func(*Config) {}, ""},
		{"tls url", func(c *Config) { c.Broker = "ssl://broker:8883"; c.TLS.CAFile = "/ca.pem" }, ""},
		{"bad scheme", func(c *Config) { c.Broker = "http://x:1" }, "scheme \"http\" not supported"},
		{"no port", func(c *Config) { c.Broker = "tcp://x" }, "needs host:port"},
		{"user in url", func(c *Config) { c.Broker = "tcp://u:p@x:1883" }, "credentials in the URL"},
		{"no client id", func(c *Config) { c.ClientID = "" }, "client_id: required"},
		{"password without user", func(c *Config) { c.Password = config.Secret{Env: "X"} }, "without username"},
		{"cert without key", func(c *Config) { c.Broker = "ssl://x:8883"; c.TLS.CertFile = "/c" }, "go together"},
		{"tls on tcp", func(c *Config) { c.TLS.CAFile = "/ca" }, "not a TLS URL"},
		{"keepalive", func(c *Config) { c.KeepAlive = 0 }, "keepalive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.mut(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// TestCheck: the password and TLS files are read and judged as Options
// reads them, with the same words, and no client is made.
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good, weak, empty := file("good", "broker-pass-8d1f0c\n"), file("weak", "Administrator\n"), file("empty", "")
	junk := file("junk.pem", "not a certificate")
	ok := Defaults()
	ok.ClientID, ok.Username = "pscm-collector-1", "collector"
	for _, tt := range []struct {
		name    string
		mut     func(*Config)
		wantErr string
	}{
		{"no password", func(c *Config) {}, ""},
		{"good password", func(c *Config) { c.Password = config.Secret{File: good} }, ""},
		{"missing file", func(c *Config) { c.Password = config.Secret{File: filepath.Join(dir, "nope")} }, "mqtt password: read secret file"},
		{"empty file", func(c *Config) { c.Password = config.Secret{File: empty} }, "mqtt password: secret file " + empty + " is empty"},
		{"weak", func(c *Config) { c.Password = config.Secret{File: weak} }, "mqtt password: a well-known default"},
		{"ca not PEM", func(c *Config) { c.Broker = "ssl://x:8883"; c.TLS.CAFile = junk }, "no PEM certificate found"},
		{"client cert not a pair", func(c *Config) {
			c.Broker = "ssl://x:8883"
			c.TLS.CertFile, c.TLS.KeyFile = junk, junk
		}, "tls client certificate"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.mut(&c)
			err := c.Check()
			_, oerr := c.Options(false)
			if fmt.Sprint(err) != fmt.Sprint(oerr) {
				t.Errorf("Check %v, Options %v: they must agree", err, oerr)
			}
			if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
