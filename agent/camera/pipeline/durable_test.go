package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pscm/pscm/agent/camera/presence"
	"github.com/pscm/pscm/internal/schema"
)

// failingOut is a spool that refuses while fail is set.
type failingOut struct {
	recorder
	mu   sync.Mutex
	fail bool
}

func (f *failingOut) EmitAll(ctx context.Context, evs ...schema.Event) error {
	f.mu.Lock()
	fail := f.fail
	f.mu.Unlock()
	if fail {
		return errors.New("spool full")
	}
	return f.recorder.EmitAll(ctx, evs...)
}

// restartWatch is a Watch of counter c01 (both seats watched) as New makes
// it after a restart: it takes back what dir holds.
func restartWatch(t *testing.T, dir string, out Emitter, now func() time.Time) *Watch {
	t.Helper()
	w := &Watch{out: out, log: slog.New(slog.NewTextHandler(t.Output(), nil)), now: now, m: newMetrics(prometheus.NewRegistry()),
		counters: map[string]*counter{"c01": {id: "c01", seats: true}}, inflight: map[string]bool{}, stateDir: dir}
	w.fuse = newFuser(2 * time.Minute)
	if err := w.loadFusion(); err != nil {
		t.Fatal(err)
	}
	return w
}

// camera hands w a camera session of c01 from start to end, as a keyframe does.
func (w *Watch) cameraSession(ctx context.Context, start, end time.Time) {
	w.mu.Lock()
	w.cameraSessions(w.counters["c01"], []presence.Session{{Counter: "c01", Start: start, End: end}}, w.now())
	w.saveIfLocked()
	ready := w.takeSendingLocked()
	w.mu.Unlock()
	_ = w.send(ctx, ready)
}

func sessionsOf(evs []schema.Event) []*schema.Session {
	var out []*schema.Session
	for _, ev := range evs {
		if s, ok := ev.(*schema.Session); ok {
			out = append(out, s)
		}
	}
	return out
}

// TestFusionSurvivesCrashes (issue 12, item 5): a queue session waiting for
// the camera's, and a fused session decided but not yet spooled, outlive a
// crash; a step the queue system retries after the crash does not make its
// session wait again; across three crashes the citizen is one session,
// fused, and never also a queue session.
func TestFusionSurvivesCrashes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	now := time.Now().UTC().Truncate(time.Second)
	clock := func() time.Time { return now }

	h := schema.Header{ID: "s-ticket-7", TS: now, Site: "anlao"}
	qs := &schema.Session{Header: h, Counter: "c01", Start: now.Add(-5 * time.Minute), End: now,
		WaitS: 240, ServiceS: 300, Source: schema.SourceQueue, Ticket: "A007"}
	step := &schema.Queue{Header: schema.Header{ID: "q-7-finished", TS: now, Site: "anlao"}, Ticket: "A007",
		Service: "ho-tich", Counter: "c01", Step: schema.StepFinished}

	// Run 1: the step is spooled, its session waits (in fusion.json).
	out1 := &failingOut{}
	w1 := restartWatch(t, dir, out1, clock)
	if err := w1.Queue().EmitAll(ctx, step, qs); err != nil {
		t.Fatal(err)
	}
	if evs := out1.all(); len(evs) != 1 || len(sessionsOf(evs)) != 0 {
		t.Fatalf("run 1 spooled %d events (%d sessions), want the step alone", len(evs), len(sessionsOf(evs)))
	}

	// Crash. Run 2: the queue system retries the step; the camera's session
	// comes, the fused session is decided, and the spool refuses it.
	out2 := &failingOut{}
	w2 := restartWatch(t, dir, out2, clock)
	if n := w2.fuse.len(); n != 1 {
		t.Fatalf("after the crash %d sessions waiting, want the queue session", n)
	}
	if err := w2.Queue().EmitAll(ctx, step, qs); err != nil {
		t.Fatal(err)
	}
	out2.mu.Lock()
	out2.fail = true
	out2.mu.Unlock()
	w2.cameraSession(ctx, now.Add(-290*time.Second), now.Add(5*time.Second))
	if ss := sessionsOf(out2.all()); len(ss) != 0 {
		t.Fatalf("run 2 spooled %d sessions while the spool refused", len(ss))
	}

	// Crash. Run 3: the decided fused session is spooled at the first tick;
	// the step retried once more changes nothing, nor does the window passing.
	out3 := &failingOut{}
	w3 := restartWatch(t, dir, out3, clock)
	w3.tick(ctx, now.Add(time.Second))
	if err := w3.Queue().EmitAll(ctx, step, qs); err != nil {
		t.Fatal(err)
	}
	w3.tick(ctx, now.Add(10*time.Minute))
	ss := sessionsOf(out3.all())
	if len(ss) != 1 || ss[0].ID != "s-ticket-7" || ss[0].Source != schema.SourceFused || ss[0].Ticket != "A007" {
		t.Fatalf("run 3 spooled sessions %+v, want the one fused session of ticket A007", ss)
	}

	// Crash. Run 4: nothing is left to send.
	out4 := &failingOut{}
	w4 := restartWatch(t, dir, out4, clock)
	w4.tick(ctx, now.Add(20*time.Minute))
	if err := w4.Queue().EmitAll(ctx, step, qs); err != nil {
		t.Fatal(err)
	}
	w4.tick(ctx, now.Add(30*time.Minute))
	if ss := sessionsOf(out4.all()); len(ss) != 0 {
		t.Fatalf("run 4 spooled %+v: the citizen's session a second time", ss)
	}
}

// TestFusionStateDamaged: a damaged fusion.json stops the start with an
// error naming it, instead of dropping the sessions it holds.
func TestFusionStateDamaged(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, fusionFile), []byte(`{"held":[{"session":`), 0o600); err != nil {
		t.Fatal(err)
	}
	w := &Watch{stateDir: dir, fuse: newFuser(time.Minute), log: slog.New(slog.DiscardHandler)}
	err := w.loadFusion()
	if err == nil || !containsAll(err.Error(), fusionFile, "damaged") {
		t.Fatalf("loadFusion: %v, want an error naming %s", err, fusionFile)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// BenchmarkFusionSave: the cost of keeping fusion durable, one save of the
// fuser's state (write, fsync, rename, fsync of the directory) with 16
// sessions waiting and 64 remembered, against the same state kept in
// memory only, in one run. A counter a camera watches pays it twice per
// session (held, then sent).
//
//	go test -run '^$' -bench FusionSave -benchtime 200x ./agent/camera/pipeline/
func BenchmarkFusionSave(b *testing.B) {
	for _, durable := range []bool{false, true} {
		name := "memory"
		if durable {
			name = "fusion.json"
		}
		b.Run(name, func(b *testing.B) {
			w := &Watch{log: slog.New(slog.DiscardHandler), m: newMetrics(prometheus.NewRegistry()), fuse: newFuser(2 * time.Minute)}
			if durable {
				w.stateDir = b.TempDir()
			}
			now := time.Now().UTC()
			for i := range 16 {
				s := schema.Session{Header: schema.Header{ID: "s-" + string(rune('a'+i)), TS: now, Site: "anlao"}, Counter: "c01",
					Start: now.Add(-time.Minute), End: now, ServiceS: 60, Source: schema.SourceQueue, Ticket: "A001"}
				w.fuse.que["c01"] = append(w.fuse.que["c01"], held{s: s, at: now})
			}
			for i := range 64 {
				w.fuse.done["done-"+string(rune('a'+i%26))+string(rune('a'+i/26))] = now
			}
			b.ResetTimer()
			for range b.N {
				w.mu.Lock()
				w.fuse.changed = true // as after each session handed to the fuser
				if err := w.saveLocked(); err != nil {
					b.Fatal(err)
				}
				w.mu.Unlock()
			}
		})
	}
}

// TestTickSavesHeldSessions: a camera session the seats' clock ended in a
// tick, held for fusion, is on disk when the tick is over; a tick that
// changed nothing writes nothing.
func TestTickSavesHeldSessions(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().UTC().Truncate(time.Second)
	clock := func() time.Time { return now }
	w := restartWatch(t, dir, &failingOut{}, clock)
	w.tick(context.Background(), now)
	if _, err := os.Stat(filepath.Join(dir, fusionFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a tick that changed nothing wrote %s: %v", fusionFile, err)
	}
	w.mu.Lock()
	w.cameraSessions(w.counters["c01"], []presence.Session{{Counter: "c01", Start: now.Add(-time.Minute), End: now}}, now)
	w.mu.Unlock()
	w.tick(context.Background(), now)
	if n := restartWatch(t, dir, &failingOut{}, clock).fuse.len(); n != 1 {
		t.Fatalf("after the tick %d sessions on disk, want the held camera session", n)
	}
}
