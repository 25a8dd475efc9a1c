//go:build linux

package badinput

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/pscm/pscm/internal/testenv"
	"github.com/pscm/pscm/internal/textclip"
)

const (
	// eventSite is the site the catalogue's MQTT events claim to come from.
	eventSite = "anlao"
	// agentSite and agentName are the real agent's center.
	agentSite = "phuoc-thanh"
	agentName = "badinput-edge-1"

	webhookToken = "badinput-webhook-token-0123456789"

	// wait bounds every poll: generous for a loaded 2-core machine, and
	// only ever reached when something is wrong.
	wait = 20 * time.Second
	tick = 10 * time.Millisecond
)

func kioskToken(k string) string { return "badinput-kiosk-token-" + k + "-0123456789" }

// world is the whole system every table runs against, started once: two
// brokers (central, and the center's own), InfluxDB, the collector and an
// agent, each a real process.
type world struct {
	dir            string
	central, local *testenv.Mosquitto
	db             *testenv.Influx
	collector      *testenv.Program
	agent          *testenv.Program
	collectorURL   string // http://127.0.0.1:port of /metrics
	agentURL       string // http://127.0.0.1:port of the kiosk API and /queue
	agentAdmin     string // http://127.0.0.1:port of the agent's /metrics
	agentBin       string
	ctlBin         string
	// pubCentral publishes as a device would on the central broker;
	// pubLocal as a button box or queue system on the center's broker.
	pubCentral, pubLocal mqtt.Client
	http                 *http.Client
}

func startWorld(t *testing.T) *world {
	t.Helper()
	w := &world{dir: t.TempDir(), http: &http.Client{Timeout: 10 * time.Second}}
	w.central = testenv.StartMosquitto(t)
	// The center's broker runs with the shipped center.conf's session,
	// queue and persistence settings, as in production.
	w.local = testenv.StartMosquitto(t, testenv.WithSettingsOf(t, filepath.Join(testenv.RepoRoot(t), "configs/mosquitto/center.conf")))
	w.db = testenv.StartInflux(t, testenv.WithoutFlux())
	collectorBin := testenv.BuildProgram(t, "../../collector")
	w.agentBin = testenv.BuildProgram(t, "../../agent")
	w.ctlBin = testenv.BuildProgram(t, "../../ctl")

	cport := testenv.FreePort(t)
	w.collectorURL = fmt.Sprintf("http://127.0.0.1:%d", cport)
	ccfg := w.write(t, "collector.yml", fmt.Sprintf(`mqtt:
  broker: %s
  client_id: badinput-collector
  keepalive: 5s
  max_reconnect_interval: 1s
influxdb:
  url: %s
  bucket: %s
batch:
  flush_interval: 2ms
http:
  listen: 127.0.0.1:%d
log: {level: info, format: json}
`, w.central.URL(), w.db.URL(), w.db.Bucket(), cport))
	w.collector = testenv.StartProgram(t, "collector", w.dir, []string{collectorBin, "-config", ccfg}, 30*time.Second,
		testenv.HTTPReady(w.collectorURL+"/readyz"))

	aport := testenv.FreePort(t)
	w.agentURL = fmt.Sprintf("http://127.0.0.1:%d", aport)
	adminPort := testenv.FreePort(t)
	w.agentAdmin = fmt.Sprintf("http://127.0.0.1:%d", adminPort)
	var kiosks strings.Builder
	for _, k := range []string{"k01", "k02"} {
		tok := w.write(t, k+".token", kioskToken(k))
		fmt.Fprintf(&kiosks, "  - {id: %s, counter: c%s, counter_name_vi: \"Quầy %s\", counter_name_en: \"Counter %s\", token: {file: %s}}\n",
			k, k[1:], k[1:], k[1:], tok)
	}
	acfg := w.write(t, "agent.yml", fmt.Sprintf(`site: %s
agent: %s
uplink:
  broker: %s
  client_id: badinput-agent
  keepalive: 5s
  max_reconnect_interval: 1s
local:
  enabled: true
  mqtt:
    broker: %s
    client_id: badinput-agent-local
    keepalive: 5s
    max_reconnect_interval: 1s
http:
  listen: 127.0.0.1:%d
admin:
  listen: 127.0.0.1:%d
spool:
  dir: %s
kiosks:
%santi_abuse:
  min_interval: 0s
queue:
  webhook_token: {file: %s}
  services: [ho-tich]
status_interval: 1h       # its status at connect only: a periodic one would land among the collector cases' counted messages
log: {level: info, format: json}
`, agentSite, agentName, w.central.URL(), w.local.URL(), aport, adminPort, filepath.Join(w.dir, "spool"), kiosks.String(),
		w.write(t, "webhook.token", webhookToken)))
	w.agent = testenv.StartProgram(t, "agent", w.dir, []string{w.agentBin, "-config", acfg}, 30*time.Second,
		testenv.HTTPReady(w.agentURL+"/healthz"))
	// A raw press published before the agent's subscription is granted is
	// not queued for it; wait for the grant.
	testenv.Eventually(t, wait, 50*time.Millisecond, func() bool {
		return strings.Contains(readFile(t, w.agent.LogPath()), "subscribed on the center's broker")
	}, "the agent never subscribed on the center's broker")

	w.pubCentral = connect(t, w.central.URL(), "badinput-device")
	w.pubLocal = connect(t, w.local.URL(), "badinput-buttons")
	return w
}

func (w *world) write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(w.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// connect returns a connected MQTT client that publishes at QoS 1.
func connect(t *testing.T, broker, id string) mqtt.Client {
	t.Helper()
	opts := mqtt.NewClientOptions().AddBroker(broker).SetClientID(id).SetCleanSession(true).
		SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
	c := mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s to %s: %v", id, broker, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

// publish sends payload at QoS 1 and waits for the broker's PUBACK, so
// what follows on the same client is delivered after it.
func publish(t *testing.T, c mqtt.Client, topic string, payload []byte) {
	t.Helper()
	tok := c.Publish(topic, 1, false, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish to %s: %v", textclip.Clip(topic, 80), tok.Error())
	}
}

// metrics scrapes a program's /metrics into "name{labels}" -> value.
func (w *world) metrics(t *testing.T, base string) map[string]float64 {
	t.Helper()
	resp, err := w.http.Get(base + "/metrics")
	if err != nil {
		t.Fatalf("scrape %s: %v", base, err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("scrape %s: %v", base, err)
	}
	return out
}

// logMark is a position in a program's log: the catalogue reads only what
// a case made the program write.
type logMark struct {
	path string
	off  int64
}

func markLog(t *testing.T, p *testenv.Program) logMark {
	t.Helper()
	fi, err := os.Stat(p.LogPath())
	if err != nil {
		t.Fatal(err)
	}
	return logMark{path: p.LogPath(), off: fi.Size()}
}

// since returns the log lines written after the mark.
func (m logMark) since(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(m.path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Seek(m.off, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

// logLine returns the first line since the mark whose JSON has msg and
// every key/value in kv (values compared as strings, by substring), or "".
func (m logMark) logLine(t *testing.T, msg string, kv ...string) string {
	t.Helper()
	for _, line := range m.since(t) {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil || rec["msg"] != msg {
			continue
		}
		ok := true
		for i := 0; i+1 < len(kv); i += 2 {
			if !strings.Contains(fmt.Sprint(rec[kv[i]]), kv[i+1]) {
				ok = false
			}
		}
		if ok {
			return line
		}
	}
	return ""
}

// snapshot is every field count of every measurement in InfluxDB, as
// "measurement.count_field" -> count: a point written anywhere, with any
// tags or fields, changes it. The agent's retained status is left out:
// it refreshes on its own every few seconds.
func (w *world) snapshot(t *testing.T) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, s := range w.db.Query(t, "SHOW MEASUREMENTS") {
		for _, v := range s.Values {
			m := fmt.Sprint(v[0])
			q := `SELECT count(*) FROM "` + m + `"`
			if m == "agent" {
				q += ` WHERE "agent" != '` + agentName + `'`
			}
			for _, r := range w.db.Query(t, q) {
				for i, col := range r.Columns {
					if col == "time" {
						continue
					}
					n, _ := r.Values[0][i].(json.Number).Int64()
					out[m+"."+col] = n
				}
			}
		}
	}
	return out
}

// diff lists what changed from before to after, sorted, "" when nothing.
func diff(before, after map[string]int64) string {
	var d []string
	for k, v := range after {
		if before[k] != v {
			d = append(d, fmt.Sprintf("%s %d -> %d", k, before[k], v))
		}
	}
	for k, v := range before {
		if _, ok := after[k]; !ok {
			d = append(d, fmt.Sprintf("%s %d -> gone", k, v))
		}
	}
	sort.Strings(d)
	return strings.Join(d, "; ")
}

// plus returns s with the fields of the given points added: what a
// snapshot looks like after exactly those points were written.
func plus(s map[string]int64, points ...map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(s))
	for k, v := range s {
		out[k] = v
	}
	for _, p := range points {
		for k, v := range p {
			out[k] += v
		}
	}
	return out
}

// pointFields is the snapshot delta of the one point of measurement m
// whose id field is id: 1 for each field it has.
func (w *world) pointFields(t *testing.T, m, id string) map[string]int64 {
	t.Helper()
	keys := map[string]bool{}
	for _, s := range w.db.Query(t, `SHOW FIELD KEYS FROM "`+m+`"`) {
		for _, v := range s.Values {
			keys[fmt.Sprint(v[0])] = true
		}
	}
	rows := w.db.Query(t, `SELECT * FROM "`+m+`" WHERE "id" = '`+id+`'`)
	if len(rows) != 1 || len(rows[0].Values) != 1 {
		t.Fatalf("want exactly one %s point with id %s, got %+v", m, id, rows)
	}
	out := map[string]int64{}
	for i, col := range rows[0].Columns {
		if keys[col] && rows[0].Values[0][i] != nil {
			out[m+".count_"+col] = 1
		}
	}
	return out
}
