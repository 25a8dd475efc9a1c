package ingest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pscm/pscm/internal/schema"
)

type fakeMsg struct {
	topic   string
	payload []byte
	acked   atomic.Bool
	order   *ackLog
}

func (m *fakeMsg) Topic() string   { return m.topic }
func (m *fakeMsg) Payload() []byte { return m.payload }
func (m *fakeMsg) Ack() {
	if m.acked.Swap(true) {
		panic("acked twice")
	}
	if m.order != nil {
		m.order.add(m)
	}
}

type ackLog struct {
	mu   sync.Mutex
	msgs []*fakeMsg
}

func (a *ackLog) add(m *fakeMsg) { a.mu.Lock(); a.msgs = append(a.msgs, m); a.mu.Unlock() }

// fakeWriter records batches; block makes every write wait until released.
type fakeWriter struct {
	mu      sync.Mutex
	batches []string
	points  int
	err     error
	block   chan struct{}
}

func (w *fakeWriter) Write(ctx context.Context, lines []byte, n int) error {
	if w.block != nil {
		select {
		case <-w.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	w.batches = append(w.batches, string(lines))
	w.points += n
	return nil
}

var errPermanent = errors.New("permanent")

func newTest(t *testing.T, cfg Config, w Writer) (*Pipeline, *Metrics, context.CancelFunc, chan error) {
	t.Helper()
	return newTestAdmit(t, cfg, w, nil, io.Discard)
}

// newTestAdmit is newTest with an Admitter, logging to log.
func newTestAdmit(t *testing.T, cfg Config, w Writer, admit Admitter, log io.Writer) (*Pipeline, *Metrics, context.CancelFunc, chan error) {
	t.Helper()
	m := NewMetrics(prometheus.NewRegistry(), cfg)
	p := New(cfg, w, func(err error) (int, bool) { return 1, errors.Is(err, errPermanent) }, admit, 200*time.Millisecond,
		slog.New(slog.NewTextHandler(log, nil)), m, time.Now)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	return p, m, cancel, done
}

func rating(id string) *fakeMsg {
	ts := time.Now().UTC().Format(time.RFC3339Nano)
	return &fakeMsg{topic: "pscm/v1/anlao/rating",
		payload: []byte(`{"id":"` + id + `","ts":"` + ts + `","site":"anlao","counter":"c01","kiosk":"k01","level":"satisfied"}`)}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestAckOnlyAfterWriteInOrder(t *testing.T) {
	w := &fakeWriter{block: make(chan struct{})}
	p, _, cancel, done := newTest(t, Config{BatchSize: 3, FlushInterval: time.Millisecond, MaxInflight: 100, Writers: 2}, w)
	log := &ackLog{}
	var msgs []*fakeMsg
	for i := range 7 {
		m := rating(string(rune('a' + i)))
		m.order = log
		msgs = append(msgs, m)
		p.Handle(m)
	}
	time.Sleep(20 * time.Millisecond) // give the pipeline a chance to (wrongly) ack
	for _, m := range msgs {
		if m.acked.Load() {
			t.Fatal("acked before the write")
		}
	}
	close(w.block)
	waitFor(t, "all acks", func() bool { log.mu.Lock(); defer log.mu.Unlock(); return len(log.msgs) == 7 })
	for i, m := range log.msgs {
		if m != msgs[i] {
			t.Fatalf("ack %d out of order", i)
		}
	}
	for _, b := range w.batches {
		if n := strings.Count(b, "\n"); n > 3 {
			t.Fatalf("batch of %d points, size is 3", n)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestRejectedAreAckedNotWritten(t *testing.T) {
	w := &fakeWriter{}
	p, m, cancel, done := newTest(t, Defaults(), w)
	bad := []*fakeMsg{
		{topic: "pscm/v1/anlao/complaint", payload: rating("x").payload},
		{topic: "pscm/v1/anlao/rating", payload: []byte(`{`)},
	}
	for _, b := range bad {
		p.Handle(b)
	}
	waitFor(t, "acks", func() bool { return bad[0].acked.Load() && bad[1].acked.Load() })
	if got := testutil.ToFloat64(m.rejected.WithLabelValues("unknown_kind")); got != 1 {
		t.Errorf("unknown_kind = %v", got)
	}
	if got := testutil.ToFloat64(m.rejected.WithLabelValues("malformed_json")); got != 1 {
		t.Errorf("malformed_json = %v", got)
	}
	if w.points != 0 || len(w.batches) != 0 {
		t.Errorf("wrote %d points", w.points)
	}
	cancel()
	<-done
}

func TestPermanentRefusalIsAckedAndCounted(t *testing.T) {
	w := &fakeWriter{err: errPermanent}
	p, m, cancel, done := newTest(t, Defaults(), w)
	msg := rating("p1")
	p.Handle(msg)
	waitFor(t, "ack", msg.acked.Load)
	if got := testutil.ToFloat64(m.rejected.WithLabelValues(reasonInfluxRejected)); got != 1 {
		t.Errorf("influxdb_rejected = %v", got)
	}
	cancel()
	<-done
}

func TestShutdownFlushesAndTimeoutLeavesUnacked(t *testing.T) {
	// Writer works: shutdown writes and acks what was queued.
	w := &fakeWriter{}
	p, _, cancel, done := newTest(t, Config{BatchSize: 1000, FlushInterval: time.Minute, MaxInflight: 2000, Writers: 1}, w)
	msg := rating("s1")
	p.Handle(msg)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !msg.acked.Load() || w.points != 1 {
		t.Fatalf("shutdown did not flush: acked=%v points=%d", msg.acked.Load(), w.points)
	}
	// After Run returned, Handle neither blocks nor acks.
	late := rating("late")
	p.Handle(late)
	if late.acked.Load() {
		t.Fatal("message after shutdown acked")
	}

	// Writer blocked forever: the shutdown timeout ends Run, the message stays unacked.
	w2 := &fakeWriter{block: make(chan struct{})}
	p2, _, cancel2, done2 := newTest(t, Defaults(), w2)
	msg2 := rating("s2")
	p2.Handle(msg2)
	time.Sleep(20 * time.Millisecond)
	cancel2()
	if err := <-done2; err != nil {
		t.Fatalf("Run after shutdown timeout: %v", err)
	}
	if msg2.acked.Load() {
		t.Fatal("unwritten message acked")
	}
}

func TestHandleBlocksWhenInflightFull(t *testing.T) {
	w := &fakeWriter{block: make(chan struct{})}
	cfg := Config{BatchSize: 2, FlushInterval: time.Millisecond, MaxInflight: 8, Writers: 2}
	p, m, cancel, done := newTest(t, cfg, w)
	// Writer holds batch 1 (2 msgs), batcher holds batch 2 (2 msgs) and can't
	// send it; the queue takes MaxInflight more; the next Handle must block.
	var handled atomic.Int32
	go func() {
		for i := range 20 {
			p.Handle(rating(string(rune('a' + i))))
			handled.Add(1)
		}
	}()
	waitFor(t, "handler to block", func() bool { return testutil.ToFloat64(m.blocked) >= 1 })
	n := handled.Load()
	if n >= 20 {
		t.Fatalf("all 20 handled while the writer was stuck")
	}
	if got := testutil.ToFloat64(m.inflight); got > float64(cfg.MaxInflight) {
		t.Fatalf("inflight %v above the bound", got)
	}
	close(w.block)
	waitFor(t, "all handled", func() bool { return handled.Load() == 20 })
	waitFor(t, "all written", func() bool { w.mu.Lock(); defer w.mu.Unlock(); return w.points == 20 })
	cancel()
	<-done
}

func TestFilters(t *testing.T) {
	fs := Filters("", []string{"+"})
	if len(fs) != 2 || fs[0] != "pscm/v1/+/+" || fs[1] != "pscm/v1/+/+/+" {
		t.Fatalf("filters = %v", fs)
	}
	for _, f := range fs {
		if strings.Contains(f, "#") {
			t.Fatalf("wildcard # in %s", f)
		}
	}
	shared := Filters("g1", []string{"anlao"})
	if shared[0] != "$share/g1/pscm/v1/anlao/+" {
		t.Fatalf("shared = %v", shared[0])
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Defaults(), ""},
		{Config{BatchSize: 0, FlushInterval: time.Millisecond, MaxInflight: 10, Writers: 1}, "size"},
		{Config{BatchSize: 10, FlushInterval: 0, MaxInflight: 100, Writers: 1}, "flush_interval"},
		{Config{BatchSize: 10, FlushInterval: time.Millisecond, MaxInflight: 39, Writers: 2}, "at least (writers+2) x size = 40"},
		{Config{BatchSize: 10, FlushInterval: time.Millisecond, MaxInflight: 100, Writers: 0}, "writers"},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if (tt.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate(%+v) = %v, want %q", tt.cfg, err, tt.want)
		}
	}
}

// TestPointConflictRefused: an event that would land on another event's
// point (same measurement, tags and ts, another id) is refused with
// point_conflict and acknowledged, never written; the same event again (a
// redelivery) is written again, harmlessly.
func TestPointConflictRefused(t *testing.T) {
	w := &fakeWriter{}
	cfg := Defaults()
	cfg.FlushInterval = time.Millisecond
	p, m, cancel, done := newTest(t, cfg, w)
	step := func(id, ticket string) *fakeMsg {
		return msg("queue", "", `{"id":"`+id+`","ts":"2026-11-25T01:02:10Z","site":"anlao","ticket":"`+ticket+`","service":"ho-tich","step":"issued"}`)
	}
	in := []*fakeMsg{step("q1", "A012"), step("q2", "A013"), step("q1", "A012")}
	for _, x := range in {
		p.Handle(x)
	}
	waitFor(t, "acks", func() bool { return in[0].acked.Load() && in[1].acked.Load() && in[2].acked.Load() })
	if got := testutil.ToFloat64(m.rejected.WithLabelValues(string(schema.ReasonPointConflict))); got != 1 {
		t.Errorf("point_conflict = %v, want 1", got)
	}
	w.mu.Lock()
	all := strings.Join(w.batches, "")
	w.mu.Unlock()
	if strings.Count(all, `id="q1"`) != 2 || strings.Contains(all, `id="q2"`) {
		t.Errorf("written:\n%s\nwant q1 twice (a redelivery overwrites itself) and never q2", all)
	}
	cancel()
	<-done
}
