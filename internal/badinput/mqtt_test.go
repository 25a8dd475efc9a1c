//go:build linux

package badinput

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/testenv"
	"github.com/pscm/pscm/internal/textclip"
)

// ev is a valid event payload as a JSON object, for cases to spoil one
// field at a time.
type ev map[string]any

// Valid events of each kind, all from eventSite an hour ago.
func validEvents(now time.Time) map[string]ev {
	ts := now.Add(-time.Hour).UTC().Format(time.RFC3339Nano)
	start := now.Add(-2 * time.Hour).UTC().Format(time.RFC3339)
	return map[string]ev{
		"rating":    {"id": "r-1", "ts": ts, "site": eventSite, "counter": "c03", "kiosk": "k03", "level": "satisfied", "reasons": []string{}, "session": "s-1"},
		"queue":     {"id": "q-1", "ts": ts, "site": eventSite, "ticket": "A012", "service": "ho-tich", "counter": "c03", "step": "called"},
		"occupancy": {"id": "o-1", "ts": ts, "site": eventSite, "camera": "cam1", "counter": "c03", "zone": "citizen", "occupied": true, "confidence": 0.93},
		"session":   {"id": "s-1", "ts": ts, "site": eventSite, "counter": "c03", "start": start, "end": ts, "wait_s": 612.0, "service_s": 734.0, "source": "fused"},
		"dossier":   {"id": "d-1", "ts": ts, "site": eventSite, "dossier": "000.00.12.H10-261125-0001", "procedure": "1.001234", "received": start, "due": ts, "resolved": ts, "outcome": "on_time"},
		"camera":    {"id": "cm-1", "ts": ts, "site": eventSite, "camera": "cam1", "up": true, "fps": 25.0, "kbps": 3990, "gop_s": 2.0, "width": 1920, "height": 1080, "codec": "h264", "reconnects": 0},
		"agent":     {"id": "a-1", "ts": ts, "site": eventSite, "agent": "edge-9", "status": "online", "version": "0.1.0", "spool_depth": 0, "uptime_s": 3600},
	}
}

// mqttCase is one message to the collector. payload builds the bytes from
// the valid events; reason is the rejected_total label it must count
// under, or "" when the broker must not deliver it at all (no
// subscription of the collector matches the topic).
type mqttCase struct {
	name    string
	topic   string
	payload func(v map[string]ev) []byte
	reason  string
}

func topic(kind string) string { return "pscm/v1/" + eventSite + "/" + kind }

// set returns kind's valid event with key set to val (nil deletes it).
func set(kind string, kv ...any) func(map[string]ev) []byte {
	return func(v map[string]ev) []byte {
		e := ev{}
		for k, x := range v[kind] {
			e[k] = x
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(e, kv[i].(string))
			} else {
				e[kv[i].(string)] = kv[i+1]
			}
		}
		b, err := json.Marshal(e)
		if err != nil {
			panic(err)
		}
		return b
	}
}

func raw(s string) func(map[string]ev) []byte { return func(map[string]ev) []byte { return []byte(s) } }

// spliced returns kind's valid event with old replaced by new in its JSON,
// for bytes json.Marshal would never write (invalid UTF-8, duplicate keys).
func spliced(kind, old, new string) func(map[string]ev) []byte {
	return func(v map[string]ev) []byte {
		b := string(set(kind)(v))
		if !strings.Contains(b, old) {
			panic(fmt.Sprintf("%q not in %s", old, b))
		}
		return []byte(strings.Replace(b, old, new, 1))
	}
}

var mqttCases = []mqttCase{
	// Topics.
	// Received (the collector subscribes to every kind), counted, never
	// written (issue 12, item 6).
	{"unknown kind", topic("weather"), set("rating"), "unknown_kind"},
	{"unknown kind with a source", topic("weather/edge-1"), set("rating"), "unknown_kind"},
	{"press topic is the agent's", "pscm/v1/anlao/kiosk/k01/press", raw("1"), ""},
	{"extra levels", topic("rating/edge-1/extra"), set("rating"), ""},
	{"other version", "pscm/v2/anlao/rating", set("rating"), ""},
	{"upper-case site", "pscm/v1/AnLao/rating", set("rating"), "bad_topic"},
	{"site with space and comma", "pscm/v1/a,b=c d=1/rating", set("rating"), "bad_topic"},
	{"site of 64 chars", "pscm/v1/" + strings.Repeat("a", 64) + "/rating", set("rating"), "bad_topic"},
	{"site of 10k chars", "pscm/v1/" + strings.Repeat("a", 10000) + "/rating", set("rating"), "bad_topic"},
	{"empty source segment", topic("rating/"), set("rating"), "bad_topic"},
	{"bad source", topic("rating/Edge!"), set("rating"), "bad_topic"},
	{"agent without its ID", topic("agent"), set("agent"), "bad_topic"},
	// Not an event.
	{"not JSON", topic("rating"), raw("hello"), "malformed_json"},
	{"empty payload", topic("rating"), raw(""), "malformed_json"},
	{"truncated", topic("rating"), raw(`{"id":"r-1","ts":"2026-`), "malformed_json"},
	{"JSON array", topic("rating"), raw(`[1,2,3]`), "malformed_json"},
	{"JSON null", topic("rating"), raw(`null`), "malformed_json"},
	{"two objects", topic("rating"), func(v map[string]ev) []byte { b := set("rating")(v); return append(b, b...) }, "malformed_json"},
	{"NaN", topic("session"), spliced("session", `"wait_s":612`, `"wait_s":NaN`), "malformed_json"},
	{"over 8 KiB", topic("rating"), set("rating", "padding", strings.Repeat("x", 8200)), "too_large"},
	{"invalid UTF-8", topic("rating"), spliced("rating", `"s-1"`, "\"s-\xff\xfe\""), "invalid_utf8"},
	// Wrong types and missing fields.
	{"level a number", topic("rating"), set("rating", "level", 3), "wrong_type"},
	{"ts a number", topic("rating"), set("rating", "ts", 1764033302), "wrong_type"},
	{"occupied a string", topic("occupancy"), set("occupancy", "occupied", "yes"), "wrong_type"},
	{"reasons an object", topic("rating"), set("rating", "reasons", map[string]int{"a": 1}), "wrong_type"},
	{"number past float64", topic("session"), spliced("session", `"wait_s":612`, `"wait_s":1e400`), "wrong_type"},
	{"no id", topic("rating"), set("rating", "id", nil), "missing_field"},
	{"no ts", topic("queue"), set("queue", "ts", nil), "missing_field"},
	{"no site", topic("rating"), set("rating", "site", nil), "missing_field"},
	{"no level", topic("rating"), set("rating", "level", nil), "missing_field"},
	{"no occupied", topic("occupancy"), set("occupancy", "occupied", nil), "missing_field"},
	{"level null", topic("rating"), set("rating", "level", json.RawMessage("null")), "missing_field"},
	// Out of range.
	{"ts far future", topic("rating"), set("rating", "ts", "2099-01-01T00:00:00Z"), "ts_out_of_range"},
	{"ts far past", topic("rating"), set("rating", "ts", "2019-12-31T23:59:59Z"), "ts_out_of_range"},
	{"ts with offset", topic("rating"), set("rating", "ts", "2026-01-05T08:00:00+07:00"), "invalid_value"},
	{"ts not a time", topic("rating"), set("rating", "ts", "yesterday"), "invalid_value"},
	{"negative wait_s", topic("session"), set("session", "wait_s", -1), "invalid_value"},
	// The official at a counter is named by queue events only (issue 17).
	{"staff on a rating", topic("rating"), set("rating", "staff", "lan"), "invalid_value"},
	{"staff on a session", topic("session"), set("session", "staff", "lan"), "invalid_value"},
	{"staff not an ID", topic("queue"), set("queue", "staff", "Nguyễn Thị Lan"), "invalid_id"},
	{"staff without a counter", topic("queue"), set("queue", "step", "issued", "counter", nil, "staff", "lan"), "invalid_value"},
	{"end before start", topic("session"), set("session", "end", "2020-01-01T00:00:00Z"), "invalid_value"},
	{"confidence 2", topic("occupancy"), set("occupancy", "confidence", 2), "invalid_value"},
	{"state unknown yet occupied", topic("occupancy"), set("occupancy", "state", "unknown"), "invalid_value"},
	{"unknown level", topic("rating"), set("rating", "level", "ecstatic"), "invalid_value"},
	{"unknown zone", topic("occupancy"), set("occupancy", "zone", "kitchen"), "invalid_value"},
	{"unknown step", topic("queue"), set("queue", "step", "teleported"), "invalid_value"},
	{"unknown outcome", topic("dossier"), set("dossier", "outcome", "never"), "invalid_value"},
	{"unknown codec", topic("camera"), set("camera", "codec", "mjpeg2000"), "invalid_value"},
	{"negative reconnects", topic("camera"), set("camera", "reconnects", -1), "invalid_value"},
	// A key twice is refused whatever the values (issue 18, row 8): the
	// last would win, unseen by whoever reads the first.
	{"duplicate key, last bad", topic("rating"), spliced("rating", `"level":"satisfied"`, `"level":"satisfied","level":"bogus"`), "malformed_json"},
	{"duplicate key, both valid", topic("rating"), spliced("rating", `"level":"satisfied"`, `"level":"very_satisfied","level":"dissatisfied"`), "malformed_json"},
	{"key in two cases", topic("rating"), spliced("rating", `"level":"satisfied"`, `"level":"very_satisfied","Level":"dissatisfied"`), "malformed_json"},
	// Who sent it.
	{"site mismatch", topic("rating"), set("rating", "site", "hoaiduc"), "site_mismatch"},
	{"agent mismatch", topic("agent/edge-1"), set("agent", "agent", "edge-2"), "site_mismatch"},
	// Hostile strings.
	{"line protocol in a tag", topic("rating"), set("rating", "counter", "a,b=c d=1"), "invalid_id"},
	{"newline in a tag", topic("rating"), set("rating", "kiosk", "k03\nrating,site=x id=\"y\" 1"), "invalid_id"},
	{"NUL in a tag", topic("queue"), set("queue", "service", "ho\x00tich"), "invalid_id"},
	{"quote in a tag", topic("rating"), set("rating", "counter", `c03"`), "invalid_id"},
	{"newline in a field", topic("rating"), set("rating", "session", "s-1\nrating,site=anlao id=\"x\" 1"), "invalid_value"},
	{"NUL in the id", topic("rating"), set("rating", "id", "r\x00"), "invalid_value"},
	{"8000-char id", topic("rating"), set("rating", "id", strings.Repeat("i", 8000)), "invalid_value"},
	{"10k-char counter", topic("rating"), set("rating", "counter", strings.Repeat("c", 10000)), "too_large"},
	{"comma in a reason", topic("rating"), set("rating", "reasons", []string{"cho-lau,x=1"}), "invalid_value"},
	{"17 reasons", topic("rating"), set("rating", "reasons", strings.Split(strings.Repeat("r,", 16)+"r", ",")), "invalid_value"},
}

// testCollectorMQTT publishes each case to the central broker, then a
// valid sentinel rating from the same client: MQTT delivers one client's
// QoS 1 messages in order and the collector handles them in order, so once
// the sentinel's point is in InfluxDB the bad message has been handled.
// Then InfluxDB must hold exactly one point more (the sentinel's), the
// rejected metric one more under the case's reason, and the log a line
// with that reason.
func testCollectorMQTT(t *testing.T, w *world) {
	now := time.Now()
	valid := validEvents(now)
	// A sentinel per case, each its own point (its own ts).
	sentinelTS := now.Add(-30 * time.Minute).Truncate(time.Second)
	for i, c := range mqttCases {
		t.Run(c.name, func(t *testing.T) {
			before := w.snapshot(t)
			mBefore := w.metrics(t, w.collectorURL)
			mark := markLog(t, w.collector)

			publish(t, w.pubCentral, c.topic, c.payload(valid))
			id := fmt.Sprintf("sentinel-%d", i)
			sentinel := ev{"id": id, "ts": sentinelTS.Add(time.Duration(i) * time.Millisecond).Format(time.RFC3339Nano),
				"site": eventSite, "counter": "c99", "kiosk": "k99", "level": "neutral"}
			b, _ := json.Marshal(sentinel)
			publish(t, w.pubCentral, topic("rating"), b)
			testenv.Eventually(t, wait, tick, func() bool {
				return len(w.db.Query(t, `SELECT "id" FROM "rating" WHERE "id" = '`+id+`'`)) == 1
			}, "the sentinel after %q never reached InfluxDB", c.name)

			if d := diff(plus(before, w.pointFields(t, "rating", id)), w.snapshot(t)); d != "" {
				t.Errorf("InfluxDB changed beyond the sentinel: %s", d)
			}
			mAfter := w.metrics(t, w.collectorURL)
			received := mAfter["pscm_collector_messages_received_total"] - mBefore["pscm_collector_messages_received_total"]
			wantReceived := 2.0
			if c.reason == "" {
				wantReceived = 1 // the sentinel only: the broker routed the case nowhere
			}
			if received != wantReceived {
				t.Errorf("collector received %v messages, want %v", received, wantReceived)
			}
			for _, r := range []string{"bad_topic", "unknown_kind", "malformed_json", "too_large", "invalid_utf8", "wrong_type",
				"missing_field", "invalid_id", "invalid_value", "ts_out_of_range", "site_mismatch", "influxdb_rejected"} {
				k := `pscm_collector_rejected_total{reason="` + r + `"}`
				want := 0.0
				if r == c.reason {
					want = 1
				}
				if got := mAfter[k] - mBefore[k]; got != want {
					t.Errorf("%s went up by %v, want %v", k, got, want)
				}
			}
			if c.reason != "" {
				if mark.logLine(t, "rejected message", "reason", c.reason) == "" {
					t.Errorf("no log line \"rejected message\" with reason %s; log since the case:\n%s", c.reason,
						textclip.Clip(strings.Join(mark.since(t), "\n"), 4000))
				}
				for _, line := range mark.since(t) {
					if len(line) > 2000 {
						t.Errorf("log line of %d bytes: a hostile input must not blow up the log", len(line))
					}
				}
			}
		})
	}
}
