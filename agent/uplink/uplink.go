// Package uplink forwards the agent's spool to the central MQTT broker, in
// order, at QoS 1, and acknowledges spool records only once the broker has
// them (PUBACK). After every connection it sends again what the broker
// acknowledged within the spool's retain_acked: a broker that crashed loses
// what it acknowledged since its last save, and the collector's idempotency
// absorbs the copies that were not lost. It also keeps the agent's retained
// status on pscm/v1/{site}/agent/{agent}, with a last will saying offline.
package uplink

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pscm/pscm/agent/outbox"
	"github.com/pscm/pscm/agent/spool"
	"github.com/pscm/pscm/internal/mqttconn"
	"github.com/pscm/pscm/internal/mqttpub"
	"github.com/pscm/pscm/internal/schema"
)

// Spool is what the uplink needs of the spool.
type Spool interface {
	Read(ctx context.Context, after uint64, max int) ([]spool.Record, error)
	ReadFrom(after uint64, max int) ([]spool.Record, error)
	Retained() (after, last uint64)
	Renew()
	Ack(seq uint64) error
	Stats() (records int, bytes int64, oldest time.Time)
}

// Config of the uplink besides the MQTT connection.
type Config struct {
	Site, Agent, Version string
	// Window is how many records may await their PUBACK at once.
	Window int
	// StatusInterval is how often the retained status is refreshed.
	StatusInterval time.Duration
}

// Uplink forwards the spool.
type Uplink struct {
	cfg   Config
	spool Spool
	pub   *mqttpub.Publisher
	log   *slog.Logger
	now   func() time.Time
	start time.Time
	ob    *outbox.Outbox // stamps status events, shares the agent's clock

	acks   ackTracker
	replay chan struct{} // a connection came up: send the retained records again

	connected   prometheus.Gauge
	forwarded   prometheus.Counter
	lastForward prometheus.Gauge
	malformed   prometheus.Counter
	replayed    prometheus.Counter
}

// replayBit marks the tag of a record sent again, so its PUBACK is counted
// as a replay and does not move the spool's cursor a second time.
const replayBit = 1 << 63

// New prepares the uplink; Run starts it.
func New(cfg Config, mq mqttconn.Config, sp Spool, ob *outbox.Outbox, log *slog.Logger, reg prometheus.Registerer, now func() time.Time) (*Uplink, error) {
	u := &Uplink{
		cfg: cfg, spool: sp, log: log, now: now, start: now(), ob: ob,
		replay: make(chan struct{}, 1),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "pscm", Subsystem: "agent", Name: "uplink_up",
			Help: "1 while connected to the central broker.",
		}),
		forwarded: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "pscm", Subsystem: "agent", Name: "uplink_forwarded_total",
			Help: "Spooled events the central broker acknowledged.",
		}),
		lastForward: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "pscm", Subsystem: "agent", Name: "uplink_last_forward_timestamp_seconds",
			Help: "Unix time of the last event the central broker acknowledged.",
		}),
		malformed: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "pscm", Subsystem: "agent", Name: "uplink_malformed_records_total",
			Help: "Spool records that could not be decoded and were skipped (a bug or disk damage).",
		}),
		replayed: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "pscm", Subsystem: "agent", Name: "uplink_replayed_total",
			Help: "Acknowledged events sent again after a connection, and acknowledged again (spool.retain_acked).",
		}),
	}
	reg.MustRegister(u.connected, u.forwarded, u.lastForward, u.malformed, u.replayed)
	will, err := u.status(schema.StatusOffline)
	if err != nil {
		return nil, err
	}
	pub, err := mqttpub.New(mq, log,
		mqttpub.WithWindow(cfg.Window),
		mqttpub.WithOnAck(u.onAck),
		mqttpub.WithOnConnect(func(bool) {
			u.connected.Set(1)
			select {
			case u.replay <- struct{}{}:
			default: // one is already due
			}
			u.publishStatus()
		}),
		mqttpub.WithOnConnectionLost(func() { u.connected.Set(0) }),
		mqttpub.WithWill(mqttpub.Will{Topic: u.statusTopic(), Payload: will, Retained: true}),
	)
	if err != nil {
		return nil, err
	}
	u.pub = pub
	return u, nil
}

// Connected reports whether the connection to the central broker is up, for
// the agent's /readyz: while it is down presses are only spooled.
func (u *Uplink) Connected() bool { return u.pub.Connected() }

func (u *Uplink) statusTopic() string {
	return schema.TopicFor(u.cfg.Site, schema.KindAgent, u.cfg.Agent)
}

// status is the agent event. The last will is made once, at start, so its
// ts is the start time: consumers take the offline time from its arrival.
func (u *Uplink) status(state string) ([]byte, error) {
	records, _, _ := u.spool.Stats()
	ev := &schema.Agent{
		Header:     u.ob.Header(),
		Agent:      u.cfg.Agent,
		Status:     state,
		Version:    u.cfg.Version,
		SpoolDepth: int64(records),
		UptimeS:    u.now().Sub(u.start).Seconds(),
	}
	return u.ob.Payload(ev)
}

func (u *Uplink) publishStatus() {
	payload, err := u.status(schema.StatusOnline)
	if err != nil {
		u.log.Error("agent status", "err", err)
		return
	}
	// Status is state, not history worth spooling: publish it directly,
	// retained, so a dashboard arriving later sees it at once.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := u.pub.Publish(ctx, u.statusTopic(), payload, true); err != nil {
		u.log.Warn("agent status not published", "err", err)
	}
}

// Run forwards until ctx ends.
func (u *Uplink) Run(ctx context.Context) error {
	if err := u.pub.Start(ctx); err != nil {
		// Keep going: paho retries the connection in the background and
		// the spool holds everything meanwhile.
		u.log.Warn("central broker not reachable yet; spooling", "err", err)
	}
	defer u.pub.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	// Cancelled first on return (defers run last-in first-out), so the
	// status goroutine ends whether Run stops for ctx or for an error.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Add(2)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case <-u.replay:
				u.resend(ctx)
			}
		}
	}()
	go func() {
		defer wg.Done()
		t := time.NewTicker(u.cfg.StatusInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if u.pub.Connected() {
					u.publishStatus()
				} else {
					u.connected.Set(0)
				}
			}
		}
	}()

	var after uint64 // Read never returns acknowledged records, so 0 starts at the cursor
	for {
		recs, err := u.spool.Read(ctx, after, 500)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("uplink: read spool: %w", err)
		}
		for _, r := range recs {
			after = r.Seq
			topic, payload, err := outbox.DecodeRecord(r.Data)
			if err != nil {
				// Never block the queue on one bad record: count it, log it,
				// and acknowledge it like a delivered one.
				u.malformed.Inc()
				u.log.Error("skipping malformed spool record", "seq", r.Seq, "err", err)
				u.acks.sent(r.Seq)
				u.settle(r.Seq)
				continue
			}
			u.acks.sent(r.Seq)
			if err := u.pub.PublishTagged(ctx, topic, payload, false, r.Seq); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("uplink: publish: %w", err)
			}
		}
	}
}

// resend publishes again the records the spool retains after their
// acknowledgement. The broker that just accepted the connection may be one
// restarted from a save older than those acknowledgements; records it does
// have are written again with the same point, which changes nothing.
func (u *Uplink) resend(ctx context.Context) {
	after, last := u.spool.Retained()
	if after >= last {
		return
	}
	// Kept again from now: the broker may crash again before it saves them.
	u.spool.Renew()
	u.log.Info("sending again what the central broker acknowledged recently", "records", last-after)
	for after < last {
		recs, err := u.spool.ReadFrom(after, 500)
		if err != nil || len(recs) == 0 {
			if err != nil && ctx.Err() == nil {
				u.log.Error("replay: read spool", "after", after, "err", err)
			}
			return
		}
		for _, r := range recs {
			if r.Seq > last {
				return
			}
			after = r.Seq
			topic, payload, err := outbox.DecodeRecord(r.Data)
			if err != nil {
				continue // counted when it was first read
			}
			if err := u.pub.PublishTagged(ctx, topic, payload, false, r.Seq|replayBit); err != nil {
				return // closing
			}
		}
	}
}

func (u *Uplink) onAck(seq uint64) {
	if seq == 0 {
		return // the retained status, not a spool record
	}
	if seq&replayBit != 0 {
		u.replayed.Inc()
		return
	}
	u.settle(seq)
	u.forwarded.Inc()
	u.lastForward.Set(float64(u.now().UnixNano()) / 1e9)
}

// settle marks seq done and lets the spool drop the settled prefix.
func (u *Uplink) settle(seq uint64) {
	if upTo, ok := u.acks.ack(seq); ok {
		if err := u.spool.Ack(upTo); err != nil {
			u.log.Error("spool ack", "seq", upTo, "err", err)
		}
	}
}

// ackTracker turns acknowledgements that may come out of order (paho
// resends pending messages after a reconnect) into the longest prefix of
// sent sequence numbers that is fully acknowledged: the spool may drop only
// a prefix.
type ackTracker struct {
	mu      sync.Mutex
	started bool
	next    uint64          // lowest sent and unacknowledged seq
	done    map[uint64]bool // acknowledged seqs above next
}

func (a *ackTracker) sent(seq uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.started {
		a.started, a.next, a.done = true, seq, map[uint64]bool{}
	}
}

// ack records seq and returns the new fully acknowledged prefix end, if it moved.
func (a *ackTracker) ack(seq uint64) (uint64, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.started || seq < a.next {
		return 0, false
	}
	a.done[seq] = true
	moved := false
	for a.done[a.next] {
		delete(a.done, a.next)
		a.next++
		moved = true
	}
	return a.next - 1, moved
}
