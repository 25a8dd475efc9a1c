package main

// BenchmarkPressToScreen1000: 1,000 logged-in websocket clients watch one
// site while ratings are published at 20/s; the figure is the time from the
// publish to every client's receipt of the snapshot that counts it, with the
// dashboard (a child process, built without -race) CPU and peak RSS from /proc.
//   go test -run '^$' -bench PressToScreen -benchtime 1x ./dashboard/

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/testenv"
)

func BenchmarkPressToScreen1000(b *testing.B) {
	e := newDashEnv(b)
	bin := testenv.BuildProgram(b, ".")
	cmd := exec.Command(bin, "-config", e.cfg)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }()
	addr := listenAddr(b, e.cfg)
	testenv.Eventually(b, 30*time.Second, 50*time.Millisecond, func() bool {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	}, "dashboard not up")
	c, code := login(b, addr, "lan", "correct horse battery")
	if code != http.StatusSeeOther {
		b.Fatalf("login %d", code)
	}
	hdr := http.Header{"Origin": {"http://" + addr}}
	for _, ck := range c.Jar.Cookies(&url.URL{Scheme: "http", Host: addr}) {
		hdr.Add("Cookie", ck.Name+"="+ck.Value)
	}
	const clients, n = 1000, 100
	var mu sync.Mutex
	seen := make([][]time.Time, n) // per rating, receipt times
	var wg sync.WaitGroup
	conns := make([]*websocket.Conn, 0, clients)
	for range clients {
		ws, _, err := dialWS(websocket.DefaultDialer, "ws://"+addr+"/ws?site=anlao", hdr)
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, ws)
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := -1
			for {
				_, data, err := ws.ReadMessage()
				if err != nil {
					return
				}
				// ratings_total of today tells how many live ratings arrived.
				i := strings.Index(string(data), `"today":{"ratings":`)
				if i < 0 {
					continue
				}
				var total int
				if j := strings.Index(string(data[i:]), `"ratings_total":`); j >= 0 {
					fmt.Sscanf(string(data[i+j+len(`"ratings_total":`):]), "%d", &total)
				}
				now := time.Now()
				k := total - nRatings - 1 // index of the newest live rating counted
				mu.Lock()
				for r := got + 1; r <= k && r < n; r++ {
					seen[r] = append(seen[r], now)
				}
				mu.Unlock()
				if k > got {
					got = k
				}
			}
		}()
	}
	pub := e.publisher(b)
	cpu0 := testenv.ProcCPUSeconds(b, cmd.Process.Pid)
	sent := make([]time.Time, n)
	b.ResetTimer()
	start := time.Now()
	for i := range n {
		if due := start.Add(time.Duration(i) * 50 * time.Millisecond); time.Until(due) > 0 {
			time.Sleep(time.Until(due))
		}
		sent[i] = time.Now()
		e.send(b, pub, "pscm/v1/anlao/rating", schema.Rating{Header: schema.Header{ID: fmt.Sprintf("bench-%d", i), TS: time.Now().UTC(), Site: "anlao"},
			Counter: "c01", Kiosk: "k01", Level: schema.LevelSatisfied})
	}
	testenv.Eventually(b, 30*time.Second, 20*time.Millisecond, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen[n-1]) == clients
	}, "not every client saw the last rating")
	el := time.Since(start)
	b.StopTimer()
	cpu := testenv.ProcCPUSeconds(b, cmd.Process.Pid) - cpu0
	var lat, steady []float64
	mu.Lock()
	for i := range n {
		for _, s := range seen[i] {
			ms := s.Sub(sent[i]).Seconds() * 1000
			lat = append(lat, ms)
			if i >= 20 { // after the first second of pushes to 1,000 fresh connections
				steady = append(steady, ms)
			}
		}
	}
	mu.Unlock()
	sort.Float64s(lat)
	sort.Float64s(steady)
	b.ReportMetric(steady[len(steady)*99/100], "steady_p99_ms")
	b.ReportMetric(lat[len(lat)/2], "p50_ms")
	b.ReportMetric(lat[len(lat)*99/100], "p99_ms")
	b.ReportMetric(cpu/el.Seconds()*100, "dashboard_cpu_%")
	b.ReportMetric(float64(testenv.ProcStatusKB(b, cmd.Process.Pid, "VmHWM:"))/1024, "dashboard_peak_rss_MB")
	b.ReportMetric(0, "ns/op")
	for _, ws := range conns {
		ws.Close()
	}
	wg.Wait()
}

// listenAddr reads http.listen from the dashboard config the env wrote.
func listenAddr(t testing.TB, cfgPath string) string {
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "listen: "); ok {
			return v
		}
	}
	t.Fatal("no http.listen in the config")
	return ""
}
