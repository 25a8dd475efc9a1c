package mqttconn

import (
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
