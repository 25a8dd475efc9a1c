package main

// BenchmarkDrainVsTelegraf compares the collector with Telegraf 1.37.2
// (inputs.mqtt_consumer -> outputs.influxdb_v2) on the same load in the same
// run. Telegraf is not needed to build or test pscm; `scripts/deps.sh
// telegraf` (which `make bench` runs) builds it into .tools/bin.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/pscm/pscm/collector/ingest"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/simcenter"
	"github.com/pscm/pscm/internal/testenv"
)

// telegrafInstall is what a developer runs when Telegraf is missing.
const telegrafInstall = "scripts/deps.sh telegraf (GOBIN=$PWD/.tools/bin go install github.com/influxdata/telegraf/cmd/telegraf@v1.37.2)"

// drainTimeout bounds one drain of the backlog; the collector takes about
// 10 s here, Telegraf a little more.
const drainTimeout = 5 * time.Minute

// drainConsumer is one program that drains the queued backlog: the pscm
// collector or Telegraf, each a child process.
type drainConsumer interface {
	// prepare starts the consumer once so the broker holds its persistent
	// session and subscriptions, then stops it: what is published next is
	// queued for it.
	prepare(b *testing.B, e *env)
	// start starts it again; the drain is timed from just before.
	start(b *testing.B)
	pid() int
	stop(b *testing.B)
}

// pscmConsumer is the collector binary, configured as BenchmarkDrain runs it.
type pscmConsumer struct{ p *process }

func (c *pscmConsumer) prepare(b *testing.B, e *env) {
	c.p = e.startProcess(b, collectorOpts{clientID: "pscm-collector-drain", logLevel: "warn"})
	c.p.stop(b)
}
func (c *pscmConsumer) start(b *testing.B) { c.p.start(b) }
func (c *pscmConsumer) pid() int           { return c.p.cmd.Process.Pid }
func (c *pscmConsumer) stop(b *testing.B)  { c.p.stop(b) }

// telegrafConsumer is Telegraf run from testdata/telegraf.conf.tmpl.
type telegrafConsumer struct {
	bin   string
	tuned bool
	prog  *testenv.Program
}

// telegrafClientID is Telegraf's fixed client ID, which a persistent session needs.
const telegrafClientID = "telegraf-drain"

func (c *telegrafConsumer) prepare(b *testing.B, e *env) {
	dir := b.TempDir()
	conf := filepath.Join(dir, "telegraf.conf")
	topics := ingest.Filters("", []string{"+"})
	if err := os.WriteFile(conf, renderTelegrafConf(b, telegrafParams{
		Broker: e.mq.URL(), ClientID: telegrafClientID, Topics: topics,
		InfluxURL: e.db.URL(), Bucket: e.db.Bucket(), Tuned: c.tuned,
	}), 0o600); err != nil {
		b.Fatal(err)
	}
	// Telegraf has no readiness endpoint. It subscribes once, when the
	// broker has no session for it; the broker's log (log_type subscribe)
	// shows each subscription. On the timed start the session is present,
	// Telegraf does not subscribe again, and this probe is already true.
	ready := func(context.Context) error {
		log, err := os.ReadFile(e.mq.LogPath())
		if err != nil {
			return err
		}
		if n := bytes.Count(log, []byte(" "+telegrafClientID+" 1 pscm/v1/")); n < len(topics) {
			return fmt.Errorf("%d of %d subscriptions in the broker's log", n, len(topics))
		}
		return nil
	}
	c.prog = testenv.StartProgram(b, "telegraf", dir, []string{c.bin, "--config", conf}, 30*time.Second, ready)
	c.prog.Stop(b)
}
func (c *telegrafConsumer) start(b *testing.B) { c.prog.Start(b) }
func (c *telegrafConsumer) pid() int           { return c.prog.PID() }
func (c *telegrafConsumer) stop(b *testing.B)  { c.prog.Stop(b) }

// telegrafParams fill testdata/telegraf.conf.tmpl.
type telegrafParams struct {
	Broker, ClientID  string
	Topics            []string
	InfluxURL, Bucket string
	Tuned             bool
}

func renderTelegrafConf(b testing.TB, p telegrafParams) []byte {
	b.Helper()
	tmpl, err := template.New("telegraf.conf.tmpl").
		Funcs(template.FuncMap{"quote": strconv.Quote}). // a Go quoted ASCII string is a TOML basic string
		Option("missingkey=error").
		ParseFiles(filepath.Join("testdata", "telegraf.conf.tmpl"))
	if err != nil {
		b.Fatal(err)
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, p); err != nil {
		b.Fatal(err)
	}
	return out.Bytes()
}

// findTelegraf returns $PSCM_TELEGRAF if set, else .tools/bin/telegraf, and
// fails the benchmark with how to build it when it is missing.
func findTelegraf(b *testing.B) string {
	b.Helper()
	bin := os.Getenv("PSCM_TELEGRAF")
	if bin == "" {
		bin = filepath.Join(testenv.RepoRoot(b), ".tools", "bin", "telegraf")
	}
	if _, err := exec.Command(bin, "--version").CombinedOutput(); err != nil {
		b.Fatalf("telegraf at %s cannot be run (%v): build it with %s, or set PSCM_TELEGRAF", bin, err, telegrafInstall)
	}
	// go install leaves "Telegraf unknown" as its version; the build info
	// names the module version.
	if out, err := exec.Command("go", "version", "-m", bin).Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) >= 3 && f[0] == "mod" && f[1] == "github.com/influxdata/telegraf" {
				b.Logf("telegraf %s at %s", f[2], bin)
			}
		}
	}
	return bin
}

// drainResult is one timed drain.
type drainResult struct {
	name       string
	events     int
	elapsed    time.Duration
	firstPoint time.Duration // until InfluxDB had written a first point
	cpu        float64       // consumer CPU seconds, from exec to the last point
	rss        int64         // consumer VmHWM, bytes
	mqCPU      float64       // broker CPU seconds over the drain
	dbCPU      float64       // influxd CPU seconds over the drain
	written    int64         // points InfluxDB accepted (pointsWrittenOK)
	stored     map[schema.Kind]int64
	extra      []string // measurements that are not kinds
	shape      map[string]string
}

func (r drainResult) rate() float64 { return float64(r.events) / r.elapsed.Seconds() }

// BenchmarkDrainVsTelegraf: the BenchmarkDrain backlog (200,000 mixed events
// queued for a stopped persistent session) drained by the collector and by
// Telegraf in turn after an uncounted warm-up drain: pscm, telegraf, pscm,
// telegraf, then once Telegraf with its default batching, so noise on the
// shared machine hits both. Each drain
// has a fresh broker and a fresh InfluxDB, and is timed from the consumer's
// exec until InfluxDB has accepted every point (its own write counter in
// /debug/vars, polled the same way for both); afterwards the points stored
// per measurement are counted against what was published.
func BenchmarkDrainVsTelegraf(b *testing.B) {
	n := drainN
	if s := os.Getenv("PSCM_BENCH_EVENTS"); s != "" { // a quick check of the wiring
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 7 {
			b.Fatalf("PSCM_BENCH_EVENTS=%q: want a number of events, at least 7", s)
		}
	}
	bin := findTelegraf(b)
	msgs := simcenter.Load("anlao", 11, n, 0, time.Now().UTC().Add(-2*time.Hour))
	want := simcenter.Count(msgs)

	// In two trial runs the first drain (the collector's) came out much
	// slower than the collector's second, so a warm-up drain goes first; it
	// is shown, not counted.
	plan := []struct {
		name string
		mk   func() drainConsumer
	}{
		{"warmup_pscm", func() drainConsumer { return &pscmConsumer{} }},
		{"pscm", func() drainConsumer { return &pscmConsumer{} }},
		{"telegraf", func() drainConsumer { return &telegrafConsumer{bin: bin, tuned: true} }},
		{"pscm", func() drainConsumer { return &pscmConsumer{} }},
		{"telegraf", func() drainConsumer { return &telegrafConsumer{bin: bin, tuned: true} }},
		{"telegraf_default", func() drainConsumer { return &telegrafConsumer{bin: bin} }},
	}
	load0 := loadAvg()
	b.ResetTimer()
	var results []drainResult
	for _, step := range plan {
		r := drainOnce(b, step.name, step.mk(), msgs, want)
		results = append(results, r)
	}
	b.StopTimer()

	// The table goes to stdout: go test keeps only the first lines of a
	// benchmark's log unless run with -v.
	fmt.Printf("BenchmarkDrainVsTelegraf %s: %d events per drain; consumer CPU from exec to the last point, as %% of one core\n",
		time.Now().UTC().Format(time.RFC3339), n)
	fmt.Printf("load average before %s, after %s (2 shared cores)\n", load0, loadAvg())
	fmt.Printf("%-17s %9s %7s %8s %8s %6s %6s %8s %8s  %s", "consumer", "events/s", "cpu_%", "ev/cpu_s", "rss_MB", "first", "mq_%", "influx_%", "written", "stored per kind\n")
	for _, r := range results {
		fmt.Printf("%-17s %9.0f %7.1f %8.0f %8.1f %5.2fs %6.1f %8.1f %8d  %s%s", r.name, r.rate(),
			r.cpu/r.elapsed.Seconds()*100, float64(n)/r.cpu, float64(r.rss)/(1<<20), r.firstPoint.Seconds(),
			r.mqCPU/r.elapsed.Seconds()*100, r.dbCPU/r.elapsed.Seconds()*100, r.written, exactness(r, want), extraNote(r)+"\n")
	}
	logShapeDiff(b, results)

	mean := func(name string, f func(drainResult) float64) float64 {
		var sum float64
		var k int
		for _, r := range results {
			if r.name == name {
				sum += f(r)
				k++
			}
		}
		return sum / float64(k)
	}
	rate := func(r drainResult) float64 { return r.rate() }
	cpu := func(r drainResult) float64 { return r.cpu / r.elapsed.Seconds() * 100 }
	rss := func(r drainResult) float64 { return float64(r.rss) / (1 << 20) }
	perCPU := func(r drainResult) float64 { return float64(n) / r.cpu }
	for _, name := range []string{"pscm", "telegraf", "telegraf_default"} {
		b.ReportMetric(mean(name, rate), name+"_events/s")
		b.ReportMetric(mean(name, cpu), name+"_cpu_%")
		b.ReportMetric(mean(name, rss), name+"_peak_rss_MB")
	}
	b.ReportMetric(mean("pscm", rate)/mean("telegraf", rate), "speed_pscm/telegraf")
	b.ReportMetric(mean("pscm", perCPU)/mean("telegraf", perCPU), "events_per_cpu_s_pscm/telegraf")
	b.ReportMetric(mean("telegraf", rss)/mean("pscm", rss), "rss_telegraf/pscm")
	b.ReportMetric(0, "ns/op")

	for _, r := range results {
		if r.name == "pscm" && (exactness(r, want) != "exact" || len(r.extra) > 0) {
			b.Errorf("pscm drain not exact: %s%s", exactness(r, want), extraNote(r))
		}
	}
}

// drainOnce runs one consumer over a fresh broker and database.
func drainOnce(b *testing.B, name string, c drainConsumer, msgs []simcenter.Message, want map[schema.Kind]int) drainResult {
	b.Helper()
	n := int64(len(msgs))
	e := &env{
		// log_type subscribe: Telegraf's readiness probe reads it.
		mq: testenv.StartMosquitto(b, testenv.WithMaxInflight(20000), testenv.WithMosquittoConf("log_type subscribe")),
		db: testenv.StartInflux(b, testenv.WithoutFlux(), testenv.WithDatabase(strings.NewReplacer("warmup_", "", "_default", "").Replace(name))),
	}
	c.prepare(b, e)
	publishAllB(b, e.mq.URL(), msgs)()

	r := drainResult{name: name, events: len(msgs)}
	mq0, db0 := testenv.ProcCPUSeconds(b, e.mq.PID()), testenv.ProcCPUSeconds(b, e.db.PID())
	start := time.Now()
	c.start(b)
	pid := c.pid()
	deadline := start.Add(drainTimeout)
	for {
		w := influxWritten(b, e.db)
		if w > 0 && r.firstPoint == 0 {
			r.firstPoint = time.Since(start)
		}
		if w >= n {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s: InfluxDB accepted %d of %d points in %v", name, w, n, drainTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.elapsed = time.Since(start)
	r.cpu = testenv.ProcCPUSeconds(b, pid)
	r.mqCPU = testenv.ProcCPUSeconds(b, e.mq.PID()) - mq0
	r.dbCPU = testenv.ProcCPUSeconds(b, e.db.PID()) - db0
	r.rss = testenv.ProcStatusKB(b, pid, "VmHWM:") * 1024
	// A graceful stop flushes whatever the consumer still holds, so the
	// counts below are final: a redelivered or late point would show now.
	c.stop(b)
	r.written = influxWritten(b, e.db)
	r.stored = map[schema.Kind]int64{}
	for _, k := range schema.Kinds() {
		r.stored[k] = e.db.Count(b, string(k), "id")
	}
	for _, s := range e.db.Query(b, "SHOW MEASUREMENTS") {
		for _, v := range s.Values {
			if m := fmt.Sprint(v[0]); !schema.Kind(m).Valid() {
				r.extra = append(r.extra, m)
			}
		}
	}
	r.shape = shape(b, e.db)
	e.mq.Stop(b)
	e.db.Stop(b)
	return r
}

// influxWritten is the number of points the server has accepted over HTTP
// since it started (httpd pointsWrittenOK in /debug/vars): cheap to poll,
// unlike a count over the data, and the same for both consumers.
func influxWritten(b testing.TB, db *testenv.Influx) int64 {
	b.Helper()
	resp, err := http.Get(db.URL() + "/debug/vars")
	if err != nil {
		b.Fatalf("influxd /debug/vars: %v", err)
	}
	defer resp.Body.Close()
	var vars map[string]json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&vars); err != nil {
		b.Fatalf("influxd /debug/vars: %v", err)
	}
	var sum int64
	for _, raw := range vars {
		var st struct {
			Name   string `json:"name"`
			Values struct {
				PointsWrittenOK int64 `json:"pointsWrittenOK"`
			} `json:"values"`
		}
		if json.Unmarshal(raw, &st) == nil && st.Name == "httpd" {
			sum += st.Values.PointsWrittenOK
		}
	}
	return sum
}

// exactness says "exact" when InfluxDB stores exactly the published events
// of each kind, else which kinds differ.
func exactness(r drainResult, want map[schema.Kind]int) string {
	var diffs []string
	for _, k := range schema.Kinds() {
		if got := r.stored[k]; got != int64(want[k]) {
			diffs = append(diffs, fmt.Sprintf("%s %d/%d", k, got, want[k]))
		}
	}
	if len(diffs) == 0 {
		return "exact"
	}
	return "NOT EXACT: " + strings.Join(diffs, ", ")
}

func extraNote(r drainResult) string {
	if len(r.extra) == 0 {
		return ""
	}
	return "; other measurements: " + strings.Join(r.extra, ",")
}

// shape describes each kind's tag keys and field keys with their types, so
// the benchmark can say how Telegraf's points differ from the collector's.
func shape(b testing.TB, db *testenv.Influx) map[string]string {
	out := map[string]string{}
	for _, k := range schema.Kinds() {
		var tags, fields []string
		for _, s := range db.Query(b, fmt.Sprintf("SHOW TAG KEYS FROM %q", string(k))) {
			for _, v := range s.Values {
				tags = append(tags, fmt.Sprint(v[0]))
			}
		}
		for _, s := range db.Query(b, fmt.Sprintf("SHOW FIELD KEYS FROM %q", string(k))) {
			for _, v := range s.Values {
				fields = append(fields, fmt.Sprintf("%v:%v", v[0], v[1]))
			}
		}
		sort.Strings(tags)
		sort.Strings(fields)
		out[string(k)] = "tags " + strings.Join(tags, ",") + "; fields " + strings.Join(fields, ",")
	}
	return out
}

// logShapeDiff logs, per kind, where the first Telegraf drain's points differ
// from the first pscm drain's.
func logShapeDiff(b *testing.B, results []drainResult) {
	var p, t map[string]string
	for _, r := range results {
		if r.name == "pscm" && p == nil {
			p = r.shape
		}
		if r.name == "telegraf" && t == nil {
			t = r.shape
		}
	}
	for _, k := range schema.Kinds() {
		if p[string(k)] != t[string(k)] {
			fmt.Printf("%s points differ:\n  pscm:     %s\n  telegraf: %s\n", k, p[string(k)], t[string(k)])
		}
	}
}

// loadAvg is the first three fields of /proc/loadavg, to show how busy the
// shared machine was.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
