package hub

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// The fan-out benchmark runs its browsers in a child process (this test
// binary again, started with fanoutURLEnv set), so the hub process's allocs
// and CPU are measured without the clients'.
const (
	fanoutURLEnv     = "PSCM_HUB_FANOUT_URL"
	fanoutClientsEnv = "PSCM_HUB_FANOUT_CLIENTS"
	fanoutPrefix     = "fanout:"
)

func TestMain(m *testing.M) {
	if url := os.Getenv(fanoutURLEnv); url != "" {
		n, _ := strconv.Atoi(os.Getenv(fanoutClientsEnv))
		if err := runFanoutClients(url, n, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "fanout clients:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// BenchmarkFanout1000 publishes 200 rating updates, one every 20 ms (50 a second, far above a center's rate), to 1,000
// websocket clients on loopback, and reports the delay from Publish to each
// client's read (p50, p99, max over all deliveries), and the hub process's
// CPU and allocations per published message.
//
//	go test -run '^$' -bench Fanout1000 -benchtime 1x ./dashboard/hub/
func BenchmarkFanout1000(b *testing.B) {
	const (
		clients  = 1000
		messages = 200
		interval = 20 * time.Millisecond
	)
	th := startHub(b, Config{}, nil)

	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(os.Environ(),
		fanoutURLEnv+"="+th.url+"?sites=anlao&hello=%7B%22hello%22%3Atrue%7D",
		fanoutClientsEnv+"="+strconv.Itoa(clients))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		th.Close() // the clients see 1001 and the child exits
		if err := cmd.Wait(); err != nil {
			b.Errorf("client process: %v", err)
		}
	}()
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if l, ok := strings.CutPrefix(sc.Text(), fanoutPrefix); ok {
				lines <- l
			}
		}
		io.Copy(io.Discard, out)
	}()
	next := func() string {
		select {
		case l, ok := <-lines:
			if !ok {
				b.Fatal("client process ended early")
			}
			return l
		case <-time.After(30 * time.Second):
			b.Fatal("client process silent for 30 s")
		}
		return ""
	}
	if l := next(); l != "ready" {
		b.Fatalf("client process: %q, want ready", l)
	}
	if th.Clients() != clients {
		b.Fatalf("%d clients connected, want %d", th.Clients(), clients)
	}

	// A realistic live update: one rating and the site's new KPIs.
	pad := strings.Repeat(" ", 160)
	var ms0, ms1 runtime.MemStats
	var ru0, ru1 syscall.Rusage
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	b.ReportAllocs()
	b.ResetTimer()
	published := 0
	var last string
	for b.Loop() {
		for i := range messages {
			data := fmt.Appendf(nil, `{"t":%d,"site":"anlao","kind":"rating","counter":"c03","level":"satisfied","seq":%d,"kpi":{"satisfaction_pct":96.02}}%s`,
				time.Now().UnixNano(), i, pad)
			th.Publish(Message{Site: "anlao", Data: data})
			time.Sleep(interval)
		}
		th.Publish(Message{Site: "anlao", Data: []byte(`{"end":true}`)})
		published += messages + 1
		last = next()
	}
	b.StopTimer()
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	runtime.ReadMemStats(&ms1)

	var p50, p99, maxMS float64
	var n int
	if _, err := fmt.Sscanf(last, "p50=%g p99=%g max=%g n=%d", &p50, &p99, &maxMS, &n); err != nil {
		b.Fatalf("client result %q: %v", last, err)
	}
	if want := b.N * messages * clients; n != want {
		b.Errorf("%d deliveries, want %d", n, want)
	}
	for _, r := range []string{reasonSlow, reasonWriteError, reasonPongTimeout} {
		if d := th.dropped(r); d != 0 {
			b.Errorf("%v clients dropped (%s)", d, r)
		}
	}
	cpu := time.Duration(syscall.TimevalToNsec(ru1.Utime) - syscall.TimevalToNsec(ru0.Utime) +
		syscall.TimevalToNsec(ru1.Stime) - syscall.TimevalToNsec(ru0.Stime))
	b.ReportMetric(p50, "p50-ms")
	b.ReportMetric(p99, "p99-ms")
	b.ReportMetric(maxMS, "max-ms")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(published), "hub-allocs/msg")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(published), "hub-B/msg")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(published), "hub-cpu-ms/msg")
}

// runFanoutClients connects n clients to url, prints "ready", then after each
// {"end":true} message has reached every client prints the delivery delays so
// far. It returns when the hub closes the connections.
func runFanoutClients(url string, n int, out io.Writer) error {
	conns := make([]*websocket.Conn, n)
	var (
		dialErr error
		errOnce sync.Once
		next    = make(chan int)
		dialers sync.WaitGroup
	)
	for range 16 {
		dialers.Go(func() {
			for i := range next {
				c, _, err := dialWS(websocket.DefaultDialer, url, nil)
				if err == nil {
					_, _, err = c.ReadMessage() // hello
				}
				if err != nil {
					errOnce.Do(func() { dialErr = fmt.Errorf("client %d: %w", i, err) })
					continue
				}
				conns[i] = c
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	dialers.Wait()
	if dialErr != nil {
		return dialErr
	}
	fmt.Fprintln(out, fanoutPrefix+"ready")

	type batch struct{ delays []int64 }
	ends := make(chan batch)
	var readers sync.WaitGroup
	for _, c := range conns {
		readers.Go(func() {
			defer c.Close()
			var delays []int64
			for {
				_, data, err := c.ReadMessage()
				now := time.Now().UnixNano()
				if err != nil {
					return
				}
				if bytes.HasPrefix(data, []byte(`{"end"`)) {
					ends <- batch{delays}
					delays = nil
					continue
				}
				rest, ok := bytes.CutPrefix(data, []byte(`{"t":`))
				if !ok {
					continue
				}
				end := bytes.IndexByte(rest, ',')
				t, err := strconv.ParseInt(string(rest[:end]), 10, 64)
				if err != nil {
					continue
				}
				delays = append(delays, now-t)
			}
		})
	}
	go func() {
		readers.Wait()
		close(ends)
	}()
	var all []int64
	got := 0
	for b := range ends {
		all = append(all, b.delays...)
		if got++; got < n {
			continue
		}
		got = 0
		s := slices.Clone(all)
		slices.Sort(s)
		ms := func(q float64) float64 { return float64(s[int(q*float64(len(s)-1))]) / 1e6 }
		fmt.Fprintf(out, "%sp50=%.3f p99=%.3f max=%.3f n=%d\n", fanoutPrefix, ms(0.50), ms(0.99), ms(1), len(s))
	}
	return nil
}
