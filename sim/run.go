package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/pscm/pscm/internal/mqttconn"
	"github.com/pscm/pscm/internal/mqttpub"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/simcenter"
)

const (
	// defaultLoadEvents is -n in load mode when not given.
	defaultLoadEvents = 10000
	// progressEvery is how often a running simulation logs its counts.
	progressEvery = 10 * time.Second
	// flushTimeout bounds the wait for the last acknowledgements once the
	// run is over, so that a broker gone for good cannot hang the exit.
	flushTimeout = 30 * time.Second
	// aheadWarning is how far simulated time may run ahead of the wall
	// clock before a warning: an hour short of the contract's 24 h.
	aheadWarning = 23 * time.Hour
)

// options are the parsed command-line flags.
type options struct {
	mqtt     mqttconn.Config
	window   int
	site     string
	counters int
	seed     int64
	mode     string
	speed    float64
	catchUp  bool
	start    time.Time
	duration time.Duration
	n, dups  int
	rate     float64
	report   bool
	buttons  string // center mode: the center's broker, where ratings are pressed
	cams     cameraOptions
	backfill backfillOptions
}

// parseFlags parses and checks args; now gives the default -start.
func parseFlags(args []string, stderr io.Writer, now time.Time) (options, error) {
	fs := flag.NewFlagSet("pscm-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := options{mqtt: mqttconn.Defaults()}
	defStart := lastWorkdayMorning(now)

	fs.StringVar(&o.mqtt.Broker, "broker", o.mqtt.Broker, "MQTT broker URL (tcp://, ssl://)")
	fs.StringVar(&o.mqtt.ClientID, "client-id", "pscm-sim", "MQTT client ID; keep it stable, the session is persistent")
	fs.StringVar(&o.mqtt.Username, "username", "", "MQTT user name")
	fs.StringVar(&o.mqtt.Password.File, "password-file", "", "file holding the MQTT password")
	fs.StringVar(&o.mqtt.TLS.CAFile, "ca-file", "", "CA certificate file for ssl:// brokers")
	fs.IntVar(&o.window, "window", mqttpub.DefaultWindow, "messages awaiting their PUBACK at most")
	fs.StringVar(&o.site, "site", "anlao", "site ID, the {site} of every topic")
	fs.IntVar(&o.counters, "counters", 8, "counters in the simulated center (center mode)")
	fs.Int64Var(&o.seed, "seed", 1, "random seed; the same seed gives the same events")
	fs.StringVar(&o.mode, "mode", "center", "center: a realistic day paced by the clock; load: -n events as fast as -rate allows; cameras: RTSP cameras (no MQTT); backfill: -days of history written straight to InfluxDB (no MQTT)")
	fs.Float64Var(&o.speed, "speed", 60, "simulated seconds per real second (center mode)")
	start := fs.String("start", defStart.Format(time.RFC3339), "simulated start time, RFC 3339 (default the latest weekday 07:00 in Vietnam that has begun)")
	fs.BoolVar(&o.catchUp, "catch-up", true, "center mode: run at -speed only until simulated time reaches the wall clock, then in real time (events are never stamped in the future)")
	fs.DurationVar(&o.duration, "duration", 0, "real time to run; 0 runs until -n events or Ctrl-C")
	fs.IntVar(&o.n, "n", 0, fmt.Sprintf("events to publish; 0 means %d in load mode and no limit in center mode", defaultLoadEvents))
	fs.IntVar(&o.dups, "dups", 0, "extra exact redeliveries of earlier events, mixed in (load mode)")
	fs.Float64Var(&o.rate, "rate", 0, "messages per second (load mode); 0 is as fast as possible")
	fs.BoolVar(&o.report, "report", false, "print a JSON line with the counts of distinct events published, per kind, to stdout")
	fs.StringVar(&o.buttons, "buttons-broker", "", "center mode: the center's broker (tcp://, ssl://; same user and CA as -broker); the day's ratings are pressed on the hardware buttons there, for an agent to turn into ratings, instead of published as rating events")
	o.cams.flags(fs)
	o.backfill.flags(fs)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	t, err := time.Parse(time.RFC3339, *start)
	if err != nil {
		return o, fmt.Errorf("-start: %q is not an RFC 3339 time like 2026-11-25T00:00:00Z", *start)
	}
	o.start = t.UTC()
	switch {
	case o.mode != "center" && o.mode != "load" && o.mode != "cameras" && o.mode != "backfill":
		return o, fmt.Errorf("-mode: %q is not center, load, cameras or backfill", o.mode)
	case !schema.ValidID(o.site):
		return o, fmt.Errorf("-site: %q does not match %s", o.site, schema.IDPattern)
	case o.counters < 1 || o.counters > 999:
		return o, fmt.Errorf("-counters: %d outside 1..999", o.counters)
	case !(o.speed > 0):
		return o, fmt.Errorf("-speed: %v is not positive", o.speed)
	case o.duration < 0:
		return o, fmt.Errorf("-duration: %v is negative", o.duration)
	case o.n < 0:
		return o, fmt.Errorf("-n: %d is negative", o.n)
	case o.dups < 0:
		return o, fmt.Errorf("-dups: %d is negative", o.dups)
	case o.dups > 0 && o.mode != "load":
		return o, errors.New("-dups: redeliveries are made in load mode only")
	case o.buttons != "" && o.mode != "center":
		return o, errors.New("-buttons-broker: ratings are pressed in center mode only")
	case o.rate < 0:
		return o, fmt.Errorf("-rate: %v is negative", o.rate)
	case o.window < 1 || o.window > 60000:
		return o, fmt.Errorf("-window: %d outside 1..60000", o.window)
	}
	switch o.mode {
	case "cameras":
		return o, o.cams.validate()
	case "backfill":
		return o, o.backfill.validate()
	}
	if o.mode == "load" && o.n == 0 {
		o.n = defaultLoadEvents
	}
	if err := o.mqtt.Validate(); err != nil {
		return o, fmt.Errorf("mqtt: %w", err)
	}
	if o.buttons != "" {
		if err := o.buttonsMQTT().Validate(); err != nil {
			return o, fmt.Errorf("-buttons-broker: %w", err)
		}
	}
	return o, nil
}

// buttonsMQTT is the connection to the center's broker: -broker's settings
// with -buttons-broker's URL and a client ID of its own.
func (o options) buttonsMQTT() mqttconn.Config {
	c := o.mqtt
	c.Broker, c.ClientID = o.buttons, o.mqtt.ClientID+"-buttons"
	return c
}

// report is the JSON line -report prints.
type report struct {
	Mode string `json:"mode"`
	Site string `json:"site"`
	// Distinct is how many distinct events were published, Kinds the same
	// per kind: what a consumer storing each event once should hold.
	Distinct int                 `json:"distinct"`
	Kinds    map[schema.Kind]int `json:"kinds"`
	// Messages counts what was handed to the publisher, redeliveries
	// included; Acked how many of them the broker acknowledged.
	Messages int64 `json:"messages"`
	Acked    int64 `json:"acked"`
	Retried  int64 `json:"retried"`
	// Flushed is true when every message was acknowledged before exit.
	Flushed bool `json:"flushed"`
	// From and To bound the events' ts, for querying what was stored.
	From    time.Time `json:"from,omitzero"`
	To      time.Time `json:"to,omitzero"`
	Seconds float64   `json:"seconds"`
	PerSec  float64   `json:"msgs_per_second"`
	// Presses counts the ratings pressed on the hardware buttons
	// (-buttons-broker) instead of published as events.
	Presses int `json:"presses,omitempty"`
	// Story and Skipped are the backfill's: where the story put what went
	// wrong, and whether -marker said it was already done.
	Story   *storyReport `json:"story,omitempty"`
	Skipped bool         `json:"skipped,omitempty"`
	// Sites are a province backfill's centers (-sites above 1).
	Sites []siteReport `json:"sites,omitempty"`
}

// run is the whole program; tests call it in-process. It returns nil when
// the run ends by itself (-n, -duration) or by ctx (Ctrl-C), after waiting
// for the broker's acknowledgements.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr, time.Now())
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	switch o.mode {
	case "cameras":
		return runCameras(ctx, o.cams, stdout, log)
	case "backfill":
		began := time.Now()
		rep, err := runBackfill(ctx, o, log)
		rep.Mode, rep.Site = o.mode, o.site
		rep.Seconds = time.Since(began).Seconds()
		rep.PerSec = float64(rep.Distinct) / rep.Seconds
		if err != nil {
			return fmt.Errorf("backfill: %w", err)
		}
		log.Info("backfill done", "points", rep.Distinct, "seconds", rep.Seconds, "points_per_second", int(rep.PerSec), "skipped", rep.Skipped)
		return printReport(o, stdout, rep)
	}
	pub, err := mqttpub.New(o.mqtt, log.With("component", "publish"), mqttpub.WithWindow(o.window))
	if err != nil {
		return err
	}
	defer pub.Close()
	if err := pub.Start(ctx); err != nil {
		return err
	}
	var buttons *mqttpub.Publisher
	if o.buttons != "" {
		if buttons, err = mqttpub.New(o.buttonsMQTT(), log.With("component", "buttons"), mqttpub.WithWindow(o.window)); err != nil {
			return err
		}
		defer buttons.Close()
		if err := buttons.Start(ctx); err != nil {
			return err
		}
	}

	runCtx := ctx
	if o.duration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	log.Info("publishing", "mode", o.mode, "site", o.site, "seed", o.seed, "start", o.start, "n", o.n, "broker", o.mqtt.Broker)

	var msgs []simcenter.Message
	if o.mode == "load" {
		msgs = simcenter.Load(o.site, o.seed, o.n, o.dups, o.start) // before the clock starts: report publishing speed only
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { logProgress(log, pub, stop) })
	began := time.Now()
	var rep report
	var perr error
	switch o.mode {
	case "load":
		rep, perr = runLoad(runCtx, o, pub, msgs)
	default:
		rep, perr = runCenter(runCtx, o, pub, buttons, log)
	}
	close(stop)
	wg.Wait()

	// Ctrl-C or -duration end the run, not the wait for what is in flight.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
	defer cancel()
	ferr := pub.Flush(fctx)
	if buttons != nil {
		ferr = errors.Join(ferr, buttons.Flush(fctx))
	}
	elapsed := time.Since(began)
	rep.Mode, rep.Site = o.mode, o.site
	rep.Messages, rep.Acked, rep.Retried = pub.Stats()
	rep.Flushed = ferr == nil
	rep.Seconds = elapsed.Seconds()
	rep.PerSec = float64(rep.Messages) / elapsed.Seconds()
	log.Info("done", "distinct", rep.Distinct, "messages", rep.Messages, "acked", rep.Acked,
		"retried", rep.Retried, "seconds", rep.Seconds, "msgs_per_second", int(rep.PerSec))
	if err := printReport(o, stdout, rep); err != nil {
		return err
	}
	if perr != nil {
		return perr
	}
	if ferr != nil {
		return ferr
	}
	return nil
}

// printReport prints rep as one JSON line when -report asks for it.
func printReport(o options, stdout io.Writer, rep report) error {
	if !o.report {
		return nil
	}
	b, err := json.Marshal(rep)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if _, err := fmt.Fprintf(stdout, "%s\n", b); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// runLoad publishes msgs, paced at o.rate if set.
func runLoad(ctx context.Context, o options, pub *mqttpub.Publisher, msgs []simcenter.Message) (report, error) {
	began := time.Now()
	sent := 0
	var err error
	for i, m := range msgs {
		if o.rate > 0 {
			due := began.Add(time.Duration(float64(i) / o.rate * float64(time.Second)))
			if err = sleepUntil(ctx, due); err != nil {
				break
			}
		}
		if err = pub.Publish(ctx, m.Topic, m.Payload, m.Retained()); err != nil {
			break
		}
		sent++
	}
	rep := newReport(simcenter.Count(msgs[:sent]))
	if sent > 0 {
		rep.From, rep.To = msgs[0].At, latest(msgs[:sent])
	}
	return rep, ended(err)
}

// runCenter publishes a center's events when their simulated time comes,
// o.speed simulated seconds per real second. With buttons, each rating is
// instead a press of the rated counter's hardware button on the center's
// broker, when the citizen presses it: one press per rated session, never
// more ratings than sessions, and the agent makes them ratings as it does
// a real button box's.
func runCenter(ctx context.Context, o options, pub, buttons *mqttpub.Publisher, log *slog.Logger) (report, error) {
	g := simcenter.New(simcenter.Config{Site: o.site, Counters: o.counters, Seed: o.seed, Start: o.start})
	counts := make(map[schema.Kind]int)
	presses := 0
	var from, to time.Time
	began := time.Now()
	warned := false
	var err error
	for sent := 0; o.n == 0 || sent < o.n; sent++ {
		m := g.Next()
		due := began.Add(time.Duration(float64(m.At.Sub(o.start)) / o.speed))
		if o.catchUp && m.At.After(due) {
			// Caught up with the wall clock: from here on, real time.
			due = m.At
		}
		if err = sleepUntil(ctx, due); err != nil {
			break
		}
		if !warned && m.At.After(time.Now().Add(aheadWarning)) {
			// The contract rejects a ts more than 24 h after the
			// receiver's clock, so from here on a collector refuses
			// what it gets.
			log.Warn("simulated time is far ahead of the wall clock; consumers reject events more than 24h ahead",
				"simulated", m.At, "speed", o.speed)
			warned = true
		}
		if r, ok := m.Event.(*schema.Rating); ok && buttons != nil {
			if err = buttons.Publish(ctx, pressTopic(o.site, r.Kiosk), pressPayload(r), false); err != nil {
				break
			}
			presses++
			continue
		}
		if err = pub.Publish(ctx, m.Topic, m.Payload, m.Retained()); err != nil {
			break
		}
		// Every event of the generator is distinct.
		counts[m.Kind]++
		if from.IsZero() {
			from = m.At
		}
		to = m.At
	}
	rep := newReport(counts)
	rep.From, rep.To = from, to
	rep.Presses = presses
	return rep, ended(err)
}

// pressTopic is where kiosk's button box publishes its presses.
func pressTopic(site, kiosk string) string {
	return schema.TopicPrefix + site + "/kiosk/" + kiosk + "/press"
}

// pressPayload is the button box's message for the press that made r: the
// button of r's level in the kiosk's default order (the agent's
// kiosk.buttons: very satisfied, satisfied, neutral, dissatisfied), the
// press's time, and as seq the millisecond of that time, which grows at
// every kiosk as a box's counter does and stays the same when a restarted
// simulation presses the same day again, so the agent drops that press as
// the duplicate it is (docs/events.md, raw kiosk presses).
func pressPayload(r *schema.Rating) []byte {
	button := 1
	for i, l := range []schema.Level{schema.LevelVerySatisfied, schema.LevelSatisfied, schema.LevelNeutral, schema.LevelDissatisfied} {
		if r.Level == l {
			button = i + 1
		}
	}
	return fmt.Appendf(nil, `{"button":%d,"seq":%d,"ts":%q}`, button, r.TS.UnixMilli(), r.TS.UTC().Format(time.RFC3339Nano))
}

// lastWorkdayMorning is 07:00 in Vietnam of the latest Monday-to-Friday
// whose 07:00 is not after now, so a demo starts with a day to fast-forward.
func lastWorkdayMorning(now time.Time) time.Time {
	loc := simcenter.Location()
	y, m, d := now.In(loc).Date()
	t := time.Date(y, m, d, 7, 0, 0, 0, loc)
	for t.After(now) || t.Weekday() == time.Saturday || t.Weekday() == time.Sunday {
		t = t.AddDate(0, 0, -1)
	}
	return t.UTC()
}

func newReport(counts map[schema.Kind]int) report {
	r := report{Kinds: make(map[schema.Kind]int)}
	for _, k := range schema.Kinds() {
		r.Kinds[k] = counts[k]
		r.Distinct += counts[k]
	}
	return r
}

func latest(msgs []simcenter.Message) time.Time {
	var t time.Time
	for _, m := range msgs {
		if m.At.After(t) {
			t = m.At
		}
	}
	return t
}

// ended turns the end of the run's context into a normal end.
func ended(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}

// sleepUntil waits until t or until ctx ends. Whatever is due at or after
// ctx's deadline is never reached: the deadline (-duration) is exact, not
// subject to which timer fires first.
func sleepUntil(ctx context.Context, t time.Time) error {
	if dl, ok := ctx.Deadline(); ok && !t.Before(dl) {
		<-ctx.Done()
		return ctx.Err()
	}
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// logProgress logs the publisher's counts every progressEvery until stop
// is closed.
func logProgress(log *slog.Logger, pub *mqttpub.Publisher, stop <-chan struct{}) {
	tick := time.NewTicker(progressEvery)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			published, acked, retried := pub.Stats()
			log.Info("progress", "published", published, "acked", acked, "retried", retried, "unacked", published-acked)
		case <-stop:
			return
		}
	}
}
