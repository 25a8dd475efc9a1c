//go:build linux

package badinput

import "testing"

// TestCatalogue runs every entry point's table against one world (brokers,
// InfluxDB, collector, agent), started once: a case is one line in a
// table, and the suite's time goes on the cases, not on starting servers.
// The tables are in mqtt_test.go (collector), agent_test.go (raw presses
// and queue steps on the center's broker, kiosk HTTP, queue webhook),
// csv_test.go (dossier import) and rtsp_test.go (a garbage camera);
// config_test.go's TestConfigCheck needs no world.
func TestCatalogue(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs Mosquitto and InfluxDB")
	}
	w := startWorld(t)
	t.Run("collector-mqtt", func(t *testing.T) { testCollectorMQTT(t, w) })

	before := w.snapshot(t)
	sentinels := 0
	t.Run("agent-mqtt", func(t *testing.T) { sentinels = testAgentMQTT(t, w) })
	t.Run("kiosk-http", func(t *testing.T) { testHTTP(t, w, kioskCases()) })
	t.Run("queue-webhook", func(t *testing.T) { testHTTP(t, w, webhookCases()) })
	t.Run("incomplete-body", func(t *testing.T) { testIncompleteBody(t, w) })
	extra := map[string]int64{}
	t.Run("press-id", func(t *testing.T) {
		n := testPressID(t, w)
		sentinels += n
		extra["rating.count_press_id"] = int64(n) // the taps carry their press_id
	})
	t.Run("held-and-retained", func(t *testing.T) {
		n := testHeldAndRetained(t, w)
		sentinels += n
		extra["rating.count_press_seq"] = int64(n) // the presses carry their seq
	})
	t.Run("agent-influxdb", func(t *testing.T) { checkAgentInflux(t, w, before, sentinels, extra) })

	t.Run("csv-import", func(t *testing.T) { testCSV(t, w) })
	// Last: its agent's camera health and status change InfluxDB.
	t.Run("rtsp", func(t *testing.T) { testRTSP(t, w) })
}
