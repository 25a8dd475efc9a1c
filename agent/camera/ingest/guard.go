package ingest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/deepch/vdk/av"
	"github.com/deepch/vdk/codec/h264parser"
	"github.com/deepch/vdk/codec/h265parser"
	"github.com/deepch/vdk/format/rtsp/sdp"

	"github.com/pscm/pscm/internal/annexb"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/textclip"
)

// The guard exists because vdk's rtspv2 client (v0.0.27) parses the
// camera's bytes in a goroutine of its own, and on malformed input it
// indexes out of range there (a truncated FU-A, a STAP-A with an empty
// unit, a short SPS, a negative Content-Length...). A panic in a goroutine
// nobody can recover kills the whole agent, kiosks and spool included. So
// vdk never talks to the camera directly: it dials a one-connection relay
// on 127.0.0.1, and the relay checks everything the camera sends before
// vdk sees it, failing the connection with a clear error instead.
//
// The relay also gives what vdk lacks: a handshake that a context or a
// deadline can interrupt, a precise reason when the camera refuses the
// credentials, and the in-band parameter sets read without touching vdk's
// unsynchronised CodecData.

// Errors the guard reports; the session wraps them.
var (
	// ErrAuth means the camera refused the credentials.
	ErrAuth = errors.New("camera refused the credentials (401 after they were sent): wrong username or password?")
	// ErrProtocol marks bytes that are not RTSP or not safe RTP.
	ErrProtocol = errors.New("camera sent invalid data")
	// ErrBasicAuth means the camera asked for Basic authentication only,
	// which would send the password in clear (a rogue responder on the
	// cameras' network gets it): refused unless the camera's auth is basic.
	ErrBasicAuth = errors.New("camera asks for Basic authentication only, which sends the password in clear: refused (auth: basic allows it for a camera on loopback)")
)

// Limits of what the guard accepts from a camera.
const (
	maxHeadBytes = 16 << 10 // one RTSP response's status line and headers
	maxBody      = 64 << 10 // an SDP is a few hundred bytes
	// vdk's in-stream response reader stops after 768 bytes of head and
	// then desynchronises; the guard refuses longer heads once playing.
	vdkMaxStreamHead = 768
)

// guard relays one connection between vdk (down) and the camera (up).
type guard struct {
	ln          net.Listener
	upstream    string
	dialTimeout time.Duration

	ctx       context.Context // ends with Close: interrupts the dial
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once

	authSent   atomic.Bool // a request carried an Authorization header
	allowBasic bool        // the camera's auth is basic
	playing    atomic.Bool // an interleaved frame went through
	rxBytes    atomic.Int64

	mu       sync.Mutex
	down, up net.Conn
	err      error
	codec    string // from the SDP: h264, h265, or "" for both/unknown
	sdpMedia []sdp.Media
	rtpChans map[byte]bool // interleaved channels the camera named in SETUP replies
	vps      []byte
	sps      []byte
	pps      []byte
}

// startGuard listens on a free loopback port for vdk's one connection and,
// when it comes, dials upstream (host:port).
func startGuard(upstream string, dialTimeout time.Duration, allowBasic bool) (*guard, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("guard: listen: %w", err)
	}
	g := &guard{
		ln:          ln,
		upstream:    upstream,
		dialTimeout: dialTimeout,
		allowBasic:  allowBasic,
		rtpChans:    map[byte]bool{},
	}
	g.ctx, g.cancel = context.WithCancel(context.Background())
	g.wg.Add(1)
	go g.serve()
	return g, nil
}

// Addr is the host:port vdk must dial.
func (g *guard) Addr() string { return g.ln.Addr().String() }

// Err is the first reason the guard failed the connection, or nil.
func (g *guard) Err() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

// Close ends both connections and waits for the relay's goroutines.
func (g *guard) Close() {
	g.closeOnce.Do(func() {
		g.cancel()
		g.closeConns()
	})
	g.wg.Wait()
}

// fail records err as the reason (the first one wins) and tears the relay
// down, so vdk sees its connection close.
func (g *guard) fail(err error) {
	g.mu.Lock()
	if g.err == nil {
		g.err = err
	}
	g.mu.Unlock()
	g.closeConns()
}

func (g *guard) closeConns() {
	g.ln.Close()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.down != nil {
		g.down.Close()
	}
	if g.up != nil {
		g.up.Close()
	}
}

func (g *guard) serve() {
	defer g.wg.Done()
	down, err := g.ln.Accept()
	g.ln.Close() // one connection only
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(g.ctx, g.dialTimeout)
	var d net.Dialer
	up, err := d.DialContext(ctx, "tcp", g.upstream)
	cancel()
	g.mu.Lock()
	g.down = down
	g.up = up
	if err == nil && g.ctx.Err() != nil {
		err = net.ErrClosed // closed while dialling: closeConns missed up
	}
	g.mu.Unlock()
	if err != nil {
		// fail records the reason before it closes down: vdk must not see
		// the close before the reason is there to explain it.
		g.fail(fmt.Errorf("connect to camera %s: %w", g.upstream, err))
		return
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		g.requests(down, up)
	}()
	g.responses(up, down)
}

// requests copies vdk's requests to the camera, noting when credentials
// are sent so a later 401 can be reported as what it is.
func (g *guard) requests(down, up net.Conn) {
	buf := make([]byte, 4096)
	var tail []byte
	for {
		n, err := down.Read(buf)
		if n > 0 {
			// Look across read boundaries: keep the last bytes.
			scan := append(append([]byte(nil), tail...), buf[:n]...)
			if bytes.Contains(scan, []byte("\nAuthorization:")) {
				g.authSent.Store(true)
			}
			if len(scan) > 32 {
				scan = scan[len(scan)-32:]
			}
			tail = append(tail[:0], scan...)
			if _, werr := up.Write(buf[:n]); werr != nil {
				g.fail(fmt.Errorf("write to camera: %w", werr))
				return
			}
		}
		if err != nil {
			g.closeConns()
			return
		}
	}
}

// responses reads everything the camera sends, checks it, and forwards it.
func (g *guard) responses(up, down net.Conn) {
	r := bufio.NewReaderSize(up, 64<<10)
	for {
		b, err := r.Peek(1)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				g.closeConns()
				return
			}
			g.fail(fmt.Errorf("read from camera: %w", err))
			return
		}
		var out []byte
		switch b[0] {
		case '$':
			out, err = g.frame(r)
		case 'R':
			out, err = g.response(r)
		default:
			peek, _ := r.Peek(min(r.Buffered(), 16))
			err = fmt.Errorf("%w: %q where an RTSP response or an interleaved RTP frame should start", ErrProtocol, peek)
		}
		if err != nil {
			g.fail(err)
			return
		}
		g.rxBytes.Add(int64(len(out)))
		if _, err := down.Write(out); err != nil {
			g.closeConns()
			return
		}
	}
}

// frame reads one interleaved frame ($, channel, 16-bit length, packet).
func (g *guard) frame(r *bufio.Reader) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("%w: truncated interleaved frame header: %w", ErrProtocol, err)
	}
	n := int(binary.BigEndian.Uint16(hdr[2:]))
	if n < 12 {
		return nil, fmt.Errorf("%w: interleaved frame of %d bytes on channel %d, shorter than an RTP header", ErrProtocol, n, hdr[1])
	}
	out := make([]byte, 4+n)
	copy(out, hdr[:])
	if _, err := io.ReadFull(r, out[4:]); err != nil {
		return nil, fmt.Errorf("%w: truncated RTP packet (%d bytes announced): %w", ErrProtocol, n, err)
	}
	g.playing.Store(true)
	g.mu.Lock()
	named := g.rtpChans[hdr[1]]
	codec := g.codec
	g.mu.Unlock()
	// RTP goes on even channels by convention, RTCP on odd ones; a camera
	// that named another channel for RTP in its SETUP reply is checked
	// there too.
	if hdr[1]%2 == 0 || named {
		if err := g.checkRTP(out, codec); err != nil {
			return nil, fmt.Errorf("%w: RTP packet on channel %d: %w", ErrProtocol, hdr[1], err)
		}
	}
	return out, nil
}

// checkRTP makes sure vdk's RTPDemuxer can take content (the interleaved
// frame, 4-byte prefix included) without panicking. It follows vdk's own
// offset arithmetic step by step, then checks every index vdk makes into
// the payload for either codec. It also keeps the in-band parameter sets.
func (g *guard) checkRTP(content []byte, codec string) error {
	if len(content) < 16 {
		return fmt.Errorf("%d bytes, shorter than an RTP header", len(content)-4)
	}
	if content[4]>>6 != 2 {
		return fmt.Errorf("RTP version %d, want 2", content[4]>>6)
	}
	if content[5] == 200 || content[5] == 201 {
		return nil // vdk skips RTCP sender and receiver reports
	}
	first := content[4]
	padding := first>>5&1 == 1
	extension := first>>4&1 == 1
	csrc := int(first & 0x0f)
	offset := 12
	end := len(content)
	if end-offset >= 4*csrc {
		offset += 4 * csrc
	}
	if extension && len(content) < 4+offset+2+2 {
		return nil // vdk drops it
	}
	if extension && end-offset >= 4 {
		extLen := 4 * int(binary.BigEndian.Uint16(content[4+offset+2:]))
		offset += 4
		if end-offset >= extLen {
			offset += extLen
		}
	}
	if padding && end-offset > 0 {
		p := int(content[end-1])
		if end-offset >= p {
			end -= p
		}
	}
	offset += 4
	if offset > end {
		return fmt.Errorf("headers, extension and padding (%d bytes) longer than the packet (%d)", offset, end)
	}
	payload := content[offset:end]
	nals, _ := h264parser.SplitNALUs(payload)
	if len(nals) == 0 || len(nals[0]) == 0 {
		return nil // vdk drops it
	}
	for _, nal := range nals {
		if len(nal) == 0 {
			return errors.New("empty NAL unit")
		}
		if codec != schema.CodecH265 {
			if err := g.checkH264NAL(nal, end-offset); err != nil {
				return fmt.Errorf("h264: %w", err)
			}
		}
		if codec != schema.CodecH264 {
			if err := g.checkH265NAL(nal); err != nil {
				return fmt.Errorf("h265: %w", err)
			}
		}
	}
	return nil
}

func (g *guard) checkH264NAL(nal []byte, payloadLen int) error {
	switch nal[0] & 0x1f {
	case annexb.H264SPS:
		if err := vdkH264SPS(nal); err != nil {
			return err
		}
		g.keep(schema.CodecH264, nal)
	case annexb.H264PPS:
		g.keep(schema.CodecH264, nal)
	case 24: // STAP-A
		p := nal[1:]
		for len(p) >= 2 {
			size := int(p[0])<<8 | int(p[1])
			if size+2 > len(p) {
				break
			}
			if len(p) < 3 {
				return errors.New("STAP-A ends with an empty unit")
			}
			unit := p[2 : size+2]
			switch p[2] & 0x1f {
			case annexb.H264SPS:
				if err := vdkH264SPS(unit); err != nil {
					return fmt.Errorf("STAP-A: %w", err)
				}
				g.keep(schema.CodecH264, unit)
			case annexb.H264PPS:
				if len(unit) > 0 {
					g.keep(schema.CodecH264, unit)
				}
			}
			p = p[size+2:]
		}
	case 28: // FU-A: vdk reads the FU indicator and header from the payload
		if payloadLen < 2 {
			return errors.New("FU-A without its FU header")
		}
		// vdk re-parses a reassembled SPS or access unit delimiter in its own
		// goroutine; no camera fragments those small units, so refuse them.
		if len(nal) >= 2 && nal[1]&0x80 != 0 {
			if t := nal[1] & 0x1f; t == annexb.H264SPS || t == annexb.H264AUD {
				return fmt.Errorf("fragmented NAL unit of type %d", t)
			}
		}
	}
	return nil
}

func (g *guard) checkH265NAL(nal []byte) error {
	switch int(nal[0]>>1) & 0x3f {
	case annexb.H265SPS:
		if err := vdkH265SPS(nal); err != nil {
			return err
		}
		g.keep(schema.CodecH265, nal)
	case annexb.H265VPS, annexb.H265PPS:
		g.keep(schema.CodecH265, nal)
	case 49: // FU
		if len(nal) < 3 {
			return errors.New("FU without its FU header")
		}
	}
	return nil
}

// vdkH264SPS runs the SPS through the function vdk will call on it, with
// a panic turned into an error: what panics here would panic in vdk.
func vdkH264SPS(sps []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("SPS of %d bytes crashes vdk's parser: %v", len(sps), r)
		}
	}()
	if len(sps) > maxNAL {
		return fmt.Errorf("SPS of %d bytes", len(sps))
	}
	_, _ = h264parser.NewCodecDataFromSPSAndPPS(sps, []byte{0x68, 0xce, 0x3c, 0x80})
	return nil
}

func vdkH265SPS(sps []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("SPS of %d bytes crashes vdk's parser: %v", len(sps), r)
		}
	}()
	if len(sps) > maxNAL {
		return fmt.Errorf("SPS of %d bytes", len(sps))
	}
	_, _ = h265parser.NewCodecDataFromVPSAndSPSAndPPS([]byte{0x40, 0x01}, sps, []byte{0x44, 0x01})
	return nil
}

// keep stores an in-band parameter set of the stream's codec.
func (g *guard) keep(codec string, nal []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.codec != "" && g.codec != codec {
		return
	}
	c := bytes.Clone(nal)
	switch t := annexb.Type(codec, nal); {
	case codec == schema.CodecH264 && t == annexb.H264SPS, codec == schema.CodecH265 && t == annexb.H265SPS:
		g.sps = c
	case codec == schema.CodecH264 && t == annexb.H264PPS, codec == schema.CodecH265 && t == annexb.H265PPS:
		g.pps = c
	case codec == schema.CodecH265 && t == annexb.H265VPS:
		g.vps = c
	}
}

// params returns the latest in-band parameter sets (nil if none yet).
func (g *guard) params() (vps, sps, pps []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.vps, g.sps, g.pps
}

// media returns the SDP's media as vdk parsed them.
func (g *guard) media() []sdp.Media {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.sdpMedia
}

// response reads one RTSP response: status line, headers, body.
func (g *guard) response(r *bufio.Reader) ([]byte, error) {
	var head bytes.Buffer
	status := 0
	contentLength := 0
	hasBody := false
	var transport string
	// WWW-Authenticate: vdk keeps the last such header and answers Basic
	// with the password in clear, so what it sees is decided here.
	var digest bool
	var basicLines [][]byte
	for lines := 0; ; lines++ {
		line, err := r.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return nil, fmt.Errorf("%w: RTSP header line longer than %d bytes", ErrProtocol, r.Size())
			}
			return nil, fmt.Errorf("%w: truncated RTSP response: %w", ErrProtocol, err)
		}
		head.Write(line)
		if head.Len() > maxHeadBytes {
			return nil, fmt.Errorf("%w: RTSP response head longer than %d bytes", ErrProtocol, maxHeadBytes)
		}
		text := strings.TrimRight(string(line), "\r\n")
		if lines == 0 {
			// RTSP/1.0 200 OK
			f := strings.Fields(text)
			if len(f) < 2 || !strings.HasPrefix(f[0], "RTSP/") {
				return nil, fmt.Errorf("%w: %q is not an RTSP status line", ErrProtocol, textclip.Clip(text, maxQuoted))
			}
			if status, err = strconv.Atoi(f[1]); err != nil || status < 100 || status > 999 {
				return nil, fmt.Errorf("%w: %q is not an RTSP status line", ErrProtocol, textclip.Clip(text, maxQuoted))
			}
			continue
		}
		if text == "" {
			break
		}
		name, value, ok := strings.Cut(text, ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "content-length":
			n, err := strconv.Atoi(value)
			if err != nil || n < 0 || n > maxBody {
				return nil, fmt.Errorf("%w: Content-Length %q is not 0..%d", ErrProtocol, textclip.Clip(value, maxQuoted), maxBody)
			}
			contentLength, hasBody = n, true
		case "transport":
			transport = value
		case "www-authenticate":
			scheme, _, _ := strings.Cut(value, " ")
			switch strings.ToLower(scheme) {
			case "digest":
				digest = true
			case "basic":
				basicLines = append(basicLines, append([]byte(nil), line...))
			}
		}
	}
	// vdk's in-stream reader finds Content-Length with a plain substring
	// search; make sure what it finds is what was checked above.
	if s := head.String(); strings.Contains(s, "Content-Length: ") {
		v := s[strings.Index(s, "Content-Length: ")+len("Content-Length: "):]
		v, _, _ = strings.Cut(v, "\r\n")
		if n, err := strconv.Atoi(v); err == nil && (n != contentLength || !hasBody) {
			return nil, fmt.Errorf("%w: ambiguous Content-Length", ErrProtocol)
		}
	}
	if g.playing.Load() && head.Len() > vdkMaxStreamHead {
		return nil, fmt.Errorf("%w: RTSP response head of %d bytes while playing, more than vdk reads (%d)", ErrProtocol, head.Len(), vdkMaxStreamHead)
	}
	body := make([]byte, contentLength)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, fmt.Errorf("%w: truncated RTSP body (%d bytes announced): %w", ErrProtocol, contentLength, err)
	}
	if status == 401 && g.authSent.Load() {
		return nil, ErrAuth
	}
	if status == 401 && len(basicLines) > 0 {
		switch {
		case digest:
			// Both offered: vdk must see Digest only.
			h := head.Bytes()
			for _, l := range basicLines {
				h = bytes.Replace(h, l, nil, 1)
			}
			head.Reset()
			head.Write(h)
		case !g.allowBasic:
			return nil, ErrBasicAuth
		}
	}
	if ch, ok := interleavedChannel(transport); ok {
		g.mu.Lock()
		if len(g.rtpChans) < 16 {
			g.rtpChans[ch] = true
		}
		g.mu.Unlock()
	}
	if len(body) > 0 && bytes.Contains(body, []byte("m=")) {
		if err := g.describe(body); err != nil {
			return nil, err
		}
	}
	return append(head.Bytes(), body...), nil
}

// describe parses an SDP body with vdk's parser (so the guard sees exactly
// what vdk will) and notes the video codec.
func (g *guard) describe(body []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: SDP crashes vdk's parser: %v", ErrProtocol, r)
		}
	}()
	_, medias := sdp.Parse(string(body))
	codec := ""
	n := 0
	for _, m := range medias {
		if m.AVType != "video" {
			continue
		}
		switch m.Type {
		case av.H264:
			codec, n = schema.CodecH264, n+1
			if len(m.SpropParameterSets) > 0 {
				if err := vdkH264SPS(m.SpropParameterSets[0]); err != nil {
					return fmt.Errorf("%w: SDP sprop-parameter-sets: %w", ErrProtocol, err)
				}
			}
		case av.H265:
			codec, n = schema.CodecH265, n+1
			if len(m.SpropSPS) > 0 {
				if err := vdkH265SPS(m.SpropSPS); err != nil {
					return fmt.Errorf("%w: SDP sprop-sps: %w", ErrProtocol, err)
				}
			}
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sdpMedia = medias
	if n == 1 {
		g.codec = codec
	}
	return nil
}

// interleavedChannel reads the first channel of "interleaved=a-b" the way
// vdk does.
func interleavedChannel(transport string) (byte, bool) {
	for _, part := range strings.Split(transport, ";") {
		k, v, ok := strings.Cut(part, "=")
		if !ok || !strings.Contains(k, "interleaved") {
			continue
		}
		a, _, ok := strings.Cut(v, "-")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(a))
		if err != nil || n < 0 || n > 255 {
			continue
		}
		return byte(n), true
	}
	return 0, false
}

// maxQuoted is how many bytes of camera text an error shows.
const maxQuoted = 64
