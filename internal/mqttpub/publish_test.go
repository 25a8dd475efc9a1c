package mqttpub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/pscm/pscm/internal/mqttconn"
	"github.com/pscm/pscm/internal/testenv"
)

func testConfig(broker, clientID string) mqttconn.Config {
	cfg := mqttconn.Defaults()
	cfg.Broker = broker
	cfg.ClientID = clientID
	cfg.ConnectTimeout = 5 * time.Second
	cfg.MaxReconnectInterval = time.Second // reconnect quickly after the broker restarts
	return cfg
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// testWriter sends log lines to t.Log, so they show only when a test fails
// or runs with -v.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(b), "\n"))
	return len(b), nil
}

func startPublisher(t testing.TB, broker, clientID string, opts ...Option) *Publisher {
	t.Helper()
	p, err := New(testConfig(broker, clientID), testLogger(t), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return p
}

// subscriber counts the distinct payloads it receives on a persistent
// session, the way the collector consumes.
type subscriber struct {
	mu   sync.Mutex
	seen map[string]bool
	msgs int
}

func (s *subscriber) distinct() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

func startSubscriber(t testing.TB, broker, clientID, filter string) *subscriber {
	t.Helper()
	s := &subscriber{seen: make(map[string]bool)}
	opts, err := testConfig(broker, clientID).Options(false)
	if err != nil {
		t.Fatal(err)
	}
	subscribed := make(chan error, 1)
	opts.SetOnConnectHandler(func(c mqtt.Client) {
		// Subscribing on every connect is what makes a reconnect resubscribe.
		tok := c.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) {
			s.mu.Lock()
			s.seen[string(m.Payload())] = true
			s.msgs++
			s.mu.Unlock()
		})
		go func() {
			tok.Wait()
			select {
			case subscribed <- tok.Error():
			default:
			}
		}()
	})
	c := mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(250) })
	select {
	case err := <-subscribed:
		if err != nil {
			t.Fatalf("subscribe: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no SUBACK within 10s")
	}
	return s
}

// TestPublishSurvivesBrokerRestart publishes 5,000 messages with the broker
// stopped and started again in the middle: the second half is handed to
// Publish while the broker is down, so it waits in paho's store and in the
// window, and whatever was in flight at the stop must be sent again.
func TestPublishSurvivesBrokerRestart(t *testing.T) {
	t.Parallel()
	m := testenv.StartMosquitto(t)
	const (
		n     = 5000
		topic = "pscm/v1/anlao/rating"
	)
	sub := startSubscriber(t, m.URL(), "test-collector", topic)
	p := startPublisher(t, m.URL(), "test-sim", WithWindow(500))
	ctx := t.Context()
	payload := func(i int) []byte { return []byte(fmt.Sprintf(`{"n":%d}`, i)) }

	for i := range n / 2 {
		if err := p.Publish(ctx, topic, payload(i), false); err != nil {
			t.Fatal(err)
		}
	}
	m.Stop(t)
	published, acked, _ := p.Stats()
	t.Logf("broker stopped with %d published, %d acknowledged", published, acked)

	// With the broker down, Publish blocks once the window is full.
	done := make(chan error, 1)
	go func() {
		for i := n / 2; i < n; i++ {
			if err := p.Publish(ctx, topic, payload(i), false); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	m.Start(t)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("Publish still blocked 2 minutes after the broker restarted")
	}
	fctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := p.Flush(fctx); err != nil {
		t.Fatal(err)
	}
	published, acked, retried := p.Stats()
	t.Logf("published %d, acknowledged %d, retried %d", published, acked, retried)
	if published != n || acked != n {
		t.Fatalf("published %d, acknowledged %d, want %d each", published, acked, n)
	}
	testenv.Eventually(t, 2*time.Minute, 20*time.Millisecond, func() bool { return sub.distinct() == n },
		"subscriber did not get %d distinct payloads", n)
	sub.mu.Lock()
	defer sub.mu.Unlock()
	for i := range n {
		if !sub.seen[string(payload(i))] {
			t.Fatalf("payload %d never arrived", i)
		}
	}
	t.Logf("subscriber received %d messages, %d distinct", sub.msgs, len(sub.seen))
}

func TestPublishRetained(t *testing.T) {
	t.Parallel()
	m := testenv.StartMosquitto(t)
	const topic = "pscm/v1/anlao/agent/anlao-edge-1"
	p := startPublisher(t, m.URL(), "test-sim")
	if err := p.Publish(t.Context(), topic, []byte("status"), true); err != nil {
		t.Fatal(err)
	}
	if err := p.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	// A subscriber arriving later gets the retained message.
	sub := startSubscriber(t, m.URL(), "late", topic)
	testenv.Eventually(t, 10*time.Second, 10*time.Millisecond, func() bool { return sub.distinct() == 1 },
		"retained message not delivered")
}

func TestPublishErrors(t *testing.T) {
	t.Parallel()
	cfg := testConfig("tcp://127.0.0.1:1", "x")
	p, err := New(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Publish(t.Context(), "t", nil, false); !errors.Is(err, ErrNotStarted) {
		t.Fatalf("Publish before Start: %v, want ErrNotStarted", err)
	}
	p.Close()
	p.started.Store(true)
	if err := p.Publish(t.Context(), "t", nil, false); !errors.Is(err, ErrClosed) {
		t.Fatalf("Publish after Close: %v, want ErrClosed", err)
	}
	if _, err := New(testConfig("http://x:1", "x"), testLogger(t)); err == nil {
		t.Fatal("New accepted an http:// broker")
	}
}

// TestPublishWindowBlocks checks that Publish waits for room when the
// broker is unreachable, and gives up with ctx.
func TestPublishWindowBlocks(t *testing.T) {
	t.Parallel()
	m := testenv.StartMosquitto(t)
	p := startPublisher(t, m.URL(), "test-sim", WithWindow(3))
	m.Stop(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	var err error
	sent := 0
	for ; sent < 10; sent++ {
		if err = p.Publish(ctx, "pscm/v1/anlao/queue", []byte(strconv.Itoa(sent)), false); err != nil {
			break
		}
	}
	if sent != 3 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("published %d before %v; want 3 and context.DeadlineExceeded", sent, err)
	}
	fctx, fcancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer fcancel()
	if err := p.Flush(fctx); err == nil {
		t.Fatal("Flush succeeded with the broker down")
	}
}

func TestAckStore(t *testing.T) {
	t.Parallel()
	pub := func(id uint16) packets.ControlPacket {
		p := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
		p.MessageID, p.Qos = id, 1
		return p
	}
	var acked []*message
	s := newAckStore(func(m *message) { acked = append(acked, m) })
	a, b := &message{topic: "a"}, &message{topic: "b"}

	s.expect(a)
	s.Put("o.7", pub(7))
	s.expect(b)
	s.Put("o.3", pub(3))
	s.expect(nil)
	s.Put("i.9", pub(9)) // inbound: never an ack
	if got := s.All(); fmt.Sprint(got) != "[o.7 o.3 i.9]" {
		t.Fatalf("All = %v, want insertion order", got)
	}
	if s.publishes() != 2 {
		t.Fatalf("publishes = %d, want 2", s.publishes())
	}
	s.Close() // paho closes on disconnect: contents must survive
	if s.Get("o.7") == nil {
		t.Fatal("store emptied by Close")
	}
	s.Del("i.9")
	s.Del("o.3")
	s.Del("o.3") // a second PUBACK for the same ID
	if len(acked) != 1 || acked[0] != b {
		t.Fatalf("acked %v, want only b", acked)
	}
	s.Reset()
	if len(s.All()) != 0 || len(acked) != 1 {
		t.Fatal("Reset must empty the store without acknowledging")
	}
}

// BenchmarkPublish measures publishing throughput to a real broker on
// loopback, acknowledgements included (the run ends with Flush).
func BenchmarkPublish(b *testing.B) {
	m := testenv.StartMosquitto(b)
	p := startPublisher(b, m.URL(), "bench-sim")
	payload := make([]byte, 205) // the size of a typical event
	for i := range payload {
		payload[i] = 'x'
	}
	ctx := context.Background()
	b.SetBytes(int64(len(payload)))
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if err := p.Publish(ctx, "pscm/v1/anlao/rating", payload, false); err != nil {
			b.Fatal(err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// TestTagsAndWill: every tag comes back through OnAck once, the connect hook
// runs, and the last will is published when the connection dies.
func TestTagsAndWill(t *testing.T) {
	t.Parallel()
	m := testenv.StartMosquitto(t)
	const willTopic = "pscm/v1/anlao/agent/anlao-edge-1"
	var mu sync.Mutex
	acked := map[uint64]int{}
	connected := make(chan bool, 4)
	p := startPublisher(t, m.URL(), "test-tags",
		WithOnAck(func(tag uint64) { mu.Lock(); acked[tag]++; mu.Unlock() }),
		WithOnConnect(func(first bool) { connected <- first }),
		WithWill(Will{Topic: willTopic, Payload: []byte("offline"), Retained: true}))
	select {
	case first := <-connected:
		if !first {
			t.Fatal("first connect reported as a reconnect")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("connect hook not called")
	}
	for i := uint64(1); i <= 500; i++ {
		if err := p.PublishTagged(t.Context(), "pscm/v1/anlao/rating", []byte(strconv.FormatUint(i, 10)), false, i); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	for i := uint64(1); i <= 500; i++ {
		if acked[i] != 1 {
			t.Errorf("tag %d acked %d times", i, acked[i])
		}
	}
	mu.Unlock()
	// Cutting the TCP connection (through a proxy the test controls) without
	// a DISCONNECT makes the broker publish the will.
	sub := startSubscriber(t, m.URL(), "will-watch", willTopic)
	proxy := newCutProxy(t, m.Addr())
	p2, err := New(testConfig("tcp://"+proxy.addr(), "test-will"), testLogger(t),
		WithWill(Will{Topic: willTopic, Payload: []byte("offline"), Retained: true}))
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	if err := p2.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	proxy.cut()
	testenv.Eventually(t, 10*time.Second, 10*time.Millisecond, func() bool { return sub.distinct() >= 1 },
		"last will not published after the connection was cut")
}

// cutProxy forwards TCP to a target until cut closes every connection and
// stops accepting.
type cutProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newCutProxy(t testing.TB, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(u, c); u.Close() }()
			go func() { _, _ = io.Copy(c, u); c.Close() }()
		}
	}()
	t.Cleanup(p.cut)
	return p
}

func (p *cutProxy) addr() string { return p.ln.Addr().String() }

func (p *cutProxy) cut() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}
