package officialdesk

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/accesslog"
	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/roster"
)

// clock is a fake clock the retention loop may read while a test moves it.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// logBuffer collects the desk's log lines from any goroutine.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// retentionDesk opens a desk on dir's files (as they are) with the clock
// clk, the loop reading it every tick.
func retentionDesk(t *testing.T, dir string, clk *clock, tick time.Duration, logs *logBuffer) *Desk {
	t.Helper()
	r, err := roster.New(roster.File{Officials: []roster.Official{{ID: "lan", Name: "Nguyễn Thị Lan", Site: "anlao"}}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := newTicking(Config{Roster: r, Loc: ict, Satisfied: kpi.DefaultSatisfied(), AccessLog: filepath.Join(dir, "officials-access.jsonl"),
		NotesFile: filepath.Join(dir, "officials-notes.jsonl"), Now: clk.now}, &facts{}, slog.New(slog.NewTextHandler(logs, nil)), tick)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}

func write(t *testing.T, path string, lines ...string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.Join(lines, "")), 0o600); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// At start, with the default 24 months on 30/11/2026 12:00 (cutoff
// 30/11/2024 12:00): readings and notes older are gone; newer ones, and
// one exactly at the cutoff, are kept byte for byte; lines that cannot be
// read are kept as they are and logged by number, never by content; a
// last line cut short gains its newline; the note removed is no longer
// shown, the kept one is.
func TestRetentionAtStart(t *testing.T) {
	dir := t.TempDir()
	access, notesPath := filepath.Join(dir, "officials-access.jsonl"), filepath.Join(dir, "officials-notes.jsonl")
	var (
		old      = `{"at":"2024-11-30T04:59:59Z","user":"minh","site":"anlao","subject":"lan","what":"figures 11/2024"}` + "\n"
		atCutoff = `{"at":"2024-11-30T05:00:00Z","user":"minh","site":"anlao","subject":"lan","what":"figures 2024"}` + "\n"
		spaced   = `{ "what": "figures 2026-11",  "at" : "2026-11-02T01:02:03.5+07:00", "user":"minh" }` + "\n"
		broken   = `{"at":"2023-01-01T00:00:00Z","user":"minh"` + "\n" // cut by a crash: not judged
		noTime   = `{"user":"minh","subject":"lan"}` + "\n"
		blank    = "\n"
		garbage  = "\x00\x00\x00\n"
		lastCut  = `{"at":"2026-11-30T04:00:00Z","user":"hoa","site":"anlao","subject":"hoa","what":"figures month"}`
	)
	write(t, access, old, atCutoff, spaced, broken, noTime, old, blank, garbage, lastCut)
	var (
		oldNote  = `{"official":"lan","day":"2024-10-01","text":"Camera bị che.","at":"2024-10-01T03:00:00Z"}` + "\n"
		newNote  = `{"official":"lan","day":"2026-11-23","text":"Sáng nay camera bị che bởi thùng hồ sơ.","at":"2026-11-23T04:00:00Z"}` + "\n"
		cutNote  = `{"official":"lan","day":"2026-11-24","te` + "\n"
		lateNote = `{"official":"lan","day":"2024-11-29","text":"Viết sau.","at":"2025-01-05T03:00:00Z"}` + "\n"
	)
	write(t, notesPath, oldNote, newNote, cutNote, lateNote)

	clk := &clock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, ict)}
	var logs logBuffer
	d := retentionDesk(t, dir, clk, time.Hour, &logs)

	if got, want := read(t, access), atCutoff+spaced+broken+noTime+blank+garbage+lastCut+"\n"; got != want {
		t.Errorf("access log after the sweep:\n%q\nwant\n%q", got, want)
	}
	// The note about an old day written within the retention is kept: a
	// note counts from its own time.
	if got, want := read(t, notesPath), newNote+cutNote+lateNote; got != want {
		t.Errorf("notes after the sweep:\n%q\nwant\n%q", got, want)
	}
	if ns := d.notes.of("lan", "2024-01-01", "2026-12-31"); len(ns) != 2 || ns[0].Day != "2026-11-23" || ns[1].Day != "2024-11-29" {
		t.Errorf("notes shown: %+v", ns)
	}
	for _, p := range []string{access, notesPath} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", p, fi, err)
		}
		if _, err := os.Stat(p + ".tmp"); !os.IsNotExist(err) {
			t.Errorf("%s.tmp left behind: %v", p, err)
		}
	}
	out := logs.String()
	for _, want := range []string{`lines=4 first="[4 5 7 8]"`, "removed=2 kept=7", `lines=1 first=[3]`, "removed=1 kept=3"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %s:\n%s", want, out)
		}
	}
	for _, secret := range []string{"minh", "Camera", "thùng"} {
		if strings.Contains(out, secret) {
			t.Errorf("the log names what the files hold (%s):\n%s", secret, out)
		}
	}

	// Appends after the sweep go to the new file, after what it kept.
	if err := d.access.Append(accesslog.Entry{At: clk.now().UTC(), User: "minh", Site: "anlao", Subject: "lan", What: "figures month"}); err != nil {
		t.Fatal(err)
	}
	if got := read(t, access); !strings.HasPrefix(got, atCutoff) || strings.Count(got, "\n") != 8 {
		t.Errorf("access log after an append:\n%s", got)
	}
	// Nothing expired: the file is left alone.
	before, _ := os.Stat(access)
	d.sweep()
	if after, _ := os.Stat(access); !os.SameFile(before, after) {
		t.Error("a sweep with nothing expired replaced the file")
	}
}

// The loop sweeps on the desk's clock, about hourly, until Close.
func TestRetentionHourly(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, ict)}
	var logs logBuffer
	d := retentionDesk(t, dir, clk, time.Millisecond, &logs)
	if err := d.access.Append(accesslog.Entry{At: clk.now().UTC(), User: "minh", Site: "anlao", Subject: "lan", What: "figures month"}); err != nil {
		t.Fatal(err)
	}
	if err := d.notes.add(Note{Official: "lan", Day: "2026-11-30", Text: "Ghi chú.", At: clk.now().UTC()}); err != nil {
		t.Fatal(err)
	}
	access := filepath.Join(dir, "officials-access.jsonl")
	clk.set(clk.now().AddDate(2, 0, 0).Add(time.Minute))
	deadline := time.Now().Add(10 * time.Second)
	for read(t, access) != "" || len(d.notes.of("lan", "2026-11-01", "2026-12-31")) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("not swept within 10 s; log:\n%s", logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if read(t, filepath.Join(dir, "officials-notes.jsonl")) != "" {
		t.Error("the note left in its file")
	}
	d.Close()
	select {
	case <-d.done:
	default:
		t.Fatal("the loop still runs after Close")
	}
}

// Readings and notes appended while sweeps replace the files are all
// kept, once each: the appends wait on the lock the sweep holds and land
// in the new file. Each round appends an expired line beside the new one,
// so every sweep replaces the files.
func TestRetentionKeepsConcurrentAppends(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, ict)}
	var logs logBuffer
	d := retentionDesk(t, dir, clk, time.Hour, &logs)
	old := clk.now().AddDate(-3, 0, 0).UTC()
	const n = 200
	errs := make(chan error, 1)
	go func() {
		defer close(errs)
		for i := range n {
			for _, at := range []time.Time{old, clk.now().UTC()} {
				if err := d.access.Append(accesslog.Entry{At: at, User: "minh", Site: "anlao", Subject: fmt.Sprintf("r%d-%d", i, at.Year()), What: "figures"}); err != nil {
					errs <- err
					return
				}
				if err := d.notes.add(Note{Official: "lan", Day: "2026-11-30", Text: fmt.Sprintf("n%d-%d", i, at.Year()), At: at}); err != nil {
					errs <- err
					return
				}
			}
		}
	}()
	sweeps := 0
	for done := false; !done; sweeps++ {
		select {
		case err, more := <-errs:
			if err != nil {
				t.Fatal(err)
			}
			done = !more
		default:
		}
		d.sweep()
	}
	accessLog, notesFile := read(t, filepath.Join(dir, "officials-access.jsonl")), read(t, filepath.Join(dir, "officials-notes.jsonl"))
	shown := d.notes.of("lan", "2026-11-30", "2026-11-30")
	for i := range n {
		if c := strings.Count(accessLog, fmt.Sprintf(`"subject":"r%d-2026"`, i)); c != 1 {
			t.Errorf("reading %d in the log %d times", i, c)
		}
		if c := strings.Count(notesFile, fmt.Sprintf(`"text":"n%d-2026"`, i)); c != 1 {
			t.Errorf("note %d in its file %d times", i, c)
		}
	}
	if strings.Contains(accessLog, "-2023") || strings.Contains(notesFile, "-2023") {
		t.Error("an expired line outlived the last sweep")
	}
	if len(shown) != n || strings.Count(accessLog, "\n") != n || strings.Count(notesFile, "\n") != n {
		t.Errorf("%d notes shown, %d readings and %d notes on disk, want %d each (%d sweeps)", len(shown), strings.Count(accessLog, "\n"), strings.Count(notesFile, "\n"), n, sweeps)
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("errors logged:\n%s", logs.String())
	}
}

// A line longer than the reader's buffer (none the desk writes) is not
// judged: it is kept whole.
func TestRetentionKeepsLongLines(t *testing.T) {
	dir := t.TempDir()
	access := filepath.Join(dir, "officials-access.jsonl")
	long := `{"at":"2020-01-01T00:00:00Z","what":"` + strings.Repeat("x", 200<<10) + `"}` + "\n"
	old := `{"at":"2020-01-01T00:00:00Z","what":"old"}` + "\n"
	write(t, access, old, long, old)
	var logs logBuffer
	retentionDesk(t, dir, &clock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, ict)}, time.Hour, &logs)
	if got := read(t, access); got != long {
		t.Errorf("after the sweep: %d bytes, want the long line's %d", len(got), len(long))
	}
	if !strings.Contains(logs.String(), `lines=1 first=[2]`) {
		t.Errorf("the long line not logged:\n%s", logs.String())
	}
}
