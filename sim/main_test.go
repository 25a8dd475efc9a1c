package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/pscm/pscm/internal/mqttconn"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/simcenter"
	"github.com/pscm/pscm/internal/testenv"
)

// collect subscribes to every kind of site's events with a persistent
// session, as the collector does, and returns a function giving the
// distinct payloads received so far.
func collect(t *testing.T, broker, site string) func() int {
	t.Helper()
	cfg := mqttconn.Defaults()
	cfg.Broker, cfg.ClientID = broker, "test-collector"
	opts, err := cfg.Options(false)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := make(map[string]bool)
	filters := map[string]byte{
		"pscm/v1/" + site + "/+":       1,
		"pscm/v1/" + site + "/agent/+": 1,
	}
	subscribed := make(chan error, 1)
	opts.SetOnConnectHandler(func(c mqtt.Client) {
		tok := c.SubscribeMultiple(filters, func(_ mqtt.Client, m mqtt.Message) {
			mu.Lock()
			seen[m.Topic()+"\x00"+string(m.Payload())] = true
			mu.Unlock()
		})
		go func() {
			tok.Wait()
			select {
			case subscribed <- tok.Error():
			default:
			}
		}()
	})
	c := mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(250) })
	select {
	case err := <-subscribed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no SUBACK within 10s")
	}
	return func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(seen)
	}
}

func runReport(t *testing.T, args ...string) report {
	t.Helper()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	err := run(ctx, args, &stdout, &stderr)
	t.Logf("stderr:\n%s", stderr.String())
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var r report
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil {
		t.Fatalf("report %q: %v", stdout.String(), err)
	}
	return r
}

// TestRunLoad runs the load mode against a real broker and checks the
// report against what simcenter.Load generates and what a subscriber got.
func TestRunLoad(t *testing.T) {
	t.Parallel()
	m := testenv.StartMosquitto(t)
	distinct := collect(t, m.URL(), "anlao")
	const start = "2026-11-25T00:00:00Z"
	r := runReport(t, "-broker", m.URL(), "-client-id", "test-sim", "-mode", "load",
		"-n", "1000", "-dups", "50", "-seed", "3", "-start", start, "-report")

	st, _ := time.Parse(time.RFC3339, start)
	want := simcenter.Count(simcenter.Load("anlao", 3, 1000, 50, st))
	if r.Distinct != 1000 || r.Messages != 1050 || r.Acked != 1050 || !r.Flushed {
		t.Fatalf("report %+v: want 1000 distinct, 1050 messages all acknowledged", r)
	}
	for _, k := range schema.Kinds() {
		if r.Kinds[k] == 0 || r.Kinds[k] != want[k] {
			t.Errorf("%s: report says %d, Load made %d", k, r.Kinds[k], want[k])
		}
	}
	if !r.From.After(st) || !r.To.After(r.From) {
		t.Errorf("from %v to %v: want a range after start %v", r.From, r.To, st)
	}
	testenv.Eventually(t, time.Minute, 20*time.Millisecond, func() bool { return distinct() == 1000 },
		"subscriber did not get the 1000 distinct events")
}

// TestRunCenter runs the center mode, bounded once by -n and once by
// -duration.
func TestRunCenter(t *testing.T) {
	t.Parallel()
	m := testenv.StartMosquitto(t)
	tests := []struct {
		name string
		args []string
		want func(report) error
	}{
		{
			name: "n events through opening time",
			// 07:25 in Vietnam, fast enough to run the opening in well
			// under a second.
			args: []string{"-start", "2026-11-25T00:25:00Z", "-speed", "100000", "-n", "2000"},
			want: func(r report) error {
				if r.Distinct != 2000 || r.Messages != 2000 || r.Acked != 2000 {
					return fmt.Errorf("want 2000 events published and acknowledged")
				}
				if r.Kinds[schema.KindQueue] == 0 || r.Kinds[schema.KindOccupancy] == 0 {
					return fmt.Errorf("no counter activity after opening")
				}
				return nil
			},
		},
		{
			name: "duration",
			args: []string{"-start", "2026-11-25T00:00:00Z", "-speed", "600", "-duration", "300ms"},
			want: func(r report) error {
				// 300 ms at 600x is 3 simulated minutes: 18 reports per
				// camera and 3 from the agent, fewer if the machine is
				// too busy to keep up, never more.
				if r.Distinct < 8 || r.Distinct > 8*18+3 || r.Acked != r.Messages {
					return fmt.Errorf("unexpected counts for 3 simulated minutes")
				}
				return nil
			},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"-broker", m.URL(), "-client-id", fmt.Sprint("test-sim-", i), "-report"}, tt.args...)
			r := runReport(t, args...)
			sum := 0
			for _, n := range r.Kinds {
				sum += n
			}
			if sum != r.Distinct || !r.Flushed {
				t.Fatalf("report %+v: kinds do not add up or not flushed", r)
			}
			if err := tt.want(r); err != nil {
				t.Fatalf("report %+v: %v", r, err)
			}
		})
	}
}

func TestRunFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-mode", "replay"}, `-mode: "replay" is not center, load, cameras or backfill`},
		{[]string{"-mode", "backfill"}, "-influx: required in backfill mode"},
		{[]string{"-mode", "backfill", "-influx", "tcp://127.0.0.1:8086"}, `-influx: "tcp://127.0.0.1:8086" is not an http(s) URL`},
		{[]string{"-mode", "backfill", "-influx", "http://127.0.0.1:1", "-days", "0"}, "-days: 0 outside 1..3660"},
		{[]string{"-mode", "backfill", "-influx", "http://127.0.0.1:1", "-sites", "0"}, "-sites: 0 outside 1..5000"},
		{[]string{"-mode", "backfill", "-influx", "http://127.0.0.1:1", "-end", "2999-01-01"}, "-end: 2999-01-01 is after today"},
		{[]string{"-mode", "backfill", "-influx", "http://127.0.0.1:1", "-end", "1/2/2026"}, `-end: "1/2/2026" is not a date`},
		{[]string{"-mode", "load", "-buttons-broker", "tcp://127.0.0.1:1883"}, "-buttons-broker: ratings are pressed in center mode only"},
		{[]string{"-mode", "cameras", "-cameras", "0"}, "-cameras: 0 outside 1..64"},
		{[]string{"-mode", "cameras", "-scene", "night"}, `-scene: "night" is not day, brief or bench1080p`},
		{[]string{"-mode", "cameras", "-rtsp-user", "u"}, "-rtsp-user and -rtsp-password-file go together"},
		{[]string{"-mode", "cameras", "-first-counter", "99"}, "beyond c99"},
		{[]string{"-mode", "cameras", "-rtsp-listen", "nowhere"}, "-rtsp-listen"},
		{[]string{"-site", "An Lao"}, `-site: "An Lao" does not match`},
		{[]string{"-speed", "0"}, "-speed: 0 is not positive"},
		{[]string{"-start", "today"}, `-start: "today" is not an RFC 3339 time`},
		{[]string{"-dups", "3"}, "-dups: redeliveries are made in load mode only"},
		{[]string{"-mode", "load", "-n", "-1"}, "-n: -1 is negative"},
		{[]string{"-counters", "0"}, "-counters: 0 outside 1..999"},
		{[]string{"-window", "0"}, "-window: 0 outside 1..60000"},
		{[]string{"-broker", "http://127.0.0.1:1883"}, `scheme "http" not supported`},
		{[]string{"-client-id", ""}, "client_id: required"},
		{[]string{"extra"}, "unexpected arguments: [extra]"},
		{[]string{"-nope"}, "flag provided but not defined: -nope"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), tt.args, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("run(%q) = %v, want an error containing %q", tt.args, err, tt.want)
			}
		})
	}
}

func TestDefaultStart(t *testing.T) {
	t.Parallel()
	vn := func(d, h, m int) time.Time { return time.Date(2026, 11, d, h, m, 0, 0, time.FixedZone("ICT", 7*3600)) }
	for _, tt := range []struct {
		name      string
		now, want time.Time
	}{
		{"weekday after 07:00", vn(25, 8, 0), vn(25, 7, 0)},
		{"weekday before 07:00 goes back a day", vn(25, 6, 30), vn(24, 7, 0)},
		{"Saturday goes back to Friday", vn(28, 10, 0), vn(27, 7, 0)},
		{"Monday dawn goes back to Friday", vn(30, 5, 0), vn(27, 7, 0)},
	} {
		o, err := parseFlags(nil, &bytes.Buffer{}, tt.now.UTC())
		if err != nil {
			t.Fatal(err)
		}
		if !o.start.Equal(tt.want) {
			t.Errorf("%s: default start %v, want %v", tt.name, o.start, tt.want.UTC())
		}
	}
	now := vn(25, 8, 0)
	o, err := parseFlags(nil, &bytes.Buffer{}, now)
	if err != nil || !o.catchUp {
		t.Fatalf("catch-up must be the default: %v %v", o.catchUp, err)
	}
	o, err = parseFlags([]string{"-mode", "load"}, &bytes.Buffer{}, now)
	if err != nil || o.n != defaultLoadEvents {
		t.Fatalf("load mode -n default: %d, %v", o.n, err)
	}
}

// TestRunButtons: with -buttons-broker, center mode presses the hardware
// buttons for the day's ratings instead of publishing rating events: one
// press per rated session, on pscm/v1/{site}/kiosk/{kiosk}/press, as
// {"button":N,"seq":M,"ts":T} the agent accepts, with the press's own time
// and a seq that a replayed day repeats.
func TestRunButtons(t *testing.T) {
	t.Parallel()
	m := testenv.StartMosquitto(t)
	var mu sync.Mutex
	var got []mqtt.Message
	sub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(m.URL()).SetClientID("press-watch"))
	if tok := sub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer sub.Disconnect(100)
	if tok := sub.Subscribe("pscm/v1/anlao/kiosk/+/press", 1, func(_ mqtt.Client, msg mqtt.Message) {
		mu.Lock()
		got = append(got, msg)
		mu.Unlock()
	}); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	const start = "2026-11-25T00:25:00Z" // 07:25 in Vietnam
	r := runReport(t, "-broker", m.URL(), "-buttons-broker", m.URL(), "-client-id", "test-buttons",
		"-start", start, "-speed", "1000000", "-n", "4000", "-counters", "4", "-report")
	if r.Presses == 0 || r.Kinds[schema.KindRating] != 0 || r.Presses > r.Kinds[schema.KindSession] {
		t.Fatalf("report %+v: want presses instead of ratings, no more than the sessions", r)
	}
	testenv.Eventually(t, 10*time.Second, 10*time.Millisecond, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == r.Presses },
		fmt.Sprintf("%d presses not received", r.Presses))
	mu.Lock()
	defer mu.Unlock()
	st, _ := time.Parse(time.RFC3339, start)
	for _, msg := range got {
		tp, err := schema.ParseTopic(msg.Topic())
		if err != nil || !tp.Press || tp.Site != "anlao" {
			t.Fatalf("topic %q: %v", msg.Topic(), err)
		}
		p, err := schema.DecodePress(msg.Payload())
		if err != nil || p.Button < 1 || p.Button > 4 || p.TS.Before(st) || p.Seq != uint64(p.TS.UnixMilli()) {
			t.Fatalf("payload %q: %+v %v", msg.Payload(), p, err)
		}
	}
}

// TestRunBackfill writes a few weeks of a center's story straight to a real
// InfluxDB and checks that every point the report counts is there, that the
// marker makes a second run a no-op, and that -replace rewrites the window
// without doubling anything.
func TestRunBackfill(t *testing.T) {
	t.Parallel()
	db := testenv.StartInflux(t)
	marker := t.TempDir() + "/backfill.done"
	args := []string{"-mode", "backfill", "-influx", db.URL(), "-db", db.Database(), "-site", "anlao",
		"-counters", "3", "-seed", "5", "-days", "21", "-end", "2026-11-20", "-batch", "700", "-marker", marker, "-report"}
	r := runReport(t, args...)
	if r.Skipped || r.Story == nil || r.Distinct == 0 {
		t.Fatalf("report %+v", r)
	}
	from := time.Date(2026, 10, 30, 0, 0, 0, 0, simcenter.Location())
	if !r.From.Equal(from) || !r.To.Equal(from.AddDate(0, 0, 21)) {
		t.Fatalf("window %v..%v, want the 21 days before 20/11/2026", r.From, r.To)
	}
	check := func() {
		t.Helper()
		for _, k := range schema.Kinds() {
			if got := db.Count(t, string(k), "id"); got != int64(r.Kinds[k]) {
				t.Errorf("%s: %d points in InfluxDB, the report says %d", k, got, r.Kinds[k])
			}
		}
	}
	for _, k := range []schema.Kind{schema.KindRating, schema.KindSession, schema.KindQueue, schema.KindDossier, schema.KindOccupancy, schema.KindCamera} {
		if r.Kinds[k] == 0 {
			t.Errorf("no %s in three weeks of history", k)
		}
	}
	if r.Kinds[schema.KindRating] > r.Kinds[schema.KindSession] {
		t.Errorf("%d ratings for %d sessions", r.Kinds[schema.KindRating], r.Kinds[schema.KindSession])
	}
	check()
	if again := runReport(t, args...); !again.Skipped || again.Distinct != 0 {
		t.Fatalf("second run with the marker: %+v", again)
	}
	// A live point in the window: -replace deletes it with the old history.
	db.Write(t, fmt.Sprintf("rating,site=anlao,counter=c01,kiosk=k01,level=satisfied id=\"x\" %d\n", from.Add(50*time.Hour).UnixNano()))
	replaced := runReport(t, append(args[:len(args)-3:len(args)-3], "-replace", "-report")...)
	if replaced.Skipped || replaced.Distinct != r.Distinct {
		t.Fatalf("replace: %+v, first run %d points", replaced, r.Distinct)
	}
	check()
}

// TestRunBackfillProvince writes a small province, three centers of their
// own size and load, and checks every point is there, each center with its
// own counters, and that the same flags give the same province.
func TestRunBackfillProvince(t *testing.T) {
	t.Parallel()
	db := testenv.StartInflux(t)
	args := []string{"-mode", "backfill", "-influx", db.URL(), "-db", db.Database(), "-site", "tinh",
		"-sites", "3", "-seed", "9", "-days", "3", "-end", "2026-11-20", "-report"}
	r := runReport(t, args...)
	if len(r.Sites) != 3 || r.Story != nil {
		t.Fatalf("report %+v", r)
	}
	var sum int
	loads := map[float64]bool{}
	for i, s := range r.Sites {
		if want := fmt.Sprintf("tinh-%03d", i+1); s.Site != want || s.Counters < 4 || s.Counters > 20 || s.Load < 0.6 || s.Load > 1.4 || s.Points == 0 {
			t.Errorf("site %d: %+v", i, s)
		}
		loads[s.Load] = true
		sum += s.Points
		// Each center's own counters served (three working days).
		series := db.Query(t, fmt.Sprintf(`SELECT count("id") FROM "session" WHERE "site" = '%s' GROUP BY "counter"`, s.Site))
		if len(series) != s.Counters {
			t.Errorf("%s: sessions at %d counters, want %d", s.Site, len(series), s.Counters)
		}
	}
	if sum != r.Distinct || len(loads) != 3 {
		t.Errorf("sites' points add up to %d of %d; loads %v", sum, r.Distinct, loads)
	}
	for _, k := range schema.Kinds() {
		if got := db.Count(t, string(k), "id"); got != int64(r.Kinds[k]) {
			t.Errorf("%s: %d points in InfluxDB, the report says %d", k, got, r.Kinds[k])
		}
	}
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), append(args[:len(args)-1:len(args)-1], "-influx", "http://127.0.0.1:1"), &stdout, &stderr); err == nil {
		t.Fatal("an unreachable InfluxDB was not an error")
	}
	if again := provinceOf(options{site: "tinh", seed: 9}, 3); again[1].counters != r.Sites[1].Counters || again[1].load != r.Sites[1].Load {
		t.Errorf("the same flags gave another province: %+v", again)
	}
}
