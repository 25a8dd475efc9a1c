package schema

import (
	"bytes"
	"time"
)

// PointKey is an event's identity in InfluxDB: its series (measurement and
// tags, as AppendLine writes them) and its time in nanoseconds. Two events
// with the same key are one point: the later write replaces the earlier.
type PointKey struct {
	Series string
	NS     int64
}

// PointKeyOf returns ev's PointKey; ev must have passed Validate.
func PointKeyOf(ev Event) PointKey { return PointKeyOfLine(ev, ev.AppendLine(nil)) }

// PointKeyOfLine is PointKeyOf for a caller that already has ev's line
// (ev.AppendLine's output), so the line is not built twice.
func PointKeyOfLine(ev Event, line []byte) PointKey {
	// Validated tag values never hold a space, so the first space ends the
	// series.
	if i := bytes.IndexByte(line, ' '); i >= 0 {
		line = line[:i]
	}
	return PointKey{Series: string(line), NS: ev.Head().TS.UnixNano()}
}

// PointTime returns the time an event is stored at, so that sources that
// repeat a timestamp (a queue system stamping whole seconds) never put two
// events on one point: ts to the millisecond, and below it the first
// nanosecond offset that free accepts, tried upwards (mod one millisecond)
// from a start. The start is ts's own sub-millisecond part when it has one
// (a source that stamps nanoseconds, such as the agent's clock, keeps its
// exact time and order when free), else a hash of the event's ID (a whole
// millisecond: the IDs spread the events over the slots). If no offset is
// free, ts is returned.
//
// The same event (same ID, same ts, or the time PointTime gave it) always
// asks for the same candidates in the same order, so a retried event lands
// on its own point again.
func PointTime(id string, ts time.Time, free func(time.Time) bool) time.Time {
	ms := ts.Truncate(time.Millisecond)
	const span = int64(time.Millisecond)
	start := int64(ts.Sub(ms))
	if start == 0 {
		start = int64(fnv1a(id) % uint64(span))
	}
	for i := range span {
		t := ms.Add(time.Duration((start + i) % span))
		if free(t) {
			return t
		}
	}
	return ts
}

// fnv1a is the 64-bit FNV-1a hash.
func fnv1a(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// PointWindow remembers which event holds each of the last max points it
// was asked about, so a writer can tell a redelivery (same ID, harmless)
// from a collision (another ID, which would overwrite). It is not safe for
// concurrent use.
type PointWindow struct {
	owner map[PointKey]string
	ring  []PointKey
	next  int
	max   int
}

// NewPointWindow returns a window of n points (at least 1).
func NewPointWindow(n int) *PointWindow {
	return &PointWindow{owner: map[PointKey]string{}, max: max(n, 1)}
}

// Claim records that the event id holds key and reports true, or reports
// false, changing nothing, when another event holds it. The oldest point is
// forgotten when max are held.
func (w *PointWindow) Claim(key PointKey, id string) bool {
	if holder, taken := w.owner[key]; taken {
		return holder == id
	}
	if len(w.ring) < w.max {
		w.ring = append(w.ring, key)
	} else {
		delete(w.owner, w.ring[w.next])
		w.ring[w.next] = key
		w.next = (w.next + 1) % w.max
	}
	w.owner[key] = id
	return true
}

// Len returns how many points are remembered.
func (w *PointWindow) Len() int { return len(w.owner) }
