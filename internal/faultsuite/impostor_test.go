package faultsuite

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/pscm/pscm/internal/schema"
)

// impostor is an authenticated client of another role (the one-stop-shop
// software's login, which may publish dossiers only) that, while the
// traffic runs, connects again and again under the collector's, the
// dashboard's and the agent's client IDs, with persistent sessions,
// subscribes to everything and publishes ratings into the simulated
// site's topics. With client IDs bound to user names it takes nobody's
// session (the scenario's exact counts say so: a collector session thrown
// away loses what the broker queued for it), reads nothing, and writes
// nothing anyone stores. Bounded: at most 60 connections and 20 s.
func impostor(t *testing.T, s *system, _ *driver) {
	time.Sleep(3 * time.Second)
	ids := []string{"faults-collector", "collector", "faults-dashboard", "dashboard", "faults-agent", agentName}
	var received, connects, refused atomic.Int64
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; i < 60 && time.Now().Before(deadline); i++ {
		id := ids[i%len(ids)]
		opts := mqtt.NewClientOptions().AddBroker(s.central.URL()).SetClientID(id).
			SetUsername(motcuaUser).SetPassword(password(motcuaUser)).
			SetCleanSession(false).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second).
			SetDefaultPublishHandler(func(mqtt.Client, mqtt.Message) { received.Add(1) })
		c := mqtt.NewClient(opts)
		if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			refused.Add(1)
			time.Sleep(200 * time.Millisecond)
			continue
		}
		connects.Add(1)
		c.Subscribe(schema.TopicPrefix+"#", 1, func(mqtt.Client, mqtt.Message) { received.Add(1) }).WaitTimeout(5 * time.Second)
		now := time.Now().UTC()
		forged := fmt.Sprintf(`{"id":"impostor-%d","ts":%q,"site":%q,"counter":"c01","kiosk":"k01","level":"dissatisfied"}`,
			i, now.Format(time.RFC3339Nano), simSite)
		c.Publish(schema.TopicFor(simSite, schema.KindRating, "anlao-edge-1"), 1, false, forged).WaitTimeout(5 * time.Second)
		time.Sleep(300 * time.Millisecond)
		c.Disconnect(50)
	}
	t.Logf("impostor: %d connections as %s under others' client IDs (%d refused), %d messages received", connects.Load(), motcuaUser, refused.Load(), received.Load())
	if connects.Load() == 0 {
		t.Error("the impostor never connected: the scenario proved nothing")
	}
	if n := received.Load(); n != 0 {
		t.Errorf("the impostor read %d messages of other roles", n)
	}
}
