package hub

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

const goodOrigin = "http://dashboard.test"

// sameOrigin is the tests' origin check: browsers always send Origin, test
// clients may leave it out.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	return o == "" || o == goodOrigin
}

type testHub struct {
	*Hub
	reg    *prometheus.Registry
	url    string
	errs   chan error // what each Serve returned
	server *httptest.Server
}

// startHub serves h at ws://.../ws?sites=a,b&hello=text. If tune is not nil it
// is applied to each accepted server-side TCP connection.
func startHub(t testing.TB, cfg Config, tune func(*net.TCPConn)) *testHub {
	t.Helper()
	reg := prometheus.NewRegistry()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	th := &testHub{Hub: New(cfg, log, reg), reg: reg, errs: make(chan error, 10000)}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		check := sameOrigin
		if q.Has("nocheck") {
			check = nil
		}
		var sites []string
		if s := q.Get("sites"); s != "" {
			sites = strings.Split(s, ",")
		}
		if d, err := time.ParseDuration(q.Get("for")); err == nil {
			// As the dashboard does with the login session's end.
			ctx, cancel := context.WithTimeout(r.Context(), d)
			defer cancel()
			r = r.WithContext(ctx)
		}
		th.errs <- th.Serve(w, r, sites, []byte(q.Get("hello")), check)
	}))
	if tune != nil {
		srv.Listener = tunedListener{srv.Listener, tune}
	}
	srv.Start()
	th.server = srv
	th.url = "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
	t.Cleanup(srv.Close)    // runs second: waits for the handlers
	t.Cleanup(th.Hub.Close) // runs first: ends every Serve
	return th
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

type tunedListener struct {
	net.Listener
	tune func(*net.TCPConn)
}

func (l tunedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		l.tune(tc)
	}
	return c, err
}

func (th *testHub) dial(t testing.TB, sites, hello string) *websocket.Conn {
	t.Helper()
	c, code, err := dialWS(th.dialer(nil), th.url+"?sites="+sites+"&hello="+hello, nil)
	if err != nil {
		t.Fatalf("dial: %v (response %d)", err, code)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (th *testHub) dialer(control func(network, address string, c syscall.RawConn) error) *websocket.Dialer {
	d := &net.Dialer{Control: control}
	return &websocket.Dialer{NetDialContext: d.DialContext, HandshakeTimeout: 5 * time.Second}
}

// dialWS is d.Dial that closes the handshake response's body (gorilla has
// already read what it keeps of it) and returns the response's status code,
// 0 if no response came.
func dialWS(d *websocket.Dialer, url string, h http.Header) (*websocket.Conn, int, error) {
	c, resp, err := d.Dial(url, h)
	code := 0
	if resp != nil {
		code = resp.StatusCode
		resp.Body.Close()
	}
	return c, code, err
}

func (th *testHub) dropped(reason string) float64 {
	return testutil.ToFloat64(th.m.dropped.WithLabelValues(reason))
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, within time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: "+format, append([]any{within}, args...)...)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func readText(t testing.TB, c *websocket.Conn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	typ, data, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if typ != websocket.TextMessage {
		t.Fatalf("message type %d, want text", typ)
	}
	return string(data)
}

// readUntil reads messages until one equal to last, and returns all of them.
func readUntil(t testing.TB, c *websocket.Conn, last ...string) []string {
	t.Helper()
	want := make(map[string]bool)
	for _, l := range last {
		want[l] = true
	}
	var got []string
	for len(want) > 0 {
		m := readText(t, c)
		got = append(got, m)
		delete(want, m)
	}
	return got
}

func TestDeliveryBySiteInOrder(t *testing.T) {
	th := startHub(t, Config{}, nil)
	a := th.dial(t, "a", "hello-a")
	b := th.dial(t, "b", "hello-b")
	ab := th.dial(t, "a,b", "hello-ab")
	eventually(t, 5*time.Second, func() bool { return th.Clients() == 3 }, "3 clients registered, have %d", th.Clients())

	var wantA, wantB, wantAB []string
	for i := range 40 {
		site := "a"
		if i%3 == 0 {
			site = "b"
		}
		data := fmt.Sprintf(`{"site":%q,"seq":%d}`, site, i)
		th.Publish(Message{Site: site, Data: []byte(data)})
		if site == "a" {
			wantA = append(wantA, data)
		} else {
			wantB = append(wantB, data)
		}
		wantAB = append(wantAB, data)
	}
	th.Publish(Message{Site: "c", Data: []byte("nobody sees site c")})
	for _, s := range []string{"a", "b"} {
		end := `{"end":"` + s + `"}`
		th.Publish(Message{Site: s, Data: []byte(end)})
		wantAB = append(wantAB, end)
		if s == "a" {
			wantA = append(wantA, end)
		} else {
			wantB = append(wantB, end)
		}
	}

	for _, tc := range []struct {
		name  string
		conn  *websocket.Conn
		hello string
		want  []string
	}{
		{"site a", a, "hello-a", wantA},
		{"site b", b, "hello-b", wantB},
		{"sites a and b", ab, "hello-ab", wantAB},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := readText(t, tc.conn); got != tc.hello {
				t.Fatalf("first message %q, want hello %q", got, tc.hello)
			}
			got := readUntil(t, tc.conn, tc.want[len(tc.want)-1])
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
	// The counter moves just after each write returns.
	want := float64(3 + len(wantA) + len(wantB) + len(wantAB))
	eventually(t, 5*time.Second, func() bool { return testutil.ToFloat64(th.m.sent) == want },
		"ws_messages_sent_total %v, want %v", testutil.ToFloat64(th.m.sent), want)
	if problems, err := testutil.GatherAndLint(th.reg); err != nil || len(problems) > 0 {
		t.Errorf("metrics lint: %v %v", err, problems)
	}
}

func TestSubscribeNarrowsToAllowedSites(t *testing.T) {
	th := startHub(t, Config{}, nil)
	c := th.dial(t, "a,b", "hi")
	if got := readText(t, c); got != "hi" {
		t.Fatalf("hello %q", got)
	}
	// "x" is not allowed for this user and must be ignored.
	if err := c.WriteMessage(websocket.TextMessage, []byte(`{"subscribe":["b","x"]}`)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() bool {
		th.mu.RLock()
		defer th.mu.RUnlock()
		_, a := th.bySite["a"]
		_, b := th.bySite["b"]
		_, x := th.bySite["x"]
		return !a && b && !x
	}, "subscription narrowed to b")

	th.Publish(Message{Site: "a", Data: []byte("a1")})
	th.Publish(Message{Site: "x", Data: []byte("x1")})
	th.Publish(Message{Site: "b", Data: []byte("b1")})
	if got := readText(t, c); got != "b1" {
		t.Fatalf("got %q, want b1 only", got)
	}

	// Garbage and binary frames are ignored, the connection stays.
	c.WriteMessage(websocket.TextMessage, []byte(`not json`))
	c.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3})
	c.WriteMessage(websocket.TextMessage, []byte(`{"subscribe":["a"]}`))
	eventually(t, 5*time.Second, func() bool {
		th.mu.RLock()
		defer th.mu.RUnlock()
		_, a := th.bySite["a"]
		return a
	}, "subscription switched to a")
	th.Publish(Message{Site: "b", Data: []byte("b2")})
	th.Publish(Message{Site: "a", Data: []byte("a2")})
	if got := readText(t, c); got != "a2" {
		t.Fatalf("got %q, want a2", got)
	}
}

func TestOversizedClientMessageClosesConnection(t *testing.T) {
	th := startHub(t, Config{MaxMessageBytes: 256}, nil)
	c := th.dial(t, "a", "hi")
	readText(t, c)
	c.WriteMessage(websocket.TextMessage, bytes.Repeat([]byte("x"), 1024))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err := c.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
		t.Fatalf("read after oversized message: %v, want close 1009", err)
	}
	eventually(t, 5*time.Second, func() bool { return th.Clients() == 0 }, "client removed")
}

// TestSlowClientDropped: a browser that stops reading fills its socket and
// then its queue; it is dropped while 50 others receive every message.
func TestSlowClientDropped(t *testing.T) {
	const fast = 50
	cfg := Config{SendQueue: 16, WriteTimeout: 2 * time.Second}
	// Small server send buffers make the slow client's socket fill quickly.
	th := startHub(t, cfg, func(c *net.TCPConn) { c.SetWriteBuffer(4096) })

	smallRcvBuf := func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		return errors.Join(err, serr)
	}
	slow, code, err := dialWS(th.dialer(smallRcvBuf), th.url+"?sites=a&hello=hi", nil)
	if err != nil {
		t.Fatalf("dial slow client: %v (response %d)", err, code)
	}
	defer slow.Close()

	var (
		received [fast]atomic.Int64
		errs     = make(chan error, fast)
		wg       sync.WaitGroup
	)
	for i := range fast {
		c := th.dial(t, "a", "hi")
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := c.ReadMessage(); err != nil {
				errs <- fmt.Errorf("client %d hello: %w", i, err)
				return
			}
			for want := int64(0); ; want++ {
				_, data, err := c.ReadMessage()
				if err != nil {
					if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
						errs <- fmt.Errorf("client %d after %d messages: %w", i, want, err)
					}
					return
				}
				var seq int64
				fmt.Sscanf(string(data), `{"seq":%d`, &seq)
				if seq != want {
					errs <- fmt.Errorf("client %d: got seq %d, want %d", i, seq, want)
					return
				}
				received[i].Store(want + 1)
			}
		}()
	}
	eventually(t, 10*time.Second, func() bool { return th.Clients() == fast+1 }, "all clients registered")

	pad := strings.Repeat("x", 1000)
	var sent int64
	allReceived := func() bool {
		for i := range received {
			if received[i].Load() != sent {
				return false
			}
		}
		return true
	}
	publishBatch := func() {
		for range 8 {
			th.Publish(Message{Site: "a", Data: fmt.Appendf(nil, `{"seq":%d,"pad":%q}`, sent, pad)})
			sent++
		}
		// Pace on the fast clients: a healthy browser keeps up, so only
		// the one that stopped reading can fall behind.
		eventually(t, 20*time.Second, allReceived, "fast clients received all %d messages", sent)
	}
	for th.dropped(reasonSlow) == 0 {
		if sent > 5000 {
			t.Fatalf("slow client not dropped after %d messages", sent)
		}
		publishBatch()
	}
	t.Logf("slow client dropped after %d messages", sent)
	for range 5 {
		publishBatch()
	}

	eventually(t, 10*time.Second, func() bool { return th.Clients() == fast }, "slow client removed, %d clients", th.Clients())
	if got := th.dropped(reasonSlow); got != 1 {
		t.Errorf("dropped{reason=slow} = %v, want 1", got)
	}
	if got := th.dropped(reasonWriteError); got != 0 {
		t.Errorf("dropped{reason=write_error} = %v, want 0", got)
	}
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}

	// The slow client now finds its connection closed, with "too slow" if
	// the close frame fitted in the socket.
	slow.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := slow.ReadMessage()
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("slow client connection still open: %v", err)
		}
		t.Logf("slow client saw: %v", err)
		break
	}
	var serveErr error
	for serveErr == nil {
		serveErr = <-th.errs
	}
	if !errors.Is(serveErr, ErrTooSlow) {
		t.Errorf("Serve returned %v, want ErrTooSlow", serveErr)
	}
}

// TestBurstBeyondQueueDropsWithCloseCode: a reading client whose queue
// overflows in a burst gets the close frame that says why.
func TestBurstBeyondQueueDropsWithCloseCode(t *testing.T) {
	th := startHub(t, Config{SendQueue: 1}, nil)
	c := th.dial(t, "a", "hi")
	eventually(t, 5*time.Second, func() bool { return th.Clients() == 1 }, "client registered")
	for i := 0; i < 1000 && th.dropped(reasonSlow) == 0; i++ {
		th.Publish(Message{Site: "a", Data: fmt.Appendf(nil, "m%d", i)})
	}
	if got := th.dropped(reasonSlow); got != 1 {
		t.Fatalf("dropped{reason=slow} = %v after a burst of 1000 into a queue of 1, want 1", got)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := c.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.CloseTryAgainLater || ce.Text != "too slow" {
			t.Fatalf("client saw %v, want close 1013 too slow", err)
		}
		break
	}
	if err := <-th.errs; !errors.Is(err, ErrTooSlow) {
		t.Errorf("Serve returned %v, want ErrTooSlow", err)
	}
}

// TestContextEndClosesWithSessionEnded: when the request's context ends
// (the dashboard sets its deadline to the login's expiry) the client gets
// close 4401 and Serve returns nil.
func TestContextEndClosesWithSessionEnded(t *testing.T) {
	th := startHub(t, Config{}, nil)
	c, code, err := dialWS(websocket.DefaultDialer, th.url+"?sites=a&hello=hi&for=300ms", nil)
	if err != nil {
		t.Fatalf("dial: %v (response %d)", err, code)
	}
	defer c.Close()
	if got := readText(t, c); got != "hi" {
		t.Fatalf("hello %q", got)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _, err = c.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != CloseSessionEnded || ce.Text != "session ended" {
		t.Fatalf("client saw %v, want close 4401 session ended", err)
	}
	if err := <-th.errs; err != nil {
		t.Errorf("Serve returned %v, want nil", err)
	}
	eventually(t, 5*time.Second, func() bool { return th.Clients() == 0 }, "client unregistered")
}

func TestPongTimeout(t *testing.T) {
	th := startHub(t, Config{PingInterval: 20 * time.Millisecond, PongTimeout: 200 * time.Millisecond}, nil)

	// A client that reads but never answers pings.
	mute := th.dial(t, "a", "hi")
	var mutePings atomic.Int64
	mute.SetPingHandler(func(string) error { mutePings.Add(1); return nil })
	muteErr := make(chan error, 1)
	go func() {
		for {
			if _, _, err := mute.ReadMessage(); err != nil {
				muteErr <- err
				return
			}
		}
	}()

	// A healthy client answers every ping.
	ok := th.dial(t, "a", "hi")
	var okPings atomic.Int64
	ok.SetPingHandler(func(data string) error {
		okPings.Add(1)
		return ok.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	go func() {
		for {
			if _, _, err := ok.ReadMessage(); err != nil {
				return
			}
		}
	}()

	select {
	case err := <-muteErr:
		t.Logf("mute client: %v after %d pings", err, mutePings.Load())
	case <-time.After(10 * time.Second):
		t.Fatal("client that never answers pings was not dropped")
	}
	if got := th.dropped(reasonPongTimeout); got != 1 {
		t.Errorf("dropped{reason=pong_timeout} = %v, want 1", got)
	}
	if err := <-th.errs; !errors.Is(err, ErrPongTimeout) {
		t.Errorf("Serve returned %v, want ErrPongTimeout", err)
	}
	// The healthy client outlives many pong timeouts.
	eventually(t, 10*time.Second, func() bool { return okPings.Load() >= 30 }, "healthy client pinged 30 times, got %d", okPings.Load())
	if th.Clients() != 1 || th.dropped(reasonPongTimeout) != 1 {
		t.Errorf("healthy client dropped: clients %d, pong timeouts %v", th.Clients(), th.dropped(reasonPongTimeout))
	}
}

func TestMaxClients(t *testing.T) {
	th := startHub(t, Config{MaxClients: 2}, nil)
	first := th.dial(t, "a", "hi")
	th.dial(t, "a", "hi")

	_, code, err := dialWS(th.dialer(nil), th.url+"?sites=a", nil)
	if !errors.Is(err, websocket.ErrBadHandshake) || code != http.StatusServiceUnavailable {
		t.Fatalf("third client: %v, response %d; want 503", err, code)
	}
	if got := th.dropped(reasonLimit); got != 1 {
		t.Errorf("dropped{reason=limit} = %v, want 1", got)
	}
	if err := <-th.errs; !errors.Is(err, ErrTooManyClients) {
		t.Errorf("Serve returned %v, want ErrTooManyClients", err)
	}

	// A slot frees when a client leaves.
	first.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	if err := <-th.errs; err != nil {
		t.Errorf("Serve after a normal close returned %v", err)
	}
	th.dial(t, "a", "hi")
	eventually(t, 5*time.Second, func() bool { return th.Clients() == 2 }, "clients %d, want 2", th.Clients())
}

func TestOriginRefused(t *testing.T) {
	th := startHub(t, Config{}, nil)
	for _, tc := range []struct {
		name   string
		query  string
		origin string
		status int
		err    error
	}{
		{"cross-site origin", "", "http://evil.example", http.StatusForbidden, ErrOriginRefused},
		{"no origin check given", "&nocheck=1", goodOrigin, http.StatusInternalServerError, ErrNoOriginCheck},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{"Origin": {tc.origin}}
			c, code, err := dialWS(th.dialer(nil), th.url+"?sites=a"+tc.query, h)
			if err == nil {
				c.Close()
				t.Fatal("upgraded")
			}
			if code != tc.status {
				t.Fatalf("response %d, want %d", code, tc.status)
			}
			if got := <-th.errs; !errors.Is(got, tc.err) {
				t.Errorf("Serve returned %v, want %v", got, tc.err)
			}
			if th.Clients() != 0 {
				t.Errorf("clients %d after refusal", th.Clients())
			}
		})
	}
}

func TestCloseDisconnectsEveryoneWithoutLeaks(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		reg := prometheus.NewRegistry()
		h := New(Config{PingInterval: 10 * time.Millisecond, PongTimeout: time.Second}, nil, reg)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.Serve(w, r, []string{"a"}, []byte("hi"), sameOrigin)
		}))
		defer srv.Close()
		url := "ws" + strings.TrimPrefix(srv.URL, "http")

		const n = 20
		codes := make(chan error, n)
		for range n {
			c, _, err := dialWS(websocket.DefaultDialer, url, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			go func() {
				for {
					if _, _, err := c.ReadMessage(); err != nil {
						codes <- err
						return
					}
				}
			}()
		}
		eventually(t, 5*time.Second, func() bool { return h.Clients() == n }, "clients registered")
		h.Publish(Message{Site: "a", Data: []byte("x")})
		h.Close()
		if h.Clients() != 0 {
			t.Errorf("clients %d after Close", h.Clients())
		}
		for range n {
			if err := <-codes; !websocket.IsCloseError(err, websocket.CloseGoingAway) {
				t.Errorf("client saw %v, want close 1001", err)
			}
		}
		// A closed hub refuses new clients.
		_, code, err := dialWS(websocket.DefaultDialer, url, nil)
		if err == nil || code != http.StatusServiceUnavailable {
			t.Errorf("dial after Close: %v (response %d), want 503", err, code)
		}
		h.Close() // idempotent
	}()
	var after int
	eventually(t, 5*time.Second, func() bool {
		after = runtime.NumGoroutine()
		return after <= before
	}, "goroutines: %d before, %d after", before, after)
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		err  string
	}{
		{"defaults", Config{}, ""},
		{"pong timeout not after ping", Config{PingInterval: time.Minute, PongTimeout: time.Minute}, "pong timeout 1m0s: must be longer than the ping interval 1m0s"},
		{"negative queue", Config{SendQueue: -1}, "send queue -1: must be at least 1"},
		{"tiny read limit", Config{MaxMessageBytes: 10}, "max message bytes 10: must be at least 64"},
		{"negative max clients", Config{MaxClients: -5}, "max clients -5: must be at least 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.err == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || err.Error() != "hub: "+tc.err {
				t.Fatalf("error %v, want %q", err, "hub: "+tc.err)
			}
		})
	}
}
