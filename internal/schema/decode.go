package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pscm/pscm/internal/textclip"
)

// DecodeMessage decodes one MQTT message the way the collector must: it
// parses the topic, refuses raw press topics (the agent consumes those),
// decodes and validates the payload as the topic's kind, and then requires
// the topic and the payload to agree on the site and, for agent events, on
// the agent ID. The broker's ACL lets a device publish only under its own
// topic, so that agreement is what binds a payload's claims to the device
// that sent it. Errors are *Error.
func DecodeMessage(topic string, payload []byte, now time.Time) (Event, error) {
	if len(payload) > MaxPayload {
		return nil, tooLarge(len(payload))
	}
	t, err := ParseTopic(topic)
	if err != nil {
		return nil, err
	}
	if t.Press {
		return nil, badTopic("raw press topics are read by the agent with DecodePress, not stored as events")
	}
	ev, err := Decode(t.Kind, payload, now)
	if err != nil {
		return nil, err
	}
	if site := ev.Head().Site; site != t.Site {
		return nil, newError(ReasonSiteMismatch, "site", "payload site "+quote(site)+" differs from topic site "+quote(t.Site))
	}
	if a, ok := ev.(*Agent); ok && a.Agent != t.Source {
		return nil, newError(ReasonSiteMismatch, "agent", "payload agent "+quote(a.Agent)+" differs from topic source "+quote(t.Source))
	}
	return ev, nil
}

// Decode decodes one payload of the given kind and validates it against now,
// the receiver's clock. Checks run cheapest first: size, UTF-8, JSON syntax
// and types, then field rules. Keys the contract does not know are ignored,
// so publishers may add optional fields before every consumer knows them;
// JSON null counts as absent. Errors are *Error.
func Decode(kind Kind, payload []byte, now time.Time) (Event, error) {
	if len(payload) > MaxPayload {
		return nil, tooLarge(len(payload))
	}
	if !kind.Valid() {
		return nil, newError(ReasonUnknownKind, "kind", quote(string(kind))+" is not one of "+kindList)
	}
	if !utf8.Valid(payload) {
		return nil, newError(ReasonInvalidUTF8, "", "payload is not valid UTF-8")
	}
	if !isObject(payload) {
		return nil, newError(ReasonMalformed, "", "payload is not a JSON object")
	}
	if kind != KindQueue {
		if err := noStaff(payload); err != nil {
			return nil, err
		}
	}
	var (
		ev  Event
		err error
	)
	switch kind {
	case KindRating:
		ev, err = decodeRating(payload)
	case KindQueue:
		ev, err = decodeQueue(payload)
	case KindOccupancy:
		ev, err = decodeOccupancy(payload)
	case KindSession:
		ev, err = decodeSession(payload)
	case KindDossier:
		ev, err = decodeDossier(payload)
	case KindCamera:
		ev, err = decodeCamera(payload)
	case KindAgent:
		ev, err = decodeAgent(payload)
	case KindCase:
		ev, err = decodeCase(payload)
	}
	if err != nil {
		return nil, err
	}
	if err := ev.Validate(now); err != nil {
		return nil, err
	}
	return ev, nil
}

// noStaff refuses the queue events' staff key on another kind: other
// unknown keys are ignored (the contract grows by optional fields), but
// this one names a person, and must not pass for recorded when it is not.
// The byte search keeps the common case at one pass over the payload.
func noStaff(p []byte) error {
	if !bytes.Contains(p, []byte(`"staff"`)) {
		return nil
	}
	var w struct {
		Staff *json.RawMessage `json:"staff"`
	}
	if json.Unmarshal(p, &w) == nil && w.Staff != nil {
		return newError(ReasonInvalidValue, "staff", "only queue events name the official at a counter")
	}
	return nil
}

func tooLarge(n int) error {
	return newError(ReasonTooLarge, "", strconv.Itoa(n)+" bytes, more than "+strconv.Itoa(MaxPayload))
}

// isObject reports whether the first non-blank byte opens an object, so that
// null, arrays and scalars are malformed rather than silently empty events.
func isObject(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c == '{'
	}
	return false
}

// The wire types decode straight into the exported structs. Each embeds its
// struct and shadows, at a shallower depth that encoding/json prefers, the
// keys the struct cannot take as they are:
//   - times arrive as strings, so a bad time is an *Error naming its field
//     (time.Time's own UnmarshalJSON error names none) and ts can be
//     required to end in "Z";
//   - required booleans and numbers arrive as pointers, so absent (or null)
//     can be told apart from false and 0.

type headerTimes struct {
	TS string `json:"ts"`
}

type ratingWire struct {
	Rating
	headerTimes
}

type queueWire struct {
	Queue
	headerTimes
}

type occupancyWire struct {
	Occupancy
	headerTimes
	Occupied *bool `json:"occupied"`
}

type sessionWire struct {
	Session
	headerTimes
	Start    string   `json:"start"`
	End      string   `json:"end"`
	WaitS    *float64 `json:"wait_s"`
	ServiceS *float64 `json:"service_s"`
}

type dossierWire struct {
	Dossier
	headerTimes
	Received string `json:"received"`
	Due      string `json:"due"`
	Resolved string `json:"resolved"`
}

type cameraWire struct {
	Camera
	headerTimes
	Up *bool `json:"up"`
}

type caseWire struct {
	Case
	headerTimes
	Received string `json:"received"`
	Due      string `json:"due"`
	Late     *bool  `json:"late"`
}

type agentWire struct {
	Agent
	headerTimes
}

func decodeRating(p []byte) (Event, error) {
	var w ratingWire
	if err := unmarshal(p, &w); err != nil {
		return nil, err
	}
	return &w.Rating, w.ts(&w.Header)
}

func decodeQueue(p []byte) (Event, error) {
	var w queueWire
	if err := unmarshal(p, &w); err != nil {
		return nil, err
	}
	return &w.Queue, w.ts(&w.Header)
}

func decodeOccupancy(p []byte) (Event, error) {
	var w occupancyWire
	if err := unmarshal(p, &w); err != nil {
		return nil, err
	}
	if err := w.ts(&w.Header); err != nil {
		return nil, err
	}
	if w.Occupied == nil {
		return nil, missing("occupied")
	}
	w.Occupancy.Occupied = *w.Occupied
	return &w.Occupancy, nil
}

func decodeSession(p []byte) (Event, error) {
	var w sessionWire
	if err := unmarshal(p, &w); err != nil {
		return nil, err
	}
	e := &w.Session
	if err := w.ts(&e.Header); err != nil {
		return nil, err
	}
	var err error
	if e.Start, err = parseTime("start", w.Start); err != nil {
		return nil, err
	}
	if e.End, err = parseTime("end", w.End); err != nil {
		return nil, err
	}
	if w.WaitS == nil {
		return nil, missing("wait_s")
	}
	if w.ServiceS == nil {
		return nil, missing("service_s")
	}
	e.WaitS, e.ServiceS = *w.WaitS, *w.ServiceS
	return e, nil
}

func decodeDossier(p []byte) (Event, error) {
	var w dossierWire
	if err := unmarshal(p, &w); err != nil {
		return nil, err
	}
	e := &w.Dossier
	if err := w.ts(&e.Header); err != nil {
		return nil, err
	}
	var err error
	if e.Received, err = parseTime("received", w.Received); err != nil {
		return nil, err
	}
	if e.Due, err = parseTime("due", w.Due); err != nil {
		return nil, err
	}
	if e.Resolved, err = parseTime("resolved", w.Resolved); err != nil {
		return nil, err
	}
	return e, nil
}

func decodeCamera(p []byte) (Event, error) {
	var w cameraWire
	if err := unmarshal(p, &w); err != nil {
		return nil, err
	}
	if err := w.ts(&w.Header); err != nil {
		return nil, err
	}
	if w.Up == nil {
		return nil, missing("up")
	}
	w.Camera.Up = *w.Up
	return &w.Camera, nil
}

func decodeAgent(p []byte) (Event, error) {
	var w agentWire
	if err := unmarshal(p, &w); err != nil {
		return nil, err
	}
	return &w.Agent, w.ts(&w.Header)
}

// ts parses the wire ts into h. The UTC requirement is checked on the text:
// "+00:00" is an offset too, and a time.Time no longer tells "Z" from it.
func (w *headerTimes) ts(h *Header) error {
	if w.TS == "" {
		return nil // Validate reports it missing
	}
	t, err := parseRFC3339(w.TS)
	if err != nil {
		return notRFC3339("ts", w.TS)
	}
	if w.TS[len(w.TS)-1] != 'Z' {
		return newError(ReasonInvalidValue, "ts", quote(w.TS)+" has a UTC offset; ts must be UTC, ending in Z")
	}
	h.TS = t
	return nil
}

// parseTime parses a time field other than ts. Offsets are accepted and the
// time kept in UTC, so the line protocol always shows UTC.
func parseTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil // Validate reports it missing
	}
	t, err := parseRFC3339(s)
	if err != nil {
		return time.Time{}, notRFC3339(field, s)
	}
	return t.UTC(), nil
}

// parseRFC3339 parses an RFC 3339 time strictly. time.Parse alone is lenient
// (it takes a comma before the fraction, a one-digit hour, an offset of
// +24:00), and what one parser lets through another consumer of the same
// payload, the dashboard's JavaScript say, may refuse.
func parseRFC3339(s string) (time.Time, error) {
	if !rfc3339Shape(s) {
		return time.Time{}, errors.New("not RFC 3339")
	}
	return time.Parse(time.RFC3339, s)
}

// rfc3339Shape reports whether s is shaped YYYY-MM-DDTHH:MM:SS, then an
// optional fraction of one or more digits after a period, then Z or an
// offset ±HH:MM within ±23:59. time.Parse checks the ranges of the rest.
func rfc3339Shape(s string) bool {
	const layout = "0000-00-00T00:00:00"
	if len(s) <= len(layout) {
		return false
	}
	for i := range len(layout) {
		if layout[i] == '0' {
			if !isDigit(s[i]) {
				return false
			}
		} else if s[i] != layout[i] {
			return false
		}
	}
	rest := s[len(layout):]
	if rest[0] == '.' {
		n := 1
		for n < len(rest) && isDigit(rest[n]) {
			n++
		}
		if n == 1 {
			return false
		}
		rest = rest[n:]
	}
	if rest == "Z" {
		return true
	}
	return len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':' &&
		isDigit(rest[1]) && isDigit(rest[2]) && isDigit(rest[4]) && isDigit(rest[5]) &&
		(rest[1]-'0')*10+rest[2]-'0' < 24 && rest[4] < '6'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func notRFC3339(field, s string) error {
	return newError(ReasonInvalidValue, field, quote(s)+" is not an RFC 3339 time like 2026-11-25T01:15:02.123Z")
}

// unmarshal decodes p into v and turns encoding/json's errors into *Error.
func unmarshal(p []byte, v any) error {
	err := json.Unmarshal(p, v)
	if err == nil {
		// A key given twice, or in two cases, decodes as the last one:
		// what a reader of the payload sees may not be what is stored.
		return CheckKeys(p)
	}
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		// Field is a dotted Go path through the embedded structs
		// ("Rating.Header.id"); its last element is the JSON key.
		field := te.Field
		if i := strings.LastIndexByte(field, '.'); i >= 0 {
			field = field[i+1:]
		}
		return newError(ReasonWrongType, field, "JSON "+textclip.Clip(te.Value, maxQuoted)+" is not "+jsonType(te.Type))
	}
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		// The message names at most one offending character.
		return newError(ReasonMalformed, "", se.Error()+" at byte "+strconv.FormatInt(se.Offset, 10))
	}
	return newError(ReasonMalformed, "", "cannot decode JSON")
}

// jsonType names the JSON type a Go type accepts.
func jsonType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.Uint64, reflect.Uint, reflect.Uint32:
		return "a non-negative integer"
	case reflect.Float64, reflect.Float32:
		return "a number"
	case reflect.Slice:
		return "an array of " + strings.TrimPrefix(strings.TrimPrefix(jsonType(t.Elem()), "a "), "an ") + "s"
	case reflect.Pointer:
		return jsonType(t.Elem())
	case reflect.Struct:
		return "an object"
	}
	return "the expected type"
}

// Press is one raw press of a kiosk's hardware button, read by the agent
// from pscm/v1/{site}/kiosk/{kiosk}/press and turned into a Rating; which
// button means which level is configuration.
type Press struct {
	Button int    `json:"button"`
	Seq    uint64 `json:"seq,omitempty"` // the device's press counter, for dropping duplicates; 0 when absent
	// TS is when the button was pressed by the box's own clock, zero when
	// absent: a press the center's broker held while the agent was away is
	// judged, and stamped, at its own time rather than its arrival.
	TS time.Time `json:"ts,omitzero"`
}

// Buttons are numbered 1..maxButton.
const maxButton = 9

// DecodePress decodes a press payload. Simple firmware sends the bare button
// number ("3", surrounding whitespace allowed); richer firmware sends
// {"button":3,"seq":17,"ts":"2026-12-02T01:15:02.250Z"}. Errors are *Error.
func DecodePress(payload []byte) (Press, error) {
	if len(payload) > MaxPayload {
		return Press{}, tooLarge(len(payload))
	}
	if !utf8.Valid(payload) {
		return Press{}, newError(ReasonInvalidUTF8, "", "payload is not valid UTF-8")
	}
	p := trimBlank(payload)
	if len(p) == 0 {
		return Press{}, newError(ReasonMissing, "button", "empty payload")
	}
	if p[0] == '{' {
		var w struct {
			Button *int      `json:"button"`
			Seq    uint64    `json:"seq"`
			TS     time.Time `json:"ts"`
		}
		if err := unmarshal(p, &w); err != nil {
			return Press{}, err
		}
		if w.Button == nil {
			return Press{}, missing("button")
		}
		if *w.Button < 1 || *w.Button > maxButton {
			return Press{}, badButton(strconv.Itoa(*w.Button))
		}
		if w.Seq > math.MaxInt64 {
			// Kept as the rating's press_seq, an InfluxDB integer.
			return Press{}, newError(ReasonInvalidValue, "seq", strconv.FormatUint(w.Seq, 10)+" is above 9223372036854775807")
		}
		if !w.TS.IsZero() && w.TS.Unix() < minTSUnix {
			return Press{}, newError(ReasonTimeRange, "ts", w.TS.UTC().Format(time.RFC3339Nano)+" is before 2020-01-01T00:00:00Z")
		}
		return Press{Button: *w.Button, Seq: w.Seq, TS: w.TS.UTC()}, nil
	}
	for _, c := range p {
		if c < '0' || c > '9' {
			return Press{}, newError(ReasonMalformed, "", "want a button number 1..9 or a JSON object")
		}
	}
	if len(p) != 1 || p[0] == '0' {
		return Press{}, badButton(string(p))
	}
	return Press{Button: int(p[0] - '0')}, nil
}

func badButton(s string) error {
	return newError(ReasonInvalidValue, "button", quote(s)+" is not a button number 1..9")
}

func trimBlank(b []byte) []byte {
	blank := func(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
	for len(b) > 0 && blank(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && blank(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func decodeCase(p []byte) (Event, error) {
	var w caseWire
	if err := unmarshal(p, &w); err != nil {
		return nil, err
	}
	e := &w.Case
	if err := w.ts(&e.Header); err != nil {
		return nil, err
	}
	var err error
	if e.Received, err = parseTime("received", w.Received); err != nil {
		return nil, err
	}
	if w.Due != "" {
		if e.Due, err = parseTime("due", w.Due); err != nil {
			return nil, err
		}
	}
	if w.Late == nil {
		return nil, missing("late")
	}
	e.Late = *w.Late
	return e, nil
}
