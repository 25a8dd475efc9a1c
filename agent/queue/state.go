package queue

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pscm/pscm/agent/spool"
	"github.com/pscm/pscm/internal/schema"
)

// StateFile is the name of the open tickets' file in the directory given to
// Open (the agent uses its spool directory: the spool ignores it). Beside
// it, StateFile + ".log" is the journal of the steps since: one line per
// step (the ticket as it now is, or that it is gone), appended and fsynced
// before the step is spooled, so a step costs one small write whatever the
// number of open tickets (rewriting the whole file took 16 ms a step at
// 3,000 open tickets). When the journal is longer than twice the open
// tickets (and 1,024 lines), the tickets are written whole to StateFile
// (atomically) and the journal emptied.
const StateFile = "queue-tickets.json"

// errClosed refuses a step that comes after Close.
var errClosed = errors.New("queue: tracker closed")

// journalSuffix names the journal beside the state file.
const journalSuffix = ".log"

// journalEntry is one line of the journal: the ticket under Key as it now
// is, or, with Ticket nil, that it is gone.
type journalEntry struct {
	Key    string       `json:"key"`
	Ticket *savedTicket `json:"ticket,omitempty"`
}

// stateVersion is the file format; a file of another version is set aside.
const stateVersion = 1

type stateDoc struct {
	Version int           `json:"version"`
	Tickets []savedTicket `json:"tickets"`
}

// savedTicket is one open ticket on disk, in arrival order.
type savedTicket struct {
	Service string          `json:"service"`
	Ticket  string          `json:"ticket"`
	Counter string          `json:"counter,omitempty"`
	Issued  time.Time       `json:"issued,omitzero"`
	Called  time.Time       `json:"called,omitzero"`
	Started time.Time       `json:"started,omitzero"`
	Seen    time.Time       `json:"seen"`
	Session *schema.Session `json:"session,omitempty"`
}

// Open returns a tracker whose open tickets survive a restart: it reads
// dir/StateFile if there is one and keeps it up to date on every step.
// A file that does not decode (damaged outside the agent: a crash cannot
// tear it) is renamed *.bad and logged, and the tracker starts empty: the
// sessions of the tickets then open are lost, which is better than an
// agent that does not start. dir must exist.
func Open(cfg Config, dir, site string, out Emitter, log *slog.Logger, reg prometheus.Registerer, now func() time.Time) (*Tracker, error) {
	t := New(cfg, site, out, log, reg, now)
	t.state = filepath.Join(dir, StateFile)
	if err := t.loadFiles(); err != nil {
		log.Error("queue: open tickets unreadable; starting without them", "file", t.state, "moved_aside", ".bad", "err", err)
		for _, p := range []string{t.state, t.state + journalSuffix} {
			if rerr := os.Rename(p, p+".bad"); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
				return nil, fmt.Errorf("queue: setting aside %s: %w", p, rerr)
			}
		}
		t.mu.Lock()
		t.tickets, t.order = map[string]*ticket{}, nil
		t.mu.Unlock()
	}
	t.mu.Lock()
	t.expire()
	t.evict() // max_open_tickets may have been lowered
	n := len(t.tickets)
	t.mu.Unlock()
	// Start from a snapshot: what the journal said is in it, and the
	// journal starts empty.
	if err := t.snapshot(); err != nil {
		return nil, err
	}
	log.Info("queue: open tickets restored", "tickets", n)
	return t, nil
}

// loadFiles reads the state file and replays the journal over it. A torn
// last journal line (a crash inside its write, so a step never
// acknowledged) is dropped; damage anywhere else is an error.
func (t *Tracker) loadFiles() error {
	b, err := os.ReadFile(t.state)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("reading: %w", err)
	default:
		if err := t.load(b); err != nil {
			return err
		}
	}
	j, err := os.ReadFile(t.state + journalSuffix)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the journal: %w", err)
	}
	lines := bytes.Split(j, []byte{'\n'})
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, line := range lines {
		if len(line) == 0 {
			continue
		}
		var e journalEntry
		err := json.Unmarshal(line, &e)
		if err == nil {
			err = t.applyEntry(e)
		}
		if err != nil {
			if i == len(lines)-1 {
				t.log.Warn("queue: torn last line of the journal dropped (a step cut by a crash, never acknowledged)")
				return nil
			}
			return fmt.Errorf("journal line %d: %w", i+1, err)
		}
	}
	return nil
}

// applyEntry replays one journal line. Called with mu held.
func (t *Tracker) applyEntry(e journalEntry) error {
	if e.Ticket == nil {
		delete(t.tickets, e.Key)
		return nil
	}
	tk, err := t.fromSaved(*e.Ticket)
	if err != nil {
		return err
	}
	if key := e.Ticket.Service + "/" + e.Ticket.Ticket; key != e.Key {
		return fmt.Errorf("key %q holds ticket %q", e.Key, key)
	}
	if _, ok := t.tickets[e.Key]; !ok {
		t.order = append(t.order, e.Key)
	}
	t.tickets[e.Key] = tk
	return nil
}

// fromSaved checks a ticket read from disk and returns it.
func (t *Tracker) fromSaved(st savedTicket) (*ticket, error) {
	if st.Service == "" || st.Ticket == "" || st.Seen.IsZero() {
		return nil, errors.New("service, ticket and seen are required")
	}
	if st.Session != nil {
		if err := st.Session.Validate(t.now()); err != nil {
			return nil, fmt.Errorf("session: %w", err)
		}
	}
	return &ticket{service: st.Service, counter: st.Counter, issued: st.Issued, called: st.Called,
		started: st.Started, seen: st.Seen, session: st.Session}, nil
}

// saveTicket records the ticket under key as it now is (or gone) in the
// journal and fsyncs it; past the journal's limit it writes a snapshot
// instead. Called by Step only (stepMu held), so writes never race.
func (t *Tracker) saveTicket(key string) error {
	if t.state == "" {
		return nil
	}
	if t.closed {
		return errClosed
	}
	t.mu.Lock()
	// The tickets this step pushed out (max_open_tickets) or that expired,
	// then the step's own.
	entries := make([]journalEntry, 0, len(t.gone)+1)
	for _, k := range t.gone {
		entries = append(entries, journalEntry{Key: k})
	}
	e := journalEntry{Key: key}
	if tk, ok := t.tickets[key]; ok {
		st := t.saved(key, tk)
		e.Ticket = &st
	}
	entries = append(entries, e)
	open := len(t.tickets)
	t.mu.Unlock()
	limit := 2*open + 1024
	if t.compactAt != nil {
		limit = t.compactAt(open)
	}
	if t.journalN+len(entries) > limit {
		return t.snapshot()
	}
	var buf []byte
	for _, e := range entries {
		b, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("queue: encoding a ticket: %w", err)
		}
		buf = append(append(buf, b...), '\n')
	}
	// One write: a crash tears at most its end, the step not acknowledged.
	// A write that fails (the disk full) may leave part of it: the journal
	// is cut back to where it was, so the next step's lines never follow a
	// torn one (which would set the whole journal aside at the next start).
	fi, err := t.journal.Stat()
	if err != nil {
		return fmt.Errorf("queue: journal of open tickets: %w", err)
	}
	if _, err := t.journal.Write(buf); err != nil {
		return t.cutBack(fi.Size(), err)
	}
	if err := t.journal.Sync(); err != nil {
		return t.cutBack(fi.Size(), err)
	}
	t.journalN += len(entries)
	t.mu.Lock()
	t.gone = t.gone[:0] // only Step adds to it, and Step is serialised
	t.mu.Unlock()
	return nil
}

// cutBack truncates the journal to size after a failed write and returns
// the write's error; the file is opened to append, so the next write goes
// where the failed one began.
func (t *Tracker) cutBack(size int64, err error) error {
	if terr := t.journal.Truncate(size); terr != nil {
		t.log.Error("queue: journal not cut back after a failed write; the next start sets it aside", "err", terr)
	}
	return fmt.Errorf("queue: journal of open tickets: %w", err)
}

// saved is a ticket as written to disk. Called with mu held.
func (t *Tracker) saved(key string, tk *ticket) savedTicket {
	return savedTicket{Service: tk.service, Ticket: key[len(tk.service)+1:], Counter: tk.counter,
		Issued: tk.issued, Called: tk.called, Started: tk.started, Seen: tk.seen, Session: tk.session}
}

// load fills an empty tracker from the file's bytes.
func (t *Tracker) load(b []byte) error {
	var doc stateDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		return err
	}
	if doc.Version != stateVersion {
		return fmt.Errorf("version %d, want %d", doc.Version, stateVersion)
	}
	tickets := make(map[string]*ticket, len(doc.Tickets))
	order := make([]string, 0, len(doc.Tickets))
	for i, st := range doc.Tickets {
		tk, err := t.fromSaved(st)
		if err != nil {
			return fmt.Errorf("ticket %d: %w", i, err)
		}
		key := st.Service + "/" + st.Ticket
		if _, dup := tickets[key]; dup {
			return fmt.Errorf("ticket %s twice", key)
		}
		tickets[key] = tk
		order = append(order, key)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.tickets, t.order = tickets, order
	return nil
}

// snapshot replaces the state file with the open tickets and empties the
// journal. A crash between the two replays the old journal over the new
// file on the next start, which changes nothing: each line is a ticket's
// whole state, and the file already holds the last of each.
func (t *Tracker) snapshot() error {
	if t.state == "" {
		return nil
	}
	t.mu.Lock()
	t.compact()
	t.gone = nil // the snapshot leaves them out
	doc := stateDoc{Version: stateVersion, Tickets: make([]savedTicket, 0, len(t.tickets))}
	for _, key := range t.order {
		doc.Tickets = append(doc.Tickets, t.saved(key, t.tickets[key]))
	}
	t.mu.Unlock()
	b, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("queue: encoding open tickets: %w", err)
	}
	if err := spool.WriteFileAtomic(filepath.Dir(t.state), filepath.Base(t.state), b); err != nil {
		return fmt.Errorf("queue: saving open tickets: %w", err)
	}
	if t.journal == nil {
		f, err := os.OpenFile(t.state+journalSuffix, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("queue: journal of open tickets: %w", err)
		}
		t.journal = f
	}
	if err := t.journal.Truncate(0); err != nil {
		return fmt.Errorf("queue: emptying the journal of open tickets: %w", err)
	}
	if err := t.journal.Sync(); err != nil {
		return fmt.Errorf("queue: emptying the journal of open tickets: %w", err)
	}
	t.journalN = 0
	return nil
}

// Close closes the journal; a step after it is refused (and sent again by
// the queue system to the next run). The state needs no final save: every
// step was written when it was taken.
func (t *Tracker) Close() error {
	t.stepMu.Lock()
	defer t.stepMu.Unlock()
	t.closed = true
	if t.journal == nil {
		return nil
	}
	err := t.journal.Close()
	t.journal = nil
	return err
}

// compact drops from order the keys of tickets gone (finished, no-show)
// and repeated keys, so order stays as long as the open tickets, whatever
// a long-open ticket at its head holds back. Called with mu held.
func (t *Tracker) compact() {
	seen := make(map[string]bool, len(t.tickets))
	keep := t.order[:0]
	for _, key := range t.order {
		if _, ok := t.tickets[key]; ok && !seen[key] {
			seen[key] = true
			keep = append(keep, key)
		}
	}
	clear(t.order[len(keep):])
	t.order = keep
}
