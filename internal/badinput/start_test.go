//go:build linux

package badinput

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/pscm/pscm/internal/testenv"
	"github.com/pscm/pscm/internal/textclip"
)

// startFiles are the files the start cases name besides configFiles. The
// weak ones' contents must never appear in any output.
var startFiles = map[string]string{
	"k02.token":      "kiosk-token-k02-0123456789",
	"empty.token":    "\n",
	"weak.token":     "changeme-changeme-changeme", // a placeholder
	"short.token":    "k01-token-9",                // 11 characters
	"mqtt-weak.pass": "Administrator",
	"influx.token":   "pscm:influx-password-8d1f0c",
	"junk.pem":       "not a certificate",
}

// zone is a staff seat a camera case draws.
const zone = "    zones:\n      - {id: z1, counter: c01, kind: staff, polygon: [[0.1, 0.1], [0.5, 0.1], [0.5, 0.5]]}\n"

// startCases are configurations given to each program's -config.check and
// then to its start. want "" means both accept: the check says OK and the
// program starts; otherwise both refuse with the same line, containing want.
var startCases = []configCase{
	{"agent", "the base", "", "", ""},
	{"agent", "HTTPS", "  listen: 127.0.0.1:9480\n", "  listen: 127.0.0.1:9480\n  tls: {cert_file: {dir}/cert.pem, key_file: {dir}/key.pem}\n", ""},
	{"agent", "the center's broker", "", "local:\n  enabled: true\n  mqtt: {broker: tcp://127.0.0.1:1883}\n", ""},
	{"agent", "a camera with a zone", "anti_abuse:\n", "cameras:\n  - id: cam1\n    url: rtsp://127.0.0.1:1/cam1\n" + zone + "anti_abuse:\n", ""},
	{"agent", "plain HTTP on the LAN", "  listen: 127.0.0.1:9480\n", "  listen: 0.0.0.0:9480\n", "http.tls: required on 0.0.0.0:9480 (not loopback)"},
	// (Accepted LAN addresses are in agent/config's TestListeners: a start
	// here would bind beyond loopback.)
	{"agent", "admin off loopback without a token", "  listen: 127.0.0.1:9483\n", "  listen: 0.0.0.0:9483\n", "admin.listen: 0.0.0.0:9483 is not loopback: set token and tls"},
	{"agent", "admin token too short", "  listen: 127.0.0.1:9483\n", "  listen: 127.0.0.1:9483\n  token: {file: {dir}/short.token}\n", "admin.token: shorter than 24 characters"},
	{"dashboard", "admin off loopback without TLS", "  listen: 127.0.0.1:9484\n", "  listen: 0.0.0.0:9484\n  token: {file: {dir}/k02.token}\n", "admin.listen: 0.0.0.0:9484 is not loopback: set token and tls"},
	{"agent", "HTTPS key of another certificate", "  listen: 127.0.0.1:9480\n", "  listen: 127.0.0.1:9480\n  tls: {cert_file: {dir}/cert.pem, key_file: {dir}/junk.pem}\n", "http.tls: load certificate"},
	{"agent", "kiosk token file missing", "{dir}/k01.token", "{dir}/missing.token", "kiosk k01 token: read secret file: open "},
	{"agent", "kiosk token file empty", "{dir}/k01.token", "{dir}/empty.token", "kiosk k01 token: secret file "},
	{"agent", "kiosk token a directory", "{dir}/k01.token", "{dir}", "kiosk k01 token: read secret file: read "},
	{"agent", "kiosk token a placeholder", "{dir}/k01.token", "{dir}/weak.token", "kiosk k01 token: a placeholder"},
	{"agent", "kiosk token from an unset variable", "token: {file: {dir}/k01.token}", "token: {env: PSCM_BADINPUT_UNSET}", "kiosk k01 token: secret environment variable PSCM_BADINPUT_UNSET is not set"},
	{"agent", "two kiosks, one token", "anti_abuse:\n", "  - {id: k02, counter: c02, counter_name_vi: \"Quầy 2\", counter_name_en: \"Counter 2\", token: {file: {dir}/k01.token}}\nanti_abuse:\n", "same token as kiosk k01"},
	{"agent", "officer photo missing", `counter_name_en: "Counter 1",`, `counter_name_en: "Counter 1", officer_photo: {dir}/nobody.jpg,`, "k01: officer_photo"},
	{"agent", "no kiosk", "kiosks:\n  - {id: k01, counter: c01, counter_name_vi: \"Quầy 1\", counter_name_en: \"Counter 1\", token: {file: {dir}/k01.token}}\n", "", "kiosk: no kiosks"},
	{"agent", "webhook token too short", "{dir}/webhook.token", "{dir}/short.token", "queue webhook token: shorter than 16 characters"},
	{"agent", "uplink password weak", "  client_id: edge-1\n", "  client_id: edge-1\n  username: edge-1\n  password: {file: {dir}/mqtt-weak.pass}\n", "uplink: mqtt password: a well-known default"},
	{"agent", "uplink CA not PEM", "  broker: tcp://127.0.0.1:1883\n", "  broker: ssl://127.0.0.1:8883\n  tls: {ca_file: {dir}/junk.pem}\n", "no PEM certificate found"},
	{"agent", "center's broker password missing", "", "local:\n  enabled: true\n  mqtt: {broker: tcp://127.0.0.1:1883, username: edge-1, password: {file: {dir}/missing.pass}}\n", "local: mqtt password: read secret file"},
	{"agent", "camera without a zone", "anti_abuse:\n", "cameras:\n  - {id: cam1, url: \"rtsp://127.0.0.1:1/cam1\"}\nanti_abuse:\n", "occupancy: no zones"},
	{"agent", "camera password file missing", "anti_abuse:\n", "cameras:\n  - id: cam1\n    url: rtsp://127.0.0.1:1/cam1\n    username: pscm\n    password: {file: {dir}/cam1.pass}\n" + zone + "anti_abuse:\n", "cameras[0].password: read secret file"},
	{"agent", "working hours in an unknown zone", "", "camera: {working_hours: {time_zone: Mars/Olympus}}\n", "camera.working_hours: time_zone"},
	{"agent", "calibration password too short", "", "camera: {calibration: {enabled: true, password: {file: {dir}/short.token}}}\n", "camera.calibration.password: shorter than 12 characters"},
	{"agent", "spool under a file", "dir: {dir}/spool", "dir: {dir}/k01.token/spool", "k01.token is not a directory"},

	{"collector", "the base", "", "", ""},
	{"collector", "InfluxDB token", "  bucket: pscm/autogen\n", "  bucket: pscm/autogen\n  token: {file: {dir}/influx.token}\n", ""},
	{"collector", "InfluxDB token file missing", "  bucket: pscm/autogen\n", "  bucket: pscm/autogen\n  token: {file: {dir}/missing.token}\n", "influxdb token: read secret file: open "},
	{"collector", "InfluxDB token file empty", "  bucket: pscm/autogen\n", "  bucket: pscm/autogen\n  token: {file: {dir}/empty.token}\n", "influxdb token: secret file "},
	{"collector", "InfluxDB token from an unset variable", "  bucket: pscm/autogen\n", "  bucket: pscm/autogen\n  token: {env: PSCM_BADINPUT_UNSET}\n", "influxdb token: secret environment variable PSCM_BADINPUT_UNSET is not set"},
	{"collector", "MQTT password weak", "  client_id: collector-1\n", "  client_id: collector-1\n  username: collector\n  password: {file: {dir}/mqtt-weak.pass}\n", "mqtt password: a well-known default"},
	{"collector", "MQTT client key of another certificate", "  broker: tcp://127.0.0.1:1883\n", "  broker: ssl://127.0.0.1:8883\n  tls: {cert_file: {dir}/cert.pem, key_file: {dir}/junk.pem}\n", "tls client certificate"},

	{"dashboard", "the base", "", "", ""},
	{"dashboard", "HTTPS", "  listen: 127.0.0.1:9482\n", "  listen: 127.0.0.1:9482\n  tls: {cert_file: {dir}/cert.pem, key_file: {dir}/key.pem}\n", ""},
	{"dashboard", "HTTPS certificate not PEM", "  listen: 127.0.0.1:9482\n", "  listen: 127.0.0.1:9482\n  tls: {cert_file: {dir}/junk.pem, key_file: {dir}/key.pem}\n", "http.tls: load certificate"},
	{"dashboard", "session key file missing", "{dir}/session.key", "{dir}/missing.key", "session_key: read secret file: open "},
	{"dashboard", "session key file empty", "{dir}/session.key", "{dir}/empty.token", "session_key: secret file "},
	{"dashboard", "session key too short", "{dir}/session.key", "{dir}/short.token", "session_key: session key is 11 bytes, need at least 32"},
	{"dashboard", "users file missing", "{dir}/users.yml", "{dir}/nobody.yml", "auth: users file: open "},
	{"dashboard", "users file readable by others", "{dir}/users.yml", "{dir}/users-0644.yml", "chmod 600"},
	{"dashboard", "users file with a cheap hash", "{dir}/users.yml", "{dir}/users-cost4.yml", "bcrypt cost 4 is below the minimum 10"},
	{"dashboard", "InfluxDB token file missing", "  bucket: pscm/autogen\n", "  bucket: pscm/autogen\n  token: {file: {dir}/missing.token}\n", "influxdb token: read secret file: open "},
	{"dashboard", "MQTT password weak", "  client_id: dashboard-1\n", "  client_id: dashboard-1\n  username: dashboard\n  password: {file: {dir}/mqtt-weak.pass}\n", "mqtt password: a well-known default"},
	{"dashboard", "unknown time zone", "", "time_zone: Mars/Olympus\n", "time_zone: unknown time zone Mars/Olympus"},
	{"dashboard", "working hours in another zone", "", "working_hours: {time_zone: Asia/Bangkok}\n", "working_hours.time_zone"},

	{"ctl", "the base", "", "", ""},
	{"ctl", "InfluxDB token", "timeout: 10s}", "timeout: 10s, token: {file: {dir}/influx.token}}", ""},
	{"ctl", "InfluxDB token file missing", "timeout: 10s}", "timeout: 10s, token: {file: {dir}/missing.token}}", "influxdb token: read secret file: open "},
	{"ctl", "InfluxDB token file empty", "timeout: 10s}", "timeout: 10s, token: {file: {dir}/empty.token}}", "influxdb token: secret file "},
	{"ctl", "unknown time zone", "", "time_zone: Mars/Olympus\n", "time_zone: unknown time zone Mars/Olympus"},
}

// TestCheckMeansStart proves that -config.check means "this will start",
// for each program: every configuration of startCases goes to the real
// binary's -config.check and then to its start, against a real Mosquitto
// and InfluxDB. One the check accepts must start (serve /healthz, the
// collector /readyz; pscm-ctl write a report) and stop cleanly on SIGTERM;
// one the start refuses must fail the check with the same line.
func TestCheckMeansStart(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs Mosquitto and InfluxDB")
	}
	dir := t.TempDir()
	writeFiles(t, dir, configFiles)
	writeFiles(t, dir, startFiles)
	certPEM := writeCert(t, dir)
	writeUsers(t, dir)
	mq := testenv.StartMosquitto(t)
	db := testenv.StartInflux(t, testenv.WithoutFlux())
	bins := map[string]string{}
	for prog := range configBases {
		bins[prog] = testenv.BuildProgram(t, "../../"+prog)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{
		DisableKeepAlives: true, TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}

	for i, c := range startCases {
		t.Run(c.prog+"/"+c.name, func(t *testing.T) {
			port := strconv.Itoa(testenv.FreePort(t))
			adminPort := strconv.Itoa(testenv.FreePort(t))
			content := strings.NewReplacer(
				"127.0.0.1:9483", "127.0.0.1:"+adminPort, "127.0.0.1:9484", "127.0.0.1:"+adminPort,
				"tcp://127.0.0.1:1883", mq.URL(), "http://127.0.0.1:8086", db.URL(),
				"127.0.0.1:9480", "127.0.0.1:"+port, "127.0.0.1:9481", "127.0.0.1:"+port, "127.0.0.1:9482", "127.0.0.1:"+port,
				// Each agent its own spool: a case never inherits another's.
				filepath.Join(dir, "spool")+"\n", filepath.Join(dir, fmt.Sprintf("spool-%d", i))+"\n",
			).Replace(c.content(t, dir))
			path := filepath.Join(dir, fmt.Sprintf("%s-start-%d.yml", c.prog, i))
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			code, checked := runBin(t, bins[c.prog], checkArgs(c.prog, path)...)
			argv := append([]string{bins[c.prog]}, startArgs(c.prog, path, dir, i)...)
			started, out := startProgram(t, argv, readiness(c.prog, port, client))
			t.Logf("check: exit %d: %s", code, textclip.Clip(strings.TrimSpace(checked), 300))
			switch {
			case c.want == "" && code != 0:
				t.Fatalf("the check refused a configuration meant to start: %s", textclip.Clip(checked, 1000))
			case c.want == "" && !started:
				t.Fatalf("the check passed, the start failed:\n%s", textclip.Clip(out, 2000))
			case c.want != "" && code == 0:
				t.Fatalf("the check passed a configuration the start must refuse (started %t):\n%s", started, textclip.Clip(out, 2000))
			case c.want != "" && started:
				t.Fatalf("the check refused, the program started anyway:\n%s", textclip.Clip(out, 2000))
			case c.want != "":
				if !strings.Contains(checked, c.want) {
					t.Errorf("the check's message lacks %q:\n%s", c.want, textclip.Clip(checked, 1000))
				}
				if lastLine(out) != lastLine(checked) {
					t.Errorf("the check and the start refuse in different words:\ncheck: %s\nstart: %s",
						textclip.Clip(lastLine(checked), 500), textclip.Clip(lastLine(out), 500))
				}
			}
			for _, name := range []string{"weak.token", "short.token", "mqtt-weak.pass"} {
				if s := startFiles[name]; strings.Contains(checked, s) || strings.Contains(out, s) {
					t.Errorf("the output shows the secret of %s", name)
				}
			}
		})
	}
}

// startArgs starts the program for real: pscm-ctl's start is a report on
// the base's site.
func startArgs(prog, path, dir string, i int) []string {
	if prog == "ctl" {
		return []string{"report", "-config", path, "-site", "anlao", "-period", "2026H1",
			"-o", filepath.Join(dir, fmt.Sprintf("report-%d.xlsx", i)), "-timeout", "20s"}
	}
	return []string{"-config", path}
}

// readiness is how a program shows it started, nil for pscm-ctl, which
// runs to its end: the collector is ready once connected to the broker
// and InfluxDB, the agent and the dashboard once they serve, over HTTP or
// HTTPS.
func readiness(prog, port string, client *http.Client) func(context.Context) error {
	get := func(ctx context.Context, url string) error { return testenv.HTTPReadyWith(client, url)(ctx) }
	switch prog {
	case "ctl":
		return nil
	case "collector":
		return func(ctx context.Context) error { return get(ctx, "http://127.0.0.1:"+port+"/readyz") }
	}
	return func(ctx context.Context) error {
		if err := get(ctx, "http://127.0.0.1:"+port+"/healthz"); err == nil {
			return nil
		}
		return get(ctx, "https://127.0.0.1:"+port+"/healthz")
	}
}

// startProgram runs argv until ready answers (then stops it by its PID
// with SIGTERM, and it must exit cleanly) or until it exits on its own;
// with ready nil it runs to its end. started is whether it got there; out
// is what it printed.
func startProgram(t *testing.T, argv []string, ready func(context.Context) error) (started bool, out string) {
	t.Helper()
	var buf testenv.SyncBuffer
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = &buf, &buf
	// Killed with the test binary, whatever kills it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		select {
		case err := <-exited:
			if ready == nil {
				return err == nil, buf.String()
			}
			if err == nil {
				t.Fatalf("exited 0 before it served:\n%s", textclip.Clip(buf.String(), 2000))
			}
			return false, buf.String()
		case <-deadline.C:
			_ = cmd.Process.Kill()
			<-exited
			t.Fatalf("neither ready nor exited within %v:\n%s", wait, textclip.Clip(buf.String(), 2000))
		case <-time.After(20 * time.Millisecond):
		}
		if ready == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := ready(ctx)
		cancel()
		if err != nil {
			continue
		}
		if err := syscall.Kill(cmd.Process.Pid, syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("after SIGTERM: %v\n%s", err, textclip.Clip(buf.String(), 2000))
			}
		case <-time.After(wait):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("still running %v after SIGTERM", wait)
		}
		return true, buf.String()
	}
}

// lastLine is the last non-empty line of s: where main prints the error.
func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	return s[strings.LastIndexByte(s, '\n')+1:]
}

// writeCert writes a self-signed certificate for 127.0.0.1 and its key as
// dir/cert.pem and dir/key.pem, and returns the certificate.
func writeCert(t *testing.T, dir string) []byte {
	t.Helper()
	cert, key := testenv.SelfSignedCert(t)
	writeFiles(t, dir, map[string]string{"cert.pem": string(cert), "key.pem": string(key)})
	return cert
}

// writeUsers writes the users files the dashboard must refuse: the base's
// readable by others, and one whose hash is too cheap to resist an offline
// attack on a leaked copy.
func writeUsers(t *testing.T, dir string) {
	t.Helper()
	cheap, err := bcrypt.GenerateFromPassword([]byte("mat-khau-dai-du-8d1f0c"), 4)
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{
		"users-0644.yml":  configFiles["users.yml"],
		"users-cost4.yml": strings.Replace(configFiles["users.yml"], "$2a$12$UIcS5PrJtlfbK0yw8v60JuRKv6TuL9I/KW3TKmnHU8G4j.Mhyabey", string(cheap), 1),
	})
	if err := os.Chmod(filepath.Join(dir, "users-0644.yml"), 0o644); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
}
