package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pscm/pscm/dashboard/acklog"
	"github.com/pscm/pscm/dashboard/auth"
	"github.com/pscm/pscm/dashboard/board"
	"github.com/pscm/pscm/dashboard/reports"
	"github.com/pscm/pscm/internal/adminhttp"
	"github.com/pscm/pscm/internal/health"
	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/kpidb"
	"github.com/pscm/pscm/internal/mqttconn"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/testenv"
	"github.com/pscm/pscm/internal/timezone"
)

// sessionKey signs the session cookies of these tests.
const sessionKey = "3e9a71c0-session-key-of-the-server-tests-5d2f"

var sites = []kpi.Site{
	{ID: "anlao", Name: "Trung tâm Phục vụ hành chính công xã An Lão",
		Counters: []kpi.Counter{{ID: "c01", NameVI: "Quầy 1 — Hộ tịch", NameEN: "Counter 1 — Civil status"}}},
	{ID: "phuoc-thanh", Name: "Trung tâm xã Phước Thành"},
}

// running is a Server started in the test process.
type running struct {
	*Server
	cancel context.CancelFunc
	done   chan error
	logs   *testenv.SyncBuffer
}

// testDeps builds the server's dependencies for the InfluxDB at influxURL,
// logging into logs.
func testDeps(t *testing.T, influxURL, bucket string, logs io.Writer) Deps {
	t.Helper()
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b, err := os.ReadFile("../auth/testdata/users.yml")
	if err != nil {
		t.Fatal(err)
	}
	usersFile := filepath.Join(t.TempDir(), "users.yml")
	if err := os.WriteFile(usersFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	users, err := auth.LoadUsers(usersFile)
	if err != nil {
		t.Fatal(err)
	}
	acfg := auth.DefaultConfig()
	acfg.Secure = false
	a, err := auth.New(acfg, users, []byte(testenv.Secret(t, sessionKey)), log, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	testenv.Secret(t, "correct horse battery") // lan's password in users.yml

	fig := kpi.DefaultFigures()
	loc := timezone.Vietnam()
	src := kpidb.NewSource(kpidb.Config{URL: influxURL, Bucket: bucket, Satisfied: fig.Satisfied, Loc: loc})
	t.Cleanup(src.Close)
	reg := prometheus.NewRegistry()
	health.BuildInfo(reg, "dashboard", "test")
	reports, err := reports.New(reports.Config{Sites: sites, Loc: loc, Targets: fig.Targets, Satisfied: fig.Satisfied}, src, log, reg)
	if err != nil {
		t.Fatal(err)
	}
	acks, err := acklog.Open(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return Deps{Log: log, Registry: reg, Auth: a, Board: board.New(sites, src, loc, fig.Targets, fig.Satisfied, log, time.Now), Reports: reports, Acks: acks}
}

func testConfig(listen, influxURL, brokerURL string) Config {
	mq := mqttconn.Defaults()
	mq.Broker, mq.ClientID = brokerURL, "server-test"
	mq.MaxReconnectInterval = time.Second
	return Config{
		Listen: listen, Admin: adminhttp.Config{Listen: "127.0.0.1:0"}, MQTT: mq, InfluxDB: InfluxDB{URL: influxURL},
		Hours: kpi.DefaultWorkHours(), PushInterval: 50 * time.Millisecond, ReloadInterval: time.Minute,
	}
}

// start builds a Server on a free port against the InfluxDB at influxURL
// and the broker at brokerURL, and runs it until the test ends.
func start(t *testing.T, influxURL, bucket, brokerURL string) *running {
	t.Helper()
	logs := &testenv.SyncBuffer{}
	testenv.Keep(t, "dashboard", logs)
	s, err := New(testConfig("127.0.0.1:0", influxURL, brokerURL), testDeps(t, influxURL, bucket, logs))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Server: s, cancel: cancel, done: make(chan error, 1), logs: logs}
	go func() { r.done <- s.Run(ctx) }()
	t.Cleanup(func() {
		r.stop(t)
		if t.Failed() {
			t.Logf("server log:\n%s", testenv.Tail(logs.String(), 60))
		}
	})
	return r
}

// stop ends Run and checks that it returned in good time and without error.
func (r *running) stop(t *testing.T) {
	t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run returned %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Error("Run did not return within 15 s of its context's end")
	}
	r.Close()
}

func getBody(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func login(t *testing.T, addr string) *http.Client {
	t.Helper()
	return loginAs(t, addr, "lan", "correct horse battery")
}

// loginAs returns a client holding a session of user (a user of
// auth/testdata/users.yml).
func loginAs(t *testing.T, addr, user, pass string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("POST", "http://"+addr+"/login",
		strings.NewReader(url.Values{"username": {user}, "password": {pass}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://"+addr)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	return c
}

// ratingsToday reads today's rating count from /api/snapshot (-1 when the
// snapshot has no figures for today yet).
func ratingsToday(t *testing.T, c *http.Client, addr string) float64 {
	t.Helper()
	code, body := getBody(t, c, "http://"+addr+"/api/snapshot?site=anlao")
	if code != 200 {
		t.Fatalf("snapshot: %d %s", code, body)
	}
	var s struct {
		Periods map[string]struct {
			RatingsTotal *float64 `json:"ratings_total"`
		} `json:"periods"`
	}
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatal(err)
	}
	if p, ok := s.Periods["today"]; ok && p.RatingsTotal != nil {
		return *p.RatingsTotal
	}
	return -1
}

func rating(id string, ts time.Time) schema.Rating {
	return schema.Rating{Header: schema.Header{ID: id, TS: ts, Site: "anlao"}, Counter: "c01", Kiosk: "k01", Level: schema.LevelSatisfied}
}

// TestServer: in process, against a real InfluxDB and Mosquitto, the server
// loads what InfluxDB holds, applies live events, and /readyz follows its
// dependencies: 200 with all three checks passing, 503 naming InfluxDB while
// it is stopped, 503 naming the broker while that is stopped, 200 again
// once each is back.
func TestServer(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs InfluxDB and Mosquitto")
	}
	var mq *testenv.Mosquitto
	var wg sync.WaitGroup
	wg.Go(func() { mq = testenv.StartMosquitto(t) })
	db := testenv.StartInflux(t, testenv.WithoutFlux())
	wg.Wait()
	if mq == nil {
		t.FailNow()
	}
	now := time.Now().UTC().Add(-time.Minute)
	var lines strings.Builder
	for i := range 3 {
		ev := rating(fmt.Sprintf("r%d", i), now.Add(time.Duration(i)*time.Millisecond))
		lines.Write(ev.AppendLine(nil))
		lines.WriteByte('\n')
	}
	db.Write(t, lines.String())

	s := start(t, db.URL(), db.Bucket(), mq.URL())
	select {
	case <-s.Loaded():
	case <-time.After(30 * time.Second):
		t.Fatal("first load not done within 30 s")
	}
	testenv.WaitReadyz(t, "http://"+s.Addr(), 10*time.Second, 200, "[+]influxdb ok", "[+]reload ok", "[+]mqtt ok", "readyz check passed")
	if code, body := getBody(t, http.DefaultClient, "http://"+s.Addr()+"/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("/healthz = %d %q", code, body)
	}

	c := login(t, s.Addr())
	if got := ratingsToday(t, c, s.Addr()); got != 3 {
		t.Fatalf("today's ratings after the first load: %v, want 3", got)
	}
	// A chosen range is read from InfluxDB: yesterday and today hold the
	// three ratings (a minute ago may be yesterday just after midnight).
	vn := time.Now().In(timezone.Vietnam())
	spec := vn.AddDate(0, 0, -1).Format(time.DateOnly) + ".." + vn.Format(time.DateOnly)
	if code, body := getBody(t, c, "http://"+s.Addr()+"/api/range?site=anlao&range="+spec); code != 200 || !strings.Contains(body, `"ratings_total":3,`) || !strings.Contains(body, `"kind":"custom"`) {
		t.Errorf("range %s: %d %s", spec, code, body)
	}
	if code, body := getBody(t, c, "http://"+s.Addr()+"/api/range?site=anlao&range="+vn.AddDate(0, 0, -7).Format("2006-01-02")); code != 200 || !strings.Contains(body, `"ratings_total":0,`) {
		t.Errorf("a week ago: %d %s", code, body)
	}
	// A live event reaches the board through the subscription.
	pub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(mq.URL()).SetClientID("server-test-pub"))
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher: %v", tok.Error())
	}
	defer pub.Disconnect(100)
	payload, _ := json.Marshal(rating("live-1", time.Now().UTC()))
	if tok := pub.Publish(schema.TopicFor("anlao", schema.KindRating, "k01"), 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	testenv.Eventually(t, 10*time.Second, 20*time.Millisecond, func() bool { return ratingsToday(t, c, s.Addr()) == 4 },
		"live rating not on the board")
	testAcknowledge(t, s, c, pub)

	// /metrics: every family passes promtool, build_info and the reload
	// duration among them.
	code, metrics := getBody(t, http.DefaultClient, "http://"+s.AdminAddr()+"/metrics")
	for _, name := range []string{"pscm_dashboard_build_info", "pscm_dashboard_reload_duration_seconds"} {
		if code != 200 || !strings.Contains(metrics, "\n"+name) {
			t.Errorf("/metrics (%d) lacks %s", code, name)
		}
	}
	testenv.CheckMetrics(t, []byte(metrics))
	// Not on the port the proxy publishes (issue 13 item 7: it was).
	testenv.SlowClientsCut(t, 15*time.Second, s.Addr(), s.AdminAddr())
	// Without a login it is the login page; the metrics are nowhere.
	if _, body := getBody(t, http.DefaultClient, "http://"+s.Addr()+"/metrics"); strings.Contains(body, "pscm_dashboard_build_info") {
		t.Error("/metrics served on the published port")
	}

	db.Stop(t)
	testenv.WaitReadyz(t, "http://"+s.Addr(), 10*time.Second, 503, "[+]reload ok", "[+]mqtt ok", "readyz check failed")
	if _, body := getBody(t, http.DefaultClient, "http://"+s.Addr()+"/readyz"); !strings.Contains(body, "[-]influxdb failed: ") {
		t.Errorf("/readyz with InfluxDB stopped does not name it: %q", body)
	}
	// The page still shows what it has.
	if got := ratingsToday(t, c, s.Addr()); got != 5 { // 3 loaded, 2 live
		t.Errorf("today's ratings with InfluxDB stopped: %v, want 5", got)
	}
	db.Start(t)
	testenv.WaitReadyz(t, "http://"+s.Addr(), 10*time.Second, 200, "[+]influxdb ok")

	mq.Stop(t)
	testenv.WaitReadyz(t, "http://"+s.Addr(), 10*time.Second, 503, "[+]influxdb ok", "[+]reload ok")
	if _, body := getBody(t, http.DefaultClient, "http://"+s.Addr()+"/readyz"); !strings.Contains(body, "[-]mqtt failed: ") {
		t.Errorf("/readyz with the broker stopped does not name it: %q", body)
	}
	mq.Start(t)
	testenv.WaitReadyz(t, "http://"+s.Addr(), 20*time.Second, 200, "[+]mqtt ok")
}

// testAcknowledge: a dissatisfied rating raises an alert; the manager
// acknowledges it with the page's CSRF token; every snapshot then says who
// and when, and the log on disk holds it. Without the token, for a site the
// manager cannot see, with a bad body or an unknown alert, nothing changes.
func testAcknowledge(t *testing.T, s *running, c *http.Client, pub mqtt.Client) {
	t.Helper()
	bad := rating("live-2", time.Now().UTC())
	bad.Level = schema.LevelDissatisfied
	payload, _ := json.Marshal(bad)
	if tok := pub.Publish(schema.TopicFor("anlao", schema.KindRating, "k01"), 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	type alert struct {
		ID   string
		Kind string
		Ack  *board.Ack
	}
	alerts := func() []alert {
		_, body := getBody(t, c, "http://"+s.Addr()+"/api/snapshot?site=anlao")
		var snap struct{ Alerts []alert }
		if err := json.Unmarshal([]byte(body), &snap); err != nil {
			t.Fatal(err)
		}
		return snap.Alerts
	}
	var id string
	testenv.Eventually(t, 10*time.Second, 20*time.Millisecond, func() bool {
		for _, a := range alerts() {
			if a.Kind == "dissatisfied" {
				id = a.ID
			}
		}
		return id != ""
	}, "no alert for the dissatisfied rating")

	_, page := getBody(t, c, "http://"+s.Addr()+"/")
	_, rest, _ := strings.Cut(page, `<meta name="csrf-token" content="`)
	token, _, _ := strings.Cut(rest, `"`)
	if token == "" {
		t.Fatal("no CSRF token in the page")
	}
	post := func(body, csrf string) (int, string) {
		req, _ := http.NewRequest("POST", "http://"+s.Addr()+"/api/alerts/ack", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", "http://"+s.Addr())
		if csrf != "" {
			req.Header.Set("X-CSRF-Token", csrf)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	ack := fmt.Sprintf(`{"site":"anlao","id":%q}`, id)
	for _, tc := range []struct {
		name, body, csrf string
		want             int
	}{
		{"no CSRF token", ack, "", http.StatusForbidden},
		{"a site lan cannot see", fmt.Sprintf(`{"site":"phuoc-thanh","id":%q}`, id), token, http.StatusForbidden},
		{"not JSON", "site=anlao", token, http.StatusBadRequest},
		{"an unknown field", fmt.Sprintf(`{"site":"anlao","id":%q,"by":"root"}`, id), token, http.StatusBadRequest},
		{"an unknown alert", `{"site":"anlao","id":"rating/nope"}`, token, http.StatusNotFound},
	} {
		if code, body := post(tc.body, tc.csrf); code != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, code, body, tc.want)
		}
	}
	if entries, _ := s.acks.Read(); len(entries) != 0 {
		t.Fatalf("refused acknowledgements recorded: %+v", entries)
	}
	for _, a := range alerts() {
		if a.Ack != nil {
			t.Fatalf("alert acknowledged by a refused request: %+v", a)
		}
	}

	before := time.Now().UTC()
	if code, body := post(ack, token); code != http.StatusOK || !strings.Contains(body, `"by":"lan"`) {
		t.Fatalf("acknowledge: %d %s", code, body)
	}
	// Again: the first acknowledgement stands, nothing new recorded.
	if code, _ := post(ack, token); code != http.StatusOK {
		t.Errorf("acknowledge again: %d", code)
	}
	for _, a := range alerts() {
		if a.ID == id && (a.Ack == nil || a.Ack.By != "lan" || a.Ack.Name != "Nguyễn Thị Lan" || a.Ack.At.Before(before.Add(-time.Second))) {
			t.Errorf("snapshot: %+v", a)
		}
	}
	entries, err := s.acks.Read()
	if err != nil || len(entries) != 1 || entries[0].By != "lan" || entries[0].Alert != id || entries[0].Site != "anlao" || entries[0].Kind != "dissatisfied" {
		t.Fatalf("log: %+v %v", entries, err)
	}
}

// TestListensBeforeFirstLoad: with an InfluxDB that accepts connections and
// never answers, the server still serves at once: /healthz, the login and
// the page (with no figures yet), while /readyz says the first load is
// under way. Run still ends promptly with its context.
func TestListensBeforeFirstLoad(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	held.Go(func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // read nothing, answer nothing
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		silent.Close()
		held.Wait()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	// No broker either: the feed retries in the background.
	s := start(t, "http://"+silent.Addr().String(), "pscm/autogen", fmt.Sprintf("tcp://127.0.0.1:%d", testenv.FreePort(t)))

	if code, _ := getBody(t, http.DefaultClient, "http://"+s.Addr()+"/healthz"); code != 200 {
		t.Fatalf("/healthz = %d", code)
	}
	testenv.WaitReadyz(t, "http://"+s.Addr(), 10*time.Second, 503, "[-]reload failed: first load from InfluxDB under way: 0 of 2 sites done",
		"[-]influxdb failed: no answer within 2s", "readyz check failed")
	if _, body := getBody(t, http.DefaultClient, "http://"+s.Addr()+"/readyz"); !strings.Contains(body, "[-]mqtt failed: not connected") {
		t.Errorf("/readyz without a broker: %q", body)
	}
	c := login(t, s.Addr())
	if got := ratingsToday(t, c, s.Addr()); got != -1 {
		t.Errorf("today's ratings before any load: %v, want none", got)
	}
	page, _ := http.NewRequest("GET", "http://"+s.Addr()+"/", nil)
	page.Header.Set("Accept", "text/html")
	resp, err := c.Do(page)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("page before the first load: %d", resp.StatusCode)
	}
	select {
	case <-s.Loaded():
		t.Fatal("Loaded closed while InfluxDB has not answered")
	default:
	}
	s.stop(t)
}

// TestNewAndClose: New takes the port; Close without Run gives it back.
func TestNewAndClose(t *testing.T) {
	cfg := testConfig(fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)), "http://127.0.0.1:1", "tcp://127.0.0.1:1")
	s, err := New(cfg, testDeps(t, "http://127.0.0.1:1", "pscm", io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	if s.Addr() != cfg.Listen {
		t.Errorf("Addr = %s, want %s", s.Addr(), cfg.Listen)
	}
	if _, err := New(cfg, testDeps(t, "http://127.0.0.1:1", "pscm", io.Discard)); err == nil || !strings.Contains(err.Error(), "http listen") {
		t.Errorf("a second server on the same port: %v", err)
	}
	s.Close()
	s.Close() // twice is harmless
	s2, err := New(cfg, testDeps(t, "http://127.0.0.1:1", "pscm", io.Discard))
	if err != nil {
		t.Fatalf("the port was not given back: %v", err)
	}
	s2.Close()
	if _, err := New(cfg, Deps{Log: slog.New(slog.DiscardHandler)}); err == nil {
		t.Error("New accepted missing dependencies")
	}
}
