package schema

// FieldSpec describes one JSON key of an event kind: its JSON type, whether
// it is required, and where it lands in InfluxDB. Fields is the one table
// docs/events.md is generated from, and the tests hold it against the struct
// tags, Decode and AppendLine, so the document cannot drift from the code.
// Programs may use it too, e.g. to know which keys of a measurement are tags
// when building a query.
type FieldSpec struct {
	Name     string   // JSON key, which is also the InfluxDB tag or field key
	JSON     string   // JSON type, one of the JSON* constants
	Required bool     // absent, null or "" is rejected with ReasonMissing
	Column   Column   // where the value goes in the line protocol
	Values   []string // allowed values of an enum, in order; nil otherwise
	Note     string   // one sentence for the reference
}

// JSON types of FieldSpec.JSON.
const (
	JSONText    = "string"            // free text: at most 128 bytes, no control characters
	JSONID      = "string (ID)"       // matches IDPattern
	JSONEnum    = "string (enum)"     // one of FieldSpec.Values
	JSONTime    = "string (RFC 3339)" // a time, nanoseconds kept
	JSONNumber  = "number"
	JSONInteger = "integer"
	JSONBoolean = "boolean"
	JSONStrings = "array of strings"
)

// Column says where a key goes in an InfluxDB point, and as which type.
type Column string

// Columns. A field key keeps its type forever: InfluxDB rejects a point whose
// field type differs from what the shard already holds.
const (
	ColumnTime    Column = "timestamp"
	ColumnTag     Column = "tag"
	ColumnString  Column = "string field"
	ColumnFloat   Column = "float field"
	ColumnInteger Column = "integer field"
	ColumnBoolean Column = "boolean field"
)

// Fields returns the keys of kind k in documentation order: the header keys,
// then the kind's own. It returns nil for an invalid kind. The slice is new
// on each call.
func Fields(k Kind) []FieldSpec {
	head := []FieldSpec{
		{Name: "id", JSON: JSONText, Required: true, Column: ColumnString,
			Note: "Unique per event (a ULID, or the session ID for sessions); 1..128 bytes. A field, not a tag: it is unbounded."},
		{Name: "ts", JSON: JSONTime, Required: true, Column: ColumnTime,
			Note: "When it happened at the source; UTC ending in `Z`, from 2020-01-01 to 24 h after the receiver's clock. Becomes the point's timestamp in ns, which must increase strictly per source."},
		{Name: "site", JSON: JSONID, Required: true, Column: ColumnTag,
			Note: "The center; must equal the topic's `{site}`."},
	}
	var own []FieldSpec
	switch k {
	case KindRating:
		own = []FieldSpec{
			{Name: "counter", JSON: JSONID, Required: true, Column: ColumnTag, Note: "Counter the kiosk belongs to."},
			{Name: "kiosk", JSON: JSONID, Required: true, Column: ColumnTag, Note: "Kiosk that was pressed."},
			{Name: "level", JSON: JSONEnum, Required: true, Column: ColumnTag,
				Values: []string{"very_satisfied", "satisfied", "neutral", "dissatisfied"},
				Note:   "Which levels count as satisfied is configuration."},
			{Name: "reasons", JSON: JSONStrings, Column: ColumnString,
				Note: "Reasons the citizen picked: at most 16 entries of 1..128 bytes without commas, written joined with commas; left out when empty."},
			{Name: "session", JSON: JSONText, Column: ColumnString, Note: "ID of the session rated, when known; left out when empty."},
			{Name: "press_id", JSON: JSONText, Column: ColumnString,
				Note: "The kiosk page's ID of the tap (8..64 of A-Z, a-z, 0-9, `_`, `-`), repeated by its retries; left out when empty."},
			{Name: "press_seq", JSON: JSONInteger, Column: ColumnInteger,
				Note: "The button box's count of the press, repeated by a redelivery; >= 0, left out when 0."},
		}
	case KindQueue:
		own = []FieldSpec{
			{Name: "ticket", JSON: JSONText, Required: true, Column: ColumnString, Note: "Ticket number as printed, e.g. A012."},
			{Name: "service", JSON: JSONID, Required: true, Column: ColumnTag, Note: "Service (queue) the ticket was issued for."},
			{Name: "counter", JSON: JSONID, Column: ColumnTag, Note: "Required unless step is issued, when no counter is chosen yet."},
			{Name: "step", JSON: JSONEnum, Required: true, Column: ColumnTag,
				Values: []string{"issued", "called", "started", "finished", "no_show"}},
			{Name: "staff", JSON: JSONID, Column: ColumnTag,
				Note: "The official logged in at the counter in the queue system (their roster ID), when it says; needs `counter`. Only queue events carry it: on any other kind it is refused. Left out when absent."},
		}
	case KindOccupancy:
		own = []FieldSpec{
			{Name: "camera", JSON: JSONID, Required: true, Column: ColumnTag, Note: "Camera that saw the change."},
			{Name: "counter", JSON: JSONID, Required: true, Column: ColumnTag, Note: "Counter the zone belongs to."},
			{Name: "zone", JSON: JSONEnum, Required: true, Column: ColumnTag,
				Values: []string{"staff", "citizen", "waiting"},
				Note:   "The official's seat, the citizen's seat, or the waiting area."},
			{Name: "occupied", JSON: JSONBoolean, Required: true, Column: ColumnBoolean, Note: "The zone's new state; false must be sent, not omitted."},
			{Name: "confidence", JSON: JSONNumber, Column: ColumnFloat,
				Note: "Detector confidence in [0, 1]; 0 or absent means not reported and is left out."},
			{Name: "state", JSON: JSONEnum, Column: ColumnString,
				Values: []string{"occupied", "vacant", "unknown"},
				Note:   "Whether the state is known. `unknown` (camera down, tampered, re-learning, detector unsure, agent not running) needs `occupied` false and means no data, neither present nor absent; `occupied`/`vacant` must agree with `occupied`. Absent means known, as `occupied` says. A string field, not a tag; left out when absent."},
		}
	case KindSession:
		own = []FieldSpec{
			{Name: "counter", JSON: JSONID, Required: true, Column: ColumnTag, Note: "Counter that served."},
			{Name: "start", JSON: JSONTime, Required: true, Column: ColumnString, Note: "Service start; offsets are accepted and written as UTC."},
			{Name: "end", JSON: JSONTime, Required: true, Column: ColumnString,
				Note: "Service end, not before start. `end` is an InfluxQL keyword: quote it in queries."},
			{Name: "wait_s", JSON: JSONNumber, Required: true, Column: ColumnFloat, Note: "Seconds waited before service, >= 0."},
			{Name: "service_s", JSON: JSONNumber, Required: true, Column: ColumnFloat, Note: "Seconds of service, >= 0."},
			{Name: "source", JSON: JSONEnum, Required: true, Column: ColumnTag,
				Values: []string{"camera", "queue", "fused"},
				Note:   "What the session was derived from."},
			{Name: "ticket", JSON: JSONText, Column: ColumnString, Note: "Queue ticket, when known; left out when empty."},
		}
	case KindDossier:
		own = []FieldSpec{
			{Name: "dossier", JSON: JSONText, Required: true, Column: ColumnString, Note: "Dossier code from the one-stop-shop software."},
			{Name: "procedure", JSON: JSONText, Required: true, Column: ColumnString, Note: "Administrative procedure code."},
			{Name: "received", JSON: JSONTime, Required: true, Column: ColumnString, Note: "When the center received the dossier."},
			{Name: "due", JSON: JSONTime, Required: true, Column: ColumnString, Note: "When it was due."},
			{Name: "resolved", JSON: JSONTime, Required: true, Column: ColumnString, Note: "When it was resolved; not before received."},
			{Name: "outcome", JSON: JSONEnum, Required: true, Column: ColumnTag,
				Values: []string{"early", "on_time", "late"},
				Note:   "As decided by the one-stop-shop software; not recomputed."},
			{Name: "official", JSON: JSONID, Column: ColumnTag,
				Note: "The official who handled the dossier (their roster ID), when the one-stop-shop software says (issue 17); bounded per site like every ID tag. Left out when absent."},
		}
	case KindCamera:
		own = []FieldSpec{
			{Name: "camera", JSON: JSONID, Required: true, Column: ColumnTag, Note: "Camera reported on."},
			{Name: "up", JSON: JSONBoolean, Required: true, Column: ColumnBoolean, Note: "Whether the stream is being received; false must be sent, not omitted."},
			{Name: "fps", JSON: JSONNumber, Column: ColumnFloat, Note: "Frames per second, >= 0; 0 when absent (always written)."},
			{Name: "kbps", JSON: JSONNumber, Column: ColumnFloat, Note: "Bitrate in kbit/s, >= 0; 0 when absent."},
			{Name: "gop_s", JSON: JSONNumber, Column: ColumnFloat, Note: "Seconds between keyframes, >= 0; 0 when absent."},
			{Name: "width", JSON: JSONInteger, Column: ColumnInteger, Note: "Pixels, >= 0; 0 when absent."},
			{Name: "height", JSON: JSONInteger, Column: ColumnInteger, Note: "Pixels, >= 0; 0 when absent."},
			{Name: "codec", JSON: JSONEnum, Column: ColumnTag,
				Values: []string{"h264", "h265", "mjpeg", "unknown"},
				Note:   "Left out when absent."},
			{Name: "reconnects", JSON: JSONInteger, Column: ColumnInteger, Note: "Reconnections since the agent started, >= 0."},
		}
	case KindAgent:
		own = []FieldSpec{
			{Name: "agent", JSON: JSONID, Required: true, Column: ColumnTag, Note: "The agent; must equal the topic's `{source}`."},
			{Name: "status", JSON: JSONEnum, Required: true, Column: ColumnString,
				Values: []string{"online", "offline"},
				Note:   "`offline` is the MQTT last will. A string field, not a tag."},
			{Name: "version", JSON: JSONText, Column: ColumnString, Note: "Agent version; left out when empty."},
			{Name: "spool_depth", JSON: JSONInteger, Column: ColumnInteger, Note: "Events waiting in the on-disk spool, >= 0."},
			{Name: "uptime_s", JSON: JSONNumber, Column: ColumnFloat, Note: "Seconds since the agent started, >= 0."},
		}
	case KindCase:
		own = []FieldSpec{
			{Name: "case", JSON: JSONText, Required: true, Column: ColumnString,
				Note: "The case number the citizen was given. The case's message and phone number never leave the case store: no event carries them."},
			{Name: "case_kind", JSON: JSONEnum, Required: true, Column: ColumnTag, Values: caseKinds,
				Note: "Góp ý, kiến nghị, phản ánh, khiếu nại, tố cáo: feedback, recommendation, report, complaint, denunciation."},
			{Name: "channel", JSON: JSONEnum, Required: true, Column: ColumnTag, Values: caseChannels,
				Note: "How the case came in; `reception` is the citizen-reception day, `province` the province's feedback system."},
			{Name: "step", JSON: JSONEnum, Required: true, Column: ColumnTag, Values: caseSteps,
				Note: "The state the case reached, or `extended`: its deadline moved, with `extend_days`."},
			{Name: "counter", JSON: JSONID, Column: ColumnTag, Note: "The counter the case concerns, when known; left out when absent."},
			{Name: "service", JSON: JSONID, Column: ColumnTag, Note: "The service the case concerns, when known; left out when absent."},
			{Name: "received", JSON: JSONTime, Required: true, Column: ColumnString, Note: "When the case came in; every step of a case repeats it."},
			{Name: "due", JSON: JSONTime, Column: ColumnString,
				Note: "The case's resolve deadline after this step, not before received; left out while the rules set none yet (a complaint's runs from its acceptance). Required on `extended`."},
			{Name: "late", JSON: JSONBoolean, Required: true, Column: ColumnBoolean,
				Note: "Whether this step came after the deadline it answers (acceptance or resolution); false must be sent, not omitted."},
			{Name: "extend_days", JSON: JSONInteger, Column: ColumnInteger,
				Note: "Working days an extension added, 1..60: required on `extended`, refused on any other step."},
		}
	default:
		return nil
	}
	return append(head, own...)
}
