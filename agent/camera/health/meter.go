package health

import (
	"slices"
	"sync"
	"time"

	"github.com/pscm/pscm/internal/schema"
)

// Interval is how often a camera's health is measured and reported.
const Interval = 10 * time.Second

// Limits of what a Meter remembers. Both cover the last hour the grade
// looks at; past the cap the oldest entries go, which at worst understates
// a camera that already grades unusable.
const (
	maxEvents  = 64                        // reconnect and stall times
	maxWindows = int(time.Hour / Interval) // window frame rates for the learned median
)

// Snapshot is a camera's health at one moment: rates from the last closed
// window, counters and up as they are now.
type Snapshot struct {
	Camera string
	At     time.Time // when the window closed (zero before the first one)
	Up     bool
	FPS    float64
	Kbps   float64
	GopS   float64 // mean keyframe interval; kept from earlier windows if none closed in this one
	Width  int
	Height int
	Codec  string // schema.CodecH264, CodecH265 or "" before the first connection
	// NominalFPS is what FPS is compared with for the grade (0: unknown).
	NominalFPS       float64
	Reconnects       int64
	Stalls           int64
	KeyframesDropped int64
	LastFrame        time.Time // arrival of the last video packet; zero if none yet
	Grade            Grade
}

// Event returns the `camera` event of s. The caller fills the Header.
func (s Snapshot) Event() schema.Camera {
	codec := s.Codec
	if codec == "" {
		codec = schema.CodecUnknown
	}
	return schema.Camera{
		Camera:     s.Camera,
		Up:         s.Up,
		FPS:        round2(s.FPS),
		Kbps:       round2(s.Kbps),
		GopS:       round2(s.GopS),
		Width:      s.Width,
		Height:     s.Height,
		Codec:      codec,
		Reconnects: s.Reconnects,
	}
}

func round2(v float64) float64 {
	return float64(int64(v*100+0.5)) / 100
}

// Stream is what the ingest learnt about a stream when it connected.
type Stream struct {
	Codec  string
	Width  int
	Height int
	// DeclaredFPS is the frame rate the stream announces (SDP framerate or
	// SPS timing); 0 if it announces none.
	DeclaredFPS float64
}

// Meter accumulates one camera's observations. All methods are safe for
// concurrent use: the ingest writes, the metrics collector and the event
// loop read.
type Meter struct {
	camera     string
	nominalFPS float64 // configured; 0: declared or learned
	now        func() time.Time

	mu          sync.Mutex
	connected   bool
	connectedAt time.Time
	sawVideo    bool // a video packet arrived in the current session
	stream      Stream
	reconnects  int64
	stalls      int64
	dropped     int64
	reconnectAt []time.Time
	stallAt     []time.Time
	lastFrame   time.Time

	// current window
	windowStart time.Time
	frames      int
	bytes       int64
	lastPTS     time.Duration
	havePTS     bool
	lastKeyPTS  time.Duration
	haveKey     bool
	gopSum      time.Duration
	gopN        int

	fpsHistory []float64 // window frame rates while up, for the learned median
	last       Snapshot
}

// NewMeter returns a Meter for camera. nominalFPS is the configured frame
// rate (0 to use the declared one, or else learn it); now is the clock.
func NewMeter(camera string, nominalFPS float64, now func() time.Time) *Meter {
	m := &Meter{camera: camera, nominalFPS: nominalFPS, now: now}
	m.windowStart = now()
	m.last = Snapshot{Camera: camera}
	return m
}

// Connected records a session that started playing.
func (m *Meter) Connected(s Stream) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.connected = true
	m.connectedAt = m.now()
	m.sawVideo = false
	m.stream = s
	// Timestamps restart with each session: intervals never span two.
	m.havePTS, m.haveKey = false, false
}

// Disconnected records the end of a session, for whatever reason.
func (m *Meter) Disconnected() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.connected = false
	m.havePTS, m.haveKey = false, false
}

// Reconnect counts one more connection attempt after the first.
func (m *Meter) Reconnect() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reconnects++
	m.reconnectAt = appendCapped(m.reconnectAt, m.now(), maxEvents)
}

// Stall counts a session closed because no video arrived for the stall
// timeout.
func (m *Meter) Stall() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stalls++
	m.stallAt = appendCapped(m.stallAt, m.now(), maxEvents)
}

// Dropped counts a keyframe dropped because the consumer was slow.
func (m *Meter) Dropped() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dropped++
}

// Packet records one video packet (a NAL unit or a group of them) of n
// bytes with presentation time pts; packets with the same pts make one
// frame. key marks a keyframe (IDR / IRAP) packet.
func (m *Meter) Packet(pts time.Duration, n int, key bool) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lastFrame = now
	m.sawVideo = true
	m.bytes += int64(n)
	newFrame := !m.havePTS || pts != m.lastPTS
	if newFrame {
		m.frames++
		m.lastPTS, m.havePTS = pts, true
	}
	// A keyframe of several slices is several packets with one pts; a pts
	// that went backwards (32-bit RTP wrap, about every 13 h) is skipped.
	if key && (!m.haveKey || pts != m.lastKeyPTS) {
		if m.haveKey && pts > m.lastKeyPTS {
			m.gopSum += pts - m.lastKeyPTS
			m.gopN++
		}
		m.lastKeyPTS, m.haveKey = pts, true
	}
}

// Tick closes the current window and returns the new snapshot. The ingest
// calls it every Interval.
func (m *Meter) Tick() Snapshot {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.snapshotLocked(now)
	covered := now.Sub(m.windowStart)
	if m.connected && m.connectedAt.After(m.windowStart) {
		covered = now.Sub(m.connectedAt)
	}
	s.FPS, s.Kbps = 0, 0
	if covered > 0 && s.Up {
		s.FPS = float64(m.frames) / covered.Seconds()
		s.Kbps = float64(m.bytes) * 8 / 1000 / covered.Seconds()
	}
	if m.gopN > 0 {
		s.GopS = (m.gopSum / time.Duration(m.gopN)).Seconds()
	}
	if s.Up && s.FPS > 0 {
		m.fpsHistory = appendCapped(m.fpsHistory, s.FPS, maxWindows)
	}
	s.NominalFPS = m.nominalLocked()
	s.At = now
	s.Grade = m.gradeLocked(s, now)
	m.last = s
	m.windowStart = now
	m.frames, m.bytes, m.gopSum, m.gopN = 0, 0, 0, 0
	return s
}

// Snapshot returns the last window's rates with the counters and up as they
// are now: what a Prometheus scrape should see.
func (m *Meter) Snapshot() Snapshot {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.snapshotLocked(now)
	s.Grade = m.gradeLocked(s, now)
	return s
}

func (m *Meter) snapshotLocked(now time.Time) Snapshot {
	s := m.last
	s.Camera = m.camera
	s.Up = m.connected && m.sawVideo
	s.Codec = m.stream.Codec
	s.Width, s.Height = m.stream.Width, m.stream.Height
	s.Reconnects, s.Stalls, s.KeyframesDropped = m.reconnects, m.stalls, m.dropped
	s.LastFrame = m.lastFrame
	if !s.Up {
		s.FPS, s.Kbps = 0, 0
	}
	return s
}

func (m *Meter) gradeLocked(s Snapshot, now time.Time) Grade {
	hourAgo := now.Add(-time.Hour)
	return Rate(GradeInput{
		Up:         s.Up,
		FPS:        s.FPS,
		NominalFPS: s.NominalFPS,
		Reconnects: countSince(m.reconnectAt, hourAgo),
		Stalls:     countSince(m.stallAt, hourAgo),
	})
}

// nominalLocked is the configured frame rate, else the declared one, else
// the median of the last hour's windows.
func (m *Meter) nominalLocked() float64 {
	switch {
	case m.nominalFPS > 0:
		return m.nominalFPS
	case m.stream.DeclaredFPS > 0:
		return m.stream.DeclaredFPS
	}
	return median(m.fpsHistory)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func countSince(ts []time.Time, since time.Time) int {
	n := 0
	for _, t := range ts {
		if t.After(since) {
			n++
		}
	}
	return n
}

func appendCapped[T any](s []T, v T, max int) []T {
	if len(s) >= max {
		s = append(s[:0], s[len(s)-max+1:]...)
	}
	return append(s, v)
}
