package main

import (
	"crypto/tls"
	"fmt"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/pscm/pscm/internal/testenv"
)

// TestMQTTSecurity runs a center as deployed: both brokers refuse
// anonymous clients, obey the ACL templates of configs/mosquitto as shipped,
// and every client speaks TLS (the central broker also wants a client
// certificate). A kiosk can press only as itself, an agent can write only
// for its own site and under its own name, the collector only reads; what
// the ACL denies never reaches InfluxDB, and no password shows up in a log.
func TestMQTTSecurity(t *testing.T) {
	w := newSecureWorld(t)
	a := w.startAgent(t, agentOpts{minInterval: "1ms"})
	testenv.Eventually(t, 15*time.Second, 10*time.Millisecond, func() bool {
		return strings.Contains(a.logs.String(), "subscribed on the center's broker")
	}, "agent never subscribed on the center's broker over TLS")

	connect := func(url, user, pass string, tlsCfg *tls.Config) (mqtt.Client, error) {
		o := mqtt.NewClientOptions().AddBroker(url).SetClientID("sec-" + user + fmt.Sprint(time.Now().UnixNano())).
			SetUsername(user).SetPassword(pass).SetTLSConfig(tlsCfg).SetConnectTimeout(5 * time.Second).
			SetAutoReconnect(false)
		c := mqtt.NewClient(o)
		tok := c.Connect()
		if !tok.WaitTimeout(10 * time.Second) {
			return nil, fmt.Errorf("connect timed out")
		}
		if tok.Error() != nil {
			return nil, tok.Error()
		}
		t.Cleanup(func() { c.Disconnect(100) })
		return c, nil
	}
	must := func(c mqtt.Client, err error) mqtt.Client {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	pub := func(c mqtt.Client, topic, payload string) {
		t.Helper()
		// QoS 0: Mosquitto 2 gives a denied QoS 1 publish an ordinary
		// PUBACK too (MQTT 3.1.1 has no way to say no); either way nothing
		// is delivered, which is what the counts below check.
		if tok := c.Publish(topic, 0, false, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", topic, tok.Error())
		}
	}
	pw := securePasswords
	notls := w.clientTLS(t, "nobody") // trusts the CA, no client certificate

	// Refused at the door.
	for _, tc := range []struct {
		name, url, user, pass string
		tls                   *tls.Config
	}{
		{"anonymous on the plain listener", w.central.URL(), "", "", nil},
		{"wrong password", w.localURL, "anlao-k01", "guess", notls},
		{"unknown user", w.localURL, "mallory", "x", notls},
		{"no client certificate at the central broker", w.centralURL, "anlao-edge-1", pw["anlao-edge-1"], notls},
		{"a certificate of another CA", w.centralURL, "anlao-edge-1", pw["anlao-edge-1"], &tls.Config{InsecureSkipVerify: true}},
	} {
		if _, err := connect(tc.url, tc.user, tc.pass, tc.tls); err == nil {
			t.Errorf("%s: connected", tc.name)
		}
	}

	// Denied: Mosquitto 2 drops the message (it logs "Denied PUBLISH").
	// Mosquitto 2.0.11 then closes the connection when per-client queues
	// are unbounded (max_queued_messages 0, the central broker's config)
	// and keeps it open when they are bounded (the center's, center.conf).
	// Either way, a QoS 1 publish after it on the same connection (denied
	// too) is answered, or fails on the closed connection, only once the
	// broker has handled the first: each attempt gets its own connection and
	// waits for that. The counts below check that nothing was delivered.
	denied := func(what, url, user string, tlsCfg *tls.Config, topic, payload string) {
		t.Helper()
		c := must(connect(url, user, pw[user], tlsCfg))
		pub(c, topic, payload)
		if tok := c.Publish(topic, 1, false, payload); !tok.WaitTimeout(5 * time.Second) {
			t.Errorf("%s: after a denied publish the broker neither answered the next one nor closed the connection", what)
		}
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	rating := func(id string) string {
		return `{"id":"` + id + `","ts":"` + now + `","site":"anlao","counter":"c01","kiosk":"k01","level":"dissatisfied"}`
	}
	edgeTLS := w.clientTLS(t, "anlao-edge-1")
	// At the center's broker: kiosk k01 pressing as k02, or as the queue system.
	denied("k01 as k02", w.localURL, "anlao-k01", notls, "pscm/v1/anlao/kiosk/k02/press", `{"button":4,"seq":1}`)
	denied("k01 as the queue system", w.localURL, "anlao-k01", notls, "pscm/v1/anlao/queue",
		`{"id":"q1","ts":"2026-11-25T01:00:00Z","site":"anlao","ticket":"A1","service":"ho-tich","step":"issued"}`)
	// At the central broker: another site's agent writing for anlao, anlao's
	// agent passing for another agent or as no agent, the collector writing.
	denied("another site's agent", w.centralURL, "phuoc-thanh-edge-1", edgeTLS, "pscm/v1/anlao/rating/phuoc-thanh-edge-1", rating("forged-1"))
	denied("another site's agent, no source", w.centralURL, "phuoc-thanh-edge-1", edgeTLS, "pscm/v1/anlao/rating", rating("forged-2"))
	denied("anlao's agent as another agent", w.centralURL, "anlao-edge-1", edgeTLS, "pscm/v1/anlao/rating/anlao-edge-2", rating("forged-3"))
	denied("anlao's agent without its name", w.centralURL, "anlao-edge-1", edgeTLS, "pscm/v1/anlao/rating", rating("forged-4"))
	denied("anlao's agent writing a dossier", w.centralURL, "anlao-edge-1", edgeTLS, "pscm/v1/anlao/dossier/anlao-edge-1",
		`{"id":"forged-6","ts":"`+now+`","site":"anlao","dossier":"d1","procedure":"p1","received":"`+now+`","due":"`+now+`","resolved":"`+now+`","outcome":"on_time"}`)
	denied("the collector", w.centralURL, "collector", w.clientTLS(t, "collector"), "pscm/v1/anlao/rating/collector", rating("forged-5"))

	// Allowed: each kiosk as itself, and the agent's account under its own name.
	k01 := must(connect(w.localURL, "anlao-k01", pw["anlao-k01"], notls))
	k02 := must(connect(w.localURL, "anlao-k02", pw["anlao-k02"], notls))
	pub(k01, "pscm/v1/anlao/kiosk/k01/press", `{"button":1,"seq":1}`)
	pub(k02, "pscm/v1/anlao/kiosk/k02/press", `{"button":2,"seq":1}`)
	edge := must(connect(w.centralURL, "anlao-edge-1", pw["anlao-edge-1"], edgeTLS))
	pub(edge, "pscm/v1/anlao/rating/anlao-edge-1", rating("allowed-1"))

	testenv.Eventually(t, 20*time.Second, 20*time.Millisecond, func() bool {
		return len(w.db.Query(t, `SELECT id FROM rating WHERE kiosk = 'k02'`)) > 0 &&
			len(w.db.Query(t, `SELECT id FROM rating WHERE id = 'allowed-1'`)) > 0
	}, "the allowed presses and the allowed event never reached InfluxDB")
	got := map[string]string{}
	for _, s := range w.db.Query(t, `SELECT id FROM rating GROUP BY kiosk, level`) {
		got[s.Tags["kiosk"]+"/"+s.Tags["level"]] = fmt.Sprint(len(s.Values))
	}
	want := map[string]string{"k01/very_satisfied": "1", "k02/satisfied": "1", "k01/dissatisfied": "1"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("ratings by kiosk/level %v, want %v (k01 as itself, k02 as itself, allowed-1)", got, want)
	}
	if n := count(t, w, "queue"); n != 0 {
		t.Errorf("%d queue events from a kiosk's account", n)
	}
	for _, id := range []string{"forged-1", "forged-2", "forged-3", "forged-4", "forged-5"} {
		if len(w.db.Query(t, `SELECT id FROM rating WHERE id = '`+id+`'`)) > 0 {
			t.Errorf("%s reached InfluxDB", id)
		}
	}

	// No password in the agent's log (the collector's and the brokers' are
	// files; the fault suite reads those).
	for user, p := range pw {
		if strings.Contains(a.logs.String(), p) {
			t.Errorf("the agent log shows %s's password", user)
		}
	}
}
