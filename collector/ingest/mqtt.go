package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pscm/pscm/internal/mqttconn"
	"github.com/pscm/pscm/internal/schema"
)

// Filters returns the subscription filters for the collector: every kind,
// with and without a source segment, for the given sites ("+" for all),
// including kinds this collector does not know, which it refuses as
// unknown_kind (schema.AnyKindFilters). With a shared group each filter
// becomes $share/<group>/..., so several collectors split the stream.
func Filters(sharedGroup string, sites []string) []string {
	var fs []string
	for _, site := range sites {
		fs = append(fs, schema.AnyKindFilters(site)...)
	}
	if sharedGroup != "" {
		for i, f := range fs {
			fs[i] = "$share/" + sharedGroup + "/" + f
		}
	}
	return fs
}

// Subscriber owns the MQTT client feeding a Pipeline.
type Subscriber struct {
	client     mqtt.Client
	log        *slog.Logger
	connected  prometheus.Gauge
	subscribed prometheus.Gauge
	subOK      atomic.Bool
}

// NewSubscriber wires opts to p: QoS 1, manual acknowledgement (the pipeline
// acks after the write), ordered delivery, and subscription inside the
// on-connect handler so that every reconnect resubscribes.
func NewSubscriber(opts *mqtt.ClientOptions, filters []string, p *Pipeline, log *slog.Logger, reg prometheus.Registerer) *Subscriber {
	s := &Subscriber{
		log: log,
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "pscm", Subsystem: "collector", Name: "mqtt_connected",
			Help: "1 while connected to the MQTT broker.",
		}),
	}
	s.subscribed = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "pscm", Subsystem: "collector", Name: "mqtt_subscribed",
		Help: "1 while every subscription filter is granted by the broker.",
	})
	lost := prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "pscm", Subsystem: "collector", Name: "mqtt_connection_lost_total",
		Help: "Times the MQTT connection was lost.",
	})
	reg.MustRegister(s.connected, s.subscribed, lost)

	subs := make(map[string]byte, len(filters))
	for _, f := range filters {
		subs[f] = 1
	}
	handler := func(_ mqtt.Client, m mqtt.Message) { p.Handle(m) }
	opts.SetAutoAckDisabled(true)
	opts.SetOrderMatters(true)
	opts.SetDefaultPublishHandler(handler)
	opts.SetOnConnectHandler(func(c mqtt.Client) {
		s.connected.Set(1)
		log.Info("mqtt connected; subscribing", "filters", len(subs))
		// Subscribe from a goroutine: waiting for SUBACK inside the handler
		// would stall paho's connection setup.
		go s.subscribe(c, subs, handler)
	})
	opts.SetConnectionLostHandler(func(_ mqtt.Client, err error) {
		s.connected.Set(0)
		s.subscribed.Set(0)
		s.subOK.Store(false)
		lost.Inc()
		log.Warn("mqtt connection lost", "err", err)
	})
	opts.SetReconnectingHandler(func(mqtt.Client, *mqtt.ClientOptions) {
		log.Info("mqtt reconnecting")
	})
	s.client = mqtt.NewClient(opts)
	return s
}

// subscribe subscribes to every filter, retrying with backoff while the
// connection stays up: a connection without its subscriptions looks healthy
// and takes nothing, and the broker drops QoS 1 messages nobody subscribed
// to. It never disconnects: paho's Disconnect would also cancel its
// automatic reconnection for good.
func (s *Subscriber) subscribe(c mqtt.Client, subs map[string]byte, handler mqtt.MessageHandler) {
	delay := time.Second
	for c.IsConnectionOpen() {
		err := mqttconn.SubscribeResult(c.SubscribeMultiple(subs, handler), 30*time.Second)
		if err == nil {
			s.subOK.Store(true)
			s.subscribed.Set(1)
			return
		}
		s.log.Error("mqtt subscribe failed; retrying", "err", err, "in", delay)
		time.Sleep(delay)
		delay = min(2*delay, 30*time.Second)
	}
}

// Start connects; with ConnectRetry on, paho keeps trying in the background
// when the broker is not up yet, so this only fails on a config error.
func (s *Subscriber) Start(ctx context.Context) error {
	t := s.client.Connect()
	select {
	case <-t.Done():
		if err := t.Error(); err != nil {
			return fmt.Errorf("mqtt connect: %w", err)
		}
	case <-ctx.Done():
	case <-time.After(2 * time.Second):
		s.log.Warn("mqtt broker not reachable yet; retrying in the background")
	}
	return nil
}

// Connected reports whether the client is connected with every
// subscription granted.
func (s *Subscriber) Connected() bool { return s.client.IsConnectionOpen() && s.subOK.Load() }

// Stop disconnects, giving the last acknowledgements time to leave. It does
// not unsubscribe: the persistent session keeps queuing while we are away.
func (s *Subscriber) Stop() {
	s.client.Disconnect(500)
	s.connected.Set(0)
}
