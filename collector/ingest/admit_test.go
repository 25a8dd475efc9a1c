package ingest

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/testenv"
)

// fakeAdmitter refuses ratings of counter "c99" as unknown_id and, until
// loaded is closed, makes Load wait.
type fakeAdmitter struct {
	loaded    chan struct{}
	loadDone  atomic.Bool
	early     atomic.Bool // Admit ran before Load returned
	admitted  atomic.Int32
	loadCalls atomic.Int32
}

func (f *fakeAdmitter) Load(ctx context.Context) error {
	f.loadCalls.Add(1)
	if f.loaded != nil {
		select {
		case <-f.loaded:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.loadDone.Store(true)
	return nil
}

func (f *fakeAdmitter) Admit(ev schema.Event, _ time.Time) error {
	if !f.loadDone.Load() {
		f.early.Store(true)
	}
	if r, ok := ev.(*schema.Rating); ok && r.Counter == "c99" {
		return &schema.Error{Reason: schema.ReasonUnknownID, Field: "counter", Msg: `"c99" is not in the inventory`}
	}
	f.admitted.Add(1)
	return nil
}

// TestAdmissionRefusals: an event the admitter refuses is acknowledged,
// counted under its reason, logged and never written; the others are
// written; invalid messages never reach the admitter.
func TestAdmissionRefusals(t *testing.T) {
	w := &fakeWriter{}
	admit := &fakeAdmitter{}
	logs := &testenv.SyncBuffer{}
	cfg := Defaults()
	cfg.FlushInterval = time.Millisecond
	p, m, cancel, done := newTestAdmit(t, cfg, w, admit, logs)
	ts := time.Now().UTC().Add(-time.Minute)
	in := []*fakeMsg{
		ratingAt("r1", "c01", "satisfied", ts),
		ratingAt("r2", "c99", "satisfied", ts.Add(time.Second)),
		ratingAt("r3", "c02", "ecstatic", ts.Add(2*time.Second)), // invalid: never admitted or refused by admission
		ratingAt("r4", "c99", "neutral", ts.Add(3*time.Second)),
		ratingAt("r5", "c02", "neutral", ts.Add(4*time.Second)),
	}
	for _, x := range in {
		p.Handle(x)
	}
	waitFor(t, "acks", func() bool {
		for _, x := range in {
			if !x.acked.Load() {
				return false
			}
		}
		return true
	})
	if got := testutil.ToFloat64(m.rejected.WithLabelValues(string(schema.ReasonUnknownID))); got != 2 {
		t.Errorf("rejected_total{unknown_id} = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.rejected.WithLabelValues(string(schema.ReasonInvalidValue))); got != 1 {
		t.Errorf("rejected_total{invalid_value} = %v, want 1", got)
	}
	if got := admit.admitted.Load(); got != 2 {
		t.Errorf("admitted %d, want 2 (r1, r5)", got)
	}
	w.mu.Lock()
	all := strings.Join(w.batches, "")
	w.mu.Unlock()
	if w.points != 2 || !strings.Contains(all, `id="r1"`) || !strings.Contains(all, `id="r5"`) {
		t.Errorf("written %d points:\n%s\nwant r1 and r5 only", w.points, all)
	}
	if !strings.Contains(logs.String(), `msg="rejected message" topic=pscm/v1/anlao/rating reason=unknown_id`) {
		t.Errorf("no log line for the refusal:\n%s", logs.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestAdmitterLoadsFirst: no message is admitted, written or acknowledged
// before the admitter has loaded what is stored; messages wait meanwhile.
// A stop while loading leaves them unacknowledged, for the broker to
// redeliver.
func TestAdmitterLoadsFirst(t *testing.T) {
	w := &fakeWriter{}
	admit := &fakeAdmitter{loaded: make(chan struct{})}
	cfg := Defaults()
	cfg.FlushInterval = time.Millisecond
	p, _, cancel, done := newTestAdmit(t, cfg, w, admit, io.Discard)
	x := rating("waits")
	p.Handle(x)
	time.Sleep(20 * time.Millisecond) // give the pipeline a chance to (wrongly) take it
	if x.acked.Load() || admit.admitted.Load() != 0 {
		t.Fatal("a message was taken before the admitter loaded")
	}
	close(admit.loaded)
	waitFor(t, "ack", x.acked.Load)
	if admit.early.Load() || admit.loadCalls.Load() != 1 || w.points != 1 {
		t.Errorf("early=%v loads=%d points=%d; want Admit after one Load, one point", admit.early.Load(), admit.loadCalls.Load(), w.points)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	admit2 := &fakeAdmitter{loaded: make(chan struct{})}
	p2, _, cancel2, done2 := newTestAdmit(t, cfg, &fakeWriter{}, admit2, io.Discard)
	y := rating("stopped")
	p2.Handle(y)
	cancel2()
	if err := <-done2; err != nil {
		t.Fatalf("Run stopped while loading: %v", err)
	}
	if y.acked.Load() {
		t.Fatal("a message was acknowledged though never written")
	}
	p2.Handle(rating("after")) // must not block after the stop
}

// TestRejectLogPerReason: a flood refused for one reason uses up only that
// reason's log budget; a refusal for another reason right after it is
// still logged (both are counted either way).
func TestRejectLogPerReason(t *testing.T) {
	w := &fakeWriter{}
	logs := &testenv.SyncBuffer{}
	cfg := Defaults()
	cfg.FlushInterval = time.Millisecond
	p, m, cancel, done := newTestAdmit(t, cfg, w, &fakeAdmitter{}, logs)
	ts := time.Now().UTC().Add(-time.Minute)
	var in []*fakeMsg
	for i := range 300 {
		in = append(in, ratingAt(fmt.Sprint("f", i), "c99", "neutral", ts.Add(time.Duration(i)*time.Millisecond)))
	}
	in = append(in, ratingAt("bad", "c01", "ecstatic", ts))
	for _, x := range in {
		p.Handle(x)
	}
	waitFor(t, "acks", func() bool { return in[len(in)-1].acked.Load() })
	if got := testutil.ToFloat64(m.rejected.WithLabelValues(string(schema.ReasonUnknownID))); got != 300 {
		t.Errorf("rejected_total{unknown_id} = %v, want 300", got)
	}
	log := logs.String()
	if n := strings.Count(log, "reason=unknown_id"); n < 100 || n >= 300 {
		t.Errorf("%d log lines for 300 unknown_id refusals, want the burst of 100 and a few more", n)
	}
	if !strings.Contains(log, "reason=invalid_value") {
		t.Error("the refusal after the flood was not logged")
	}
	cancel()
	<-done
}
