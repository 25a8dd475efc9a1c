package schema

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// update is the usual golden-file switch; a flag has to be registered at
// package level, before the testing package parses the command line.
var update = flag.Bool("update", false, "rewrite docs/events.md from the code")

const docPath = "../../docs/events.md"

// TestEventsDocUpToDate fails when docs/events.md differs from what the code
// generates, so the reference is updated in the same change as the contract.
func TestEventsDocUpToDate(t *testing.T) {
	want := renderEventsDoc(t)
	if *update {
		if err := os.WriteFile(filepath.FromSlash(docPath), want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(filepath.FromSlash(docPath))
	if err != nil {
		t.Fatalf("%v; create it with: go test ./internal/schema -run TestEventsDocUpToDate -update", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("docs/events.md is out of date (first difference at line %d); regenerate it with:\n"+
			"\tgo test ./internal/schema -run TestEventsDocUpToDate -update", firstDiffLine(got, want))
	}
}

func firstDiffLine(a, b []byte) int {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return i + 1
		}
	}
	return min(len(al), len(bl)) + 1
}

// kindDoc is the prose of one kind's section; the keys come from Fields.
type kindDoc struct {
	vietnamese string
	what       string
}

func kindDocs() map[Kind]kindDoc {
	return map[Kind]kindDoc{
		KindRating:    {"đánh giá của người dân", "A citizen pressed a rating button at a counter's kiosk. The agent turns raw presses into these."},
		KindQueue:     {"số thứ tự và hàng đợi", "A queue ticket moved on: issued by the ticket machine, called to a counter, service started, finished, or the citizen did not show."},
		KindOccupancy: {"có người tại vị trí", "A camera saw one zone of a counter change state. Only this state leaves the agent, never an image."},
		KindSession:   {"phiên phục vụ công dân", "One citizen was served at a counter, from start to end."},
		KindDossier:   {"hồ sơ đã giải quyết", "The one-stop-shop software resolved a dossier."},
		KindCamera:    {"tình trạng camera", "Camera health, from the agent every 10 s."},
		KindAgent:     {"trạng thái agent", "Agent status, published retained; the agent's MQTT last will is the same event with status `offline`."},
		KindCase:      {"góp ý, phản ánh, khiếu nại", "A step of a citizen's feedback or complaint case (issue 16): received, acknowledged, assigned, answered, closed, transferred, rejected, or its deadline extended. Published by the dashboard, which keeps the cases; counts and timings only, never the citizen's message or phone number. Added to v1 after the first seven kinds: a collector older than it counts these as `unknown_kind`."},
	}
}

func reasonDocs() map[Reason]string {
	return map[Reason]string{
		ReasonTooLarge:      "The payload is over 8192 bytes. Checked before anything else.",
		ReasonInvalidUTF8:   "The payload, or a text value, is not valid UTF-8.",
		ReasonMalformed:     "Not exactly one JSON object: syntax error, trailing data, or null, an array or a scalar. For presses: neither a number nor an object.",
		ReasonWrongType:     "A known key holds the wrong JSON type, e.g. a string for a number, a fraction for an integer, a number too large for its type.",
		ReasonMissing:       "A required key is absent, null or \"\".",
		ReasonInvalidID:     "An ID does not match `" + IDPattern + "`.",
		ReasonInvalidValue:  "An enum value outside its set; a number out of range; text too long or with control characters; a time that is not RFC 3339; a `ts` that is not UTC.",
		ReasonTimeRange:     "`ts` is before 2020-01-01 or more than 24 h after the receiver's clock, or another time is outside 2000..2099.",
		ReasonSiteMismatch:  "The topic's `{site}` differs from the payload's `site`, or an agent topic's `{agent}` from the payload's `agent`.",
		ReasonBadTopic:      "Not a v1 event topic: wrong prefix, empty segment, wildcard, wrong number of segments, invalid ID, agent topic without the agent, or a press topic where an event topic was expected.",
		ReasonUnknownKind:   "The kind is not one of the eight: the collector subscribes to every kind (`pscm/v1/{site}/+` and `…/+/+`), so an event of a kind it does not know, from an agent newer than itself, is counted and logged with this reason instead of never being seen.",
		ReasonPointConflict: "Another event (another `id`) already holds this measurement, tags and `ts` (see \"unique point times\"); writing it would overwrite that one.",
		ReasonUnknownID:     "By the collector's configuration, not the contract: an ID that becomes a tag (`counter`, `kiosk`, `camera`, `service`, `agent`) is not in its site's inventory (`admission.inventory.sites`), or is new while the site already holds its cap of such IDs (`admission.inventory.caps`); or the site is new while `admission.inventory.max_sites` others are tracked. It bounds the series one publisher can create.",
		ReasonTSTooOld:      "By the collector's configuration: `ts` is older, by the collector's clock, than `admission.max_lag` (`admission.dossier_max_lag` for dossiers). `agent` status is exempt: its last will carries the agent's start time.",
		ReasonPeriodClosed:  "By the collector's configuration: `ts` falls in a reporting period already reported (`admission.closed_through`, e.g. `2026H1`, 01/12/2025 to 31/05/2026 in Vietnam time) and no `admission.reopen` entry for its site and period is in force. `agent` status is exempt.",
	}
}

// renderEventsDoc renders docs/events.md from Fields, the examples and the
// prose above.
func renderEventsDoc(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	var kinds []string
	for _, k := range Kinds() {
		kinds = append(kinds, "`"+string(k)+"`")
	}

	p("<!-- Code generated by `go test ./internal/schema -run TestEventsDocUpToDate -update`. DO NOT EDIT. -->")
	p("")
	p("# pscm events v1 — sự kiện pscm, phiên bản 1")
	p("")
	p("The reference for programs that publish or consume pscm events. It is generated from")
	p("`internal/schema`, the package that implements the contract, so it cannot drift from the code:")
	p("change the code (`Fields` in `spec.go` for the tables), then run")
	p("`go test ./internal/schema -run TestEventsDocUpToDate -update`.")
	p("")
	p("## Topics — chủ đề MQTT")
	p("")
	p("| topic | published by | payload |")
	p("|---|---|---|")
	p("| `%s{site}/{kind}` | any publisher | one event of `{kind}` |", TopicPrefix)
	p("| `%s{site}/{kind}/{source}` | a publisher that names itself | one event of `{kind}` |", TopicPrefix)
	p("| `%s{site}/agent/{agent}` | the agent, retained, with its last will | one `agent` event; `{agent}` must equal its `agent` |", TopicPrefix)
	p("| `%s{site}/kiosk/{kiosk}/press` | kiosk hardware, on the center's broker only | a raw button press, not an event |", TopicPrefix)
	p("")
	p("`{kind}` is one of %s. `{site}`, `{source}`, `{kiosk}`, `{agent}` and every ID", strings.Join(kinds, ", "))
	p("match `%s`. Agent topics always carry the agent, so two agents at one", IDPattern)
	p("site never overwrite each other's retained status. Consumers subscribe to the kinds they")
	p("handle, e.g. `%s+/rating/#`, never to a bare `#`.", TopicPrefix)
	p("")
	p("## Payloads — nội dung thông điệp")
	p("")
	p("- One UTF-8 JSON object of at most %d bytes.", MaxPayload)
	p("- Every event has `id`, `ts` and `site`; the other keys depend on the kind.")
	p("- `ts` is RFC 3339 in UTC, ending in `Z`, with up to nanosecond precision, which is kept.")
	p("  Other times are RFC 3339; an offset is accepted and the time is stored in UTC.")
	p("- Keys not listed here are ignored, so a publisher may add optional keys before every")
	p("  consumer knows them. `null` counts as absent, and so does `\"\"` for strings.")
	p("- Free text (`string` below) is at most %d bytes without control characters.", maxTextLen)
	p("- The collector rejects a payload whose `site` differs from the topic's `{site}`.")
	p("- Beyond the contract, the collector's configuration refuses a valid event whose IDs go")
	p("  past its site's inventory (`unknown_id`), whose `ts` is older than its lag bound")
	p("  (`ts_too_old`), or whose `ts` lies in a reporting period already reported (`period_closed`).")
	p("")
	p("## InfluxDB mapping — ánh xạ sang InfluxDB")
	p("")
	p("- Measurement = kind. Timestamp = `ts` in nanoseconds (write with precision `ns`).")
	p("- Tags are only IDs and enum values (low cardinality), written only when non-empty and")
	p("  sorted by key; they need no escaping. Everything else is a field; `id` is always written.")
	p("- A point's identity is measurement + tags + timestamp, so no two distinct events may share")
	p("  all three, and a redelivered event (same `id`, same `ts`) overwrites itself.")
	p("- **Thời điểm duy nhất / unique point times.** Sources such as a queue system stamp whole")
	p("  seconds, so three tickets issued in one second for one service would be one point. The")
	p("  agent therefore keeps every event's `ts` to the millisecond and makes the nanoseconds")
	p("  below it unique in the event's series: the source's own when it gave any and they are")
	p("  free, else the first free slot from a hash of its `id` (FNV-1a mod 10^6) upwards. The")
	p("  same event spooled again gets the same `ts`. A publisher that is not the agent must make")
	p("  (measurement, tags, `ts`) unique itself.")
	p("- The collector remembers the last `batch.point_window` points it received with the `id`")
	p("  holding each and refuses, with reason `point_conflict`, an event that would overwrite a")
	p("  *different* event's point, instead of counting it written.")
	p("- Each field key has one type forever (InfluxDB rejects a type conflict): string fields are")
	p("  quoted, floats plain (`612` is a float), integers end in `i`, booleans are `true`/`false`.")
	p("")

	docs := kindDocs()
	for _, ex := range examples() {
		k := ex.kind
		d, ok := docs[k]
		if !ok {
			t.Fatalf("no prose for kind %s", k)
		}
		p("## %s — %s", k, d.vietnamese)
		p("")
		p("%s", d.what)
		p("")
		p("| key | JSON type | required | InfluxDB | notes |")
		p("|---|---|---|---|---|")
		for _, f := range Fields(k) {
			req := "no"
			if f.Required {
				req = "yes"
			}
			note := f.Note
			if f.Values != nil {
				note = strings.TrimSpace("One of `" + strings.Join(f.Values, "`, `") + "`. " + note)
			}
			p("| `%s` | %s | %s | %s | %s |", f.Name, f.JSON, req, f.Column, note)
		}
		p("")
		p("Topic `%s`:", ex.topic)
		p("")
		p("```json")
		p("%s", ex.payload)
		p("```")
		p("")
		p("Line protocol:")
		p("")
		p("```text")
		p("%s", strings.TrimSuffix(ex.line, "\n"))
		p("```")
		p("")
	}

	p("## Raw kiosk presses — tín hiệu nút bấm kiosk")
	p("")
	p("Kiosk hardware publishes to `%s{site}/kiosk/{kiosk}/press` on the center's broker.", TopicPrefix)
	p("The agent reads these with `schema.DecodePress` and turns them into `rating` events; which")
	p("button means which level is configuration. The collector never stores them and rejects")
	p("them with `bad_topic`. The payload is either the bare button number, `1` to `9` in ASCII")
	p("with optional surrounding whitespace, or an object:")
	p("")
	p("| key | JSON type | required | notes |")
	p("|---|---|---|---|")
	p("| `button` | integer | yes | 1 to 9. |")
	p("| `seq` | integer | no | The device's press counter, 0 to 9223372036854775807, for dropping duplicates (kept as the rating's `press_seq`); 0 when absent. |")
	p("| `ts` | string (RFC 3339) | no | When the button was pressed, by the box's clock (from 2020-01-01; an offset is accepted). The agent judges the minimum interval and stamps the rating with it when it is at most 1 min ahead of the agent's clock and at most 7 days behind, else it uses the press's arrival (and logs it). A box that keeps time should send it: presses the center's broker held while the agent was away then keep their own times. |")
	p("")
	p("```json")
	p(`{"button":3,"seq":17,"ts":"2026-11-25T01:15:02.250Z"}`)
	p("```")
	p("")
	p("## Rejection reasons — lý do từ chối")
	p("")
	p("Every rejection carries one of these reasons (the collector's `reason` metric label), the")
	p("offending key when there is one, and a message quoting at most %d bytes of the value.", maxQuoted)
	p("")
	p("| reason | when |")
	p("|---|---|")
	rd := reasonDocs()
	for _, r := range Reasons() {
		text, ok := rd[r]
		if !ok {
			t.Fatalf("no description for reason %s", r)
		}
		p("| `%s` | %s |", r, text)
	}
	return b.Bytes()
}
