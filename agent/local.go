package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/pscm/pscm/agent/config"
	"github.com/pscm/pscm/agent/queue"
	"github.com/pscm/pscm/agent/ratings"
	"github.com/pscm/pscm/internal/schema"
)

// permanentInputError is an error about the message itself, which a
// redelivery would only repeat.
func permanentInputError(err error) bool {
	var se *schema.Error
	return errors.As(err, &se) || errors.Is(err, ratings.ErrUnknownKiosk) ||
		errors.Is(err, ratings.ErrUnknownButton) || errors.Is(err, ratings.ErrDuplicate)
}

// localClient subscribes on the center's broker to hardware presses and
// queue steps. Messages are acknowledged after they are spooled (or
// refused), so a press is not lost if the agent dies while handling it.
func localClient(cfg *config.Config, rs *ratings.Service, tr *queue.Tracker, log *slog.Logger) (mqtt.Client, error) {
	opts, err := cfg.Local.MQTT.Options(false)
	if err != nil {
		return nil, err
	}
	pressFilter := schema.TopicPrefix + cfg.Site + "/kiosk/+/press"
	queueTopic := schema.TopicPrefix + cfg.Site + "/queue"
	handle := func(_ mqtt.Client, m mqtt.Message) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		t, err := schema.ParseTopic(m.Topic())
		if err != nil || t.Site != cfg.Site {
			log.Warn("message on an unexpected topic", "topic", m.Topic())
			m.Ack()
			return
		}
		if t.Press {
			_, err = rs.HardwarePress(ctx, t.Source, m.Payload())
		} else {
			err = tr.Step(ctx, m.Payload())
		}
		if err != nil && !permanentInputError(err) {
			// Not spooled (spool full, disk error, timeout): leave it
			// unacknowledged so the broker sends it again after a reconnect.
			log.Error("not spooled; the broker will redeliver", "topic", m.Topic(), "err", err)
			return
		}
		if err != nil {
			log.Warn("refused", "topic", m.Topic(), "err", err)
		}
		m.Ack()
	}
	opts.SetAutoAckDisabled(true)
	opts.SetOrderMatters(true)
	opts.SetDefaultPublishHandler(handle)
	opts.SetOnConnectHandler(func(c mqtt.Client) {
		log.Info("connected to the center's broker")
		go func() {
			// Only the bare queue topic: the agent itself forwards queue events as
			// pscm/v1/{site}/queue/{agent}, and on a shared broker it must not
			// take its own output back as input.
			t := c.SubscribeMultiple(map[string]byte{pressFilter: 1, queueTopic: 1}, handle)
			if !t.WaitTimeout(30*time.Second) || t.Error() != nil {
				log.Error("subscribe on the center's broker failed", "err", t.Error())
				return
			}
			log.Info("subscribed on the center's broker", "filters", 2)
		}()
	})
	opts.SetConnectionLostHandler(func(_ mqtt.Client, err error) {
		log.Warn("connection to the center's broker lost", "err", err)
	})
	return mqtt.NewClient(opts), nil
}
