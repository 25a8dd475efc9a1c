package schema

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// lineWriter appends one InfluxDB 1.8 line-protocol point. Callers write tags
// and then fields in key order: InfluxDB sorts tags itself, and sorted input
// saves it the work, and a fixed field order keeps lines comparable in tests.
//
// Each field key always has one type (InfluxDB rejects a point whose field
// type differs from the shard's), so each kind's AppendLine writes every
// field with one helper only.
type lineWriter struct {
	b   []byte
	sep byte // ',' between tags and fields, ' ' before the first field
}

func newLine(dst []byte, k Kind) lineWriter {
	return lineWriter{b: append(dst, k...), sep: ','}
}

// tag writes key=val, or nothing when val is empty: InfluxDB has no empty
// tags. val is a validated ID or enum value and so needs no escaping.
func (w *lineWriter) tag(key, val string) {
	if val == "" {
		return
	}
	w.b = append(w.b, ',')
	w.b = append(w.b, key...)
	w.b = append(w.b, '=')
	w.b = append(w.b, val...)
}

// fields ends the tag set.
func (w *lineWriter) fields() { w.sep = ' ' }

func (w *lineWriter) key(k string) {
	w.b = append(w.b, w.sep)
	w.sep = ','
	w.b = append(w.b, k...)
	w.b = append(w.b, '=')
}

// str writes a string field, or nothing when v is empty (absent optional).
func (w *lineWriter) str(k, v string) {
	if v == "" {
		return
	}
	w.key(k)
	w.b = appendQuoted(w.b, v)
}

// join writes a string field of the values joined with commas.
func (w *lineWriter) join(k string, vs []string) {
	if len(vs) == 0 {
		return
	}
	w.key(k)
	w.b = append(w.b, '"')
	for i, v := range vs {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.b = appendEscaped(w.b, v)
	}
	w.b = append(w.b, '"')
}

// time writes a time as an RFC 3339 string field in UTC, to the nanosecond.
func (w *lineWriter) time(k string, t time.Time) {
	w.key(k)
	w.b = append(w.b, '"')
	w.b = t.UTC().AppendFormat(w.b, time.RFC3339Nano)
	w.b = append(w.b, '"')
}

func (w *lineWriter) float(k string, v float64) {
	w.key(k)
	w.b = appendFloat(w.b, v)
}

func (w *lineWriter) int(k string, v int64) {
	w.key(k)
	w.b = strconv.AppendInt(w.b, v, 10)
	w.b = append(w.b, 'i')
}

func (w *lineWriter) bool(k string, v bool) {
	w.key(k)
	w.b = strconv.AppendBool(w.b, v)
}

// end writes the timestamp in nanoseconds and the newline.
func (w *lineWriter) end(ts time.Time) []byte {
	w.b = append(w.b, ' ')
	w.b = strconv.AppendInt(w.b, ts.UnixNano(), 10)
	return append(w.b, '\n')
}

// appendQuoted appends s as a line-protocol string field value.
func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendEscaped(b, s)
	return append(b, '"')
}

// appendEscaped escapes the two bytes a string field value cannot hold as
// they are: the double quote and the backslash.
func appendEscaped(b []byte, s string) []byte {
	for {
		i := strings.IndexAny(s, `"\`)
		if i < 0 {
			return append(b, s...)
		}
		b = append(b, s[:i]...)
		b = append(b, '\\', s[i])
		s = s[i+1:]
	}
}

// appendFloat formats like encoding/json: plain decimals, exponent only for
// very large or small magnitudes. InfluxDB reads a number without the 'i'
// suffix as a float, so 612 is a float; -0 is written as 0.
func appendFloat(b []byte, v float64) []byte {
	if v == 0 {
		return append(b, '0')
	}
	format := byte('f')
	if abs := math.Abs(v); abs < 1e-6 || abs >= 1e21 {
		format = 'e'
	}
	return strconv.AppendFloat(b, v, format, -1, 64)
}

func formatFloat(v float64) string {
	return string(appendFloat(nil, v))
}

// AppendLine appends e's point: tags counter, kiosk, level, site; fields id,
// press_id, press_seq (each when set), reasons (joined with commas), session.
func (e *Rating) AppendLine(dst []byte) []byte {
	w := newLine(dst, KindRating)
	w.tag("counter", e.Counter)
	w.tag("kiosk", e.Kiosk)
	w.tag("level", string(e.Level))
	w.tag("site", e.Site)
	w.fields()
	w.str("id", e.ID)
	w.str("press_id", e.PressID)
	if e.PressSeq != 0 {
		w.int("press_seq", e.PressSeq)
	}
	w.join("reasons", e.Reasons)
	w.str("session", e.Session)
	return w.end(e.TS)
}

// AppendLine appends e's point: tags counter, service, site, step; fields
// id, ticket.
func (e *Queue) AppendLine(dst []byte) []byte {
	w := newLine(dst, KindQueue)
	w.tag("counter", e.Counter)
	w.tag("service", e.Service)
	w.tag("site", e.Site)
	w.tag("staff", e.Staff)
	w.tag("step", string(e.Step))
	w.fields()
	w.str("id", e.ID)
	w.str("ticket", e.Ticket)
	return w.end(e.TS)
}

// AppendLine appends e's point: tags camera, counter, site, zone; fields
// confidence (when reported), id, occupied, state (when sent).
func (e *Occupancy) AppendLine(dst []byte) []byte {
	w := newLine(dst, KindOccupancy)
	w.tag("camera", e.Camera)
	w.tag("counter", e.Counter)
	w.tag("site", e.Site)
	w.tag("zone", string(e.Zone))
	w.fields()
	if e.Confidence != 0 {
		w.float("confidence", e.Confidence)
	}
	w.str("id", e.ID)
	w.bool("occupied", e.Occupied)
	w.str("state", string(e.State))
	return w.end(e.TS)
}

// AppendLine appends e's point: tags counter, site, source; fields end, id,
// service_s, start, ticket, wait_s.
func (e *Session) AppendLine(dst []byte) []byte {
	w := newLine(dst, KindSession)
	w.tag("counter", e.Counter)
	w.tag("site", e.Site)
	w.tag("source", string(e.Source))
	w.fields()
	w.time("end", e.End)
	w.str("id", e.ID)
	w.float("service_s", e.ServiceS)
	w.time("start", e.Start)
	w.str("ticket", e.Ticket)
	w.float("wait_s", e.WaitS)
	return w.end(e.TS)
}

// AppendLine appends e's point: tags official, outcome, site; fields
// dossier, due, id, procedure, received, resolved.
func (e *Dossier) AppendLine(dst []byte) []byte {
	w := newLine(dst, KindDossier)
	w.tag("official", e.Official)
	w.tag("outcome", string(e.Outcome))
	w.tag("site", e.Site)
	w.fields()
	w.str("dossier", e.Dossier)
	w.time("due", e.Due)
	w.str("id", e.ID)
	w.str("procedure", e.Procedure)
	w.time("received", e.Received)
	w.time("resolved", e.Resolved)
	return w.end(e.TS)
}

// AppendLine appends e's point: tags camera, codec, site; fields fps, gop_s,
// height, id, kbps, reconnects, up, width.
func (e *Camera) AppendLine(dst []byte) []byte {
	w := newLine(dst, KindCamera)
	w.tag("camera", e.Camera)
	w.tag("codec", e.Codec)
	w.tag("site", e.Site)
	w.fields()
	w.float("fps", e.FPS)
	w.float("gop_s", e.GopS)
	w.int("height", int64(e.Height))
	w.str("id", e.ID)
	w.float("kbps", e.Kbps)
	w.int("reconnects", e.Reconnects)
	w.bool("up", e.Up)
	w.int("width", int64(e.Width))
	return w.end(e.TS)
}

// AppendLine appends e's point: tags agent, site; fields id, spool_depth,
// status, uptime_s, version.
func (e *Agent) AppendLine(dst []byte) []byte {
	w := newLine(dst, KindAgent)
	w.tag("agent", e.Agent)
	w.tag("site", e.Site)
	w.fields()
	w.str("id", e.ID)
	w.int("spool_depth", e.SpoolDepth)
	w.str("status", e.Status)
	w.float("uptime_s", e.UptimeS)
	w.str("version", e.Version)
	return w.end(e.TS)
}

// AppendLine appends e's point: tags case_kind, channel, counter, service,
// site, step; fields case, due, extend_days, id, late, received.
func (e *Case) AppendLine(dst []byte) []byte {
	w := newLine(dst, KindCase)
	w.tag("case_kind", e.CaseKind)
	w.tag("channel", e.Channel)
	w.tag("counter", e.Counter)
	w.tag("service", e.Service)
	w.tag("site", e.Site)
	w.tag("step", string(e.Step))
	w.fields()
	w.str("case", e.Case)
	if !e.Due.IsZero() {
		w.time("due", e.Due)
	}
	if e.ExtendDays != 0 {
		w.int("extend_days", int64(e.ExtendDays))
	}
	w.str("id", e.ID)
	w.bool("late", e.Late)
	w.time("received", e.Received)
	return w.end(e.TS)
}
