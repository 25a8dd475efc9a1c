package main

import (
	"fmt"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/testenv"
)

// TestCentralBrokerKilledWithBacklog (issue 12, item 4): the collector is
// down, so the central broker (configs/mosquitto/mosquitto.conf's
// settings: persistence, a save every 10 s) holds a backlog; the agent
// forwards 200 taps and the broker acknowledges every one; then the broker
// is SIGKILLed and started again from its last save, which cannot hold what
// it acknowledged since. The agent keeps what was acknowledged within
// spool.retain_acked and sends it again after reconnecting: InfluxDB ends
// with exactly the 200 ratings. Without the replay (retain_acked: 0s) the
// ratings acknowledged after the broker's last save are lost.
func TestCentralBrokerKilledWithBacklog(t *testing.T) {
	w := newWorld(t)
	a := w.startAgent(t, agentOpts{minInterval: "0s", kiosks: 2})
	waitSubscribed(t, a)

	// The collector is down: its persistent session stays on the broker,
	// which queues everything for it.
	w.stopCollector(syscall.SIGKILL)

	const total = 200
	start := time.Now()
	for i := range total {
		time.Sleep(time.Until(start.Add(time.Duration(i) * 25 * time.Millisecond)))
		kiosk := fmt.Sprintf("k%02d", i%2+1)
		if code, body := press(t, a.addr, kiosk, "satisfied", fmt.Sprintf("b%05d", i)); code != http.StatusOK || body["status"] != "accepted" {
			t.Fatalf("tap %d: HTTP %d %v", i, code, body)
		}
	}
	// Every tap acknowledged by the central broker: the spool holds none
	// unacknowledged.
	testenv.Eventually(t, 20*time.Second, 20*time.Millisecond, func() bool {
		return agentMetric(t, a.admin, "pscm_agent_spool_records") == 0
	}, "the central broker did not acknowledge all %d taps", total)

	w.central.Kill(t)
	time.Sleep(time.Second)
	w.central.Start(t)
	w.startCollector(t)

	testenv.Eventually(t, 60*time.Second, 100*time.Millisecond, func() bool { return count(t, w, "rating") >= total },
		"%d ratings in InfluxDB, want the %d the central broker acknowledged before it was killed", count(t, w, "rating"), total)
	time.Sleep(2 * time.Second)
	if c := count(t, w, "rating"); c != total {
		t.Fatalf("%d ratings after settling, want exactly %d", c, total)
	}
	t.Logf("%d taps in %v; %v of them sent again after the broker's restart", total, time.Since(start).Round(time.Millisecond),
		agentMetric(t, a.admin, "pscm_agent_uplink_replayed_total"))
	if agentMetric(t, a.admin, "pscm_agent_uplink_replayed_total") < 1 {
		t.Error("nothing was replayed")
	}
}
