package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/pscm/pscm/internal/mqttconn"
	"github.com/pscm/pscm/internal/schema"
)

// subscribeTimeout bounds the wait for one SUBACK.
const subscribeTimeout = 30 * time.Second

// liveFeed is the dashboard's MQTT subscription to the events of its sites.
// It subscribes in the on-connect handler, so a reconnect resubscribes, and
// asks for a reload on every connection: what happened while it was away is
// only in InfluxDB.
type liveFeed struct {
	client  mqtt.Client
	filters map[string]byte
	log     *slog.Logger

	subscribed atomic.Bool
	lastErr    atomic.Pointer[error] // why the last subscription failed

	// mu guards stopped and the WaitGroup's Add: the on-connect handler
	// runs on paho's goroutines, and none may start a subscription after
	// stop has begun waiting.
	mu      sync.Mutex
	stopped bool
	done    chan struct{} // closed by stop: ends the subscription retries
	wg      sync.WaitGroup
}

func newLiveFeed(cfg mqttconn.Config, filters []string, apply func(schema.Event), onConnect func(), log *slog.Logger) (*liveFeed, error) {
	opts, err := cfg.Options(true) // live view only: what was missed is in InfluxDB
	if err != nil {
		return nil, err
	}
	f := &liveFeed{filters: map[string]byte{}, log: log, done: make(chan struct{})}
	for _, filter := range filters {
		f.filters[filter] = 0
	}
	handle := func(_ mqtt.Client, m mqtt.Message) {
		ev, err := schema.DecodeMessage(m.Topic(), m.Payload(), time.Now())
		if err != nil {
			return // the collector counts and logs rejects
		}
		apply(ev)
	}
	opts.SetDefaultPublishHandler(handle)
	opts.SetOnConnectHandler(func(c mqtt.Client) {
		log.Info("connected to the broker; subscribing", "filters", len(f.filters))
		onConnect()
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.stopped {
			return
		}
		// Not here: waiting for the SUBACK inside the handler would stall
		// paho's connection setup.
		f.wg.Go(func() { f.subscribe(c, handle) })
	})
	opts.SetConnectionLostHandler(func(_ mqtt.Client, err error) {
		f.subscribed.Store(false)
		log.Warn("connection to the broker lost; live updates wait for the reconnection", "err", err)
	})
	f.client = mqtt.NewClient(opts)
	return f, nil
}

// start connects; with ConnectRetry paho keeps trying in the background
// while the broker is unreachable.
func (f *liveFeed) start() { f.client.Connect() }

// stop disconnects and waits for a subscription under way to give up.
func (f *liveFeed) stop() {
	f.mu.Lock()
	if f.stopped {
		f.mu.Unlock()
		return
	}
	f.stopped = true
	close(f.done)
	f.mu.Unlock()
	f.client.Disconnect(250)
	f.wg.Wait()
	f.subscribed.Store(false)
}

// subscribe subscribes to every filter and checks the broker's answer,
// retrying with backoff while the connection stays up: a connection without
// its subscription looks healthy and shows nothing live.
func (f *liveFeed) subscribe(c mqtt.Client, handle mqtt.MessageHandler) {
	delay := time.Second
	for c.IsConnectionOpen() {
		err := mqttconn.SubscribeResult(c.SubscribeMultiple(f.filters, handle), subscribeTimeout)
		if err == nil {
			f.lastErr.Store(nil)
			f.subscribed.Store(true)
			f.log.Info("subscribed", "filters", len(f.filters))
			return
		}
		f.lastErr.Store(&err)
		f.log.Error("subscribe failed; retrying", "err", err, "in", delay)
		select {
		case <-f.done:
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, 30*time.Second)
	}
}

// ready is the readiness check of the feed.
func (f *liveFeed) ready(context.Context) error {
	switch {
	case !f.client.IsConnectionOpen():
		return errors.New("not connected to the broker; live updates wait")
	case !f.subscribed.Load():
		if err := f.lastErr.Load(); err != nil {
			return fmt.Errorf("connected, not subscribed: %w", *err)
		}
		return errors.New("connected, subscription not granted yet")
	}
	return nil
}

// errNotConnected is publish's answer while the broker is away.
var errNotConnected = errors.New("not connected to the broker")

// publish sends one message at QoS 1 and returns once the broker has
// acknowledged it. The session is clean, so paho sends nothing again after
// a reconnect: a token that completes without an error is the PUBACK, and
// a message cut off by a lost connection fails here and is sent again by
// the caller (the cases' outbox).
func (f *liveFeed) publish(ctx context.Context, topic string, payload []byte) error {
	if !f.client.IsConnectionOpen() {
		return errNotConnected
	}
	tok := f.client.Publish(topic, 1, false, payload)
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}
