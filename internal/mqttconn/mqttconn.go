// Package mqttconn builds paho MQTT client options from pscm's configuration:
// broker URL, per-device credentials, TLS, persistent sessions, and a
// buffered connection that keeps system calls per message low.
package mqttconn

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/pscm/pscm/internal/config"
)

// Config is the MQTT part of every pscm program's configuration.
type Config struct {
	// Broker is tcp://host:port or mqtt://, or ssl://, tls://, mqtts:// for TLS.
	Broker   string        `yaml:"broker"`
	ClientID string        `yaml:"client_id"`
	Username string        `yaml:"username"`
	Password config.Secret `yaml:"password"`
	TLS      TLSConfig     `yaml:"tls"`
	// KeepAlive is the MQTT keep-alive; a dead link is noticed after about 1.5 times it.
	KeepAlive            time.Duration `yaml:"keepalive"`
	ConnectTimeout       time.Duration `yaml:"connect_timeout"`
	MaxReconnectInterval time.Duration `yaml:"max_reconnect_interval"`
}

// TLSConfig holds file paths, never inline keys.
type TLSConfig struct {
	CAFile     string `yaml:"ca_file"`
	CertFile   string `yaml:"cert_file"`
	KeyFile    string `yaml:"key_file"`
	ServerName string `yaml:"server_name"`
}

// Defaults returns the configuration used where a file says nothing.
func Defaults() Config {
	return Config{
		Broker:               "tcp://127.0.0.1:1883",
		KeepAlive:            30 * time.Second,
		ConnectTimeout:       10 * time.Second,
		MaxReconnectInterval: 30 * time.Second,
	}
}

// Validate checks the fields against each other.
func (c Config) Validate() error {
	u, err := url.Parse(c.Broker)
	if err != nil {
		return fmt.Errorf("broker: %w", err)
	}
	switch u.Scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts":
	default:
		return fmt.Errorf("broker: scheme %q not supported (use tcp://, mqtt://, ssl://, tls:// or mqtts://)", u.Scheme)
	}
	if u.Host == "" || u.Port() == "" {
		return fmt.Errorf("broker: %q needs host:port", c.Broker)
	}
	if u.User != nil {
		return errors.New("broker: credentials in the URL would end up in logs; use username and password")
	}
	if c.ClientID == "" {
		return errors.New("client_id: required (a stable id is what makes the session persistent)")
	}
	if len(c.ClientID) > 128 {
		return errors.New("client_id: longer than 128 bytes")
	}
	if err := c.Password.Validate(); err != nil {
		return fmt.Errorf("password: %w", err)
	}
	if c.Password.IsSet() && c.Username == "" {
		return errors.New("password: set without username")
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		return errors.New("tls: cert_file and key_file go together")
	}
	if c.TLS != (TLSConfig{}) && !c.usesTLS() {
		return fmt.Errorf("tls: set but broker %q is not a TLS URL (ssl://, tls://, mqtts://)", c.Broker)
	}
	if c.KeepAlive < time.Second || c.KeepAlive > 10*time.Minute {
		return fmt.Errorf("keepalive: %v outside 1s..10m", c.KeepAlive)
	}
	if c.ConnectTimeout <= 0 {
		return errors.New("connect_timeout: must be positive")
	}
	if c.MaxReconnectInterval < time.Second {
		return errors.New("max_reconnect_interval: at least 1s")
	}
	return nil
}

func (c Config) usesTLS() bool {
	u, err := url.Parse(c.Broker)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "ssl", "tls", "mqtts":
		return true
	}
	return false
}

// Check reads the password and loads the TLS files as Options does, without
// building a client or touching the network: -config.check and the start
// refuse a missing, empty or weak password, or a certificate that does not
// load, with the same words.
func (c Config) Check() error {
	_, _, err := c.credentials()
	return err
}

// credentials reads the password, refused if weak, and the TLS
// configuration for a TLS broker.
func (c Config) credentials() (pass string, tlsCfg *tls.Config, err error) {
	pass, err = c.Password.Value()
	if err != nil {
		return "", nil, fmt.Errorf("mqtt password: %w", err)
	}
	if pass != "" {
		// A broker user's password is what stands between the internet
		// and the center's events: no default or short one.
		if err := config.WeakSecret(pass, config.MinPasswordLen); err != nil {
			return "", nil, fmt.Errorf("mqtt password: %w", err)
		}
	}
	if c.usesTLS() {
		if tlsCfg, err = c.TLS.load(); err != nil {
			return "", nil, err
		}
	}
	return pass, tlsCfg, nil
}

// Options returns paho client options for c: persistent session unless
// cleanSession, automatic reconnect, QoS 1 friendly. The caller adds its
// handlers (OnConnect must subscribe, so a reconnect resubscribes).
func (c Config) Options(cleanSession bool) (*mqtt.ClientOptions, error) {
	pass, tlsCfg, err := c.credentials()
	if err != nil {
		return nil, err
	}
	o := mqtt.NewClientOptions()
	o.AddBroker(c.Broker)
	o.SetClientID(c.ClientID)
	o.SetUsername(c.Username)
	o.SetPassword(pass)
	o.SetCleanSession(cleanSession)
	o.SetProtocolVersion(4) // MQTT 3.1.1; never fall back to 3.1 silently
	o.SetKeepAlive(c.KeepAlive)
	o.SetPingTimeout(c.KeepAlive / 2)
	o.SetConnectTimeout(c.ConnectTimeout)
	o.SetAutoReconnect(true)
	o.SetConnectRetry(true)
	o.SetConnectRetryInterval(time.Second)
	o.SetMaxReconnectInterval(c.MaxReconnectInterval)
	o.SetWriteTimeout(c.ConnectTimeout)
	timeout := c.ConnectTimeout
	o.SetCustomOpenConnectionFn(func(u *url.URL, _ mqtt.ClientOptions) (net.Conn, error) {
		return dial(u, tlsCfg, timeout)
	})
	return o, nil
}

func dial(u *url.URL, tlsCfg *tls.Config, timeout time.Duration) (net.Conn, error) {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	var conn net.Conn
	var err error
	switch u.Scheme {
	case "tcp", "mqtt":
		conn, err = d.Dial("tcp", u.Host)
	case "ssl", "tls", "mqtts":
		conn, err = tls.DialWithDialer(d, "tcp", u.Host, tlsCfg)
	default:
		err = fmt.Errorf("unsupported scheme %q", u.Scheme)
	}
	if err != nil {
		return nil, err
	}
	return newBufferedConn(conn, timeout), nil
}

func (t TLSConfig) load() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls ca_file %s: no PEM certificate found", t.CAFile)
		}
		cfg.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
