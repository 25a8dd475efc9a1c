// Package ingest turns MQTT messages into InfluxDB batches: it decodes and
// validates each message against the v1 contract, groups points into batches
// by size and by time, hands each batch to a writer, and acknowledges the
// messages of a batch only after the writer has written it. That ordering is
// what makes the collector lose nothing when it or InfluxDB dies: an
// unacknowledged message is redelivered by the broker, and redelivery is
// harmless because a point's identity (measurement, tags, time) makes the
// second write overwrite the first.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/textclip"
)

// Config bounds the pipeline.
type Config struct {
	// BatchSize is the most points one InfluxDB write carries.
	BatchSize int `yaml:"size"`
	// FlushInterval is how long the first message of a batch may wait for
	// company while the writer is idle; it bounds the added latency at low
	// rates. Under load batches fill while the previous one is being written.
	FlushInterval time.Duration `yaml:"flush_interval"`
	// MaxInflight bounds messages received but not yet acknowledged, in
	// batches and in the queue before them. Keep it at least the broker's
	// max_inflight_messages so the MQTT handler never has to block (a blocked
	// handler also stops paho reading PINGRESPs).
	MaxInflight int `yaml:"max_inflight"`
	// Writers is how many batches are written to InfluxDB at once.
	Writers int `yaml:"writers"`
	// PointWindow is how many recent points the collector remembers with
	// the event ID that holds each, to refuse an event that would overwrite
	// a different event's point (reason point_conflict). About 150 bytes
	// each. Several replicas each remember what they received.
	PointWindow int `yaml:"point_window"`
}

// Defaults returns the configuration used where a file says nothing.
func Defaults() Config {
	return Config{BatchSize: 5000, FlushInterval: 10 * time.Millisecond, MaxInflight: 20000, Writers: 2, PointWindow: 200_000}
}

// Validate checks the fields against each other.
func (c Config) Validate() error {
	switch {
	case c.BatchSize < 1 || c.BatchSize > 50000:
		return fmt.Errorf("size: %d outside 1..50000", c.BatchSize)
	case c.FlushInterval < time.Millisecond || c.FlushInterval > time.Minute:
		return fmt.Errorf("flush_interval: %v outside 1ms..1m", c.FlushInterval)
	case c.Writers < 1 || c.Writers > 16:
		return fmt.Errorf("writers: %d outside 1..16", c.Writers)
	case c.MaxInflight < (c.Writers+2)*c.BatchSize:
		return fmt.Errorf("max_inflight: %d must be at least (writers+2) x size = %d: a batch per writer, one filling, one queued",
			c.MaxInflight, (c.Writers+2)*c.BatchSize)
	case c.MaxInflight > 1000000:
		return fmt.Errorf("max_inflight: %d above 1000000", c.MaxInflight)
	case c.PointWindow < 1000 || c.PointWindow > 10_000_000:
		return fmt.Errorf("point_window: %d outside 1000..10000000", c.PointWindow)
	}
	return nil
}

// Message is what the pipeline needs of an MQTT message (paho's
// mqtt.Message has these methods).
type Message interface {
	Topic() string
	Payload() []byte
	Ack()
}

// Writer writes a batch of newline-terminated line protocol holding n points.
// It returns nil when written; any other error is either a permanent refusal
// (see PermanentChecker) or the context's error.
type Writer interface {
	Write(ctx context.Context, lines []byte, n int) error
}

// Admitter decides whether an event valid under the contract may be
// stored (collector/admission: per-site inventories, timestamp lag, closed
// periods). Its refusals are errors with a schema.Reason, counted and logged
// like any invalid message.
type Admitter interface {
	// Load learns what is already stored; Run calls it once, before the
	// first Admit, and takes no message until it returns.
	Load(ctx context.Context) error
	// Admit is called from the batcher goroutine only, in arrival order.
	Admit(ev schema.Event, now time.Time) error
}

// Metrics are the pipeline's Prometheus metrics.
type Metrics struct {
	received  prometheus.Counter
	written   *prometheus.CounterVec
	rejected  *prometheus.CounterVec
	batchSize prometheus.Histogram
	inflight  prometheus.Gauge
	blocked   prometheus.Counter
	events    *EventMetrics
}

// NewMetrics registers the pipeline's metrics with reg.
func NewMetrics(reg prometheus.Registerer, cfg Config) *Metrics {
	m := &Metrics{
		received: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "pscm", Subsystem: "collector", Name: "messages_received_total",
			Help: "MQTT messages received, valid or not, redeliveries included.",
		}),
		written: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "pscm", Subsystem: "collector", Name: "points_written_total",
			Help: "Points written to InfluxDB, by event kind (partial: the written points of a batch InfluxDB partly refused, kinds unknown).",
		}, []string{"kind"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "pscm", Subsystem: "collector", Name: "rejected_total",
			Help: "Messages refused (acknowledged, never written), by reason.",
		}, []string{"reason"}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "pscm", Subsystem: "collector", Name: "batch_points",
			Help:    "Messages per batch handed to the writer.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 9),
		}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "pscm", Subsystem: "collector", Name: "inflight_messages",
			Help: "Messages received and not yet acknowledged.",
		}),
		blocked: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "pscm", Subsystem: "collector", Name: "handler_blocked_total",
			Help: "Times the MQTT handler found the in-flight queue full and had to wait.",
		}),
	}
	limit := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "pscm", Subsystem: "collector", Name: "inflight_limit_messages",
		Help: "Configured bound on messages received and not yet acknowledged.",
	})
	limit.Set(float64(cfg.MaxInflight))
	for _, k := range schema.Kinds() {
		m.written.WithLabelValues(string(k))
	}
	m.written.WithLabelValues("partial")
	for _, r := range schema.Reasons() {
		m.rejected.WithLabelValues(string(r))
	}
	m.rejected.WithLabelValues(reasonInfluxRejected)
	m.events = NewEventMetrics(reg, MaxEventSeries)
	reg.MustRegister(m.received, m.written, m.rejected, m.batchSize, m.inflight, m.blocked, limit)
	return m
}

// reasonInfluxRejected labels points that passed validation but that
// InfluxDB refused for good (a field type conflict with older data, say).
const reasonInfluxRejected = "influxdb_rejected"

// PermanentChecker tells whether a writer error is a permanent refusal (the
// batch is done, retrying can't help) rather than a shutdown, and how many
// of the batch's points InfluxDB dropped (it writes the others).
type PermanentChecker func(error) (dropped int, ok bool)

// maxBatchBytes bounds one write's body well under InfluxDB's default
// max-body-size (25 MB): a body over it is refused with 413 every time.
const maxBatchBytes = 4 << 20

// Pipeline is the bounded path from MQTT handler to acknowledgement.
type Pipeline struct {
	cfg       Config
	w         Writer
	permanent PermanentChecker
	admit     Admitter // nil admits every valid event
	log       *slog.Logger
	m         *Metrics
	now       func() time.Time
	// ShutdownTimeout bounds the final flush once Run's context ends; what
	// is not written by then stays unacknowledged and is redelivered later.
	shutdownTimeout time.Duration

	queue   chan Message
	written chan struct{} // a write finished (tells the batcher a writer is idle)
	stopped chan struct{} // closed when Run no longer takes messages
	stop    sync.Once

	// rejectLog is a log budget per reason, so that a flood refused for
	// one reason (an agent inventing IDs) cannot hide the lines of another
	// (a point backdated into a closed period). Its keys are the closed
	// set of reasons; touched only by the batcher (add).
	rejectLog map[schema.Reason]*rateLimiter
	// points is touched only by the batcher (add).
	points *schema.PointWindow
}

// New returns a pipeline; call Run, and register Handle as the MQTT handler.
// admit may be nil: every valid event is then stored.
func New(cfg Config, w Writer, permanent PermanentChecker, admit Admitter, shutdownTimeout time.Duration, log *slog.Logger, m *Metrics, now func() time.Time) *Pipeline {
	return &Pipeline{
		cfg: cfg, w: w, permanent: permanent, admit: admit, log: log, m: m, now: now,
		shutdownTimeout: shutdownTimeout,
		// The batches hold (Writers+1) x BatchSize; the queue the rest.
		queue: make(chan Message, cfg.MaxInflight-(cfg.Writers+1)*cfg.BatchSize),
		// One slot per batch that can be out at once, so writers never block on it.
		written:   make(chan struct{}, cfg.Writers+1),
		stopped:   make(chan struct{}),
		rejectLog: make(map[schema.Reason]*rateLimiter, len(schema.Reasons())),
		points:    schema.NewPointWindow(cfg.PointWindow),
	}
}

// Handle queues one message. It is called by paho's router in order; it
// blocks only if MaxInflight messages are already unacknowledged, which
// pushes back on the broker instead of buffering without bound. After
// shutdown it drops the message unacknowledged: the broker redelivers it.
func (p *Pipeline) Handle(msg Message) {
	p.m.received.Inc()
	select {
	case p.queue <- msg:
		p.m.inflight.Inc()
		return
	case <-p.stopped:
		return
	default:
	}
	p.m.blocked.Inc()
	select {
	case p.queue <- msg:
		p.m.inflight.Inc()
	case <-p.stopped:
	}
}

type batch struct {
	seq    uint64 // fill order: acknowledgements follow it
	err    error  // set by the writer
	lines  []byte
	msgs   []Message
	points int
	kinds  map[schema.Kind]int
	// events are the batch's valid events, for the event metrics once the
	// batch is acknowledged.
	events []schema.Event
	// partial: InfluxDB refused some points for good and which ones is
	// unknown, so the batch's events stay out of the event metrics.
	partial bool
}

func (b *batch) reset() {
	b.lines = b.lines[:0]
	clear(b.msgs)
	b.msgs = b.msgs[:0]
	b.points = 0
	b.err = nil
	clear(b.kinds)
	clear(b.events)
	b.events = b.events[:0]
	b.partial = false
}

// Run batches and writes until ctx ends, then flushes what it holds (bounded
// by the shutdown timeout) and returns. It returns nil on a clean shutdown.
//
// Batches go to cfg.Writers concurrent writers (InfluxDB takes two writers'
// batches faster than one's, and a write's network wait overlaps the next
// one), but are acknowledged strictly in the order they were filled, so the
// PUBACKs leave in the order the PUBLISHes came (MQTT 3.1.1, 4.6).
func (p *Pipeline) Run(ctx context.Context) error {
	if p.admit != nil {
		// Messages wait in the queue meanwhile: admitting one before the
		// stored IDs are known would let every restart admit a new cap's
		// worth of them.
		if err := p.admit.Load(ctx); err != nil {
			p.stop.Do(func() { close(p.stopped) })
			if ctx.Err() != nil {
				return nil // stopped while loading: nothing taken, the broker redelivers
			}
			return fmt.Errorf("admission: %w", err)
		}
	}
	// Pool: one batch filling, one per writer being written or waiting for
	// its turn to be acknowledged. Its size is what bounds memory here.
	free := make(chan *batch, p.cfg.Writers+1)
	for range p.cfg.Writers + 1 {
		free <- &batch{
			lines:  make([]byte, 0, p.cfg.BatchSize*256),
			msgs:   make([]Message, 0, p.cfg.BatchSize),
			kinds:  make(map[schema.Kind]int, 8),
			events: make([]schema.Event, 0, p.cfg.BatchSize),
		}
	}
	toWriter := make(chan *batch)
	written := make(chan *batch, p.cfg.Writers)

	// The writers keep going past ctx's end for the final flush, up to the
	// shutdown timeout.
	writeCtx, cancelWrite := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWrite()
	go func() {
		select {
		case <-ctx.Done():
		case <-writeCtx.Done():
			return
		}
		t := time.NewTimer(p.shutdownTimeout)
		defer t.Stop()
		select {
		case <-t.C:
			p.log.Warn("shutdown timeout: unwritten messages stay unacknowledged and will be redelivered")
			cancelWrite()
		case <-writeCtx.Done():
		}
	}()

	var writers sync.WaitGroup
	for range p.cfg.Writers {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for b := range toWriter {
				b.err = p.write(writeCtx, b)
				select {
				case p.written <- struct{}{}:
				case <-p.stopped: // the batcher no longer counts
				}
				written <- b
			}
		}()
	}
	ackDone := make(chan error, 1)
	go func() { ackDone <- p.ackLoop(written, free) }()

	p.batchLoop(ctx, toWriter, free)
	close(toWriter)
	writers.Wait()
	close(written)
	err := <-ackDone
	if errors.Is(err, context.Canceled) {
		return nil // shutdown timeout: logged above
	}
	return err
}

func (p *Pipeline) batchLoop(ctx context.Context, out chan<- *batch, free chan *batch) {
	var seq uint64
	next := func() *batch {
		b := <-free // blocks while every batch is being written: backpressure
		b.seq = seq
		seq++
		return b
	}
	cur := next()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	ready := false
	writing := 0 // batches handed to writers and not yet written
	for {
		full := len(cur.msgs) >= p.cfg.BatchSize || len(cur.lines) >= maxBatchBytes
		in := p.queue
		if full {
			in = nil
		}
		// A full batch goes to any free writer. A partial one goes only when
		// its linger time is over and no write is running: while one is,
		// the batch keeps growing, so under load writes are large and few,
		// and at low rates a lone message waits only FlushInterval.
		var send chan<- *batch
		if full || (ready && writing == 0 && len(cur.msgs) > 0) {
			send = out
		}
		select {
		case <-p.written:
			writing--
		case m := <-in:
			p.add(cur, m)
			if len(cur.msgs) == 1 {
				timer.Reset(p.cfg.FlushInterval)
			}
		case <-timer.C:
			ready = true
		case send <- cur:
			writing++
			cur = next()
			ready = false
			timer.Stop()
		case <-ctx.Done():
			p.stop.Do(func() { close(p.stopped) })
			// Take what is already queued: it was received, so write it now
			// rather than make the broker send it again.
			for {
				select {
				case m := <-p.queue:
					p.add(cur, m)
					if len(cur.msgs) < p.cfg.BatchSize {
						continue
					}
					out <- cur
					cur = next()
					continue
				default:
				}
				break
			}
			if len(cur.msgs) > 0 {
				out <- cur
			}
			return
		}
	}
}

func (p *Pipeline) add(b *batch, m Message) {
	b.msgs = append(b.msgs, m)
	now := p.now()
	ev, err := schema.DecodeMessage(m.Topic(), m.Payload(), now)
	if err != nil {
		p.reject(m, err)
		return
	}
	// Admission before the point window: a refused flood must not push
	// real points out of the window.
	if p.admit != nil {
		if err := p.admit.Admit(ev, now); err != nil {
			p.reject(m, err)
			return
		}
	}
	start := len(b.lines)
	b.lines = ev.AppendLine(b.lines)
	if !p.points.Claim(schema.PointKeyOfLine(ev, b.lines[start:]), ev.Head().ID) {
		b.lines = b.lines[:start]
		p.reject(m, &schema.Error{Reason: schema.ReasonPointConflict, Field: "ts",
			Msg: "another event (another id) already holds this measurement, tags and ts; writing it would overwrite that one"})
		return
	}
	b.points++
	b.kinds[ev.Kind()]++
	b.events = append(b.events, ev)
}

// reject counts and logs (rate-limited per reason) a message refused for
// good.
func (p *Pipeline) reject(m Message, err error) {
	reason := schema.ReasonOf(err)
	p.m.rejected.WithLabelValues(string(reason)).Inc()
	limit := p.rejectLog[reason]
	if limit == nil {
		limit = &rateLimiter{burst: 100, perSecond: 5}
		p.rejectLog[reason] = limit
	}
	if ok, suppressed := limit.allow(p.now()); ok {
		p.log.Warn("rejected message", "topic", textclip.Clip(m.Topic(), 160), "reason", reason, "err", err,
			"suppressed_before", suppressed)
	}
}

// write writes one batch; nil means done (written, or refused for good).
func (p *Pipeline) write(ctx context.Context, b *batch) error {
	p.m.batchSize.Observe(float64(len(b.msgs)))
	if b.points == 0 {
		return nil // only rejected messages: nothing to write, just acknowledge
	}
	err := p.w.Write(ctx, b.lines, b.points)
	if err == nil {
		for k, n := range b.kinds {
			p.m.written.WithLabelValues(string(k)).Add(float64(n))
		}
		return nil
	}
	if p.permanent != nil {
		if dropped, ok := p.permanent(err); ok {
			// InfluxDB wrote the good points and refused the others for good;
			// retrying would block every later message forever.
			dropped = min(max(dropped, 0), b.points)
			b.partial = true
			p.m.rejected.WithLabelValues(reasonInfluxRejected).Add(float64(dropped))
			p.m.written.WithLabelValues("partial").Add(float64(b.points - dropped))
			p.log.Error("influxdb refused points for good", "points", b.points, "dropped", dropped, "err", err)
			return nil
		}
	}
	return err // the shutdown timeout ended the retries
}

// ackLoop acknowledges written batches in the order they were filled and
// returns them to the pool. After a failed batch it stops: that batch and
// every later one stay unacknowledged and are redelivered.
func (p *Pipeline) ackLoop(written <-chan *batch, free chan<- *batch) error {
	var next uint64
	waiting := make(map[uint64]*batch, p.cfg.Writers)
	var failed error
	for b := range written {
		waiting[b.seq] = b
		for {
			b, ok := waiting[next]
			if !ok {
				break
			}
			delete(waiting, next)
			next++
			if b.err != nil && failed == nil {
				failed = b.err
			}
			if failed == nil {
				for _, m := range b.msgs {
					m.Ack()
				}
				p.m.inflight.Sub(float64(len(b.msgs)))
				if !b.partial {
					now := p.now()
					for _, ev := range b.events {
						p.m.events.Observe(ev, now)
					}
				}
			}
			b.reset()
			free <- b
		}
	}
	return failed
}

// rateLimiter is a token bucket for log lines: a burst of bad messages is
// logged in full, a flood is not allowed to flood the log. The metric still
// counts every rejection.
type rateLimiter struct {
	burst, perSecond float64
	tokens           float64
	last             time.Time
	suppressed       int
}

// allow reports whether to log now, and how many lines were suppressed since
// the last allowed one.
func (r *rateLimiter) allow(now time.Time) (bool, int) {
	if r.last.IsZero() {
		r.tokens = r.burst
	} else {
		r.tokens = min(r.burst, r.tokens+now.Sub(r.last).Seconds()*r.perSecond)
	}
	r.last = now
	if r.tokens < 1 {
		r.suppressed++
		return false, 0
	}
	r.tokens--
	n := r.suppressed
	r.suppressed = 0
	return true, n
}
