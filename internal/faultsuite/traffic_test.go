//go:build linux

package faultsuite

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/simcenter"
	"github.com/pscm/pscm/internal/testenv"
)

// key names one count the suite checks: a measurement of a site, or for
// ratings one kiosk and level of it.
type key struct {
	site, measurement, kiosk, level string
}

func (k key) String() string {
	s := k.site + "/" + k.measurement
	if k.kiosk != "" {
		s += "/" + k.kiosk + "/" + k.level
	}
	return s
}

// ledger is the ground truth: what InfluxDB must hold, from the
// simulator's reports and from what the agent answered "accepted" (HTTP
// 200 accepted, 204 for a queue step, a PUBACK from the center's broker for
// a button press or queue step published there).
type ledger struct {
	mu   sync.Mutex
	want map[key]int64
	// generated and accepted count inputs, for the summary table.
	generated, accepted int64
	// outcomes counts how each kind of input ended, e.g. "tap 200".
	outcomes map[string]int
}

func newLedger() *ledger {
	return &ledger{want: map[key]int64{}, outcomes: map[string]int{}}
}

// addSim adds one simulator run: every event it published must be stored.
func (l *ledger) addSim(rep simReport, msgs []simcenter.Message) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, n := range rep.Kinds {
		l.want[key{site: simSite, measurement: string(k)}] += int64(n)
	}
	for _, m := range msgs {
		if m.Kind != schema.KindRating {
			continue
		}
		var r struct {
			Kiosk string `json:"kiosk"`
			Level string `json:"level"`
		}
		if err := json.Unmarshal(m.Payload, &r); err == nil {
			l.want[key{simSite, "rating", r.Kiosk, r.Level}]++
		}
	}
	l.generated += int64(rep.Distinct)
	l.accepted += int64(rep.Distinct)
}

// input records one input to the agent and how it ended; accepted ones
// add their events to want.
func (l *ledger) input(outcome string, events ...key) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.generated++
	l.outcomes[outcome]++
	if len(events) > 0 {
		l.accepted++
	}
	for _, k := range events {
		l.want[k]++
	}
}

type ledgerTotals struct{ generated, accepted int64 }

func (l *ledger) totals() ledgerTotals {
	l.mu.Lock()
	defer l.mu.Unlock()
	return ledgerTotals{l.generated, l.accepted}
}

func (l *ledger) snapshot() (map[key]int64, map[string]int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := make(map[key]int64, len(l.want))
	for k, v := range l.want {
		w[k] = v
	}
	o := make(map[string]int, len(l.outcomes))
	for k, v := range l.outcomes {
		o[k] = v
	}
	return w, o
}

func formatOutcomes(o map[string]int) string {
	var parts []string
	for k, v := range o {
		parts = append(parts, fmt.Sprintf("%s: %d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// buttons are the agent's default hardware buttons 1..4.
var buttons = []schema.Level{schema.LevelVerySatisfied, schema.LevelSatisfied, schema.LevelNeutral, schema.LevelDissatisfied}

// Pacing of the agent's traffic: about 14 inputs a second, 17 events with
// the sessions, on top of the simulator's 10 or so.
const (
	tapEvery    = 250 * time.Millisecond
	buttonEvery = 250 * time.Millisecond
	stepEvery   = 300 * time.Millisecond
)

// driver plays the center behind the real agent: two kiosk tablets (k01,
// k02) tapping over HTTP as the kiosk page does, two hardware button boxes
// (k03, k04) and the queue system both over the webhook (counter c11) and
// on the center's broker (counter c12). Its counters outlive a scenario, as
// the devices do.
type driver struct {
	s      *system
	led    *ledger
	client *http.Client
	local  mqtt.Client

	mu      sync.Mutex
	seq     map[string]uint64 // per button box
	tickets int               // tickets issued, both queue paths
	// tapIDs are the rating IDs the agent answered "accepted" to a tap
	// with, each of which must be in InfluxDB exactly once.
	tapIDs map[string]bool

	last time.Time // queue step ts, strictly increasing
	errs []string  // the suite's own failures, reported by the test
	// at is the last step each queue counter had accepted.
	at map[string]schema.Step
}

func newDriver(t *testing.T, s *system, led *ledger) *driver {
	t.Helper()
	opts := mqtt.NewClientOptions().AddBroker(s.local.URL()).SetClientID("faults-devices").
		SetCleanSession(true).SetAutoReconnect(true).SetMaxReconnectInterval(time.Second)
	c := mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("devices' connection to the center's broker: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(250) })
	return &driver{
		s: s, led: led, local: c, seq: map[string]uint64{}, at: map[string]schema.Step{}, tapIDs: map[string]bool{},
		// The page's own limit on one request.
		client: &http.Client{Timeout: 7 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}},
	}
}

// run drives traffic until ctx ends; a ticket under way is finished first.
func (d *driver) run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { d.taps(ctx) })
	wg.Go(func() { d.buttons(ctx) })
	wg.Go(func() { d.queue(ctx, "c11", "ho-tich", "W", d.webhookStep) })
	wg.Go(func() { d.queue(ctx, "c12", "dat-dai", "L", d.brokerStep) })
	wg.Wait()
}

func (d *driver) fail(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.errs) < 20 {
		d.errs = append(d.errs, fmt.Sprintf(format, args...))
	}
}

func every(ctx context.Context, period time.Duration, f func(i int)) {
	t := time.NewTicker(period)
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f(i)
		}
	}
}

// taps presses k01 and k02 in turn, with levels mostly satisfied.
func (d *driver) taps(ctx context.Context) {
	every(ctx, tapEvery, func(i int) {
		kiosk := fmt.Sprintf("k%02d", i%2+1)
		level := buttons[[]int{0, 0, 1, 0, 1, 2, 0, 1, 3, 0}[i%10]]
		d.tapAndCount(kiosk, level, pageRetries)
	})
}

// pageRetries is kiosk.js's schedule: the same body again after 300 ms and
// after 1 s more, then the citizen is told it failed.
var pageRetries = []time.Duration{300 * time.Millisecond, time.Second}

// tapAndCount taps and records the outcome in the ledger.
func (d *driver) tapAndCount(kiosk string, level schema.Level, retries []time.Duration) {
	code, status, id := d.tap(kiosk, level, retries)
	outcome := fmt.Sprintf("tap %d", code)
	if code == http.StatusOK {
		outcome = "tap 200 " + status
	}
	if code == http.StatusOK && status == "accepted" {
		d.mu.Lock()
		d.tapIDs[id] = true
		d.mu.Unlock()
		d.led.input(outcome, key{site: agentSite, measurement: "rating"}, key{agentSite, "rating", kiosk, string(level)})
		return
	}
	if code == http.StatusOK || (code >= 400 && code < 500) {
		// Neither ignored presses nor client errors may happen here:
		// no minimum interval, no session claims at these counters.
		d.fail("tap %s %s: HTTP %d %q", kiosk, level, code, status)
	}
	d.led.input(outcome)
}

// tap posts one press as kiosk.js does: one press_id, retried with the
// very same body after a network error or a 5xx, once per entry of
// retries, after waiting it. It returns the last status (0 for a network
// error), the body's status field and the rating ID.
func (d *driver) tap(kiosk string, level schema.Level, retries []time.Duration) (int, string, string) {
	var id [16]byte
	_, _ = rand.Read(id[:])
	body := fmt.Sprintf(`{"level":%q,"press_id":%q}`, level, hex.EncodeToString(id[:]))
	code, status, rating := 0, "", ""
	for attempt := 0; ; attempt++ {
		code, status, rating = d.post("/kiosk/"+kiosk+"/press", kioskToken(kiosk), body)
		if code != 0 && code < 500 || attempt == len(retries) {
			break
		}
		time.Sleep(retries[attempt])
	}
	return code, status, rating
}

func (d *driver) post(path, token, body string) (int, string, string) {
	req, err := http.NewRequest(http.MethodPost, "http://"+d.s.agentAddr+path, strings.NewReader(body))
	if err != nil {
		d.fail("request: %v", err)
		return 0, "", ""
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, "", ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	var out struct {
		Status   string `json:"status"`
		RatingID string `json:"rating_id"`
	}
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out.Status, out.RatingID
}

// buttons publishes raw presses of k03 and k04 on the center's broker, as
// the button boxes do: {"button":N,"seq":M}, M counting up per box. A press
// the broker acknowledged is the box's to forget: it must arrive.
func (d *driver) buttons(ctx context.Context) {
	every(ctx, buttonEvery, func(i int) {
		kiosk := fmt.Sprintf("k%02d", i%2+3)
		b := []int{1, 2, 1, 1, 2, 3, 1, 2, 4, 1}[(i/2)%10]
		d.button(kiosk, b)
	})
}

// button publishes one press of button b on kiosk's box, with the box's
// next seq, and records the outcome in the ledger.
func (d *driver) button(kiosk string, b int) {
	d.mu.Lock()
	d.seq[kiosk]++
	seq := d.seq[kiosk]
	d.mu.Unlock()
	payload := fmt.Sprintf(`{"button":%d,"seq":%d}`, b, seq)
	topic := schema.TopicPrefix + agentSite + "/kiosk/" + kiosk + "/press"
	if d.publish(topic, payload) {
		d.led.input("button puback", key{site: agentSite, measurement: "rating"}, key{agentSite, "rating", kiosk, string(buttons[b-1])})
	} else {
		d.led.input("button no puback")
	}
}

// burst strikes kill in the middle of a burst: 40 taps of k01 and k02 at
// once, each retried with its press_id until it is answered (a tablet
// waiting out the agent's restart), and 40 button presses of k03 and k04
// at once, which the center's broker redelivers to the restarted agent
// when it had them unacknowledged. Some taps were spooled by the killed
// agent and never answered: the new agent must answer their retries with
// the same rating, and take no redelivered press twice.
func (d *driver) burst(t *testing.T, kill func()) {
	t.Helper()
	patient := make([]time.Duration, 100) // 30 s of retries
	for i := range patient {
		patient[i] = 300 * time.Millisecond
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			<-start
			d.tapAndCount(fmt.Sprintf("k%02d", i%2+1), buttons[i%4], patient)
		})
		wg.Go(func() {
			<-start
			d.button(fmt.Sprintf("k%02d", i%2+3), i%4+1)
		})
	}
	close(start)
	time.Sleep(20 * time.Millisecond)
	kill()
	wg.Wait()
}

// sameSecond posts n tickets' issued steps through the webhook, one after
// another with the same whole-second ts, as a queue system that stamps
// seconds does: n distinct queue points, none overwriting another.
func (d *driver) sameSecond(t *testing.T, n int) {
	t.Helper()
	ts := time.Now().UTC().Truncate(time.Second).Format(time.RFC3339)
	for range n {
		d.mu.Lock()
		d.tickets++
		k := d.tickets
		d.mu.Unlock()
		payload := fmt.Sprintf(`{"id":"S-%d-issued","ts":%q,"site":%q,"ticket":"S%04d","service":"ho-tich","step":"issued"}`,
			k, ts, agentSite, k%10000)
		if ok, outcome := d.webhookStep(payload); ok {
			d.led.input(outcome, key{site: agentSite, measurement: "queue"})
		} else {
			d.led.input(outcome)
		}
	}
}

func (d *driver) publish(topic, payload string) bool {
	tok := d.local.Publish(topic, 1, false, payload)
	return tok.WaitTimeout(10*time.Second) && tok.Error() == nil
}

// queue runs tickets through one counter, a step every stepEvery: issued,
// called, started, finished; every seventh ticket is called and never
// comes (no_show). A step is sent until it is taken (send reports false
// when it gave up); a ticket whose step was refused for good is abandoned,
// so every finished ticket had all its earlier steps accepted and must
// yield exactly one session.
func (d *driver) queue(ctx context.Context, counter, service, prefix string, send func(payload string) (bool, string)) {
	t := time.NewTicker(stepEvery)
	defer t.Stop()
	for ctx.Err() == nil {
		d.mu.Lock()
		d.tickets++
		n := d.tickets
		d.mu.Unlock()
		steps := []schema.Step{schema.StepIssued, schema.StepCalled, schema.StepStarted, schema.StepFinished}
		if n%7 == 0 {
			steps = []schema.Step{schema.StepIssued, schema.StepCalled, schema.StepNoShow}
		}
		ticket := fmt.Sprintf("%s%04d", prefix, n%10000)
		for _, step := range steps {
			<-t.C // the ticket is finished even after ctx ends: at most 4 steps
			ts := d.stamp()
			ctr := ""
			if step != schema.StepIssued {
				ctr = fmt.Sprintf(`,"counter":%q`, counter)
			}
			payload := fmt.Sprintf(`{"id":"%s-%d-%s","ts":%q,"site":%q,"ticket":%q,"service":%q%s,"step":%q}`,
				prefix, n, step, ts.Format(time.RFC3339Nano), agentSite, ticket, service, ctr, step)
			ok, outcome := send(payload)
			if !ok {
				d.led.input(outcome)
				break
			}
			events := []key{{site: agentSite, measurement: "queue"}}
			if step == schema.StepFinished {
				events = append(events, key{site: agentSite, measurement: "session"})
			}
			d.led.input(outcome, events...)
			d.mu.Lock()
			d.at[counter] = step
			d.mu.Unlock()
		}
	}
}

// midService waits until a queue counter is serving a ticket (its last
// accepted step is started, finished comes next), so a fault then strikes a
// service under way rather than, by the pacing's rhythm, the gap between
// two tickets.
func (d *driver) midService(t *testing.T) {
	t.Helper()
	testenv.Eventually(t, 20*time.Second, 2*time.Millisecond, func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.at["c11"] == schema.StepStarted || d.at["c12"] == schema.StepStarted
	}, "no queue counter ever started a service")
}

// stamp is the queue system's clock: strictly increasing, so no two steps
// share a point identity.
func (d *driver) stamp() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	t := time.Now().UTC()
	if !t.After(d.last) {
		t = d.last.Add(time.Microsecond)
	}
	d.last = t
	return t
}

// webhookStep posts a step as a queue system would, retrying the same body
// on a network error or a 5xx for about ten seconds.
func (d *driver) webhookStep(payload string) (bool, string) {
	code := 0
	for _, delay := range []time.Duration{300 * time.Millisecond, time.Second, 2 * time.Second, 3 * time.Second, 4 * time.Second, 0} {
		code, _, _ = d.post("/queue", webhookToken, payload)
		if code == http.StatusNoContent {
			return true, "webhook 204"
		}
		if code >= 400 && code < 500 {
			d.fail("queue step refused as bad input: HTTP %d for %s", code, payload)
			break
		}
		time.Sleep(delay)
	}
	return false, fmt.Sprintf("webhook %d", code)
}

// brokerStep publishes a step on the center's broker.
func (d *driver) brokerStep(payload string) (bool, string) {
	if d.publish(schema.TopicPrefix+agentSite+"/queue", payload) {
		return true, "queue puback"
	}
	return false, "queue no puback"
}
