// Package mqttpub sends messages to an MQTT broker at QoS 1 and keeps each
// one until the broker has acknowledged it, across lost connections and
// broker restarts, for as long as the process lives.
//
// Publishing does not wait for the PUBACK: up to a window of messages are in
// flight at once, which is what makes tens of thousands of messages a second
// possible on loopback. A message may reach the broker more than once (after
// a reconnect it cannot be known whether the broker got it); the pscm sink
// is idempotent, so that is harmless, while a loss would not be.
//
// What counts as acknowledged is decided by the PUBACK itself, not by
// paho's token. With a persistent session paho v1.5.1 keeps unacknowledged
// messages in its store and sends them again after a reconnect, but when it
// does, it completes the original token with no error (messageIds.claimID
// completes the token it replaces) before the new copy is acknowledged. A
// token's success therefore does not prove a PUBACK. paho removes a message
// from its store exactly when the PUBACK arrives, so this package gives paho
// a store of its own and counts a message acknowledged at that removal.
//
// The simulator uses it to publish, and the agent's uplink to forward its
// spool: each message may carry a tag (the spool's sequence number) that the
// OnAck callback receives when the broker has the message.
package mqttpub

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/pscm/pscm/internal/mqttconn"
)

// DefaultWindow is how many messages may await their PUBACK at once. It is
// far below the 65535 packet IDs MQTT allows and large enough to keep a
// loopback link busy.
const DefaultWindow = 2000

// Errors returned by Publish and Flush.
var (
	ErrClosed     = errors.New("mqttpub: publisher closed")
	ErrNotStarted = errors.New("mqttpub: Start not called")
)

// retryDelay is how long a message waits before it is published again after
// paho refused it outright (client not connected), so a disconnected client
// is not spun on.
const retryDelay = 200 * time.Millisecond

// Option changes a Publisher's settings.
type Option func(*Publisher)

// maxWindow keeps the window well inside MQTT's 65535 packet IDs: copies
// of messages whose token failed hold an ID until paho resends them.
const maxWindow = 60000

// WithWindow sets how many messages may await acknowledgement at once,
// between 1 and 60000.
func WithWindow(n int) Option {
	return func(p *Publisher) { p.window = max(1, min(maxWindow, n)) }
}

// Publisher publishes at QoS 1 with a bounded window of unacknowledged
// messages. Its methods are safe for concurrent use.
type Publisher struct {
	cfg    mqttconn.Config
	log    *slog.Logger
	window int
	client mqtt.Client
	store  *ackStore

	// slots holds one token per unacknowledged message: Publish fills it,
	// a PUBACK empties it, so a full channel is a full window.
	slots chan struct{}
	done  chan struct{} // closed by Close

	sendMu sync.Mutex // serialises client.Publish, so the store knows whose packet it is given

	lifeMu   sync.Mutex // guards closed and watchers.Add against Close
	closed   bool
	started  atomic.Bool
	watchers sync.WaitGroup

	published, acked, retried, connects atomic.Int64

	onAck       func(tag uint64)
	connectHook func(first bool)
	lostHook    func()
	will        *Will
}

// Will is the last will the broker publishes if the connection dies.
type Will struct {
	Topic    string
	Payload  []byte
	Retained bool
}

// WithOnAck calls f with a message's tag once the broker acknowledged it.
// Acknowledgements usually come in publish order, but not after a reconnect
// (paho resends what was pending); callers needing a prefix must track it.
// f runs on paho's goroutine and must not block.
func WithOnAck(f func(tag uint64)) Option { return func(p *Publisher) { p.onAck = f } }

// WithOnConnect calls f after every (re)connection, from its own goroutine,
// e.g. to publish a retained "online" status.
func WithOnConnect(f func(first bool)) Option { return func(p *Publisher) { p.connectHook = f } }

// WithOnConnectionLost calls f when the connection drops.
func WithOnConnectionLost(f func()) Option { return func(p *Publisher) { p.lostHook = f } }

// WithWill sets the last will and testament.
func WithWill(w Will) Option { return func(p *Publisher) { p.will = &w } }

// message is one payload handed to Publish. Copies of it may be in paho's
// store under several packet IDs (a retry after a failed token); the first
// PUBACK for any of them acknowledges it.
type message struct {
	tag      uint64
	topic    string
	payload  []byte
	retained bool
	acked    atomic.Bool
}

// New returns a Publisher for cfg: persistent session (clean session
// false), automatic reconnect. It does not connect; Start does.
func New(cfg mqttconn.Config, log *slog.Logger, opts ...Option) (*Publisher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("mqttpub: mqtt config: %w", err)
	}
	p := &Publisher{cfg: cfg, log: log, window: DefaultWindow, done: make(chan struct{})}
	for _, o := range opts {
		o(p)
	}
	p.slots = make(chan struct{}, p.window)
	p.store = newAckStore(p.ack)
	mo, err := cfg.Options(false)
	if err != nil {
		return nil, fmt.Errorf("mqttpub: %w", err)
	}
	mo.SetStore(p.store)
	if p.will != nil {
		mo.SetBinaryWill(p.will.Topic, p.will.Payload, 1, p.will.Retained)
	}
	mo.SetOnConnectHandler(p.onConnect)
	mo.SetConnectionLostHandler(func(_ mqtt.Client, err error) {
		if p.lostHook != nil {
			p.lostHook()
		}
		p.log.Warn("mqtt connection lost; reconnecting", "broker", cfg.Broker, "err", err,
			"unacked", p.published.Load()-p.acked.Load())
	})
	p.client = mqtt.NewClient(mo)
	return p, nil
}

// Start connects, waiting up to the configured connect timeout for the
// first connection. If that times out the client keeps trying in the
// background and Publish still queues, but Start reports the error.
func (p *Publisher) Start(ctx context.Context) error {
	p.started.Store(true)
	tok := p.client.Connect()
	timer := time.NewTimer(p.cfg.ConnectTimeout)
	defer timer.Stop()
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return fmt.Errorf("mqttpub: connect to %s: %w", p.cfg.Broker, err)
		}
		return nil
	case <-timer.C:
		return fmt.Errorf("mqttpub: connect to %s: no connection within %v", p.cfg.Broker, p.cfg.ConnectTimeout)
	case <-ctx.Done():
		return fmt.Errorf("mqttpub: connect to %s: %w", p.cfg.Broker, ctx.Err())
	}
}

func (p *Publisher) onConnect(mqtt.Client) {
	first := p.connects.Add(1) == 1
	if p.connectHook != nil {
		go p.connectHook(first)
	}
	if first {
		p.log.Info("mqtt connected", "broker", p.cfg.Broker, "client_id", p.cfg.ClientID)
		return
	}
	// paho now sends again everything its store holds.
	resend := int64(p.store.publishes())
	p.retried.Add(resend)
	p.log.Info("mqtt reconnected", "broker", p.cfg.Broker, "resending", resend)
}

// Publish sends payload to topic at QoS 1 and returns without waiting for
// the PUBACK, unless the window is full, in which case it waits for room
// (or for ctx). From then on the message is the Publisher's: it is sent
// again after any failure until the broker acknowledges it, or until Close.
// payload is copied.
func (p *Publisher) Publish(ctx context.Context, topic string, payload []byte, retained bool) error {
	return p.PublishTagged(ctx, topic, payload, retained, 0)
}

// Connected reports whether the connection to the broker is up now.
func (p *Publisher) Connected() bool { return p.client.IsConnectionOpen() }

// PublishTagged is Publish with a tag handed to the OnAck callback.
func (p *Publisher) PublishTagged(ctx context.Context, topic string, payload []byte, retained bool, tag uint64) error {
	if !p.started.Load() {
		return ErrNotStarted
	}
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-p.done:
		return ErrClosed
	}
	m := &message{tag: tag, topic: topic, payload: bytes.Clone(payload), retained: retained}
	p.published.Add(1) // before send: the PUBACK may beat send's return
	if !p.send(m) {
		p.published.Add(-1)
		<-p.slots
		return ErrClosed
	}
	return nil
}

// send hands m to paho and watches the token; it reports false once the
// Publisher is closed.
func (p *Publisher) send(m *message) bool {
	p.lifeMu.Lock()
	if p.closed {
		p.lifeMu.Unlock()
		return false
	}
	p.watchers.Add(1)
	p.lifeMu.Unlock()

	p.sendMu.Lock()
	p.store.expect(m)
	tok := p.client.Publish(m.topic, 1, m.retained, m.payload)
	p.store.expect(nil)
	p.sendMu.Unlock()
	go p.watch(m, tok)
	return true
}

// watch publishes m again if its token fails. A failed token means paho
// either never stored the message (not connected) or could not write it
// (connection lost, write timeout). In the second case paho would also
// resend its stored copy after reconnecting, but a write timeout on a link
// that stays up never triggers that, so the message is sent again here in
// every case; the extra copy is at worst a duplicate. A successful token is
// not trusted (see the package comment): the PUBACK, seen by the store,
// settles the message.
func (p *Publisher) watch(m *message, tok mqtt.Token) {
	defer p.watchers.Done()
	select {
	case <-tok.Done():
	case <-p.done:
		return
	}
	err := tok.Error()
	if err == nil || m.acked.Load() {
		return
	}
	p.log.Debug("publish failed; sending again", "topic", m.topic, "err", err)
	// Wait before every resend: an immediate one after, say, "no message IDs
	// available" would only spin.
	t := time.NewTimer(retryDelay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-p.done:
		return
	}
	p.retried.Add(1)
	p.send(m)
}

// ack is called by the store when a PUBACK removes a copy of m.
func (p *Publisher) ack(m *message) {
	if m.acked.CompareAndSwap(false, true) {
		p.acked.Add(1)
		if p.onAck != nil {
			p.onAck(m.tag)
		}
		<-p.slots
	}
}

// Flush waits until every message handed to Publish so far is
// acknowledged, or until ctx ends.
func (p *Publisher) Flush(ctx context.Context) error {
	// Holding every slot of the window means nothing is unacknowledged.
	held := 0
	defer func() {
		for range held {
			<-p.slots
		}
	}()
	for held < p.window {
		select {
		case p.slots <- struct{}{}:
			held++
		case <-ctx.Done():
			return fmt.Errorf("mqttpub: flush: %d messages not acknowledged: %w",
				p.published.Load()-p.acked.Load(), ctx.Err())
		case <-p.done:
			return ErrClosed
		}
	}
	return nil
}

// Close disconnects. Messages not yet acknowledged are dropped: call Flush
// first.
func (p *Publisher) Close() {
	p.lifeMu.Lock()
	if p.closed {
		p.lifeMu.Unlock()
		return
	}
	p.closed = true
	close(p.done)
	p.lifeMu.Unlock()
	p.client.Disconnect(250)
	p.watchers.Wait()
}

// Stats returns how many messages were handed to Publish, how many of them
// the broker acknowledged, and how many sends were repeats: messages
// published again after a failed token plus those paho sent again from its
// store after a reconnect.
func (p *Publisher) Stats() (published, acked, retried int64) {
	return p.published.Load(), p.acked.Load(), p.retried.Load()
}

// ackStore is paho's persistence for this client, in memory. It exists to
// see PUBACKs: paho deletes an outbound publish from the store exactly when
// its PUBACK arrives (persistInbound in store.go), whichever token is
// attached to it at the time.
type ackStore struct {
	onAck func(*message)

	mu      sync.Mutex
	entries map[string]*entry
	seq     uint64
	next    *message // the message being handed to client.Publish
}

type entry struct {
	pkt packets.ControlPacket
	m   *message // nil for packets that are not ours
	seq uint64   // insertion order, so a resume resends oldest first
}

func newAckStore(onAck func(*message)) *ackStore {
	return &ackStore{onAck: onAck, entries: make(map[string]*entry)}
}

// expect tells the store which message the next Put belongs to. paho calls
// Put synchronously inside client.Publish, which sendMu serialises.
func (s *ackStore) expect(m *message) {
	s.mu.Lock()
	s.next = m
	s.mu.Unlock()
}

// publishes returns how many outbound publishes await their PUBACK: what
// paho sends again on reconnect.
func (s *ackStore) publishes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, e := range s.entries {
		if e.m != nil {
			n++
		}
	}
	return n
}

// Open does nothing: the store lives as long as the Publisher.
func (s *ackStore) Open() {}

// Close does nothing: paho closes its store on Disconnect and after a
// failed first connection, yet what it holds is still unacknowledged and
// must survive to the next connection.
func (s *ackStore) Close() {}

func (s *ackStore) Put(key string, pkt packets.ControlPacket) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	e := &entry{pkt: pkt, seq: s.seq}
	if p, ok := pkt.(*packets.PublishPacket); ok {
		// Kept as a copy: a Publish made while paho connects is both sent
		// by its writer and found by its resume, which sets the DUP flag
		// on what Get returns; on the same packet that is a data race
		// (eclipse-paho/paho.mqtt.golang#703). The payload is shared,
		// read only.
		cp := *p
		e.pkt = &cp
		if strings.HasPrefix(key, "o.") {
			e.m = s.next
		}
	}
	s.entries[key] = e
}

func (s *ackStore) Get(key string) packets.ControlPacket {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.entries[key]; ok {
		return e.pkt
	}
	return nil
}

func (s *ackStore) All() []string {
	s.mu.Lock()
	keys := make([]string, 0, len(s.entries))
	for k := range s.entries {
		keys = append(keys, k)
	}
	seq := func(i int) uint64 { return s.entries[keys[i]].seq }
	sort.Slice(keys, func(i, j int) bool { return seq(i) < seq(j) })
	s.mu.Unlock()
	return keys
}

func (s *ackStore) Del(key string) {
	s.mu.Lock()
	e, ok := s.entries[key]
	delete(s.entries, key)
	s.mu.Unlock()
	if ok && e.m != nil {
		s.onAck(e.m)
	}
}

// Reset empties the store; paho calls it only for clean sessions.
func (s *ackStore) Reset() {
	s.mu.Lock()
	s.entries = make(map[string]*entry)
	s.mu.Unlock()
}
