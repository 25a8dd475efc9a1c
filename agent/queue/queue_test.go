package queue

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pscm/pscm/internal/schema"
)

type fakeOut struct {
	mu  sync.Mutex
	evs []schema.Event
	n   int
	now func() time.Time
	// fail, if set, decides whether an Emit fails (nothing spooled).
	fail func(ev schema.Event) error
}

func (f *fakeOut) Header() schema.Header {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	return schema.Header{ID: fmt.Sprintf("ID%03d", f.n), TS: f.now().Add(time.Duration(f.n)), Site: "anlao"}
}

func (f *fakeOut) EmitAll(_ context.Context, evs ...schema.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		for _, ev := range evs {
			if err := f.fail(ev); err != nil {
				return err // none of them, as the spool's append
			}
		}
	}
	f.evs = append(f.evs, evs...)
	return nil
}

func step(id, ts, ticket, counter, step string) []byte {
	c := ""
	if counter != "" {
		c = `,"counter":"` + counter + `"`
	}
	return []byte(`{"id":"` + id + `","ts":"` + ts + `","site":"anlao","ticket":"` + ticket + `","service":"ho-tich"` + c + `,"step":"` + step + `"}`)
}

func TestSessionFromSteps(t *testing.T) {
	now := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	out := &fakeOut{now: func() time.Time { return now }}
	tr := New(Defaults(), "anlao", out, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry(), func() time.Time { return now })
	ctx := context.Background()
	for _, p := range [][]byte{
		step("q1", "2026-11-25T01:00:00Z", "A012", "", "issued"),
		step("q2", "2026-11-25T01:10:12Z", "A012", "c03", "called"),
		step("q3", "2026-11-25T01:10:40Z", "A012", "c03", "started"),
		step("q4", "2026-11-25T01:22:50.5Z", "A012", "c03", "finished"),
		step("q5", "2026-11-25T01:05:00Z", "A013", "", "issued"),
		step("q6", "2026-11-25T01:15:00Z", "A013", "c04", "called"),
		step("q7", "2026-11-25T01:18:00Z", "A013", "c04", "no_show"),
	} {
		if err := tr.Step(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	var sessions []*schema.Session
	for _, ev := range out.evs {
		if s, ok := ev.(*schema.Session); ok {
			sessions = append(sessions, s)
		}
	}
	if len(out.evs) != 8 || len(sessions) != 1 {
		t.Fatalf("%d events, %d sessions; want 7 steps + 1 session", len(out.evs), len(sessions))
	}
	s := sessions[0]
	if s.Counter != "c03" || s.WaitS != 612 || s.ServiceS != 730.5 || s.Ticket != "A012" || s.Source != schema.SourceQueue {
		t.Fatalf("session %+v: want c03, wait 612 s, service 730.5 s", s)
	}
	if err := s.Validate(now); err != nil {
		t.Fatalf("session invalid: %v", err)
	}
	id, rated, ok := tr.ClaimSession("c03", now.Add(time.Minute))
	if !ok || rated || id != s.ID {
		t.Fatalf("claim: %q %v %v", id, rated, ok)
	}
	if _, rated, _ := tr.ClaimSession("c03", now.Add(time.Minute)); !rated {
		t.Fatal("second claim must say rated")
	}
	if _, _, ok := tr.ClaimSession("c04", now); ok {
		t.Fatal("no-show made a session")
	}
	if _, _, ok := tr.ClaimSession("c03", now.Add(10*time.Minute)); ok {
		t.Fatal("claim outside the rating window")
	}
}

func TestBadSteps(t *testing.T) {
	now := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	out := &fakeOut{now: func() time.Time { return now }}
	tr := New(Defaults(), "anlao", out, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry(), func() time.Time { return now })
	for _, p := range []string{
		`{`,
		string(step("q1", "2026-11-25T01:00:00Z", "A1", "c01", "teleported")),
		`{"id":"q1","ts":"2026-11-25T01:00:00Z","site":"other","ticket":"A1","service":"ho-tich","step":"issued"}`,
		string(step("q1", "2026-11-25T01:00:00Z", "A1", "c 01", "called")),
	} {
		if err := tr.Step(context.Background(), []byte(p)); err == nil {
			t.Errorf("accepted %s", p)
		}
	}
	if len(out.evs) != 0 {
		t.Fatalf("bad steps emitted %d events", len(out.evs))
	}
}
