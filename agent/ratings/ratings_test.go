package ratings

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pscm/pscm/internal/schema"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type fakeOut struct {
	clock *clock
	mu    sync.Mutex
	evs   []*schema.Rating
	n     int
	err   error
}

func (f *fakeOut) Header() schema.Header {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	return schema.Header{ID: "r" + string(rune('a'+f.n)), TS: f.clock.now().Add(time.Duration(f.n)), Site: "anlao"}
}

func (f *fakeOut) Emit(_ context.Context, ev schema.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	if err := ev.Validate(f.clock.now()); err != nil {
		return err
	}
	f.evs = append(f.evs, ev.(*schema.Rating))
	return nil
}

type fakeSessions struct {
	id    string
	rated bool
}

func (f *fakeSessions) UnclaimSession(_, id string) {
	if id == f.id {
		f.rated = false
	}
}

func (f *fakeSessions) ClaimSession(string, time.Time) (string, bool, bool) {
	if f.id == "" {
		return "", false, false
	}
	r := f.rated
	f.rated = true
	return f.id, r, true
}

func newService(t *testing.T, sess Sessions) (*Service, *fakeOut, *clock) {
	c := &clock{t: time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC)}
	out := &fakeOut{clock: c}
	buttons := []schema.Level{schema.LevelVerySatisfied, schema.LevelSatisfied, schema.LevelNeutral, schema.LevelDissatisfied}
	s := New(Defaults(), []Kiosk{{ID: "k01", Counter: "c01"}}, buttons, []schema.Level{schema.LevelDissatisfied},
		[]string{"cho-lau", "thai-do"}, out, sess, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry(), c.now)
	return s, out, c
}

func TestMinIntervalAndRetry(t *testing.T) {
	s, out, c := newService(t, nil)
	ctx := context.Background()
	r1, err := s.Press(ctx, "k01", schema.LevelSatisfied, "press-0001")
	if err != nil || r1.Ignored != "" || r1.RatingID == "" {
		t.Fatalf("first press: %+v %v", r1, err)
	}
	// The page retries the same tap: same answer, no second rating.
	again, err := s.Press(ctx, "k01", schema.LevelSatisfied, "press-0001")
	if err != nil || again != r1 {
		t.Fatalf("retry: %+v %v", again, err)
	}
	c.advance(2 * time.Second)
	r2, _ := s.Press(ctx, "k01", schema.LevelNeutral, "press-0002")
	if r2.Ignored != "too_soon" {
		t.Fatalf("press 2 s later: %+v", r2)
	}
	c.advance(4 * time.Second)
	r3, _ := s.Press(ctx, "k01", schema.LevelNeutral, "press-0003")
	if r3.Ignored != "" {
		t.Fatalf("press 6 s later: %+v", r3)
	}
	if len(out.evs) != 2 {
		t.Fatalf("%d ratings, want 2", len(out.evs))
	}
}

func TestOnePerSession(t *testing.T) {
	s, out, c := newService(t, &fakeSessions{id: "s-1"})
	r1, _ := s.Press(context.Background(), "k01", schema.LevelSatisfied, "press-000a")
	c.advance(10 * time.Second)
	r2, _ := s.Press(context.Background(), "k01", schema.LevelSatisfied, "press-000b")
	if r1.Ignored != "" || r2.Ignored != "session_rated" {
		t.Fatalf("r1 %+v r2 %+v", r1, r2)
	}
	if len(out.evs) != 1 || out.evs[0].Session != "s-1" {
		t.Fatalf("ratings %+v", out.evs)
	}
}

func TestReasonsOverwriteSameEvent(t *testing.T) {
	s, out, _ := newService(t, nil)
	r, _ := s.Press(context.Background(), "k01", schema.LevelDissatisfied, "press-000x")
	if !r.AskReasons {
		t.Fatal("dissatisfied press should ask reasons")
	}
	if err := s.Reasons(context.Background(), "k01", r.RatingID, []string{"thai-do", "cho-lau", "cho-lau"}); err != nil {
		t.Fatal(err)
	}
	if len(out.evs) != 2 || out.evs[1].ID != out.evs[0].ID || !out.evs[1].TS.Equal(out.evs[0].TS) {
		t.Fatalf("follow-up must re-send the same event: %+v", out.evs)
	}
	if got := out.evs[1].Reasons; len(got) != 2 || got[0] != "cho-lau" || got[1] != "thai-do" {
		t.Fatalf("reasons %v", got)
	}
	if err := s.Reasons(context.Background(), "k01", r.RatingID, []string{"cho-lau"}); !errors.Is(err, ErrUnknownRating) {
		t.Fatalf("second follow-up: %v", err)
	}
	if err := s.Reasons(context.Background(), "k01", "nope", []string{"cho-lau"}); !errors.Is(err, ErrUnknownRating) {
		t.Fatalf("unknown rating: %v", err)
	}
}

func TestHardwarePresses(t *testing.T) {
	s, out, c := newService(t, nil)
	ctx := context.Background()
	if _, err := s.HardwarePress(ctx, "k01", []byte(`{"button":2,"seq":7}`)); err != nil {
		t.Fatal(err)
	}
	c.advance(10 * time.Second)
	if _, err := s.HardwarePress(ctx, "k01", []byte(`{"button":2,"seq":7}`)); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("repeated seq: %v", err)
	}
	tests := []struct {
		kiosk, payload string
		want           error
	}{
		{"k01", "9", ErrUnknownButton},
		{"k01", "{", nil},
		{"k99", "1", ErrUnknownKiosk},
	}
	for _, tt := range tests {
		_, err := s.HardwarePress(ctx, tt.kiosk, []byte(tt.payload))
		if err == nil || tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("%s %q: err = %v, want %v", tt.kiosk, tt.payload, err, tt.want)
		}
	}
	if _, err := s.HardwarePress(ctx, "k01", []byte("4")); err != nil {
		t.Fatal(err)
	}
	if len(out.evs) != 2 || out.evs[0].Level != schema.LevelSatisfied || out.evs[1].Level != schema.LevelDissatisfied {
		t.Fatalf("ratings %+v", out.evs)
	}
}

func TestSpoolRefusalFreesTheSlot(t *testing.T) {
	s, out, _ := newService(t, nil)
	out.err = errors.New("spool: full")
	if _, err := s.Press(context.Background(), "k01", schema.LevelSatisfied, "press-000a"); err == nil {
		t.Fatal("refusal not reported")
	}
	out.err = nil
	if r, err := s.Press(context.Background(), "k01", schema.LevelSatisfied, "press-000b"); err != nil || r.Ignored != "" {
		t.Fatalf("after a refusal the next press must be accepted: %+v %v", r, err)
	}
}

// A tap whose spooling failed is retried by the page with the same press
// ID: the retry sends the very same event (same ID and time), and the
// session it claimed is free again for it.
func TestRetryAfterSpoolFailureReusesEvent(t *testing.T) {
	sess := &fakeSessions{id: "s-9"}
	s, out, _ := newService(t, sess)
	out.err = errors.New("spool: fsync failed")
	if _, err := s.Press(context.Background(), "k01", schema.LevelSatisfied, "tap-00001"); err == nil {
		t.Fatal("failure not reported")
	}
	if sess.rated {
		t.Fatal("session still claimed after the failure")
	}
	out.err = nil
	r1, err := s.Press(context.Background(), "k01", schema.LevelSatisfied, "tap-00001")
	if err != nil || r1.Ignored != "" {
		t.Fatalf("retry: %+v %v", r1, err)
	}
	r2, _ := s.Press(context.Background(), "k01", schema.LevelSatisfied, "tap-00001")
	if r2 != r1 || len(out.evs) != 1 || out.evs[0].Session != "s-9" {
		t.Fatalf("retries made %d events (%+v), want 1 carrying the session", len(out.evs), out.evs)
	}
	if out.evs[0].ID != r1.RatingID {
		t.Fatal("result does not name the spooled event")
	}
}

// slowOut holds every Emit until release is closed, so parallel requests
// overlap the first one's spooling.
type slowOut struct {
	*fakeOut
	release chan struct{}
	calls   chan struct{}
}

func (s *slowOut) Emit(ctx context.Context, ev schema.Event) error {
	s.calls <- struct{}{}
	<-s.release
	return s.fakeOut.Emit(ctx, ev)
}

// TestParallelDuplicatesOneEvent: 20 parallel requests with one press_id
// (a tablet retrying while the first is still being spooled) make one event,
// count one accepted press, and all get the same answer. The same press_id
// with another level is a conflict, not that tap.
func TestParallelDuplicatesOneEvent(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC)}
	out := &slowOut{fakeOut: &fakeOut{clock: c}, release: make(chan struct{}), calls: make(chan struct{}, 100)}
	cfg := Defaults()
	cfg.MinInterval = 0 // the race must not hide behind the anti-abuse interval
	reg := prometheus.NewRegistry()
	s := New(cfg, []Kiosk{{ID: "k01", Counter: "c01"}}, []schema.Level{schema.LevelSatisfied}, nil, nil,
		out, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), reg, c.now)
	const n = 20
	results := make(chan Result, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			r, err := s.Press(context.Background(), "k01", schema.LevelSatisfied, "tap-parallel")
			results <- r
			errs <- err
		})
	}
	<-out.calls // the first is spooling; give the others time to pile up behind it
	time.Sleep(50 * time.Millisecond)
	if _, err := s.Press(context.Background(), "k01", schema.LevelDissatisfied, "tap-parallel"); !errors.Is(err, ErrPressConflict) {
		t.Errorf("another level under the same press_id: %v, want ErrPressConflict", err)
	}
	close(out.release)
	wg.Wait()
	close(results)
	close(errs)
	var first Result
	for r := range results {
		if first.RatingID == "" {
			first = r
		}
		if r != first || r.RatingID == "" {
			t.Errorf("answers differ: %+v vs %+v", r, first)
		}
	}
	for err := range errs {
		if err != nil {
			t.Errorf("a duplicate failed: %v", err)
		}
	}
	if len(out.evs) != 1 || len(out.calls) != 0 {
		t.Fatalf("%d events spooled (%d more spool calls), want 1", len(out.evs), len(out.calls))
	}
	if got := testutil.ToFloat64(s.presses.WithLabelValues("k01", "touch", "accepted")); got != 1 {
		t.Errorf("accepted presses counted %v, want 1", got)
	}
}

// TestIgnoredPressKeepsItsAnswer: a press ignored as too soon and retried
// with its press_id after the interval is still the same ignored press, not
// a new rating.
func TestIgnoredPressKeepsItsAnswer(t *testing.T) {
	s, out, c := newService(t, nil)
	ctx := context.Background()
	if _, err := s.Press(ctx, "k01", schema.LevelSatisfied, "press-0001"); err != nil {
		t.Fatal(err)
	}
	c.advance(time.Second)
	r, _ := s.Press(ctx, "k01", schema.LevelNeutral, "press-0002")
	c.advance(time.Minute)
	again, err := s.Press(ctx, "k01", schema.LevelNeutral, "press-0002")
	if err != nil || r.Ignored != "too_soon" || again != r || len(out.evs) != 1 {
		t.Fatalf("retried ignored press: %+v then %+v (%v), %d ratings", r, again, err, len(out.evs))
	}
}

// TestRestoreAfterRestart: the ratings the spool held at a crash rebuild the
// memory a new Service starts without: the tap retried with its press_id
// gets the same rating back, a redelivered button seq is a duplicate, the
// minimum interval still counts from the last rating, and reasons can still
// be given for a rating that asked for them. Nothing is emitted twice.
func TestRestoreAfterRestart(t *testing.T) {
	ctx := context.Background()
	before, out, c := newService(t, nil)
	tap, err := before.Press(ctx, "k01", schema.LevelDissatisfied, "tap-0000000001")
	if err != nil || tap.RatingID == "" || !tap.AskReasons {
		t.Fatalf("first tap: %+v, %v", tap, err)
	}
	c.advance(10 * time.Second)
	btn, err := before.HardwarePress(ctx, "k01", []byte(`{"button":2,"seq":41}`))
	if err != nil || btn.RatingID == "" {
		t.Fatalf("button press: %+v, %v", btn, err)
	}
	spooled := append([]*schema.Rating(nil), out.evs...)
	if len(spooled) != 2 || spooled[0].PressID != "tap-0000000001" || spooled[1].PressSeq != 41 {
		t.Fatalf("spooled %+v, want the tap with its press_id and the press with its seq", spooled)
	}

	// The agent is killed; a new one reads the spool back.
	after, out2, c2 := newService(t, nil)
	c2.advance(11 * time.Second)
	for _, ev := range spooled {
		after.Restore(ev)
	}
	again, err := after.Press(ctx, "k01", schema.LevelDissatisfied, "tap-0000000001")
	if err != nil || again.RatingID != tap.RatingID || again.Ignored != "" || !again.AskReasons {
		t.Errorf("retried tap after the restart: %+v, %v; want the first answer %+v", again, err, tap)
	}
	if _, err := after.Press(ctx, "k01", schema.LevelSatisfied, "tap-0000000001"); !errors.Is(err, ErrPressConflict) {
		t.Errorf("the same press_id with another level after the restart: %v, want ErrPressConflict", err)
	}
	if _, err := after.HardwarePress(ctx, "k01", []byte(`{"button":2,"seq":41}`)); !errors.Is(err, ErrDuplicate) {
		t.Errorf("redelivered button press after the restart: %v, want ErrDuplicate", err)
	}
	if r, err := after.Press(ctx, "k01", schema.LevelSatisfied, "tap-0000000002"); err != nil || r.Ignored != "too_soon" {
		t.Errorf("a new tap 1 s after the restored rating: %+v, %v; want too_soon", r, err)
	}
	if err := after.Reasons(ctx, "k01", tap.RatingID, []string{"cho-lau"}); err != nil {
		t.Errorf("reasons for the restored rating: %v", err)
	}
	if len(out2.evs) != 1 || out2.evs[0].ID != tap.RatingID || len(out2.evs[0].Reasons) != 1 {
		t.Errorf("after the restart emitted %+v, want only the first rating again with its reasons", out2.evs)
	}
	if got := testutil.ToFloat64(after.presses.WithLabelValues("k01", "touch", "accepted")); got != 0 {
		t.Errorf("accepted taps after the restart = %v, want 0: the retry was counted before", got)
	}
}

// TestHeldPressesKeepTheirTime (issue 18, row 2): six presses 6 s apart
// that the center's broker held while the agent was away arrive together;
// each is judged against the one before by its own time (min_interval 5 s)
// and stamped with it. A box's time far ahead or behind is not trusted.
func TestHeldPressesKeepTheirTime(t *testing.T) {
	ctx := context.Background()
	s, out, c := newService(t, nil)
	first := c.now().Add(-time.Minute)
	for i := range 6 {
		at := first.Add(time.Duration(6*i) * time.Second)
		payload := fmt.Sprintf(`{"button":%d,"seq":%d,"ts":%q}`, i%4+1, 100+i, at.Format(time.RFC3339Nano))
		if r, err := s.HardwarePress(ctx, "k01", []byte(payload)); err != nil || r.Ignored != "" {
			t.Fatalf("held press %d: %+v, %v", i, r, err)
		}
	}
	if len(out.evs) != 6 {
		t.Fatalf("%d ratings, want 6", len(out.evs))
	}
	for i, ev := range out.evs {
		want := first.Add(time.Duration(6*i) * time.Second)
		if !ev.TS.Equal(want) {
			t.Errorf("rating %d at %v, want its press's time %v", i, ev.TS, want)
		}
	}
	// A seventh 2 s after the sixth, by its own time: too soon.
	late := first.Add(32 * time.Second).Format(time.RFC3339Nano)
	if r, _ := s.HardwarePress(ctx, "k01", []byte(`{"button":1,"seq":200,"ts":"`+late+`"}`)); r.Ignored != "too_soon" {
		t.Errorf("a press 2 s after the last by its own time: %+v, want too_soon", r)
	}
	// A box whose clock is a year ahead: the press is taken at its arrival.
	c.advance(time.Minute)
	ahead := c.now().AddDate(1, 0, 0).Format(time.RFC3339)
	if r, err := s.HardwarePress(ctx, "k01", []byte(`{"button":1,"seq":201,"ts":"`+ahead+`"}`)); err != nil || r.Ignored != "" {
		t.Fatalf("press from a box with a wrong clock: %+v, %v", r, err)
	}
	if got := out.evs[len(out.evs)-1].TS; !got.Equal(c.now()) {
		t.Errorf("press from a box a year ahead stamped %v, want its arrival %v", got, c.now())
	}
}

// TestFloodLogsLittle (issue 18, row 9): 5,000 presses in 5 s at one kiosk
// count every one and log a handful of lines, not one each.
func TestFloodLogsLittle(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC)}
	out := &fakeOut{clock: c}
	var logs bytes.Buffer
	buttons := []schema.Level{schema.LevelVerySatisfied, schema.LevelSatisfied, schema.LevelNeutral, schema.LevelDissatisfied}
	s := New(Defaults(), []Kiosk{{ID: "k01", Counter: "c01"}}, buttons, nil, nil, out, nil,
		slog.New(slog.NewTextHandler(&logs, nil)), prometheus.NewRegistry(), c.now)
	for i := range 5000 {
		if _, err := s.HardwarePress(context.Background(), "k01", []byte(fmt.Sprintf(`{"button":1,"seq":%d}`, i+1))); err != nil {
			t.Fatal(err)
		}
		c.advance(time.Millisecond)
	}
	if got := testutil.ToFloat64(s.presses.WithLabelValues("k01", "button", "too_soon")); got != 4999 {
		t.Errorf("too_soon presses counted %v, want 4999 (the first accepted)", got)
	}
	if n := strings.Count(logs.String(), "\n"); n != 1 {
		t.Errorf("%d log lines for a 5-second flood, want 1:\n%s", n, logs.String())
	}
	// Later, one accepted and one too soon: the line says what it held back.
	c.advance(7 * time.Second)
	for i := range 2 {
		if _, err := s.HardwarePress(context.Background(), "k01", []byte(fmt.Sprintf(`{"button":1,"seq":%d}`, 9000+i))); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(logs.String(), "similar_lines_held_back=4998") {
		t.Errorf("the log does not say how many lines it held back:\n%s", logs.String())
	}
}
