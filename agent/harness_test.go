package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/pscm/pscm/internal/testenv"
)

// world is one test's center: a central broker, the center's broker,
// InfluxDB and a collector process writing into it. The center's broker
// runs with the broker-wide settings of configs/mosquitto/center.conf
// (persistence saved on every change, queue limits), as shipped.
type world struct {
	central, local *testenv.Mosquitto
	db             *testenv.Influx
	collector      *exec.Cmd
	collectorCmd   []string
	dir            string
	// With security (newSecureWorld): the brokers' TLS URLs, and the YAML
	// lines that give the agent's two connections their user and TLS.
	centralURL, localURL  string
	uplinkAuth, localAuth string
	pki                   string
	probeOpts             func(*mqtt.ClientOptions)
}

func newWorld(t testing.TB) *world { return newWorldWith(t, false) }

// newSecureWorld is newWorld with both brokers as in production: users
// from password files, the ACL templates of configs/mosquitto as shipped,
// and every client (collector, agent, probes) on the TLS listener; the
// central broker also requires client certificates.
func newSecureWorld(t testing.TB) *world { return newWorldWith(t, true) }

func newWorldWith(t testing.TB, secure bool) *world {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs Mosquitto and InfluxDB")
	}
	w := &world{dir: t.TempDir()}
	shipped := testenv.WithSettingsOf(t, filepath.Join(testenv.RepoRoot(t), "configs/mosquitto/center.conf"))
	collectorAuth := ""
	w.probeOpts = func(*mqtt.ClientOptions) {}
	if secure {
		w.pki = filepath.Join(w.dir, "pki")
		certs := func(args ...string) {
			if out, err := exec.Command("../scripts/certs.sh", append([]string{w.pki}, args...)...).CombinedOutput(); err != nil {
				t.Fatalf("certs.sh %v: %v\n%s", args, err, out)
			}
		}
		certs("server", "broker", "127.0.0.1")
		certs("client", "anlao-edge-1")
		certs("client", "collector")
		for name, pass := range securePasswords {
			if err := os.WriteFile(filepath.Join(w.dir, name+".pass"), []byte(testenv.Secret(t, pass)+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		central, local := filepath.Join(w.dir, "central.passwd"), filepath.Join(w.dir, "local.passwd")
		testenv.MosquittoPasswd(t, central, map[string]string{"collector": securePasswords["collector"], "anlao-edge-1": securePasswords["anlao-edge-1"],
			"phuoc-thanh-edge-1": securePasswords["phuoc-thanh-edge-1"], "motcua": securePasswords["motcua"]})
		testenv.MosquittoPasswd(t, local, map[string]string{"anlao-edge-1": securePasswords["anlao-edge-1"], "anlao-k01": securePasswords["anlao-k01"],
			"anlao-k02": securePasswords["anlao-k02"], "anlao-queue": securePasswords["anlao-queue"]})
		sec := func(passwd, acl string, requireCert bool) testenv.MosquittoOption {
			return testenv.WithSecurity(testenv.MosquittoSecurity{PasswordFile: passwd, ACLFile: acl,
				CertFile: filepath.Join(w.pki, "broker.pem"), KeyFile: filepath.Join(w.pki, "broker.key"), CAFile: filepath.Join(w.pki, "ca.pem"),
				RequireCertificate: requireCert})
		}
		// Both shipped configs make a client's ID its user name (issue 13);
		// only with users can a test broker do the same.
		byUser := testenv.WithSetting("use_username_as_clientid", "true")
		w.central = testenv.StartMosquitto(t, byUser, sec(central, filepath.Join(testenv.RepoRoot(t), "configs/mosquitto/acl.example"), true))
		w.local = testenv.StartMosquitto(t, shipped, byUser, sec(local, filepath.Join(testenv.RepoRoot(t), "configs/mosquitto/acl-center.example"), false))
		w.centralURL, w.localURL = w.central.TLSURL(), w.local.TLSURL()
		// auth is the YAML of one connection's user and TLS, indented by
		// pad (the local broker's keys sit one level deeper, under mqtt:).
		auth := func(user string, cert bool, pad string) string {
			s := fmt.Sprintf("%[1]susername: %[2]s\n%[1]spassword: {file: %[3]s}\n%[1]stls:\n%[1]s  ca_file: %[4]s\n",
				pad, user, filepath.Join(w.dir, user+".pass"), filepath.Join(w.pki, "ca.pem"))
			if cert {
				s += fmt.Sprintf("%[1]s  cert_file: %[2]s\n%[1]s  key_file: %[3]s\n", pad, filepath.Join(w.pki, user+".pem"), filepath.Join(w.pki, user+".key"))
			}
			return s
		}
		collectorAuth = auth("collector", true, "  ")
		w.uplinkAuth = auth("anlao-edge-1", true, "  ")
		w.localAuth = auth("anlao-edge-1", false, "    ")
		// The probe below publishes a dossier as the one-stop-shop software.
		w.probeOpts = func(o *mqtt.ClientOptions) {
			o.Servers = nil
			o.AddBroker(w.centralURL)
			o.SetUsername("motcua").SetPassword(securePasswords["motcua"])
			o.SetTLSConfig(w.clientTLS(t, "collector"))
		}
	} else {
		w.central = testenv.StartMosquitto(t, testenv.WithSettingsOf(t, filepath.Join(testenv.RepoRoot(t), "configs/mosquitto/mosquitto.conf")))
		w.local = testenv.StartMosquitto(t, shipped)
		w.centralURL, w.localURL = w.central.URL(), w.local.URL()
	}
	w.db = testenv.StartInflux(t, testenv.WithoutFlux())
	bin := testenv.BuildProgram(t, "../collector")
	cfg := fmt.Sprintf("mqtt:\n  broker: %s\n  client_id: test-collector\n  keepalive: 5s\n  max_reconnect_interval: 1s\n%sinfluxdb:\n  url: %s\n  bucket: %s\n  retry_initial: 50ms\n  retry_max: 1s\nbatch:\n  flush_interval: 5ms\nhttp:\n  listen: 127.0.0.1:%d\n",
		w.centralURL, collectorAuth, w.db.URL(), w.db.Bucket(), testenv.FreePort(t))
	cpath := filepath.Join(w.dir, "collector.yml")
	if err := os.WriteFile(cpath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	w.collectorCmd = []string{bin, "-config", cpath}
	w.startCollector(t)
	// The collector's session is new: what is published before it has
	// subscribed is not queued for it. Wait until a probe event (a dossier
	// of another site, which no test counts) has gone all the way through.
	popts := mqtt.NewClientOptions().AddBroker(w.central.URL()).SetClientID("probe")
	w.probeOpts(popts)
	probe := mqtt.NewClient(popts)
	if tok := probe.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	now := time.Now().UTC().Format(time.RFC3339)
	payload := `{"id":"probe","ts":"` + now + `","site":"probe","dossier":"d1","procedure":"p1","received":"` + now + `","due":"` + now + `","resolved":"` + now + `","outcome":"on_time"}`
	testenv.Eventually(t, 20*time.Second, 100*time.Millisecond, func() bool {
		probe.Publish("pscm/v1/probe/dossier", 1, false, payload).WaitTimeout(time.Second)
		return w.db.Count(t, "dossier", "id") > 0
	}, "the collector never wrote the probe event")
	probe.Disconnect(100)
	t.Cleanup(func() {
		w.stopCollector(syscall.SIGTERM)
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(w.dir, "collector.log"))
			t.Logf("collector log:\n%s", testenv.Tail(string(b), 40))
		}
	})
	return w
}

// startCollector starts the collector process, appending to its log.
func (w *world) startCollector(t testing.TB) {
	t.Helper()
	logf, err := os.OpenFile(filepath.Join(w.dir, "collector.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	testenv.KeepFile(t, "collector", logf.Name())
	cmd := exec.Command(w.collectorCmd[0], w.collectorCmd[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logf.Close()
	w.collector = cmd
}

// stopCollector ends the collector process with sig and waits for it.
func (w *world) stopCollector(sig syscall.Signal) {
	if w.collector == nil {
		return
	}
	_ = w.collector.Process.Signal(sig)
	_ = w.collector.Wait()
	w.collector = nil
}

// agentOpts shape the agent's config for a test.
type agentOpts struct {
	minInterval string // anti_abuse.min_interval
	maxRecords  int    // spool.max_records
	kiosks      int
	extra       string // more top-level YAML (cameras:, camera:)
	retain      string // spool.retain_acked; "" for the default
	httpTLS     string // http.tls's value, e.g. "{cert_file: ..., key_file: ...}"; "" for plain HTTP on loopback
}

const tokenPrefix = "test-token-0123456789-"

func (w *world) agentConfig(t testing.TB, o agentOpts) string {
	t.Helper()
	if o.minInterval == "" {
		o.minInterval = "5s"
	}
	if o.maxRecords == 0 {
		o.maxRecords = 100000
	}
	if o.kiosks == 0 {
		o.kiosks = 2
	}
	httpTLS := ""
	if o.httpTLS != "" {
		httpTLS = "  tls: " + o.httpTLS + "\n"
	}
	retain := ""
	if o.retain != "" {
		retain = "  retain_acked: " + o.retain + "\n"
	}
	var kiosks strings.Builder
	for i := 1; i <= o.kiosks; i++ {
		tok := filepath.Join(w.dir, fmt.Sprintf("k%02d.token", i))
		if err := os.WriteFile(tok, []byte(testenv.Secret(t, fmt.Sprintf("%sk%02d", tokenPrefix, i))+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&kiosks, "  - id: k%02d\n    counter: c%02d\n    counter_name_vi: \"Quầy %d — Hộ tịch\"\n    counter_name_en: \"Counter %d — Civil status\"\n    officer_name: \"Nguyễn Thị Lan\"\n    token: {file: %s}\n", i, i, i, i, tok)
	}
	wh := filepath.Join(w.dir, "webhook.token")
	if err := os.WriteFile(wh, []byte(testenv.Secret(t, "webhook-secret-token-42")), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`site: anlao
agent: anlao-edge-1
uplink:
  broker: %s
  client_id: pscm-agent-test
  keepalive: 5s
  max_reconnect_interval: 1s
%slocal:
  enabled: true
  mqtt:
    broker: %s
    client_id: pscm-agent-test-local
    keepalive: 5s
    max_reconnect_interval: 1s
%shttp:
  listen: 127.0.0.1:0
%sadmin:
  listen: 127.0.0.1:0
spool:
  dir: %s
  max_records: %d
%skiosks:
%santi_abuse:
  min_interval: %s
queue:
  webhook_token: {file: %s}
  services: [ho-tich, dat-dai]
status_interval: 2s
%s`, w.centralURL, w.uplinkAuth, w.localURL, w.localAuth, httpTLS, filepath.Join(w.dir, "spool"), o.maxRecords, retain, kiosks.String(), o.minInterval, wh, o.extra)
	p := filepath.Join(w.dir, "agent.yml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// agentProc is the agent running in process.
type agentProc struct {
	addr   string // kiosk pages, the queue webhook
	admin  string // metrics, health, calibration
	cancel context.CancelFunc
	done   chan error
	logs   *testenv.SyncBuffer
}

func (w *world) startAgent(t testing.TB, o agentOpts) *agentProc {
	t.Helper()
	path := w.agentConfig(t, o)
	ctx, cancel := context.WithCancel(context.Background())
	a := &agentProc{cancel: cancel, done: make(chan error, 1), logs: &testenv.SyncBuffer{}}
	ready := make(chan listening, 1)
	testenv.Keep(t, "agent", a.logs)
	go func() { a.done <- runReady(ctx, []string{"-config", path}, a.logs, a.logs, ready) }()
	select {
	case l := <-ready:
		a.addr, a.admin = l.http, l.admin
	case err := <-a.done:
		t.Fatalf("agent exited at start: %v\n%s", err, a.logs.String())
	case <-time.After(15 * time.Second):
		t.Fatalf("agent not ready\n%s", a.logs.String())
	}
	t.Cleanup(func() {
		a.stop(t)
		if t.Failed() {
			t.Logf("agent log:\n%s", testenv.Tail(a.logs.String(), 60))
		}
	})
	return a
}

func (a *agentProc) stop(t testing.TB) {
	if a.cancel == nil {
		return
	}
	a.cancel()
	a.cancel = nil
	select {
	case err := <-a.done:
		if err != nil {
			t.Errorf("agent returned %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Error("agent did not stop")
	}
}

// press taps a button through the kiosk API as the page does.
func press(t testing.TB, addr, kiosk, level, pressID string) (int, map[string]any) {
	t.Helper()
	// The page's press IDs are 8-64 characters.
	body := fmt.Sprintf(`{"level":%q,"press_id":%q}`, level, "press-"+pressID+"-00")
	req, _ := http.NewRequest("POST", "http://"+addr+"/kiosk/"+kiosk+"/press", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tokenPrefix+kiosk)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("press: %v", err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &out)
	if out == nil {
		out = map[string]any{"raw": string(b)}
	}
	return resp.StatusCode, out
}

func queueStep(t testing.TB, addr string, payload string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+addr+"/queue", strings.NewReader(payload))
	req.Header.Set("Authorization", "Bearer webhook-secret-token-42")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("queue step: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

func httpNewPress(addr, kiosk, level, token string) (*http.Request, error) {
	req, err := http.NewRequest("POST", "http://"+addr+"/kiosk/"+kiosk+"/press",
		strings.NewReader(fmt.Sprintf(`{"level":%q,"press_id":"x-%d"}`, level, time.Now().UnixNano())))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	return req, nil
}

// securePasswords are the users of newSecureWorld's brokers. The security
// test checks that none of them appears in any log.
var securePasswords = map[string]string{
	"collector":          "collector-pw-7Hq2",
	"anlao-edge-1":       "edge-pw-9Kd4",
	"phuoc-thanh-edge-1": "edge-pw-other-3Xa8",
	"motcua":             "motcua-pw-5Rt1",
	"anlao-k01":          "kiosk-pw-k01-2Lm6",
	"anlao-k02":          "kiosk-pw-k02-8Pz3",
	"anlao-queue":        "queue-pw-4Nv7",
}

// clientTLS trusts the world's CA and presents user's client certificate
// when one was issued.
func (w *world) clientTLS(t testing.TB, user string) *tls.Config {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join(w.pki, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if cert, err := tls.LoadX509KeyPair(filepath.Join(w.pki, user+".pem"), filepath.Join(w.pki, user+".key")); err == nil {
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg
}
