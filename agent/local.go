package main

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/pscm/pscm/agent/config"
	"github.com/pscm/pscm/agent/queue"
	"github.com/pscm/pscm/agent/ratings"
	"github.com/pscm/pscm/internal/logging"
	"github.com/pscm/pscm/internal/mqttconn"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/textclip"
)

// permanentRefusal reports whether err is about the message itself, which
// a redelivery would only repeat, and names its kind from a closed set (for
// the log limiter's key).
func permanentRefusal(err error) (reason string, ok bool) {
	var se *schema.Error
	switch {
	case errors.As(err, &se):
		return string(se.Reason), true
	case errors.Is(err, ratings.ErrUnknownKiosk):
		return "unknown_kiosk", true
	case errors.Is(err, ratings.ErrUnknownButton):
		return "unknown_button", true
	case errors.Is(err, ratings.ErrDuplicate):
		return "duplicate", true
	}
	return "", false
}

// Backoff between attempts to spool a message from the center's broker.
const (
	retryFirst = 100 * time.Millisecond
	retryMax   = 2 * time.Second
)

// spoolWithRetry runs once until it spools the message or refuses it for
// good (logged), and reports true then: the message may be acknowledged.
// A failure that passes (spool full, disk full, timeout) is retried with
// capped backoff rather than left unacknowledged, because an MQTT 3.1.1
// broker sends an unacknowledged message again only when the session
// reconnects, which may be hours away; meanwhile the later messages wait,
// in order, which is the right backpressure: the broker holds them. It
// gives up, reporting false, only once connected says the message's
// connection is gone (a reconnect, or the agent stopping), when the
// broker will send it again anyway. While it waits paho reads nothing more
// from the connection (order-matters delivery), keep-alive answers
// included, so a wait past about 1.5 keep-alives ends in a reconnect:
// harmless, the broker then resends from this message on.
func spoolWithRetry(once func() error, connected func() bool, log *slog.Logger, refusals *logging.Limiter, key string) bool {
	wait := retryFirst
	for attempt := 1; ; attempt++ {
		err := once()
		if err == nil {
			if attempt > 1 {
				log.Info("spooled after retrying", "attempts", attempt)
			}
			return true
		}
		if reason, ok := permanentRefusal(err); ok {
			// Counted by the ratings and the queue tracker; logged at most
			// once per topic, reason and 10 s, so a flood is a few lines.
			if ok, held := refusals.Allow(key+"/"+reason, time.Now()); ok {
				log.Warn("refused", "err", err, "similar_refusals_not_logged", held)
			}
			return true
		}
		if attempt == 1 || attempt%30 == 0 {
			log.Error("not spooled; retrying until it is", "attempt", attempt, "err", err)
		}
		for deadline := time.Now().Add(wait); time.Now().Before(deadline); {
			if !connected() {
				log.Warn("not spooled, and the connection is gone; the broker will send it again", "attempts", attempt, "err", err)
				return false
			}
			time.Sleep(min(50*time.Millisecond, time.Until(deadline)))
		}
		wait = min(2*wait, retryMax)
	}
}

// localFeed is the agent's connection to the center's broker.
type localFeed struct {
	client     mqtt.Client
	subscribed atomic.Bool
}

// Ready reports whether the connection is up with both subscriptions
// granted: a connection without them looks healthy and takes nothing.
func (l *localFeed) Ready() bool { return l.client.IsConnectionOpen() && l.subscribed.Load() }

// localClient subscribes on the center's broker to hardware presses and
// queue steps. Messages are acknowledged after they are spooled (or
// refused), so a press is not lost if the agent dies while handling it;
// one the spool cannot take yet is retried in place (spoolWithRetry).
func localClient(cfg *config.Config, rs *ratings.Service, tr *queue.Tracker, log *slog.Logger) (*localFeed, error) {
	opts, err := cfg.Local.MQTT.Options(false)
	if err != nil {
		return nil, err
	}
	l := &localFeed{}
	pressFilter := schema.PressFilter(cfg.Site)
	retainedLog := logging.NewLimiter(time.Hour)     // retained messages, per topic
	refusals := logging.NewLimiter(10 * time.Second) // refused input, per topic and reason
	queueTopic := schema.TopicFor(cfg.Site, schema.KindQueue, "")
	handle := func(c mqtt.Client, m mqtt.Message) {
		t, err := schema.ParseTopic(m.Topic())
		if err != nil || t.Site != cfg.Site {
			// Clipped: a hostile topic must not become a 64 KiB log line.
			log.Warn("message on an unexpected topic", "topic", textclip.Clip(m.Topic(), 160))
			m.Ack()
			return
		}
		if m.Retained() {
			// Retained: the broker keeps it and hands it to every new
			// subscription, so taken it would be a new press or step at every
			// restart or reconnect. It was taken when it was published, if
			// the agent was subscribed then. The agent may not clear it
			// (the ACL gives it read only); an operator does, once told.
			if t.Press {
				rs.RetainedPress(t.Source)
			} else {
				tr.RetainedStep()
			}
			if ok, held := retainedLog.Allow(m.Topic(), time.Now()); ok {
				log.Warn("retained message refused: clear it with mosquitto_pub -r -n -t <topic>, and make the device publish without the retain flag",
					"topic", textclip.Clip(m.Topic(), 160), "refused_since_last_line", held)
			}
			m.Ack()
			return
		}
		spool := func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if t.Press {
				_, err := rs.HardwarePress(ctx, t.Source, m.Payload())
				return err
			}
			return tr.Step(ctx, m.Payload())
		}
		if !spoolWithRetry(spool, c.IsConnectionOpen, log.With("topic", textclip.Clip(m.Topic(), 160)), refusals, m.Topic()) {
			// The connection it came on is gone: unacknowledged, it is the
			// broker's to send again on the session's next connection.
			return
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
			if err := mqttconn.SubscribeResult(t, 30*time.Second); err != nil {
				log.Error("subscribe on the center's broker failed", "err", err)
				return
			}
			l.subscribed.Store(true)
			log.Info("subscribed on the center's broker", "filters", 2)
		}()
	})
	opts.SetConnectionLostHandler(func(_ mqtt.Client, err error) {
		l.subscribed.Store(false)
		log.Warn("connection to the center's broker lost", "err", err)
	})
	l.client = mqtt.NewClient(opts)
	return l, nil
}
