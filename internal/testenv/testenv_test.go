package testenv

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestMosquittoConnectStopStart(t *testing.T) {
	t.Parallel()
	began := time.Now()
	m := StartMosquitto(t)
	t.Logf("StartMosquitto took %v", time.Since(began))

	if !strings.HasPrefix(m.URL(), "tcp://127.0.0.1:") || m.URL() != "tcp://"+m.Addr() {
		t.Fatalf("URL %q, Addr %q", m.URL(), m.Addr())
	}
	if err := mqttPing(ctx2s(t), m.Addr(), false); err != nil {
		t.Fatalf("CONNECT/CONNACK: %v", err)
	}

	addr := m.Addr()
	m.Stop(t)
	if err := mqttPing(ctx2s(t), addr, false); err == nil {
		t.Fatal("broker still answers after Stop")
	}
	m.Stop(t) // stopping a stopped broker does nothing

	began = time.Now()
	m.Start(t)
	t.Logf("Mosquitto.Start (restart) took %v", time.Since(began))
	if m.Addr() != addr {
		t.Fatalf("restart moved the broker from %s to %s", addr, m.Addr())
	}
	if err := mqttPing(ctx2s(t), m.Addr(), false); err != nil {
		t.Fatalf("CONNECT/CONNACK after restart: %v", err)
	}

	m.Kill(t)
	m.Start(t)
	if err := mqttPing(ctx2s(t), m.Addr(), false); err != nil {
		t.Fatalf("CONNECT/CONNACK after kill and start: %v", err)
	}

	conf, err := os.ReadFile(filepath.Join(filepath.Dir(m.LogPath()), "mosquitto.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"max_inflight_messages 10000\n", "max_queued_messages 0\n", "persistence true\n"} {
		if !strings.Contains(string(conf), want) {
			t.Errorf("config lacks %q:\n%s", want, conf)
		}
	}
	log, err := os.ReadFile(m.LogPath())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "mosquitto version") {
		t.Errorf("log %s does not show the broker's start:\n%s", m.LogPath(), log)
	}
}

func TestMosquittoOptions(t *testing.T) {
	t.Parallel()
	m := StartMosquitto(t, WithMaxInflight(5), WithMosquittoConf("max_keepalive 120"),
		WithSetting("autosave_interval", "7"), WithSetting("autosave_on_changes", "true"))
	conf, err := os.ReadFile(filepath.Join(filepath.Dir(m.LogPath()), "mosquitto.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"max_inflight_messages 5\n", "max_keepalive 120\n",
		"autosave_interval 7\n", "autosave_on_changes true\n"} {
		if !strings.Contains(string(conf), want) {
			t.Errorf("config lacks %q:\n%s", want, conf)
		}
	}
	// A setting replaces the default; it is not written twice.
	if n := strings.Count(string(conf), "autosave_interval"); n != 1 {
		t.Errorf("autosave_interval written %d times:\n%s", n, conf)
	}
}

func TestInfluxWriteQueryRestart(t *testing.T) {
	t.Parallel()
	began := time.Now()
	i := StartInflux(t)
	t.Logf("StartInflux took %v", time.Since(began))

	if i.Database() != "pscm" || i.Bucket() != "pscm/autogen" || i.Org() != "" || i.Token() != "" {
		t.Fatalf("Database %q Bucket %q Org %q Token %q", i.Database(), i.Bucket(), i.Org(), i.Token())
	}
	if got := i.Count(t, "rating", "id"); got != 0 {
		t.Fatalf("Count on an empty database = %d, want 0", got)
	}

	const ts = "1795569302123456789" // 2026-11-25T01:15:02.123456789Z
	post(t, i.URL()+"/write?db=pscm&precision=ns", "text/plain",
		`rating,site=anlao,counter=c03,level=satisfied id="01JDX8K3Q7A1",session="s-8812" `+ts+"\n",
		http.StatusNoContent)

	check := func(when string) {
		t.Helper()
		series := i.Query(t, `SELECT "id", "level" FROM "rating"`)
		if len(series) != 1 || series[0].Name != "rating" || len(series[0].Values) != 1 {
			t.Fatalf("%s: series %+v", when, series)
		}
		row := series[0].Values[0]
		if row[0] != json.Number(ts) || row[1] != "01JDX8K3Q7A1" || row[2] != "satisfied" {
			t.Fatalf("%s: row %#v, columns %v", when, row, series[0].Columns)
		}
		if got := i.Count(t, "rating", "id"); got != 1 {
			t.Fatalf("%s: Count = %d, want 1", when, got)
		}
	}
	check("after write")

	url := i.URL()
	i.Stop(t)
	began = time.Now()
	i.Start(t)
	t.Logf("Influx.Start (restart) took %v", time.Since(began))
	if i.URL() != url {
		t.Fatalf("restart moved the server from %s to %s", url, i.URL())
	}
	check("after stop and start")

	// An acknowledged write survives a crash: it is in the fsynced WAL.
	i.Write(t, `rating,site=anlao,counter=c04,level=neutral id="01JDX8K3Q7A2" 1795569302123456790`+"\n")
	i.Kill(t)
	i.Start(t)
	if got := i.Count(t, "rating", "id"); got != 2 {
		t.Fatalf("after kill and start: Count = %d, want 2", got)
	}

	// Flux, which influxdb-client-go's QueryAPI uses.
	body := post(t, i.URL()+"/api/v2/query", "application/vnd.flux",
		`from(bucket:"pscm/autogen") |> range(start:-100y, stop:2100-01-01T00:00:00Z) |> count()`,
		http.StatusOK)
	if !strings.Contains(body, "_value") {
		t.Errorf("flux answer has no _value column:\n%s", body)
	}
	post(t, i.URL()+"/api/v2/query", "application/vnd.flux",
		`from(bucket:"pscm/autogen") |> range(start:-1h) |> count()`, http.StatusOK)

	// Statement errors fail loudly rather than read as "no data".
	if _, err := i.query("SELECT nonsense FROM"); err == nil {
		t.Error("a malformed query gave no error")
	}
}

func TestInfluxWithDatabase(t *testing.T) {
	t.Parallel()
	began := time.Now()
	i := StartInflux(t, WithDatabase("other"), WithoutFlux())
	t.Logf("StartInflux(WithoutFlux) took %v", time.Since(began))
	if i.Bucket() != "other/autogen" {
		t.Fatalf("Bucket = %q", i.Bucket())
	}
	resp, err := http.Post(i.URL()+"/api/v2/query", "application/vnd.flux",
		strings.NewReader(`from(bucket:"other/autogen") |> range(start:-1h)`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("Flux query WithoutFlux: %s, want 403", resp.Status)
	}
	series := i.Query(t, "SHOW DATABASES")
	var names []string
	if len(series) == 1 {
		for _, v := range series[0].Values {
			names = append(names, v[0].(string))
		}
	}
	if strings.Join(names, ",") != "other" {
		t.Fatalf("databases %v, want [other]", names)
	}
}

func post(t *testing.T, url, contentType, body string, want int) string {
	t.Helper()
	resp, err := http.Post(url, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != want {
		t.Fatalf("POST %s: %s, want %d: %s", url, resp.Status, want, b)
	}
	return string(b)
}

func TestFindInfluxd(t *testing.T) {
	bogus := filepath.Join(t.TempDir(), "no-such-influxd")
	_, err := findInfluxd(bogus, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "PSCM_INFLUXD="+bogus) || !strings.Contains(err.Error(), "make deps") ||
		!strings.Contains(err.Error(), influxdInstall) {
		t.Errorf("bogus PSCM_INFLUXD: %v", err)
	}

	_, err = findInfluxd("", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "make deps") || !strings.Contains(err.Error(), influxdInstall) {
		t.Errorf("no binary in the repo: %v", err)
	}

	root := t.TempDir()
	bin := filepath.Join(root, ".tools", "bin", "influxd")
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := findInfluxd("", root); err == nil {
		t.Error("a non-executable influxd was accepted")
	}
	if err := os.Chmod(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := findInfluxd("", root); err != nil || got != bin {
		t.Errorf("findInfluxd = %q, %v; want %q", got, err, bin)
	}
	if got, err := findInfluxd(bin, t.TempDir()); err != nil || got != bin {
		t.Errorf("with PSCM_INFLUXD: findInfluxd = %q, %v; want %q", got, err, bin)
	}
}

func TestFindMosquitto(t *testing.T) {
	notFound := func(string) (string, error) { return "", errors.New("not found") }
	_, err := findMosquitto(notFound, filepath.Join(t.TempDir(), "mosquitto"))
	if err == nil || !strings.Contains(err.Error(), "sudo apt-get install -y mosquitto mosquitto-clients") ||
		!strings.Contains(err.Error(), "make deps") {
		t.Errorf("missing mosquitto: %v", err)
	}
	found := func(string) (string, error) { return "/opt/bin/mosquitto", nil }
	if got, err := findMosquitto(found, "/nonexistent"); err != nil || got != "/opt/bin/mosquitto" {
		t.Errorf("from PATH: %q, %v", got, err)
	}
}

func TestRepoRoot(t *testing.T) {
	root := RepoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "internal", "testenv")); err != nil {
		t.Fatalf("%s is not this repository's root: %v", root, err)
	}
	if _, err := findRepoRoot("/"); err == nil {
		t.Error("found a go.mod above /")
	}
}

func TestFreePort(t *testing.T) {
	p := FreePort(t)
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	if err != nil {
		t.Fatalf("port %d from FreePort is not free: %v", p, err)
	}
	ln.Close()
}

func TestEventually(t *testing.T) {
	n := 0
	Eventually(t, time.Second, time.Millisecond, func() bool { n++; return n == 3 }, "n reaches 3")
	if n != 3 {
		t.Fatalf("cond called %d times, want 3", n)
	}
}

func TestMQTTConnectEncoding(t *testing.T) {
	got := mqttConnect("abc", true)
	want := []byte{0x10, 15, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 10, 0, 3, 'a', 'b', 'c'}
	if string(got) != string(want) {
		t.Errorf("CONNECT % x, want % x", got, want)
	}
	long := mqttConnect(strings.Repeat("x", 200), false)
	if long[1] != 0x80|(212%128) || long[2] != 212/128 {
		t.Errorf("remaining length of a 212-byte body encoded as % x", long[1:3])
	}
}

func TestTailFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "log")
	var b strings.Builder
	for n := range 100 {
		b.WriteString(strings.Repeat("x", n%7) + "\n")
	}
	if err := os.WriteFile(p, []byte("first\n"+b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := tailFile(p, 0, 40)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(got, "\n"); n != 40 {
		t.Errorf("%d lines, want 40", n)
	}
	got, err = tailFile(p, 6, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got, "first") {
		t.Error("tail from an offset included what came before it")
	}
}

func ctx2s(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	t.Cleanup(cancel)
	return ctx
}
