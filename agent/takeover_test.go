package main

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/pscm/pscm/internal/testenv"
)

// TestClientIDTakeover (issue 13, row 1): with both brokers as shipped
// (use_username_as_clientid), an authenticated client of another role that
// connects again and again with the collector's client ID (clean session,
// so the broker would throw the collector's persistent session away) takes
// nothing: all 100 taps reach InfluxDB. On the center's broker, a kiosk's
// account looping with the agent's client ID takes nothing either: every
// button press the broker acknowledged arrives. Without the setting the
// issue saw 3 of 100.
func TestClientIDTakeover(t *testing.T) {
	w := newSecureWorld(t)
	a := w.startAgent(t, agentOpts{minInterval: "0s"})
	waitSubscribed(t, a)

	var stop atomic.Bool
	var wg sync.WaitGroup
	defer func() { stop.Store(true); wg.Wait() }()
	impostor := func(url, user, clientID string, tlsCfg *tls.Config) {
		defer wg.Done()
		for !stop.Load() {
			o := mqtt.NewClientOptions().AddBroker(url).SetClientID(clientID).SetCleanSession(true).
				SetUsername(user).SetPassword(securePasswords[user]).SetTLSConfig(tlsCfg).
				SetAutoReconnect(false).SetConnectTimeout(2 * time.Second)
			c := mqtt.NewClient(o)
			if tok := c.Connect(); tok.WaitTimeout(3*time.Second) && tok.Error() == nil {
				time.Sleep(50 * time.Millisecond)
				c.Disconnect(0)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	wg.Add(2)
	go impostor(w.centralURL, "phuoc-thanh-edge-1", "test-collector", w.clientTLS(t, "anlao-edge-1"))
	go impostor(w.localURL, "anlao-k01", "pscm-agent-test-local", w.clientTLS(t, "nobody"))

	box := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(w.localURL).SetClientID("anlao-k02").
		SetUsername("anlao-k02").SetPassword(securePasswords["anlao-k02"]).SetTLSConfig(w.clientTLS(t, "nobody")))
	if tok := box.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer box.Disconnect(100)
	const taps, presses = 100, 50
	for i := range taps {
		if code, body := press(t, a.addr, "k01", "satisfied", fmt.Sprintf("t%05d", i)); code != http.StatusOK {
			t.Fatalf("tap %d: %d %v", i, code, body)
		}
		if i < presses {
			if tok := box.Publish("pscm/v1/anlao/kiosk/k02/press", 1, false, fmt.Sprintf(`{"button":1,"seq":%d}`, i+1)); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
				t.Fatalf("press %d: %v", i, tok.Error())
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	testenv.Eventually(t, 30*time.Second, 100*time.Millisecond, func() bool { return count(t, w, "rating") >= taps+presses },
		"%d ratings in InfluxDB, want the %d taps and %d presses", count(t, w, "rating"), taps, presses)
	stop.Store(true)
	time.Sleep(time.Second)
	if c := count(t, w, "rating"); c != taps+presses {
		t.Fatalf("%d ratings, want exactly %d", c, taps+presses)
	}
}
