package queue

import (
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
// Open (the agent uses its spool directory: the spool ignores it).
const StateFile = "queue-tickets.json"

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
	b, err := os.ReadFile(t.state)
	if errors.Is(err, os.ErrNotExist) {
		return t, nil
	}
	if err != nil {
		return nil, fmt.Errorf("queue: reading open tickets: %w", err)
	}
	if err := t.load(b); err != nil {
		bad := t.state + ".bad"
		log.Error("queue: open tickets unreadable; starting without them", "file", t.state, "moved_to", bad, "err", err)
		if rerr := os.Rename(t.state, bad); rerr != nil {
			return nil, fmt.Errorf("queue: setting aside %s: %w", t.state, rerr)
		}
		return t, nil
	}
	t.mu.Lock()
	t.expire()
	t.evict() // max_open_tickets may have been lowered
	n := len(t.tickets)
	t.mu.Unlock()
	log.Info("queue: open tickets restored", "tickets", n)
	return t, nil
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
		if st.Service == "" || st.Ticket == "" || st.Seen.IsZero() {
			return fmt.Errorf("ticket %d: service, ticket and seen are required", i)
		}
		if st.Session != nil {
			if err := st.Session.Validate(t.now()); err != nil {
				return fmt.Errorf("ticket %d: session: %w", i, err)
			}
		}
		key := st.Service + "/" + st.Ticket
		if _, dup := tickets[key]; dup {
			return fmt.Errorf("ticket %s twice", key)
		}
		tickets[key] = &ticket{service: st.Service, counter: st.Counter, issued: st.Issued, called: st.Called,
			started: st.Started, seen: st.Seen, session: st.Session}
		order = append(order, key)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.tickets, t.order = tickets, order
	return nil
}

// save replaces the state file with the open tickets, if the tracker has
// one. Called by Step only (stepMu held), so saves never race.
func (t *Tracker) save() error {
	if t.state == "" {
		return nil
	}
	t.mu.Lock()
	t.compact()
	doc := stateDoc{Version: stateVersion, Tickets: make([]savedTicket, 0, len(t.tickets))}
	for _, key := range t.order {
		tk := t.tickets[key]
		doc.Tickets = append(doc.Tickets, savedTicket{Service: tk.service, Ticket: key[len(tk.service)+1:],
			Counter: tk.counter, Issued: tk.issued, Called: tk.called, Started: tk.started, Seen: tk.seen, Session: tk.session})
	}
	t.mu.Unlock()
	b, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("queue: encoding open tickets: %w", err)
	}
	if err := spool.WriteFileAtomic(filepath.Dir(t.state), filepath.Base(t.state), b); err != nil {
		return fmt.Errorf("queue: saving open tickets: %w", err)
	}
	return nil
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
