//go:build linux

package configs

// The cost of the center broker's autosave setting, run with:
//   go test -run '^$' -bench CenterBrokerAutosave -benchtime 1x -v ./configs/
// (-v prints the table BENCHMARKS.md copies). It reports figures with
// b.ReportMetric and asserts no time.

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/pscm/pscm/internal/testenv"
)

// autosave is one way of configuring when Mosquitto saves.
type autosave struct {
	name      string
	onChanges bool
	interval  int
}

// autosaveResult is what one setting cost and what it lost.
type autosaveResult struct {
	ackP50, ackP99, ackLastP50 time.Duration // PUBACK waits; last: the final 10 %, deepest queue
	rate                       float64       // presses acknowledged per second, one at a time
	cpu                        float64       // broker CPU seconds while publishing
	writtenMB                  float64       // bytes the broker sent to disk while publishing
	drainRate                  float64       // queued presses per second to the returning agent
	drainMB                    float64       // bytes the broker sent to disk meanwhile
	lost, paced                int           // of the paced presses, acknowledged then lost to a SIGKILL
}

// BenchmarkCenterBrokerAutosave: the center's broker configured as
// configs/mosquitto/center.conf ships, but for the autosave setting, which
// takes each of the values below in one run. The agent's persistent session
// is saved (a clean restart, as a long-standing session is), then the agent
// goes away and a button box publishes presses at QoS 1 one at a time,
// waiting for each PUBACK, so each press is queued for the offline session:
// the case where saving costs, and where a crash loses what was not saved.
//
//  1. 2,000 presses (BenchmarkCenterBrokerAutosaveDay: 11,000) as fast as the PUBACKs come: the wait per press (p50,
//     p99, p50 of the last 10 % at the deepest queue), presses/s, the
//     broker's CPU and the bytes it wrote to disk;
//  2. the agent returns and takes the 2,000 (auto-acknowledged): presses/s
//     until the broker has taken the last PUBACK;
//  3. the agent away again, 100 presses at 20/s, the broker SIGKILLed right
//     after the last PUBACK and started again: how many of the 100 the agent
//     then gets. Each is counted once by its seq.
func BenchmarkCenterBrokerAutosave(b *testing.B) {
	benchAutosave(b, 2000, []autosave{
		{"time10", false, 10}, // the central broker's setting
		{"changes1", true, 1},
		{"changes10", true, 10},
		{"changes100", true, 100},
	})
}

// BenchmarkCenterBrokerAutosaveDay is the same with a day of a busy
// center queued (11,000 messages: 40 counters, see center.conf), for the
// shipped setting against the central broker's: each save rewrites the
// whole queue, so its cost grows with the queue.
func BenchmarkCenterBrokerAutosaveDay(b *testing.B) {
	benchAutosave(b, 11000, []autosave{{"time10", false, 10}, {"changes1", true, 1}})
}

func benchAutosave(b *testing.B, presses int, settings []autosave) {
	const paced = 100
	results := make([]autosaveResult, len(settings))
	b.ResetTimer()
	for range b.N {
		for i, s := range settings {
			results[i] = measureAutosave(b, s, presses, paced)
		}
	}
	b.StopTimer()
	base := results[0]
	b.Logf("%d presses queued for the offline agent, then %d at 20/s and a SIGKILL; ratios against %s", presses, paced, settings[0].name)
	b.Logf("%-10s %9s %9s %11s %9s %8s %8s %8s %8s %6s", "setting", "ack p50", "ack p99", "p50 last10%", "presses/s", "CPU s", "disk MB", "drain/s", "disk MB", "lost")
	for i, s := range settings {
		r := results[i]
		b.Logf("%-10s %9s %9s %11s %9.0f %8.2f %8.1f %8.0f %8.1f %3d/%d", s.name, r.ackP50.Round(time.Microsecond), r.ackP99.Round(time.Microsecond),
			r.ackLastP50.Round(time.Microsecond), r.rate, r.cpu, r.writtenMB, r.drainRate, r.drainMB, r.lost, r.paced)
		ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
		b.ReportMetric(ms(r.ackP50), s.name+"_ack_p50_ms")
		b.ReportMetric(ms(r.ackP99), s.name+"_ack_p99_ms")
		b.ReportMetric(r.rate, s.name+"_presses/s")
		b.ReportMetric(r.drainRate, s.name+"_drain/s")
		b.ReportMetric(float64(r.lost), s.name+"_lost")
		if i > 0 {
			b.ReportMetric(ms(r.ackP50)/ms(base.ackP50), s.name+"_p50_x")
			b.ReportMetric(ms(r.ackP99)/ms(base.ackP99), s.name+"_p99_x")
			b.ReportMetric(r.rate/base.rate, s.name+"_rate_x")
			b.ReportMetric(r.drainRate/base.drainRate, s.name+"_drain_x")
		}
	}
	b.ReportMetric(0, "ns/op")
}

func measureAutosave(b *testing.B, s autosave, presses, paced int) autosaveResult {
	b.Helper()
	m := testenv.StartMosquitto(b, testenv.WithSettingsOf(b, "mosquitto/center.conf"),
		testenv.WithSetting("autosave_on_changes", strconv.FormatBool(s.onChanges)),
		testenv.WithSetting("autosave_interval", strconv.Itoa(s.interval)))
	defer m.Stop(b)
	agent := &offlineAgent{url: m.URL(), seen: map[int]bool{}}
	agent.connect(b)
	agent.disconnect()
	m.Stop(b) // a clean stop saves: the session is on disk
	m.Start(b)

	var r autosaveResult
	pid := m.PID()
	cpu0, disk0 := testenv.ProcCPUSeconds(b, pid), procWriteBytes(b, pid)
	pub := buttonBox(b, m.URL())
	waits := make([]time.Duration, presses)
	began := time.Now()
	for i := range presses {
		t0 := time.Now()
		publishPress(b, pub, i+1)
		waits[i] = time.Since(t0)
	}
	elapsed := time.Since(began)
	r.cpu = testenv.ProcCPUSeconds(b, pid) - cpu0
	r.writtenMB = float64(procWriteBytes(b, pid)-disk0) / 1e6
	r.rate = float64(presses) / elapsed.Seconds()
	last := slices.Clone(waits[presses*9/10:])
	slices.Sort(last)
	r.ackLastP50 = last[len(last)/2]
	slices.Sort(waits)
	r.ackP50, r.ackP99 = waits[presses/2], waits[presses*99/100]

	began, disk0 = time.Now(), procWriteBytes(b, pid)
	agent.connect(b)
	agent.waitFor(b, presses, 2*time.Minute)
	r.drainRate = float64(presses) / waitIdle(b, pid).Sub(began).Seconds()
	r.drainMB = float64(procWriteBytes(b, pid)-disk0) / 1e6
	agent.disconnect()

	start := time.Now()
	for i := range paced {
		time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / 20)))
		publishPress(b, pub, presses+i+1)
	}
	m.Kill(b)
	pub.Disconnect(0)
	m.Start(b)
	agent.connect(b)
	got := agent.settle(presses+paced, 3*time.Second)
	agent.disconnect()
	r.paced = paced
	r.lost = presses + paced - got
	return r
}

// offlineAgent is the agent's persistent session on the center's broker,
// connected only when the benchmark says so; it counts distinct presses.
type offlineAgent struct {
	url    string
	client mqtt.Client
	mu     sync.Mutex
	seen   map[int]bool // distinct presses, by seq
	// arrivals counts every delivery, redeliveries included.
	arrivals int
}

func (a *offlineAgent) connect(b *testing.B) {
	b.Helper()
	o := mqtt.NewClientOptions().AddBroker(a.url).SetClientID("pscm-agent-anlao-edge-1-local").
		SetCleanSession(false).SetAutoReconnect(false)
	o.SetDefaultPublishHandler(func(_ mqtt.Client, msg mqtt.Message) {
		var p struct{ Seq int }
		if err := json.Unmarshal(msg.Payload(), &p); err == nil {
			a.mu.Lock()
			a.seen[p.Seq] = true
			a.arrivals++
			a.mu.Unlock()
		}
	})
	a.client = mqtt.NewClient(o)
	if tok := a.client.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatalf("agent session: connect: %v", tok.Error())
	}
	if tok := a.client.Subscribe("pscm/v1/anlao/kiosk/+/press", 1, nil); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatalf("agent session: subscribe: %v", tok.Error())
	}
}

func (a *offlineAgent) disconnect() { a.client.Disconnect(250) }

func (a *offlineAgent) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.seen)
}

func (a *offlineAgent) counts() (distinct, arrivals int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.seen), a.arrivals
}

// waitFor waits until n distinct presses have arrived.
func (a *offlineAgent) waitFor(b *testing.B, n int, timeout time.Duration) {
	b.Helper()
	testenv.Eventually(b, timeout, 5*time.Millisecond, func() bool { return a.count() >= n },
		"the agent got %d of %d presses", a.count(), n)
}

// settle waits until n distinct presses have arrived or nothing (not even a
// redelivery) has for quiet, and returns how many distinct presses arrived.
func (a *offlineAgent) settle(n int, quiet time.Duration) int {
	got, last := a.counts()
	for since := time.Now(); got < n && time.Since(since) < quiet; {
		time.Sleep(10 * time.Millisecond)
		var arr int
		if got, arr = a.counts(); arr != last {
			last, since = arr, time.Now()
		}
	}
	return got
}

// waitIdle waits until the broker has neither used CPU nor written to disk
// for 300 ms, and returns when it last did: Mosquitto 2.0 sends a returning
// session its whole queue at once, so the agent has every press long before
// the broker has taken (and, saving on changes, saved) every PUBACK.
func waitIdle(b *testing.B, pid int) time.Time {
	b.Helper()
	cpu, disk := testenv.ProcCPUSeconds(b, pid), procWriteBytes(b, pid)
	busy := time.Now()
	for deadline := busy.Add(5 * time.Minute); time.Since(busy) < 300*time.Millisecond; {
		if time.Now().After(deadline) {
			b.Fatal("the broker never went idle")
		}
		time.Sleep(20 * time.Millisecond)
		c, d := testenv.ProcCPUSeconds(b, pid), procWriteBytes(b, pid)
		if c != cpu || d != disk {
			cpu, disk, busy = c, d, time.Now()
		}
	}
	return busy
}

// buttonBox is a hardware button's connection: clean session, no
// reconnect (the benchmark kills the broker under it).
func buttonBox(b *testing.B, url string) mqtt.Client {
	b.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID("anlao-k01").
		SetCleanSession(true).SetAutoReconnect(false))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatalf("button box: connect: %v", tok.Error())
	}
	return c
}

// publishPress publishes one press at QoS 1 and waits for its PUBACK.
func publishPress(b *testing.B, c mqtt.Client, seq int) {
	b.Helper()
	tok := c.Publish("pscm/v1/anlao/kiosk/k01/press", 1, false, fmt.Sprintf(`{"button":1,"seq":%d}`, seq))
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatalf("press %d: no PUBACK: %v", seq, tok.Error())
	}
}

// procWriteBytes is what a process caused to be written to storage
// (write_bytes in /proc/pid/io).
func procWriteBytes(b *testing.B, pid int) int64 {
	b.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "write_bytes: "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatalf("no write_bytes in /proc/%d/io", pid)
	return 0
}
