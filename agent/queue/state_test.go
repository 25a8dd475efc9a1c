package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/testenv"
)

var clock = time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)

// restart opens a tracker on dir as a restarted agent would: a new
// process, so a new registry and nothing in memory.
func restart(t *testing.T, cfg Config, dir string, out *fakeOut) *Tracker {
	t.Helper()
	tr, err := Open(cfg, dir, "anlao", out, slog.New(slog.NewTextHandler(t.Output(), nil)), prometheus.NewRegistry(), func() time.Time { return clock })
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return tr
}

func mustStep(t *testing.T, tr *Tracker, p []byte) {
	t.Helper()
	if err := tr.Step(context.Background(), p); err != nil {
		t.Fatalf("step %s: %v", p, err)
	}
}

func sessionsOf(out *fakeOut) []*schema.Session {
	out.mu.Lock()
	defer out.mu.Unlock()
	var ss []*schema.Session
	for _, ev := range out.evs {
		if s, ok := ev.(*schema.Session); ok {
			ss = append(ss, s)
		}
	}
	return ss
}

// TestOpenTicketsSurviveRestart: the two cases the fault suite found — a
// ticket started before the restart and finished after it, and one called
// before and started after — give the sessions they would have without
// the restart.
func TestOpenTicketsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	out := &fakeOut{now: func() time.Time { return clock }}
	tr := restart(t, testConfig(), dir, out)
	mustStep(t, tr, step("a1", "2026-11-25T01:00:00Z", "A001", "", "issued"))
	mustStep(t, tr, step("a2", "2026-11-25T01:05:00Z", "A001", "c01", "called"))
	mustStep(t, tr, step("a3", "2026-11-25T01:06:00Z", "A001", "c01", "started"))
	mustStep(t, tr, step("b1", "2026-11-25T01:01:00Z", "B001", "", "issued"))
	mustStep(t, tr, step("b2", "2026-11-25T01:11:00Z", "B001", "c02", "called"))

	tr = restart(t, testConfig(), dir, out) // SIGKILL: only the file remains
	mustStep(t, tr, step("b3", "2026-11-25T01:12:00Z", "B001", "c02", "started"))
	mustStep(t, tr, step("a4", "2026-11-25T01:16:00Z", "A001", "c01", "finished"))
	tr = restart(t, testConfig(), dir, out)
	mustStep(t, tr, step("b4", "2026-11-25T01:20:30Z", "B001", "c02", "finished"))

	ss := sessionsOf(out)
	if len(ss) != 2 {
		t.Fatalf("%d sessions, want 2", len(ss))
	}
	for i, want := range []struct {
		ticket, counter string
		wait, service   float64
	}{{"A001", "c01", 300, 600}, {"B001", "c02", 600, 510}} {
		s := ss[i]
		if s.Ticket != want.ticket || s.Counter != want.counter || s.WaitS != want.wait || s.ServiceS != want.service {
			t.Errorf("session %d: %s at %s wait %v service %v; want %s at %s wait %v service %v", i,
				s.Ticket, s.Counter, s.WaitS, s.ServiceS, want.ticket, want.counter, want.wait, want.service)
		}
		if err := s.Validate(clock); err != nil {
			t.Errorf("session %d invalid: %v", i, err)
		}
	}
	// Both finished: the file holds no ticket any more.
	if doc := readState(t, dir); len(doc.Tickets) != 0 {
		t.Fatalf("state file still holds %d tickets", len(doc.Tickets))
	}
}

func readState(t *testing.T, dir string) stateDoc {
	t.Helper()
	// What the next start reads: the state file with the journal replayed.
	tr := New(testConfig(), "anlao", &fakeOut{now: func() time.Time { return clock }}, slog.New(slog.DiscardHandler), prometheus.NewRegistry(), func() time.Time { return clock })
	tr.state = filepath.Join(dir, StateFile)
	if err := tr.loadFiles(); err != nil {
		t.Fatalf("state file and journal: %v", err)
	}
	tr.compact()
	var doc stateDoc
	for _, key := range tr.order {
		doc.Tickets = append(doc.Tickets, tr.saved(key, tr.tickets[key]))
	}
	return doc
}

// stateFiles returns the state file and its journal as they are now;
// putStateFiles puts them back: what a SIGKILL at that moment leaves.
func stateFiles(t *testing.T, dir string) [2][]byte {
	t.Helper()
	var out [2][]byte
	for i, name := range []string{StateFile, StateFile + journalSuffix} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		out[i] = b
	}
	return out
}

func putStateFiles(t *testing.T, dir string, files [2][]byte) {
	t.Helper()
	for i, name := range []string{StateFile, StateFile + journalSuffix} {
		if err := os.WriteFile(filepath.Join(dir, name), files[i], 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFinishedRetryNeitherLosesNorDuplicates: whatever moment a finished
// step fails or the agent dies at, the retry of the step (the queue system
// sends it again until acknowledged) spools the same session once more at
// most — same ID and time, which downstream overwrite each other — and a
// retry after the session is done spools none.
func TestFinishedRetryNeitherLosesNorDuplicates(t *testing.T) {
	prefix := func(t *testing.T, tr *Tracker) {
		mustStep(t, tr, step("q1", "2026-11-25T01:00:00Z", "A012", "", "issued"))
		mustStep(t, tr, step("q2", "2026-11-25T01:10:00Z", "A012", "c03", "called"))
		mustStep(t, tr, step("q3", "2026-11-25T01:11:00Z", "A012", "c03", "started"))
	}
	finished := step("q4", "2026-11-25T01:20:00Z", "A012", "c03", "finished")
	full := errors.New("spool: full")

	t.Run("session not spooled, then retried", func(t *testing.T) {
		dir := t.TempDir()
		out := &fakeOut{now: func() time.Time { return clock }}
		tr := restart(t, testConfig(), dir, out)
		prefix(t, tr)
		out.fail = func(ev schema.Event) error {
			if ev.Kind() == schema.KindSession {
				return full
			}
			return nil
		}
		if err := tr.Step(context.Background(), finished); !errors.Is(err, full) {
			t.Fatalf("finished with the session refused: %v, want the spool's error", err)
		}
		if _, _, ok := tr.ClaimSession("c03", clock); ok {
			t.Fatal("a session that was not spooled can be rated")
		}
		out.fail = nil
		tr = restart(t, testConfig(), dir, out) // and the agent died meanwhile
		mustStep(t, tr, finished)
		mustStep(t, tr, finished) // redelivered once more: no session
		if ss := sessionsOf(out); len(ss) != 1 || ss[0].WaitS != 600 || ss[0].ServiceS != 540 {
			t.Fatalf("sessions %+v, want one with wait 600 s, service 540 s", ss)
		}
	})

	t.Run("killed after the session was spooled", func(t *testing.T) {
		dir := t.TempDir()
		out := &fakeOut{now: func() time.Time { return clock }}
		tr := restart(t, testConfig(), dir, out)
		prefix(t, tr)
		// The file as it is when the session reaches the spool: a SIGKILL
		// right then leaves this, and an unacknowledged finished step.
		var atKill [2][]byte
		out.fail = func(ev schema.Event) error {
			if ev.Kind() == schema.KindSession {
				atKill = stateFiles(t, dir)
			}
			return nil
		}
		mustStep(t, tr, finished)
		out.fail = nil
		putStateFiles(t, dir, atKill)
		tr = restart(t, testConfig(), dir, out)
		mustStep(t, tr, finished)
		ss := sessionsOf(out)
		if len(ss) != 2 || ss[0].ID != ss[1].ID || !ss[0].TS.Equal(ss[1].TS) || *ss[0] != *ss[1] {
			t.Fatalf("sessions %+v: want the same session twice (one point downstream)", ss)
		}
	})

	t.Run("queue step not spooled", func(t *testing.T) {
		dir := t.TempDir()
		out := &fakeOut{now: func() time.Time { return clock }}
		tr := restart(t, testConfig(), dir, out)
		prefix(t, tr)
		out.fail = func(schema.Event) error { return full }
		if err := tr.Step(context.Background(), finished); !errors.Is(err, full) {
			t.Fatalf("finished with the spool full: %v", err)
		}
		out.fail = nil
		mustStep(t, tr, finished)
		if ss := sessionsOf(out); len(ss) != 1 {
			t.Fatalf("%d sessions, want 1", len(ss))
		}
	})
}

// TestStateFileBounded: the file holds at most max_open_tickets tickets,
// in arrival order, and forgets tickets past ticket_ttl on restart.
func TestStateFileBounded(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	cfg.MaxOpenTickets = 3
	out := &fakeOut{now: func() time.Time { return clock }}
	tr := restart(t, cfg, dir, out)
	for i := range 10 {
		n := string(rune('0' + i))
		mustStep(t, tr, step("i"+n, "2026-11-25T01:00:0"+n+"Z", "T00"+n, "", "issued"))
		if i%2 == 0 {
			mustStep(t, tr, step("x"+n, "2026-11-25T01:00:0"+n+".5Z", "T00"+n, "c01", "no_show"))
		}
	}
	doc := readState(t, dir)
	var got []string
	for _, tk := range doc.Tickets {
		got = append(got, tk.Ticket)
	}
	if strings.Join(got, ",") != "T005,T007,T009" {
		t.Fatalf("state file tickets %v, want the last 3 open: T005,T007,T009", got)
	}
	if len(tr.order) > 2*len(tr.tickets)+64 {
		t.Fatalf("order holds %d keys for %d tickets", len(tr.order), len(tr.tickets))
	}
	later := clock.Add(cfg.TicketTTL + time.Minute)
	tr2, err := Open(cfg, dir, "anlao", out, slog.New(slog.DiscardHandler), prometheus.NewRegistry(), func() time.Time { return later })
	if err != nil {
		t.Fatal(err)
	}
	if len(tr2.tickets) != 0 {
		t.Fatalf("%d tickets restored past their ttl", len(tr2.tickets))
	}
}

// TestStateFileDamaged: a file that does not decode is set aside and the
// tracker starts empty, logging why; the agent still takes steps.
func TestStateFileDamaged(t *testing.T) {
	for name, body := range map[string]string{
		"not json":      `{"version":1,"tickets":[{"serv`,
		"other version": `{"version":9,"tickets":[]}`,
		"no service":    `{"version":1,"tickets":[{"ticket":"A1","seen":"2026-11-25T01:00:00Z"}]}`,
		"bad session":   `{"version":1,"tickets":[{"service":"s","ticket":"A1","seen":"2026-11-25T01:00:00Z","session":{"id":"x"}}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, StateFile)
			if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			out := &fakeOut{now: func() time.Time { return clock }}
			var logs strings.Builder
			tr, err := Open(testConfig(), dir, "anlao", out, slog.New(slog.NewTextHandler(&logs, nil)), prometheus.NewRegistry(), func() time.Time { return clock })
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if b, err := os.ReadFile(path + ".bad"); err != nil || string(b) != body {
				t.Fatalf("damaged file not kept as %s.bad: %v", StateFile, err)
			}
			if !strings.Contains(logs.String(), "open tickets unreadable") {
				t.Errorf("no log line about the damaged file: %s", logs.String())
			}
			mustStep(t, tr, step("q1", "2026-11-25T01:00:00Z", "A1", "", "issued"))
			if doc := readState(t, dir); len(doc.Tickets) != 1 {
				t.Fatalf("new state file holds %d tickets, want 1", len(doc.Tickets))
			}
		})
	}
}

// TestStateSaveFailureRefusesStep: a step whose ticket cannot be saved
// is refused before anything is spooled, so the queue system retries it.
func TestStateSaveFailureRefusesStep(t *testing.T) {
	dir := t.TempDir()
	out := &fakeOut{now: func() time.Time { return clock }}
	tr := restart(t, testConfig(), dir, out)
	// The journal cannot be written.
	if err := tr.journal.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tr.Step(context.Background(), step("q1", "2026-11-25T01:00:00Z", "A1", "", "issued")); err == nil {
		t.Fatal("step accepted while its ticket could not be written to the journal")
	}
	if len(out.evs) != 0 || len(tr.tickets) != 0 {
		t.Fatalf("refused step left %d events, %d tickets", len(out.evs), len(tr.tickets))
	}

	// The snapshot cannot be written: a directory where its temporary
	// file goes makes every one fail.
	dir = t.TempDir()
	tr = restart(t, testConfig(), dir, out)
	tr.compactAt = func(int) int { return 0 } // a snapshot at every step
	if err := os.Mkdir(filepath.Join(dir, StateFile+".tmp"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := tr.Step(context.Background(), step("q1", "2026-11-25T01:00:00Z", "A1", "", "issued")); err == nil {
		t.Fatal("step accepted while its ticket could not be saved")
	}
	if len(out.evs) != 0 || len(tr.tickets) != 0 {
		t.Fatalf("refused step left %d events, %d tickets", len(out.evs), len(tr.tickets))
	}
}

// TestJournal: steps go to the journal, not the whole file; past its
// limit the journal is folded into the file; a torn last line (a crash
// inside a write) is dropped and the rest kept; damage before the last
// line sets both files aside.
func TestJournal(t *testing.T) {
	dir := t.TempDir()
	out := &fakeOut{now: func() time.Time { return clock }}
	tr := restart(t, testConfig(), dir, out)
	tr.compactAt = func(open int) int { return 2*open + 4 }
	snap, _ := os.ReadFile(filepath.Join(dir, StateFile))
	for i := range 3 {
		n := string(rune('0' + i))
		mustStep(t, tr, step("i"+n, "2026-11-25T01:00:0"+n+"Z", "T00"+n, "", "issued"))
	}
	if b, _ := os.ReadFile(filepath.Join(dir, StateFile)); string(b) != string(snap) {
		t.Fatalf("a step rewrote the whole state file")
	}
	if tr.journalN != 3 {
		t.Fatalf("journal holds %d lines, want 3", tr.journalN)
	}
	for i := 3; i < 12; i++ {
		n := string(rune('0' + i%10))
		mustStep(t, tr, step("j"+n, "2026-11-25T01:00:1"+n+"Z", "U00"+n, "", "issued"))
	}
	if tr.journalN >= 2*len(tr.tickets)+4+1 {
		t.Fatalf("journal of %d lines for %d tickets: never folded", tr.journalN, len(tr.tickets))
	}
	if doc := readState(t, dir); len(doc.Tickets) != 12 {
		t.Fatalf("state file and journal hold %d tickets, want 12", len(doc.Tickets))
	}

	// A torn last line: the tickets before it are kept.
	j := filepath.Join(dir, StateFile+journalSuffix)
	f, err := os.OpenFile(j, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString(`{"key":"ho-tich/V001","ticket":{"serv`)
	_ = f.Close()
	if doc := readState(t, dir); len(doc.Tickets) != 12 {
		t.Fatalf("after a torn last line %d tickets, want 12", len(doc.Tickets))
	}
	// Damage before the last line: both files are set aside.
	if err := os.WriteFile(j, []byte("garbage\n{\"key\":\"ho-tich/T000\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tr2 := restart(t, testConfig(), dir, out)
	if len(tr2.tickets) != 0 {
		t.Fatalf("%d tickets from a damaged journal", len(tr2.tickets))
	}
	if _, err := os.Stat(j + ".bad"); err != nil {
		t.Fatalf("damaged journal not set aside: %v", err)
	}
	// After Close (the agent stopping) a late step is refused, not lost:
	// the queue system sends it again to the next run.
	if err := tr2.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tr2.Step(context.Background(), step("late", "2026-11-25T02:00:00Z", "Z001", "", "issued")); err == nil {
		t.Fatal("a step after Close was accepted")
	}
}

// TestJournalDiskFull: a journal write cut short by a full disk is cut
// back, so the steps accepted after the space comes back follow whole
// lines, and the next start keeps every open ticket (before, a torn line
// followed by good ones set the whole journal aside: the fault suite's
// "spool disk near full" saw sessions counted twice after it).
func TestJournalDiskFull(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "fs")
	if err := testenv.MountTmpfs(t, dir, 64<<10); err != nil {
		t.Skipf("no tmpfs to fill: %v", err)
	}
	out := &fakeOut{now: func() time.Time { return clock }}
	cfg := testConfig()
	tr := restart(t, cfg, dir, out)
	mustStep(t, tr, step("a1", "2026-11-25T01:00:00Z", "A001", "", "issued"))
	filler := testenv.FillFS(t, dir, 0)
	// Steps until one fails for want of space: its write may have put part
	// of a line in the journal.
	var failed bool
	for i := range 200 {
		n := fmt.Sprintf("%03d", i)
		if err := tr.Step(context.Background(), step("b"+n, "2026-11-25T01:01:00Z", "B"+n, "", "issued")); err != nil {
			failed = true
			break
		}
	}
	if !failed {
		t.Fatal("no step failed on a full disk")
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	mustStep(t, tr, step("c1", "2026-11-25T01:02:00Z", "C001", "c01", "called"))
	want := len(tr.tickets)
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	tr2 := restart(t, cfg, dir, out)
	if len(tr2.tickets) != want || tr2.tickets["ho-tich/A001"] == nil || tr2.tickets["ho-tich/C001"] == nil {
		t.Fatalf("after a full disk and a restart %d open tickets, want %d with A001 and C001", len(tr2.tickets), want)
	}
	if _, err := os.Stat(filepath.Join(dir, StateFile+journalSuffix+".bad")); err == nil {
		t.Fatal("the journal was set aside")
	}
}
