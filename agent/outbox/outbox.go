// Package outbox turns what the agent accepts into v1 events on their way
// out: it stamps each event with the agent's clock and a unique ID, checks it
// against the contract, and appends it to the durable spool. Only when
// Emit returns has the event been fsynced, so only then may the agent tell a
// kiosk or the queue system "accepted".
package outbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pscm/pscm/internal/schema"
)

// Appender is the part of the spool the outbox needs.
type Appender interface {
	Append(ctx context.Context, data ...[]byte) (uint64, error)
}

// Outbox stamps, validates and spools events.
type Outbox struct {
	site, agent string
	spool       Appender
	now         func() time.Time

	points *points

	mu   sync.Mutex
	last time.Time
}

// New returns an outbox for the agent's site and ID.
func New(site, agent string, spool Appender, now func() time.Time) *Outbox {
	return &Outbox{site: site, agent: agent, spool: spool, now: now, points: &points{win: schema.NewPointWindow(DefaultPointWindow)}}
}

// Stamp returns the next event time: the wall clock, but strictly after
// every time it returned before. The contract needs strictly increasing
// nanosecond timestamps per source, because a point's identity in InfluxDB is
// measurement + tags + time: two presses in the same nanosecond at one kiosk
// would otherwise be one point.
func (o *Outbox) Stamp() time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	t := o.now().UTC()
	if !t.After(o.last) {
		t = o.last.Add(time.Nanosecond)
	}
	o.last = t
	return t
}

// NewID returns a ULID: 48 bits of milliseconds and 80 random bits in
// Crockford base32, unique without coordination and sortable by time.
func NewID(t time.Time) string {
	var b [16]byte
	ms := uint64(t.UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	_, _ = rand.Read(b[6:]) // never fails on Linux (getrandom)
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	var out [26]byte
	// 128 bits -> 26 characters of 5 bits, the first holding the top 3 bits.
	var acc uint64
	bits := 0
	j := 25
	for i := 15; i >= 0; i-- {
		acc |= uint64(b[i]) << bits
		bits += 8
		for bits >= 5 && j >= 0 {
			out[j] = alphabet[acc&31]
			acc >>= 5
			bits -= 5
			j--
		}
	}
	if j >= 0 {
		out[j] = alphabet[acc&31]
	}
	return string(out[:])
}

// Header returns a header for a new event: a fresh ID, the next stamp and
// the agent's site.
func (o *Outbox) Header() schema.Header {
	ts := o.Stamp()
	return schema.Header{ID: NewID(ts), TS: ts, Site: o.site}
}

// Emit validates ev, encodes it and appends it to the spool; it returns once
// the event is durable. An invalid event is a bug in the agent (inputs are
// validated before they become events) and is refused, never spooled.
func (o *Outbox) Emit(ctx context.Context, ev schema.Event) error {
	return o.EmitAll(ctx, ev)
}

// EmitAll is Emit for events that must be spooled together or not at all
// (a queue step and the session it ends): one spool append, one fsync. An
// invalid one refuses all of them.
func (o *Outbox) EmitAll(ctx context.Context, evs ...schema.Event) error {
	recs := make([][]byte, 0, len(evs))
	for _, ev := range evs {
		rec, err := o.Encode(ev)
		if err != nil {
			return err
		}
		recs = append(recs, rec)
	}
	if len(recs) == 0 {
		return nil
	}
	_, err := o.spool.Append(ctx, recs...)
	return err
}

// Encode validates ev, moves its ts to its own InfluxDB point (the same
// millisecond; see points) and returns its spool record. ev's ts is changed
// in place, so what the caller keeps is what was spooled.
func (o *Outbox) Encode(ev schema.Event) ([]byte, error) {
	if err := ev.Validate(o.now()); err != nil {
		return nil, fmt.Errorf("outbox: invalid %s event: %w", ev.Kind(), err)
	}
	o.points.place(ev)
	payload, err := encodePayload(ev)
	if err != nil {
		return nil, err
	}
	return EncodeRecord(schema.TopicFor(o.site, ev.Kind(), o.agent), payload), nil
}

// Payload validates ev and returns its MQTT payload, for what is published
// directly rather than spooled (the retained agent status).
func (o *Outbox) Payload(ev schema.Event) ([]byte, error) {
	if err := ev.Validate(o.now()); err != nil {
		return nil, fmt.Errorf("outbox: invalid %s event: %w", ev.Kind(), err)
	}
	return encodePayload(ev)
}

// encodePayload returns the payload of a validated event.
func encodePayload(ev schema.Event) ([]byte, error) {
	payload, err := marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("outbox: encode %s: %w", ev.Kind(), err)
	}
	if len(payload) > schema.MaxPayload {
		return nil, fmt.Errorf("outbox: %s event of %d bytes exceeds %d", ev.Kind(), len(payload), schema.MaxPayload)
	}
	return payload, nil
}

// marshal encodes without HTML escaping: escaping turns each < > & into six
// bytes and could push a valid event over the payload limit.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// A spool record is the MQTT topic, a zero byte, and the payload: a topic is
// built from validated IDs and never holds a zero byte.

// EncodeRecord returns the spool record for a message.
func EncodeRecord(topic string, payload []byte) []byte {
	rec := make([]byte, 0, len(topic)+1+len(payload))
	rec = append(rec, topic...)
	rec = append(rec, 0)
	return append(rec, payload...)
}

// ErrBadRecord is returned for a record that is not topic\0payload.
var ErrBadRecord = errors.New("outbox: malformed spool record")

// DecodeRecord splits a spool record into topic and payload.
func DecodeRecord(rec []byte) (topic string, payload []byte, err error) {
	i := bytes.IndexByte(rec, 0)
	if i <= 0 {
		return "", nil, ErrBadRecord
	}
	if _, err := schema.ParseTopic(string(rec[:i])); err != nil {
		return "", nil, fmt.Errorf("%w: %w", ErrBadRecord, err)
	}
	return string(rec[:i]), rec[i+1:], nil
}
