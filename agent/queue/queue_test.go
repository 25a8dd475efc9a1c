package queue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

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
	tr := New(testConfig(), "anlao", out, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry(), func() time.Time { return now })
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
	tr := New(testConfig(), "anlao", out, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry(), func() time.Time { return now })
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

// testConfig is Defaults with the services and counters the tests name.
func testConfig() Config {
	c := Defaults()
	c.Services = []string{"ho-tich", "dat-dai"}
	c.Counters = []string{"c01", "c02", "c03", "c04"}
	return c
}

// TestStepAdmission (issue 18, rows 3 and 12): a step stamped before
// max_ticket_age or after max_skew, or for a service or counter the center
// does not have, is refused with a reason and counted, and makes no
// session; with open: true any service and counter is taken.
func TestStepAdmission(t *testing.T) {
	now := time.Date(2026, 12, 2, 2, 0, 0, 0, time.UTC)
	step := func(id string, ts time.Time, service, counter, st string) []byte {
		c := ""
		if counter != "" {
			c = `,"counter":"` + counter + `"`
		}
		return []byte(`{"id":"` + id + `","ts":"` + ts.Format(time.RFC3339) + `","site":"anlao","ticket":"A1","service":"` + service + `"` + c + `,"step":"` + st + `"}`)
	}
	for _, tc := range []struct {
		name    string
		payload []byte
		field   string
		reason  schema.Reason
	}{
		{"issued in 2020", step("a", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), "ho-tich", "", "issued"), "ts", schema.ReasonTimeRange},
		{"13 h old", step("b", now.Add(-13*time.Hour), "ho-tich", "", "issued"), "ts", schema.ReasonTimeRange},
		{"finished 23 h ahead", step("c", now.Add(23*time.Hour), "ho-tich", "c01", "finished"), "ts", schema.ReasonTimeRange},
		{"3 min ahead", step("d", now.Add(3*time.Minute), "ho-tich", "c01", "called"), "ts", schema.ReasonTimeRange},
		{"unknown service", step("e", now, "xuat-nhap-canh", "", "issued"), "service", schema.ReasonInvalidValue},
		{"unknown counter", step("f", now, "ho-tich", "c99", "called"), "counter", schema.ReasonInvalidValue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := &fakeOut{now: func() time.Time { return now }}
			reg := prometheus.NewRegistry()
			tr := New(testConfig(), "anlao", out, slog.New(slog.DiscardHandler), reg, func() time.Time { return now })
			err := tr.Step(context.Background(), tc.payload)
			var se *schema.Error
			if !errors.As(err, &se) || se.Field != tc.field || se.Reason != tc.reason {
				t.Fatalf("Step: %v, want %s on %s", err, tc.reason, tc.field)
			}
			if len(out.evs) != 0 {
				t.Fatalf("refused step spooled %d events", len(out.evs))
			}
			if got := testutil.ToFloat64(tr.rejected.WithLabelValues(string(tc.reason))); got != 1 {
				t.Fatalf("queue_rejected_total{reason=%s} = %v, want 1", tc.reason, got)
			}
			open := testConfig()
			open.Open = true
			tr = New(open, "anlao", out, slog.New(slog.DiscardHandler), prometheus.NewRegistry(), func() time.Time { return now })
			err = tr.Step(context.Background(), tc.payload)
			if tc.field == "ts" && err == nil || tc.field != "ts" && err != nil {
				t.Fatalf("with open: true: %v", err)
			}
		})
	}
}
