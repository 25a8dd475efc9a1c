// Package hub fans live dashboard updates out to managers' browsers over
// websockets.
//
// Each update is framed once and queued for every client subscribed to its
// site. Every connection has exactly one writer goroutine, a bounded send queue,
// write deadlines and ping/pong keep-alive, so a slow or vanished browser is
// dropped instead of stalling the hub or the other browsers.
package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
)

// Config bounds what one connection may cost the dashboard.
type Config struct {
	// SendQueue is how many messages may wait for one client; a client whose
	// queue is full when a message arrives is dropped as too slow.
	SendQueue int
	// WriteTimeout is the deadline for every write to a client.
	WriteTimeout time.Duration
	// PingInterval is how often the hub pings each client.
	PingInterval time.Duration
	// PongTimeout is how long a client may stay silent (no pong) before it is
	// dropped. It must be longer than PingInterval.
	PongTimeout time.Duration
	// MaxClients is the most connections the hub accepts at once.
	MaxClients int
	// MaxMessageBytes limits what a client may send: nothing but pongs and a
	// small subscribe message is expected.
	MaxMessageBytes int64
}

// Default values, used by New for every zero field of Config.
const (
	DefaultSendQueue       = 64
	DefaultWriteTimeout    = 10 * time.Second
	DefaultPingInterval    = 30 * time.Second
	DefaultPongTimeout     = 60 * time.Second
	DefaultMaxClients      = 5000
	DefaultMaxMessageBytes = 4096
)

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.SendQueue == 0 {
		c.SendQueue = DefaultSendQueue
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.PingInterval == 0 {
		c.PingInterval = DefaultPingInterval
	}
	if c.PongTimeout == 0 {
		c.PongTimeout = DefaultPongTimeout
	}
	if c.MaxClients == 0 {
		c.MaxClients = DefaultMaxClients
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	return c
}

// Validate reports the first rule c breaks. Zero fields are allowed: they take
// their defaults.
func (c Config) Validate() error {
	c = c.WithDefaults()
	switch {
	case c.SendQueue < 1:
		return fmt.Errorf("hub: send queue %d: must be at least 1", c.SendQueue)
	case c.WriteTimeout < 0:
		return fmt.Errorf("hub: write timeout %s: must be positive", c.WriteTimeout)
	case c.PingInterval < 0:
		return fmt.Errorf("hub: ping interval %s: must be positive", c.PingInterval)
	case c.PongTimeout <= c.PingInterval:
		return fmt.Errorf("hub: pong timeout %s: must be longer than the ping interval %s", c.PongTimeout, c.PingInterval)
	case c.MaxClients < 1:
		return fmt.Errorf("hub: max clients %d: must be at least 1", c.MaxClients)
	case c.MaxMessageBytes < 64:
		return fmt.Errorf("hub: max message bytes %d: must be at least 64", c.MaxMessageBytes)
	}
	return nil
}

// Message is one update for the browsers of one site. Data is a complete JSON
// text frame, encoded once by the caller for all clients; the hub copies it,
// so the caller may reuse the slice after Publish returns.
type Message struct {
	Site string
	Data []byte
}

// Errors returned by Serve. A refused or dropped client is not a fault of the
// hub; callers usually just log these.
var (
	ErrOriginRefused  = errors.New("hub: websocket origin refused")
	ErrNoOriginCheck  = errors.New("hub: no origin check given")
	ErrTooManyClients = errors.New("hub: too many clients")
	ErrClosed         = errors.New("hub: closed")
	ErrTooSlow        = errors.New("hub: client too slow, send queue full")
	ErrPongTimeout    = errors.New("hub: client did not answer pings")
)

// Reasons a client is dropped, the values of the reason label.
const (
	reasonSlow        = "slow"
	reasonWriteError  = "write_error"
	reasonPongTimeout = "pong_timeout"
	reasonLimit       = "limit"
)

// CloseSessionEnded is the close code (in the private range 4000-4999) of a
// connection whose login session ended: the page goes to the login form
// instead of reconnecting.
const CloseSessionEnded = 4401

// closeGrace bounds how long a closing connection waits for its close frame to
// be written and echoed, so a stuck browser cannot hold up Close.
const closeGrace = time.Second

// Hub keeps the connected clients and fans messages out to them.
type Hub struct {
	cfg      Config
	log      *slog.Logger
	upgrader websocket.Upgrader
	m        metrics

	mu       sync.RWMutex
	closed   bool
	reserved int                             // slots taken, including upgrades in progress
	clients  map[*client]struct{}            // registered clients
	bySite   map[string]map[*client]struct{} // current subscriptions
	serving  sync.WaitGroup                  // one per Serve that got a slot
}

type metrics struct {
	clients  prometheus.Gauge
	sent     prometheus.Counter
	dropped  *prometheus.CounterVec
	publish  prometheus.Histogram
	byReason map[string]prometheus.Counter
}

// New returns a hub. Zero fields of cfg take their defaults; New panics if cfg
// is invalid (check it with Validate when loading configuration) or if the
// metrics are already registered with reg. reg may be nil.
func New(cfg Config, log *slog.Logger, reg prometheus.Registerer) *Hub {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	cfg = cfg.WithDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Hub{
		cfg:     cfg,
		log:     log,
		clients: make(map[*client]struct{}),
		bySite:  make(map[string]map[*client]struct{}),
		upgrader: websocket.Upgrader{
			HandshakeTimeout: cfg.WriteTimeout,
			ReadBufferSize:   512,
			// Data frames go out as prepared frames straight to the socket, so
			// the write buffer is seldom needed: share it between clients.
			WriteBufferPool: &sync.Pool{},
		},
	}
	h.m = metrics{
		clients: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "pscm", Subsystem: "dashboard", Name: "ws_clients",
			Help: "Websocket clients connected now.",
		}),
		sent: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "pscm", Subsystem: "dashboard", Name: "ws_messages_sent_total",
			Help: "Messages written to websocket clients, hello snapshots included.",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "pscm", Subsystem: "dashboard", Name: "ws_dropped_clients_total",
			Help: "Websocket clients refused (limit) or disconnected by the hub, by reason.",
		}, []string{"reason"}),
		publish: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "pscm", Subsystem: "dashboard", Name: "ws_publish_duration_seconds",
			Help:    "Time to queue one message for all its subscribers.",
			Buckets: prometheus.ExponentialBuckets(1e-6, 4, 10),
		}),
		byReason: make(map[string]prometheus.Counter),
	}
	for _, r := range []string{reasonSlow, reasonWriteError, reasonPongTimeout, reasonLimit} {
		h.m.byReason[r] = h.m.dropped.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(h.m.clients, h.m.sent, h.m.dropped, h.m.publish)
	}
	return h
}

// Clients returns how many clients are connected.
func (h *Hub) Clients() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.clients)
}

// Publish queues m for every client subscribed to m.Site. It never waits for a
// client: one whose queue is full is dropped as too slow.
func (h *Hub) Publish(m Message) {
	start := time.Now()
	defer func() { h.m.publish.Observe(time.Since(start).Seconds()) }()

	h.mu.RLock()
	defer h.mu.RUnlock()
	subs := h.bySite[m.Site]
	if len(subs) == 0 {
		return
	}
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, m.Data)
	if err != nil { // cannot happen for a text frame without compression
		h.log.Error("prepare websocket message", "site", m.Site, "err", err)
		return
	}
	for c := range subs {
		select {
		case c.send <- pm:
		default:
			c.stop(reasonSlow)
		}
	}
}

// Close disconnects every client with 1001 (going away), refuses new ones and
// waits until every Serve has returned.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	for c := range h.clients {
		c.stop(reasonGoingAway)
	}
	h.mu.Unlock()
	h.serving.Wait()
}

// Serve upgrades r to a websocket for a user who may see sites, sends hello
// (the caller's snapshot) first and then every message published for those
// sites, until the client leaves, is dropped or the hub closes.
//
// The caller has authenticated r. checkOrigin decides whether r's Origin may
// open a websocket; it is required, so the permissive default can never be
// used by mistake. A client may narrow what it receives by sending
// {"subscribe":["site",...]}; sites it may not see are ignored.
//
// Messages published after the caller built hello and before Serve registers
// the client are not sent; updates should be safe to apply on any snapshot.
//
// Serve returns nil when the client closes or the hub closes, and an error
// when the client is refused or dropped.
func (h *Hub) Serve(w http.ResponseWriter, r *http.Request, sites []string, hello []byte, checkOrigin func(*http.Request) bool) error {
	if checkOrigin == nil {
		http.Error(w, "websocket origin check missing", http.StatusInternalServerError)
		return ErrNoOriginCheck
	}
	if !checkOrigin(r) {
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return ErrOriginRefused
	}
	if err := h.reserve(); err != nil {
		if errors.Is(err, ErrTooManyClients) {
			h.m.byReason[reasonLimit].Inc()
		}
		w.Header().Set("Retry-After", "5")
		http.Error(w, "dashboard busy, try again later", http.StatusServiceUnavailable)
		return err
	}
	defer h.serving.Done()

	up := h.upgrader
	up.CheckOrigin = func(*http.Request) bool { return true } // checked above
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		h.release()
		return fmt.Errorf("hub: upgrade: %w", err) // Upgrade has replied
	}

	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, hello)
	if err != nil {
		h.release()
		conn.Close()
		return fmt.Errorf("hub: prepare hello: %w", err)
	}
	c := newClient(h, conn, sites)
	if !h.register(c) {
		h.release()
		// Best effort: the socket is closed next whether the browser hears
		// why or not.
		_ = conn.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseGoingAway, "server closing"),
			time.Now().Add(min(h.cfg.WriteTimeout, closeGrace)))
		conn.Close()
		return ErrClosed
	}
	h.m.clients.Inc()
	log := h.log.With("remote", r.RemoteAddr)
	log.Debug("websocket client connected", "sites", sites)

	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writeLoop(pm)
	}()
	// A websocket outlives the request that opened it; the request's
	// context (whose deadline the server sets to the session's end) still
	// bounds it, so a connection opened a minute before the login expires
	// does not keep a manager's figures flowing for days.
	stopAfter := context.AfterFunc(r.Context(), func() { c.stop(reasonEnded) })
	c.readLoop()
	stopAfter()
	close(c.readerDone)
	<-writerDone

	h.unregister(c)
	h.m.clients.Dec()
	h.release()

	reason := c.reason
	switch reason {
	case reasonPeerClosed, reasonGoingAway, reasonEnded:
		log.Debug("websocket client disconnected", "reason", reason)
		return nil
	case reasonSlow:
		log.Warn("websocket client dropped", "reason", reason)
		return ErrTooSlow
	case reasonPongTimeout:
		log.Warn("websocket client dropped", "reason", reason)
		return ErrPongTimeout
	default:
		log.Info("websocket client dropped", "reason", reason, "err", c.err)
		return fmt.Errorf("hub: client %s: %w", reason, c.err)
	}
}

func (h *Hub) reserve() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return ErrClosed
	}
	if h.reserved >= h.cfg.MaxClients {
		return ErrTooManyClients
	}
	h.reserved++
	h.serving.Add(1)
	return nil
}

func (h *Hub) release() {
	h.mu.Lock()
	h.reserved--
	h.mu.Unlock()
}

func (h *Hub) register(c *client) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.clients[c] = struct{}{}
	h.subscribeLocked(c, c.allowed)
	return true
}

func (h *Hub) unregister(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.clients, c)
	h.subscribeLocked(c, nil)
}

// subscribe narrows c to the sites it asked for among those it may see.
func (h *Hub) subscribe(c *client, asked []string) {
	want := make(map[string]struct{}, len(asked))
	for _, s := range asked {
		if _, ok := c.allowed[s]; ok {
			want[s] = struct{}{}
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.clients[c]; ok {
		h.subscribeLocked(c, want)
	}
}

// subscribeLocked replaces c's subscriptions with sites. h.mu must be held.
func (h *Hub) subscribeLocked(c *client, sites map[string]struct{}) {
	for s := range c.subscribed {
		if _, keep := sites[s]; keep {
			continue
		}
		delete(h.bySite[s], c)
		if len(h.bySite[s]) == 0 {
			delete(h.bySite, s)
		}
	}
	for s := range sites {
		subs := h.bySite[s]
		if subs == nil {
			subs = make(map[*client]struct{})
			h.bySite[s] = subs
		}
		subs[c] = struct{}{}
	}
	c.subscribed = sites
}

// Reasons a connection ends that are not drops, so not counted.
const (
	reasonPeerClosed = "peer_closed"
	reasonGoingAway  = "going_away"
	// reasonEnded: the request's context ended, which the server uses for
	// the end of the login session the connection was opened with.
	reasonEnded = "session_ended"
)

// client is one websocket. Its writer goroutine is the only one that writes
// to conn; the Serve goroutine reads.
type client struct {
	h          *Hub
	conn       *websocket.Conn
	allowed    map[string]struct{}
	subscribed map[string]struct{} // guarded by h.mu

	send       chan *websocket.PreparedMessage
	pings      chan string // pings from the peer waiting for their pong
	done       chan struct{}
	readerDone chan struct{}
	once       sync.Once
	reason     string // why the client stopped; set once, before done closes
	err        error  // the error behind reason, if any
	pongs      atomic.Int64
}

func newClient(h *Hub, conn *websocket.Conn, sites []string) *client {
	allowed := make(map[string]struct{}, len(sites))
	for _, s := range sites {
		allowed[s] = struct{}{}
	}
	return &client{
		h:          h,
		conn:       conn,
		allowed:    allowed,
		send:       make(chan *websocket.PreparedMessage, h.cfg.SendQueue),
		pings:      make(chan string, 1),
		done:       make(chan struct{}),
		readerDone: make(chan struct{}),
	}
}

// stop ends the client for the first reason given; later calls do nothing.
// It never blocks, so Publish may call it.
func (c *client) stop(reason string) { c.stopErr(reason, nil) }

func (c *client) stopErr(reason string, err error) {
	c.once.Do(func() {
		c.reason, c.err = reason, err
		if ctr, ok := c.h.m.byReason[reason]; ok {
			ctr.Inc()
		}
		close(c.done)
	})
}

// readLoop reads until the connection fails or closes. It handles pongs,
// pings and close frames, and accepts subscribe messages.
func (c *client) readLoop() {
	cfg := c.h.cfg
	c.conn.SetReadLimit(cfg.MaxMessageBytes)
	if err := c.conn.SetReadDeadline(time.Now().Add(cfg.PongTimeout)); err != nil {
		c.stopErr("read_error", err) // the socket is gone: the read would fail the same way
		return
	}
	c.conn.SetPongHandler(func(string) error {
		c.pongs.Add(1)
		return c.conn.SetReadDeadline(time.Now().Add(cfg.PongTimeout))
	})
	c.conn.SetPingHandler(func(data string) error {
		select { // the writer answers; an unanswered older ping is superseded
		case <-c.pings:
		default:
		}
		c.pings <- data
		return nil
	})
	// The writer echoes the close frame; the default handler would write from
	// this goroutine.
	c.conn.SetCloseHandler(func(int, string) error { return nil })

	for {
		typ, data, err := c.conn.ReadMessage()
		if err != nil {
			var ne net.Error
			switch {
			case websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived):
				c.stop(reasonPeerClosed)
			case errors.As(err, &ne) && ne.Timeout():
				c.stopErr(reasonPongTimeout, err)
			default:
				c.stopErr("read_error", err)
			}
			return
		}
		if typ != websocket.TextMessage {
			continue
		}
		var req struct {
			Subscribe *[]string `json:"subscribe"`
		}
		if json.Unmarshal(data, &req) != nil || req.Subscribe == nil {
			continue // nothing else is expected from a browser; ignore it
		}
		c.h.subscribe(c, *req.Subscribe)
	}
}

// writeLoop writes hello, then queued messages and pings, until the client
// stops; then it writes the close frame and closes the connection.
func (c *client) writeLoop(hello *websocket.PreparedMessage) {
	cfg := c.h.cfg
	ticker := time.NewTicker(cfg.PingInterval)
	defer ticker.Stop()

	write := func(pm *websocket.PreparedMessage) bool {
		if err := c.conn.SetWriteDeadline(time.Now().Add(cfg.WriteTimeout)); err != nil {
			c.stopErr(reasonWriteError, err)
			return false
		}
		if err := c.conn.WritePreparedMessage(pm); err != nil {
			c.stopErr(reasonWriteError, err)
			return false
		}
		c.h.m.sent.Inc()
		return true
	}

	ok := write(hello)
	for ok {
		select {
		case <-c.done:
			ok = false
		case pm := <-c.send:
			select {
			case <-c.done: // dropped while this message waited
				ok = false
			default:
				ok = write(pm)
			}
		case <-ticker.C:
			if err := c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(cfg.WriteTimeout)); err != nil {
				c.stopErr(reasonWriteError, err)
				ok = false
			}
		case data := <-c.pings:
			if err := c.conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(cfg.WriteTimeout)); err != nil {
				c.stopErr(reasonWriteError, err)
				ok = false
			}
		}
	}
	<-c.done
	c.closeConn()
}

// closeConn sends the close frame that says why, waits briefly for the
// browser's echo so it reads our reason, and closes the socket.
func (c *client) closeConn() {
	code, text := -1, ""
	switch c.reason {
	case reasonSlow:
		code, text = websocket.CloseTryAgainLater, "too slow"
	case reasonGoingAway:
		code, text = websocket.CloseGoingAway, "server closing"
	case reasonEnded:
		code, text = CloseSessionEnded, "session ended"
	case reasonPeerClosed:
		code = websocket.CloseNormalClosure
	}
	if code >= 0 {
		grace := min(c.h.cfg.WriteTimeout, closeGrace)
		err := c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(grace))
		if err == nil && c.reason != reasonPeerClosed {
			t := time.NewTimer(grace)
			select {
			case <-c.readerDone:
			case <-t.C:
			}
			t.Stop()
		}
	}
	c.conn.Close()
}
