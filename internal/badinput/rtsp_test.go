//go:build linux

package badinput

import (
	"fmt"
	"math/rand/v2"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/testenv"
	"github.com/pscm/pscm/internal/textclip"
)

// garbageServer accepts TCP connections on 127.0.0.1 and answers each
// with what an RTSP client cannot use: a reply that is not RTSP, a reply
// with a nonsense SDP, or random bytes, in turn. It stops when the test
// ends. The decoder's own garbage tests (bad SDP, truncated RTP, wrong
// codec, a silent server) are agent/camera/ingest/garbage_test.go; this
// is the whole agent meeting such a camera.
func garbageServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	replies := []func(*rand.Rand) []byte{
		func(*rand.Rand) []byte { return []byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello") },
		func(*rand.Rand) []byte {
			sdp := "v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 sprop-parameter-sets=!!!,@@@\r\n"
			return fmt.Appendf(nil, "RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s", len(sdp), sdp)
		},
		func(r *rand.Rand) []byte {
			b := make([]byte, 4096)
			for i := range b {
				b[i] = byte(r.IntN(256))
			}
			return b
		},
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := rand.New(rand.NewPCG(7, 7))
		for n := 0; ; n++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			reply := replies[n%len(replies)](r)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(3 * time.Second))
				buf := make([]byte, 4096)
				_, _ = c.Read(buf) // the client's first request
				_, _ = c.Write(reply)
				_, _ = c.Read(buf) // whatever it tries next, then hang up
			}()
		}
	}()
	return ln.Addr().String()
}

// testRTSP starts a second agent whose one camera is the garbage server:
// the agent must stay up, report the camera down, keep reconnecting, log
// a clear error, and never report video.
func testRTSP(t *testing.T, w *world) {
	addr := garbageServer(t)
	port, adminPort := testenv.FreePort(t), testenv.FreePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	admin := fmt.Sprintf("http://127.0.0.1:%d", adminPort)
	cfg := w.write(t, "agent-camera.yml", fmt.Sprintf(`site: hoaiduc
agent: hoaiduc-edge-1
uplink:
  broker: %s
  client_id: badinput-agent-camera
http:
  listen: 127.0.0.1:%d
admin:
  listen: 127.0.0.1:%d
spool:
  dir: %s
kiosks:
  - {id: k01, counter: c01, counter_name_vi: "Quầy 1", counter_name_en: "Counter 1", token: {file: %s}}
cameras:
  - id: cam1
    url: rtsp://%s/Streaming/Channels/102
    stall_timeout: 3s
    dial_timeout: 2s
    backoff_max: 1s
    zones:
      - {id: c01-staff, counter: c01, kind: staff, polygon: [[0.1, 0.3], [0.3, 0.3], [0.3, 0.8], [0.1, 0.8]]}
log: {level: info, format: json}
`, w.central.URL(), port, adminPort, filepath.Join(w.dir, "spool-camera"), filepath.Join(w.dir, "k01.token"), addr))
	agent := testenv.StartProgram(t, "agent-camera", w.dir, []string{w.agentBin, "-config", cfg}, 30*time.Second,
		testenv.HTTPReady(url+"/healthz"))

	up, reconnects := `pscm_agent_camera_up{camera="cam1"}`, `pscm_agent_camera_reconnects_total{camera="cam1"}`
	// One reply of each kind at least, and then some.
	testenv.Eventually(t, 45*time.Second, 100*time.Millisecond, func() bool {
		return w.metrics(t, admin)[reconnects] >= 4
	}, "the agent did not keep reconnecting to the garbage camera")
	m := w.metrics(t, admin)
	if v, ok := m[up]; !ok || v != 0 {
		t.Errorf("%s = %v (present %t), want 0", up, v, ok)
	}
	if !agent.Running() {
		t.Fatal("the agent died on a garbage camera")
	}
	if resp, err := w.http.Get(url + "/healthz"); err != nil {
		t.Errorf("healthz: %v", err)
	} else {
		resp.Body.Close()
	}
	log := readFile(t, agent.LogPath())
	var clear []string
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, `"camera session ended; retrying"`) && strings.Contains(line, `"cam1"`) {
			clear = append(clear, line)
		}
	}
	if len(clear) == 0 {
		t.Errorf("no \"camera session ended; retrying\" line naming cam1 in the agent's log:\n%s", testenv.Tail(log, 30))
	} else {
		t.Logf("e.g. %s", textclip.Clip(clear[len(clear)-1], 400))
	}
	for _, line := range clear {
		if len(line) > 2000 {
			t.Errorf("a log line of %d bytes: the camera's garbage must not be echoed", len(line))
		}
	}
	// Camera health may say the camera is down; it must never claim video.
	if rows := w.db.Query(t, `SELECT "fps" FROM "camera" WHERE "site" = 'hoaiduc' AND "up" = true`); len(rows) != 0 {
		t.Errorf("InfluxDB has the garbage camera up: %+v", rows)
	}
}
