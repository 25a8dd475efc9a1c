// Package rtspsim is an RTSP server for tests and the demo: it serves
// simulated cameras (paths cam1..camN) from H.264 or H.265 clips held in
// memory, paced in real time and looped, optionally behind Digest or Basic
// authentication, built on github.com/bluenviron/gortsplib/v4. Tests can
// make the server go away and come back on the same port, and stall one
// path while its sessions stay open.
package rtspsim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/auth"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/liberrors"
	"github.com/pion/rtp"

	"github.com/pscm/pscm/internal/annexb"
)

// Authentication methods of Config.Auth.
const (
	AuthDigest = "digest" // Digest MD5, what most IP cameras ask for
	AuthBasic  = "basic"
)

// MaxPaths bounds the number of simulated cameras of one server.
const MaxPaths = 64

// Path is one simulated camera.
type Path struct {
	Name string // URL path, e.g. cam1
	Clip *Clip
	// Offset is where in the clip the camera starts, so cameras sharing a
	// clip are not in step.
	Offset time.Duration
}

// Config of a Server.
type Config struct {
	// Addr to listen on; default 127.0.0.1:0 (a free port, kept across
	// Stop and Start).
	Addr  string
	Paths []Path
	// User and Password, when User is set, are required from readers.
	User, Password string
	Auth           string // AuthDigest (default) or AuthBasic
	Log            *slog.Logger
}

// Server serves the configured paths until Close or its context ends.
type Server struct {
	cfg    Config
	log    *slog.Logger
	addr   string
	paths  map[string]*pathState
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu  sync.Mutex
	srv *gortsplib.Server // nil while stopped
}

type pathState struct {
	Path
	media *description.Media

	mu         sync.Mutex
	stream     *gortsplib.ServerStream // nil while the server is stopped
	stallUntil time.Time
	frames     int64 // frames written to a live stream
}

// Start starts a server with cfg; it stops by itself when ctx ends.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if len(cfg.Paths) == 0 || len(cfg.Paths) > MaxPaths {
		return nil, fmt.Errorf("rtspsim: %d paths, want 1..%d", len(cfg.Paths), MaxPaths)
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Auth == "" {
		cfg.Auth = AuthDigest
	}
	if cfg.Auth != AuthDigest && cfg.Auth != AuthBasic {
		return nil, fmt.Errorf("rtspsim: auth %q is not digest or basic", cfg.Auth)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: cfg.Log, paths: map[string]*pathState{}}
	for _, p := range cfg.Paths {
		if p.Name == "" || strings.Contains(p.Name, "/") || p.Clip == nil || len(p.Clip.AUs) == 0 {
			return nil, fmt.Errorf("rtspsim: path %q: want a name without / and a clip", p.Name)
		}
		if _, dup := s.paths[p.Name]; dup {
			return nil, fmt.Errorf("rtspsim: path %q twice", p.Name)
		}
		var f format.Format
		switch p.Clip.Codec {
		case H264:
			f = &format.H264{PayloadTyp: 96, PacketizationMode: 1, SPS: p.Clip.SPS, PPS: p.Clip.PPS}
		case H265:
			f = &format.H265{PayloadTyp: 96, VPS: p.Clip.VPS, SPS: p.Clip.SPS, PPS: p.Clip.PPS}
		default:
			return nil, fmt.Errorf("rtspsim: path %q: codec %q", p.Name, p.Clip.Codec)
		}
		s.paths[p.Name] = &pathState{Path: p, media: &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{f}}}
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("rtspsim: listen: %w", err)
	}
	s.addr = ln.Addr().String()
	s.ctx, s.cancel = context.WithCancel(ctx)
	if err := s.start(ln); err != nil {
		s.cancel()
		return nil, err
	}
	for _, p := range s.paths {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.pace(p)
		}()
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		<-s.ctx.Done()
		s.Stop()
	}()
	return s, nil
}

// Addr is the server's host:port, the same across Stop and Start.
func (s *Server) Addr() string { return s.addr }

// URL returns the rtsp:// URL of a path, without credentials.
func (s *Server) URL(path string) string { return "rtsp://" + s.addr + "/" + path }

// Frames returns how many frames path has written to a live stream.
func (s *Server) Frames(path string) int64 {
	p := s.paths[path]
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.frames
}

// Stop makes the server go away: the listener closes and every session
// is dropped, as when a camera reboots. The paths keep their clocks.
func (s *Server) Stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return
	}
	for _, p := range s.paths {
		p.mu.Lock()
		st := p.stream
		p.stream = nil
		p.mu.Unlock()
		if st != nil {
			st.Close()
		}
	}
	srv.Close()
}

// Start brings a stopped server back on the same address.
func (s *Server) Start() error {
	if s.ctx.Err() != nil {
		return errors.New("rtspsim: closed")
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("rtspsim: listen again on %s: %w", s.addr, err)
	}
	return s.start(ln)
}

func (s *Server) start(ln net.Listener) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		ln.Close()
		return nil
	}
	h := &handler{s: s}
	srv := &gortsplib.Server{
		Handler:     h,
		RTSPAddress: s.addr,
		Listen:      func(string, string) (net.Listener, error) { return ln, nil },
	}
	switch s.cfg.Auth {
	case AuthDigest:
		srv.AuthMethods = []auth.VerifyMethod{auth.VerifyMethodDigestMD5}
	case AuthBasic:
		srv.AuthMethods = []auth.VerifyMethod{auth.VerifyMethodBasic}
	}
	if err := srv.Start(); err != nil {
		ln.Close()
		return fmt.Errorf("rtspsim: start: %w", err)
	}
	for _, p := range s.paths {
		st := &gortsplib.ServerStream{Server: srv, Desc: &description.Session{Medias: []*description.Media{p.media}}}
		if err := st.Initialize(); err != nil {
			srv.Close()
			return fmt.Errorf("rtspsim: stream %s: %w", p.Name, err)
		}
		p.mu.Lock()
		p.stream = st
		p.mu.Unlock()
	}
	s.srv = srv
	return nil
}

// Stall makes path send nothing for d while its sessions stay open, as a
// camera whose encoder hangs.
func (s *Server) Stall(path string, d time.Duration) {
	p := s.paths[path]
	if p == nil {
		return
	}
	p.mu.Lock()
	p.stallUntil = time.Now().Add(d)
	p.mu.Unlock()
}

// Close stops the server and its pacing goroutines, and waits for them.
func (s *Server) Close() {
	s.cancel()
	s.wg.Wait()
}

// pace writes path's access units in real time at the clip's frame rate,
// looping, with a 90 kHz RTP clock that keeps running through loops,
// stalls and restarts, as a camera's does.
func (s *Server) pace(p *pathState) {
	enc, err := newEncoder(p.media.Formats[0])
	if err != nil {
		s.log.Error("rtspsim: encoder", "path", p.Name, "err", err)
		return
	}
	n := len(p.Clip.AUs)
	period := time.Duration(float64(time.Second) / p.Clip.FPS)
	start := int(p.Offset/period) % n
	// Start on a keyframe at or before the offset, as a camera's first
	// frames would decode.
	for i := start; i >= 0; i-- {
		if isKey(p.Clip.Codec, p.Clip.AUs[i]) {
			start = i
			break
		}
	}
	base := rand.Uint32()
	t0 := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := 0; ; i++ {
		select {
		case <-s.ctx.Done():
			return
		case <-timer.C:
		}
		now := time.Now()
		au := p.Clip.AUs[(start+i)%n]
		ts := base + uint32(float64(i)*90000/p.Clip.FPS)
		pkts, err := enc(au, ts)
		if err != nil {
			s.log.Error("rtspsim: encode", "path", p.Name, "err", err)
			return
		}
		p.mu.Lock()
		st, stalled := p.stream, now.Before(p.stallUntil)
		if st != nil && !stalled {
			for _, pkt := range pkts {
				// An error means no reader or a closing stream: nothing to do.
				_ = st.WritePacketRTPWithNTP(p.media, pkt, now)
			}
			p.frames++
		}
		p.mu.Unlock()
		next := t0.Add(time.Duration(i+1) * period)
		timer.Reset(max(time.Until(next), 0))
	}
}

// newEncoder returns a function packetizing one access unit.
func newEncoder(f format.Format) (func(au [][]byte, ts uint32) ([]*rtp.Packet, error), error) {
	var enc interface {
		Encode(au [][]byte) ([]*rtp.Packet, error)
	}
	switch f := f.(type) {
	case *format.H264:
		e, err := f.CreateEncoder()
		if err != nil {
			return nil, err
		}
		enc = e
	case *format.H265:
		e, err := f.CreateEncoder()
		if err != nil {
			return nil, err
		}
		enc = e
	default:
		return nil, fmt.Errorf("format %T", f)
	}
	return func(au [][]byte, ts uint32) ([]*rtp.Packet, error) {
		pkts, err := enc.Encode(au)
		for _, p := range pkts {
			p.Timestamp = ts
		}
		return pkts, err
	}, nil
}

// isKey reports whether an access unit holds a picture that decodes on its
// own, where a camera's first frames start.
func isKey(codec string, au [][]byte) bool {
	return slices.ContainsFunc(au, func(u []byte) bool { return annexb.IsKeyUnit(codec, u) })
}

// handler answers gortsplib's callbacks.
type handler struct{ s *Server }

func (h *handler) find(path string) *pathState {
	path = strings.Trim(path, "/")
	if i := strings.IndexByte(path, '/'); i >= 0 {
		path = path[:i]
	}
	return h.s.paths[path]
}

func (h *handler) authorize(c *gortsplib.ServerConn, req *base.Request) bool {
	if h.s.cfg.User == "" {
		return true
	}
	return c.VerifyCredentials(req, h.s.cfg.User, h.s.cfg.Password)
}

func (h *handler) streamOf(path string) (*gortsplib.ServerStream, *base.Response) {
	p := h.find(path)
	if p == nil {
		return nil, &base.Response{StatusCode: base.StatusNotFound}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stream == nil {
		return nil, &base.Response{StatusCode: base.StatusServiceUnavailable}
	}
	return p.stream, &base.Response{StatusCode: base.StatusOK}
}

// OnDescribe implements gortsplib.ServerHandlerOnDescribe.
func (h *handler) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	if !h.authorize(ctx.Conn, ctx.Request) {
		return &base.Response{StatusCode: base.StatusUnauthorized}, nil, liberrors.ErrServerAuth{}
	}
	st, res := h.streamOf(ctx.Path)
	return res, st, nil
}

// OnSetup implements gortsplib.ServerHandlerOnSetup.
func (h *handler) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	if !h.authorize(ctx.Conn, ctx.Request) {
		return &base.Response{StatusCode: base.StatusUnauthorized}, nil, liberrors.ErrServerAuth{}
	}
	st, res := h.streamOf(ctx.Path)
	return res, st, nil
}

// OnPlay implements gortsplib.ServerHandlerOnPlay.
func (h *handler) OnPlay(*gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	return &base.Response{StatusCode: base.StatusOK}, nil
}
