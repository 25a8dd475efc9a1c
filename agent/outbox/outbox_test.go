package outbox

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/schema"
)

type memSpool struct {
	mu   sync.Mutex
	recs [][]byte
}

func (m *memSpool) Append(_ context.Context, data ...[]byte) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recs = append(m.recs, data...)
	return uint64(len(m.recs)), nil
}

func TestStampStrictlyIncreasing(t *testing.T) {
	fixed := time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)
	o := New("anlao", "anlao-edge-1", &memSpool{}, func() time.Time { return fixed })
	prev := o.Stamp()
	for range 1000 {
		ts := o.Stamp()
		if !ts.After(prev) {
			t.Fatalf("%v not after %v", ts, prev)
		}
		prev = ts
	}
}

func TestNewIDUnique(t *testing.T) {
	seen := map[string]bool{}
	now := time.Now()
	for range 10000 {
		id := NewID(now)
		if len(id) != 26 || seen[id] {
			t.Fatalf("bad or repeated id %q", id)
		}
		seen[id] = true
	}
	if a, b := NewID(now), NewID(now.Add(time.Second)); a[:10] >= b[:10] {
		t.Fatalf("ids not time-ordered: %s %s", a, b)
	}
}

func TestEmitRoundTrip(t *testing.T) {
	sp := &memSpool{}
	o := New("anlao", "anlao-edge-1", sp, time.Now)
	ev := &schema.Rating{Header: o.Header(), Counter: "c03", Kiosk: "k03", Level: schema.LevelSatisfied, Reasons: []string{"<&>"}}
	if err := o.Emit(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	topic, payload, err := DecodeRecord(sp.recs[0])
	if err != nil {
		t.Fatal(err)
	}
	if topic != "pscm/v1/anlao/rating/anlao-edge-1" {
		t.Fatalf("topic %q", topic)
	}
	if strings.Contains(string(payload), `\u003c`) {
		t.Fatalf("HTML-escaped payload: %s", payload)
	}
	got, err := schema.DecodeMessage(topic, payload, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got.Head().ID != ev.ID || !got.Head().TS.Equal(ev.TS) {
		t.Fatalf("round trip changed the event: %+v", got)
	}
}

func TestEmitRefusesInvalid(t *testing.T) {
	sp := &memSpool{}
	o := New("anlao", "anlao-edge-1", sp, time.Now)
	ev := &schema.Rating{Header: o.Header(), Counter: "C 03", Kiosk: "k03", Level: schema.LevelSatisfied}
	if err := o.Emit(context.Background(), ev); err == nil || schema.ReasonOf(err) != schema.ReasonInvalidID {
		t.Fatalf("err = %v", err)
	}
	if len(sp.recs) != 0 {
		t.Fatal("invalid event spooled")
	}
}

func TestDecodeRecordErrors(t *testing.T) {
	for _, rec := range []string{"", "\x00payload", "no-separator", "not/a/topic\x00{}"} {
		if _, _, err := DecodeRecord([]byte(rec)); err == nil {
			t.Errorf("DecodeRecord(%q) accepted", rec)
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add([]byte("pscm/v1/anlao/rating/anlao-edge-1\x00{}"))
	f.Add([]byte("\x00"))
	f.Fuzz(func(t *testing.T, rec []byte) {
		topic, payload, err := DecodeRecord(rec)
		if err != nil {
			return
		}
		if got := EncodeRecord(topic, payload); string(got) != string(rec) {
			t.Fatalf("re-encode %q != %q", got, rec)
		}
	})
}

// TestEqualTimestampsGetTheirOwnPoints: three tickets issued in one whole
// second for one service are three points, each in the source's
// millisecond; the same step spooled again keeps its point.
func TestEqualTimestampsGetTheirOwnPoints(t *testing.T) {
	sp := &memSpool{}
	o := New("anlao", "anlao-edge-1", sp, time.Now)
	ts := time.Now().UTC().Truncate(time.Second).Add(-time.Minute)
	step := func(id, ticket string) *schema.Queue {
		return &schema.Queue{Header: schema.Header{ID: id, TS: ts, Site: "anlao"}, Ticket: ticket, Service: "ho-tich", Step: schema.StepIssued}
	}
	keys := map[schema.PointKey]string{}
	var first schema.PointKey
	for i, id := range []string{"q1", "q2", "q3"} {
		ev := step(id, "A01"+id[1:])
		if err := o.Emit(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
		if ev.TS.Truncate(time.Millisecond) != ts {
			t.Fatalf("%s: ts %v left the source's millisecond %v", id, ev.TS, ts)
		}
		k := schema.PointKeyOf(ev)
		if other, dup := keys[k]; dup {
			t.Fatalf("%s and %s share the point %+v", id, other, k)
		}
		keys[k] = id
		if i == 0 {
			first = k
		}
	}
	again := step("q1", "A011")
	if err := o.Emit(context.Background(), again); err != nil {
		t.Fatal(err)
	}
	if schema.PointKeyOf(again) != first {
		t.Fatalf("q1 again: %+v, want its own point %+v", schema.PointKeyOf(again), first)
	}
	// What was spooled is what the caller holds.
	_, payload, err := DecodeRecord(sp.recs[3])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(payload), again.TS.Format(time.RFC3339Nano)) {
		t.Fatalf("spooled %s, event holds ts %v", payload, again.TS)
	}
}
