package main

import (
	"bytes"
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

func count(t testing.TB, w *world, measurement string) int64 {
	return w.db.Count(t, measurement, "id")
}

func localPublisher(t *testing.T, w *world) mqtt.Client {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(w.local.URL()).SetClientID("button-box").SetCleanSession(true))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func TestPressReachesInfluxDB(t *testing.T) {
	w := newWorld(t)
	a := w.startAgent(t, agentOpts{})
	code, body := press(t, a.addr, "k01", "very_satisfied", "p-1")
	if code != 200 || body["status"] != "accepted" {
		t.Fatalf("press: %d %v", code, body)
	}
	testenv.Eventually(t, 20*time.Second, 20*time.Millisecond, func() bool { return count(t, w, "rating") == 1 },
		"rating not in InfluxDB")
	s := w.db.Query(t, `SELECT id FROM rating GROUP BY *`)
	if len(s) != 1 || s[0].Tags["counter"] != "c01" || s[0].Tags["kiosk"] != "k01" || s[0].Tags["level"] != "very_satisfied" ||
		fmt.Sprint(s[0].Values[0][1]) != body["rating_id"] {
		t.Fatalf("rating point %+v, want counter c01 kiosk k01 level very_satisfied id %v", s, body["rating_id"])
	}
	// The retained status says online.
	testenv.Eventually(t, 20*time.Second, 50*time.Millisecond, func() bool { return count(t, w, "agent") >= 1 },
		"no agent status")
}

func TestHardwarePressesAndBadInput(t *testing.T) {
	w := newWorld(t)
	a := w.startAgent(t, agentOpts{minInterval: "1h"})
	// What is published before the agent's first subscription is not queued for it.
	testenv.Eventually(t, 10*time.Second, 10*time.Millisecond, func() bool {
		return strings.Contains(a.logs.String(), "subscribed on the center's broker")
	}, "agent never subscribed on the center's broker")
	pub := localPublisher(t, w)
	pubLocal := func(topic, payload string) {
		tok := pub.Publish(topic, 1, false, payload)
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	// The same seq twice, then a second press within the interval: one rating.
	pubLocal("pscm/v1/anlao/kiosk/k01/press", `{"button":1,"seq":41}`)
	pubLocal("pscm/v1/anlao/kiosk/k01/press", `{"button":1,"seq":41}`)
	pubLocal("pscm/v1/anlao/kiosk/k01/press", `{"button":2,"seq":42}`)
	// Refused: unknown kiosk, unknown button, malformed.
	pubLocal("pscm/v1/anlao/kiosk/k99/press", `1`)
	pubLocal("pscm/v1/anlao/kiosk/k02/press", `7`)
	pubLocal("pscm/v1/anlao/kiosk/k02/press", `{"button":`)
	// A valid press on k02 last: once it is in InfluxDB, the rest was handled.
	pubLocal("pscm/v1/anlao/kiosk/k02/press", `4`)
	// Presses are handled, spooled, forwarded and written in order, so once
	// the last one (k02's) is in InfluxDB every earlier one would be too.
	testenv.Eventually(t, 20*time.Second, 20*time.Millisecond, func() bool {
		return len(w.db.Query(t, `SELECT id FROM rating WHERE kiosk = 'k02'`)) > 0
	}, "hardware ratings not in InfluxDB")
	if n := count(t, w, "rating"); n != 2 {
		t.Fatalf("%d ratings, want 2 (k01 once, k02 once)", n)
	}
	s := w.db.Query(t, `SELECT id FROM rating GROUP BY kiosk, level`)
	got := map[string]string{}
	for _, x := range s {
		got[x.Tags["kiosk"]] = x.Tags["level"]
	}
	if got["k01"] != "very_satisfied" || got["k02"] != "dissatisfied" {
		t.Fatalf("levels %v", got)
	}
	logs := a.logs.String()
	for _, want := range []string{"duplicate press", "unknown kiosk", "unknown button", "too soon"} {
		if !strings.Contains(logs, want) {
			t.Errorf("no log line saying %q", want)
		}
	}

	// The kiosk API refuses bad tokens and bad levels and changes nothing.
	for _, tc := range []struct {
		kiosk, level, token string
		want                int
	}{
		{"k02", "satisfied", "wrong-token-wrong-token", 401},
		{"k77", "satisfied", tokenPrefix + "k77", 404},
		{"k02", "ecstatic", tokenPrefix + "k02", 400},
	} {
		code := pressWithToken(t, a.addr, tc.kiosk, tc.level, tc.token)
		if code != tc.want {
			t.Errorf("%s %s: HTTP %d, want %d", tc.kiosk, tc.level, code, tc.want)
		}
	}
	if n := count(t, w, "rating"); n != 2 {
		t.Fatalf("refused presses changed the count to %d", n)
	}
}

func TestUplinkDownFor30s(t *testing.T) {
	w := newWorld(t)
	a := w.startAgent(t, agentOpts{minInterval: "0s", kiosks: 4})
	w.central.Stop(t)
	levels := []string{"very_satisfied", "satisfied", "neutral", "dissatisfied"}
	const n = 5000
	start := time.Now()
	for i := range n {
		k := fmt.Sprintf("k%02d", i%4+1)
		if code, body := press(t, a.addr, k, levels[i%4], fmt.Sprintf("p%d", i)); code != 200 || body["status"] != "accepted" {
			t.Fatalf("press %d: %d %v", i, code, body)
		}
	}
	// The outage lasts 30 s by design, whatever the presses took.
	time.Sleep(time.Until(start.Add(30 * time.Second)))
	w.central.Start(t)
	testenv.Eventually(t, 60*time.Second, 100*time.Millisecond, func() bool { return count(t, w, "rating") >= n },
		"not all %d presses reached InfluxDB", n)
	if c := count(t, w, "rating"); c != n {
		t.Fatalf("%d ratings, want exactly %d", c, n)
	}
	// In order: the points' time order (stamped at acceptance) is the order
	// of the presses, kiosks k01..k04 in turn.
	s := w.db.Query(t, `SELECT id, kiosk, level FROM rating`)
	if len(s) != 1 || len(s[0].Values) != n {
		t.Fatalf("query returned %d series", len(s))
	}
	for i, row := range s[0].Values {
		if want := fmt.Sprintf("k%02d", i%4+1); row[2] != want || row[3] != levels[i%4] {
			t.Fatalf("point %d is %v/%v, want %s/%s: order lost", i, row[2], row[3], want, levels[i%4])
		}
	}
}

func TestQueueSessionsAndRatingLink(t *testing.T) {
	w := newWorld(t)
	a := w.startAgent(t, agentOpts{})
	now := time.Now().UTC()
	ts := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339Nano) }
	steps := []string{
		`{"id":"q1","ts":"` + ts(-20*time.Minute) + `","site":"anlao","ticket":"A012","service":"ho-tich","step":"issued"}`,
		`{"id":"q2","ts":"` + ts(-10*time.Minute) + `","site":"anlao","ticket":"A012","service":"ho-tich","counter":"c01","step":"called"}`,
		`{"id":"q3","ts":"` + ts(-9*time.Minute) + `","site":"anlao","ticket":"A012","service":"ho-tich","counter":"c01","step":"started"}`,
		`{"id":"q4","ts":"` + ts(-1*time.Second) + `","site":"anlao","ticket":"A012","service":"ho-tich","counter":"c01","step":"finished"}`,
	}
	for _, s := range steps {
		if code := queueStep(t, a.addr, s); code != 204 {
			t.Fatalf("step: HTTP %d", code)
		}
	}
	if code := queueStep(t, a.addr, `{"id":"bad"`); code != 400 {
		t.Fatalf("malformed step: HTTP %d, want 400", code)
	}
	code, body := press(t, a.addr, "k01", "satisfied", "after-session")
	if code != 200 {
		t.Fatalf("press %d %v", code, body)
	}
	testenv.Eventually(t, 20*time.Second, 20*time.Millisecond, func() bool {
		return count(t, w, "session") == 1 && count(t, w, "rating") == 1 && count(t, w, "queue") == 4
	}, "session, rating and 4 queue steps not all in InfluxDB")
	s := w.db.Query(t, `SELECT id, wait_s, service_s, ticket FROM session`)
	row := s[0].Values[0]
	if fmt.Sprint(row[2]) != "600" || fmt.Sprint(row[3]) != "539" || row[4] != "A012" {
		t.Fatalf("session row %v: want wait 600 s, service 539 s, ticket A012", row)
	}
	r := w.db.Query(t, `SELECT session FROM rating`)
	if fmt.Sprint(r[0].Values[0][1]) != fmt.Sprint(row[1]) {
		t.Fatalf("rating carries session %v, want %v", r[0].Values[0][1], row[1])
	}
}

// TestEqualTimestampQueueSteps: a queue system that stamps whole seconds
// sends three tickets issued in the same second for the same service (one
// of them twice, as a retry). Each is its own point in InfluxDB: three
// stored, none overwritten, none counted twice.
func TestEqualTimestampQueueSteps(t *testing.T) {
	w := newWorld(t)
	a := w.startAgent(t, agentOpts{})
	ts := time.Now().UTC().Truncate(time.Second).Add(-time.Minute).Format(time.RFC3339)
	step := func(id, ticket string) string {
		return `{"id":"` + id + `","ts":"` + ts + `","site":"anlao","ticket":"` + ticket + `","service":"ho-tich","step":"issued"}`
	}
	for _, s := range []string{step("eq1", "A101"), step("eq2", "A102"), step("eq3", "A103"), step("eq2", "A102")} {
		if code := queueStep(t, a.addr, s); code != 204 {
			t.Fatalf("step: HTTP %d", code)
		}
	}
	testenv.Eventually(t, 20*time.Second, 20*time.Millisecond, func() bool {
		return count(t, w, "queue") == 3
	}, "three queue points in InfluxDB")
	rows := w.db.Query(t, `SELECT id FROM queue`)
	ids := map[string]bool{}
	for _, r := range rows[0].Values {
		ids[fmt.Sprint(r[1])] = true
	}
	if len(ids) != 3 || !ids["eq1"] || !ids["eq2"] || !ids["eq3"] {
		t.Fatalf("queue points hold ids %v, want eq1, eq2, eq3", ids)
	}
}

func TestSpoolFullRefusesNewPresses(t *testing.T) {
	w := newWorld(t)
	w.central.Stop(t)
	a := w.startAgent(t, agentOpts{minInterval: "0s", maxRecords: 10})
	// Not ready without the central broker, and /readyz says which
	// dependency is missing.
	testenv.WaitReadyz(t, "http://"+a.addr, 20*time.Second, 503, "[+]spool ok", "[-]uplink failed: not connected to the central broker; presses wait in the spool")
	accepted := 0
	var last int
	var lastBody map[string]any
	for i := range 15 {
		code, body := press(t, a.addr, "k01", "satisfied", fmt.Sprintf("f%d", i))
		last, lastBody = code, body
		if code == 200 {
			accepted++
		}
	}
	if accepted == 0 || accepted > 10 || last != 503 {
		t.Fatalf("accepted %d of 15, last HTTP %d %v; want some accepted, at most 10, then 503", accepted, last, lastBody)
	}
	w.central.Start(t)
	testenv.Eventually(t, 30*time.Second, 50*time.Millisecond, func() bool { return count(t, w, "rating") == int64(accepted) },
		"the %d accepted presses did not all arrive", accepted)
	testenv.WaitReadyz(t, "http://"+a.addr, 20*time.Second, 200, "[+]spool ok", "[+]uplink ok", "[+]local_mqtt ok")
}

func pressWithToken(t testing.TB, addr, kiosk, level, token string) int {
	t.Helper()
	req, _ := httpNewPress(addr, kiosk, level, token)
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestAgentSIGKILL: presses acknowledged to the kiosk survive a SIGKILL of
// the agent right after; after a restart each reaches InfluxDB exactly once.
func TestAgentSIGKILL(t *testing.T) {
	// Uplink down: every press is in the spool when the agent dies. Uplink
	// up: the agent dies while forwarding, so some presses are in flight.
	t.Run("uplink down", func(t *testing.T) { testAgentSIGKILL(t, false) })
	t.Run("while forwarding", func(t *testing.T) { testAgentSIGKILL(t, true) })
}

func testAgentSIGKILL(t *testing.T, uplinkUp bool) {
	w := newWorld(t)
	bin := testenv.BuildProgram(t, ".")
	cfgPath := w.agentConfig(t, agentOpts{minInterval: "0s", kiosks: 2})
	port := testenv.FreePort(t)
	b, _ := os.ReadFile(cfgPath)
	b = bytes.Replace(b, []byte("listen: 127.0.0.1:0"), []byte(fmt.Sprintf("listen: 127.0.0.1:%d", port)), 1)
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	logPath := filepath.Join(w.dir, "agent.log")
	start := func() *exec.Cmd {
		f, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cmd := exec.Command(bin, "-config", cfgPath)
		cmd.Stdout, cmd.Stderr = f, f
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, 15*time.Second, 20*time.Millisecond, func() bool {
			resp, err := http.Get("http://" + addr + "/healthz")
			if err == nil {
				resp.Body.Close()
			}
			return err == nil && resp.StatusCode == 200
		}, "agent did not serve /healthz")
		return cmd
	}
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("agent log:\n%s", testenv.Tail(string(b), 40))
		}
	})
	if !uplinkUp {
		w.central.Stop(t)
	}
	cmd := start()
	const n = 500
	for i := range n {
		if code, body := press(t, addr, fmt.Sprintf("k%02d", i%2+1), "satisfied", fmt.Sprintf("kill-%d", i)); code != 200 || body["status"] != "accepted" {
			t.Fatalf("press %d: %d %v", i, code, body)
		}
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL, by PID
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if !uplinkUp {
		w.central.Start(t)
	}
	cmd = start()
	defer func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }()
	testenv.Eventually(t, 60*time.Second, 100*time.Millisecond, func() bool { return count(t, w, "rating") >= n },
		"acknowledged presses lost: %d of %d in InfluxDB", count(t, w, "rating"), n)
	if c := count(t, w, "rating"); c != n {
		t.Fatalf("%d ratings, want exactly %d", c, n)
	}
}

func TestConfigCheck(t *testing.T) {
	var out, errb testenv.SyncBuffer
	// The check means "this will start": the example names certificate
	// and secret files that exist only on a server, so its check fails on
	// the first of them, after the YAML itself was accepted
	// (config.TestShippedConfig).
	err := run(t.Context(), []string{"-config", "../configs/agent.example.yml", "-config.check"}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "open /etc/pscm/") || out.String() != "" {
		t.Fatalf("example config check: %v, stdout %q", err, out.String())
	}
	if err := run(t.Context(), []string{"-config", "config/testdata/invalid-site.yml", "-config.check"}, &out, &errb); err == nil {
		t.Fatal("invalid config passed the check")
	}
}

// TestLocalQueueStepAndMetrics: a queue step on the center's broker is
// spooled and forwarded like a webhook one; /metrics passes promtool.
func TestLocalQueueStepAndMetrics(t *testing.T) {
	w := newWorld(t)
	a := w.startAgent(t, agentOpts{})
	pub := localPublisher(t, w)
	step := `{"id":"lq1","ts":"` + time.Now().UTC().Format(time.RFC3339Nano) + `","site":"anlao","ticket":"B001","service":"dat-dai","step":"issued"}`
	testenv.Eventually(t, 20*time.Second, 100*time.Millisecond, func() bool {
		// The agent subscribes once connected; publish until it has taken it.
		pub.Publish("pscm/v1/anlao/queue", 1, false, step).WaitTimeout(time.Second)
		return count(t, w, "queue") == 1
	}, "queue step from the center's broker not in InfluxDB")

	resp, err := http.Get("http://" + a.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, name := range []string{"pscm_agent_spool_records", "pscm_agent_uplink_up", "pscm_agent_uplink_forwarded_total",
		"pscm_agent_presses_total", "pscm_agent_queue_steps_total", "pscm_agent_spool_refused_total", "pscm_agent_build_info"} {
		if !bytes.Contains(body, []byte("\n"+name)) {
			t.Errorf("metric %s missing", name)
		}
	}
	testenv.CheckMetrics(t, body)
	// The kiosks' port, which the whole LAN reaches, has no metrics: they
	// carry each counter's staff presence (issue 13 item 7; before, the
	// same page was served there).
	if resp, err := http.Get("http://" + a.addr + "/metrics"); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusNotFound {
		t.Errorf("/metrics on the kiosk port: %d, want 404", resp.StatusCode)
	}
	// Both ports cut a client that never finishes its headers (a test of
	// the read timeouts, issue 13 item 9).
	testenv.SlowClientsCut(t, 15*time.Second, a.addr, a.admin)
	for _, secret := range []string{tokenPrefix, "webhook-secret-token-42"} {
		if bytes.Contains(body, []byte(secret)) || strings.Contains(a.logs.String(), secret) {
			t.Errorf("a secret appears in /metrics or the log")
		}
	}

	// Ready with both brokers; the center's broker stopped makes it 503,
	// naming that connection; back, ready again.
	testenv.WaitReadyz(t, "http://"+a.addr, 20*time.Second, 200, "[+]spool ok", "[+]uplink ok", "[+]local_mqtt ok", "readyz check passed")
	w.local.Stop(t)
	testenv.WaitReadyz(t, "http://"+a.addr, 20*time.Second, 503, "[+]spool ok", "[+]uplink ok", "[-]local_mqtt failed: not connected to the center's broker, or not subscribed yet; hardware presses and queue steps wait there")
	w.local.Start(t)
	testenv.WaitReadyz(t, "http://"+a.addr, 20*time.Second, 200, "[+]local_mqtt ok")
}
