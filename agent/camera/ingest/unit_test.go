package ingest

import (
	"bufio"
	"bytes"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/deepch/vdk/format/rtspv2"
	"go.yaml.in/yaml/v3"

	"github.com/pscm/pscm/internal/annexb"
	"github.com/pscm/pscm/internal/config"
	"github.com/pscm/pscm/internal/rtspsim/testclip"
)

func TestConfig(t *testing.T) {
	var list struct {
		Cameras []Config `yaml:"cameras"`
	}
	in := "cameras:\n  - id: cam1\n    url: rtsp://10.0.0.5/Streaming/Channels/102\n    username: pscm\n    password: {env: CAM1_PASS}\n  - id: cam2\n    url: rtsp://10.0.0.6:8554/live\n    stall_timeout: 20s\n"
	dec := yaml.NewDecoder(strings.NewReader(in))
	dec.KnownFields(true)
	if err := dec.Decode(&list); err != nil {
		t.Fatal(err)
	}
	if len(list.Cameras) != 2 {
		t.Fatalf("%d cameras", len(list.Cameras))
	}
	c1, c2 := list.Cameras[0], list.Cameras[1]
	if c1.Transport != "tcp" || c1.StallTimeout != 10*time.Second || c1.BackoffMin != time.Second || c1.BackoffMax != time.Minute || c1.Password.Env != "CAM1_PASS" {
		t.Fatalf("defaults not applied: %+v", c1)
	}
	if c2.StallTimeout != 20*time.Second || c2.DialTimeout != 10*time.Second {
		t.Fatalf("cam2 %+v", c2)
	}
	for _, c := range list.Cameras {
		if err := c.Validate(); err != nil {
			t.Fatalf("%s: %v", c.ID, err)
		}
	}

	valid := func() Config {
		c := Defaults()
		c.ID, c.URL = "cam1", "rtsp://10.0.0.5/live"
		return c
	}
	cases := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"bad id", func(c *Config) { c.ID = "Cam 1" }, "id: \"Cam 1\" does not match"},
		{"no url", func(c *Config) { c.URL = "" }, "url: required"},
		{"http", func(c *Config) { c.URL = "http://10.0.0.5/live" }, "scheme \"http\" is not rtsp"},
		{"rtsps", func(c *Config) { c.URL = "rtsps://10.0.0.5/live" }, "rtsps is not supported"},
		{"no host", func(c *Config) { c.URL = "rtsp:///live" }, "no host"},
		{"password in url", func(c *Config) { c.URL = "rtsp://admin:hunter2@10.0.0.5/live" }, "url: rtsp://admin:xxxxx@10.0.0.5/live: contains a password"},
		{"user twice", func(c *Config) { c.URL = "rtsp://admin@10.0.0.5/live"; c.Username = "pscm" }, "keep one"},
		{"password without user", func(c *Config) { c.Password = config.Secret{Env: "X"} }, "password: set, but username is empty"},
		{"both secret sources", func(c *Config) { c.Username = "u"; c.Password = config.Secret{Env: "X", File: "/f"} }, "password: set one of file, env or credential"},
		{"udp", func(c *Config) { c.Transport = "udp" }, "transport: udp is not supported"},
		{"sctp", func(c *Config) { c.Transport = "sctp" }, "transport: \"sctp\" is not tcp"},
		{"stall too short", func(c *Config) { c.StallTimeout = time.Second }, "stall_timeout: 1s is outside 2s..5m0s"},
		{"dial zero", func(c *Config) { c.DialTimeout = 0 }, "dial_timeout: 0s is outside"},
		{"backoff inverted", func(c *Config) { c.BackoffMin = 10 * time.Second; c.BackoffMax = time.Second }, "backoff_max: 1s is outside backoff_min (10s)"},
		{"fps negative", func(c *Config) { c.NominalFPS = -1 }, "nominal_fps: -1 is outside 0..240"},
		{"queue zero", func(c *Config) { c.Queue = 0 }, "queue: 0 is outside 1..64"},
		{"user with colon", func(c *Config) { c.Username = "a:b" }, "username: must not contain"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := valid()
			c.mod(&cfg)
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Validate() = %v, want %q", err, c.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatal("the error shows the password")
			}
		})
	}
}

func TestRedact(t *testing.T) {
	cases := map[string]string{
		"rtsp://admin:hunter2@10.0.0.5:554/live":                 "rtsp://admin:xxxxx@10.0.0.5:554/live",
		"rtsp://admin@10.0.0.5/live":                             "rtsp://admin@10.0.0.5/live",
		"rtsp://10.0.0.5/cam/realmonitor?channel=1&subtype=0":    "rtsp://10.0.0.5/cam/realmonitor?channel=1&subtype=0",
		"rtsp://10.0.0.5/live?user=admin&password=hunter2":       "rtsp://10.0.0.5/live?password=xxxxx&user=admin",
		"rtsp://10.0.0.5/live?token=abc":                         "rtsp://10.0.0.5/live?token=xxxxx",
		"rtsp://a%3Ab:p%40ss%2Fw@10.0.0.5/x":                     "rtsp://a%3Ab:xxxxx@10.0.0.5/x",
		"rtsp://admin:hunter2@10.0.0.5:99999999999/live\x7f":     "(unparseable URL, redacted)",
		"rtsp://admin:hunter2@[::1]:554/live":                    "rtsp://admin:xxxxx@[::1]:554/live",
		"rtsp://10.0.0.5/live?PWD=hunter2&Session=1&keep=ok&a=b": "rtsp://10.0.0.5/live?PWD=xxxxx&Session=xxxxx&a=b&keep=ok",
	}
	for in, want := range cases {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
		if strings.Contains(Redact(in), "hunter2") || strings.Contains(Redact(in), "p%40ss") {
			t.Errorf("Redact(%q) leaks the password", in)
		}
	}
	if got := scrub("parse \"rtsp://u:p%26w@h\": bad; p&w", "p&w"); strings.Contains(got, "p&w") || strings.Contains(got, "p%26w") {
		t.Errorf("scrub left the password: %s", got)
	}
}

func TestVDKURLEscapesForHTMLUnescape(t *testing.T) {
	u := mustURL(t, "rtsp://cam.local/live?ch=1")
	got := vdkURL(u, "127.0.0.1:5000", "ad min", "a&amp;b:c@d%e+f")
	want := "rtsp://ad%20min:a%26amp%3Bb%3Ac%40d%25e%2Bf@127.0.0.1:5000/live?ch=1"
	if got != want {
		t.Fatalf("vdkURL = %s, want %s", got, want)
	}
}

func TestParseSPSRealBitstreams(t *testing.T) {
	for _, clip := range []struct {
		codec string
		sps   []byte
	}{{"h264", testclip.H264(t).SPS}, {"h265", testclip.H265(t).SPS}} {
		p, err := annexb.ParseSPS(clip.codec, clip.sps)
		if err != nil {
			t.Fatalf("%s: %v", clip.codec, err)
		}
		if p.Width != 640 || p.Height != 360 {
			t.Errorf("%s SPS: %dx%d, want 640x360", clip.codec, p.Width, p.Height)
		}
		if clip.codec == "h264" && p.FPS != 10 {
			t.Errorf("h264 SPS timing: %v fps, want 10", p.FPS)
		}
		for n := 0; n < len(clip.sps); n++ { // every truncation: an error or a value, never a panic
			_, _ = annexb.ParseSPS(clip.codec, clip.sps[:n])
		}
	}
	if _, err := annexb.ParseSPS("h264", []byte{0x68, 1, 2}); err == nil {
		t.Error("a PPS parsed as an SPS")
	}
}

func TestQueueDropsOldest(t *testing.T) {
	q := newQueue(2)
	for i := range 4 {
		dropped := q.push(Keyframe{PTS: time.Duration(i)})
		if dropped != (i >= 2) {
			t.Fatalf("push %d dropped=%v", i, dropped)
		}
	}
	a, _ := q.pop()
	b, _ := q.pop()
	if _, ok := q.pop(); ok || a.PTS != 2 || b.PTS != 3 {
		t.Fatalf("queue kept %v %v, want the newest two", a.PTS, b.PTS)
	}
}

// FuzzParseSPS: SPS bytes come from the camera.
func FuzzParseSPS(f *testing.F) {
	f.Add([]byte{0x67, 0x64, 0x00, 0x1e, 0xac, 0xd9, 0x40, 0xa0, 0x2f, 0xf9, 0x70, 0x11, 0x00, 0x00, 0x03, 0x00, 0x01}, true)
	f.Add([]byte{0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00}, false)
	f.Fuzz(func(t *testing.T, sps []byte, h264 bool) {
		codec := "h265"
		if h264 {
			codec = "h264"
		}
		p, err := annexb.ParseSPS(codec, sps)
		if err == nil && (p.Width <= 0 || p.Height <= 0) {
			t.Fatalf("accepted size %dx%d", p.Width, p.Height)
		}
	})
}

// FuzzGuardRTP: whatever the camera sends as an interleaved frame, the
// guard's check never panics, and every frame it passes goes through vdk's
// real RTPDemuxer (of a client dialled to a fake camera of that codec)
// without a panic either: that is the guard's whole point.
func FuzzGuardRTP(f *testing.F) {
	f.Add([]byte{0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x7c}, uint8(0))
	f.Add([]byte{0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x78, 0, 2, 0x67, 0x42}, uint8(1))
	f.Add([]byte{0xb0, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 9, 0x65, 0x88, 3}, uint8(0))
	f.Add([]byte{0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x62, 0x01}, uint8(1))
	f.Add([]byte{0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x42, 0x01, 0x01}, uint8(1))
	sdp264 := h264SDP(f)
	sdp265 := strings.Replace(strings.Replace(sdp264, "H264", "H265", 1), "sprop-parameter-sets", "x", 1)
	clients := []*rtspv2.RTSPClient{vdkClientFor(f, sdp264), vdkClientFor(f, sdp265)}
	codecs := []string{"h264", "h265"}
	f.Fuzz(func(t *testing.T, pkt []byte, codecSel uint8) {
		if len(pkt) > 65535 || len(pkt) < 12 {
			return
		}
		i := int(codecSel % 2)
		frame := append([]byte{'$', 0, byte(len(pkt) >> 8), byte(len(pkt))}, pkt...)
		g := &guard{rtpChans: map[byte]bool{}}
		if err := g.checkRTP(frame, codecs[i]); err != nil {
			return
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("the guard passed a frame that panics vdk (%s): %v\n%x", codecs[i], r, pkt)
				}
			}()
			clients[i].RTPDemuxer(&frame)
			for len(clients[i].Signals) > 0 { // codec updates; keep the channel from filling
				<-clients[i].Signals
			}
		}()
	})
}

// vdkClientFor dials vdk to a fake camera announcing sdp, for its demuxer.
func vdkClientFor(t testing.TB, sdp string) *rtspv2.RTSPClient {
	t.Helper()
	cam := startBadCamera(t, sdpResponse(sdp), nil)
	c, err := rtspv2.Dial(rtspv2.RTSPClientOptions{URL: "rtsp://" + cam.ln.Addr().String() + "/s", DialTimeout: 5 * time.Second, ReadWriteTimeout: time.Hour, DisableAudio: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// FuzzGuardResponse: RTSP responses are camera bytes too.
func FuzzGuardResponse(f *testing.F) {
	f.Add([]byte("RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: 5\r\n\r\nm=abc"))
	f.Add([]byte("RTSP/1.0 401 Unauthorized\r\nCSeq: 2\r\nWWW-Authenticate: Digest realm=\"x\", nonce=\"y\"\r\n\r\n"))
	f.Add([]byte("RTSP/1.0 200 OK\r\nTransport: RTP/AVP/TCP;interleaved=4-5\r\nContent-Length: -1\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		g := &guard{rtpChans: map[byte]bool{}}
		out, err := g.response(bufio.NewReader(bytes.NewReader(data)))
		if err == nil && !bytes.HasPrefix(data, out) {
			t.Fatalf("forwarded bytes that were not received: %q", out)
		}
	})
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestAuthConfig: auth basic sends the password in clear, so it is taken
// only for a camera on loopback; anything but digest or basic is refused.
func TestAuthConfig(t *testing.T) {
	for _, tc := range []struct {
		url, auth string
		ok        bool
	}{
		{"rtsp://10.0.0.5/stream", "", true},
		{"rtsp://10.0.0.5/stream", AuthDigest, true},
		{"rtsp://10.0.0.5/stream", AuthBasic, false},
		{"rtsp://127.0.0.1:8554/stream", AuthBasic, true},
		{"rtsp://10.0.0.5/stream", "ntlm", false},
	} {
		c := Defaults()
		c.ID, c.URL, c.Auth = "cam1", tc.url, tc.auth
		if err := c.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s auth %q: %v, want ok=%v", tc.url, tc.auth, err, tc.ok)
		}
	}
}
