//go:build linux

package faultsuite

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/rtspsim"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/simcenter"
	"github.com/pscm/pscm/internal/testenv"
)

const (
	// simSite is the simulated center: the simulator publishes its whole
	// event stream (as its agent would) straight to the central broker.
	simSite     = "anlao"
	simCounters = 8
	// agentSite is the center whose real agent runs here: kiosk taps over
	// HTTP, buttons and queue steps on its own broker, an uplink to the
	// central broker through a proxy the suite can cut. A site of its own,
	// so its events and the simulator's never share a point identity and
	// each has its own ground truth.
	agentSite = "phuoc-thanh"
	agentName = "phuoc-thanh-edge-1"
	// speed is the simulator's pace: simulated seconds per real second.
	speed = 10

	dashUser = "giamsat"
	dashPass = "faults-suite-pass-2026"

	// reloadInterval is the dashboard's reload from InfluxDB, its smallest
	// allowed value: the dashboard must agree with InfluxDB within it.
	reloadInterval = 10 * time.Second

	// spoolFS is the size of the tmpfs holding the agent's spool: ample for
	// a five-minute outage, small enough to fill in a moment.
	spoolFS = 32 << 20
)

// system is the whole pscm deployment of the suite, started once: the
// scenarios run one after another against it, so each fault meets the state
// the earlier ones left (sessions, spool cursor, retained messages), as
// faults in production do.
type system struct {
	dir            string
	central, local *testenv.Mosquitto
	db             *testenv.Influx
	// uplink is the agent's only way to the central broker.
	uplink                      *testenv.Proxy
	collector, agent, dashboard *testenv.Program
	agentAddr, dashAddr         string
	agentAdmin, dashAdmin       string // metrics and health
	simBin                      string
	spoolDir                    string
	// spoolTmpfs is where the spool's own small filesystem is mounted; ""
	// when it could not be mounted (not root): the disk scenario then
	// lowers the spool's max_bytes instead.
	spoolTmpfs string
	agentCfg   string
	sims       int // simulator runs so far; each has its own seed
	// camera is the agent's one camera (camera_test.go); camConfig its
	// part of the agent's configuration, camZones how many zones it has.
	camera    *rtspsim.Server
	camConfig string
	camZones  int
}

func startSystem(t *testing.T) *system {
	t.Helper()
	s := &system{dir: t.TempDir()}
	// Both brokers run with the shipped configs' session, queue and
	// persistence settings, as in production. The central broker also has
	// production's logins: a user per program, the shipped ACL, client IDs
	// bound to user names; the impostor scenario tries to get round them.
	central := s.centralSecurity(t)
	s.central = testenv.StartMosquitto(t, testenv.WithSettingsOf(t, filepath.Join(testenv.RepoRoot(t), "configs/mosquitto/mosquitto.conf")),
		testenv.WithSetting("use_username_as_clientid", "true"), central)
	s.local = testenv.StartMosquitto(t, testenv.WithSettingsOf(t, filepath.Join(testenv.RepoRoot(t), "configs/mosquitto/center.conf")))
	s.db = testenv.StartInflux(t, testenv.WithoutFlux())
	s.uplink = testenv.StartProxy(t, s.central.Addr())

	began := time.Now()
	collectorBin := testenv.BuildProgram(t, "../../collector")
	agentBin := testenv.BuildProgram(t, "../../agent")
	dashBin := testenv.BuildProgram(t, "../../dashboard")
	s.simBin = testenv.BuildProgram(t, "../../sim")
	t.Logf("programs built in %v", time.Since(began).Round(time.Millisecond))

	// Collector: persistent session, acks after the InfluxDB write.
	cport := testenv.FreePort(t)
	ccfg := s.write(t, "collector.yml", fmt.Sprintf(`mqtt:
  broker: %s
  client_id: faults-collector
  username: collector
  password: {file: %s}
  keepalive: 5s
  max_reconnect_interval: 1s
influxdb:
  url: %s
  bucket: %s
  retry_initial: 50ms
  retry_max: 1s
batch:
  flush_interval: 5ms
http:
  listen: 127.0.0.1:%d
`, s.central.URL(), s.passwordFile("collector"), s.db.URL(), s.db.Bucket(), cport))
	// /readyz answers 200 only once every subscription is granted: from
	// then on the broker queues for the collector's session.
	s.collector = testenv.StartProgram(t, "collector", s.dir, []string{collectorBin, "-config", ccfg}, 30*time.Second,
		testenv.HTTPReady(fmt.Sprintf("http://127.0.0.1:%d/readyz", cport)))

	// Agent: spool on its own small filesystem when we may mount one.
	s.spoolTmpfs = filepath.Join(s.dir, "spoolfs")
	if err := testenv.MountTmpfs(t, s.spoolTmpfs, spoolFS); err != nil {
		t.Logf("no tmpfs for the spool (%v): the disk scenario will lower spool.max_bytes instead", err)
		s.spoolTmpfs = ""
		s.spoolDir = filepath.Join(s.dir, "spool")
	} else {
		s.spoolDir = filepath.Join(s.spoolTmpfs, "spool")
	}
	aport := testenv.FreePort(t)
	s.agentAddr = fmt.Sprintf("127.0.0.1:%d", aport)
	s.agentAdmin = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	s.startCamera(t)
	s.agentCfg = s.write(t, "agent.yml", s.agentConfig(t, aport, 0))
	s.agent = testenv.StartProgram(t, "agent", s.dir, []string{agentBin, "-config", s.agentCfg}, 30*time.Second,
		testenv.HTTPReady("http://"+s.agentAddr+"/healthz"))
	// What the buttons publish before the agent's first subscription would
	// not be queued for it; after that its persistent session holds it.
	testenv.Eventually(t, 30*time.Second, 50*time.Millisecond, func() bool {
		return strings.Contains(readFile(t, s.agent.LogPath()), "subscribed on the center's broker")
	}, "the agent never subscribed on the center's broker")

	// Dashboard: both sites, reloading as often as it may.
	users, err := os.ReadFile("testdata/users.yml")
	if err != nil {
		t.Fatal(err)
	}
	usersPath := filepath.Join(s.dir, "users.yml")
	if err := os.WriteFile(usersPath, users, 0o600); err != nil {
		t.Fatal(err)
	}
	keyPath := s.write(t, "session.key", strings.Repeat("f", 48))
	dport := testenv.FreePort(t)
	s.dashAddr = fmt.Sprintf("127.0.0.1:%d", dport)
	s.dashAdmin = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	var counters strings.Builder
	for i := 1; i <= simCounters; i++ {
		fmt.Fprintf(&counters, "      - {id: c%02d, name_vi: \"Quầy %d\", name_en: \"Counter %d\"}\n", i, i, i)
	}
	dcfg := s.write(t, "dashboard.yml", fmt.Sprintf(`http:
  listen: %s
admin:
  listen: %s
influxdb:
  url: %s
  bucket: %s
mqtt:
  broker: %s
  client_id: faults-dashboard
  username: dashboard
  password: {file: %s}
  keepalive: 5s
  max_reconnect_interval: 1s
sites:
  - id: %s
    name: "Trung tâm Phục vụ hành chính công xã An Lão (mô phỏng)"
    counters:
%s  - id: %s
    name: "Trung tâm xã Phước Thành"
    counters:
      - {id: c01, name_vi: "Quầy 1", name_en: "Counter 1"}
      - {id: c02, name_vi: "Quầy 2", name_en: "Counter 2"}
      - {id: c03, name_vi: "Quầy 3", name_en: "Counter 3"}
      - {id: c04, name_vi: "Quầy 4", name_en: "Counter 4"}
      - {id: c11, name_vi: "Quầy 11", name_en: "Counter 11"}
      - {id: c12, name_vi: "Quầy 12", name_en: "Counter 12"}
auth:
  secure: false
users_file: %s
session_key: {file: %s}
state_dir: %s
reload_interval: %s
push_interval: 100ms
working_hours: {time_zone: Asia/Ho_Chi_Minh, days: [mon, tue, wed, thu, fri, sat, sun], spans: ["00:00-23:59"]}
`, s.dashAddr, s.dashAdmin, s.db.URL(), s.db.Bucket(), s.central.URL(), s.passwordFile("dashboard"), simSite, counters.String(), agentSite, usersPath, keyPath, s.dir, reloadInterval))
	s.dashboard = testenv.StartProgram(t, "dashboard", s.dir, []string{dashBin, "-config", dcfg}, 30*time.Second,
		testenv.HTTPReady("http://"+s.dashAddr+"/healthz"))
	return s
}

// agentConfig is the agent's YAML; maxBytes > 0 sets spool.max_bytes.
func (s *system) agentConfig(t *testing.T, port int, maxBytes int64) string {
	t.Helper()
	var kiosks strings.Builder
	for i := 1; i <= 4; i++ {
		tok := s.write(t, fmt.Sprintf("k%02d.token", i), kioskToken(fmt.Sprintf("k%02d", i)))
		fmt.Fprintf(&kiosks, "  - id: k%02d\n    counter: c%02d\n    counter_name_vi: \"Quầy %d\"\n    counter_name_en: \"Counter %d\"\n    token: {file: %s}\n",
			i, i, i, i, tok)
	}
	webhook := s.write(t, "webhook.token", webhookToken)
	limit := ""
	if maxBytes > 0 {
		limit = fmt.Sprintf("  max_bytes: %d\n", maxBytes)
	}
	return fmt.Sprintf(`site: %s
agent: %s
uplink:
  broker: %s
  client_id: faults-agent
  username: %s
  password: {file: %s}
  keepalive: 5s
  max_reconnect_interval: 1s
local:
  enabled: true
  mqtt:
    broker: %s
    client_id: faults-agent-local
    keepalive: 5s
    max_reconnect_interval: 1s
http:
  listen: 127.0.0.1:%d
admin:
  listen: %s
spool:
  dir: %s
%skiosks:
%santi_abuse:
  min_interval: 0s
queue:
  webhook_token: {file: %s}
  services: [ho-tich, dat-dai]
  counters: [c11, c12]
status_interval: 5s
%s`, agentSite, agentName, s.uplink.URL(), agentName, s.passwordFile(agentName), s.local.URL(), port, s.agentAdmin, s.spoolDir, limit, kiosks.String(), webhook, s.camConfig)
}

const webhookToken = "faults-webhook-token-0123456789"

func kioskToken(kiosk string) string { return "faults-kiosk-token-" + kiosk + "-0123456789" }

func (s *system) write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(s.dir, name)
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

// simReport is the line pscm-sim -report prints.
type simReport struct {
	Distinct int                 `json:"distinct"`
	Kinds    map[schema.Kind]int `json:"kinds"`
	Messages int64               `json:"messages"`
	Acked    int64               `json:"acked"`
	Retried  int64               `json:"retried"`
	Flushed  bool                `json:"flushed"`
	From     time.Time           `json:"from"`
	To       time.Time           `json:"to"`
}

// simRun is one pscm-sim process: a simulated center publishing for a
// fixed real time, from a simulated start no other run overlaps.
type simRun struct {
	seed  int64
	start time.Time
	cmd   *exec.Cmd
	out   bytes.Buffer
	log   string
	done  chan struct{} // closed once the process has exited
	err   error         // its exit status, valid after done
}

// startSim runs the simulator in center mode at 10x from start for d of
// real time. -catch-up stays on: should the simulated clock ever reach the
// wall clock it slows to real time, so no event is stamped in the future
// (the suite picks start so that it never does).
func (s *system) startSim(t *testing.T, start time.Time, d time.Duration) *simRun {
	t.Helper()
	s.sims++
	r := &simRun{seed: int64(s.sims), start: start, done: make(chan struct{}),
		log: filepath.Join(s.dir, fmt.Sprintf("sim-%d.log", s.sims))}
	logf, err := os.Create(r.log)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	r.cmd = exec.Command(s.simBin, "-mode", "center", "-broker", s.central.URL(),
		"-client-id", fmt.Sprintf("faults-sim-%d", s.sims), "-username", simUser, "-password-file", s.passwordFile(simUser), "-site", simSite, "-counters", fmt.Sprint(simCounters),
		"-seed", fmt.Sprint(r.seed), "-speed", fmt.Sprint(speed), "-catch-up=true",
		"-start", start.Format(time.RFC3339), "-duration", d.String(), "-report")
	r.cmd.Stdout, r.cmd.Stderr = &r.out, logf
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start pscm-sim: %v", err)
	}
	go func() { r.err = r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			_ = r.cmd.Process.Kill()
			<-r.done
		}
	})
	return r
}

// wait returns the run's report once it has exited, with the events it
// published regenerated from its seed for what the report does not say
// (each rating's kiosk and level).
func (r *simRun) wait(t *testing.T, timeout time.Duration) (simReport, []simcenter.Message) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(timeout):
		_ = r.cmd.Process.Kill()
		<-r.done
		t.Fatalf("pscm-sim did not exit within %v\n%s", timeout, testenv.Tail(readFile(t, r.log), 30))
	}
	var rep simReport
	sc := bufio.NewScanner(&r.out)
	for sc.Scan() {
		if err := json.Unmarshal(sc.Bytes(), &rep); err == nil {
			break
		}
	}
	if r.err != nil || !rep.Flushed || rep.Distinct == 0 {
		t.Errorf("pscm-sim: %v, report %+v: every published event must be acknowledged by the broker\n%s",
			r.err, rep, testenv.Tail(readFile(t, r.log), 30))
	}
	// The generator is deterministic: the first Distinct events of the
	// same seed and start are exactly what was published.
	g := simcenter.New(simcenter.Config{Site: simSite, Counters: simCounters, Seed: r.seed, Start: r.start})
	msgs := make([]simcenter.Message, rep.Distinct)
	for i := range msgs {
		msgs[i] = g.Next()
	}
	for k, n := range simcenter.Count(msgs) {
		if rep.Kinds[k] != n {
			t.Errorf("pscm-sim reported %d %s events, its generator makes %d for seed %d: the ground truth itself is off", rep.Kinds[k], k, n, r.seed)
		}
	}
	if len(msgs) > 0 && msgs[len(msgs)-1].At.After(time.Now()) {
		t.Errorf("pscm-sim stamped an event in the future: %v", msgs[len(msgs)-1].At)
	}
	return rep, msgs
}

// simStart picks where simulated time begins: 07:30 in Vietnam, when the
// counters open, on the latest weekday on which the whole run (span of
// simulated time) ends at least ten minutes before now. Every event then
// lies in the past and in working hours, so ratings, queues, sessions and
// dossiers all happen.
func simStart(now time.Time, span time.Duration) time.Time {
	loc := simcenter.Location()
	y, m, d := now.In(loc).Date()
	for day := time.Date(y, m, d, 7, 30, 0, 0, loc); ; day = day.AddDate(0, 0, -1) {
		if day.Weekday() != time.Saturday && day.Weekday() != time.Sunday && !day.Add(span).After(now.Add(-10*time.Minute)) {
			return day.UTC()
		}
	}
}

// The central broker's users besides the programs': the simulator, which
// publishes simSite's events as its agent would, and the one-stop-shop
// software's login (dossiers only), which the impostor scenario borrows.
const (
	simUser    = "faults-sim"
	motcuaUser = "motcua"
)

// centralUsers are the central broker's logins.
var centralUsers = []string{"collector", "dashboard", agentName, simUser, motcuaUser}

// passwordFile is the file holding user's broker password.
func (s *system) passwordFile(user string) string {
	return filepath.Join(s.dir, "mqtt-"+user+".pass")
}

// password is user's broker password (not a secret outside this test).
func password(user string) string { return "faults-" + user + "-password-0123" }

// centralSecurity writes the central broker's password file, its ACL (the
// shipped one, and the simulator's site), a server certificate, and the
// password files the programs read.
func (s *system) centralSecurity(t *testing.T) testenv.MosquittoOption {
	t.Helper()
	pki := filepath.Join(s.dir, "pki")
	if out, err := exec.Command(filepath.Join(testenv.RepoRoot(t), "scripts/certs.sh"), pki, "server", "broker", "127.0.0.1").CombinedOutput(); err != nil {
		t.Fatalf("certs.sh: %v\n%s", err, out)
	}
	users := map[string]string{}
	for _, u := range centralUsers {
		users[u] = password(u)
		s.write(t, filepath.Base(s.passwordFile(u)), password(u))
	}
	passwd := filepath.Join(s.dir, "central.passwd")
	testenv.MosquittoPasswd(t, passwd, users)
	shipped, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "configs/mosquitto/acl.example"))
	if err != nil {
		t.Fatal(err)
	}
	acl := s.write(t, "central.acl", string(shipped)+"\nuser "+simUser+"\ntopic write "+schema.TopicPrefix+simSite+"/#\n")
	return testenv.WithSecurity(testenv.MosquittoSecurity{PasswordFile: passwd, ACLFile: acl,
		CertFile: filepath.Join(pki, "broker.pem"), KeyFile: filepath.Join(pki, "broker.key"), CAFile: filepath.Join(pki, "ca.pem")})
}
