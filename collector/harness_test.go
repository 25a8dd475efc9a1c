package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/pscm/pscm/internal/testenv"
)

// env is one test's real broker and database.
type env struct {
	mq *testenv.Mosquitto
	db *testenv.Influx
}

func newEnv(t testing.TB) *env {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs Mosquitto and InfluxDB (run without -short)")
	}
	e := &env{}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); e.mq = testenv.StartMosquitto(t, testenv.WithMaxInflight(20000)) }()
	e.db = testenv.StartInflux(t, testenv.WithoutFlux())
	wg.Wait()
	if e.mq == nil {
		t.FailNow()
	}
	return e
}

type collectorOpts struct {
	clientID    string
	sharedGroup string
	batchSize   int
	maxInflight int
	logLevel    string
	admission   string // a top-level admission: section, appended as is
}

// writeConfig writes a collector config for e and returns its path.
func (e *env) writeConfig(t testing.TB, o collectorOpts) string {
	t.Helper()
	if o.clientID == "" {
		o.clientID = "pscm-collector-test"
	}
	if o.batchSize == 0 {
		o.batchSize = 5000
	}
	if o.maxInflight == 0 {
		o.maxInflight = 20000
	}
	if o.logLevel == "" {
		o.logLevel = "info"
	}
	cfg := fmt.Sprintf(`mqtt:
  broker: %s
  client_id: %s
  keepalive: 5s
  max_reconnect_interval: 1s
subscribe:
  shared_group: %q
influxdb:
  url: %s
  bucket: %s
  retry_initial: 50ms
  retry_max: 1s
batch:
  size: %d
  flush_interval: 5ms
  max_inflight: %d
http:
  listen: 127.0.0.1:0
log:
  level: %s
shutdown_timeout: 5s
%s`, e.mq.URL(), o.clientID, o.sharedGroup, e.db.URL(), e.db.Bucket(), o.batchSize, o.maxInflight, o.logLevel, o.admission)
	p := filepath.Join(t.TempDir(), "collector.yml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// inproc is a collector running in the test process.
type inproc struct {
	addr     string
	cancel   context.CancelFunc
	done     chan error
	logs     *testenv.SyncBuffer
	stopOnce sync.Once
}

func (e *env) startCollector(t testing.TB, o collectorOpts) *inproc {
	t.Helper()
	path := e.writeConfig(t, o)
	ctx, cancel := context.WithCancel(context.Background())
	c := &inproc{cancel: cancel, done: make(chan error, 1), logs: &testenv.SyncBuffer{}}
	ready := make(chan string, 1)
	testenv.Keep(t, "collector", c.logs)
	go func() { c.done <- runReady(ctx, []string{"-config", path}, c.logs, c.logs, ready) }()
	select {
	case c.addr = <-ready:
	case err := <-c.done:
		t.Fatalf("collector exited at start: %v\n%s", err, c.logs.String())
	case <-time.After(15 * time.Second):
		t.Fatalf("collector not ready\n%s", c.logs.String())
	}
	waitSubscribed(t, c.addr)
	t.Cleanup(func() {
		c.stop(t)
		if t.Failed() {
			t.Logf("collector %s log:\n%s", o.clientID, testenv.Tail(c.logs.String(), 60))
		}
	})
	return c
}

// stop cancels the collector and waits for it; a test may stop it before
// its cleanup does.
func (c *inproc) stop(t testing.TB) {
	c.stopOnce.Do(func() {
		c.cancel()
		select {
		case err := <-c.done:
			if err != nil {
				t.Errorf("collector returned %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("collector did not stop within 30s")
		}
	})
}

// process is the collector binary running as a child process, for tests
// that kill it or measure its memory. It is built without -race so its RSS is
// what production sees.
type process struct {
	bin, config string
	cmd         *exec.Cmd
	logPath     string
	addr        string
}

func (e *env) startProcess(t testing.TB, o collectorOpts) *process {
	t.Helper()
	bin := testenv.BuildProgram(t, ".")
	port := testenv.FreePort(t)
	path := e.writeConfig(t, o)
	b, _ := os.ReadFile(path)
	b = bytes.Replace(b, []byte("127.0.0.1:0"), []byte(fmt.Sprintf("127.0.0.1:%d", port)), 1)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	p := &process{bin: bin, config: path, logPath: filepath.Join(t.TempDir(), "collector.log"),
		addr: fmt.Sprintf("127.0.0.1:%d", port)}
	testenv.KeepFile(t, "collector", p.logPath)
	p.start(t)
	t.Cleanup(func() {
		if p.cmd != nil {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			_ = p.cmd.Wait()
		}
		if t.Failed() {
			b, _ := os.ReadFile(p.logPath)
			t.Logf("collector process log:\n%s", testenv.Tail(string(b), 60))
		}
	})
	return p
}

func (p *process) start(t testing.TB) {
	t.Helper()
	f, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(p.bin, "-config", p.config)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	p.cmd = cmd
	testenv.Eventually(t, 15*time.Second, 20*time.Millisecond, func() bool {
		resp, err := http.Get("http://" + p.addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}, "collector process did not serve /healthz")
	waitSubscribed(t, p.addr)
}

// waitSubscribed waits until the collector at addr holds every subscription:
// the first SUBACK comes after the CONNACK, and what a test publishes before
// it is not delivered to a session that did not exist yet.
func waitSubscribed(t testing.TB, addr string) {
	t.Helper()
	testenv.Eventually(t, 15*time.Second, 10*time.Millisecond, func() bool {
		return metricValue(metrics(t, addr), "pscm_collector_mqtt_subscribed") == 1
	}, "collector at %s not subscribed", addr)
}

// kill sends SIGKILL to the process this test started, by PID.
func (p *process) kill(t testing.TB) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
	p.cmd = nil
}

// stop ends the process with SIGTERM (a graceful stop) and waits.
func (p *process) stop(t testing.TB) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("collector exited with %v after SIGTERM", err)
	}
	p.cmd = nil
}

// rssBytes reads the process's resident set from /proc.
func (p *process) rssBytes(t testing.TB) int64 {
	return testenv.ProcStatusKB(t, p.cmd.Process.Pid, "VmRSS:") * 1024
}

// metrics scrapes addr/metrics.
func metrics(t testing.TB, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mf, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse metrics: %v", err)
	}
	return mf
}

// metricValue returns the value of the series of name whose labels include
// the given pairs, summed over matches (0 if none).
func metricValue(mf map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	fam, ok := mf[name]
	if !ok {
		return 0
	}
	var sum float64
next:
	for _, m := range fam.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, lp := range m.GetLabel() {
				if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Untyped != nil:
			sum += m.Untyped.GetValue()
		}
	}
	return sum
}

// publisher is a plain paho client for tests that publish exact bytes.
func newTestPublisher(t testing.TB, url, id string) mqtt.Client {
	t.Helper()
	o := mqtt.NewClientOptions().AddBroker(url).SetClientID(id).SetCleanSession(true)
	c := mqtt.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("test publisher connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func publishOne(t testing.TB, c mqtt.Client, topic string, payload []byte) {
	t.Helper()
	tok := c.Publish(topic, 1, false, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}
