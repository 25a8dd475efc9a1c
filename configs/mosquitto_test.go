//go:build linux

package configs

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/pscm/pscm/internal/testenv"
)

// mosquittoSettings reads a Mosquitto config's settings, each key with its
// values in order (listener comes more than once).
func mosquittoSettings(t *testing.T, path string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := map[string][]string{}
	for _, line := range strings.Split(string(b), "\n") {
		key, value, ok := strings.Cut(strings.TrimSpace(line), " ")
		if ok && !strings.HasPrefix(key, "#") {
			s[key] = append(s[key], strings.TrimSpace(value))
		}
	}
	return s
}

// TestCenterBrokerConfSettings: the center broker's config keeps the
// settings a press's survival rests on (issue 12): persistence saved on
// every change (the setting BENCHMARKS.md's "Center broker autosave"
// chose), per-client queues bounded but holding a busy center's day, no
// anonymous clients, the ACL the security tests use, and the central
// broker's packet bound.
func TestCenterBrokerConfSettings(t *testing.T) {
	c := mosquittoSettings(t, "mosquitto/center.conf")
	central := mosquittoSettings(t, "mosquitto/mosquitto.conf")
	one := func(key string) string {
		t.Helper()
		if len(c[key]) != 1 {
			t.Errorf("%s set %d times, want once", key, len(c[key]))
			return ""
		}
		return c[key][0]
	}
	for key, want := range map[string]string{
		"persistence": "true", "autosave_on_changes": "true", "autosave_interval": "1",
		"allow_anonymous": "false", "queue_qos0_messages": "false", "per_listener_settings": "false",
		"max_packet_size": strings.Join(central["max_packet_size"], " "),
		"acl_file":        "/etc/mosquitto/pscm-center.acl",
	} {
		if got := one(key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	// A busy center's day is ~11,000 messages (center.conf says why); 0
	// would be unbounded, which the center's small box should not be.
	if n, err := strconv.Atoi(one("max_queued_messages")); err != nil || n < 11000 {
		t.Errorf("max_queued_messages %q: want a bound of at least a busy center's day (11000)", one("max_queued_messages"))
	}
	if n, err := strconv.Atoi(one("max_queued_bytes")); err != nil || n < 11000*1024 {
		t.Errorf("max_queued_bytes %q: want room for 11000 queue steps of up to 1 KiB", one("max_queued_bytes"))
	}
	// Issue 13: no client may take another's ID, on either broker: once
	// per listener (TestUseUsernameAsClientID).
	for name, conf := range map[string]map[string][]string{"center.conf": c, "mosquitto.conf": central} {
		for _, v := range conf["use_username_as_clientid"] {
			if v != "true" {
				t.Errorf("%s: use_username_as_clientid %q, want true", name, v)
			}
		}
	}
	if one("persistent_client_expiration") == "" || one("password_file") == "" || one("persistence_location") == "" {
		t.Error("persistent_client_expiration, password_file and persistence_location must be set")
	}
}

// TestCenterBrokerConf runs Mosquitto on the shipped center.conf, only its
// paths and ports rewritten (to the test's folder, with the shipped ACL
// example and certificates from scripts/certs.sh), so the broker itself
// judges the file. Then, as shipped: anonymous clients are refused; the
// agent's subscription, saved as soon as it is made, survives a SIGKILL; a
// press a button publishes over TLS before the agent is back is kept for
// it. With persistence off, or saving only every few seconds, the press is
// acknowledged to the button and delivered to nobody.
func TestCenterBrokerConf(t *testing.T) {
	dir := t.TempDir()
	pki := filepath.Join(dir, "pki")
	if out, err := exec.Command("../scripts/certs.sh", pki, "server", "broker", "127.0.0.1").CombinedOutput(); err != nil {
		t.Fatalf("certs.sh: %v\n%s", err, out)
	}
	pass := map[string]string{
		"anlao-edge-1": testenv.Secret(t, "center-agent-pw-6Tg2"),
		"anlao-k01":    testenv.Secret(t, "center-k01-pw-3Wq9"),
	}
	passwd := filepath.Join(dir, "passwd")
	testenv.MosquittoPasswd(t, passwd, pass)
	acl, err := filepath.Abs("mosquitto/acl-center.example")
	if err != nil {
		t.Fatal(err)
	}
	tlsPort, plainPort := testenv.FreePort(t), testenv.FreePort(t)
	data := filepath.Join(dir, "data") + "/"
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := rewriteConf(t, "mosquitto/center.conf", map[string]string{
		"listener 8883":           fmt.Sprintf("listener %d 127.0.0.1", tlsPort),
		"listener 1883 127.0.0.1": fmt.Sprintf("listener %d 127.0.0.1", plainPort),
		"password_file":           "password_file " + passwd,
		"acl_file":                "acl_file " + acl,
		"certfile":                "certfile " + filepath.Join(pki, "broker.pem"),
		"keyfile":                 "keyfile " + filepath.Join(pki, "broker.key"),
		"cafile":                  "cafile " + filepath.Join(pki, "ca.pem"),
		"persistence_location":    "persistence_location " + data,
		"log_dest syslog":         "log_dest stderr",
		"log_type notice":         "log_type notice\nlog_type information", // "Saving in-memory database" lines
	})
	if os.Geteuid() == 0 {
		// As root, Mosquitto switches to the mosquitto user, which cannot
		// write the test's folder.
		conf += "user root\n"
	}
	confPath := filepath.Join(dir, "center.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}

	plain := fmt.Sprintf("tcp://127.0.0.1:%d", plainPort)
	secure := fmt.Sprintf("ssl://127.0.0.1:%d", tlsPort)
	caPEM, err := os.ReadFile(filepath.Join(pki, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	tlsCfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	connect := func(url, id, user string, clean bool, onMessage mqtt.MessageHandler) (mqtt.Client, error) {
		o := mqtt.NewClientOptions().AddBroker(url).SetClientID(id).SetCleanSession(clean).
			SetAutoReconnect(false).SetConnectTimeout(2 * time.Second).SetTLSConfig(tlsCfg)
		if user != "" {
			o.SetUsername(user).SetPassword(pass[user])
		}
		if onMessage != nil {
			o.SetDefaultPublishHandler(onMessage)
		}
		c := mqtt.NewClient(o)
		tok := c.Connect()
		if !tok.WaitTimeout(5 * time.Second) {
			return nil, errors.New("no CONNACK")
		}
		return c, tok.Error()
	}
	// The probe logs in as a button: with client IDs bound to user names, a
	// clean-session probe as the agent's user would be the agent, and would
	// wipe its persistent session.
	ready := func(context.Context) error {
		c, err := connect(plain, "probe", "anlao-k01", true, nil)
		if err == nil {
			c.Disconnect(0)
		}
		return err
	}
	broker := testenv.StartProgram(t, "mosquitto", dir, []string{testenv.MosquittoBinary(t), "-c", confPath}, 10*time.Second, ready)

	if c, err := connect(plain, "anonymous", "", true, nil); err == nil {
		c.Disconnect(0)
		t.Error("an anonymous client was let in")
	}

	// The agent's session: subscribed, then away.
	const agentID = "pscm-agent-anlao-edge-1-local"
	var presses atomic.Int32
	onPress := func(_ mqtt.Client, m mqtt.Message) {
		if m.Topic() == "pscm/v1/anlao/kiosk/k01/press" {
			presses.Add(1)
		}
	}
	agent, err := connect(secure, agentID, "anlao-edge-1", false, onPress)
	if err != nil {
		t.Fatalf("agent: %v", err)
	}
	if tok := agent.Subscribe("pscm/v1/anlao/kiosk/+/press", 1, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("agent subscribe: %v", tok.Error())
	}
	agent.Disconnect(100)
	// Saved on the change, not seconds later: the subscription is in the
	// database file right after the SUBACK (Mosquitto answers first and
	// saves after, so the test waits for the file). Only then the crash.
	db := filepath.Join(data, "mosquitto.db")
	testenv.Eventually(t, 3*time.Second, 10*time.Millisecond, func() bool {
		b, err := os.ReadFile(db)
		return err == nil && bytes.Contains(b, []byte("pscm/v1/anlao/kiosk/+/press"))
	}, "the broker did not save the agent's new subscription within 3 s (autosave_on_changes?)")
	broker.Kill(t)
	broker.Start(t)

	button, err := connect(secure, "anlao-k01", "anlao-k01", true, nil)
	if err != nil {
		t.Fatalf("button: %v", err)
	}
	if tok := button.Publish("pscm/v1/anlao/kiosk/k01/press", 1, false, `{"button":2,"seq":1}`); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("press: no PUBACK: %v", tok.Error())
	}
	button.Disconnect(100)
	agent, err = connect(secure, agentID, "anlao-edge-1", false, onPress)
	if err != nil {
		t.Fatalf("agent back: %v", err)
	}
	defer agent.Disconnect(100)
	testenv.Eventually(t, 5*time.Second, 10*time.Millisecond, func() bool { return presses.Load() == 1 },
		"the press acknowledged while the agent was away never reached it after the restart")

	// A kiosk's login asking for the agent's client ID, on either listener,
	// gets its own user name as ID and leaves the agent connected (the
	// shipped file once set use_username_as_clientid above its listeners,
	// where Mosquitto 2.0 ignores it: this took the agent's session).
	for _, url := range []string{plain, secure} {
		c, err := connect(url, agentID, "anlao-k01", false, nil)
		if err != nil {
			t.Fatalf("impostor on %s: %v", url, err)
		}
		time.Sleep(300 * time.Millisecond)
		c.Disconnect(0)
		if !agent.IsConnectionOpen() {
			t.Fatalf("a kiosk's login with the agent's client ID on %s disconnected the agent", url)
		}
	}

	log, err := os.ReadFile(broker.LogPath())
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(log), "\n") {
		if strings.Contains(line, "Error") || (strings.Contains(line, "Warning") && !strings.Contains(line, "should not be run as root")) {
			t.Errorf("broker log: %s", line)
		}
	}
}

// rewriteConf returns a shipped Mosquitto config with lines rewritten:
// each key of rewrite is the start of a line ("listener 8883", "acl_file")
// and its value the line to write instead ("" keeps the line as shipped).
// A line that names an absolute path and is not rewritten fails the test,
// so a path added to the shipped file cannot point the test at /etc.
func rewriteConf(t *testing.T, path string, rewrite map[string]string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	var out strings.Builder
	for _, line := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			out.WriteString(line + "\n")
			continue
		}
		matched := ""
		for k := range rewrite {
			if (trimmed == k || strings.HasPrefix(trimmed, k+" ")) && len(k) > len(matched) {
				matched = k
			}
		}
		switch {
		case matched != "" && rewrite[matched] != "":
			out.WriteString(rewrite[matched] + "\n")
		case matched != "":
			out.WriteString(line + "\n")
		case strings.Contains(trimmed, " /"):
			t.Fatalf("%s: %q names a path the test does not rewrite", path, trimmed)
		case strings.HasPrefix(trimmed, "listener"):
			t.Fatalf("%s: %q is a listener the test does not rewrite", path, trimmed)
		default:
			out.WriteString(line + "\n")
		}
		if matched != "" {
			used[matched] = true
		}
	}
	for k := range rewrite {
		if !used[k] {
			t.Fatalf("%s has no line %q to rewrite", path, k)
		}
	}
	return out.String()
}

// TestUseUsernameAsClientID: each shipped broker config binds client IDs to
// user names on every listener. Mosquitto 2.0 reads the setting per
// listener and ignores it above the first one, so it must follow each
// listener line (TestCenterBrokerConf proves the effect on a real broker).
func TestUseUsernameAsClientID(t *testing.T) {
	for _, f := range []string{"mosquitto/mosquitto.conf", "mosquitto/center.conf"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		listeners, bound := 0, 0
		inListener := false
		for _, line := range strings.Split(string(b), "\n") {
			line = strings.TrimSpace(line)
			switch {
			case strings.HasPrefix(line, "listener "):
				if inListener {
					t.Errorf("%s: a listener before %q does not bind client IDs to users", f, line)
				}
				listeners++
				inListener = true
			case line == "use_username_as_clientid true":
				if !inListener && listeners == 0 {
					t.Errorf("%s: use_username_as_clientid above the first listener is ignored by Mosquitto 2.0", f)
				}
				if inListener {
					bound++
				}
				inListener = false
			}
		}
		if inListener || listeners == 0 || bound != listeners {
			t.Errorf("%s: %d listeners, %d of them bind client IDs to users", f, listeners, bound)
		}
	}
}
