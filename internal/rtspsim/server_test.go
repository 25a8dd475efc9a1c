package rtspsim_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"

	"github.com/pscm/pscm/internal/rtspsim"
	"github.com/pscm/pscm/internal/rtspsim/testclip"
	"github.com/pscm/pscm/internal/testenv"
)

// play reads url with gortsplib's own client (TCP) and counts RTP
// packets; it is an independent check of the server.
func play(t *testing.T, url string) (*atomic.Int64, func(), error) {
	t.Helper()
	u, err := base.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	tcp := gortsplib.TransportTCP
	c := &gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Transport: &tcp}
	if err := c.Start2(); err != nil {
		return nil, nil, err
	}
	desc, _, err := c.Describe(u)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	if err := c.SetupAll(desc.BaseURL, desc.Medias); err != nil {
		c.Close()
		return nil, nil, err
	}
	var n atomic.Int64
	c.OnPacketRTPAny(func(*description.Media, format.Format, *rtp.Packet) { n.Add(1) })
	if _, err := c.Play(nil); err != nil {
		c.Close()
		return nil, nil, err
	}
	return &n, c.Close, nil
}

func TestServeDigestStopStartStall(t *testing.T) {
	clip := testclip.H264(t)
	if len(clip.AUs) != 200 {
		t.Fatalf("clip has %d access units, want 200 (20 s at 10 fps)", len(clip.AUs))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := rtspsim.Start(ctx, rtspsim.Config{
		Paths: []rtspsim.Path{{Name: "cam1", Clip: clip}, {Name: "cam2", Clip: clip, Offset: 7 * time.Second}},
		User:  "viewer", Password: "s3cret",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)

	authURL := strings.Replace(s.URL("cam2"), "rtsp://", "rtsp://viewer:s3cret@", 1)
	if _, _, err := play(t, strings.Replace(authURL, "s3cret", "wrong", 1)); err == nil {
		t.Fatal("wrong password accepted")
	}
	if _, _, err := play(t, s.URL("cam2")); err == nil {
		t.Fatal("no credentials accepted")
	}
	n, stop, err := play(t, authURL)
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, 50*time.Millisecond, func() bool { return n.Load() > 20 }, "RTP packets flow")
	stop()

	// Stall keeps sessions but sends nothing.
	n, stop, err = play(t, authURL)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	testenv.Eventually(t, 10*time.Second, 50*time.Millisecond, func() bool { return n.Load() > 0 }, "RTP packets flow")
	s.Stall("cam2", 2*time.Second)
	time.Sleep(300 * time.Millisecond) // let the packets in flight arrive
	before := n.Load()
	f0 := s.Frames("cam2")
	testenv.Eventually(t, 5*time.Second, 50*time.Millisecond, func() bool { return s.Frames("cam2") > f0 }, "frames again after the stall")
	if got := n.Load(); got-before > 5 {
		t.Logf("packets during the stall: %d", got-before)
	}
	testenv.Eventually(t, 5*time.Second, 50*time.Millisecond, func() bool { return n.Load() > before+10 }, "packets after the stall")

	// Stop: the port refuses; Start: same port serves again.
	s.Stop()
	if _, _, err := play(t, authURL); err == nil {
		t.Fatal("stopped server still serves")
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	n, stop2, err := play(t, authURL)
	if err != nil {
		t.Fatal(err)
	}
	defer stop2()
	testenv.Eventually(t, 10*time.Second, 50*time.Millisecond, func() bool { return n.Load() > 20 }, "RTP packets after restart")
}

func TestServeH265(t *testing.T) {
	clip := testclip.H265(t)
	if clip.VPS == nil || len(clip.AUs) != 200 {
		t.Fatalf("h265 clip: vps %x, %d access units", clip.VPS, len(clip.AUs))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := rtspsim.Start(ctx, rtspsim.Config{Paths: []rtspsim.Path{{Name: "cam1", Clip: clip}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	n, stop, err := play(t, s.URL("cam1"))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	testenv.Eventually(t, 10*time.Second, 50*time.Millisecond, func() bool { return n.Load() > 20 }, "RTP packets flow")
}
