package main

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/pscm/pscm/internal/testenv"
)

// TestCenterBrokerKilledMidStream (issue 12): the center's broker,
// configured as configs/mosquitto/center.conf ships, is SIGKILLed while
// buttons press at 20/s and started again 2 s later on the same port and
// data directory. Every press the broker acknowledged reaches InfluxDB
// exactly once. Without persistence the broker forgets the agent's session:
// the presses the buttons send right after the restart, before the agent
// has subscribed again, are acknowledged and delivered to nobody (with
// testenv.WithSetting("persistence", "false") on w.local, or saving every
// 10 s as the central broker does, 238 of 300 arrived).
//
// A press is acknowledged while the agent is connected, so the broker has
// handed it to the agent before its PUBACK and the save that follows can't
// lose it; a press acknowledged while the agent is away is saved right
// after its PUBACK, and a crash inside that save can lose it (docs/design.md,
// "Known gaps"; BENCHMARKS.md measures it). The buttons here are never
// without a connected agent when the broker dies.
func TestCenterBrokerKilledMidStream(t *testing.T) {
	w := newWorld(t)
	a := w.startAgent(t, agentOpts{minInterval: "0s", kiosks: 2})
	waitSubscribed(t, a)

	const rate, total = 20, 300 // 15 s of presses
	type outcome struct {
		retried int // presses published again for want of a PUBACK
		err     error
	}
	done := make(chan outcome, 1)
	var stop atomic.Bool
	var wg sync.WaitGroup
	defer func() { stop.Store(true); wg.Wait() }() // also when the test fails early
	start := time.Now()
	wg.Add(1)
	go func() {
		defer wg.Done()
		box := &buttonBox{url: w.local.URL(), stop: &stop}
		defer box.close()
		var o outcome
		defer func() { done <- o }()
		for i := range total {
			time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / rate)))
			// Distinct seqs: a press sent again after a lost PUBACK is the
			// same press, which the agent takes once.
			kiosk, seq := fmt.Sprintf("k%02d", i%2+1), i+1
			sends, err := box.press(kiosk, seq, 30*time.Second)
			if err != nil {
				o.err = fmt.Errorf("press %d (%s seq %d): %w", i, kiosk, seq, err)
				return
			}
			if sends > 1 {
				o.retried++
			}
		}
	}()

	// The crash, a third of the way in; systemd starts the broker again.
	time.Sleep(time.Until(start.Add(5 * time.Second)))
	w.local.Kill(t)
	time.Sleep(2 * time.Second)
	w.local.Start(t)
	o := <-done
	if o.err != nil {
		t.Fatal(o.err)
	}
	t.Logf("%d presses acknowledged in %v, %d of them sent again after a PUBACK that never came",
		total, time.Since(start).Round(time.Millisecond), o.retried)

	testenv.Eventually(t, 60*time.Second, 100*time.Millisecond, func() bool { return count(t, w, "rating") >= total },
		"%d ratings in InfluxDB, want the %d presses the broker acknowledged", count(t, w, "rating"), total)
	// Nothing more comes: a redelivery would arrive well within this.
	time.Sleep(2 * time.Second)
	if c := count(t, w, "rating"); c != total {
		t.Fatalf("%d ratings after settling, want exactly %d", c, total)
	}
}

// buttonBox is a hardware button box: it publishes each press at QoS 1
// and keeps it until the broker's PUBACK, reconnecting as often as it
// takes, as a real box does; a press whose PUBACK never came is published
// again with the same seq.
type buttonBox struct {
	url    string
	stop   *atomic.Bool
	client mqtt.Client
}

// press returns once the press is acknowledged, with how many times it was
// published.
func (b *buttonBox) press(kiosk string, seq int, timeout time.Duration) (int, error) {
	payload := fmt.Sprintf(`{"button":%d,"seq":%d}`, seq%4+1, seq)
	deadline := time.Now().Add(timeout)
	err := errors.New("stopped")
	for sends := 0; time.Now().Before(deadline) && !b.stop.Load(); {
		if b.client == nil {
			c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(b.url).SetClientID("button-box").
				SetCleanSession(true).SetAutoReconnect(false).SetConnectTimeout(time.Second))
			if tok := c.Connect(); !tok.WaitTimeout(2*time.Second) || tok.Error() != nil {
				err = fmt.Errorf("connect: %w", orTimeout(tok.Error()))
				time.Sleep(50 * time.Millisecond) // the broker is down; try again soon
				continue
			}
			b.client = c
		}
		sends++
		tok := b.client.Publish("pscm/v1/anlao/kiosk/"+kiosk+"/press", 1, false, payload)
		if tok.WaitTimeout(2*time.Second) && tok.Error() == nil {
			return sends, nil
		}
		err = fmt.Errorf("no PUBACK: %w", orTimeout(tok.Error()))
		b.close()
	}
	return 0, fmt.Errorf("not acknowledged within %v: %w", timeout, err)
}

func (b *buttonBox) close() {
	if b.client != nil {
		b.client.Disconnect(0)
		b.client = nil
	}
}

// orTimeout is a token's error, or one saying it never completed.
func orTimeout(err error) error {
	if err == nil {
		return errors.New("no answer within 2 s")
	}
	return err
}
