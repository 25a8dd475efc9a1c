package pipeline

import (
	"testing"
	"time"

	"github.com/pscm/pscm/internal/schema"
)

var t0 = time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)

func sec(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

func session(id, counter string, src schema.SessionSource, start, end int) schema.Session {
	return schema.Session{Header: schema.Header{ID: id, TS: sec(end), Site: "anlao"}, Counter: counter,
		Start: sec(start), End: sec(end), ServiceS: float64(end - start), Source: src}
}

func TestFuseQueueFirst(t *testing.T) {
	f := newFuser(2 * time.Minute)
	q := session("s-1", "c01", schema.SourceQueue, 100, 400)
	q.Ticket, q.WaitS = "A012", 612
	if out := f.queue(q, sec(400)); len(out) != 0 {
		t.Fatalf("queue session sent at once: %v", out)
	}
	out := f.camera(session("c-1", "c01", schema.SourceCamera, 110, 415), sec(430))
	if len(out) != 1 {
		t.Fatalf("fused %d sessions, want 1", len(out))
	}
	s := out[0]
	if s.ID != "s-1" || s.Source != schema.SourceFused || s.Ticket != "A012" || s.WaitS != 612 ||
		!s.Start.Equal(sec(110)) || !s.End.Equal(sec(415)) || s.ServiceS != 305 {
		t.Fatalf("fused session %+v", s)
	}
	if f.len() != 0 {
		t.Fatalf("%d sessions left waiting", f.len())
	}
	if err := s.Validate(sec(500)); err != nil {
		t.Fatal(err)
	}
}

func TestFuseCameraFirstAndOtherCounter(t *testing.T) {
	f := newFuser(time.Minute)
	if out := f.camera(session("c-1", "c01", schema.SourceCamera, 100, 200), sec(215)); len(out) != 0 {
		t.Fatalf("camera session sent at once: %v", out)
	}
	// Another counter's ticket does not match.
	if out := f.queue(session("s-9", "c02", schema.SourceQueue, 100, 200), sec(216)); len(out) != 0 {
		t.Fatalf("c02 queue session matched c01's camera: %v", out)
	}
	// The officer pressed "finished" 20 s after the citizen left: still
	// the same citizen (within fuseSlack).
	out := f.queue(session("s-1", "c01", schema.SourceQueue, 205, 220), sec(220))
	if len(out) != 1 || out[0].ID != "s-1" || out[0].Source != schema.SourceFused {
		t.Fatalf("late finish not fused: %v", out)
	}
}

func TestFuseAloneAfterWindow(t *testing.T) {
	f := newFuser(time.Minute)
	f.camera(session("c-1", "c01", schema.SourceCamera, 100, 200), sec(215))
	f.queue(session("s-2", "c01", schema.SourceQueue, 500, 700), sec(700))
	if out := f.flush(sec(274)); len(out) != 0 {
		t.Fatalf("flushed before the window: %v", out)
	}
	out := f.flush(sec(275))
	if len(out) != 1 || out[0].ID != "c-1" || out[0].Source != schema.SourceCamera {
		t.Fatalf("after the window: %v", out)
	}
	out = f.flush(time.Time{})
	if len(out) != 1 || out[0].ID != "s-2" || out[0].Source != schema.SourceQueue {
		t.Fatalf("final flush: %v", out)
	}
	if f.len() != 0 {
		t.Fatal("not empty after the final flush")
	}
}

func TestFuseBounded(t *testing.T) {
	f := newFuser(time.Hour)
	var sent []schema.Session
	for i := range maxHeld + 3 {
		sent = append(sent, f.camera(session("c", "c01", schema.SourceCamera, i*100, i*100+50), sec(i*100+60))...)
	}
	if len(sent) != 3 || f.len() != maxHeld {
		t.Fatalf("sent %d, holding %d; want 3 and %d", len(sent), f.len(), maxHeld)
	}
	if !sent[0].Start.Equal(sec(0)) {
		t.Fatalf("the oldest should go first, got start %v", sent[0].Start)
	}
}

func TestFuseWindowZero(t *testing.T) {
	f := newFuser(0)
	if out := f.camera(session("c-1", "c01", schema.SourceCamera, 1, 2), sec(3)); len(out) != 1 {
		t.Fatalf("window 0 must send at once: %v", out)
	}
}
