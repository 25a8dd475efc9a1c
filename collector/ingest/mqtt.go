package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pscm/pscm/internal/schema"
)

// Filters returns the subscription filters for the collector: every kind of
// the contract, with and without a source segment, for the given sites ("+"
// for all). With a shared group each filter becomes $share/<group>/..., so
// several collectors split the stream. Never a bare "#": raw kiosk presses
// and anything else on the broker are not ours.
func Filters(sharedGroup string, sites []string) []string {
	var fs []string
	for _, site := range sites {
		for _, k := range schema.Kinds() {
			base := schema.TopicPrefix + site + "/" + string(k)
			fs = append(fs, base, base+"/+")
		}
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
	client    mqtt.Client
	log       *slog.Logger
	connected prometheus.Gauge
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
	lost := prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "pscm", Subsystem: "collector", Name: "mqtt_connection_lost_total",
		Help: "Times the MQTT connection was lost.",
	})
	reg.MustRegister(s.connected, lost)

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
		go func() {
			t := c.SubscribeMultiple(subs, handler)
			if !t.WaitTimeout(30*time.Second) || t.Error() != nil {
				log.Error("mqtt subscribe failed; reconnecting", "err", t.Error())
				// A connection without subscriptions would look healthy and do
				// nothing; drop it so the reconnect path tries again.
				c.Disconnect(0)
				return
			}
			if st, ok := t.(*mqtt.SubscribeToken); ok {
				for f, q := range st.Result() {
					if q == 0x80 {
						log.Error("mqtt subscription refused by the broker (ACL?)", "filter", f)
					}
				}
			}
		}()
	})
	opts.SetConnectionLostHandler(func(_ mqtt.Client, err error) {
		s.connected.Set(0)
		lost.Inc()
		log.Warn("mqtt connection lost", "err", err)
	})
	opts.SetReconnectingHandler(func(mqtt.Client, *mqtt.ClientOptions) {
		log.Info("mqtt reconnecting")
	})
	s.client = mqtt.NewClient(opts)
	return s
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

// Connected reports whether the client is connected now.
func (s *Subscriber) Connected() bool { return s.client.IsConnectionOpen() }

// Stop disconnects, giving the last acknowledgements time to leave. It does
// not unsubscribe: the persistent session keeps queuing while we are away.
func (s *Subscriber) Stop() {
	s.client.Disconnect(500)
	s.connected.Set(0)
}
