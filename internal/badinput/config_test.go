//go:build linux

package badinput

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pscm/pscm/internal/testenv"
	"github.com/pscm/pscm/internal/textclip"
)

// configBases are a valid configuration of each program; {dir} is the
// test's directory, which holds the secret and users files they name.
var configBases = map[string]string{
	"agent": `site: anlao
agent: anlao-edge-1
uplink:
  broker: tcp://127.0.0.1:1883
  client_id: edge-1
http:
  listen: 127.0.0.1:9480
admin:
  listen: 127.0.0.1:9483
spool:
  dir: {dir}/spool
kiosks:
  - {id: k01, counter: c01, counter_name_vi: "Quầy 1", counter_name_en: "Counter 1", token: {file: {dir}/k01.token}}
anti_abuse:
  min_interval: 5s
queue:
  webhook_token: {file: {dir}/webhook.token}
  services: [ho-tich]
log: {level: info, format: text}
`,
	"collector": `mqtt:
  broker: tcp://127.0.0.1:1883
  client_id: collector-1
influxdb:
  url: http://127.0.0.1:8086
  bucket: pscm/autogen
batch:
  size: 5000
http:
  listen: 127.0.0.1:9481
log: {level: info, format: text}
`,
	"dashboard": `http:
  listen: 127.0.0.1:9482
admin:
  listen: 127.0.0.1:9484
influxdb:
  url: http://127.0.0.1:8086
  bucket: pscm/autogen
mqtt:
  broker: tcp://127.0.0.1:1883
  client_id: dashboard-1
sites:
  - id: anlao
    name: "Trung tâm Phục vụ hành chính công xã An Lão"
users_file: {dir}/users.yml
state_dir: {dir}
session_key: {file: {dir}/session.key}
reload_interval: 60s
log: {level: info, format: text}
`,
	"ctl": `influxdb: {url: "http://127.0.0.1:8086", bucket: pscm/autogen, timeout: 10s}
sites:
  - id: anlao
    name: "Trung tâm Phục vụ hành chính công xã An Lão"
targets:
  satisfaction_pct: 95
  on_time_pct: 98
log: {level: info, format: text}
`,
}

// configFiles are the secret and users files the bases name, written
// owner-only into {dir}.
var configFiles = map[string]string{
	"k01.token": "kiosk-token-0123456789", "webhook.token": "webhook-token-0123456789",
	"session.key": strings.Repeat("s", 48),
	// The fault suite's manager; the hash is of a throwaway password.
	"users.yml": "users:\n  - name: giamsat\n    hash: \"$2a$12$UIcS5PrJtlfbK0yw8v60JuRKv6TuL9I/KW3TKmnHU8G4j.Mhyabey\"\n    role: manager\n    sites: [anlao]\n",
}

// writeFiles writes each file into dir, mode 0600.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// configCase replaces from (which must be in the program's base) with to,
// or appends to when from is "", and runs the program's -config.check:
// it must exit non-zero and print want, which names the key at fault.
type configCase struct {
	prog, name, from, to, want string
}

// content is the program's base with the case applied, {dir} replaced.
func (c configCase) content(t *testing.T, dir string) string {
	t.Helper()
	base := configBases[c.prog]
	var content string
	if c.from == "" {
		content = base + c.to
	} else {
		if !strings.Contains(base, c.from) {
			t.Fatalf("%q is not in the %s base: the case breaks nothing", c.from, c.prog)
		}
		content = strings.Replace(base, c.from, c.to, 1)
	}
	return strings.ReplaceAll(content, "{dir}", dir)
}

// secrets are the inline secrets the cases write: no message may show
// them, nor the 7-character prefix a YAML type error quotes.
var secrets = []string{"inline-secret-0123456789", "user:password", strings.Repeat("k", 48)}

// A YAML "billion laughs": nine levels of nine aliases.
var yamlBomb = func() string {
	var b strings.Builder
	b.WriteString("x0: &x0 [\"lol\"]\n")
	for i := 1; i <= 9; i++ {
		b.WriteString("x" + string(rune('0'+i)) + ": &x" + string(rune('0'+i)) + " [")
		for j := range 9 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*x" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	return b.String()
}()

var configCases = func() []configCase {
	var cs []configCase
	// What every program's loader must refuse the same way.
	for _, p := range []string{"agent", "collector", "dashboard", "ctl"} {
		cs = append(cs,
			configCase{p, "unknown top-level key", "", "lgo: {level: debug}\n", "field lgo not found"},
			configCase{p, "unknown log key", "log: {level: info, format: text}", "log: {level: info, format: text, colour: true}", "field colour not found"},
			configCase{p, "log level a list", "log: {level: info,", "log: {level: [info],", "cannot unmarshal"},
			configCase{p, "unknown log level", "log: {level: info,", "log: {level: loud,", `log.level: "loud"`},
			configCase{p, "two YAML documents", "", "---\nlog: {level: debug}\n", "more than one YAML document"},
			configCase{p, "a 2 MiB file", "", "# " + strings.Repeat("x", 2<<20) + "\n", "larger than 1048576 bytes"},
			configCase{p, "not YAML", "", "\t:\x00\xff[", "yaml"},
			configCase{p, "a YAML bomb", "", yamlBomb, "field x0 not found"},
		)
	}
	return append(cs,
		configCase{"agent", "bad site ID", "site: anlao", "site: An Lão", "site"},
		configCase{"agent", "site with injection", "site: anlao", `site: "a,b=c d=1"`, "site"},
		configCase{"agent", "min_interval over 1h", "min_interval: 5s", "min_interval: 2h", "min_interval"},
		configCase{"agent", "min_interval not a duration", "min_interval: 5s", "min_interval: soon", "time.Duration"},
		configCase{"agent", "inline kiosk token", "token: {file: {dir}/k01.token}", "token: inline-secret-0123456789", "a secret is never written in the file: use {file:"},
		configCase{"agent", "inline webhook token", "webhook_token: {file: {dir}/webhook.token}", "webhook_token: inline-secret-0123456789", "a secret is never written in the file: use {file:"},
		configCase{"agent", "token credential a path", "token: {file: {dir}/k01.token}", "token: {credential: ../k01.token}", "not a path"},
		configCase{"agent", "token from file and env", "token: {file: {dir}/k01.token}", "token: {file: {dir}/k01.token, env: TOKEN}", "set one of file, env or credential, not several"},
		configCase{"agent", "kiosk twice", "kiosks:\n", "kiosks:\n  - {id: k01, counter: c02, counter_name_vi: \"Quầy 2\", counter_name_en: \"Counter 2\", token: {file: {dir}/k01.token}}\n", "k01"},
		configCase{"agent", "broker with credentials", "broker: tcp://127.0.0.1:1883", "broker: tcp://user:pass@127.0.0.1:1883", "uplink.broker"},
		configCase{"agent", "listen not an address", "listen: 127.0.0.1:9480", "listen: everywhere", "http.listen"},
		configCase{"collector", "batch size 0", "size: 5000", "size: 0", "batch.size"},
		configCase{"collector", "batch size a string", "size: 5000", "size: many", "cannot unmarshal"},
		configCase{"collector", "inline InfluxDB token", "bucket: pscm/autogen\n", "bucket: pscm/autogen\n  token: user:password\n", "a secret is never written in the file: use {file:"},
		configCase{"collector", "credentials in the InfluxDB URL", "url: http://127.0.0.1:8086", "url: http://user:pass@127.0.0.1:8086", "influxdb.url"},
		configCase{"collector", "broker scheme", "broker: tcp://127.0.0.1:1883", "broker: http://127.0.0.1:1883", "mqtt.broker"},
		configCase{"collector", "bad shared group", "http:\n", "subscribe: {shared_group: \"g/#\"}\nhttp:\n", "subscribe.shared_group"},
		configCase{"collector", "negative shutdown timeout", "", "shutdown_timeout: -1s\n", "shutdown_timeout"},
		configCase{"dashboard", "inline session key", "session_key: {file: {dir}/session.key}", "session_key: " + strings.Repeat("k", 48), "a secret is never written in the file: use {file:"},
		configCase{"dashboard", "no users file", "users_file: {dir}/users.yml\n", "", "users_file"},
		configCase{"dashboard", "users file missing", "users_file: {dir}/users.yml", "users_file: {dir}/nobody.yml", "nobody.yml"},
		configCase{"dashboard", "reload every second", "reload_interval: 60s", "reload_interval: 1s", "reload_interval"},
		configCase{"dashboard", "bad site ID", "  - id: anlao", "  - id: \"An Lão\"", "sites[0].id"},
		configCase{"dashboard", "unknown query language", "bucket: pscm/autogen\n", "bucket: pscm/autogen\n  lang: sql\n", "influxdb.lang"},
		configCase{"ctl", "target over 100 %", "satisfaction_pct: 95", "satisfaction_pct: 150", "satisfaction_pct"},
		configCase{"ctl", "inline InfluxDB token", "timeout: 10s}", "timeout: 10s, token: user:password}", "a secret is never written in the file: use {file:"},
		configCase{"ctl", "unknown time zone", "", "time_zone: Mars/Olympus\n", "time_zone"},
		configCase{"ctl", "no sites", "sites:\n  - id: anlao\n    name: \"Trung tâm Phục vụ hành chính công xã An Lão\"\n", "", "sites"},
	)
}()

// checkArgs is how each program is asked to check a configuration.
func checkArgs(prog, path string) []string {
	if prog == "ctl" {
		return []string{"report", "-config", path, "-config.check"}
	}
	return []string{"-config", path, "-config.check"}
}

// TestConfigCheck runs each program's real binary with -config.check on
// each broken configuration: a non-zero exit and a message naming the key.
// The unmodified base must pass, so each case breaks exactly one thing.
func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, configFiles)
	bins := map[string]string{}
	for prog := range configBases {
		bins[prog] = testenv.BuildProgram(t, "../../"+prog)
		base := strings.ReplaceAll(configBases[prog], "{dir}", dir)
		path := filepath.Join(dir, prog+"-base.yml")
		if err := os.WriteFile(path, []byte(base), 0o600); err != nil {
			t.Fatal(err)
		}
		if code, out := runBin(t, bins[prog], checkArgs(prog, path)...); code != 0 {
			t.Fatalf("the %s base configuration does not pass -config.check (%d): %s", prog, code, out)
		}
	}
	for i, c := range configCases {
		t.Run(c.prog+"/"+c.name, func(t *testing.T) {
			content := c.content(t, dir)
			path := filepath.Join(dir, fmt.Sprintf("%s-case-%d.yml", c.prog, i))
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			code, out := runBin(t, bins[c.prog], checkArgs(c.prog, path)...)
			if code == 0 {
				t.Fatalf("-config.check passed a broken configuration: %s", textclip.Clip(out, 500))
			}
			if !strings.Contains(out, c.want) {
				t.Errorf("exit %d, message lacks %q:\n%s", code, c.want, textclip.Clip(out, 1000))
			}
			t.Logf("exit %d: %s", code, textclip.Clip(strings.TrimSpace(out), 300))
			if len(out) > 4000 {
				t.Errorf("message of %d bytes: it must not echo the file", len(out))
			}
			for _, secret := range secrets {
				if strings.Contains(content, secret) && strings.Contains(out, secret[:7]) {
					t.Errorf("the message shows (part of) a secret: %s", textclip.Clip(out, 500))
				}
			}
		})
	}
}
