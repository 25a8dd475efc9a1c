package main

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/pscm/pscm/internal/testenv"
)

// TestRetainedAndHeldPresses (issue 18, rows 1 and 2): a press published
// with the retain flag is one rating, however often the agent restarts and
// subscribes again; six presses 6 s apart by their box's clock, held by the
// center's broker while the agent is stopped, are six ratings at their own
// times (min_interval 5 s), not one kept and five refused as too soon.
// Across three restarts the count stays exactly seven.
func TestRetainedAndHeldPresses(t *testing.T) {
	w := newWorld(t)
	a := w.startAgent(t, agentOpts{minInterval: "5s", kiosks: 1})
	waitSubscribed(t, a)

	box := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(w.local.URL()).SetClientID("retain-box").SetCleanSession(true))
	if tok := box.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer box.Disconnect(100)
	publish := func(payload string, retained bool) {
		t.Helper()
		if tok := box.Publish("pscm/v1/anlao/kiosk/k01/press", 1, retained, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
	}
	publish(`{"button":4,"seq":1}`, true)
	testenv.Eventually(t, 10*time.Second, 20*time.Millisecond, func() bool { return count(t, w, "rating") == 1 },
		"the retained press, published while the agent listened, was not taken once")

	a.stop(t)
	first := time.Now().UTC().Add(-2 * time.Minute).Truncate(time.Millisecond)
	for i := range 6 {
		at := first.Add(time.Duration(6*i) * time.Second)
		publish(fmt.Sprintf(`{"button":%d,"seq":%d,"ts":%q}`, i%4+1, 10+i, at.Format(time.RFC3339Nano)), false)
	}
	for range 3 {
		a = w.startAgent(t, agentOpts{minInterval: "5s", kiosks: 1})
		waitSubscribed(t, a)
		testenv.Eventually(t, 10*time.Second, 20*time.Millisecond, func() bool { return count(t, w, "rating") >= 7 },
			"%d ratings, want the retained press and the six held ones", count(t, w, "rating"))
		time.Sleep(time.Second) // a retained press taken again would arrive well within this
		a.stop(t)
	}
	if c := count(t, w, "rating"); c != 7 {
		t.Fatalf("%d ratings after three restarts, want exactly 7", c)
	}
	rows := w.db.Query(t, `SELECT "press_seq" FROM "rating" WHERE "press_seq" >= 10`)
	if len(rows) != 1 || len(rows[0].Values) != 6 {
		t.Fatalf("held presses in InfluxDB: %+v, want 6", rows)
	}
	for i, v := range rows[0].Values {
		ns, err := strconv.ParseInt(fmt.Sprint(v[0]), 10, 64)
		got := time.Unix(0, ns).UTC()
		want := first.Add(time.Duration(6*i) * time.Second)
		if err != nil || !got.Truncate(time.Millisecond).Equal(want) {
			t.Errorf("held press %d stored at %v, want its own time %v", i, v[0], want)
		}
	}
}
