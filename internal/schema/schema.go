// Package schema is the v1 event contract every pscm program shares: the MQTT
// topics, the JSON payload of each event kind, the rules a payload must
// satisfy, and the InfluxDB 1.8 line-protocol point an accepted event becomes.
//
// The agent builds and validates events with it before they reach its spool,
// the collector decodes every MQTT message with DecodeMessage and writes
// AppendLine's output, and the dashboard reads the same types. Keeping all of
// that in one package is what stops the three from disagreeing about what a
// valid event is, which matters because a point written to InfluxDB cannot be
// taken back.
//
// Decoding trusts nothing: payloads come from devices on a center's network.
// Every rejection is an *Error whose Reason belongs to a small fixed set, so
// the collector can use it as a Prometheus label value without risking label
// cardinality, and whose message quotes at most a short prefix of the
// offending value, so a log line never carries a whole payload.
package schema

import (
	"errors"
	"strconv"
	"unicode"
	"unicode/utf8"

	"github.com/pscm/pscm/internal/textclip"
)

// MaxPayload is the largest payload, in bytes, that any decoder accepts.
// Real events are a few hundred bytes; the limit bounds what one message can
// cost the collector before anything else looks at it.
const MaxPayload = 8 << 10

// TopicPrefix starts every v1 topic. The version lives in the topic, not in
// the payload, so a v2 contract can run beside v1 on the same broker.
const TopicPrefix = "pscm/v1/"

// IDPattern is the pattern every ID that becomes an InfluxDB tag or a topic
// segment matches (site, counter, kiosk, camera, service, agent). It is
// documentation: ValidID checks it without the regexp package, and because
// such IDs contain no comma, space, equals sign, quote, backslash or slash,
// they need no escaping in the line protocol and no quoting in a topic.
const IDPattern = `^[a-z0-9][a-z0-9_-]{0,62}$`

// maxIDLen is the longest ID IDPattern allows.
const maxIDLen = 63

// Limits on free text. They keep one event small enough that its line
// protocol stays far below InfluxDB's limits and a re-encoded payload stays
// below MaxPayload.
const (
	maxTextLen = 128
	maxReasons = 16
)

// Kind names an event kind. It is the topic's kind segment and the InfluxDB
// measurement.
type Kind string

// The event kinds of the v1 contract, in the order of docs/events.md: the
// first seven, and case (issue 16), added later.
const (
	KindRating    Kind = "rating"
	KindQueue     Kind = "queue"
	KindOccupancy Kind = "occupancy"
	KindSession   Kind = "session"
	KindDossier   Kind = "dossier"
	KindCamera    Kind = "camera"
	KindAgent     Kind = "agent"
	KindCase      Kind = "case"
)

// kioskSegment is the kind segment of raw press topics. It is deliberately
// not a Kind: a press is hardware input the agent turns into a rating, never
// an event the collector stores.
const kioskSegment = "kiosk"

// Kinds returns every event kind in the order of docs/events.md. The slice is new
// on each call, so callers may keep or modify it.
func Kinds() []Kind {
	return []Kind{KindRating, KindQueue, KindOccupancy, KindSession, KindDossier, KindCamera, KindAgent, KindCase}
}

// Valid reports whether k is one of the v1 kinds.
func (k Kind) Valid() bool {
	switch k {
	case KindRating, KindQueue, KindOccupancy, KindSession, KindDossier, KindCamera, KindAgent, KindCase:
		return true
	}
	return false
}

// kindList is the allowed kinds for error messages.
const kindList = "rating, queue, occupancy, session, dossier, camera, agent, case"

// ValidID reports whether s matches IDPattern. It is a byte loop rather than
// a regexp because the collector calls it several times per event.
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > maxIDLen {
		return false
	}
	if c := s[0]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Reason is a bounded label saying why input was rejected. The collector uses
// it as the value of the reason label of its rejection counter, so the set is
// closed: Reasons lists all of them.
type Reason string

// Rejection reasons.
const (
	// ReasonTooLarge: the payload is over MaxPayload bytes.
	ReasonTooLarge Reason = "too_large"
	// ReasonInvalidUTF8: the payload, or a string given to Validate, is not UTF-8.
	ReasonInvalidUTF8 Reason = "invalid_utf8"
	// ReasonMalformed: not one JSON object (syntax error, trailing data, not
	// an object), or a press payload that is neither a number nor an object.
	ReasonMalformed Reason = "malformed_json"
	// ReasonWrongType: a known key holds the wrong JSON type.
	ReasonWrongType Reason = "wrong_type"
	// ReasonMissing: a required key is absent, null or empty.
	ReasonMissing Reason = "missing_field"
	// ReasonInvalidID: an ID does not match IDPattern.
	ReasonInvalidID Reason = "invalid_id"
	// ReasonInvalidValue: an enum value outside its set, a number out of its
	// range, text too long or holding control characters, a time that is not
	// RFC 3339 or a ts that is not UTC.
	ReasonInvalidValue Reason = "invalid_value"
	// ReasonTimeRange: ts is before 2020 or more than 24 h ahead of the
	// receiver's clock, or another time field is outside 2000..2099.
	ReasonTimeRange Reason = "ts_out_of_range"
	// ReasonSiteMismatch: the topic and the payload disagree about who
	// published: the site, or for agent events the agent ID.
	ReasonSiteMismatch Reason = "site_mismatch"
	// ReasonBadTopic: the topic is not a v1 event topic, or is a raw press
	// topic given to DecodeMessage.
	ReasonBadTopic Reason = "bad_topic"
	// ReasonUnknownKind: the kind is not one of Kinds.
	ReasonUnknownKind Reason = "unknown_kind"
	// ReasonPointConflict: the event would overwrite the InfluxDB point of
	// a different event (same measurement, tags and ts, another id). The
	// collector refuses it rather than count it written while one of the
	// two silently disappears.
	ReasonPointConflict Reason = "point_conflict"

	// The reasons below are the collector's admission (its configuration,
	// not the contract): an event valid under the contract that would still
	// let one publisher widen or rewrite what is stored. They live here so
	// that every reason the collector counts is in one closed set.

	// ReasonUnknownID: an ID that becomes a tag (counter, kiosk, camera,
	// service, agent) is not in its site's configured inventory, or is new
	// while the site already holds its cap of such IDs; or the site itself is
	// new while the collector already tracks its bound of sites. It bounds
	// the series one publisher can create.
	ReasonUnknownID Reason = "unknown_id"
	// ReasonTSTooOld: ts is older, by the collector's clock, than the lag it
	// accepts for the event's kind (an agent's spool replayed after a long
	// outage is within it; a backdated point is not).
	ReasonTSTooOld Reason = "ts_too_old"
	// ReasonPeriodClosed: ts falls in a reporting period the collector's
	// configuration says was already reported, and no reopening of that
	// period for the event's site is in force.
	ReasonPeriodClosed Reason = "period_closed"
)

// Reasons returns every Reason, so the collector can create each labelled
// counter at zero before the first rejection. The slice is new on each call.
func Reasons() []Reason {
	return []Reason{
		ReasonTooLarge, ReasonInvalidUTF8, ReasonMalformed, ReasonWrongType,
		ReasonMissing, ReasonInvalidID, ReasonInvalidValue, ReasonTimeRange,
		ReasonSiteMismatch, ReasonBadTopic, ReasonUnknownKind, ReasonPointConflict,
		ReasonUnknownID, ReasonTSTooOld, ReasonPeriodClosed,
	}
}

// Error says which field of an event or topic is wrong and why. Msg never
// quotes more than about 40 bytes of the offending value and never the
// payload, so the error is safe to log whatever a device sent.
type Error struct {
	Reason Reason
	Field  string // the JSON key, or "topic" or "kind"; empty when the payload as a whole is wrong
	Msg    string
}

// Error formats e as `schema: field "counter": invalid_id: ...`.
func (e *Error) Error() string {
	if e.Field == "" {
		return "schema: " + string(e.Reason) + ": " + e.Msg
	}
	return "schema: field " + strconv.Quote(e.Field) + ": " + string(e.Reason) + ": " + e.Msg
}

// ReasonOf returns the Reason of the *Error in err's chain. Any other non-nil
// error counts as ReasonMalformed, so a caller always gets a label from the
// closed set; a nil error has no reason and gives "".
func ReasonOf(err error) Reason {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ReasonMalformed
}

// maxQuoted is how many bytes of an offending value an error message shows.
const maxQuoted = 40

// quote returns s as a Go-quoted string clipped to maxQuoted bytes, so that
// error messages stay short and never replay a hostile payload into the
// logs. When it shows less than s (cut, or invalid UTF-8 replaced) it says
// how long s was.
func quote(s string) string {
	c := textclip.Clip(s, maxQuoted)
	if c == s {
		return strconv.Quote(s)
	}
	return strconv.Quote(c) + " (" + strconv.Itoa(len(s)) + " bytes)"
}

func newError(r Reason, field, msg string) *Error {
	return &Error{Reason: r, Field: field, Msg: msg}
}

func missing(field string) error {
	return newError(ReasonMissing, field, "required")
}

// checkID requires s to be a valid ID; required says whether "" is missing
// (an error) or absent (fine).
func checkID(field, s string, required bool) error {
	if s == "" {
		if required {
			return missing(field)
		}
		return nil
	}
	if !ValidID(s) {
		return newError(ReasonInvalidID, field, quote(s)+" does not match "+IDPattern)
	}
	return nil
}

// checkText bounds a free-text value: these end up as InfluxDB string fields
// and in dashboards, where control characters (a newline above all) would
// break lines and layouts.
func checkText(field, s string, required bool) error {
	if s == "" {
		if required {
			return missing(field)
		}
		return nil
	}
	if r, msg := textProblem(s); r != "" {
		return newError(r, field, msg)
	}
	return nil
}

// textProblem says what is wrong with a free-text value, or returns "" as
// the reason if nothing is.
func textProblem(s string) (Reason, string) {
	if len(s) > maxTextLen {
		return ReasonInvalidValue, "is " + strconv.Itoa(len(s)) + " bytes long, more than " + strconv.Itoa(maxTextLen)
	}
	if !utf8.ValidString(s) {
		return ReasonInvalidUTF8, "is not valid UTF-8"
	}
	for _, r := range s {
		// C0, DEL and C1: the same set as unicode.IsControl.
		if r < 0x20 || r >= 0x7f && r <= 0x9f {
			return ReasonInvalidValue, quote(s) + " contains control character U+" + hex4(r)
		}
		// Format characters: bidirectional overrides and isolates that make
		// "A012" display as something else on a manager's screen, and
		// invisible ones that make two equal-looking values differ.
		// Vietnamese text needs none of them.
		if r >= 0xad && unicode.Is(unicode.Cf, r) {
			return ReasonInvalidValue, "contains invisible format character U+" + hex4(r)
		}
	}
	return "", ""
}

func hex4(r rune) string {
	const digits = "0123456789ABCDEF"
	return string([]byte{digits[r>>12&0xf], digits[r>>8&0xf], digits[r>>4&0xf], digits[r&0xf]})
}
