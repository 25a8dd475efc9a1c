package testenv

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mosquittoInstall is what a developer runs when the broker is missing.
const mosquittoInstall = "sudo apt-get install -y mosquitto mosquitto-clients"

// mosquittoFallback is where Debian installs the broker; /usr/sbin is often
// not in a non-root user's PATH.
const mosquittoFallback = "/usr/sbin/mosquitto"

const (
	mosquittoReadyTimeout = 10 * time.Second
	mosquittoReadyTick    = 10 * time.Millisecond
	defaultMaxInflight    = 10000
)

// Mosquitto is a real Mosquitto broker run for one test.
type Mosquitto struct {
	srv  server
	bin  string
	conf string // path of the generated mosquitto.conf
	port int
	cfg  mosquittoConfig
}

// MosquittoOption changes the broker's configuration.
type MosquittoOption func(*mosquittoConfig)

type mosquittoConfig struct {
	maxInflight int
	settings    map[string]string // WithSetting's, by key
	added       []string          // keys of settings the defaults lack, in order
	extra       string
	security    *MosquittoSecurity
	tlsPort     int
}

// MosquittoSecurity makes a broker like production's: no anonymous clients,
// users from a password file (see MosquittoPasswd), an ACL file, and a TLS
// listener beside the plain one. Both listeners need a user and obey the ACL.
type MosquittoSecurity struct {
	PasswordFile string
	ACLFile      string
	// CertFile and KeyFile are the broker's certificate, CAFile the CA that
	// client certificates must chain to (scripts/certs.sh makes all three).
	CertFile, KeyFile, CAFile string
	// RequireCertificate makes the TLS listener refuse clients without a
	// client certificate signed by CAFile.
	RequireCertificate bool
}

// WithSecurity turns on users, the ACL and the TLS listener (TLSURL).
func WithSecurity(s MosquittoSecurity) MosquittoOption {
	return func(c *mosquittoConfig) { c.security = &s }
}

// WithMaxInflight sets max_inflight_messages. The default is 10000, not
// Mosquitto's 20, because the collector acknowledges a message only after
// its batch is written to InfluxDB: with 20 in flight its batches could
// never grow past 20 points.
func WithMaxInflight(n int) MosquittoOption {
	return func(c *mosquittoConfig) { c.maxInflight = n }
}

// WithSetting sets one broker-wide setting (persistence, autosave_interval,
// autosave_on_changes, max_queued_messages ...) in place of the value the
// harness writes by default, or adds it. It is how a test runs a broker
// configured like a shipped config (configs/mosquitto/center.conf) or
// without persistence; listeners, paths and users stay the harness's.
func WithSetting(key, value string) MosquittoOption {
	return func(c *mosquittoConfig) {
		if c.settings == nil {
			c.settings = map[string]string{}
		}
		if _, ok := c.settings[key]; !ok && !isDefaultSetting(key) {
			c.added = append(c.added, key)
		}
		c.settings[key] = value
	}
}

// WithSettingsOf runs the broker with the broker-wide settings of a
// shipped Mosquitto config (persistence, autosave, queue and in-flight
// limits, session expiry), so a test's broker behaves as the one in
// production while its listeners, paths and users stay the test's. A
// WithSetting after it overrides one of them. A file that cannot be read
// fails the test.
func WithSettingsOf(t testing.TB, path string) MosquittoOption {
	t.Helper()
	// What decides sessions, queues and persistence; listeners, paths,
	// users and logging are not taken.
	brokerWide := []string{
		"persistence", "autosave_interval", "autosave_on_changes", "persistent_client_expiration",
		"max_queued_messages", "max_queued_bytes", "queue_qos0_messages", "max_inflight_messages",
		"max_inflight_bytes", "max_packet_size", "memory_limit", "set_tcp_nodelay",
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	var opts []MosquittoOption
	for _, line := range strings.Split(string(b), "\n") {
		key, value, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok || strings.HasPrefix(key, "#") || !slices.Contains(brokerWide, key) {
			continue
		}
		opts = append(opts, WithSetting(key, strings.TrimSpace(value)))
	}
	if len(opts) == 0 {
		t.Fatalf("testenv: %s sets none of %v", path, brokerWide)
	}
	return func(c *mosquittoConfig) {
		for _, o := range opts {
			o(c)
		}
	}
}

// WithMosquittoConf appends extra lines to the generated mosquitto.conf, for
// tests of listeners, TLS or ACLs the default config does not have.
func WithMosquittoConf(extra string) MosquittoOption {
	return func(c *mosquittoConfig) { c.extra += extra + "\n" }
}

// StartMosquitto starts a broker on a free loopback port with persistence in
// a temporary directory, waits until it answers an MQTT CONNECT, and stops
// it when the test ends.
//
// The config mirrors production on the points that matter for loss:
// persistence on and saved every second, unlimited per-client queues (so a
// stopped consumer with a persistent session loses nothing) and a large
// in-flight window (see WithMaxInflight); WithSetting changes any of them.
func StartMosquitto(t testing.TB, opts ...MosquittoOption) *Mosquitto {
	t.Helper()
	m := newMosquitto(t, opts)
	for attempt := 0; ; attempt++ {
		if err := m.listenOn(FreePort(t)); err != nil {
			t.Fatalf("testenv: %v", err)
		}
		err := m.start(t)
		if err == nil {
			return m
		}
		if attempt > 0 || !errors.Is(err, errAddrInUse) {
			t.Fatalf("testenv: %v", err)
		}
	}
}

// newMosquitto prepares a broker's directory and cleanup without starting it.
func newMosquitto(t testing.TB, opts []MosquittoOption) *Mosquitto {
	t.Helper()
	bin, err := findMosquitto(exec.LookPath, mosquittoFallback)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	cfg := mosquittoConfig{maxInflight: defaultMaxInflight}
	for _, o := range opts {
		o(&cfg)
	}
	dir := t.TempDir()
	m := &Mosquitto{
		srv:  server{name: "mosquitto", dir: dir, logPath: filepath.Join(dir, "mosquitto.log")},
		bin:  bin,
		conf: filepath.Join(dir, "mosquitto.conf"),
		cfg:  cfg,
	}
	if err := os.Mkdir(m.dataDir(), 0o755); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() { m.srv.cleanup(t) })
	return m
}

func (m *Mosquitto) dataDir() string { return filepath.Join(m.srv.dir, "data") }

// listenOn writes the config for port; Start reuses it.
func (m *Mosquitto) listenOn(port int) error {
	m.port = port
	if m.cfg.security != nil && m.cfg.tlsPort == 0 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("free port for the TLS listener: %w", err)
		}
		m.cfg.tlsPort = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	if err := os.WriteFile(m.conf, []byte(mosquittoConf(port, m.dataDir(), m.cfg)), 0o644); err != nil {
		return fmt.Errorf("write mosquitto config: %w", err)
	}
	return nil
}

// listenerScoped are the settings written per listener.
var listenerScoped = []string{"use_username_as_clientid"}

// mosquittoConf renders the broker config.
func mosquittoConf(port int, dataDir string, cfg mosquittoConfig) string {
	var b bytes.Buffer
	// A listener's settings go after each listener line: Mosquitto 2.0
	// ignores them anywhere else, even with per_listener_settings false.
	perListener := ""
	for _, k := range listenerScoped {
		if v, ok := cfg.settings[k]; ok {
			perListener += k + " " + v + "\n"
		}
	}
	fmt.Fprintf(&b, "# Generated by internal/testenv for one test.\n")
	fmt.Fprintf(&b, "listener %d 127.0.0.1\n%s", port, perListener)
	if sec := cfg.security; sec != nil {
		fmt.Fprintf(&b, "per_listener_settings false\n")
		fmt.Fprintf(&b, "allow_anonymous false\n")
		fmt.Fprintf(&b, "password_file %s\n", sec.PasswordFile)
		fmt.Fprintf(&b, "acl_file %s\n", sec.ACLFile)
		fmt.Fprintf(&b, "listener %d 127.0.0.1\n%s", cfg.tlsPort, perListener)
		fmt.Fprintf(&b, "certfile %s\nkeyfile %s\ncafile %s\n", sec.CertFile, sec.KeyFile, sec.CAFile)
		fmt.Fprintf(&b, "require_certificate %t\n", sec.RequireCertificate)
		fmt.Fprintf(&b, "tls_version tlsv1.2\n")
	} else {
		fmt.Fprintf(&b, "allow_anonymous true\n")
	}
	fmt.Fprintf(&b, "persistence_location %s\n", dataDir)
	for _, kv := range defaultSettings(cfg.maxInflight) {
		if v, ok := cfg.settings[kv[0]]; ok {
			kv[1] = v
		}
		fmt.Fprintf(&b, "%s %s\n", kv[0], kv[1])
	}
	for _, k := range cfg.added {
		if !slices.Contains(listenerScoped, k) {
			fmt.Fprintf(&b, "%s %s\n", k, cfg.settings[k])
		}
	}
	// stderr goes to the log file in the temp dir; one file then holds the
	// broker's own lines and anything it prints before its logging starts.
	fmt.Fprintf(&b, "log_dest stderr\n")
	fmt.Fprintf(&b, "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n")
	fmt.Fprintf(&b, "log_timestamp_format %%Y-%%m-%%dT%%H:%%M:%%S\n")
	if os.Geteuid() == 0 {
		// Run as root, mosquitto switches to the "mosquitto" user, which
		// cannot write the persistence file in a root-owned temp dir.
		fmt.Fprintf(&b, "user root\n")
	}
	b.WriteString(cfg.extra)
	return b.String()
}

// defaultSettings are the broker-wide settings every generated config has,
// in order: persistence saved every second, unlimited per-client queues,
// maxInflight messages in flight per client.
func defaultSettings(maxInflight int) [][2]string {
	return [][2]string{
		{"persistence", "true"},
		{"autosave_interval", "1"},
		{"max_queued_messages", "0"},
		{"max_queued_bytes", "0"},
		{"max_inflight_messages", strconv.Itoa(maxInflight)},
		{"max_packet_size", "65536"},
		{"set_tcp_nodelay", "true"},
	}
}

func isDefaultSetting(key string) bool {
	for _, kv := range defaultSettings(0) {
		if kv[0] == key {
			return true
		}
	}
	return false
}

// MosquittoBinary is the path of the mosquitto binary the harness runs,
// for tests that start it with a config of their own (a shipped config
// checked by the broker itself); a missing broker fails the test with the
// command that installs it.
func MosquittoBinary(t testing.TB) string {
	t.Helper()
	bin, err := findMosquitto(exec.LookPath, mosquittoFallback)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return bin
}

// findMosquitto looks the broker up in PATH, then at fallback, and says how
// to install it when it is in neither.
func findMosquitto(lookPath func(string) (string, error), fallback string) (string, error) {
	if p, err := lookPath("mosquitto"); err == nil {
		return p, nil
	}
	if err := isExecutable(fallback); err == nil {
		return fallback, nil
	}
	return "", fmt.Errorf("mosquitto not found in PATH or at %s: install it with `%s` (or run `make deps`)",
		fallback, mosquittoInstall)
}

// start runs the broker and logs how long it took to be ready, so a slow
// machine shows up in the test output rather than as a mysterious timeout.
func (m *Mosquitto) start(t testing.TB) error {
	t.Helper()
	argv := []string{m.bin, "-c", m.conf}
	began := time.Now()
	err := m.srv.start(argv, os.Environ(), mosquittoReadyTimeout, mosquittoReadyTick, func(ctx context.Context) error {
		return mqttPing(ctx, m.Addr(), m.cfg.security != nil)
	})
	if err == nil {
		t.Logf("testenv: mosquitto ready at %s in %v", m.Addr(), time.Since(began).Round(time.Millisecond))
	}
	return err
}

// URL is the broker address in the form paho and the pscm configs use.
func (m *Mosquitto) URL() string { return "tcp://" + m.Addr() }

// TLSURL is the TLS listener's address (WithSecurity only).
func (m *Mosquitto) TLSURL() string {
	return "ssl://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(m.cfg.tlsPort))
}

// Addr is the broker's host:port.
func (m *Mosquitto) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(m.port)) }

// LogPath is the broker's log file, kept across restarts.
func (m *Mosquitto) LogPath() string { return m.srv.logPath }

// Stop stops the broker with SIGTERM and waits for it to exit; on a clean
// exit Mosquitto writes its persistence file, so sessions and queued
// messages survive a later Start. Stopping a stopped broker does nothing.
func (m *Mosquitto) Stop(t testing.TB) {
	t.Helper()
	if err := m.srv.stop(syscall.SIGTERM); err != nil {
		t.Fatalf("testenv: %v", err)
	}
}

// Kill kills the broker with SIGKILL: a crash, losing whatever was not yet
// autosaved (by default every second; see WithSetting).
func (m *Mosquitto) Kill(t testing.TB) {
	t.Helper()
	if err := m.srv.stop(syscall.SIGKILL); err != nil {
		t.Fatalf("testenv: %v", err)
	}
}

// Start starts a stopped broker again on the same port and data directory
// and waits until it answers an MQTT CONNECT.
func (m *Mosquitto) Start(t testing.TB) {
	t.Helper()
	if err := m.start(t); err != nil {
		t.Fatalf("testenv: %v", err)
	}
}

// mqttPing proves the broker serves MQTT, not merely that its port is open:
// it sends an MQTT 3.1.1 CONNECT with a clean session, expects a CONNACK
// that accepts it, and disconnects.
// ctx bounds the whole exchange.
func mqttPing(ctx context.Context, addr string, secured bool) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	// Unblock reads and writes as soon as ctx ends.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	clientID := "testenv-probe-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if _, err := conn.Write(mqttConnect(clientID, true)); err != nil {
		return fmt.Errorf("send CONNECT: %w", err)
	}
	var ack [4]byte
	if _, err := io.ReadFull(conn, ack[:]); err != nil {
		return fmt.Errorf("read CONNACK: %w", err)
	}
	if ack[0] != 0x20 || ack[1] != 0x02 {
		return fmt.Errorf("expected CONNACK, got % x", ack)
	}
	// A secured broker answers the anonymous probe with 5 (not authorised):
	// that too proves it serves MQTT.
	if ack[3] != 0 && !(secured && ack[3] == 5) {
		return fmt.Errorf("CONNACK refused the connection: return code %d", ack[3])
	}
	// DISCONNECT, so the broker logs a clean disconnect rather than an error.
	if _, err := conn.Write([]byte{0xe0, 0x00}); err != nil {
		return fmt.Errorf("send DISCONNECT: %w", err)
	}
	return nil
}

// mqttConnect encodes an MQTT 3.1.1 CONNECT packet with a 10 s keep-alive
// and no will, user name or password.
func mqttConnect(clientID string, cleanSession bool) []byte {
	var body []byte
	body = append(body, 0x00, 0x04, 'M', 'Q', 'T', 'T') // protocol name
	body = append(body, 0x04)                           // protocol level 3.1.1
	var flags byte
	if cleanSession {
		flags = 0x02
	}
	body = append(body, flags)
	body = binary.BigEndian.AppendUint16(body, 10) // keep-alive seconds
	body = binary.BigEndian.AppendUint16(body, uint16(len(clientID)))
	body = append(body, clientID...)

	pkt := []byte{0x10} // CONNECT
	// Remaining length: 7 bits per byte, high bit set on all but the last.
	for n := len(body); ; {
		b := byte(n % 128)
		n /= 128
		if n > 0 {
			b |= 0x80
		}
		pkt = append(pkt, b)
		if n == 0 {
			break
		}
	}
	return append(pkt, body...)
}

// PID is the broker's process ID while it runs (0 when stopped), for
// benchmarks that read its CPU time from /proc.
func (m *Mosquitto) PID() int { return m.srv.pid() }

// MosquittoPasswd writes a Mosquitto password file for users (name to
// password) with mosquitto_passwd, which hashes them as the broker expects.
func MosquittoPasswd(t testing.TB, path string, users map[string]string) {
	t.Helper()
	bin, err := exec.LookPath("mosquitto_passwd")
	if err != nil {
		t.Fatalf("testenv: mosquitto_passwd not found in PATH: install it with `%s` (or run `make deps`)", mosquittoInstall)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	for name, pass := range users {
		if out, err := exec.Command(bin, "-b", path, name, pass).CombinedOutput(); err != nil {
			t.Fatalf("testenv: mosquitto_passwd %s: %v: %s", name, err, out)
		}
	}
}
