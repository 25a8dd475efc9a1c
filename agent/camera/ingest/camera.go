// Package ingest receives each IP camera's RTSP stream with
// github.com/deepch/vdk (format/rtspv2) and keeps it flowing: one
// supervisor per camera reconnects with capped backoff and never gives up,
// closes a stream that stalls, hands every keyframe (as an Annex B access
// unit with its parameter sets) to a consumer, and feeds the camera's
// health meter. No frame is ever stored or forwarded: the consumer decodes
// keyframes in memory (docs/design.md, privacy).
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/deepch/vdk/av"
	"github.com/deepch/vdk/format/rtsp/sdp"
	"github.com/deepch/vdk/format/rtspv2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pscm/pscm/agent/camera/health"
	"github.com/pscm/pscm/internal/annexb"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/textclip"
)

// maxNAL bounds one NAL unit; vdk itself flushes its reassembly buffer at
// about 4 MB, and no 4K keyframe slice comes near it.
const maxNAL = 4 << 20

// ErrStall means no video packet arrived for the stall timeout.
var ErrStall = errors.New("stream stalled")

// ErrNoVideo means the camera's SDP offers no H.264 or H.265 video.
var ErrNoVideo = errors.New("no H.264 or H.265 video track")

// maxAU bounds one keyframe access unit being assembled: a 4K IDR is a
// few hundred KB; past this the unit is dropped, not grown.
const maxAU = 8 << 20

// closeWait bounds how long closing a session waits for vdk's reader
// goroutine, which ends as soon as its socket is closed.
const closeWait = 5 * time.Second

// Keyframe is one keyframe as the consumer receives it.
type Keyframe struct {
	Camera string
	Codec  string // schema.CodecH264 or schema.CodecH265
	// AU is the Annex B access unit: VPS (H.265), SPS and PPS, then the
	// keyframe's slices, each behind a 00 00 00 01 start code.
	AU []byte
	// PTS is the picture's RTP time as vdk gives it (90 kHz clock in ms,
	// wrapping every 13.25 h); At is when it arrived at the agent.
	PTS           time.Duration
	At            time.Time
	Width, Height int // from the SPS; 0 if it could not be read
}

// Consumer receives keyframes, one at a time, from a goroutine of the
// Camera's own; it may be slow (decoding), in which case older keyframes
// waiting for it are dropped and counted.
type Consumer func(Keyframe)

// Option changes a Camera's defaults, for tests and wiring.
type Option func(*Camera)

// WithClock sets the clock of the health meter and keyframe times.
func WithClock(now func() time.Time) Option { return func(c *Camera) { c.now = now } }

// WithHealth calls f with each closed health window (every interval; the
// default is health.Interval, 10 s), to publish `camera` events.
func WithHealth(interval time.Duration, f func(health.Snapshot)) Option {
	return func(c *Camera) {
		if interval > 0 {
			c.interval = interval
		}
		c.onHealth = f
	}
}

// Camera supervises one camera's stream.
type Camera struct {
	cfg      Config
	log      *slog.Logger
	meter    *health.Meter
	consume  Consumer
	queue    *queue
	now      func() time.Time
	interval time.Duration
	onHealth func(health.Snapshot)
}

// New returns the supervisor of cfg's camera. reg, if not nil, gets the
// camera's health collector (a second camera with the same ID fails here).
// consume may be nil when only health is wanted.
func New(cfg Config, log *slog.Logger, reg prometheus.Registerer, consume Consumer, opts ...Option) (*Camera, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("camera %s: %w", cfg.ID, err)
	}
	c := &Camera{
		cfg:      cfg,
		log:      log.With("camera", cfg.ID, "url", Redact(cfg.URL)),
		consume:  consume,
		queue:    newQueue(cfg.Queue),
		now:      time.Now,
		interval: health.Interval,
	}
	for _, o := range opts {
		o(c)
	}
	c.meter = health.NewMeter(cfg.ID, cfg.NominalFPS, c.now)
	if reg != nil {
		if err := reg.Register(health.NewCollector(c.meter)); err != nil {
			return nil, fmt.Errorf("camera %s: register metrics: %w", cfg.ID, err)
		}
	}
	return c, nil
}

// ID returns the camera's ID.
func (c *Camera) ID() string { return c.cfg.ID }

// Health returns the camera's health now: the last window's rates with
// current counters.
func (c *Camera) Health() health.Snapshot { return c.meter.Snapshot() }

// Run supervises the camera until ctx ends, then closes everything and
// returns nil. It never gives up on a camera: a failed or lost session is
// retried after a backoff doubling from BackoffMin to BackoffMax (with
// ±10 % jitter so cameras behind one recorder do not reconnect in step),
// back to BackoffMin after a session that played for HealthyPeriod.
func (c *Camera) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(2)
	go func() {
		defer wg.Done()
		c.deliver(ctx)
	}()
	go func() {
		defer wg.Done()
		c.tick(ctx)
	}()

	backoff := c.cfg.BackoffMin
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			c.meter.Reconnect()
		}
		played, err := c.session(ctx)
		c.meter.Disconnected()
		if ctx.Err() != nil {
			return nil
		}
		if played >= HealthyPeriod {
			backoff = c.cfg.BackoffMin
		}
		wait := time.Duration(float64(backoff) * (0.9 + 0.2*rand.Float64()))
		c.log.Warn("camera session ended; retrying", "err", err, "played", played.Round(time.Millisecond), "retry_in", wait.Round(time.Millisecond))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(2*backoff, c.cfg.BackoffMax)
	}
}

// tick closes a health window every interval.
func (c *Camera) tick(ctx context.Context) {
	t := time.NewTicker(c.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s := c.meter.Tick()
			if c.onHealth != nil {
				c.onHealth(s)
			}
		}
	}
}

// deliver hands queued keyframes to the consumer.
func (c *Camera) deliver(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.queue.ready:
		}
		for ctx.Err() == nil {
			k, ok := c.queue.pop()
			if !ok {
				break
			}
			if c.consume != nil {
				c.consume(k)
			}
		}
	}
}

// session runs one connection: handshake, then packets until an error, a
// stall or ctx. played is how long video flowed.
func (c *Camera) session(ctx context.Context) (played time.Duration, err error) {
	password, err := c.cfg.Password.Value()
	if err != nil {
		return 0, fmt.Errorf("password: %w", err)
	}
	u, err := url.Parse(c.cfg.URL)
	if err != nil {
		return 0, errors.New("url does not parse") // Validate prevents it
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "554")
	}
	g, err := startGuard(host, c.cfg.DialTimeout, c.cfg.Auth == AuthBasic)
	if err != nil {
		return 0, err
	}
	defer g.Close()
	stopOnCancel := context.AfterFunc(ctx, func() { g.fail(context.Canceled) })
	defer stopOnCancel()
	handshake := time.AfterFunc(c.cfg.DialTimeout, func() {
		g.fail(fmt.Errorf("handshake not done within dial_timeout %v", c.cfg.DialTimeout))
	})

	client, err := dialVDK(rtspv2.RTSPClientOptions{
		URL:         vdkURL(u, g.Addr(), c.cfg.username(), password),
		DialTimeout: c.cfg.DialTimeout,
		// vdk's per-read deadline; the stall timer, shorter, decides first.
		ReadWriteTimeout: 2*c.cfg.StallTimeout + c.cfg.DialTimeout,
		DisableAudio:     true,
	})
	handshake.Stop()
	if err != nil {
		return 0, c.explain(g, err, password)
	}
	stopped := false // vdk's reader goroutine said it ended
	defer func() { c.closeVDK(client, g, stopped) }()

	codec, sdpParams, declaredFPS, err := pickVideo(g.media())
	if err != nil {
		return 0, err
	}
	s := &stream{codec: codec, sdp: sdpParams}
	s.refresh(g)
	pic, perr := s.picture()
	if perr != nil {
		c.log.Warn("camera SPS unreadable; size unknown", "err", perr)
	}
	if declaredFPS == 0 {
		declaredFPS = pic.FPS
	}
	c.meter.Connected(health.Stream{Codec: codec, Width: pic.Width, Height: pic.Height, DeclaredFPS: declaredFPS})
	c.log.Info("camera playing", "codec", codec, "width", pic.Width, "height", pic.Height, "declared_fps", declaredFPS)

	stall := time.NewTimer(c.cfg.StallTimeout)
	defer stall.Stop()
	var first time.Time
	since := func() time.Duration {
		if first.IsZero() {
			return 0
		}
		return c.now().Sub(first)
	}
	var au assembly
	for {
		select {
		case <-ctx.Done():
			return since(), nil
		case pkt := <-client.OutgoingPacketQueue:
			if err := c.packet(s, &au, pkt, g); err != nil {
				return since(), err
			}
			if first.IsZero() {
				first = c.now()
			}
			stall.Reset(c.cfg.StallTimeout)
		case sig := <-client.Signals:
			if sig == rtspv2.SignalStreamRTPStop {
				stopped = true
				return since(), c.explain(g, errors.New("vdk: stream stopped"), password)
			}
			// SignalCodecUpdate: the guard already holds the new parameter
			// sets; vdk's CodecData is written by its goroutine, unlocked,
			// so it is never read here.
			if s.refresh(g) {
				if p, err := s.picture(); err == nil && (p.Width != pic.Width || p.Height != pic.Height) {
					pic = p
					c.meter.Connected(health.Stream{Codec: codec, Width: p.Width, Height: p.Height, DeclaredFPS: declaredFPS})
					c.log.Info("camera resolution changed", "width", p.Width, "height", p.Height)
				}
			}
		case <-stall.C:
			c.meter.Stall()
			return since(), fmt.Errorf("%w: no video packet for %v", ErrStall, c.cfg.StallTimeout)
		}
	}
}

// packet handles one video packet from vdk: health, and keyframe assembly.
func (c *Camera) packet(s *stream, au *assembly, pkt *av.Packet, g *guard) error {
	nals, err := annexb.SplitAVCC(pkt.Data, maxNAL)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	key := false
	for _, n := range nals {
		if annexb.IsKeyUnit(s.codec, n) {
			key = true
		}
	}
	c.meter.Packet(pkt.Time, len(pkt.Data), key)
	if au.started && pkt.Time != au.pts {
		c.flush(s, au, g)
	}
	if !au.started {
		*au = assembly{started: true, pts: pkt.Time, at: c.now()}
	}
	if key {
		au.key = true
	}
	for _, n := range nals {
		if au.size+len(n) > maxAU {
			au.overflow = true
			break
		}
		au.nals = append(au.nals, n)
		au.size += len(annexb.StartCode) + len(n)
	}
	return nil
}

// assembly collects the NAL units of one picture (one RTP timestamp).
type assembly struct {
	started  bool
	key      bool
	overflow bool
	pts      time.Duration
	at       time.Time
	nals     [][]byte
	size     int
}

// flush hands a finished keyframe to the queue; other pictures only
// counted for health.
func (c *Camera) flush(s *stream, au *assembly, g *guard) {
	defer func() { *au = assembly{} }()
	if !au.key || au.overflow {
		return
	}
	s.refresh(g)
	params := s.paramSets()
	if len(params) == 0 {
		return // no SPS yet: nothing could decode it
	}
	buf := make([]byte, 0, au.size+64*len(params))
	buf = annexb.Append(buf, params...)
	for _, n := range au.nals {
		if !annexb.IsParameterSet(s.codec, n) {
			buf = annexb.Append(buf, n)
		}
	}
	pic, _ := s.picture()
	k := Keyframe{Camera: c.cfg.ID, Codec: s.codec, AU: buf, PTS: au.pts, At: au.at, Width: pic.Width, Height: pic.Height}
	if c.queue.push(k) {
		c.meter.Dropped()
	}
}

// stream is a session's codec and parameter sets: in-band ones from the
// guard take precedence over the SDP's.
type stream struct {
	codec         string
	sdp           [3][]byte // vps, sps, pps from the SDP
	vps, sps, pps []byte
	parsedSPS     []byte
	pic           annexb.Picture
	picErr        error
}

// refresh takes the latest parameter sets; it reports whether the SPS
// changed.
func (s *stream) refresh(g *guard) bool {
	vps, sps, pps := g.params()
	pick := func(inband, fromSDP []byte) []byte {
		if len(inband) > 0 {
			return inband
		}
		return fromSDP
	}
	old := s.sps
	s.vps, s.sps, s.pps = pick(vps, s.sdp[0]), pick(sps, s.sdp[1]), pick(pps, s.sdp[2])
	return string(old) != string(s.sps)
}

func (s *stream) picture() (annexb.Picture, error) {
	if len(s.sps) == 0 {
		return annexb.Picture{}, errors.New("no SPS yet")
	}
	if string(s.parsedSPS) != string(s.sps) {
		s.parsedSPS = s.sps
		s.pic, s.picErr = annexb.ParseSPS(s.codec, s.sps)
	}
	return s.pic, s.picErr
}

func (s *stream) paramSets() [][]byte {
	var out [][]byte
	if s.codec == schema.CodecH265 {
		if len(s.vps) == 0 {
			return nil
		}
		out = append(out, s.vps)
	}
	if len(s.sps) == 0 || len(s.pps) == 0 {
		return nil
	}
	return append(out, s.sps, s.pps)
}

// pickVideo finds the first H.264 or H.265 video in the SDP as vdk parsed
// it, with its parameter sets and frame rate if the SDP has them.
func pickVideo(medias []sdp.Media) (codec string, params [3][]byte, fps float64, err error) {
	var offered []string
	for _, m := range medias {
		switch {
		case m.AVType == "video" && m.Type == av.H264:
			if len(m.SpropParameterSets) >= 2 {
				params = [3][]byte{nil, m.SpropParameterSets[0], m.SpropParameterSets[1]}
			}
			return schema.CodecH264, params, float64(max(m.FPS, 0)), nil
		case m.AVType == "video" && m.Type == av.H265:
			params = [3][]byte{m.SpropVPS, m.SpropSPS, m.SpropPPS}
			return schema.CodecH265, params, float64(max(m.FPS, 0)), nil
		}
		offered = append(offered, fmt.Sprintf("%s %s (payload %d)", textclip.Clip(m.AVType, maxQuoted), codecName(m.Type), m.PayloadType))
	}
	if len(offered) == 0 {
		return "", params, 0, fmt.Errorf("%w: the camera's SDP has no media", ErrNoVideo)
	}
	return "", params, 0, fmt.Errorf("%w: the camera offers %s", ErrNoVideo, strings.Join(offered, ", "))
}

func codecName(t av.CodecType) string {
	if t == 0 {
		return "unknown codec"
	}
	return t.String()
}

// vdkURL is the URL vdk dials: the guard's address, the camera's path and
// query, and the credentials. vdk runs html.UnescapeString over the URL
// before parsing it, so everything but unreserved characters is
// percent-encoded (an & in a password would otherwise be read as an HTML
// entity).
func vdkURL(u *url.URL, addr, user, password string) string {
	esc := func(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }
	userinfo := ""
	if user != "" {
		userinfo = esc(user)
		if password != "" {
			userinfo += ":" + esc(password)
		}
		userinfo += "@"
	}
	return "rtsp://" + userinfo + addr + u.RequestURI()
}

// dialVDK is rtspv2.Dial with a panic in the handshake (vdk's SDP and
// header parsing run in the caller's goroutine) turned into an error.
func dialVDK(opts rtspv2.RTSPClientOptions) (client *rtspv2.RTSPClient, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: vdk failed on the camera's handshake: %v", ErrProtocol, r)
		}
	}()
	return rtspv2.Dial(opts)
}

// explain returns the clearest reason a session failed: the guard's when it
// has one (it saw the bytes), else vdk's, without the password.
func (c *Camera) explain(g *guard, err error, password string) error {
	if gerr := g.Err(); gerr != nil && !errors.Is(gerr, context.Canceled) {
		return fmt.Errorf("%w (vdk: %s)", gerr, scrub(err.Error(), password))
	}
	return errors.New(scrub(err.Error(), password))
}

// closeVDK ends a session without racing vdk's reader goroutine: the
// guard closes vdk's socket from the other side, the goroutine ends and
// says so on Signals, and only then does Close (which writes a TEARDOWN
// and shares state with that goroutine) run.
func (c *Camera) closeVDK(client *rtspv2.RTSPClient, g *guard, stopped bool) {
	g.Close()
	t := time.NewTimer(closeWait)
	defer t.Stop()
wait:
	for !stopped {
		select {
		case sig := <-client.Signals:
			if sig == rtspv2.SignalStreamRTPStop {
				break wait
			}
		case <-t.C:
			c.log.Error("vdk reader goroutine did not stop; closing anyway", "waited", closeWait)
			break wait
		}
	}
	client.Close()
}

// queue holds keyframes for the consumer, dropping the oldest when full.
type queue struct {
	mu    sync.Mutex
	items []Keyframe
	max   int
	ready chan struct{}
}

func newQueue(max int) *queue {
	return &queue{max: max, ready: make(chan struct{}, 1)}
}

// push adds k and reports whether an older keyframe was dropped for it.
func (q *queue) push(k Keyframe) (dropped bool) {
	q.mu.Lock()
	if len(q.items) >= q.max {
		q.items = append(q.items[:0], q.items[1:]...)
		dropped = true
	}
	q.items = append(q.items, k)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
	return dropped
}

func (q *queue) pop() (Keyframe, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return Keyframe{}, false
	}
	k := q.items[0]
	q.items = append(q.items[:0], q.items[1:]...)
	return k, true
}
