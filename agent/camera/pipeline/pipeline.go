// Package pipeline runs the agent's cameras end to end. Each camera's stream
// (agent/camera/ingest) yields keyframes; each keyframe is decoded in memory
// to a small grey picture (agent/camera/keyframe) and judged zone by zone
// (agent/camera/occupancy); each counter's staff and citizen seats become
// sessions and presence time (agent/camera/presence). What leaves is only
// events (`occupancy` on every zone change, `session` when a citizen has
// been served, `camera` health every 10 s) and metrics. The latest small
// picture of each camera stays in memory for the calibration page alone.
//
// Sessions from cameras are fused with the queue system's: the queue
// tracker's sessions at a counter a camera watches pass through the Queue
// emitter, and a camera session and a queue session at the same counter
// whose times overlap become one `fused` session (the queue's ID and ticket
// and wait, the camera's start, end and service time). Either one alone is
// sent after FuseWindow with its own source, so a citizen is counted once
// whether the camera, the queue system or both saw them.
package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pscm/pscm/agent/camera/health"
	"github.com/pscm/pscm/agent/camera/ingest"
	"github.com/pscm/pscm/agent/camera/keyframe"
	"github.com/pscm/pscm/agent/camera/occupancy"
	"github.com/pscm/pscm/agent/camera/presence"
	"github.com/pscm/pscm/agent/spool"
	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/schema"
)

// Emitter spools events (agent/outbox).
type Emitter interface {
	Header() schema.Header
	Emit(ctx context.Context, ev schema.Event) error
	// EmitAll spools the events as one all-or-nothing unit.
	EmitAll(ctx context.Context, evs ...schema.Event) error
}

// fusionFile, in the state directory, holds the sessions waiting for
// fusion and those being sent (fuserState).
const fusionFile = "fusion.json"

// emitTimeout bounds one spool write from a camera goroutine: a spool that
// cannot take an occupancy change within it has a problem the spool's own
// metrics report; the camera goes on with the next keyframe.
const emitTimeout = 10 * time.Second

// tickEvery is how often sessions are closed, absences checked and the
// gauges refreshed.
const tickEvery = time.Second

// Watch runs the cameras of one agent.
type Watch struct {
	set   Settings
	hours kpi.WorkHours
	out   Emitter
	log   *slog.Logger
	now   func() time.Time
	m     *metrics

	cams []*camera

	mu       sync.Mutex // guards counters, fuse and everything they hold
	counters map[string]*counter
	ids      []string // the counters' IDs, sorted: the order tick visits them
	fuse     *fuser
	inflight map[string]bool // IDs of decided sessions being spooled now
	stateDir string          // where fusionFile is kept; "" keeps it in memory

	seenMu      sync.Mutex // guards seenUntil, seenWritten (coverage.go)
	seenUntil   time.Time
	seenWritten time.Time
}

// camera is one camera's pipeline.
type camera struct {
	cfg    Camera
	stream *ingest.Camera
	det    *occupancy.Detector // fed by the stream's consumer goroutine only
	// bgSaved is when det's background was last saved (background.go).
	bgSaved time.Time
	dec     *keyframe.Decoder // idem
	codec   string
	// reanchor asks the consumer goroutine to accept the current view
	// (set by the calibration page).
	reanchor atomic.Bool

	// emitMu orders the camera's occupancy events, sent from its consumer
	// goroutine and its health callback; known says whether the last word
	// on its zones was a known state (coverage.go).
	emitMu sync.Mutex
	known  bool

	mu      sync.Mutex // guards latest and states, read by the calibration page
	latest  keyframe.Frame
	at      time.Time
	states  []occupancy.ZoneState
	tamper  string
	decoded int64
}

// counter is one counter whose staff and/or citizen seat a camera watches.
type counter struct {
	id      string
	p       *presence.Counter
	seats   bool // both seats watched: sessions come from the camera
	absent  bool // the current absence was already reported
	watched map[schema.Zone]bool
}

// New builds the pipelines; nothing connects before Run.
func New(set Settings, cams []Camera, out Emitter, log *slog.Logger, reg prometheus.Registerer, now func() time.Time, opts ...Option) (*Watch, error) {
	if err := set.Validate(); err != nil {
		return nil, err
	}
	if err := ValidateCameras(cams); err != nil {
		return nil, fmt.Errorf("cameras%w", err)
	}
	hours, err := set.WorkingHours.WorkHours()
	if err != nil {
		return nil, fmt.Errorf("working_hours: %w", err)
	}
	o := options{healthEvery: health.Interval}
	for _, opt := range opts {
		opt(&o)
	}
	healthEvery := o.healthEvery
	w := &Watch{set: set, hours: hours, out: out, log: log, now: now, counters: map[string]*counter{},
		m: newMetrics(reg), inflight: map[string]bool{}, stateDir: o.stateDir}
	w.fuse = newFuser(set.FuseWindow)
	if err := w.loadFusion(); err != nil {
		return nil, err
	}
	for _, cc := range cams {
		c := &camera{cfg: cc}
		det, err := occupancy.New(set.Occupancy, cc.Zones)
		if err != nil {
			return nil, fmt.Errorf("camera %s: %w", cc.ID, err)
		}
		c.det = det
		w.restoreBackground(c)
		c.states = det.State()
		for _, z := range cc.Zones {
			if z.Kind != schema.ZoneStaff && z.Kind != schema.ZoneCitizen {
				continue
			}
			k := w.counters[z.Counter]
			if k == nil {
				p, err := presence.NewCounter(z.Counter, set.Sessions, hours)
				if err != nil {
					return nil, err
				}
				k = &counter{id: z.Counter, p: p, watched: map[schema.Zone]bool{}}
				w.counters[z.Counter] = k
			}
			k.watched[z.Kind] = true
			k.seats = k.watched[schema.ZoneStaff] && k.watched[schema.ZoneCitizen]
		}
		stream, err := ingest.New(cc.Config, log, reg, func(kf ingest.Keyframe) { w.keyframe(c, kf) },
			ingest.WithClock(now), ingest.WithHealth(healthEvery, func(s health.Snapshot) { w.health(c, s) }))
		if err != nil {
			return nil, err
		}
		c.stream = stream
		w.cams = append(w.cams, c)
	}
	for id := range w.counters {
		w.ids = append(w.ids, id)
	}
	sort.Strings(w.ids)
	return w, nil
}

// Option changes a default of New.
type Option func(*options)

type options struct {
	healthEvery time.Duration
	stateDir    string
}

// WithStateDir keeps the sessions waiting for fusion, and those decided and
// not yet spooled, in dir (the spool's directory), so a crash inside
// fuse_window loses none and sends none twice. Without it they are kept in
// memory only (tests, -config.check).
func WithStateDir(dir string) Option {
	return func(o *options) { o.stateDir = dir }
}

// loadFusion takes back what the last run left in fusionFile.
func (w *Watch) loadFusion() error {
	if w.stateDir == "" {
		return nil
	}
	path := filepath.Join(w.stateDir, fusionFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cameras: %w", err)
	}
	var st fuserState
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return fmt.Errorf("cameras: %s is damaged (%w); the sessions it held are in it, readable as JSON: move it aside to start without them", path, err)
	}
	w.fuse.restore(st)
	if n := len(st.Held) + len(st.Sending); n > 0 {
		w.log.Info("sessions waiting for fusion taken back", "held", len(st.Held), "sending", len(st.Sending))
	}
	return nil
}

// saveLocked writes the fuser's state, if it changed since the last save,
// before what it decided is spooled. Called with mu held.
func (w *Watch) saveLocked() error {
	if w.stateDir == "" || !w.fuse.changed {
		return nil
	}
	b, err := json.Marshal(w.fuse.state())
	if err == nil {
		err = spool.WriteFileAtomic(w.stateDir, fusionFile, b)
	}
	if err != nil {
		w.m.emitErrors.Inc()
		return fmt.Errorf("cameras: saving the sessions waiting for fusion: %w", err)
	}
	w.fuse.changed = false
	return nil
}

// takeSendingLocked returns the decided sessions no one is spooling now,
// marking them as being spooled. Called with mu held.
func (w *Watch) takeSendingLocked() []schema.Session {
	var out []schema.Session
	for _, s := range w.fuse.sending {
		if !w.inflight[s.ID] {
			w.inflight[s.ID] = true
			out = append(out, s)
		}
	}
	return out
}

// WithHealthInterval sets how often `camera` health events are sent
// (health.Interval, 10 s, by default).
func WithHealthInterval(d time.Duration) Option {
	return func(o *options) { o.healthEvery = d }
}

// Run runs every camera and the counters' clock until ctx ends; then the
// sessions waiting for fusion are sent alone and Run returns nil.
func (w *Watch) Run(ctx context.Context) error {
	w.sayUnknownSinceLastRun(w.now())
	var wg sync.WaitGroup
	for _, c := range w.cams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.stream.Run(ctx); err != nil {
				w.log.Error("camera supervisor stopped", "camera", c.cfg.ID, "err", err)
			}
		}()
	}
	t := time.NewTicker(tickEvery)
	defer t.Stop()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-t.C:
			w.tick(ctx, w.now())
		}
	}
	wg.Wait()
	for _, c := range w.cams {
		if c.dec != nil {
			c.dec.Close()
		}
		w.saveBackground(c, w.now(), true)
	}
	w.sayUnknownAtStop(w.now())
	// Whatever still waits for its other half goes out alone, so a stop
	// loses no session the agent already knows of.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), emitTimeout)
	defer cancel()
	w.mu.Lock()
	w.fuse.flush(time.Time{})
	w.saveIfLocked()
	left := w.takeSendingLocked()
	w.mu.Unlock()
	_ = w.send(fctx, left)
	return nil
}

// keyframe handles one keyframe of c, on c's consumer goroutine.
func (w *Watch) keyframe(c *camera, kf ingest.Keyframe) {
	if c.dec == nil || c.codec != kf.Codec {
		if c.dec != nil {
			c.dec.Close()
		}
		dec, err := keyframe.New(kf.Codec, w.set.DecodeWidth, keyframe.WithMaxPicture(w.set.MaxPictureWidth, w.set.MaxPictureHeight))
		if err != nil {
			w.m.decodeErrors.WithLabelValues(c.cfg.ID).Inc()
			w.log.Warn("no decoder for the camera's codec", "camera", c.cfg.ID, "codec", kf.Codec, "err", err)
			c.dec = nil
			return
		}
		c.dec, c.codec = dec, kf.Codec
	}
	start := time.Now()
	f, err := c.dec.Decode(kf.AU)
	w.m.decodeSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		// One bad keyframe costs one sample; the next comes in seconds.
		w.m.decodeErrors.WithLabelValues(c.cfg.ID).Inc()
		w.log.Debug("keyframe not decoded", "camera", c.cfg.ID, "err", err)
		return
	}
	w.m.decoded.WithLabelValues(c.cfg.ID).Inc()
	if c.reanchor.CompareAndSwap(true, false) {
		c.det.Reanchor()
	}
	changes := c.det.Observe(f, kf.At)
	w.saveBackground(c, kf.At, false)
	tampered, why := c.det.Tamper()
	states := c.det.State()

	c.mu.Lock()
	c.latest, c.at, c.states, c.decoded = f, kf.At, states, c.decoded+1
	prevTamper := c.tamper
	if tampered {
		c.tamper = why
	} else {
		c.tamper = ""
	}
	c.mu.Unlock()
	if c.tamper != prevTamper {
		if tampered {
			w.log.Warn("camera view tampered with: zone states held", "camera", c.cfg.ID, "why", why)
		} else {
			w.log.Info("camera view back to normal", "camera", c.cfg.ID)
		}
	}
	w.m.tamper.WithLabelValues(c.cfg.ID).Set(b2f(tampered))
	for _, s := range states {
		w.m.occupied.WithLabelValues(c.cfg.ID, s.Zone.Counter, string(s.Zone.Kind)).Set(b2f(s.Occupied && !s.Unsure))
	}
	judging := c.det.Judging()
	var updates []seatUpdate
	for _, ch := range changes {
		updates = append(updates, seatUpdate{ch.Zone, zoneState(ch.Occupied, ch.Unsure), ch.At})
	}
	if !judging {
		why := "re-learning"
		if tampered {
			why = "tampered: " + why
		}
		w.goneUnknown(c, kf.At, why)
	} else {
		c.emitMu.Lock()
		var evs []*schema.Occupancy
		if !c.known {
			// The first frame judged since "unknown": every zone's state,
			// changed or not, so each is known again from now, to the
			// dashboard and to the counters' presence alike.
			evs, c.known = w.stateEvents(c, states, kf.At), true
			updates = updates[:0]
			for _, st := range states {
				updates = append(updates, seatUpdate{st.Zone, zoneState(st.Occupied, st.Unsure), kf.At})
			}
		} else {
			for _, ch := range changes {
				evs = append(evs, w.occupancyEvent(c, ch.Zone, ch.At, zoneState(ch.Occupied, ch.Unsure), ch.Confidence))
			}
		}
		w.emitOccupancy(c, evs)
		c.emitMu.Unlock()
	}
	if len(updates) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), emitTimeout)
	defer cancel()
	w.mu.Lock()
	w.updateSeats(c, updates)
	w.saveIfLocked()
	ready := w.takeSendingLocked()
	w.mu.Unlock()
	_ = w.send(ctx, ready)
}

// seatUpdate is a zone's new state for its counter's presence.
type seatUpdate struct {
	zone  occupancy.Zone
	state schema.ZoneState
	at    time.Time
}

// updateSeats hands the staff and citizen zones' new states to their
// counters' presence, and the sessions that ends to the fuser. Called
// with w.mu held.
func (w *Watch) updateSeats(c *camera, updates []seatUpdate) {
	for _, u := range updates {
		k := w.counters[u.zone.Counter]
		if k == nil || (u.zone.Kind != schema.ZoneStaff && u.zone.Kind != schema.ZoneCitizen) {
			continue
		}
		ss, err := k.p.UpdateState(u.zone.Kind, u.state, u.at)
		if err != nil {
			w.log.Warn("zone change out of order", "camera", c.cfg.ID, "zone", u.zone.ID, "err", err)
			continue
		}
		w.cameraSessions(k, ss, w.now())
	}
}

// cameraSessions hands the sessions a counter's seats ended to the fuser.
// Called with w.mu held.
func (w *Watch) cameraSessions(k *counter, ss []presence.Session, now time.Time) {
	if !k.seats {
		return
	}
	for _, s := range ss {
		h := w.out.Header()
		h.ID = "c-" + h.ID
		ev := schema.Session{Header: h, Counter: s.Counter, Start: s.Start.UTC(), End: s.End.UTC(),
			ServiceS: s.End.Sub(s.Start).Seconds(), Source: schema.SourceCamera}
		w.fuse.camera(ev, now)
	}
}

// saveIfLocked saves the fuser's state where a failure can only be logged
// (a camera's session: the camera does not send it again); what was decided
// is still spooled. Called with w.mu held.
func (w *Watch) saveIfLocked() {
	if err := w.saveLocked(); err != nil {
		w.log.Error("sessions waiting for fusion not saved: a crash now would lose them", "err", err)
	}
}

// tick closes sessions whose citizen left SessionGap ago, sends sessions
// that waited FuseWindow for their other half, reports absences and
// refreshes the gauges.
func (w *Watch) tick(ctx context.Context, now time.Time) {
	w.mu.Lock()
	for _, id := range w.ids {
		k := w.counters[id]
		w.cameraSessions(k, k.p.Tick(now), now)
		if !k.watched[schema.ZoneStaff] {
			continue
		}
		absent := k.p.StaffAbsent(now)
		w.m.absent.WithLabelValues(id).Set(absent.Seconds())
		w.m.present.WithLabelValues(id).Set(k.p.StaffPresent(now).Seconds())
		switch {
		case absent >= w.set.AbsenceAfter && !k.absent:
			k.absent = true
			w.m.absences.WithLabelValues(id).Inc()
			w.log.Warn("cán bộ vắng mặt tại quầy trong giờ làm việc / staff absent from the counter in working hours",
				"counter", id, "absent", absent.Round(time.Second))
		case absent == 0 && k.absent:
			k.absent = false
			w.log.Info("staff back at the counter", "counter", id)
		}
	}
	w.fuse.flush(now)
	w.saveIfLocked() // sessions the seats ended above, or the window sent alone
	// Also what an earlier spooling failed to store, or the last run left.
	ready := w.takeSendingLocked()
	w.m.waiting.Set(float64(w.fuse.len()))
	w.mu.Unlock()
	w.m.workingHours.Set(b2f(w.hours.Contains(now)))
	w.markSeen(now, false)
	ectx, cancel := context.WithTimeout(ctx, emitTimeout)
	defer cancel()
	_ = w.send(ectx, ready)
}

// send spools extra and the decided sessions ss as one append and records
// the sessions sent. On an error they stay decided, and the next tick
// spools them again: the same events, so the same points.
func (w *Watch) send(ctx context.Context, ss []schema.Session, extra ...schema.Event) error {
	if len(ss) == 0 && len(extra) == 0 {
		return nil
	}
	evs := append([]schema.Event(nil), extra...)
	for i := range ss {
		evs = append(evs, &ss[i])
	}
	err := w.out.EmitAll(ctx, evs...)
	w.mu.Lock()
	for _, s := range ss {
		delete(w.inflight, s.ID)
		if err == nil {
			w.fuse.sent(s.ID, w.now())
		}
	}
	if err == nil {
		// Not saved, a crash only spools them again: the same points.
		w.saveIfLocked()
	}
	w.mu.Unlock()
	if err != nil {
		if len(ss) > 0 {
			w.m.emitErrors.Inc()
			w.log.Error("sessions not spooled; trying again in a moment", "sessions", len(ss), "err", err)
		}
		return err
	}
	for _, s := range ss {
		w.m.sessions.WithLabelValues(s.Counter, string(s.Source)).Inc()
	}
	return nil
}

// health sends c's health window as a `camera` event.
func (w *Watch) health(c *camera, s health.Snapshot) {
	if !s.Up {
		w.goneUnknown(c, w.now(), "camera down")
	}
	ev := s.Event()
	ev.Header = w.out.Header()
	ctx, cancel := context.WithTimeout(context.Background(), emitTimeout)
	defer cancel()
	if err := w.out.Emit(ctx, &ev); err != nil {
		w.m.emitErrors.Inc()
		w.log.Error("camera health not spooled", "camera", c.cfg.ID, "err", err)
	}
}

// Queue is the queue tracker's emitter: sessions at counters whose two
// seats a camera watches wait for the camera's session to fuse with;
// everything else goes straight to the spool. A step and what it decided
// are one spool append, after the fuser's state is saved: a crash leaves
// the session waiting (the tracker's retry of the step finds it known) or
// sent, never lost and never sent twice.
func (w *Watch) Queue() QueueEmitter { return queueEmitter{w: w} }

// QueueEmitter is what the queue tracker emits to (queue.Emitter).
type QueueEmitter interface {
	Header() schema.Header
	EmitAll(ctx context.Context, evs ...schema.Event) error
}

type queueEmitter struct{ w *Watch }

func (q queueEmitter) Header() schema.Header { return q.w.out.Header() }

func (q queueEmitter) EmitAll(ctx context.Context, evs ...schema.Event) error {
	w := q.w
	var pass []schema.Event
	w.mu.Lock()
	took := false
	for _, ev := range evs {
		if s, ok := ev.(*schema.Session); ok && s.Source == schema.SourceQueue {
			if k := w.counters[s.Counter]; k != nil && k.seats {
				w.fuse.queue(*s, w.now())
				took = true
				continue
			}
		}
		pass = append(pass, ev)
	}
	if !took {
		w.mu.Unlock()
		return w.out.EmitAll(ctx, evs...)
	}
	if err := w.saveLocked(); err != nil {
		// The step is refused and comes again; its session is known then.
		w.mu.Unlock()
		return err
	}
	ready := w.takeSendingLocked()
	w.mu.Unlock()
	return w.send(ctx, ready, pass...)
}

func clampConfidence(c float64) float64 {
	switch {
	case c > 1:
		return 1
	case c > 0:
		return c
	}
	return 0
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// metrics are the pipeline's own; each camera's health metrics are
// registered by its ingest.
type metrics struct {
	occupied      *prometheus.GaugeVec
	tamper        *prometheus.GaugeVec
	absent        *prometheus.GaugeVec
	present       *prometheus.GaugeVec
	absences      *prometheus.CounterVec
	sessions      *prometheus.CounterVec
	decoded       *prometheus.CounterVec
	decodeErrors  *prometheus.CounterVec
	decodeSeconds prometheus.Histogram
	workingHours  prometheus.Gauge
	waiting       prometheus.Gauge
	emitErrors    prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		occupied: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "pscm_agent_zone_occupied",
			Help: "1 if the zone is occupied, as the camera's detector judges it now."}, []string{"camera", "counter", "zone"}),
		tamper: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "pscm_agent_camera_tampered",
			Help: "1 while the camera's view looks covered, moved or re-aimed; zone states are held meanwhile."}, []string{"camera"}),
		absent: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "pscm_agent_staff_absent_seconds",
			Help: "How long, in working hours, the counter's staff seat has been vacant; 0 while occupied."}, []string{"counter"}),
		present: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "pscm_agent_staff_present_seconds",
			Help: "Working-hours time the counter's staff seat was occupied since the agent started."}, []string{"counter"}),
		absences: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pscm_agent_staff_absences_total",
			Help: "Absences: the staff seat vacant for absence_after inside working hours."}, []string{"counter"}),
		sessions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pscm_agent_camera_sessions_total",
			Help: "Sessions at camera-watched counters spooled, by source (camera, queue, fused)."}, []string{"counter", "source"}),
		decoded: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pscm_agent_keyframes_decoded_total",
			Help: "Keyframes decoded for occupancy."}, []string{"camera"}),
		decodeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pscm_agent_keyframe_decode_errors_total",
			Help: "Keyframes that could not be decoded (corrupt, truncated, unsupported)."}, []string{"camera"}),
		decodeSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "pscm_agent_keyframe_decode_seconds",
			Help: "Time to decode one keyframe to the small grey picture.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 12)}),
		workingHours: prometheus.NewGauge(prometheus.GaugeOpts{Name: "pscm_agent_shift_open",
			Help: "1 inside the configured working hours, else 0."}),
		waiting: prometheus.NewGauge(prometheus.GaugeOpts{Name: "pscm_agent_sessions_awaiting_fusion",
			Help: "Camera or queue sessions waiting (at most fuse_window) for the other source's."}),
		emitErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "pscm_agent_camera_emit_errors_total",
			Help: "Camera-derived events the spool refused (see the spool's metrics)."}),
	}
	if reg != nil {
		reg.MustRegister(m.occupied, m.tamper, m.absent, m.present, m.absences, m.sessions, m.decoded,
			m.decodeErrors, m.decodeSeconds, m.workingHours, m.waiting, m.emitErrors)
	}
	return m
}
